# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine of keyturn.aws.access_key_rotate."""

from __future__ import annotations

import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._options import argument_spec
from ansible_collections.keyturn.aws.plugins.module_utils._rotation import Target, UserRotation
from ansible_collections.keyturn.aws.plugins.module_utils._targets import ROTATION_SPEC, add_selected, bind_targets, parse_selection
from ansible_collections.keyturn.aws.plugins.module_utils._user_filter import (
    USER_FILTER_OPTION, check_selection_input, nobody, resolve_users)
from ansible_collections.keyturn.aws.plugins.module_utils._task import TASK_SPEC, TaskEnv, map_caller_last, open_task, rotation_env, task_result

ARGUMENT_SPEC = argument_spec(
    {
        "users": {"type": "list", "elements": "raw"},
        "user_filter": USER_FILTER_OPTION,
        "self_rotate": {"type": "bool", "default": False},
        "retire_after": {"type": "int", "default": 0},
        "retire_when_idle": {"type": "int", "default": 0},
        **ROTATION_SPEC,
        **TASK_SPEC,
    }
)


# A grace period or idle window longer than a year is a mistake (a key that is never retired).
MAX_GRACE_SECONDS = 366 * 86400


def grace_options(params: t.Mapping[str, t.Any]) -> t.Dict[str, int]:
    """retire_after / retire_when_idle, checked: whole seconds from 0 to a year."""
    values = {}
    for name in ("retire_after", "retire_when_idle"):
        value = params.get(name)
        value = 0 if value is None else value
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_GRACE_SECONDS:
            raise ValidationError(f"{name} must be a whole number of seconds from 0 to {MAX_GRACE_SECONDS} (366 days), "
                                  f"got {value!r}")
        values[name] = value
    return values


def run_rotations(task: TaskEnv, targets: t.List[Target], ctx: RunContext, verb: str) -> t.Dict[str, t.Any]:
    task.preflight_store(targets[0].store_name)
    env = rotation_env(task, ctx.check_mode)
    rotations = [UserRotation(env, target) for target in targets]
    with env.store.batched_releases():  # leases given back with the next store write, all by the end
        results = map_caller_last(task, rotations, lambda rotation: rotation.is_caller, lambda rotation: rotation.run())
    for item in results:
        for warning in item.pop("warnings", []):
            ctx.warn(f"{item['user_name']}: {warning}")
    out = task_result(task, ctx, rotations, results, verb, ("rotated", "skipped"))
    done_states = ("retired", "ready") if ctx.check_mode else ("retired",)
    retired = sum(1 for r in results if (r.get("retirement") or {}).get("state") in done_states and r["action"] != "failed")
    pending = [r for r in results if (r.get("retirement") or {}).get("state") in ("waiting", "in_use")]
    if retired or pending:
        verb_retired = "to retire" if ctx.check_mode else "retired"
        out["msg"] += f"; old keys: {retired} {verb_retired}, {len(pending)} pending retirement"
        out["summary"]["retired"] = retired
        out["summary"]["retirement_pending"] = len(pending)
    return out


def run(params: t.Dict[str, t.Any], ctx: RunContext) -> t.Dict[str, t.Any]:
    overrides = dict(grace_options(params), self_rotate=params.get("self_rotate", False))
    spec = check_selection_input(params)
    listed = parse_selection(params, **overrides)  # bad input fails before any AWS call
    task = open_task(params, ctx)
    users, selection = resolve_users(task, params, spec)
    if not users:
        return nobody(task, selection, {"total": 0})
    targets = bind_targets(add_selected(listed, users, params, **overrides), task.account_id)
    out = run_rotations(task, targets, ctx, "rotation")
    if selection is not None:
        out["selection"] = selection
    return out
