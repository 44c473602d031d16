# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the access_key_locate and access_key_retire engines against moto in-process."""

from __future__ import annotations

import datetime
import json
import os
import typing as t

import boto3
import pytest
from moto import mock_aws

from ansible_collections.keyturn.aws.plugins.module_utils import _access_key_locate, _access_key_retire
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import KeyturnError, ValidationError
from ansible_collections.keyturn.aws.plugins.plugin_utils._store_file import FileStore, vault_secrets_from_password

ACCOUNT = "123456789012"
SECRETS = vault_secrets_from_password("unit-vault-password")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> t.Iterator[t.Any]:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1", aws_access_key_id="AKIAEXAMPLE",
                           aws_secret_access_key="example-secret")
        for user in ("app", "twin-a", "twin-b", "legacy"):
            iam.create_user(UserName=user)
        yield iam


class Harness:
    def __init__(self, tmp: str, iam: t.Any) -> None:
        self.iam = iam
        self.path = os.path.join(tmp, "store.vault.yml")
        self.audit = os.path.join(tmp, "audit.jsonl")
        self.store = FileStore(self.path, SECRETS)

    def key(self, user: str) -> t.Dict[str, str]:
        data = self.iam.create_access_key(UserName=user)["AccessKey"]
        return {"access_key_id": data["AccessKeyId"], "secret_access_key": data["SecretAccessKey"]}

    def manage(self, name: str, key: t.Mapping[str, str], user: str, stage: str = "current") -> None:
        record = {"kind": "iam_user_key", "user_name": user, **key}
        if stage == "current":
            self.store.write_current(name, record)
        else:
            self.store.write_pending(name, record)

    def params(self, spec: t.Mapping[str, t.Any], **overrides: t.Any) -> t.Dict[str, t.Any]:
        params = {name: opt.get("default") for name, opt in spec.items()}
        params.update({"access_key": "AKIAEXAMPLE", "secret_key": "example-secret", "region": "us-east-1",
                       "store": {"type": "file", "path": self.path}, "validate_certs": True})
        params.update(overrides)
        return params

    def ctx(self, check_mode: bool = False) -> RunContext:
        return RunContext(check_mode=check_mode, vault_secrets=SECRETS, actor="tester",
                          file_store_factory=lambda path, vault_id=None: FileStore(path, SECRETS, vault_id))

    def locate(self, key_id: str, **overrides: t.Any) -> t.Dict[str, t.Any]:
        spec = _access_key_locate.ARGUMENT_SPEC
        return _access_key_locate.run(self.params(spec, access_key_id=key_id, **overrides), self.ctx())

    def retire(self, key_id: str, check_mode: bool = False, **overrides: t.Any) -> t.Dict[str, t.Any]:
        spec = _access_key_retire.ARGUMENT_SPEC
        params = self.params(spec, access_key_id=key_id, audit_log=self.audit, **overrides)
        return _access_key_retire.run(params, self.ctx(check_mode))

    def status(self, user: str) -> t.Dict[str, str]:
        return {k["AccessKeyId"]: k["Status"] for k in self.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}


@pytest.fixture
def h(tmp_path: t.Any, aws: t.Any) -> Harness:
    return Harness(str(tmp_path), aws)


def test_locate_managed_key_in_default_record(h: Harness) -> None:
    key = h.key("app")
    h.manage(f"{ACCOUNT}/app", key, "app")
    out = h.locate(key["access_key_id"])
    assert out["found"] and out["user_name"] == "app" and out["status"] == "Active"
    assert (out["managed"], out["store_name"], out["stage"], out["pair"]) == (True, f"{ACCOUNT}/app", "current", None)
    assert key["secret_access_key"] not in json.dumps(out)


def test_locate_scans_for_custom_record_and_pair(h: Harness) -> None:
    a, b = h.key("twin-a"), h.key("twin-b")
    h.manage("pairs/x/a", a, "twin-a")
    h.manage("pairs/x/b", b, "twin-b", stage="pending")
    h.store.write_current("pairs/x", {"kind": "dual_pair", "users": ["twin-a", "twin-b"], "active": "twin-a",
                                      "inactive": "twin-b", "member_names": {"twin-a": "pairs/x/a", "twin-b": "pairs/x/b"}})
    out = h.locate(a["access_key_id"])
    assert (out["store_name"], out["stage"]) == ("pairs/x/a", "current")
    assert out["pair"]["name"] == "pairs/x" and out["pair"]["member_active"] is True
    assert out["pair"]["inactive_user"] == "twin-b"
    out = h.locate(b["access_key_id"], scan_store=False)  # no scan: neither the pair nor the custom record
    assert out["managed"] is False and out["pair"] is None
    out = h.locate(b["access_key_id"], store_name="pairs/x/b", scan_store=False)
    assert (out["stage"], out["managed"]) == ("pending", True)


