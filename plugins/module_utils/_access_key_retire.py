# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine of keyturn.aws.access_key_retire: deactivate one access key now, delete it later.

``state: inactive`` sets the key Inactive.  ``state: absent`` deletes it, but only once it has been
Inactive for ``delete_after`` seconds (an Active key is deactivated first; 0 deletes at once).  IAM
keeps no deactivation time, so it is recorded as the user tag ``keyturn:inactive-since:<key id>``
(ISO 8601, UTC) and removed with the key; a key found Inactive without the tag gets it now.

A key that a store record names as its current credential is refused (consumers use it: rotate it
first) unless ``force``.  Every change writes an audit line; check mode reports and changes nothing.
"""

from __future__ import annotations

import datetime
import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._access_key_locate import Finder, owner_of
from ansible_collections.keyturn.aws.plugins.module_utils._audit import isoformat, utcnow
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import KeyturnError, ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._iam_keys import call, delete_key, list_keys, parse_time, set_status
from ansible_collections.keyturn.aws.plugins.module_utils._options import argument_spec
from ansible_collections.keyturn.aws.plugins.module_utils._stores import STORE_SPEC
from ansible_collections.keyturn.aws.plugins.module_utils._targets import default_store_name
from ansible_collections.keyturn.aws.plugins.module_utils._task import TASK_SPEC, open_task
from ansible_collections.keyturn.aws.plugins.module_utils._validate import check_access_key_id, check_user_name

TAG_PREFIX = "keyturn:inactive-since:"
MAX_DELETE_AFTER = 365 * 86400

ARGUMENT_SPEC = argument_spec(
    {
        "access_key_id": {"type": "str", "required": True},
        "user_name": {"type": "str"},
        "state": {"type": "str", "default": "inactive", "choices": ["inactive", "absent"]},
        "delete_after": {"type": "int", "default": 0},
        "force": {"type": "bool", "default": False},
        "reason": {"type": "str"},
        **{k: v for k, v in TASK_SPEC.items() if k in ("account_id", "audit_log")},
        "store": {"type": "dict", "options": STORE_SPEC},
    }
)


def inactive_since(iam: t.Any, user: str, key_id: str) -> t.Optional[datetime.datetime]:
    tags = call(f"reading the tags of {user}", iam.list_user_tags, UserName=user).get("Tags") or []
    value = next((tag.get("Value") for tag in tags if tag.get("Key") == TAG_PREFIX + key_id), None)
    return parse_time(value)


def run(params: t.Dict[str, t.Any], ctx: RunContext) -> t.Dict[str, t.Any]:
    key_id = check_access_key_id(params.get("access_key_id"))
    if params.get("user_name"):
        check_user_name(params["user_name"], "user_name")
    delay = params.get("delete_after") or 0
    if not 0 <= delay <= MAX_DELETE_AFTER:
        raise ValidationError(f"delete_after must be from 0 to {MAX_DELETE_AFTER} seconds (365 days), got {delay}")
    state = params.get("state") or "inactive"
    task = open_task(params, ctx, need_store=bool(params.get("store")))
    iam = task.conn.client("iam")
    user = params.get("user_name")
    if not user:
        user = owner_of(iam, key_id)[0]
    out: t.Dict[str, t.Any] = {"changed": False, "action": "none", "access_key_id": key_id, "user_name": user,
                               "state": state, "status_before": None, "status": None, "inactive_since": None,
                               "delete_at": None, "account_id": task.account_id, "partition": task.partition}
    key = next((k for k in list_keys(iam, user) if k.access_key_id == key_id), None) if user else None
    if key is None:
        out["msg"] = f"access key {key_id} does not exist in account {task.account_id}: nothing to retire"
        return out
    out.update(status_before=key.status, status=key.status)
    if task.store is not None and key.status == "Active" and not params.get("force"):
        finder = Finder(task.store, key_id, t.cast(str, user))
        finder.search([default_store_name(task.account_id, t.cast(str, user))], scan=True)
        if finder.stage == "current":
            raise KeyturnError(
                f"access key {key_id} is the current credential of store record {finder.store_name}; its consumers use "
                "it, so it is not retired alone. Rotate it first (keyturn.aws.access_key_rotate with force), or set "
                "force: true to retire it anyway")
    now = utcnow()
    plan: t.List[str] = []
    since = inactive_since(iam, t.cast(str, user), key_id) if key.status != "Active" else None
    if key.status == "Active":
        plan.append("deactivate")
        since = now
        record_tag = True
    else:
        record_tag = since is None
        since = since or now
    delete_at = since + datetime.timedelta(seconds=delay)
    if state == "absent" and now >= delete_at:
        plan.append("delete")
    elif record_tag:
        plan.append("record the deactivation time")
    out.update(inactive_since=isoformat(since), delete_at=isoformat(delete_at) if state == "absent" else None)
    if "delete" in plan:
        action = "deleted"
    elif "deactivate" in plan:
        action = "deactivated"
    else:
        action = "deferred" if state == "absent" else "none"
    out.update(action=action, changed=bool(plan), plan=plan,
               status="Deleted" if action == "deleted" else "Inactive")
    if ctx.check_mode or not plan:
        out["msg"] = _message(out, ctx.check_mode)
        return out
    if "deactivate" in plan:
        set_status(iam, t.cast(str, user), key_id, "Inactive")
    if "delete" in plan:
        delete_key(iam, t.cast(str, user), key_id)
        call(f"removing the tag of {key_id} from {user}", iam.untag_user, UserName=user, TagKeys=[TAG_PREFIX + key_id])
    elif record_tag:
        call(f"tagging {user} with the deactivation time of {key_id}", iam.tag_user, UserName=user,
             Tags=[{"Key": TAG_PREFIX + key_id, "Value": isoformat(since)}])
    task.audit.event(f"access_key_{action}", run_id=task.run_id, account_id=task.account_id, partition=task.partition,
                     user_name=user, access_key_id=key_id, status_before=key.status, inactive_since=out["inactive_since"],
                     delete_at=out["delete_at"], reason=params.get("reason"))
    out["msg"] = _message(out, False)
    return out


def _message(out: t.Mapping[str, t.Any], check_mode: bool) -> str:
    key, user = out["access_key_id"], out["user_name"]
    would = "would be " if check_mode else ""
    if out["action"] == "deleted":
        return f"access key {key} of {user} {would or 'was '}deleted"
    if out["action"] == "deactivated":
        later = f"; deleted from {out['delete_at']}" if out.get("delete_at") else ""
        return f"access key {key} of {user} {would or 'was '}deactivated{later}"
    if out["action"] == "deferred":
        return f"access key {key} of {user} is Inactive since {out['inactive_since']}; deleted from {out['delete_at']}"
    return f"access key {key} of {user} is already {out['status']}"
