# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fakes for the protocol unit tests (fixtures in conftest.py): an in-memory store and Stubber-backed AWS.

* :class:`MemoryStore` implements the store interface in memory with the real
  lease rules of ``_store_base`` (``lease_is_live``: expiry, dead-process
  take-over) and can fail any operation on its Nth call.
* :class:`Aws` holds ONE IAM and ONE STS botocore client, each behind a
  ``botocore.stub.Stubber``: a test lists the exact AWS calls the engine must
  make, in order, with their parameters; :class:`FakeConnection` hands these
  clients to the engine and records which identity (access key id) asked.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import subprocess
import typing as t

import botocore.session
from botocore.stub import Stubber

from ansible_collections.keyturn.aws.plugins.module_utils._store_base import (
    EMPTY,
    StagedRecord,
    Store,
    StoreError,
    check_owner,
    check_ttl,
    lease_is_live,
    locked_error,
    normalize_record,
    validate_record_name,
)

ACCOUNT = "123456789012"
PARTITION = "aws"
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
_SESSION = botocore.session.Session()


def days_ago(days: float) -> datetime.datetime:
    return NOW - datetime.timedelta(days=days)


def key_id(n: int) -> str:
    """A well-formed access key id (AKIA + 16 characters)."""
    return "AKIA%016d" % n


class MemoryStore(Store):
    """In-memory staged-record store with fault injection (see module doc)."""

    kind = "memory"

    def __init__(self, clock: t.Callable[[], float] = None) -> None:
        import time

        self.records: t.Dict[str, t.Dict[str, t.Optional[dict]]] = {}
        self.leases: t.Dict[str, dict] = {}
        self.calls: t.List[t.Tuple[str, str]] = []
        self.faults: t.Dict[str, t.List[int]] = {}
        self.counts: t.Dict[str, int] = {}
        self.clock = clock or time.time

    # -- fault injection ---------------------------------------------------
    def fail(self, operation: str, nth: int = 1) -> None:
        """Raise StoreError on the ``nth`` call (1-based, counted from now) of ``operation``."""
        self.faults.setdefault(operation, []).append(self.counts.get(operation, 0) + nth)

    def _op(self, operation: str, name: str) -> None:
        self.calls.append((operation, name))
        self.counts[operation] = self.counts.get(operation, 0) + 1
        if self.counts[operation] in self.faults.get(operation, []):
            raise StoreError("injected %s failure on %s" % (operation, name))

    def ops(self, *operations: str) -> t.List[t.Tuple[str, str]]:
        """The recorded calls, optionally only these operations."""
        return [call for call in self.calls if not operations or call[0] in operations]

    # -- seeding -------------------------------------------------------------
    def seed(self, name: str, current: t.Optional[dict] = None, pending: t.Optional[dict] = None,
             previous: t.Optional[dict] = None) -> None:
        self.records[name] = {"current": copy.deepcopy(current), "pending": copy.deepcopy(pending),
                              "previous": copy.deepcopy(previous)}

    # -- Store -----------------------------------------------------------------
    def _entry(self, name: str) -> t.Dict[str, t.Optional[dict]]:
        return self.records.setdefault(name, {"current": None, "pending": None, "previous": None})

    def read(self, name: str) -> StagedRecord:
        validate_record_name(name)
        self._op("read", name)
        entry = self.records.get(name)
        if entry is None:
            return EMPTY
        return StagedRecord(copy.deepcopy(entry["current"]), copy.deepcopy(entry["pending"]),
                            copy.deepcopy(entry["previous"]))

    def write_pending(self, name: str, record: dict) -> None:
        validate_record_name(name)
        record = normalize_record(record)
        self._op("write_pending", name)
        self._entry(name)["pending"] = record

    def discard_pending(self, name: str) -> None:
        self._op("discard_pending", name)
        if name in self.records:
            self.records[name]["pending"] = None

    def promote(self, name: str, record: t.Optional[dict] = None) -> None:
        self._op("promote", name)
        entry = self.records.get(name)
        if not entry or entry["pending"] is None:
            raise StoreError("nothing pending to promote for %s" % name)
        if record is not None:
            entry["pending"] = normalize_record(record)
        if entry["current"] != entry["pending"]:
            entry["previous"] = entry["current"]
        entry["current"], entry["pending"] = entry["pending"], None

    def write_current(self, name: str, record: dict, keep_previous: bool = True) -> None:
        validate_record_name(name)
        record = normalize_record(record)
        self._op("write_current", name)
        entry = self._entry(name)
        entry["previous"] = entry["current"] if keep_previous else None
        entry["current"] = record

    def delete(self, name: str) -> None:
        self._op("delete", name)
        self.records.pop(name, None)

    def names(self) -> t.List[str]:
        return sorted(self.records)

    @contextlib.contextmanager
    def lease(self, name: str, owner: str, ttl: int) -> t.Iterator[None]:
        check_owner(owner)
        check_ttl(ttl)
        self._op("lease", name)
        held = self.leases.get(name)
        if lease_is_live(held, owner, self.clock()):
            raise locked_error(name, "memory store", t.cast(dict, held))
        mine = {"owner": owner, "expires": self.clock() + ttl}
        self.leases[name] = mine
        try:
            yield
        finally:
            if self.leases.get(name) is mine:
                del self.leases[name]


