# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine of keyturn.aws.credential_report_info and keyturn.aws.credential_report_remediate.

The IAM credential report (one CSV for the whole account), the root facts of
``GetAccountSummary`` and the virtual MFA devices, checked against the IAM
controls of the CIS AWS Foundations Benchmark (1.4, 1.5, 1.6, 1.12, 1.13, 1.14)
and, with a store, against keyturn's own records (``keyturn.unmanaged``,
``keyturn.store_drift``).

The evaluation is pure (:func:`evaluate`): parsed report rows, live key lists
and store records in, findings out, so every control is table-tested.  The
remediation (opt-in, never root) is planned from live IAM data, not from the
report, which may be up to four hours old.
"""

from __future__ import annotations

import csv
import datetime
import io
import time
import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._audit import isoformat, utcnow
from ansible_collections.keyturn.aws.plugins.module_utils._connection import aws_call_errors
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import KeyturnError, ValidationError, error_code, translate_aws_error
from ansible_collections.keyturn.aws.plugins.module_utils._iam_keys import IamKey, call, list_keys, parse_time, set_status
from ansible_collections.keyturn.aws.plugins.module_utils._options import argument_spec
from ansible_collections.keyturn.aws.plugins.module_utils._partitions import resolve
from ansible_collections.keyturn.aws.plugins.module_utils._rotation import RECORD_KIND, record_key_id
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import StagedRecord, StoreError
from ansible_collections.keyturn.aws.plugins.module_utils._stores import STORE_SPEC
from ansible_collections.keyturn.aws.plugins.module_utils._targets import default_store_name
from ansible_collections.keyturn.aws.plugins.module_utils._task import TASK_SPEC, TaskEnv, open_task

ROOT_ROW = "<root_account>"
ROOT_SUBJECT = ROOT_ROW
AWS_REGENERATION_LIMIT = 4 * 3600  # GenerateCredentialReport returns the existing report while it is younger
REMEDIATIONS = ["unused_keys", "extra_active_keys"]
# Values the report uses instead of a date.
NOT_A_DATE = frozenset(("N/A", "no_information", "not_supported", ""))

CONTROLS: t.Dict[str, str] = {
    "CIS 1.4": "No access key exists for the root user",
    "CIS 1.5": "MFA is enabled for the root user",
    "CIS 1.6": "Hardware MFA is enabled for the root user",
    "CIS 1.12": "Credentials unused for {unused_days} days or more are disabled",
    "CIS 1.13": "There is only one active access key for any single IAM user",
    "CIS 1.14": "Access keys are rotated every {max_age_days} days or less",
    "keyturn.unmanaged": "Every active access key is managed by the store",
    "keyturn.store_drift": "Every store record names an access key that exists",
}
CONTROL_ORDER = tuple(CONTROLS)

REPORT_SPEC: t.Dict[str, t.Dict[str, t.Any]] = {
    "max_report_age": {"type": "int", "default": AWS_REGENERATION_LIMIT},
    "report_timeout": {"type": "int", "default": 300},
    "unused_days": {"type": "int", "default": 45},
    "max_age_days": {"type": "int", "default": 90},
    # user_filter (path_prefix, tags, groups, ...) is added by the estate work (wave/c-estate); see select_rows().
    **{k: v for k, v in TASK_SPEC.items() if k not in ("store", "lock_timeout", "audit_log")},
    "store": {"type": "dict", "options": STORE_SPEC},
}
ARGUMENT_SPEC = argument_spec(REPORT_SPEC)
REMEDIATE_ARGUMENT_SPEC = argument_spec(
    {
        **REPORT_SPEC,
        "store": {"type": "dict", "options": STORE_SPEC, "required": True},
        "remediate": {"type": "list", "elements": "str", "choices": REMEDIATIONS, "required": True},
        "audit_log": {"type": "path"},
    }
)

DATA_LIMITS = (
    "IAM records last use with a delay of up to about 4 hours and only for successful, signed requests; "
    "access key use is tracked since 2015-04-22 and password use since 2014-10-20"
)


# -- the report --------------------------------------------------------------------------------------------------------
def report_age_note(generated: datetime.datetime, now: datetime.datetime, reused: bool) -> str:
    minutes = max(0, int((now - generated).total_seconds() // 60))
    age = f"{minutes} min" if minutes < 120 else f"{minutes / 60:.1f} h"
    how = "reused (younger than max_report_age)" if reused else "generated for this run"
    return (f"IAM credential report of {isoformat(generated)} ({age} old, {how}; AWS makes a new one at most every "
            f"4 hours, so changes after that time are not in it)")


def _get_report(iam: t.Any) -> t.Optional[t.Dict[str, t.Any]]:
    """The stored report, or None when there is none (yet) or it expired."""
    try:
        data = iam.get_credential_report()
    except aws_call_errors() as exc:
        if error_code(exc) in ("ReportNotPresent", "ReportExpired", "ReportInProgress"):
            return None
        raise translate_aws_error(exc, "reading the IAM credential report")
    content = data.get("Content") or b""
    text = content.decode("utf-8") if isinstance(content, (bytes, bytearray)) else str(content)
    generated = data.get("GeneratedTime")
    if isinstance(generated, str):
        generated = parse_time(generated)
    if isinstance(generated, datetime.datetime) and generated.tzinfo is None:
        generated = generated.replace(tzinfo=datetime.timezone.utc)
    return {"content": text, "generated": generated}


def fetch_report(iam: t.Any, max_report_age: float, timeout: float, *, sleep: t.Callable[[float], None] = time.sleep,
                 clock: t.Callable[[], float] = time.monotonic,
                 now: t.Callable[[], datetime.datetime] = utcnow) -> t.Dict[str, t.Any]:
    """The credential report: reused when younger than ``max_report_age`` seconds, otherwise
    GenerateCredentialReport polled until COMPLETE (``timeout`` seconds at most)."""
    existing = _get_report(iam)
    if existing and existing["generated"] and (now() - existing["generated"]).total_seconds() <= max_report_age:
        existing["reused"] = True
        return existing
    deadline = clock() + timeout
    interval = 1.0
    polls = 0
    while True:
        polls += 1
        state = call("generating the IAM credential report", iam.generate_credential_report).get("State")
        if state == "COMPLETE":
            report = _get_report(iam)
            if report is not None:
                report["reused"] = False
                report["polls"] = polls
                if report["generated"] is None:
                    report["generated"] = now()
                return report
        if clock() + interval > deadline:
            raise KeyturnError(f"IAM did not finish the credential report within {timeout:g} seconds (state {state} after "
                               f"{polls} polls); try again later or raise report_timeout")
        sleep(interval)
        interval = min(interval * 2, 10.0)


def parse_date(value: t.Optional[str]) -> t.Optional[datetime.datetime]:
    """A report date (ISO 8601) or None for N/A, no_information, not_supported and empty cells."""
    if value is None or value.strip() in NOT_A_DATE:
        return None
    return parse_time(value.strip())


def _flag(value: t.Optional[str]) -> t.Optional[bool]:
    text = (value or "").strip().lower()
    if text == "true":
        return True
    if text == "false":
        return False
    return None  # not_supported (root's password_enabled), N/A


def _text(value: t.Optional[str]) -> t.Optional[str]:
    text = (value or "").strip()
    return None if text in NOT_A_DATE else text


def _days(moment: t.Optional[datetime.datetime], now: datetime.datetime) -> t.Optional[float]:
    return None if moment is None else round((now - moment).total_seconds() / 86400.0, 1)


def _iso(moment: t.Optional[datetime.datetime]) -> t.Optional[str]:
    return None if moment is None else isoformat(moment)


def parse_report(content: str, now: datetime.datetime) -> t.List[t.Dict[str, t.Any]]:
    """The CSV as typed rows: booleans, ISO dates (None where the report says N/A and the like), ages in days.

    A key slot with no ``last_rotated`` date holds no key and is left out of ``access_keys``."""
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    missing = {"user", "arn", "mfa_active", "access_key_1_active", "access_key_1_last_rotated"} - set(reader.fieldnames or [])
    if missing:
        raise KeyturnError(f"the IAM credential report lacks the columns {sorted(missing)}; got {reader.fieldnames}")
    rows: t.List[t.Dict[str, t.Any]] = []
    for raw in reader:
        name = (raw.get("user") or "").strip()
        if not name:
            continue
        created = parse_date(raw.get("user_creation_time"))
        password_enabled = _flag(raw.get("password_enabled"))
        password_used = parse_date(raw.get("password_last_used"))
        row: t.Dict[str, t.Any] = {
            "user_name": name,
            "root": name == ROOT_ROW,
            "arn": (raw.get("arn") or "").strip(),
            "created": _iso(created),
            "password_enabled": password_enabled,
            "password_last_used": _iso(password_used),
            "password_last_used_days": _days(password_used, now),
            "password_last_changed": _iso(parse_date(raw.get("password_last_changed"))),
            "password_next_rotation": _iso(parse_date(raw.get("password_next_rotation"))),
            "mfa_active": bool(_flag(raw.get("mfa_active"))),
            "access_keys": [],
            "certificates": [],
        }
        for slot in (1, 2):
            prefix = f"access_key_{slot}_"
            rotated = parse_date(raw.get(prefix + "last_rotated"))
            if rotated is None:
                continue
            used = parse_date(raw.get(prefix + "last_used_date"))
            row["access_keys"].append({
                "slot": slot,
                "access_key_id": None,
                "active": bool(_flag(raw.get(prefix + "active"))),
                "last_rotated": _iso(rotated),
                "age_days": _days(rotated, now),
                "last_used_date": _iso(used),
                "last_used_days": _days(used, now),
                "last_used_region": _text(raw.get(prefix + "last_used_region")),
                "last_used_service": _text(raw.get(prefix + "last_used_service")),
            })
        for slot in (1, 2):
            rotated = parse_date(raw.get(f"cert_{slot}_last_rotated"))
            if rotated is not None:
                row["certificates"].append({"slot": slot, "active": bool(_flag(raw.get(f"cert_{slot}_active"))),
                                            "last_rotated": _iso(rotated)})
        rows.append(row)
    return rows


def select_rows(rows: t.List[t.Dict[str, t.Any]], params: t.Mapping[str, t.Any]) -> t.List[t.Dict[str, t.Any]]:
    """The IAM user rows the task looks at.  ``user_filter`` (path_prefix, tags, groups; wave/c-estate)
    narrows them here; the root row is never filtered out (it is checked through GetAccountSummary)."""
    del params
    return rows


def match_key_ids(row: t.Dict[str, t.Any], live: t.Sequence[IamKey]) -> None:
    """Put the access key id on each report slot whose last_rotated is the key's CreateDate (second precision)."""
    taken: t.Set[str] = set()
    for slot in row["access_keys"]:
        rotated = parse_time(slot["last_rotated"])
        for key in live:
            if key.access_key_id in taken or rotated is None:
                continue
            if abs((key.created - rotated).total_seconds()) < 1.5:
                slot["access_key_id"] = key.access_key_id
                taken.add(key.access_key_id)
                break


