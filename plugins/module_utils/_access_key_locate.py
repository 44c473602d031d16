# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine of keyturn.aws.access_key_locate: who owns access key X, and which store record knows it.  Read-only.

IAM ``GetAccessKeyLastUsed`` names the owning user of any key of the account.  The store is then
searched for the record whose current, previous or pending stage holds the key (the user's default
record ``<account_id>/<user_name>`` first, then, with ``scan_store``, every record), and for the dual
pair the user is a member of.
"""

from __future__ import annotations

import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._audit import isoformat
from ansible_collections.keyturn.aws.plugins.module_utils._connection import aws_call_errors
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError, error_code, translate_aws_error
from ansible_collections.keyturn.aws.plugins.module_utils._iam_keys import list_keys
from ansible_collections.keyturn.aws.plugins.module_utils._options import argument_spec
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import StagedRecord, Store, StoreError, validate_record_name
from ansible_collections.keyturn.aws.plugins.module_utils._stores import STORE_SPEC
from ansible_collections.keyturn.aws.plugins.module_utils._targets import default_store_name
from ansible_collections.keyturn.aws.plugins.module_utils._task import TASK_SPEC, TaskEnv, open_task
from ansible_collections.keyturn.aws.plugins.module_utils._validate import check_access_key_id

PAIR_KIND = "dual_pair"  # the kind of dual_account_swap's pair records
STAGES = ("current", "previous", "pending")

ARGUMENT_SPEC = argument_spec(
    {
        "access_key_id": {"type": "str", "required": True},
        "store_name": {"type": "str"},
        "scan_store": {"type": "bool", "default": True},
        "incident": {"type": "dict"},
        **{k: v for k, v in TASK_SPEC.items() if k in ("account_id", "audit_log")},
        "store": {"type": "dict", "options": STORE_SPEC},
    }
)


def owner_of(iam: t.Any, key_id: str) -> t.Tuple[t.Optional[str], t.Dict[str, t.Any]]:
    """(user name, last use) of ``key_id``; (None, {}) when the account has no such key."""
    try:
        data = iam.get_access_key_last_used(AccessKeyId=key_id)
    except aws_call_errors() as exc:
        if error_code(exc) == "NoSuchEntity":
            return None, {}
        raise translate_aws_error(exc, f"looking up the owner of access key {key_id}")
    used = data.get("AccessKeyLastUsed") or {}
    date = used.get("LastUsedDate")
    last_used = {
        "date": isoformat(date) if date else None,
        "service": used.get("ServiceName") if used.get("ServiceName") not in (None, "N/A") else None,
        "region": used.get("Region") if used.get("Region") not in (None, "N/A") else None,
    }
    return (str(data["UserName"]) if data.get("UserName") else None), last_used


def stage_holding(staged: StagedRecord, key_id: str) -> t.Optional[str]:
    for stage in STAGES:
        record = getattr(staged, stage)
        if isinstance(record, dict) and record.get("access_key_id") == key_id:
            return stage
    return None


class Finder:
    """Searches one store for the record of a key and the pair of its user (reads only)."""

    def __init__(self, store: Store, key_id: str, user: str) -> None:
        self.store, self.key_id, self.user = store, key_id, user
        self.store_name: t.Optional[str] = None
        self.stage: t.Optional[str] = None
        self.pair: t.Optional[t.Dict[str, t.Any]] = None
        self.errors: t.List[str] = []

    def check(self, name: str) -> None:
        try:
            staged = self.store.read(name)
        except StoreError as exc:
            self.errors.append(f"{name}: {exc}")
            return
        stage = stage_holding(staged, self.key_id)
        if stage and self.store_name is None:
            self.store_name, self.stage = name, stage
        current = staged.current
        if (self.pair is None and isinstance(current, dict) and current.get("kind") == PAIR_KIND
                and self.user in (current.get("users") or [])):
            active = current.get("active")
            self.pair = {
                "name": name, "users": list(current.get("users") or []), "active_user": active,
                "inactive_user": current.get("inactive"), "member_active": active == self.user,
                "rotation_pending": bool(current.get("rotation_pending")),
                "member_store_name": dict(current.get("member_names") or {}).get(self.user),
            }

    def search(self, first: t.Sequence[str], scan: bool) -> None:
        for name in first:
            self.check(name)
        if not scan:
            return
        try:
            names = self.store.names()
        except StoreError as exc:
            self.errors.append(str(exc))
            return
        for name in names:
            if name not in first:
                self.check(name)


def log_incident(task: TaskEnv, incident: t.Mapping[str, t.Any], key_id: str) -> None:
    """One audit event ``exposed_key_incident`` (the response's record; the audit log refuses secret-like fields)."""
    fields = {str(k): v for k, v in incident.items() if k not in ("format", "title", "generated_at", "event", "ts")
              and v not in (None, "", [], {})}
    fields["access_key_id"] = key_id
    fields.setdefault("account_id", task.account_id)
    try:
        task.audit.event("exposed_key_incident", run_id=task.run_id, **fields)
    except ValueError as exc:
        raise ValidationError(f"incident: {exc}")


def run(params: t.Dict[str, t.Any], ctx: RunContext) -> t.Dict[str, t.Any]:
    key_id = check_access_key_id(params.get("access_key_id"))
    if params.get("incident") is not None and not params.get("audit_log"):
        raise ValidationError("incident needs audit_log (the file the incident's audit line is appended to)")
    if params.get("store_name"):
        try:
            validate_record_name(params["store_name"])
        except StoreError as exc:
            raise ValidationError(f"store_name: {exc}")
        if not params.get("store"):
            raise ValidationError("store_name needs the store option (the store that holds the record)")
    task = open_task(params, ctx, need_store=bool(params.get("store")))
    if params.get("incident") is not None and not ctx.check_mode:
        log_incident(task, params["incident"], key_id)
    iam = task.conn.client("iam")
    user, last_used = owner_of(iam, key_id)
    out: t.Dict[str, t.Any] = {
        "changed": False, "found": user is not None, "access_key_id": key_id, "user_name": user, "status": None,
        "created": None, "last_used": last_used or None, "managed": None, "store_name": None, "stage": None,
        "pair": None, "account_id": task.account_id, "partition": task.partition,
    }
    if user is None:
        out["msg"] = (f"access key {key_id} does not exist in account {task.account_id} (it was deleted, or it "
                      "belongs to another account)")
        return out
    key = next((k for k in list_keys(iam, user) if k.access_key_id == key_id), None)
    if key is not None:
        out.update(status=key.status, created=isoformat(key.created))
    if task.store is not None:
        finder = Finder(task.store, key_id, user)
        first = [str(params["store_name"])] if params.get("store_name") else [default_store_name(task.account_id, user)]
        finder.search(first, bool(params.get("scan_store", True)))
        if finder.pair and finder.pair.get("member_store_name") and finder.store_name is None:
            finder.check(str(finder.pair["member_store_name"]))
        out.update(managed=finder.store_name is not None, store_name=finder.store_name, stage=finder.stage,
                   pair=finder.pair)
        if finder.errors:
            for error in finder.errors[:5]:
                ctx.warn(f"store record not readable: {error}")
    where = (f"store record {out['store_name']} ({out['stage']})" if out["managed"]
             else "no store record" if out["managed"] is False else "store not searched")
    pair = f", member of pair {out['pair']['name']}" if out["pair"] else ""
    out["msg"] = f"access key {key_id} belongs to {user} ({out['status']}); {where}{pair}"
    return out