class Aws:
    """One IAM and one STS client behind Stubbers, with call helpers."""

    def __init__(self, region: str = "us-east-1") -> None:
        creds = dict(aws_access_key_id="AKIDPRIVILEGED", aws_secret_access_key="privileged-secret")
        self.iam = _SESSION.create_client("iam", region_name=region, **creds)
        self.sts = _SESSION.create_client("sts", region_name=region, **creds)
        self.iam_stub = Stubber(self.iam)
        self.sts_stub = Stubber(self.sts)
        self.iam_stub.activate()
        self.sts_stub.activate()

    # -- IAM ---------------------------------------------------------------
    def list_keys(self, user: str, *keys: t.Tuple[str, str, datetime.datetime]) -> "Aws":
        metadata = [{"UserName": user, "AccessKeyId": kid, "Status": status, "CreateDate": created}
                    for kid, status, created in keys]
        self.iam_stub.add_response("list_access_keys", {"AccessKeyMetadata": metadata, "IsTruncated": False},
                                   {"UserName": user})
        return self

    def create(self, user: str, kid: str, secret: str, created: datetime.datetime = NOW) -> "Aws":
        self.iam_stub.add_response("create_access_key", {"AccessKey": {
            "UserName": user, "AccessKeyId": kid, "Status": "Active", "SecretAccessKey": secret, "CreateDate": created,
        }}, {"UserName": user})
        return self

    def create_error(self, user: str, code: str, status: int = 500) -> "Aws":
        self.iam_stub.add_client_error("create_access_key", code, "injected", status, expected_params={"UserName": user})
        return self

    def delete(self, user: str, kid: str) -> "Aws":
        self.iam_stub.add_response("delete_access_key", {}, {"UserName": user, "AccessKeyId": kid})
        return self

    def delete_error(self, user: str, kid: str, code: str, status: int = 400) -> "Aws":
        self.iam_stub.add_client_error("delete_access_key", code, "injected", status,
                                       expected_params={"UserName": user, "AccessKeyId": kid})
        return self

    def set_status(self, user: str, kid: str, status: str = "Inactive") -> "Aws":
        self.iam_stub.add_response("update_access_key", {}, {"UserName": user, "AccessKeyId": kid, "Status": status})
        return self

    # -- STS ---------------------------------------------------------------
    def identity(self, user: str, account: str = ACCOUNT, partition: str = PARTITION, times: int = 1) -> "Aws":
        for _attempt in range(times):
            self.sts_stub.add_response("get_caller_identity", {
                "UserId": "AIDA" + user.upper(), "Account": account, "Arn": f"arn:{partition}:iam::{account}:user/{user}"})
        return self

    def refused(self, code: str = "InvalidClientTokenId", times: int = 1) -> "Aws":
        for _attempt in range(times):
            self.sts_stub.add_client_error("get_caller_identity", code, "refused", 403)
        return self

    def done(self) -> None:
        """Every stubbed call was made (and no other: an unexpected one fails the test at the call)."""
        self.iam_stub.assert_no_pending_responses()
        self.sts_stub.assert_no_pending_responses()


class FakeConnection:
    """An AwsConnection stand-in: every identity gets the same stubbed clients;
    ``aws.asked`` records (service, access key id or None, retries) per client()."""

    def __init__(self, aws: Aws, access_key: t.Optional[str] = None, partition: str = PARTITION,
                 region: str = "us-east-1") -> None:
        self.aws = aws
        self.access_key = access_key
        self.partition = partition
        self.region = region
        if not hasattr(aws, "asked"):
            aws.asked = []  # type: ignore[attr-defined]

    def client(self, service: str, region: t.Optional[str] = None, retries: bool = True) -> t.Any:
        self.aws.asked.append((service, self.access_key, retries))  # type: ignore[attr-defined]
        return {"iam": self.aws.iam, "sts": self.aws.sts}[service]

    def keyed_client(self, service: str, access_key: str, secret_key: str, session_token: t.Optional[str] = None) -> t.Any:
        return self.with_credentials(access_key, secret_key, session_token).client(service)

    def with_credentials(self, access_key: str, secret_key: str, session_token: t.Optional[str] = None) -> "FakeConnection":
        return FakeConnection(self.aws, access_key, self.partition, self.region)


class Sleeper:
    """Injected sleep: records each wait, optionally runs a hook (e.g. release a lease)."""

    def __init__(self) -> None:
        self.waits: t.List[float] = []
        self.hook: t.Optional[t.Callable[[], None]] = None

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.hook is not None:
            self.hook()


def dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def read_audit(path: str) -> t.List[dict]:
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except FileNotFoundError:
        return []
