# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine of keyturn.aws.access_key_info: every key of every user.  Read-only."""

from __future__ import annotations

import re
import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._audit import isoformat
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._iam_keys import call, list_keys, paginate
from ansible_collections.keyturn.aws.plugins.module_utils._options import argument_spec
from ansible_collections.keyturn.aws.plugins.module_utils._rotation import record_key_id
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import StoreError
from ansible_collections.keyturn.aws.plugins.module_utils._stores import STORE_SPEC
from ansible_collections.keyturn.aws.plugins.module_utils._targets import default_store_name
from ansible_collections.keyturn.aws.plugins.module_utils._task import TASK_SPEC, TaskEnv, open_task
from ansible_collections.keyturn.aws.plugins.module_utils._user_filter import USER_FILTER_OPTION, parse_user_filter, resolve_users
from ansible_collections.keyturn.aws.plugins.module_utils._validate import check_user_name

_PATH_PREFIX = re.compile(r"^/(?:[\x21-\x7e]{0,510}/)?$")

ARGUMENT_SPEC = argument_spec(
    {
        "users": {"type": "list", "elements": "str"},
        "path_prefix": {"type": "str", "default": "/"},
        "user_filter": USER_FILTER_OPTION,
        "max_age_days": {"type": "int", "default": 90},
        "last_used": {"type": "bool", "default": True},
        "allow_missing_store": {"type": "bool", "default": False},
        **{k: v for k, v in TASK_SPEC.items() if k not in ("store", "lock_timeout", "audit_log")},
        "store": {"type": "dict", "options": STORE_SPEC},
    }
)


def check_path_prefix(value: t.Any, option: str = "path_prefix") -> str:
    """An IAM path prefix: starts and ends with '/', printable ASCII, at most 512 characters
    (IAM refuses anything else, and a prefix without its slashes silently matches no user)."""
    text = "/" if value is None else str(value)
    if not _PATH_PREFIX.match(text):
        raise ValidationError(
            f"{option} must be an IAM path that starts and ends with '/' (for example / or /division/team/; "
            f"at most 512 printable ASCII characters, no spaces), got {text[:60]!r}"
        )
    return text


def all_users(iam: t.Any, path_prefix: str) -> t.List[str]:
    users = paginate(iam, "list_users", "Users", f"listing the IAM users under {path_prefix}", PathPrefix=path_prefix)
    return [user["UserName"] for user in users]


def describe_user(task: TaskEnv, user: str, params: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    iam = task.conn.client("iam")
    max_age = params["max_age_days"]
    managed_ids: t.Optional[t.Set[t.Optional[str]]] = None
    store_name = default_store_name(task.account_id, user)
    out: t.Dict[str, t.Any] = {"user_name": user, "keys": [], "store_name": store_name if task.store else None}
    if task.store is not None:
        try:
            staged = task.store.read(store_name)
            managed_ids = {record_key_id(staged.current), record_key_id(staged.previous), record_key_id(staged.pending)}
        except StoreError as exc:
            out["store_error"] = str(exc)
    for key in list_keys(iam, user):
        age = key.age_days()
        item: t.Dict[str, t.Any] = {
            "access_key_id": key.access_key_id,
            "status": key.status,
            "created": isoformat(key.created),
            "age_days": round(age, 1),
            "due": age >= max_age,
            "managed": None if managed_ids is None else key.access_key_id in managed_ids,
        }
        if params.get("last_used"):
            used = call(f"reading when {key.access_key_id} was last used", iam.get_access_key_last_used,
                        AccessKeyId=key.access_key_id).get("AccessKeyLastUsed", {})
            date = used.get("LastUsedDate")
            item["last_used"] = {
                "date": isoformat(date) if date else None,
                "service": used.get("ServiceName") if used.get("ServiceName") not in (None, "N/A") else None,
                "region": used.get("Region") if used.get("Region") not in (None, "N/A") else None,
            }
        out["keys"].append(item)
    return out


def run(params: t.Dict[str, t.Any], ctx: RunContext) -> t.Dict[str, t.Any]:
    if params.get("max_age_days") is not None and params["max_age_days"] < 0:
        raise ValidationError(f"max_age_days must be 0 or more, got {params['max_age_days']}")
    check_path_prefix(params.get("path_prefix"))
    users = params.get("users")
    if users is not None:
        if not users:
            raise ValidationError("users, when given, must list at least one user (omit it to list every user)")
        for name in users:
            check_user_name(name, "users entry")
        if len(set(users)) != len(users):
            raise ValidationError("users lists the same user twice")
    spec = parse_user_filter(params.get("user_filter"))
    task = open_task(params, ctx, need_store=bool(params.get("store")), store_must_exist=not params.get("allow_missing_store"))
    selection = None
    if spec is not None:
        names, selection = resolve_users(task, params, spec)
    else:
        names = list(users) if users else all_users(task.conn.client("iam"), params["path_prefix"])
    results = task.map(lambda user: describe_user(task, user, params), names)
    keys = [k for r in results for k in r["keys"]]
    summary = {
        "users": len(results),
        "users_without_keys": sum(1 for r in results if not r["keys"]),
        "keys": len(keys),
        "active": sum(1 for k in keys if k["status"] == "Active"),
        "inactive": sum(1 for k in keys if k["status"] != "Active"),
        "due": sum(1 for k in keys if k["due"]),
        "managed": sum(1 for k in keys if k["managed"]),
        "unmanaged": sum(1 for k in keys if k["managed"] is False),
        "never_used": sum(1 for k in keys if k.get("last_used") and not k["last_used"]["date"]),
    }
    out = {"changed": False, "users": results, "summary": summary, "account_id": task.account_id,
           "account_alias": task.account_alias(), "partition": task.partition}
    if selection is not None:
        out["selection"] = selection
    return out