def test_locate_unmanaged_unknown_and_bad_input(h: Harness) -> None:
    legacy = h.key("legacy")
    out = h.locate(legacy["access_key_id"])
    assert out["found"] and out["managed"] is False and out["store_name"] is None
    out = h.locate("AKIAAAAAAAAAAAAAAAAA")
    assert out["found"] is False and "does not exist" in out["msg"]
    out = h.locate(legacy["access_key_id"], store=None)
    assert out["managed"] is None
    with pytest.raises(ValidationError, match="must be an AWS access key ID"):
        h.locate("not-a-key")
    with pytest.raises(ValidationError, match="store_name needs the store option"):
        h.locate(legacy["access_key_id"], store=None, store_name="x/y")


def test_retire_deactivates_then_defers_then_deletes(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    key = h.key("legacy")["access_key_id"]
    plan = h.retire(key, check_mode=True, state="absent", delete_after=3600)
    assert plan["action"] == "deactivated" and h.status("legacy")[key] == "Active"  # check mode changes nothing
    out = h.retire(key, state="absent", delete_after=3600, reason="incident-1")
    assert (out["action"], out["changed"], out["status"]) == ("deactivated", True, "Inactive")
    assert h.status("legacy")[key] == "Inactive"
    tags = {t["Key"]: t["Value"] for t in h.iam.list_user_tags(UserName="legacy")["Tags"]}
    assert tags[_access_key_retire.TAG_PREFIX + key] == out["inactive_since"]
    again = h.retire(key, state="absent", delete_after=3600)
    assert (again["action"], again["changed"], again["delete_at"]) == ("deferred", False, out["delete_at"])
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3601)
    monkeypatch.setattr(_access_key_retire, "utcnow", lambda: later)
    done = h.retire(key, state="absent", delete_after=3600)
    assert (done["action"], done["status"]) == ("deleted", "Deleted") and key not in h.status("legacy")
    assert h.iam.list_user_tags(UserName="legacy")["Tags"] == []
    gone = h.retire(key, state="absent")
    assert (gone["action"], gone["changed"]) == ("none", False)
    events = [json.loads(line)["event"] for line in open(h.audit, encoding="utf-8")]
    assert events == ["access_key_deactivated", "access_key_deleted"]


def test_retire_inactive_key_without_tag_starts_the_delay_now(h: Harness) -> None:
    key = h.key("legacy")["access_key_id"]
    h.iam.update_access_key(UserName="legacy", AccessKeyId=key, Status="Inactive")
    out = h.retire(key, state="absent", delete_after=60, user_name="legacy")
    assert out["action"] == "deferred" and out["changed"] and key in h.status("legacy")
    assert h.retire(key, state="absent", delete_after=0)["action"] == "deleted"


def test_retire_refuses_a_current_credential_unless_forced(h: Harness) -> None:
    key = h.key("app")
    h.manage(f"{ACCOUNT}/app", key, "app")
    with pytest.raises(KeyturnError, match="current credential of store record"):
        h.retire(key["access_key_id"])
    assert h.status("app")[key["access_key_id"]] == "Active"
    assert h.retire(key["access_key_id"], force=True)["action"] == "deactivated"


def test_retire_bad_input(h: Harness) -> None:
    with pytest.raises(ValidationError, match="delete_after must be from 0"):
        h.retire("AKIAAAAAAAAAAAAAAAAA", delete_after=-1)
    with pytest.raises(ValidationError, match="not a valid IAM user name"):
        h.retire("AKIAAAAAAAAAAAAAAAAA", user_name="bad name!")


def test_locate_logs_an_incident_under_the_audit_lock(h: Harness) -> None:
    legacy = h.key("legacy")
    incident = {"format": "keyturn.aws.incident/1", "outcome": "deactivated", "timeline": [{"step": "event", "at": "x"}],
                "durations": {"event_to_refused_seconds": 3.5}, "problems": []}
    h.locate(legacy["access_key_id"], incident=incident, audit_log=h.audit)
    events = [json.loads(line) for line in open(h.audit, encoding="utf-8")]
    assert len(events) == 1 and events[0]["event"] == "exposed_key_incident"
    assert (events[0]["outcome"], events[0]["access_key_id"], events[0]["account_id"]) == (
        "deactivated", legacy["access_key_id"], ACCOUNT)
    assert "problems" not in events[0] and "format" not in events[0]
    with pytest.raises(ValidationError, match="looks like a secret"):
        h.locate(legacy["access_key_id"], incident={"secret_access_key": "x"}, audit_log=h.audit)
    with pytest.raises(ValidationError, match="incident needs audit_log"):
        h.locate(legacy["access_key_id"], incident={"outcome": "x"})
