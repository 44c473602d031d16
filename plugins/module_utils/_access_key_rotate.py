# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine of keyturn.aws.access_key_rotate."""

from __future__ import annotations

import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._options import argument_spec
from ansible_collections.keyturn.aws.plugins.module_utils._rotation import Target, UserRotation
from ansible_collections.keyturn.aws.plugins.module_utils._targets import ROTATION_SPEC, targets_from
from ansible_collections.keyturn.aws.plugins.module_utils._task import TASK_SPEC, TaskEnv, failure_message, rotation_env, summarize

ARGUMENT_SPEC = argument_spec(
    {
        "users": {"type": "list", "elements": "raw", "required": True},
        "self_rotate": {"type": "bool", "default": False},
        **ROTATION_SPEC,
        **TASK_SPEC,
    }
)


def run_rotations(task: TaskEnv, targets: t.List[Target], ctx: RunContext, verb: str) -> t.Dict[str, t.Any]:
    task.preflight_store(targets[0].store_name)
    env = rotation_env(task, ctx.check_mode)
    rotations = [UserRotation(env, target) for target in targets]
    results = task.map(lambda rotation: rotation.run(), rotations)
    for item in results:
        for warning in item.pop("warnings", []):
            ctx.warn(f"{item['user_name']}: {warning}")
    out: t.Dict[str, t.Any] = {
        "changed": any(r["changed"] for r in results),
        "users": results,
        "summary": summarize(results),
        "account_id": task.account_id,
        "partition": task.partition,
    }
    if ctx.diff:
        out["diff"] = {
            "before": {r.user: {"keys": r.before_keys} for r in rotations},
            "after": {r["user_name"]: {"plan": r["plan"], "action": r["action"]} for r in results},
        }
    if any(r["action"] == "failed" for r in results):
        out.update(failed=True, msg=failure_message(results))
    else:
        counts = out["summary"]
        out["msg"] = f"{verb}: " + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("rotated", "skipped"))
    return out


def run(params: t.Dict[str, t.Any], ctx: RunContext) -> t.Dict[str, t.Any]:
    targets_from(params["users"], params, "000000000000")  # bad input fails before any AWS call
    task = TaskEnv(params, ctx)
    targets = targets_from(params["users"], params, task.account_id, self_rotate=params.get("self_rotate", False))
    return run_rotations(task, targets, ctx, "rotation")
