# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the virtual_mfa engine against moto in-process: every branch of the
enrolment state table (fresh, unchanged, resumed, orphan, refusals, failures)."""

from __future__ import annotations

import json
import os
import typing as t

import boto3
import botocore.exceptions
import pyotp
import pytest
from moto import mock_aws

from ansible_collections.keyturn.aws.plugins.module_utils import _virtual_mfa
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import AwsCallError, KeyturnError, ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import StoreError
from ansible_collections.keyturn.aws.plugins.module_utils._totp_ledger import CodeLedger
from ansible_collections.keyturn.aws.plugins.module_utils._totp_parse import TotpSpec
from ansible_collections.keyturn.aws.plugins.module_utils._totp_seed import INTENT_KIND, seed_record
from ansible_collections.keyturn.aws.plugins.plugin_utils._store_file import FileStore, vault_secrets_from_password

ACCOUNT = "123456789012"
USER = "bob"
SERIAL = f"arn:aws:iam::{ACCOUNT}:mfa/{USER}"
NAME = f"{ACCOUNT}/mfa/{USER}"
SECRETS = vault_secrets_from_password("unit-vault-password")
OTHER_SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> t.Iterator[t.Any]:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1", aws_access_key_id="AKIAEXAMPLE",
                           aws_secret_access_key="example-secret")
        iam.create_user(UserName=USER)
        yield iam


class Harness:
    def __init__(self, tmp: str, iam: t.Any) -> None:
        self.iam = iam
        self.path = os.path.join(tmp, "store.vault.yml")
        self.ledger = os.path.join(tmp, "ledger.json")
        self.audit = os.path.join(tmp, "audit.jsonl")
        self.store = FileStore(self.path, SECRETS)
        self.store_class: t.Type[FileStore] = FileStore

    def params(self, **overrides: t.Any) -> t.Dict[str, t.Any]:
        params = {
            "user_name": USER, "device_name": None, "state": "present", "seed_name": None, "account_id": None,
            "store": {"type": "file", "path": self.path}, "audit_log": self.audit, "ledger_path": self.ledger,
            "access_key": "AKIAEXAMPLE", "secret_key": "example-secret", "session_token": None, "profile": None,
            "region": "us-east-1", "endpoint_url": None, "aws_ca_bundle": None, "validate_certs": True,
            "assume_role": None,
        }
        params.update(overrides)
        return params

    def ctx(self, check_mode: bool = False, diff: bool = False) -> RunContext:
        return RunContext(check_mode=check_mode, diff=diff, vault_secrets=SECRETS, actor="tester",
                          file_store_factory=lambda path, vault_id=None: self.store_class(path, SECRETS, vault_id))

    def run(self, check_mode: bool = False, diff: bool = False, **overrides: t.Any) -> t.Dict[str, t.Any]:
        return _virtual_mfa.run(self.params(**overrides), self.ctx(check_mode, diff))

    def enabled(self) -> t.List[str]:
        return [d["SerialNumber"] for d in self.iam.list_mfa_devices(UserName=USER)["MFADevices"]]

    def devices(self) -> t.Dict[str, t.Any]:
        return {d["SerialNumber"]: d for d in self.iam.list_virtual_mfa_devices()["VirtualMFADevices"]}

    def device_seed(self, serial: str = SERIAL) -> str:
        raw = self.devices()[serial]["Base32StringSeed"]
        return raw.decode("ascii") if isinstance(raw, bytes) else raw


@pytest.fixture
def h(tmp_path: t.Any, aws: t.Any, monkeypatch: pytest.MonkeyPatch) -> Harness:
    monkeypatch.setattr(_virtual_mfa, "MIN_REMAINING", 0)  # no wait for a fresh window in most tests
    return Harness(str(tmp_path), aws)


def test_enrol_then_unchanged(h: Harness) -> None:
    first = h.run(diff=True)
    assert first["changed"] is True and first["enabled"] is True
    assert first["serial_number"] == SERIAL and first["seed_name"] == NAME
    assert first["diff"]["before"]["enabled"] is False and first["diff"]["after"]["enabled"] is True
    assert h.enabled() == [SERIAL]
    record = h.store.read(NAME)
    assert record.pending is None and record.previous is None
    current = record.current
    assert current["kind"] == "totp_seed" and current["source"] == "virtual_mfa"
    assert current["serial_number"] == SERIAL and current["user_name"] == USER
    assert (current["digits"], current["period"], current["algorithm"]) == (6, 30, "SHA1")
    assert current["seed"] == h.device_seed()
    text = json.dumps(first)
    assert current["seed"] not in text and current["seed"].rstrip("=") not in text
    second = h.run()
    assert second["changed"] is False and second["enabled"] is True and second["actions"] == []
    assert h.store.read(NAME).current == current
    events = [json.loads(line)["event"] for line in open(h.audit, encoding="utf-8")]
    assert events == ["virtual_mfa_created", "virtual_mfa_enabled"]
    assert current["seed"] not in open(h.audit, encoding="utf-8").read()


class FakeClock:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.sleeps: t.List[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.mark.parametrize("second", [2, 27])
def test_enable_uses_two_consecutive_codes_of_the_stored_seed_and_claims_them(
    h: Harness, monkeypatch: pytest.MonkeyPatch, second: int
) -> None:
    """Time comes from an injected clock: at second 2 of a window the codes are of that window and the
    next; at second 27 (3 s left, fewer than MIN_REMAINING) the engine waits for the next window first."""
    monkeypatch.setattr(_virtual_mfa, "MIN_REMAINING", 5)
    clock = FakeClock(1_700_000_010 - 1_700_000_010 % 30 + second)
    window = int(clock.now // 30)
    real_issue_code = _virtual_mfa.issue_code
    monkeypatch.setattr(_virtual_mfa, "issue_code",
                        lambda *a, **kw: real_issue_code(*a, **dict(kw, clock=clock.time, sleep=clock.sleep)))
    monkeypatch.setattr(_virtual_mfa, "CodeLedger", lambda path: CodeLedger(path, clock=clock.time))
    seen: t.Dict[str, t.Any] = {}
    enrolment = _virtual_mfa.Enrolment(h.params(), h.ctx())
    real = enrolment.iam.enable_mfa_device

    def spy(**kwargs: t.Any) -> t.Any:
        seen.update(kwargs, at=clock.time())
        return real(**kwargs)

    monkeypatch.setattr(enrolment.iam, "enable_mfa_device", spy)
    enrolment.run()
    totp = pyotp.TOTP(h.store.read(NAME).current["seed"])
    step = window if second <= 25 else window + 1
    assert seen["AuthenticationCode1"] == totp.at(step * 30)
    assert seen["AuthenticationCode2"] == totp.at((step + 1) * 30)
    assert int(seen["at"] // 30) == step and seen["at"] % 30 <= 25  # at least MIN_REMAINING seconds were left
    assert bool(clock.sleeps) is (second > 25)
    # both steps are in the ledger: a code for this seed now comes from a later step
    ledger = CodeLedger(h.ledger, clock=clock.time)
    spec = TotpSpec(secret=h.store.read(NAME).current["seed"])
    assert ledger.claim(spec, step) is False and ledger.claim(spec, step + 1) is False


def test_check_mode_changes_nothing(h: Harness) -> None:
    result = h.run(check_mode=True, diff=True)
    assert result["changed"] is True and result["enabled"] is True
    assert result["msg"].startswith("would create")
    assert h.devices() == {} and not os.path.exists(h.path)
    h.run()
    assert h.run(check_mode=True)["changed"] is False


def test_existing_device_without_stored_seed_is_left_alone(h: Harness) -> None:
    serial = h.iam.create_virtual_mfa_device(VirtualMFADeviceName="console")["VirtualMFADevice"]["SerialNumber"]
    h.iam.enable_mfa_device(UserName=USER, SerialNumber=serial, AuthenticationCode1="123456",
                            AuthenticationCode2="234567")
    with pytest.raises(ValidationError) as info:
        h.run()
    assert "already has the MFA device(s)" in info.value.msg and serial in info.value.msg
    assert h.enabled() == [serial] and set(h.devices()) == {serial}
    # our own device name, enabled without a stored seed: also refused
    with pytest.raises(ValidationError, match="no seed is stored"):
        h.run(device_name="console")


def test_resume_after_an_interrupted_enable(h: Harness) -> None:
    device = h.iam.create_virtual_mfa_device(VirtualMFADeviceName=USER)["VirtualMFADevice"]
    seed = device["Base32StringSeed"].decode("ascii")
    h.store.write_current(NAME, seed_record(TotpSpec(secret=seed), source="virtual_mfa", serial_number=SERIAL))
    result = h.run()
    assert result["changed"] is True and result["actions"] == [f"enable {SERIAL} for {USER}"]
    assert h.enabled() == [SERIAL] and h.store.read(NAME).current["seed"] == seed


def test_orphan_of_a_crashed_run_is_replaced(h: Harness) -> None:
    h.iam.create_virtual_mfa_device(VirtualMFADeviceName=USER)
    old_seed = h.device_seed()
    h.store.write_pending(NAME, {"kind": INTENT_KIND, "serial_number": SERIAL, "user_name": USER})
    result = h.run()
    assert result["changed"] is True and result["actions"][0].startswith("delete the virtual MFA device")
    assert h.enabled() == [SERIAL]
    new_seed = h.store.read(NAME).current["seed"]
    assert new_seed == h.device_seed() != old_seed
    assert h.store.read(NAME).pending is None


def test_unassigned_device_with_unknown_seed_is_refused(h: Harness) -> None:
    h.iam.create_virtual_mfa_device(VirtualMFADeviceName=USER)
    with pytest.raises(ValidationError, match="its seed is not in the store"):
        h.run()
    assert set(h.devices()) == {SERIAL} and h.enabled() == []


def test_imported_seed_is_not_replaced(h: Harness) -> None:
    h.store.write_current(NAME, seed_record(TotpSpec(secret=OTHER_SEED)))
    with pytest.raises(ValidationError, match="not enrolled by this module"):
        h.run()
    assert h.devices() == {}


def test_stale_seed_of_a_deleted_device_is_replaced_with_a_warning(h: Harness) -> None:
    h.store.write_current(NAME, seed_record(TotpSpec(secret=OTHER_SEED), source="virtual_mfa", serial_number=SERIAL))
    ctx = h.ctx()
    result = _virtual_mfa.run(h.params(), ctx)
    assert result["changed"] is True and any("no longer exists" in w for w in ctx.warnings)
    assert h.store.read(NAME).current["seed"] == h.device_seed() != OTHER_SEED


def test_seed_of_another_device_is_refused(h: Harness) -> None:
    other = f"arn:aws:iam::{ACCOUNT}:mfa/other"
    h.store.write_current(NAME, seed_record(TotpSpec(secret=OTHER_SEED), source="virtual_mfa", serial_number=other))
    for state in ("present", "absent"):
        with pytest.raises(ValidationError, match="belongs to the virtual MFA device"):
            h.run(state=state)


def test_device_of_another_user_is_refused(h: Harness) -> None:
    h.iam.create_user(UserName="carol")
    h.iam.create_virtual_mfa_device(VirtualMFADeviceName="shared")
    h.iam.enable_mfa_device(UserName="carol", SerialNumber=f"arn:aws:iam::{ACCOUNT}:mfa/shared",
                            AuthenticationCode1="123456", AuthenticationCode2="234567")
    for state in ("present", "absent"):
        with pytest.raises(ValidationError, match="is assigned to IAM user carol"):
            h.run(device_name="shared", state=state)


def test_unknown_user(h: Harness) -> None:
    with pytest.raises(ValidationError, match="IAM user 'nobody' does not exist"):
        h.run(user_name="nobody")


def test_bad_input_fails_before_aws(h: Harness) -> None:
    with pytest.raises(ValidationError, match="not a valid IAM user name"):
        h.run(user_name="bad name")
    with pytest.raises(ValidationError, match="not a valid virtual MFA device name"):
        h.run(device_name="bad/name")
    with pytest.raises(ValidationError, match="seed_name: "):
        h.run(seed_name="/bad")
    with pytest.raises(ValidationError, match="account_id must be a 12-digit"):
        h.run(account_id="12")


def test_wrong_account(h: Harness) -> None:
    with pytest.raises(ValidationError, match="but account_id is 999999999999"):
        h.run(account_id="999999999999")


def test_store_write_failure_deletes_the_new_device(h: Harness) -> None:
    class FailingStore(FileStore):
        def write_current(self, name: str, record: dict, keep_previous: bool = True) -> None:
            raise StoreError("disk full")

    h.store_class = FailingStore
    with pytest.raises(ValidationError) as info:
        h.run()
    assert "could not be stored (disk full)" in info.value.msg and "device was deleted again" in info.value.msg
    assert h.devices() == {} and h.enabled() == []
    assert h.store.read(NAME).empty


def test_enable_failure_keeps_the_seed_for_the_next_run(h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    enrolment = _virtual_mfa.Enrolment(h.params(), h.ctx())
    codes: t.List[str] = []

    def refuse(**kwargs: t.Any) -> None:
        codes.extend((kwargs["AuthenticationCode1"], kwargs["AuthenticationCode2"]))
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": "InvalidAuthenticationCode",
                       "Message": f"codes {kwargs['AuthenticationCode1']} {kwargs['AuthenticationCode2']} invalid"}},
            "EnableMFADevice")

    monkeypatch.setattr(enrolment.iam, "enable_mfa_device", refuse)
    with pytest.raises(AwsCallError) as info:
        enrolment.run()
    assert "run the task again to retry" in info.value.msg
    assert codes and all(code not in info.value.msg for code in codes)
    assert h.store.read(NAME).current["serial_number"] == SERIAL
    # the refused codes stay claimed: a retry in the same window would wait; a fresh ledger does not
    assert h.run(ledger_path=h.ledger + ".2")["changed"] is True and h.enabled() == [SERIAL]


def test_absent(h: Harness) -> None:
    h.run()
    planned = h.run(state="absent", check_mode=True)
    assert planned["changed"] is True and len(planned["actions"]) == 3
    assert h.enabled() == [SERIAL] and not h.store.read(NAME).empty
    removed = h.run(state="absent", diff=True)
    assert removed["changed"] is True and removed["enabled"] is False
    assert removed["diff"]["before"]["seed_stored"] is True and removed["diff"]["after"]["seed_stored"] is False
    assert h.enabled() == [] and h.devices() == {}
    assert h.store.read(NAME).empty
    assert h.run(state="absent")["changed"] is False
    assert [json.loads(line)["event"] for line in open(h.audit, encoding="utf-8")][-1] == "virtual_mfa_removed"


def test_absent_removes_an_unassigned_device_and_a_lone_seed(h: Harness) -> None:
    h.iam.create_virtual_mfa_device(VirtualMFADeviceName=USER)
    assert h.run(state="absent")["actions"] == [f"delete the virtual MFA device {SERIAL}"]
    h.store.write_current(NAME, seed_record(TotpSpec(secret=OTHER_SEED)))
    assert h.run(state="absent")["actions"] == [f"delete the stored seed {NAME!r}"]
    assert h.devices() == {} and h.store.read(NAME).empty


def test_absent_for_a_user_that_is_gone(h: Harness) -> None:
    assert h.run(user_name="nobody", state="absent")["changed"] is False


def test_record_of_another_kind_is_never_touched(h: Harness) -> None:
    h.store.write_current(NAME, {"kind": "iam_user_key", "access_key_id": "AKIAEXAMPLE"})
    for state in ("present", "absent"):
        with pytest.raises(ValidationError, match="holds a iam_user_key record"):
            h.run(state=state)
    assert h.store.read(NAME).current["kind"] == "iam_user_key"


@pytest.mark.parametrize("raw", [b"JBSWY3DPEHPK3PXP", "JBSWY3DPEHPK3PXP", bytearray(b"JBSWY3DPEHPK3PXP")])
def test_seed_text_accepts_bytes_and_str(raw: t.Any) -> None:
    assert _virtual_mfa.seed_text(raw) == "JBSWY3DPEHPK3PXP"


@pytest.mark.parametrize("raw", [None, b"\xff\xfe", 42])
def test_seed_text_rejects_the_rest(raw: t.Any) -> None:
    with pytest.raises(KeyturnError):
        _virtual_mfa.seed_text(raw)


def test_ledger_path_in_a_missing_folder_fails_before_any_change(h: Harness, tmp_path: t.Any) -> None:
    # issue 18.2: the ledger's folder used to be created silently (after the device was enabled)
    ledger = tmp_path / "no-such-dir" / "ledger.json"
    with pytest.raises(ValidationError) as info:
        h.run(ledger_path=str(ledger))
    assert str(info.value) == (f"ledger_path: the directory of the TOTP ledger {ledger} does not exist: "
                               f"create {ledger.parent} first")
    assert h.devices() == {} and h.enabled() == []
    assert not os.path.exists(h.path) and not os.path.exists(ledger.parent)


def test_ledger_path_symlink_is_followed(h: Harness, tmp_path: t.Any) -> None:
    (tmp_path / "real").mkdir()
    link = tmp_path / "ledger-link.json"
    link.symlink_to(tmp_path / "real" / "ledger.json")
    assert h.run(ledger_path=str(link))["enabled"] is True
    assert os.path.islink(link) and (tmp_path / "real" / "ledger.json").exists()
