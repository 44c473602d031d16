# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""moto in server mode, wrapped so that it behaves like AWS.

Fixes over plain moto (each covered by tests/unit/tools/test_awsmock.py):

* authentication is enforced for every call (``INITIAL_NO_AUTH_ACTION_COUNT=0``);
* an Inactive access key is refused (moto accepts it; AWS answers
  ``InvalidClientTokenId``);
* IAM requests are placed in the partition of their SigV4 credential scope, as
  AWS does; moto derives it from the host name, and ``iam.us-gov.amazonaws.com``
  puts GovCloud users into ``aws``;
* ``propagation_delay``: a new access key is refused for that many seconds
  after its creation, like IAM's eventual consistency;
* ``throttle_rate``: that share of calls is answered with ``Throttling``
  (counted: ``throttled`` in the stats);
* ``clock_offset``: seconds added to the server's clock for the propagation
  delay, so tests move time forward instead of sleeping;
* ``/_keyturn/issued``: every access key secret and virtual MFA seed the
  server has handed out (for the tests' leak scans);
* ``latency``: every AWS call waits that many seconds before it is handled;
* ``rate_limits`` (``{"iam": 20, "sts": 20}``): a token bucket per account and
  service (calls per second, a one-second burst); a call over the rate gets
  ``Throttling`` at once, as AWS answers, and nothing is applied;
* ``AssumeRole`` of a role that does not exist in the target account is
  refused with ``AccessDenied``, as AWS does (moto hands out credentials that
  then break every call);
* the IAM credential report reads as AWS's does: a ``<root_account>`` row first, ``N/A`` where a
  value does not apply (moto writes ``not_supported`` for a key's last-used region and service and
  for passwords that do not exist), the real last-used region and service, and the real
  ``GeneratedTime`` (moto answers a fixed date in 2015).  The content is rendered when it is read,
  so it is fresher than AWS's snapshot; the 4-hour regeneration limit is not simulated;
* root facts (``/_keyturn/root``): root access keys, root MFA (``none``, ``virtual``: a virtual
  device assigned to root, listed by ListVirtualMFADevices; ``hardware``) and the root password's
  last use, reflected in GetAccountSummary, ListVirtualMFADevices and the report's root row;
* fault injection (``/_keyturn/faults``): the Nth AWS call after the rules were
  set (optionally only calls of one ``service:Action``) gets an ``error``
  answer (nothing applied), is applied but its response is ``drop``ped (the
  connection is closed: the client never hears back), or ``hang``s until the
  rules are reset (the test kills the client meanwhile).

A control API under ``/_keyturn/`` (loopback only, JSON) bootstraps
administrator users, changes the settings above and reports call counts.

Run: ``python -m tools.awsmock.server --port 0 --port-file /tmp/port``.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import random
import re
import socket
import sys
import threading
import time
import typing as t
import urllib.parse

os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
os.environ.pop("MOTO_ACCOUNT_ID", None)

import moto.core.responses as moto_responses  # noqa: E402  (after the environment is set)
import moto.iam.access_control as moto_access_control  # noqa: E402
import moto.iam.models as moto_iam_models  # noqa: E402
from moto.iam.models import iam_backends  # noqa: E402
from moto.server import DomainDispatcherApplication, create_backend_app  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

CONTROL_PREFIX = "/_keyturn/"
ADMIN_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request")


class Settings:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.propagation_delay = 0.0
        self.throttle_rate = 0.0
        self.calls: t.Dict[str, int] = {}
        self.rng = random.Random(1234)
        self.faults: t.List[t.Dict[str, t.Any]] = []
        self.seq = 0
        self.fired: t.List[t.Dict[str, t.Any]] = []
        self.release = threading.Event()
        self.hanging = 0
        self.clock_offset = 0.0
        self.issued: t.List[t.Dict[str, t.Any]] = []
        self.latency = 0.0
        self.rate_limits: t.Dict[str, float] = {}
        self.buckets: t.Dict[t.Tuple[str, str], t.List[float]] = {}
        self.account_calls: t.Dict[str, t.Dict[str, int]] = {}
        self.throttled = 0
        self.throttled_calls: t.Dict[str, int] = {}  # Throttling answers by service:action (also in ``calls``)
        self.key_accounts: t.Dict[str, str] = {}

    def take(self, account: str, service: str) -> bool:
        """One token of the account's bucket for ``service`` (False: over the rate)."""
        rate = self.rate_limits.get(service)
        with self.lock:
            self.account_calls.setdefault(account, {})
            self.account_calls[account][service] = self.account_calls[account].get(service, 0) + 1
            if not rate:
                return True
            now = time.monotonic()
            burst = max(rate, 1.0)
            bucket = self.buckets.setdefault((account, service), [burst, now])
            bucket[0] = min(burst, bucket[0] + (now - bucket[1]) * rate)
            bucket[1] = now
            if bucket[0] >= 1:
                bucket[0] -= 1
                return True
            return False  # counted in ``throttled`` with every other Throttling answer

    def set_faults(self, rules: t.List[t.Dict[str, t.Any]]) -> None:
        with self.lock:
            for rule in rules:
                if rule.get("mode") not in ("error", "drop", "hang") or not isinstance(rule.get("index"), int):
                    raise ValueError("a fault rule needs mode error|drop|hang and an integer index")
            self.release.set()  # free any call hanging from earlier rules
            self.release = threading.Event()
            self.faults = [dict(rule) for rule in rules]
            self.seq = 0
            self.fired = []

    def fault_for(self, name: str) -> t.Optional[t.Dict[str, t.Any]]:
        with self.lock:
            if not self.faults:
                return None
            index = self.seq
            self.seq += 1
            for rule in self.faults:
                if rule.get("action") and rule["action"] != name:
                    continue
                if rule["index"] == index:
                    fired = {"index": index, "call": name, "mode": rule["mode"]}
                    self.fired.append(fired)
                    return fired
            return None

    def fault_state(self) -> t.Dict[str, t.Any]:
        with self.lock:
            return {"rules": list(self.faults), "seq": self.seq, "fired": list(self.fired), "hanging": self.hanging}

    def update(self, values: t.Mapping[str, t.Any]) -> None:
        with self.lock:
            if "propagation_delay" in values:
                self.propagation_delay = float(values["propagation_delay"])
            if "throttle_rate" in values:
                self.throttle_rate = float(values["throttle_rate"])
            if "seed" in values:
                self.rng = random.Random(int(values["seed"]))
            if "clock_offset" in values:
                self.clock_offset = float(values["clock_offset"])
            if "latency" in values:
                self.latency = float(values["latency"])
            if "rate_limits" in values:
                limits = dict(values["rate_limits"] or {})
                if not all(isinstance(v, (int, float)) and v > 0 for v in limits.values()):
                    raise ValueError("rate_limits maps a service (iam, sts ...) to calls per second > 0")
                self.rate_limits = {str(k): float(v) for k, v in limits.items()}
                self.buckets = {}

    def snapshot(self) -> t.Dict[str, t.Any]:
        with self.lock:
            return {"propagation_delay": self.propagation_delay, "throttle_rate": self.throttle_rate,
                    "calls": dict(self.calls), "total_calls": sum(self.calls.values()), "throttled": self.throttled,
                    "throttled_calls": dict(self.throttled_calls),
                    "clock_offset": self.clock_offset, "latency": self.latency, "rate_limits": dict(self.rate_limits),
                    "account_calls": {a: dict(c) for a, c in self.account_calls.items()}}


SETTINGS = Settings()


# -- moto patches -----------------------------------------------------------
_original_user_key_init = moto_access_control.IAMUserAccessKey.__init__


def _user_key_init(self: t.Any, account_id: str, partition: str, access_key_id: str, headers: t.Dict[str, str]) -> None:
    _original_user_key_init(self, account_id, partition, access_key_id, headers)
    key = iam_backends[account_id][partition].access_keys.get(access_key_id)
    if key is None:  # pragma: no cover - moto found it above
        raise moto_access_control.CreateAccessKeyFailure(reason="InvalidId")
    if key.status != "Active":
        raise moto_access_control.CreateAccessKeyFailure(reason="InvalidId")
    delay = SETTINGS.propagation_delay
    if delay > 0 and not getattr(key, "keyturn_bootstrap", False):
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(seconds=SETTINGS.clock_offset)
        age = (now - key.create_date).total_seconds()
        if age < delay:
            raise moto_access_control.CreateAccessKeyFailure(reason="InvalidId")


moto_access_control.IAMUserAccessKey.__init__ = _user_key_init  # type: ignore[method-assign]

_original_create_access_key = moto_iam_models.IAMBackend.create_access_key
_original_create_virtual_mfa_device = moto_iam_models.IAMBackend.create_virtual_mfa_device


def _create_access_key(self: t.Any, user_name: str, *args: t.Any, **kwargs: t.Any) -> t.Any:
    key = _original_create_access_key(self, user_name, *args, **kwargs)
    with SETTINGS.lock:
        SETTINGS.issued.append({"kind": "access_key", "account_id": self.account_id, "user_name": user_name,
                                "access_key_id": key.access_key_id, "secret": key.secret_access_key})
    return key


def _create_virtual_mfa_device(self: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
    device = _original_create_virtual_mfa_device(self, *args, **kwargs)
    with SETTINGS.lock:
        SETTINGS.issued.append({"kind": "mfa_seed", "account_id": self.account_id, "serial_number": device.serial_number,
                                "secret": device.base32_string_seed})
    return device


moto_iam_models.IAMBackend.create_access_key = _create_access_key  # type: ignore[method-assign]
moto_iam_models.IAMBackend.create_virtual_mfa_device = _create_virtual_mfa_device  # type: ignore[method-assign]

_original_region_from_url = moto_responses.BaseResponse.get_region_from_url


def _region_from_url(self: t.Any, request: t.Any, full_url: str) -> str:
    match = _SCOPE.search(request.headers.get("Authorization", ""))
    if match:
        return match.group(2)
    return _original_region_from_url(self, request, full_url)


moto_responses.BaseResponse.get_region_from_url = _region_from_url  # type: ignore[method-assign]


import moto.sts.models as moto_sts_models  # noqa: E402
from moto.sts.exceptions import STSClientError  # noqa: E402

_original_assume_role = moto_sts_models.STSBackend.assume_role


def _assume_role(self: t.Any, region_name: str, role_session_name: str, role_arn: str, *args: t.Any, **kwargs: t.Any) -> t.Any:
    parts = role_arn.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[5].startswith("role/") and re.match(r"^\d{12}$", parts[4]):
        try:
            iam_backends[parts[4]][parts[1]].get_role(parts[5].rsplit("/", 1)[-1])
        except Exception:
            raise STSClientError("AccessDenied", f"Not authorized to perform sts:AssumeRole on resource: {role_arn}")
    return _original_assume_role(self, region_name, role_session_name, role_arn, *args, **kwargs)


moto_sts_models.STSBackend.assume_role = _assume_role  # type: ignore[method-assign]


# -- the credential report as AWS writes it ----------------------------------
_REPORT_DATE = "%Y-%m-%dT%H:%M:%S+00:00"
_ROOT: t.Dict[t.Tuple[str, str], t.Dict[str, t.Any]] = {}  # (account, partition) -> root facts
_REPORT_TIMES: t.Dict[int, datetime.datetime] = {}  # id(backend) -> GeneratedTime


def _when(moment: t.Optional[datetime.datetime]) -> str:
    return "N/A" if moment is None else moment.strftime(_REPORT_DATE)


def _user_csv(self: t.Any) -> str:
    keys = list(self.access_keys)[:2]
    has_password = bool(self.password)
    fields = [
        self.name, self.arn, _when(self.create_date),
        "true" if has_password else "false",
        _when(self.password_last_used) if has_password else "N/A",
        _when(self.create_date) if has_password else "N/A",
        "N/A",
        "true" if len(self.mfa_devices) else "false",
    ]
    for index in range(2):
        key = keys[index] if index < len(keys) else None
        last = getattr(key, "last_used", None)
        stamp = getattr(last, "timestamp", last)  # moto accepts a datetime there too
        fields += [
            "true" if key is not None and key.status == "Active" else "false",
            _when(key.create_date) if key is not None else "N/A",
            _when(stamp) if last is not None else "N/A",
            str(getattr(last, "region", None) or "N/A") if last is not None else "N/A",
            str(getattr(last, "service", None) or "N/A") if last is not None else "N/A",
        ]
    certs = list(self.signing_certificates.values())[:2]
    for index in range(2):
        cert = certs[index] if index < len(certs) else None
        fields += ["true" if cert is not None and cert.status == "Active" else "false",
                   _when(getattr(cert, "upload_date", None)) if cert is not None else "N/A"]
    return ",".join(str(f) for f in fields) + "\n"


def _root_state(account_id: str, partition: str) -> t.Dict[str, t.Any]:
    return _ROOT.setdefault((account_id, partition), {"access_keys": False, "mfa": "none", "password_last_used": None,
                                                      "created": moto_iam_models.utcnow()})


def _root_csv(backend: t.Any) -> str:
    root = _root_state(backend.account_id, backend.partition)
    arn = f"arn:{backend.partition}:iam::{backend.account_id}:root"
    key = "true" if root["access_keys"] else "false"
    fields = ["<root_account>", arn,
              _when(root["created"]), "not_supported", _when(root["password_last_used"]), "not_supported",
              "not_supported", "false" if root["mfa"] == "none" else "true",
              key, _when(root["created"]) if root["access_keys"] else "N/A", "N/A", "N/A", "N/A",
              "false", "N/A", "N/A", "N/A", "N/A", "false", "N/A", "false", "N/A"]
    return ",".join(fields) + "\n"


_original_get_report = moto_iam_models.IAMBackend.get_credential_report
_original_generate_report = moto_iam_models.IAMBackend.generate_report


def _get_report(self: t.Any) -> str:
    content = _original_get_report(self)  # raises ReportNotPresent as AWS does
    header, _sep, _rows = content.partition("\n")
    return header + "\n" + _root_csv(self) + "".join(user.to_csv() for user in self.users.values())


def _generate_report(self: t.Any) -> None:
    _REPORT_TIMES[id(self)] = datetime.datetime.now(datetime.timezone.utc)
    _original_generate_report(self)


moto_iam_models.User.to_csv = _user_csv  # type: ignore[method-assign]
moto_iam_models.IAMBackend.get_credential_report = _get_report  # type: ignore[method-assign]
moto_iam_models.IAMBackend.generate_report = _generate_report  # type: ignore[method-assign]

import moto.iam.responses as moto_iam_responses  # noqa: E402

_original_report_response = moto_iam_responses.IamResponse.get_credential_report


def _report_response(self: t.Any) -> t.Any:
    result = _original_report_response(self)
    generated = _REPORT_TIMES.get(id(self.backend))
    if generated is not None:
        data = getattr(result, "result", None)
        if isinstance(data, dict):
            data["GeneratedTime"] = generated.strftime("%Y-%m-%dT%H:%M:%SZ")
    return result


moto_iam_responses.IamResponse.get_credential_report = _report_response  # type: ignore[method-assign]

_original_summary_map = moto_iam_models.AccountSummary.summary_map


def _summary_map(self: t.Any) -> t.Dict[str, t.Any]:
    data = dict(_original_summary_map.fget(self))  # type: ignore[attr-defined]
    backend = self._iam_backend
    root = _root_state(backend.account_id, backend.partition)
    data["AccountAccessKeysPresent"] = 1 if root["access_keys"] else 0
    data["AccountMFAEnabled"] = 0 if root["mfa"] == "none" else 1
    return data


moto_iam_models.AccountSummary.summary_map = property(_summary_map)  # type: ignore[assignment]


def set_root(body: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """``{account_id, partition, access_keys: bool, mfa: none|virtual|hardware, password_last_used_days_ago}``."""
    account_id = str(body["account_id"])
    partition = str(body.get("partition") or "aws")
    backend = iam_backends[account_id][partition]
    root = _root_state(account_id, partition)
    if "access_keys" in body:
        root["access_keys"] = bool(body["access_keys"])
    if "password_last_used_days_ago" in body:
        ago = body["password_last_used_days_ago"]
        root["password_last_used"] = None if ago is None else moto_iam_models.utcnow() - datetime.timedelta(days=float(ago))
    serial = f"arn:{partition}:iam::{account_id}:mfa/root-account-mfa-device"
    if "mfa" in body:
        if body["mfa"] not in ("none", "virtual", "hardware"):
            raise ValueError("mfa must be none, virtual or hardware")
        root["mfa"] = body["mfa"]
        backend.virtual_mfa_devices.pop(serial, None)
        if body["mfa"] == "virtual":
            device = moto_iam_models.VirtualMfaDevice(account_id, _region_for(partition), "/root-account-mfa-device")
            device.serial_number = serial
            device.enable_date = moto_iam_models.utcnow()
            device.user = _RootUser(account_id, partition, root["created"])
            backend.virtual_mfa_devices[serial] = device
    return {k: (v.isoformat() if isinstance(v, datetime.datetime) else v) for k, v in root.items()}


class _RootUser:
    """The ``User`` of a virtual MFA device assigned to root, as ListVirtualMFADevices shows it."""

    def __init__(self, account_id: str, partition: str, created: datetime.datetime) -> None:
        self.arn = f"arn:{partition}:iam::{account_id}:root"
        self.id = account_id
        self.name = "<root_account>"
        self.path = "/"
        self.create_date = created
        self.password_last_used = None
        self.tags: t.List[t.Any] = []


# -- control API ------------------------------------------------------------
def bootstrap_admin(account_id: str, partition: str = "aws", user_name: str = "keyturn-admin") -> t.Dict[str, str]:
    """An IAM user with an administrator policy and an access key, created
    directly in the backend (authentication is enforced from the first call)."""
    if not re.match(r"^\d{12}$", account_id):
        raise ValueError("account_id must be 12 digits")
    backend = iam_backends[account_id][partition]
    try:
        user = backend.get_user(user_name)
    except Exception:
        user = backend.create_user(region_name=_region_for(partition), user_name=user_name, path="/", tags=[])
    backend.put_user_policy(user_name, "keyturn-admin", ADMIN_POLICY)
    key = backend.create_access_key(user_name)
    key.keyturn_bootstrap = True
    return {"access_key_id": key.access_key_id, "secret_access_key": key.secret_access_key,
            "arn": user.arn, "account_id": account_id, "partition": partition, "user_name": user_name}


def role_policy(account_id: str, role_name: str, partition: str = "aws", policy: t.Optional[t.Any] = None) -> t.Dict[str, t.Any]:
    """Put an inline policy (default: administrator) on a role, directly in the backend; Organizations'
    ``CreateAccount`` makes ``OrganizationAccountAccessRole`` without one."""
    backend = iam_backends[account_id][partition]
    try:
        role = backend.get_role(role_name)
    except Exception:
        raise KeyError(f"no role {role_name} in account {account_id} ({partition})")
    document = ADMIN_POLICY if policy is None else json.dumps(policy)
    backend.put_role_policy(role_name, "keyturn-role-policy", document)
    return {"arn": role.arn, "account_id": account_id, "role_name": role_name}


def _region_for(partition: str) -> str:
    return {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}[partition]


def _json(start_response: t.Callable[..., t.Any], status: str, body: t.Any) -> t.List[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def _control(environ: t.Dict[str, t.Any], start_response: t.Callable[..., t.Any]) -> t.List[bytes]:
    path = environ.get("PATH_INFO", "")[len(CONTROL_PREFIX):]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length) or b"{}") if length else {}
    try:
        if path == "health":
            return _json(start_response, "200 OK", {"ok": True})
        if path == "bootstrap":
            return _json(start_response, "200 OK", bootstrap_admin(**body))
        if path == "role_policy":
            return _json(start_response, "200 OK", role_policy(**body))
        if path == "config":
            SETTINGS.update(body)
            return _json(start_response, "200 OK", SETTINGS.snapshot())
        if path == "stats":
            return _json(start_response, "200 OK", SETTINGS.snapshot())
        if path == "faults":
            if environ.get("REQUEST_METHOD") == "POST":
                SETTINGS.set_faults(body.get("rules", []))
            return _json(start_response, "200 OK", SETTINGS.fault_state())
        if path == "stats/reset":
            with SETTINGS.lock:
                SETTINGS.calls.clear()
                SETTINGS.account_calls.clear()
                SETTINGS.throttled = 0
                SETTINGS.throttled_calls.clear()
            return _json(start_response, "200 OK", SETTINGS.snapshot())
        if path == "issued":  # every secret handed out, optionally of one account
            with SETTINGS.lock:
                issued = [dict(item) for item in SETTINGS.issued
                          if not body.get("account_id") or item["account_id"] == body["account_id"]]
            return _json(start_response, "200 OK", {"issued": issued})
        if path == "root":  # root facts: access keys, MFA, password use
            return _json(start_response, "200 OK", set_root(body))
        if path == "key_status":  # test helper: backdate / inspect keys
            return _json(start_response, "200 OK", _key_admin(body))
    except (TypeError, ValueError, KeyError) as exc:
        return _json(start_response, "400 Bad Request", {"error": str(exc)})
    return _json(start_response, "404 Not Found", {"error": f"unknown control path {path!r}"})


def _key_admin(body: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """``{access_key_id, age_days}`` backdates a key's creation (to make it due);
    ``last_used_days_ago`` (with ``service``/``region``) sets its last use as IAM
    reports it (``null`` clears it: never used)."""
    for account in list(iam_backends.values()):
        for partition in ("aws", "aws-cn", "aws-us-gov"):
            key = account[partition].access_keys.get(body["access_key_id"])
            if key is not None:
                if "age_days" in body:
                    key.create_date = key.create_date - datetime.timedelta(days=float(body["age_days"]))
                if "last_used_days_ago" in body:
                    ago = body["last_used_days_ago"]
                    key.last_used = None if ago is None else moto_iam_models.AccessKeyLastUsed(
                        timestamp=moto_iam_models.utcnow() - datetime.timedelta(days=float(ago)),
                        service=str(body.get("service") or "s3"), region=str(body.get("region") or "us-east-1"))
                last = getattr(key, "last_used", None)
                return {"status": key.status, "create_date": key.create_date.isoformat(),
                        "last_used": last.timestamp.isoformat() if last is not None else None,
                        "last_used_service": getattr(last, "service", None),
                        "last_used_region": getattr(last, "region", None)}
    raise KeyError("unknown access key")


# -- request accounting and throttling --------------------------------------
def _action_of(environ: t.Dict[str, t.Any]) -> t.Tuple[str, bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.split(".")[-1], body
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return query["Action"][0], body
    if body and b"Action=" in body:
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return form["Action"][0], body
    return environ.get("REQUEST_METHOD", "?") + " " + environ.get("PATH_INFO", ""), body


def _account_of(environ: t.Dict[str, t.Any]) -> str:
    """The account whose credentials signed the call (an assumed role's key: the role's account)."""
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not match:
        return "anonymous"
    key_id = match.group(1)
    account = SETTINGS.key_accounts.get(key_id)
    if account is None:
        account = moto_iam_models.get_account_id_from(key_id)
        SETTINGS.key_accounts[key_id] = account
    return account


def _service_of(environ: t.Dict[str, t.Any]) -> str:
    match = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(3) if match else "unknown"


THROTTLE_BODY = (
    '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
    "<Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>keyturn-throttle</RequestId>"
    "</ErrorResponse>"
)


class Wrapper:
    def __init__(self, app: t.Any) -> None:
        self.app = app

    def __call__(self, environ: t.Dict[str, t.Any], start_response: t.Callable[..., t.Any]) -> t.Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(CONTROL_PREFIX):
            return _control(environ, start_response)
        action, _body = _action_of(environ)
        name = f"{_service_of(environ)}:{action}"
        with SETTINGS.lock:
            SETTINGS.calls[name] = SETTINGS.calls.get(name, 0) + 1
            throttle = SETTINGS.throttle_rate > 0 and SETTINGS.rng.random() < SETTINGS.throttle_rate
        if SETTINGS.latency > 0:
            time.sleep(SETTINGS.latency)
        if not SETTINGS.take(_account_of(environ), _service_of(environ)):
            throttle = True
        fault = SETTINGS.fault_for(name)
        if fault is not None:
            return self._fault(fault, environ, start_response)
        if throttle:
            with SETTINGS.lock:
                SETTINGS.throttled += 1
                SETTINGS.throttled_calls[name] = SETTINGS.throttled_calls.get(name, 0) + 1
            if environ.get("HTTP_X_AMZ_TARGET"):
                data = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()
                start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data)))])
            else:
                data = THROTTLE_BODY.encode()
                start_response("400 Bad Request", [("Content-Type", "text/xml"), ("Content-Length", str(len(data)))])
            return [data]
        return self.app(environ, start_response)