# -- the controls ----------------------------------------------------------------------------------------------------
def finding(control: str, passed: bool, subject: str, detail: str, *, unused_days: int = 45, max_age_days: int = 90,
            **extra: t.Any) -> t.Dict[str, t.Any]:
    title = CONTROLS[control].format(unused_days=unused_days, max_age_days=max_age_days)
    item = {"control": control, "title": title, "status": "pass" if passed else "fail",
            "subject": subject, "detail": detail}
    item.update({k: v for k, v in extra.items() if v is not None})
    return item


def root_findings(summary: t.Mapping[str, t.Any], virtual_devices: t.Sequence[t.Mapping[str, t.Any]],
                  root_arn: str, root_row: t.Optional[t.Mapping[str, t.Any]]) -> t.List[t.Dict[str, t.Any]]:
    """CIS 1.4, 1.5, 1.6 from GetAccountSummary (authoritative) and ListVirtualMFADevices (Assigned)."""
    keys_present = int(summary.get("AccountAccessKeysPresent") or 0)
    mfa_enabled = int(summary.get("AccountMFAEnabled") or 0)
    virtual = [d for d in virtual_devices if _is_root_device(d, root_arn)]
    out = []
    row_note = ""
    if root_row is not None:
        active = sum(1 for k in root_row.get("access_keys") or [] if k.get("active"))
        row_note = f"; the report's {ROOT_ROW} row shows {active} active root key(s)"
    out.append(finding(
        "CIS 1.4", keys_present == 0, ROOT_SUBJECT,
        ("no access key exists for the root user (GetAccountSummary AccountAccessKeysPresent=0)" if keys_present == 0
         else "the root user has access keys (GetAccountSummary AccountAccessKeysPresent=1): delete them as the root "
              "user in the console; keyturn never touches root") + row_note))
    out.append(finding(
        "CIS 1.5", mfa_enabled == 1, ROOT_SUBJECT,
        "MFA is enabled for the root user (GetAccountSummary AccountMFAEnabled=1)" if mfa_enabled == 1
        else "the root user has no MFA (GetAccountSummary AccountMFAEnabled=0)"))
    if mfa_enabled != 1:
        detail, passed = "the root user has no MFA at all, so no hardware MFA either", False
    elif virtual:
        serials = ", ".join(str(d.get("SerialNumber")) for d in virtual)
        detail, passed = f"the root user's MFA is a virtual device ({serials}); CIS 1.6 asks for a hardware device", False
    else:
        detail, passed = ("root MFA is enabled and no virtual MFA device is assigned to root, so it is a hardware device "
                          "(a FIDO security key or a hardware TOTP token; IAM does not say which)"), True
    out.append(finding("CIS 1.6", passed, ROOT_SUBJECT, detail))
    return out


