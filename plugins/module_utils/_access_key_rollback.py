# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine of keyturn.aws.access_key_rollback: make the store's previous key current again.

While a user's previous key still exists in IAM (Active during a ``retire_after`` grace period, or Inactive after
``retire: deactivate``): reactivate it if needed, verify that it authenticates as the user, swap the store record
back (pending -> promote, so the rolled-back key becomes previous), then deactivate (default) or delete the
rolled-back key.  Crash-safe like a rotation: the record is written as pending before the promotion, and a
rotation or a rollback run finishes a promotion that an interrupted run left pending.
"""

from __future__ import annotations

import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._audit import isoformat
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import KeyturnError, ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._iam_keys import (
    delete_key,
    list_keys,
    set_status,
    verify_key,
)
from ansible_collections.keyturn.aws.plugins.module_utils._options import argument_spec
from ansible_collections.keyturn.aws.plugins.module_utils._rotation import (
    Env,
    Target,
    UserFailed,
    has_secret,
    record_key_id,
    with_lease,
)
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import StagedRecord, StoreError
from ansible_collections.keyturn.aws.plugins.module_utils._targets import bind_targets, parse_users
from ansible_collections.keyturn.aws.plugins.module_utils._task import TASK_SPEC, is_task_user, map_caller_last, open_task, rotation_env, task_result

NEW_KEY_CHOICES = ["deactivate", "delete"]

ARGUMENT_SPEC = argument_spec(
    {
        "users": {"type": "list", "elements": "raw", "required": True},
        "new_key": {"type": "str", "default": "deactivate", "choices": NEW_KEY_CHOICES},
        "verify_successes": {"type": "int", "default": 2},
        "verify_timeout": {"type": "int", "default": 60},
        **TASK_SPEC,
    }
)


class UserRollback:
    """One user's rollback.  ``run()`` never raises for a per-user failure."""

    def __init__(self, env: Env, target: Target, new_key: str) -> None:
        self.env, self.target, self.new_key = env, target, new_key
        self.user, self.name, self.policy = target.user_name, target.store_name, target.policy
        self.plan: t.List[str] = []
        self.before_keys: t.List[t.Dict[str, str]] = []
        self.result: t.Dict[str, t.Any] = {
            "user_name": self.user, "store_name": self.name, "account_id": env.account_id,
            "partition": env.partition, "action": "skipped", "changed": False, "reason": "",
            "restored_key_id": None, "rolled_back_key_id": None,
        }
        self.is_caller = is_task_user(env, self.user)

    def run(self) -> t.Dict[str, t.Any]:
        try:
            if self.env.check_mode:
                self._work()
            else:
                with_lease(self.env, self.name, int(self.policy.verify_timeout + 120), self._work)
        except (KeyturnError, StoreError) as exc:
            self.result.update(action="failed", reason=getattr(exc, "msg", None) or str(exc))
            self._audit("access_key_rollback_failed")
        self.result["plan"] = self.plan
        return self.result

    def _work(self) -> None:
        env = self.env
        staged = env.store.read(self.name)
        iam = env.conn.client("iam")
        keys = {k.access_key_id: k.status for k in list_keys(iam, self.user)}
        self.before_keys = [{"access_key_id": key_id, "status": status} for key_id, status in keys.items()]
        current, previous = staged.current or {}, staged.previous or {}
        current_id, previous_id = record_key_id(staged.current), record_key_id(staged.previous)
        if staged.pending is not None:
            self._resume(staged, keys)
            return
        if current_id and current.get("rolled_back_from") == previous_id:
            self.result.update(restored_key_id=current_id, rolled_back_key_id=previous_id,
                               reason=f"already rolled back: {current_id} is current again since "
                                      f"{current.get('rolled_back')}")
            self._retire_rolled_back(t.cast(str, previous_id), keys)
            return
        if not previous_id or not has_secret(staged.previous):
            raise UserFailed(f"the store ({self.name}) has no previous key of {self.user} to roll back to; "
                             "nothing was changed")
        if previous_id not in keys:
            raise UserFailed(f"the previous key {previous_id} of {self.user} no longer exists in IAM (it was retired), "
                             "so there is nothing to roll back to; nothing was changed")
        self.result.update(restored_key_id=previous_id, rolled_back_key_id=current_id,
                           reason=f"roll back from {current_id or 'no current key'} to {previous_id}")
        reactivate = keys[previous_id] != "Active"
        if reactivate:
            self.plan.append(f"reactivate the previous key {previous_id}")
        self.plan.append(f"verify {previous_id} with STS (it must authenticate as {self.user})")
        self.plan.append(f"make {previous_id} current in the store again ({current_id} becomes previous)")
        self.result.update(action="rolled_back", changed=True)
        retire_new = bool(current_id and current_id in keys and self._plan_new_key(current_id, keys))
        if env.check_mode:
            return
        if reactivate:
            set_status(iam, self.user, previous_id, "Active")
        stamp = self._verified(previous_id, str(previous["secret_access_key"]), reactivate)
        record = {k: v for k, v in previous.items() if k not in ("retiring", "rolled_back_from", "rolled_back")}
        record.update(stamp, rolled_back_from=current_id, rolled_back=isoformat(env.clock()))
        env.store.write_pending(self.name, record)
        env.store.promote(self.name)
        self._switch_task_key(record)
        if retire_new:
            self._retire_rolled_back(t.cast(str, current_id), keys, planned=True)
        self._audit("access_key_rolled_back")

    def _plan_new_key(self, key_id: str, keys: t.Mapping[str, str]) -> bool:
        if self.new_key == "delete":
            self.plan.append(f"delete the rolled-back key {key_id}")
            return True
        if keys.get(key_id) == "Active":
            self.plan.append(f"deactivate the rolled-back key {key_id}")
            return True
        return False

    def _verified(self, key_id: str, secret: str, reactivated: bool) -> t.Dict[str, t.Any]:
        env = self.env
        check = verify_key(env.conn, key_id, secret, partition=env.partition, account_id=env.account_id,
                           user=self.user, successes=self.policy.verify_successes, timeout=self.policy.verify_timeout,
                           interval=self.policy.verify_interval, sleep=env.sleep)
        if not check.ok:
            undo = ""
            if reactivated:
                set_status(env.conn.client("iam"), self.user, key_id, "Inactive")
                undo = f"; {key_id} was set Inactive again"
            raise UserFailed(f"the previous key {key_id} did not verify ({check.reason}); the store was not "
                             f"changed and the current key is untouched{undo}")
        return {"user_id": check.user_id, "arn": check.arn, "keyturn_used": isoformat(env.clock())}

    def _resume(self, staged: StagedRecord, keys: t.Mapping[str, str]) -> None:
        """A pending record: an interrupted rollback (finish it) or an interrupted rotation (not ours to touch)."""
        pending = t.cast(t.Dict[str, t.Any], staged.pending)
        pending_id = record_key_id(pending)
        current_id = record_key_id(staged.current)
        rolled = pending.get("rolled_back_from")
        if pending_id and pending_id == current_id and rolled:  # the interrupted run was promoting: finish it
            self.result.update(action="rolled_back", changed=True, restored_key_id=pending_id, rolled_back_key_id=rolled,
                               reason="finished an interrupted rollback")
            self.plan.append(f"finish making {pending_id} current (an interrupted rollback was promoting it)")
            retire_new = bool(rolled in keys and self._plan_new_key(str(rolled), keys))
            if self.env.check_mode:
                return
            self.env.store.promote(self.name)
            if retire_new:
                self._retire_rolled_back(str(rolled), keys, planned=True)
            self._audit("access_key_rolled_back")
            return
        if pending.get("rolled_back_from") != current_id or not has_secret(pending) or keys.get(t.cast(str, pending_id)) != "Active":
            raise UserFailed(f"an interrupted rotation left a pending record for {self.name}; run "
                             "keyturn.aws.access_key_rotate first (it finishes or rolls it back); nothing was changed")
        self.result.update(action="rolled_back", changed=True, restored_key_id=pending_id, rolled_back_key_id=current_id,
                           reason="resumed an interrupted rollback")
        self.plan.append(f"verify {pending_id} and finish making it current (an interrupted rollback left it pending)")
        retire_new = bool(current_id and current_id in keys and self._plan_new_key(current_id, keys))
        if self.env.check_mode:
            return
        pending.update(self._verified(t.cast(str, pending_id), str(pending["secret_access_key"]), False))
        self.env.store.write_pending(self.name, pending)
        self.env.store.promote(self.name)
        self._switch_task_key(pending)
        if retire_new:
            self._retire_rolled_back(t.cast(str, current_id), keys, planned=True)
        self._audit("access_key_rolled_back")

    def _retire_rolled_back(self, key_id: str, keys: t.Mapping[str, str], planned: bool = False) -> None:
        """Deactivate (default) or delete the key that was rolled back; idempotent."""
        if key_id not in keys:
            return
        if not planned:
            if not self._plan_new_key(key_id, keys):
                return
            self.result["changed"] = True
            if self.env.check_mode:
                return
        iam = self.env.conn.client("iam")
        if self.new_key == "delete":
            delete_key(iam, self.user, key_id)
        else:
            set_status(iam, self.user, key_id, "Inactive")
        self.result["rolled_back_key_state"] = "deleted" if self.new_key == "delete" else "Inactive"

    def _switch_task_key(self, record: t.Mapping[str, t.Any]) -> None:
        if self.is_caller:
            self.env.conn.switch_credentials(str(record["access_key_id"]), str(record["secret_access_key"]))

    def _audit(self, event: str) -> None:
        if self.env.check_mode:
            return
        self.env.audit.event(
            event, run_id=self.env.run_id, account_id=self.env.account_id, partition=self.env.partition,
            user_name=self.user, store_name=self.name, action=self.result.get("action"), reason=self.result.get("reason"),
            restored_key_id=self.result.get("restored_key_id"), rolled_back_key_id=self.result.get("rolled_back_key_id"),
            new_key=self.new_key,
        )


def check_users(users: t.Any) -> None:
    if not isinstance(users, list):
        return
    for index, item in enumerate(users):
        if isinstance(item, t.Mapping):
            unknown = set(item) - {"name", "store_name"}
            if unknown:
                raise ValidationError(f"users[{index}] has unknown keys {sorted(unknown)}; accepted: name, store_name")


def run(params: t.Dict[str, t.Any], ctx: RunContext) -> t.Dict[str, t.Any]:
    check_users(params["users"])
    specs = parse_users(params["users"], params)  # bad input fails before any AWS call
    task = open_task(params, ctx)
    targets = bind_targets(specs, task.account_id)
    task.preflight_store(targets[0].store_name)
    env = rotation_env(task, ctx.check_mode)
    rollbacks = [UserRollback(env, target, str(params.get("new_key") or "deactivate")) for target in targets]
    results = map_caller_last(task, rollbacks, lambda r: r.is_caller, lambda r: r.run())
    out = task_result(task, ctx, rollbacks, results, "rollback", ("rolled_back", "skipped"))
    return out
