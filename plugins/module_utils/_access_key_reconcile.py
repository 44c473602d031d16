# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine of keyturn.aws.access_key_reconcile: repair missing or invalid stored credentials."""

from __future__ import annotations

import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._audit import utcnow
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._iam_keys import verify_key
from ansible_collections.keyturn.aws.plugins.module_utils._options import argument_spec
from ansible_collections.keyturn.aws.plugins.module_utils._rotation import (
    Target,
    UserRotation,
    credential_record,
    record_key_id,
)
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import StoreError, lease_owner
from ansible_collections.keyturn.aws.plugins.module_utils._targets import ROTATION_SPEC, bind_targets, parse_users
from ansible_collections.keyturn.aws.plugins.module_utils._task import (
    TASK_SPEC,
    TaskEnv,
    failure_message,
    is_task_user,
    map_caller_last,
    open_task,
    rotation_env,
    summarize,
)
from ansible_collections.keyturn.aws.plugins.module_utils._validate import check_access_key_id

ARGUMENT_SPEC = argument_spec(
    {
        "users": {"type": "list", "elements": "raw", "required": True},
        "import_credentials": {
            "type": "list",
            "elements": "dict",
            "no_log": False,
            "options": {
                "user_name": {"type": "str", "required": True},
                "access_key_id": {"type": "str", "required": True, "no_log": False},
                "secret_access_key": {"type": "str", "required": True, "no_log": True},
            },
        },
        **{k: v for k, v in ROTATION_SPEC.items() if k != "max_age_days"},
        **TASK_SPEC,
    }
)


def import_credential(task: TaskEnv, target: Target, cred: t.Mapping[str, str], check_mode: bool) -> t.Dict[str, t.Any]:
    """Onboard an existing key: verify it is the user's, then store it as current."""
    store = task.require_store()
    result: t.Dict[str, t.Any] = {"user_name": target.user_name, "store_name": target.store_name, "action": "skipped",
                                  "changed": False, "reason": "", "old_key_id": None,
                                  "new_key_id": cred["access_key_id"], "plan": []}
    staged = store.read(target.store_name)
    current = staged.current or {}
    if current.get("access_key_id") == cred["access_key_id"] and current.get("secret_access_key") == cred["secret_access_key"]:
        result["reason"] = "the imported key is already the stored credential"
        return result
    if current.get("access_key_id") and current.get("secret_access_key"):
        stored = verify_key(task.conn, str(current["access_key_id"]), str(current["secret_access_key"]),
                            partition=task.partition, account_id=task.account_id, user=target.user_name,
                            successes=1, timeout=0)
        if stored.ok:
            result.update(new_key_id=None, old_key_id=current["access_key_id"],
                          reason=f"the store already holds a working credential ({current['access_key_id']}); "
                                 "nothing to import")
            return result
    check = verify_key(task.conn, cred["access_key_id"], cred["secret_access_key"], partition=task.partition,
                       account_id=task.account_id, user=target.user_name, successes=1, timeout=0)
    if not check.ok:
        reason = f"the credential to import does not authenticate as {target.user_name}: {check.reason}; nothing was stored"
        result.update(action="failed", reason=reason)
        return result
    result["plan"].append(f"store the verified key {cred['access_key_id']} as current")
    result.update(action="imported", changed=True, old_key_id=record_key_id(staged.current),
                  reason="imported an existing key after verifying it")
    if check_mode:
        return result
    record = credential_record(target.user_name, check.user_id, rotation_env(task, False),
                               {"access_key_id": cred["access_key_id"], "secret_access_key": cred["secret_access_key"],
                                "created": utcnow()}, arn=check.arn)
    with store.lease(target.store_name, lease_owner(task.run_id), 120):
        store.write_current(target.store_name, record)
    task.audit.event("access_key_imported", account_id=task.account_id, user_name=target.user_name,
                     store_name=target.store_name, new_key_id=cred["access_key_id"])
    return result


def run(params: t.Dict[str, t.Any], ctx: RunContext) -> t.Dict[str, t.Any]:
    specs = parse_users(params["users"], params, due_when="invalid")  # bad input fails before any AWS call
    imports = {}
    for item in params.get("import_credentials") or []:
        check_access_key_id(item["access_key_id"], "import_credentials.access_key_id")
        if item["user_name"] in imports:
            raise ValidationError(f"import_credentials lists {item['user_name']} twice")
        imports[item["user_name"]] = item
    task = open_task(params, ctx)
    targets = bind_targets(specs, task.account_id)
    unknown = set(imports) - {target.user_name for target in targets}
    if unknown:
        raise ValidationError(f"import_credentials names users that are not in users: {sorted(unknown)}")
    task.preflight_store(targets[0].store_name)
    env = rotation_env(task, ctx.check_mode)

    def reconcile(target: Target) -> t.Dict[str, t.Any]:
        if target.user_name in imports:
            try:
                return import_credential(task, target, imports[target.user_name], ctx.check_mode)
            except StoreError as exc:
                return {"user_name": target.user_name, "store_name": target.store_name, "action": "failed",
                        "changed": False, "reason": str(exc), "plan": []}
        result = UserRotation(env, target).run()
        if result["action"] == "rotated":
            result["action"] = "reconciled"
        return result

    results = map_caller_last(task, targets, lambda target: is_task_user(env, target.user_name), reconcile)
    out: t.Dict[str, t.Any] = {"changed": any(r["changed"] for r in results), "users": results,
                               "summary": summarize(results), "account_id": task.account_id, "account_alias": task.account_alias(),
                               "partition": task.partition}
    if any(r["action"] == "failed" for r in results):
        out.update(failed=True, msg=failure_message(results))
    else:
        counts = out["summary"]
        out["msg"] = "reconcile: " + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("reconciled", "imported", "skipped"))
    return out