def _is_root_device(device: t.Mapping[str, t.Any], root_arn: str) -> bool:
    user = device.get("User") or {}
    if isinstance(user, t.Mapping) and str(user.get("Arn") or "") == root_arn:
        return True
    return str(device.get("SerialNumber") or "").endswith(":mfa/root-account-mfa-device")


def _key_label(key: t.Mapping[str, t.Any]) -> str:
    return str(key.get("access_key_id") or f"access key {key.get('slot')}")


def unused_findings(row: t.Mapping[str, t.Any], unused_days: int) -> t.Dict[str, t.Any]:
    """CIS 1.12: an enabled password or an active key unused for ``unused_days`` or more (never used and at least
    that old counts as unused)."""
    stale: t.List[str] = []
    keys: t.List[str] = []
    if row.get("password_enabled"):
        used = row.get("password_last_used_days")
        if used is not None and used >= unused_days:
            stale.append(f"password last used {used:g} days ago")
        elif used is None:
            stale.append("password never used (or not since IAM began tracking)")
    for key in row.get("access_keys") or []:
        if not key.get("active"):
            continue
        used = key.get("last_used_days")
        age = key.get("age_days") or 0.0
        if used is not None and used >= unused_days:
            stale.append(f"{_key_label(key)} last used {used:g} days ago")
        elif used is None and age >= unused_days:
            stale.append(f"{_key_label(key)} never used in its {age:g} days")
        else:
            continue
        if key.get("access_key_id"):
            keys.append(str(key["access_key_id"]))
    if stale:
        return finding("CIS 1.12", False, row["user_name"], f"unused {unused_days}+ days: " + "; ".join(stale),
                       access_key_ids=keys or None, unused_days=unused_days)
    return finding("CIS 1.12", True, row["user_name"], f"every enabled credential was used within {unused_days} days "
                   "or is younger than that", unused_days=unused_days)


