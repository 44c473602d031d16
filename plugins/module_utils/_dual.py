# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine of keyturn.aws.dual_account_swap (DESIGN §3).

A dual pair is two IAM users with identical permissions and a store record
naming the active member.  Each run advances the pair one safe step:

``initialized``       both members get managed keys (the rotation protocol) and
                      the pair record is written, the first user active;
``swapped``           the active member's key is due (or ``force``): the
                      standby's stored key is verified with STS, then the record
                      flips the active member and records when;
``rotated_inactive``  ``grace_period`` seconds after a swap: the now-inactive
                      member's key is rotated (the rotation protocol, forced);
``none``              nothing is possible yet.

Consumers read the active member (``keyturn.aws.credential`` on the pair name),
so a rotation never touches a key in use and the active member authenticates at
every point.  The pair record is changed under a lease on the pair's name, so
overlapping runs serialize.  Every key rotation goes through
:class:`UserRotation` (the collection's only rotation path).
"""

from __future__ import annotations

import dataclasses
import datetime
import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._audit import isoformat, utcnow
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import KeyturnError, ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._iam_keys import IamKey, list_keys, parse_time, verify_key
from ansible_collections.keyturn.aws.plugins.module_utils._options import argument_spec
from ansible_collections.keyturn.aws.plugins.module_utils._permissions import compare, user_permissions
from ansible_collections.keyturn.aws.plugins.module_utils._records import PAIR_KIND, RECORD_KIND
from ansible_collections.keyturn.aws.plugins.module_utils._rotation import (
    Env,
    Policy,
    Target,
    UserRotation,
    has_secret,
    record_key_id,
)
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import (
    StoreError,
    validate_record_name,
    waiting_lease,
)
from ansible_collections.keyturn.aws.plugins.module_utils._targets import ROTATION_SPEC, default_store_name, policy_from
from ansible_collections.keyturn.aws.plugins.module_utils._task import TASK_SPEC, TaskEnv, open_task, rotation_env
from ansible_collections.keyturn.aws.plugins.module_utils._validate import check_user_name

STEPS = ("initialized", "swapped", "rotated_inactive", "none")
# Init only issues keys to members without a working stored credential: an old
# key of the active member is handled by the swap cycle, not by init.
NEVER_DUE_DAYS = 1000000
MAX_GRACE_PERIOD = 30 * 86400

ARGUMENT_SPEC = argument_spec(
    {
        "pair": {"type": "str", "required": True},
        "users": {"type": "list", "elements": "str", "required": True},
        "grace_period": {"type": "int", "default": 3600},
        "check_permissions": {"type": "bool", "default": True},
        **ROTATION_SPEC,
        **TASK_SPEC,
    }
)


def check_input(params: t.Mapping[str, t.Any]) -> t.Tuple[str, t.List[str]]:
    """Validate pair and users before any AWS call."""
    try:
        pair = str(validate_record_name(params.get("pair")))  # plain str (no data-tagging wrapper)
    except StoreError as exc:
        raise ValidationError(f"pair: {exc}")
    users = params.get("users") or []
    if not isinstance(users, list) or len(users) != 2:
        raise ValidationError(f"users must list exactly two IAM users (the members of the pair), got {len(users)}")
    names = [check_user_name(user, f"users[{index}]") for index, user in enumerate(users)]
    if names[0] == names[1]:
        raise ValidationError(f"users must be two distinct IAM users, got {names[0]} twice")
    grace = params.get("grace_period")
    if grace is None or not 0 <= int(grace) <= MAX_GRACE_PERIOD:
        raise ValidationError(f"grace_period must be between 0 and {MAX_GRACE_PERIOD} seconds (30 days), got {grace}")
    policy_from(params)  # range checks of max_age_days and the verification tuning
    return pair, names


@dataclasses.dataclass
class Member:
    user: str
    store_name: str
    current: t.Optional[t.Dict[str, t.Any]]
    keys: t.List[IamKey]

    @property
    def key(self) -> t.Optional[IamKey]:
        """The IAM key of the stored credential, if it still exists."""
        key_id = record_key_id(self.current)
        return next((k for k in self.keys if k.access_key_id == key_id), None)

    def problem(self) -> t.Optional[str]:
        """Why this member has no usable stored credential (None when it has one)."""
        if not has_secret(self.current):
            return f"{self.user} has no stored credential in {self.store_name}"
        key = self.key
        if key is None:
            return f"the stored key {record_key_id(self.current)} of {self.user} no longer exists in IAM"
        if key.status != "Active":
            return f"the stored key {key.access_key_id} of {self.user} is Inactive in IAM"
        return None


class DualSwap:
    """One run of dual_account_swap over one pair."""

    def __init__(self, task: TaskEnv, params: t.Mapping[str, t.Any], ctx: RunContext, pair: str,
                 users: t.List[str], clock: t.Callable[[], datetime.datetime] = utcnow) -> None:
        self.task = task
        self.params = params
        self.ctx = ctx
        self.pair = pair
        self.users = users
        self.clock = clock
        self.check_mode = ctx.check_mode
        self.env: Env = rotation_env(task, ctx.check_mode)
        if task.store is None:
            raise KeyturnError("dual_account_swap needs a store")
        self.store = task.store
        self.iam = task.conn.client("iam")
        self.grace = int(params["grace_period"])
        self.policy: Policy = policy_from(params)
        self.before: t.Optional[t.Dict[str, t.Any]] = None
        self.after: t.Optional[t.Dict[str, t.Any]] = None
        self.result: t.Dict[str, t.Any] = {
            "changed": False, "failed": False, "pair": pair, "step": "none", "active_user": None,
            "inactive_user": None, "next_step_after": None, "swapped_at": None, "reason": "", "results": [],
            "account_id": task.account_id, "partition": task.partition,
        }

    # -- entry point ----------------------------------------------------------
    def run(self) -> t.Dict[str, t.Any]:
        self.task.preflight_store(self.pair)
        if self.params.get("check_permissions", True):
            differences = self._permission_differences()
            if differences:
                a, b = self.users
                self.result.update(
                    failed=True, permission_differences=differences,
                    msg=f"pair {self.pair}: {a} and {b} do not have identical permissions, so one cannot stand in "
                        f"for the other; nothing was changed. Differences: " + "; ".join(differences),
                )
                return self.result
        try:
            if self.check_mode:
                self._step()
            else:
                self._with_lease(self._step)
        except StoreError as exc:
            raise KeyturnError(f"pair {self.pair}: {exc}")
        if self.ctx.diff:
            self.result["diff"] = {"before": _public(self.before), "after": _public(self.after or self.before)}
        return self.result

    def _permission_differences(self) -> t.List[str]:
        first, second = (user_permissions(self.iam, user) for user in self.users)
        return compare(first, second)

    def _with_lease(self, work: t.Callable[[], None]) -> None:
        ttl = int(2 * (self.policy.verify_timeout + 120) + 60)
        with waiting_lease(self.store, self.pair, self.task.run_id, ttl, self.task.lock_timeout, what=f"pair {self.pair}",
                           sleep=self.env.sleep):
            work()

    # -- state ------------------------------------------------------------------
    def _read_record(self) -> t.Optional[t.Dict[str, t.Any]]:
        record = self.store.read_current(self.pair)
        if record is None:
            return None
        if record.get("kind") != PAIR_KIND:
            raise ValidationError(f"the store record {self.pair} is not a dual pair (kind {record.get('kind')!r}); "
                                  "choose another pair name")
        recorded = list(record.get("users") or [])
        if sorted(recorded) != sorted(self.users):
            raise ValidationError(
                f"the pair record {self.pair} has the members {recorded}, but users is {self.users}; the members of a "
                "pair cannot be changed in place (use a new pair name, or delete the pair record first)")
        if record.get("active") not in self.users:
            raise ValidationError(f"the pair record {self.pair} names no valid active member ({record.get('active')!r})")
        for field, mine in (("account_id", self.task.account_id), ("partition", self.task.partition)):
            if record.get(field) and record[field] != mine:
                raise ValidationError(f"the pair record {self.pair} belongs to {field} {record[field]}, but the task's "
                                      f"credentials reach {mine}")
        return dict(record)

    def _member_names(self, record: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, str]:
        recorded = dict((record or {}).get("member_names") or {})
        names = {user: str(recorded.get(user) or default_store_name(self.task.account_id, user)) for user in self.users}
        for user, name in names.items():
            try:
                validate_record_name(name)
            except StoreError as exc:
                raise ValidationError(f"store name of {user}: {exc}")
            if name == self.pair:
                raise ValidationError(f"the pair name {self.pair} is also the store name of member {user}; "
                                      "a pair record needs its own name")
        return names

    def _member(self, user: str, name: str) -> Member:
        current = self.store.read_current(name)
        if current is not None:
            if current.get("kind") not in (None, RECORD_KIND):
                raise ValidationError(f"the store record {name} of member {user} is not an access-key credential "
                                      f"(kind {current.get('kind')!r})")
            if current.get("user_name") and current["user_name"] != user:
                raise ValidationError(f"the store record {name} holds the credential of {current['user_name']}, "
                                      f"not of member {user}")
        return Member(user=user, store_name=name, current=current, keys=list_keys(self.iam, user))

    # -- the step -----------------------------------------------------------------
    def _step(self) -> None:
        record = self._read_record()
        self.before = record
        names = self._member_names(record)
        members = {user: self._member(user, names[user]) for user in self.users}
        active = str(record["active"]) if record else self.users[0]
        inactive = next(user for user in self.users if user != active)
        self.result.update(active_user=active, inactive_user=inactive,
                           swapped_at=(record or {}).get("swapped_at"))
        problems = [p for p in (members[u].problem() for u in self.users) if p]
        if record is None or problems:
            self._initialize(record, names, members, active, inactive, problems)
            return
        now = self.clock()
        if record.get("rotation_pending"):
            swapped = parse_time(record.get("swapped_at")) or now
            ready = swapped + datetime.timedelta(seconds=self.grace)
            if now >= ready:
                self._rotate_inactive(record, members, active, inactive)
            else:
                self._nothing(f"the grace period ({self.grace}s) after the swap at {isoformat(swapped)} has not "
                              f"passed yet; {inactive} is rotated from {isoformat(ready)}", ready)
            return
        due, why, due_at = self._active_due(members[active], now)
        if due:
            self._swap(record, members, active, inactive, why)
        else:
            self._nothing(why, due_at)

    def _active_due(self, member: Member, now: datetime.datetime) -> t.Tuple[bool, str, t.Optional[datetime.datetime]]:
        key = t.cast(IamKey, member.key)
        age = key.age_days(now)
        due_at = key.created + datetime.timedelta(days=self.policy.max_age_days)
        if self.policy.force:
            return True, "forced", now
        text = f"the active member {member.user}'s key is {age:.0f} days old (max_age_days {self.policy.max_age_days})"
        return age >= self.policy.max_age_days, text, due_at

    def _next_swap_time(self, member: Member) -> t.Optional[datetime.datetime]:
        """When the (possibly just re-keyed) active member's key becomes due."""
        if self.policy.force:
            return self.clock()
        fresh = self._member(member.user, member.store_name)
        key = fresh.key
        return key.created + datetime.timedelta(days=self.policy.max_age_days) if key else None

    def _rotate(self, member: Member, policy: Policy) -> t.Dict[str, t.Any]:
        result = UserRotation(self.env, Target(member.user, member.store_name, policy)).run()
        for warning in result.pop("warnings", []):
            self.ctx.warn(f"{member.user}: {warning}")
        self.result["results"].append(result)
        if result.get("changed"):
            self.result["changed"] = True
        return result

    def _fail(self, message: str) -> None:
        self.result.update(failed=True, msg=f"pair {self.pair}: {message}")

    def _write(self, record: t.Dict[str, t.Any]) -> None:
        record["updated_at"] = isoformat(self.clock())
        self.after = record
        if not self.check_mode:
            self.store.write_current(self.pair, record)

    def _audit(self, event: str, **fields: t.Any) -> None:
        if self.check_mode:
            return
        self.task.audit.event(event, run_id=self.task.run_id, account_id=self.task.account_id,
                              partition=self.task.partition, pair_name=self.pair,
                              active_user=self.result["active_user"], inactive_user=self.result["inactive_user"],
                              step=self.result["step"], **fields)

    def _initialize(self, record: t.Optional[t.Dict[str, t.Any]], names: t.Dict[str, str],
                    members: t.Dict[str, Member], active: str, inactive: str, problems: t.List[str]) -> None:
        self.result.update(step="initialized",
                           reason="; ".join(problems) if problems else "the pair record does not exist yet")
        policy = dataclasses.replace(self.policy, force=False, max_age_days=NEVER_DUE_DAYS)
        for user in self.users:
            if members[user].problem():
                outcome = self._rotate(members[user], policy)
                if outcome["action"] == "failed":
                    self._fail(f"could not give {user} a managed key: {outcome['reason']}")
                    return
        now = isoformat(self.clock())
        new = dict(record) if record else {
            "kind": PAIR_KIND, "users": list(self.users), "active": active, "inactive": inactive,
            "swapped_at": None, "rotation_pending": False, "initialized_at": now,
        }
        new.update(member_names=names, account_id=self.task.account_id, partition=self.task.partition)
        if record:
            new["repaired_at"] = now
        self._write(new)
        self.result["changed"] = True
        known = not (self.check_mode and members[active].problem())
        self.result["next_step_after"] = _iso(self._next_swap_time(members[active])) if known else None
        verb = "would initialize" if self.check_mode else "initialized"
        self.result["msg"] = f"pair {self.pair} {verb}: {active} active, {inactive} standby"
        self._audit("dual_pair_initialized")

    def _swap(self, record: t.Dict[str, t.Any], members: t.Dict[str, Member], active: str, inactive: str,
              why: str) -> None:
        self.result.update(step="swapped", reason=why)
        standby = members[inactive]
        current = t.cast(t.Dict[str, t.Any], standby.current)
        check = verify_key(
            self.task.conn, str(current["access_key_id"]), str(current["secret_access_key"]),
            partition=self.task.partition, account_id=self.task.account_id, user=inactive,
            successes=1 if self.check_mode else self.policy.verify_successes,
            timeout=0 if self.check_mode else self.policy.verify_timeout,
            interval=self.policy.verify_interval, sleep=self.env.sleep,
        )
        self.result["standby_verification"] = {"user_name": inactive, "access_key_id": current["access_key_id"],
                                               "ok": check.ok, "reason": check.reason}
        if not check.ok:
            self._fail(f"the standby member {inactive}'s stored key {current['access_key_id']} does not authenticate "
                       f"({check.reason}); the pair was not swapped and {active} stays active. Rotate {inactive} "
                       f"(keyturn.aws.access_key_rotate with force, store name {standby.store_name}) and run again")
            return
        now = self.clock()
        new = dict(record)
        new.update(active=inactive, inactive=active, swapped_at=isoformat(now), rotation_pending=True,
                   previous_active=active)
        self._write(new)
        self.result.update(changed=True, active_user=inactive, inactive_user=active, swapped_at=new["swapped_at"],
                           next_step_after=_iso(now + datetime.timedelta(seconds=self.grace)))
        verb = "would swap" if self.check_mode else "swapped"
        self.result["msg"] = (f"pair {self.pair} {verb}: {inactive} is active, {active} is rotated after the grace "
                              f"period ({self.grace}s)")
        self._audit("dual_pair_swapped", reason=why)

    def _rotate_inactive(self, record: t.Dict[str, t.Any], members: t.Dict[str, Member], active: str,
                         inactive: str) -> None:
        self.result.update(step="rotated_inactive",
                           reason=f"the grace period ({self.grace}s) since the swap at {record.get('swapped_at')} has passed")
        member = members[inactive]
        swapped = parse_time(record.get("swapped_at"))
        if member.key is not None and swapped is not None and member.key.created > swapped:
            # An interrupted run already rotated the member (its key is newer than the swap) but did not
            # get to record it: never rotate twice.  A not-forced pass still finishes that run's cleanup.
            outcome = self._rotate(member, dataclasses.replace(self.policy, force=False, max_age_days=10 ** 6))
        else:
            outcome = self._rotate(member, dataclasses.replace(self.policy, force=True))
        if outcome["action"] == "failed":
            self._fail(f"could not rotate the inactive member {inactive}: {outcome['reason']}")
            return
        new = dict(record)
        new.update(rotation_pending=False, inactive_rotated_at=isoformat(self.clock()))
        self._write(new)
        self.result["changed"] = True
        self.result["next_step_after"] = _iso(self._next_swap_time(members[active]))
        verb = "would rotate" if self.check_mode else "rotated"
        self.result["msg"] = f"pair {self.pair}: {verb} the inactive member {inactive}; {active} stays active"
        self._audit("dual_pair_inactive_rotated", old_key_id=outcome.get("old_key_id"),
                    new_key_id=outcome.get("new_key_id"))

    def _nothing(self, why: str, next_at: t.Optional[datetime.datetime]) -> None:
        self.result.update(step="none", changed=False, reason=why, next_step_after=_iso(next_at))
        self.after = self.before
        self.result["msg"] = f"pair {self.pair}: nothing to do ({why})"


def _iso(moment: t.Optional[datetime.datetime]) -> t.Optional[str]:
    return isoformat(moment) if moment else None


def _public(record: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, t.Any]:
    """The pair record for diffs (it never holds a secret; keep the stable fields)."""
    if not record:
        return {}
    keep = ("users", "active", "inactive", "swapped_at", "rotation_pending", "inactive_rotated_at", "member_names")
    return {k: record.get(k) for k in keep if k in record}


def run(params: t.Dict[str, t.Any], ctx: RunContext) -> t.Dict[str, t.Any]:
    pair, users = check_input(params)  # bad input fails before any AWS call
    task = open_task(params, ctx)
    result = DualSwap(task, params, ctx, pair, users).run()
    if not result.get("failed"):
        result.pop("failed", None)
    return result
