# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine of keyturn.aws.virtual_mfa: enrol or remove an IAM user's virtual MFA device.

Order of a enrolment (state=present), so that no seed is ever lost:

1. record intent (pending stage of the seed's store name) naming the device;
2. ``CreateVirtualMFADevice``, and at once write its ``Base32StringSeed`` to the
   store (current stage); if that write fails, delete the new device and stop;
3. ``EnableMFADevice`` with the codes of two consecutive time steps, computed by
   the collection's TOTP code path and claimed in the TOTP ledger (AWS rejects a
   code that was already used, so the lookup never hands them out again).

A run interrupted after step 2 is resumed by the next run (the stored seed
enables the existing device); a device left by a run interrupted between the
create call and the store write is recognised by the intent and replaced.
"""

from __future__ import annotations

import re
import typing as t

from ansible.module_utils.basic import env_fallback

from ansible_collections.keyturn.aws.plugins.module_utils._audit import isoformat, utcnow
from ansible_collections.keyturn.aws.plugins.module_utils._connection import aws_call_errors
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import (
    KeyturnError,
    TotpError,
    ValidationError,
    error_code,
    translate_aws_error,
)
from ansible_collections.keyturn.aws.plugins.module_utils._options import argument_spec
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import StoreError, lease_owner, validate_record_name
from ansible_collections.keyturn.aws.plugins.module_utils._task import STORE_OPTION, open_task
from ansible_collections.keyturn.aws.plugins.module_utils._totp_codes import code_at, issue_code
from ansible_collections.keyturn.aws.plugins.module_utils._totp_ledger import CodeLedger
from ansible_collections.keyturn.aws.plugins.module_utils._totp_parse import TotpSpec
from ansible_collections.keyturn.aws.plugins.module_utils._totp_seed import INTENT_KIND, KIND, check_kind, seed_record
from ansible_collections.keyturn.aws.plugins.module_utils._validate import check_user_name

LEDGER_ENV = "KEYTURN_AWS_TOTP_LEDGER_PATH"
LEASE_TTL = 300
MIN_REMAINING = 5
_DEVICE_NAME = re.compile(r"^[\w+=,.@-]{1,226}$")

ARGUMENT_SPEC = argument_spec(
    {
        "user_name": {"type": "str", "required": True},
        "device_name": {"type": "str"},
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "seed_name": {"type": "str"},
        "account_id": {"type": "str"},
        "store": STORE_OPTION,
        "audit_log": {"type": "path"},
        "ledger_path": {"type": "path", "fallback": (env_fallback, [LEDGER_ENV])},
    }
)


class Device(t.NamedTuple):
    serial: str
    user_name: t.Optional[str]  # the user it is assigned to, None when unassigned


def _aws(exc: BaseException, doing: str) -> KeyturnError:
    return translate_aws_error(exc, doing)


def list_user_devices(iam: t.Any, user: str) -> t.Optional[t.List[str]]:
    """Serial numbers of every MFA device enabled for *user*; None when the user does not exist."""
    serials: t.List[str] = []
    kwargs: t.Dict[str, t.Any] = {"UserName": user}
    while True:
        try:
            page = iam.list_mfa_devices(**kwargs)
        except aws_call_errors() as exc:
            if error_code(exc) == "NoSuchEntity":
                return None
            raise _aws(exc, f"listing the MFA devices of IAM user {user}") from None
        serials.extend(str(d["SerialNumber"]) for d in page.get("MFADevices", []))
        if not page.get("IsTruncated") or not page.get("Marker"):
            return serials
        kwargs["Marker"] = page["Marker"]


def find_virtual_device(iam: t.Any, serial: str) -> t.Optional[Device]:
    """The virtual MFA device *serial*, assigned or not; None when it does not exist."""
    kwargs: t.Dict[str, t.Any] = {"AssignmentStatus": "Any"}
    while True:
        try:
            page = iam.list_virtual_mfa_devices(**kwargs)
        except aws_call_errors() as exc:
            raise _aws(exc, "listing the virtual MFA devices") from None
        for device in page.get("VirtualMFADevices", []):
            if device.get("SerialNumber") == serial:
                return Device(serial, (device.get("User") or {}).get("UserName"))
        if not page.get("IsTruncated") or not page.get("Marker"):
            return None
        kwargs["Marker"] = page["Marker"]


def seed_text(raw: t.Any) -> str:
    """``Base32StringSeed`` as text: botocore gives bytes (a blob), some servers a str."""
    if isinstance(raw, (bytes, bytearray)):
        try:
            return bytes(raw).decode("ascii")
        except UnicodeDecodeError:
            raise KeyturnError("AWS returned a virtual MFA seed that is not base32 text") from None
    if isinstance(raw, str):
        return raw
    raise KeyturnError("AWS returned no Base32StringSeed for the new virtual MFA device")


class Enrolment:
    """One run of the module for one user."""

    def __init__(self, params: t.Mapping[str, t.Any], ctx: RunContext) -> None:
        self.user = check_user_name(params["user_name"], "user_name")
        self.device_name = str(params.get("device_name") or self.user)
        if not _DEVICE_NAME.match(self.device_name):
            raise ValidationError(
                f"device_name {self.device_name!r} is not a valid virtual MFA device name "
                "(1-226 characters: letters, digits and + = , . @ _ -)"
            )
        self.state = params.get("state") or "present"
        self.name = self._check_name(params["seed_name"]) if params.get("seed_name") else ""
        self.ctx = ctx
        self.ledger_path = params.get("ledger_path")
        if self.state == "present":  # the ledger is written after AWS changed: check its path first
            try:
                CodeLedger(self.ledger_path).check_path()
            except TotpError as exc:
                raise ValidationError(f"ledger_path: {exc}") from None
        self.task = open_task(params, ctx)
        if self.task.store is None:  # pragma: no cover - open_task opens the store by default
            raise KeyturnError("the task's store was not opened")
        self.store = self.task.store
        self.account_id = self.task.account_id
        if not self.name:
            self.name = self._check_name(f"{self.account_id}/mfa/{self.user}")
        self.serial = f"arn:{self.task.partition}:iam::{self.account_id}:mfa/{self.device_name}"
        self.iam = self.task.conn.client("iam")
        self.actions: t.List[str] = []
        self.enabled = False

    @staticmethod
    def _check_name(name: str) -> str:
        try:
            return validate_record_name(str(name))  # plain str, no data tags
        except StoreError as exc:
            raise ValidationError(f"seed_name: {exc}") from None

    # -- entry point ------------------------------------------------------------
    def run(self) -> t.Dict[str, t.Any]:
        work = self._present if self.state == "present" else self._absent
        self.task.preflight_store(self.name)
        if self.ctx.check_mode:
            before = work()
        else:  # a StoreError (StoreLocked: another run works on this seed) is a KeyturnError: a clean failure
            with self.store.lease(self.name, lease_owner(self.task.run_id), LEASE_TTL):
                before = work()
        return self._result(before)

    def _result(self, before: t.Dict[str, t.Any]) -> t.Dict[str, t.Any]:
        changed = bool(self.actions)
        result: t.Dict[str, t.Any] = {
            "changed": changed,
            "user_name": self.user,
            "device_name": self.device_name,
            "serial_number": self.serial,
            "seed_name": self.name,
            "state": self.state,
            "enabled": self.enabled,
            "account_id": self.account_id,
            "partition": self.task.partition,
            "actions": list(self.actions),
        }
        prefix = "would " if self.ctx.check_mode else ""
        if not changed:
            result["msg"] = (f"virtual MFA device {self.serial} is enabled for {self.user}" if self.state == "present"
                             else f"{self.user} has no virtual MFA device {self.serial} and no stored seed")
        else:
            result["msg"] = f"{prefix}" + "; ".join(self.actions)
        if self.ctx.diff:
            present = self.state == "present"
            after = {"user_name": self.user, "serial_number": self.serial, "enabled": self.enabled,
                     "device_exists": present, "seed_name": self.name, "seed_stored": present}
            result["diff"] = {"before": before, "after": after}
        return result

    def _do(self, action: str) -> bool:
        """Note *action*; True when it must really be done (not check mode)."""
        self.actions.append(action)
        return not self.ctx.check_mode

    def _stored_seed(self) -> t.Tuple[t.Any, t.Optional[dict], t.Optional[str]]:
        """The seed record of this device (checked to be one, and of this device's serial)."""
        staged = self.store.read(self.name)
        check_kind(self.name, staged, (KIND, INTENT_KIND))
        record = staged.current
        stored_serial = record.get("serial_number") if record else None
        if stored_serial and stored_serial != self.serial:
            raise ValidationError(
                f"the seed stored under {self.name!r} belongs to the virtual MFA device {stored_serial}, not to "
                f"{self.serial}; set device_name to match it, or use another seed_name"
            )
        return staged, record, stored_serial

    # -- state: present -----------------------------------------------------------
    def _present(self) -> t.Dict[str, t.Any]:
        staged, record, stored_serial = self._stored_seed()
        user_devices = list_user_devices(self.iam, self.user)
        if user_devices is None:
            raise ValidationError(f"IAM user {self.user!r} does not exist in account {self.account_id}")
        device = find_virtual_device(self.iam, self.serial) if self.serial not in user_devices else None
        before = {"user_name": self.user, "serial_number": self.serial, "enabled": self.serial in user_devices,
                  "device_exists": self.serial in user_devices or device is not None,
                  "seed_name": self.name, "seed_stored": record is not None}
        if self.serial in user_devices:
            if record is None:
                raise ValidationError(self._no_seed_message([self.serial]))
            self.enabled = True
            return before
        if device is not None and device.user_name and device.user_name != self.user:
            raise ValidationError(
                f"the virtual MFA device {self.serial} is assigned to IAM user {device.user_name}, not {self.user}; "
                "choose another device_name"
            )
        if device is not None:
            if record is not None and stored_serial == self.serial:
                self._enable(record)
                return before
            if not self._is_our_orphan(staged.pending):
                raise ValidationError(
                    f"the virtual MFA device {self.serial} exists (not enabled) but its seed is not in the store under "
                    f"{self.name!r}, and AWS never shows a seed again; delete it (this module with state=absent does) "
                    "and run again"
                )
            if self._do(f"delete the virtual MFA device {self.serial} left by an interrupted run"):
                self._delete_device()
        if record is not None and not stored_serial:
            raise ValidationError(
                f"the store already holds a TOTP seed under {self.name!r} that was not enrolled by this module; "
                "refusing to replace it: use another seed_name, or remove it with keyturn.aws.totp_seed state=absent"
            )
        if record is None and user_devices:
            raise ValidationError(self._no_seed_message(user_devices))
        if record is not None:
            self.ctx.warn(f"the seed stored under {self.name!r} belonged to {self.serial}, which no longer exists; "
                          "enrolling a new device")
        self._create_and_enable()
        return before

    def _no_seed_message(self, serials: t.List[str]) -> str:
        return (
            f"IAM user {self.user} already has the MFA device(s) {', '.join(serials)} enabled, but no seed is stored "
            f"under {self.name!r}; AWS never shows the seed of an existing device, so it is left alone. Remove the "
            "device (deactivate and delete it, or run this module with state=absent for a virtual device) and run "
            "again, or, if you hold its seed, store it under that name with keyturn.aws.totp_seed"
        )

    def _is_our_orphan(self, pending: t.Optional[t.Mapping[str, t.Any]]) -> bool:
        return bool(pending and pending.get("kind") == INTENT_KIND and pending.get("serial_number") == self.serial)

    def _create_and_enable(self) -> None:
        if not self._do(f"create the virtual MFA device {self.serial} and store its seed under {self.name!r}"):
            self.actions.append(f"enable {self.serial} for {self.user}")
            self.enabled = True
            return
        self.store.write_pending(self.name, {"kind": INTENT_KIND, "serial_number": self.serial, "user_name": self.user,
                                             "run_id": self.task.run_id, "started": isoformat(utcnow())})
        try:
            device = self.iam.create_virtual_mfa_device(VirtualMFADeviceName=self.device_name)["VirtualMFADevice"]
        except aws_call_errors() as exc:
            self._drop_intent()
            raise _aws(exc, f"creating the virtual MFA device {self.device_name}") from None
        serial = str(device.get("SerialNumber") or self.serial)
        try:
            spec = TotpSpec(secret=seed_text(device.get("Base32StringSeed")))
            record = seed_record(spec, source="virtual_mfa", serial_number=serial, user_name=self.user,
                                 account_id=self.account_id, partition=self.task.partition)
            self.store.write_current(self.name, record, keep_previous=False)
        except (KeyturnError, TotpError, StoreError) as exc:
            self._delete_device(serial)
            self._drop_intent()
            raise ValidationError(f"the seed of the new virtual MFA device could not be stored ({exc}); the device "
                                  "was deleted again, nothing else changed") from None
        self.serial = serial
        self._drop_intent()
        self.task.audit.event("virtual_mfa_created", user_name=self.user, serial_number=serial, seed_name=self.name,
                              account_id=self.account_id)
        self._enable(record)

    def _drop_intent(self) -> None:
        try:
            self.store.discard_pending(self.name)
        except StoreError as exc:
            self.ctx.warn(f"could not drop the enrolment intent under {self.name!r}: {exc}")

    def _enable(self, record: t.Mapping[str, t.Any]) -> None:
        if not self._do(f"enable {self.serial} for {self.user}"):
            self.enabled = True
            return
        spec = TotpSpec(secret=record["seed"], digits=record.get("digits", 6), period=record.get("period", 30),
                        algorithm=record.get("algorithm", "SHA1"))
        first, second = self._codes(spec)
        try:
            self.iam.enable_mfa_device(UserName=self.user, SerialNumber=self.serial,
                                       AuthenticationCode1=first, AuthenticationCode2=second)
        except aws_call_errors() as exc:
            error = _aws(exc, f"enabling the virtual MFA device {self.serial} for {self.user} (its seed stays stored "
                              f"under {self.name!r}; run the task again to retry)")
            error.msg = error.msg.replace(first, "******").replace(second, "******")
            raise error from None
        self.enabled = True
        self.task.audit.event("virtual_mfa_enabled", user_name=self.user, serial_number=self.serial,
                              seed_name=self.name, account_id=self.account_id)

    def _codes(self, spec: TotpSpec) -> t.Tuple[str, str]:
        """Codes of two consecutive steps T and T+1, both claimed in the ledger."""
        ledger = CodeLedger(self.ledger_path)
        try:
            for _attempt in range(3):
                issued = issue_code(spec, min_remaining=MIN_REMAINING, unique=True, ledger=ledger)
                if ledger.claim(spec, issued.step + 1):
                    return issued.code, code_at(spec, (issued.step + 1) * spec.period)
        except TotpError as exc:
            raise KeyturnError(f"could not compute the enrolment codes: {exc}") from None
        raise KeyturnError("could not compute the enrolment codes: the TOTP ledger keeps reporting used codes")

    # -- state: absent --------------------------------------------------------------
    def _absent(self) -> t.Dict[str, t.Any]:
        staged, record, stored_serial = self._stored_seed()
        user_devices = list_user_devices(self.iam, self.user) or []
        device = find_virtual_device(self.iam, self.serial)
        if device is not None and device.user_name and device.user_name != self.user:
            raise ValidationError(
                f"the virtual MFA device {self.serial} is assigned to IAM user {device.user_name}, not {self.user}; "
                "refusing to remove it"
            )
        before = {"user_name": self.user, "serial_number": self.serial, "enabled": self.serial in user_devices,
                  "device_exists": self.serial in user_devices or device is not None,
                  "seed_name": self.name, "seed_stored": record is not None}
        if self.serial in user_devices and self._do(f"deactivate {self.serial} for {self.user}"):
            try:
                self.iam.deactivate_mfa_device(UserName=self.user, SerialNumber=self.serial)
            except aws_call_errors() as exc:
                if error_code(exc) != "NoSuchEntity":
                    raise _aws(exc, f"deactivating the MFA device {self.serial} of {self.user}") from None
        if (device is not None or self.serial in user_devices) and self._do(f"delete the virtual MFA device {self.serial}"):
            self._delete_device()
        if not staged.empty and self._do(f"delete the stored seed {self.name!r}"):
            self.store.delete(self.name)
        if self.actions and not self.ctx.check_mode:
            self.task.audit.event("virtual_mfa_removed", user_name=self.user, serial_number=self.serial,
                                  seed_name=self.name, account_id=self.account_id)
        return before

    def _delete_device(self, serial: t.Optional[str] = None) -> None:
        serial = serial or self.serial
        try:
            self.iam.delete_virtual_mfa_device(SerialNumber=serial)
        except aws_call_errors() as exc:
            if error_code(exc) != "NoSuchEntity":
                raise _aws(exc, f"deleting the virtual MFA device {serial}") from None


def run(params: t.Dict[str, t.Any], ctx: RunContext) -> t.Dict[str, t.Any]:
    return Enrolment(params, ctx).run()