def one_active_finding(row: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """CIS 1.13: at most one active access key."""
    active = [k for k in row.get("access_keys") or [] if k.get("active")]
    if len(active) > 1:
        ids = [str(k["access_key_id"]) for k in active if k.get("access_key_id")]
        return finding("CIS 1.13", False, row["user_name"],
                       f"{len(active)} active access keys: " + ", ".join(_key_label(k) for k in active),
                       access_key_ids=ids or None)
    return finding("CIS 1.13", True, row["user_name"], f"{len(active)} active access key(s)")


def rotated_finding(row: t.Mapping[str, t.Any], max_age_days: int) -> t.Dict[str, t.Any]:
    """CIS 1.14: every active access key younger than ``max_age_days``."""
    active = [k for k in row.get("access_keys") or [] if k.get("active")]
    old = [k for k in active if (k.get("age_days") or 0.0) >= max_age_days]
    if old:
        ids = [str(k["access_key_id"]) for k in old if k.get("access_key_id")]
        return finding("CIS 1.14", False, row["user_name"], "not rotated within "
                       f"{max_age_days} days: " + ", ".join(f"{_key_label(k)} is {k.get('age_days'):g} days old" for k in old),
                       access_key_ids=ids or None, max_age_days=max_age_days)
    if not active:
        return finding("CIS 1.14", True, row["user_name"], "no active access key", max_age_days=max_age_days)
    return finding("CIS 1.14", True, row["user_name"], "every active key is younger than "
                   f"{max_age_days} days (oldest {max(k.get('age_days') or 0.0 for k in active):g})",
                   max_age_days=max_age_days)


def unmanaged_finding(user: str, live: t.Sequence[IamKey], record: t.Optional[StagedRecord],
                      store_name: str) -> t.Dict[str, t.Any]:
    """keyturn.unmanaged: an Active key that no stage of the user's store record names (live ListAccessKeys)."""
    known = _record_ids(record)
    unknown = [k.access_key_id for k in live if k.status == "Active" and k.access_key_id not in known]
    if unknown:
        return finding("keyturn.unmanaged", False, user,
                       f"active key(s) {', '.join(unknown)} not in the store record {store_name}: onboard them "
                       "(access_key_rotate with import_credentials) or deactivate them", access_key_ids=unknown)
    if any(k.status == "Active" for k in live):
        return finding("keyturn.unmanaged", True, user, f"every active key is in the store record {store_name}")
    return finding("keyturn.unmanaged", True, user, "no active key")


def _record_ids(record: t.Optional[StagedRecord]) -> t.Set[str]:
    if record is None:
        return set()
    return {i for i in (record_key_id(record.current), record_key_id(record.pending), record_key_id(record.previous)) if i}


def drift_finding(user: str, live: t.Optional[t.Sequence[IamKey]], record: t.Optional[StagedRecord],
                  store_name: str) -> t.Optional[t.Dict[str, t.Any]]:
    """keyturn.store_drift: the record's current key must exist (None when the store has no record)."""
    if record is None or record.current is None or record.current.get("kind", RECORD_KIND) != RECORD_KIND:
        return None
    current = record_key_id(record.current)
    if live is None:
        return finding("keyturn.store_drift", False, user,
                       f"store record {store_name} names key {current}, but the user no longer exists", access_key_ids=[current] if current else None)
    ids = {k.access_key_id for k in live}
    if current not in ids:
        return finding("keyturn.store_drift", False, user,
                       f"store record {store_name} names key {current}, which no longer exists in IAM: repair it with "
                       "access_key_reconcile", access_key_ids=[current] if current else None)
    status = next(k.status for k in live if k.access_key_id == current)
    if status != "Active":
        return finding("keyturn.store_drift", False, user,
                       f"store record {store_name} names key {current}, which is {status}", access_key_ids=[current])
    return finding("keyturn.store_drift", True, user, f"store record {store_name} names the active key {current}")


def evaluate(rows: t.Sequence[t.Dict[str, t.Any]], *, unused_days: int, max_age_days: int,
             root: t.Optional[t.List[t.Dict[str, t.Any]]] = None,
             live: t.Optional[t.Mapping[str, t.Sequence[IamKey]]] = None,
             records: t.Optional[t.Mapping[str, t.Tuple[str, t.Optional[StagedRecord]]]] = None,
             orphan_records: t.Sequence[t.Tuple[str, str, StagedRecord]] = (),
             note: str = "") -> t.List[t.Dict[str, t.Any]]:
    """Every finding: root controls first, then per IAM user in report order, then records without a user.

    ``live`` maps user -> live keys (ListAccessKeys); ``records`` maps user -> (store name, record) when a store is
    given; ``orphan_records`` are (user, store name, record) for records whose user is not in the report."""
    out = list(root or [])
    for row in rows:
        if row.get("root"):
            continue
        user = row["user_name"]
        out.append(unused_findings(row, unused_days))
        out.append(one_active_finding(row))
        out.append(rotated_finding(row, max_age_days))
        if records is not None:
            store_name, record = records.get(user, (default_store_name("", user), None))
            keys = (live or {}).get(user, [])
            out.append(unmanaged_finding(user, keys, record, store_name))
            drift = drift_finding(user, keys, record, store_name)
            if drift is not None:
                out.append(drift)
    for user, store_name, record in orphan_records:
        drift = drift_finding(user, None, record, store_name)
        if drift is not None:
            out.append(drift)
    if note:
        for item in out:
            if item["control"] in ("CIS 1.12", "CIS 1.13", "CIS 1.14"):
                item["detail"] = f"{item['detail']} [{note}]"
    return out


def summarize_findings(findings: t.Sequence[t.Mapping[str, t.Any]]) -> t.Dict[str, t.Any]:
    controls: t.Dict[str, t.Dict[str, t.Any]] = {}
    for item in findings:
        entry = controls.setdefault(item["control"], {"title": item["title"], "pass": 0, "fail": 0})
        entry[item["status"]] += 1
    return {"pass": sum(1 for f in findings if f["status"] == "pass"),
            "fail": sum(1 for f in findings if f["status"] == "fail"),
            "controls": {c: controls[c] for c in CONTROL_ORDER if c in controls}}


# -- remediation -------------------------------------------------------------------------------------------------------
def plan_user(user: str, live: t.Sequence[IamKey], last_used: t.Mapping[str, t.Optional[datetime.datetime]],
              record: t.Optional[StagedRecord], remediate: t.Sequence[str], unused_days: int,
              now: datetime.datetime) -> t.List[t.Dict[str, t.Any]]:
    """Deactivations for one IAM user from live data.  ``last_used`` maps key id -> last use (None: never).

    * ``unused_keys`` (CIS 1.12): an Active key no stage of the store record names, unused for ``unused_days``
      or more (never used and at least that old counts).
    * ``extra_active_keys`` (CIS 1.13): with two Active keys and the record's current key one of them, the other
      one, unless the record names it as pending or previous (keyturn's rotation retires those itself).
    """
    if user == ROOT_ROW:
        return []
    known = _record_ids(record)
    actions: t.List[t.Dict[str, t.Any]] = []
    active = [k for k in live if k.status == "Active"]
    if "unused_keys" in remediate:
        for key in active:
            if key.access_key_id in known:
                continue
            used = last_used.get(key.access_key_id)
            age = key.age_days(now)
            if used is not None:
                idle = (now - used).total_seconds() / 86400.0
                if idle < unused_days:
                    continue
                why = f"not managed by the store and last used {idle:.0f} days ago (CIS 1.12, unused_days {unused_days})"
            elif age >= unused_days:
                why = f"not managed by the store and never used in its {age:.0f} days (CIS 1.12, unused_days {unused_days})"
            else:
                continue
            actions.append({"user_name": user, "access_key_id": key.access_key_id, "control": "CIS 1.12",
                            "action": "deactivate", "reason": why})
    if "extra_active_keys" in remediate and len(active) > 1 and record is not None:
        current = record_key_id(record.current)
        if current and any(k.access_key_id == current for k in active):
            keep = {current, record_key_id(record.pending), record_key_id(record.previous)}
            planned = {a["access_key_id"] for a in actions}
            for key in active:
                if key.access_key_id in keep or key.access_key_id in planned:
                    continue
                used = last_used.get(key.access_key_id)
                seen = f"last used {isoformat(used)}" if used else "never used"
                actions.append({"user_name": user, "access_key_id": key.access_key_id, "control": "CIS 1.13",
                                "action": "deactivate",
                                "reason": f"second active key; the store's current key is {current} ({seen})"})
    return actions


def _last_used(iam: t.Any, key_id: str) -> t.Optional[datetime.datetime]:
    data = call(f"reading when {key_id} was last used", iam.get_access_key_last_used, AccessKeyId=key_id)
    date = (data.get("AccessKeyLastUsed") or {}).get("LastUsedDate")
    if isinstance(date, datetime.datetime):
        return date if date.tzinfo else date.replace(tzinfo=datetime.timezone.utc)
    return parse_time(date) if isinstance(date, str) else None


# -- the task ----------------------------------------------------------------------------------------------------------
def _check_params(params: t.Mapping[str, t.Any]) -> None:
    for name, low in (("unused_days", 1), ("max_age_days", 1), ("max_report_age", 0), ("report_timeout", 1)):
        value = params.get(name)
        if value is not None and value < low:
            raise ValidationError(f"{name} must be {low} or more, got {value}")
    remediate = params.get("remediate")
    if remediate is not None:
        if not remediate:
            raise ValidationError(f"remediate must list at least one of {', '.join(REMEDIATIONS)} (use "
                                  "keyturn.aws.credential_report_info to only read the posture)")
        if len(set(remediate)) != len(remediate):
            raise ValidationError("remediate lists the same remediation twice")


def _read_record(task: TaskEnv, name: str) -> t.Optional[StagedRecord]:
    try:
        record = task.require_store().read(name)
    except StoreError as exc:
        raise KeyturnError(f"reading store record {name}: {exc}")
    return None if record.empty else record


def _orphans(task: TaskEnv, known_users: t.Set[str]) -> t.List[t.Tuple[str, str, StagedRecord]]:
    """Store records ``<account_id>/<user>`` of this account whose user is not in the report."""
    prefix = f"{task.account_id}/"
    out = []
    try:
        names = task.require_store().names()
    except StoreError as exc:
        raise KeyturnError(f"listing the store's records: {exc}")
    for name in names:
        if not name.startswith(prefix) or "/" in name[len(prefix):]:
            continue
        user = name[len(prefix):]
        if user in known_users:
            continue
        record = _read_record(task, name)
        if record is not None and record.current is not None and record.current.get("kind") == RECORD_KIND:
            out.append((user, name, record))
    return out


def posture(params: t.Dict[str, t.Any], ctx: RunContext, task: TaskEnv,
            sleep: t.Callable[[float], None] = time.sleep) -> t.Dict[str, t.Any]:
    iam = task.conn.client("iam")
    now = utcnow()
    report = fetch_report(iam, float(params["max_report_age"]), float(params["report_timeout"]), sleep=sleep)
    generated = report["generated"]
    note = report_age_note(generated, now, report["reused"])
    if (now - generated).total_seconds() > params["max_report_age"]:
        ctx.warn(f"the credential report is older than max_report_age ({params['max_report_age']} s): {note}")
    rows = parse_report(report["content"], now)
    root_row = next((r for r in rows if r["root"]), None)
    users = select_rows([r for r in rows if not r["root"]], params)
    summary = call("reading the account summary", iam.get_account_summary).get("SummaryMap", {})
    devices: t.List[t.Mapping[str, t.Any]] = []
    for page in iam.get_paginator("list_virtual_mfa_devices").paginate(AssignmentStatus="Assigned"):
        devices.extend(page.get("VirtualMFADevices", []))
    info = resolve(task.conn.region)
    root_arn = info.arn("iam", task.account_id, "root")
    root = root_findings(summary, devices, root_arn, root_row)

    with_keys = [r for r in users if r["access_keys"]]
    live_list = task.map(lambda row: {"user": row["user_name"], "keys": list_keys(iam, row["user_name"])}, with_keys)
    live: t.Dict[str, t.List[IamKey]] = {item["user"]: item["keys"] for item in live_list}
    for row in with_keys:
        match_key_ids(row, live[row["user_name"]])
    records: t.Optional[t.Dict[str, t.Tuple[str, t.Optional[StagedRecord]]]] = None
    orphans: t.List[t.Tuple[str, str, StagedRecord]] = []
    if task.store is not None:
        names = {r["user_name"]: default_store_name(task.account_id, r["user_name"]) for r in users}
        read = task.map(lambda user: {"user": user, "record": _read_record(task, names[user])}, list(names))
        records = {item["user"]: (names[item["user"]], item["record"]) for item in read}
        orphans = _orphans(task, {r["user_name"] for r in rows})
    findings = evaluate(users, unused_days=params["unused_days"], max_age_days=params["max_age_days"], root=root,
                        live=live, records=records, orphan_records=orphans, note=note)
    return {
        "changed": False,
        "account_id": task.account_id,
        "partition": task.partition,
        "report": {"generated_time": isoformat(generated), "age_seconds": int((now - generated).total_seconds()),
                   "reused": report["reused"], "note": note, "data_limits": DATA_LIMITS},
        "root": {"access_keys_present": bool(int(summary.get("AccountAccessKeysPresent") or 0)),
                 "mfa_enabled": bool(int(summary.get("AccountMFAEnabled") or 0)),
                 "virtual_mfa": any(_is_root_device(d, root_arn) for d in devices),
                 "arn": root_arn, "in_report": root_row is not None},
        "users": users,
        "findings": findings,
        "summary": summarize_findings(findings),
        "_live": live,
        "_records": records,
    }


def run(params: t.Dict[str, t.Any], ctx: RunContext) -> t.Dict[str, t.Any]:
    _check_params(params)
    task = open_task(params, ctx, need_store=bool(params.get("store")))
    out = posture(params, ctx, task)
    out.pop("_live")
    out.pop("_records")
    fails = out["summary"]["fail"]
    out["msg"] = f"{len(out['findings'])} findings, {fails} failing"
    return out


def run_remediate(params: t.Dict[str, t.Any], ctx: RunContext) -> t.Dict[str, t.Any]:
    _check_params(params)
    task = open_task(params, ctx, need_store=True)
    out = posture(params, ctx, task)
    live: t.Dict[str, t.List[IamKey]] = out.pop("_live")
    records: t.Dict[str, t.Tuple[str, t.Optional[StagedRecord]]] = out.pop("_records") or {}
    iam = task.conn.client("iam")
    remediate = list(params["remediate"])
    now = utcnow()
    failing = {f["subject"] for f in out["findings"]
               if f["status"] == "fail" and f["control"] in ("CIS 1.12", "CIS 1.13", "keyturn.unmanaged")}

    def plan_for(user: str) -> t.Dict[str, t.Any]:
        keys = list_keys(iam, user)  # live: the report may be hours old
        used = {k.access_key_id: _last_used(iam, k.access_key_id) for k in keys if k.status == "Active"}
        record = records.get(user, ("", None))[1]
        return {"user": user, "keys": keys, "actions": plan_user(user, keys, used, record, remediate,
                                                                 params["unused_days"], now)}

    candidates = [u for u in live if u in failing]
    plans = task.map(plan_for, candidates)
    actions = [{"account_id": task.account_id, **a} for p in plans for a in p["actions"]]
    done: t.List[t.Dict[str, t.Any]] = []
    errors: t.List[str] = []
    if not ctx.check_mode:
        for action in actions:
            try:
                set_status(iam, action["user_name"], action["access_key_id"], "Inactive")
            except KeyturnError as exc:
                errors.append(exc.msg)
                task.audit.event("credential_remediation_failed", account_id=task.account_id, partition=task.partition,
                                 user_name=action["user_name"], access_key_id=action["access_key_id"],
                                 control=action["control"], reason=exc.msg, run_id=task.run_id)
                continue
            done.append(action)
            task.audit.event("access_key_deactivated", account_id=task.account_id, partition=task.partition,
                             user_name=action["user_name"], access_key_id=action["access_key_id"],
                             control=action["control"], reason=action["reason"], run_id=task.run_id)
    out["plan"] = actions
    out["remediated"] = done
    out["changed"] = bool(actions) if ctx.check_mode else bool(done)
    if ctx.diff:
        before = {f"{p['user']}/{k.access_key_id}": k.status for p in plans for k in p["keys"]
                  if any(a["access_key_id"] == k.access_key_id for a in p["actions"])}
        out["diff"] = {"before": before, "after": {name: "Inactive" for name in before}}
    verb = "would deactivate" if ctx.check_mode else "deactivated"
    out["msg"] = f"{verb} {len(actions) if ctx.check_mode else len(done)} access key(s) ({', '.join(remediate)})"
    if errors:
        out.update(failed=True, msg=f"{out['msg']}; {len(errors)} failed: " + "; ".join(errors[:5]))
    return out
