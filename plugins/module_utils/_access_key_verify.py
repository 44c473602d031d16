# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine of keyturn.aws.access_key_verify: does each stored credential work?  Read-only."""

from __future__ import annotations

import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._audit import isoformat, utcnow
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import AwsAccessDenied, KeyturnError
from ansible_collections.keyturn.aws.plugins.module_utils._iam_keys import list_keys, parse_time, verify_key
from ansible_collections.keyturn.aws.plugins.module_utils._options import argument_spec
from ansible_collections.keyturn.aws.plugins.module_utils._rotation import Target, has_secret, record_key_id
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import StoreError
from ansible_collections.keyturn.aws.plugins.module_utils._targets import add_selected, bind_targets, parse_selection
from ansible_collections.keyturn.aws.plugins.module_utils._user_filter import (
    USER_FILTER_OPTION, check_selection_input, nobody, resolve_users)
from ansible_collections.keyturn.aws.plugins.module_utils._task import TASK_SPEC, TaskEnv, open_task, summarize

ARGUMENT_SPEC = argument_spec(
    {
        "users": {"type": "list", "elements": "raw"},
        "user_filter": USER_FILTER_OPTION,
        "max_age_days": {"type": "int", "default": 90},
        "fail_on_invalid": {"type": "bool", "default": False},
        "allow_missing_store": {"type": "bool", "default": False},
        **TASK_SPEC,
    }
)


def verify_user(task: TaskEnv, target: Target) -> t.Dict[str, t.Any]:
    out: t.Dict[str, t.Any] = {"user_name": target.user_name, "store_name": target.store_name, "status": "missing",
                               "valid": False, "reason": "", "access_key_id": None, "key_age_days": None,
                               "due": True, "drift": [], "keys": []}
    try:
        staged = task.require_store().read(target.store_name)
    except StoreError as exc:
        out.update(status="error", reason=str(exc))
        return out
    current = staged.current
    current_id = record_key_id(current)
    out["access_key_id"] = current_id
    keys = None
    try:
        keys = list_keys(task.conn.client("iam"), target.user_name)
    except AwsAccessDenied as exc:
        out["drift"].append(f"cannot list the user's keys: {exc.msg}")
    except KeyturnError as exc:
        out["drift"].append(f"cannot list the user's keys: {exc.msg}")
    if keys is not None:
        out["keys"] = [{"access_key_id": k.access_key_id, "status": k.status, "created": isoformat(k.created),
                        "age_days": round(k.age_days(), 1)} for k in keys]
        known = {current_id, record_key_id(staged.previous), record_key_id(staged.pending)}
        for key in keys:
            if key.access_key_id not in known:
                out["drift"].append(f"key {key.access_key_id} ({key.status}) is not in the store")
        iam_key = next((k for k in keys if k.access_key_id == current_id), None)
        if current_id and iam_key is None:
            out["drift"].append(f"the stored key {current_id} no longer exists in IAM")
        elif iam_key is not None:
            if iam_key.status != "Active":
                out["drift"].append(f"the stored key {current_id} is Inactive in IAM")
            out["key_age_days"] = round(iam_key.age_days(), 1)
    if staged.pending is not None:
        out["drift"].append("a pending record is left by an interrupted rotation (the next rotation resolves it)")
    if not has_secret(current):
        out["reason"] = "no stored credential"
        return out
    if out["key_age_days"] is None:
        created = parse_time(t.cast(dict, current).get("created"))
        if created is not None:
            out["key_age_days"] = round((utcnow() - created).total_seconds() / 86400.0, 1)
    # IAM records this STS call as the key's last use: say when, so reports can tell keyturn's use from others'.
    out["verified_at"] = isoformat(utcnow())
    check = verify_key(task.conn, t.cast(str, current_id), str(t.cast(dict, current)["secret_access_key"]),
                       partition=task.partition, account_id=task.account_id, user=target.user_name,
                       successes=1, timeout=0)
    out.update(valid=check.ok, status="valid" if check.ok else "invalid", reason=check.reason)
    age = out["key_age_days"]
    out["due"] = age is None or age >= target.policy.max_age_days
    return out


def run(params: t.Dict[str, t.Any], ctx: RunContext) -> t.Dict[str, t.Any]:
    spec = check_selection_input(params)
    listed = parse_selection(params)  # bad input fails before any AWS call
    # read-only: a file store that does not exist is a wrong path, unless the caller is about to create it
    task = open_task(params, ctx, store_must_exist=not params.get("allow_missing_store"))
    users, selection = resolve_users(task, params, spec)
    if not users:
        return nobody(task, selection, {"total": 0, "drift": 0})
    targets = bind_targets(add_selected(listed, users, params), task.account_id)
    task.preflight_store(targets[0].store_name)
    results = task.map(lambda target: verify_user(task, target), targets)
    summary = summarize(results, "status")
    summary["drift"] = sum(1 for r in results if r["drift"])
    for item in results:
        task.audit.event("access_key_verified", account_id=task.account_id, user_name=item["user_name"],
                         store_name=item["store_name"], status=item["status"], access_key_id=item["access_key_id"],
                         drift=len(item["drift"]))
    out: t.Dict[str, t.Any] = {"changed": False, "users": results, "summary": summary,
                               "account_id": task.account_id, "account_alias": task.account_alias(), "partition": task.partition}
    if selection is not None:
        out["selection"] = selection
    bad = [r for r in results if not r["valid"]]
    out["msg"] = f"{summary.get('valid', 0)} valid, {len(bad)} not valid, {summary['drift']} with drift"
    if bad and params.get("fail_on_invalid"):
        out.update(failed=True, msg="stored credentials not valid: " + "; ".join(
            f"{r['user_name']}: {r['reason']}" for r in bad[:10]))
    return out