FAULT_BODY = (
    '<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
    "<Code>KeyturnInjectedFault</Code><Message>fault injected by the test server</Message></Error>"
    "<RequestId>keyturn-fault</RequestId></ErrorResponse>"
)


def _fault(self: Wrapper, fault: t.Dict[str, t.Any], environ: t.Dict[str, t.Any],
           start_response: t.Callable[..., t.Any]) -> t.Iterable[bytes]:
    mode = fault["mode"]
    if mode == "error":
        if environ.get("HTTP_X_AMZ_TARGET"):
            data = json.dumps({"__type": "KeyturnInjectedFault", "message": "fault injected by the test server"}).encode()
            start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data)))])
        else:
            data = FAULT_BODY.encode()
            start_response("400 Bad Request", [("Content-Type", "text/xml"), ("Content-Length", str(len(data)))])
        return [data]
    if mode == "hang":
        with SETTINGS.lock:
            SETTINGS.hanging += 1
            release = SETTINGS.release
        release.wait(600)
        with SETTINGS.lock:
            SETTINGS.hanging -= 1
        data = THROTTLE_BODY.encode()
        start_response("400 Bad Request", [("Content-Type", "text/xml"), ("Content-Length", str(len(data)))])
        return [data]
    # drop: AWS applies the call, the answer is lost on the way back.
    chunks: t.List[bytes] = []

    def swallow(status: str, headers: t.Any, exc_info: t.Any = None) -> t.Callable[[bytes], None]:
        return chunks.append

    for chunk in self.app(environ, swallow):
        chunks.append(chunk)
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    raise ConnectionAbortedError("keyturn: response dropped on purpose")


Wrapper._fault = _fault  # type: ignore[attr-defined]


def build_app() -> Wrapper:
    return Wrapper(DomainDispatcherApplication(create_backend_app))


def main(argv: t.Optional[t.List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", help="write the bound port here once listening")
    parser.add_argument("--propagation-delay", type=float, default=0.0)
    args = parser.parse_args(argv)
    SETTINGS.update({"propagation_delay": args.propagation_delay})
    server = make_server("127.0.0.1", args.port, build_app(), threaded=True)
    port = server.server_port
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(str(port))
        os.replace(tmp, args.port_file)
    sys.stderr.write(f"awsmock listening on http://127.0.0.1:{port}\n")
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
