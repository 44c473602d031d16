# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rotation protocol (DESIGN §2) for one IAM user: a resumable state machine.

plan -> make room -> record intent -> create -> store pending -> verify ->
promote -> retire old -> audit.  Every step leaves the store and IAM in a state
from which the next run finishes or rolls back; the store's current credential
always authenticates.  Used by access_key_rotate, access_key_reconcile and
dual_account_swap (the only rotation path of the collection).
"""

from __future__ import annotations

import dataclasses
import datetime
import time
import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._audit import AuditLog, isoformat, utcnow
from ansible_collections.keyturn.aws.plugins.module_utils._connection import AwsConnection
from ansible_collections.keyturn.aws.plugins.module_utils._errors import KeyturnError
from ansible_collections.keyturn.aws.plugins.module_utils._iam_keys import (
    AmbiguousCreate,
    IamKey,
    confirm_refused,
    create_key,
    delete_key,
    is_user_arn,
    last_used,
    list_keys,
    parse_time,
    set_status,
    verify_key,
)
from ansible_collections.keyturn.aws.plugins.module_utils._records import RECORD_KIND
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import (
    StagedRecord,
    Store,
    StoreError,
    waiting_lease,
)

# A key created by a crashed run can carry a CreateDate a little before the
# intent's timestamp when clocks differ; IAM keys list with second precision.
CLOCK_SKEW = datetime.timedelta(minutes=5)
# IAM's last-used date of a key no later than this after keyturn's own last
# signature with it is keyturn's own use, not an application's.
OWN_USE_SLACK = datetime.timedelta(minutes=2)


@dataclasses.dataclass(frozen=True)
class Policy:
    max_age_days: int = 90
    force: bool = False
    retire: str = "delete"
    unmanaged_keys: str = "fail"
    self_rotate: bool = False
    verify_successes: int = 2
    verify_timeout: float = 60
    verify_interval: float = 1.0
    confirm_retired: bool = False
    due_when: str = "age"  # "age": rotate; "invalid": reconcile
    retire_after: int = 0  # seconds the old key stays Active after the cut-over
    retire_when_idle: int = 0  # retire only when IAM's last use (not keyturn's) is older than this


@dataclasses.dataclass(frozen=True)
class Target:
    user_name: str
    store_name: str
    policy: Policy


@dataclasses.dataclass
class Env:
    """What every user of one task shares."""

    conn: AwsConnection  # privileged identity (after assume_role)
    store: Store
    account_id: str
    partition: str
    run_id: str
    check_mode: bool
    audit: AuditLog
    lock_timeout: float = 300
    sleep: t.Callable[[float], None] = time.sleep
    clock: t.Callable[[], datetime.datetime] = utcnow
    caller_arn: t.Optional[str] = None  # the task's own identity (an IAM user that may be among the targets)


class UserFailed(KeyturnError):
    pass


def credential_record(user: str, user_id: t.Optional[str], env: Env, key: t.Mapping[str, t.Any],
                      arn: t.Optional[str] = None) -> t.Dict[str, t.Any]:
    now = isoformat(utcnow())
    return {
        "kind": RECORD_KIND,
        "access_key_id": key["access_key_id"],
        "secret_access_key": key["secret_access_key"],
        "user_name": user,
        "user_id": user_id,
        "arn": arn,
        "account_id": env.account_id,
        "partition": env.partition,
        "created": isoformat(key["created"]) if isinstance(key.get("created"), datetime.datetime) else now,
        "rotated": now,
    }


def record_key_id(record: t.Optional[t.Mapping[str, t.Any]]) -> t.Optional[str]:
    if not record:
        return None
    value = record.get("access_key_id")
    return str(value) if value else None


def has_secret(record: t.Optional[t.Mapping[str, t.Any]]) -> bool:
    return bool(record and record.get("access_key_id") and record.get("secret_access_key"))


def with_lease(env: Env, name: str, ttl: int, work: t.Callable[[], None]) -> None:
    """Run ``work`` holding the store's lease on ``name`` (waiting up to ``env.lock_timeout`` for another run)."""
    with waiting_lease(env.store, name, env.run_id, ttl, env.lock_timeout, sleep=env.sleep):
        work()


class Postponed(KeyturnError):
    """A due rotation that must wait: its old key is still within its grace period or in use."""


@dataclasses.dataclass
class Retirement:
    """Where the retirement of a replaced (previous) key stands."""

    key_id: str
    state: str  # "ready" (retire now), "waiting" (retire_after not over), "in_use" (retire_when_idle), "retired"
    reason: str
    cut_over: t.Optional[datetime.datetime] = None
    retire_at: t.Optional[datetime.datetime] = None
    last_used: t.Optional[t.Mapping[str, t.Any]] = None
    own_use: bool = False

    def as_result(self) -> t.Dict[str, t.Any]:
        used = None
        if self.last_used is not None:
            date = self.last_used.get("date")
            used = {"date": isoformat(date) if isinstance(date, datetime.datetime) else None,
                    "service": self.last_used.get("service"), "region": self.last_used.get("region"),
                    "by_keyturn": self.own_use}
        return {"key_id": self.key_id, "state": self.state, "reason": self.reason,
                "cut_over": isoformat(self.cut_over) if self.cut_over else None,
                "retire_at": isoformat(self.retire_at) if self.retire_at else None, "last_used": used}


def judge_retirement(key_id: str, policy: Policy, now: datetime.datetime, cut_over: t.Optional[datetime.datetime],
                     keyturn_last_used: t.Optional[datetime.datetime],
                     used: t.Optional[t.Mapping[str, t.Any]]) -> Retirement:
    """May the replaced key ``key_id`` be retired now, under ``policy``?

    ``cut_over``: when the new key became current (None: unknown, the wait counts as over);
    ``keyturn_last_used``: the last time keyturn itself signed with the key (its own verifications);
    ``used``: IAM's last use (``date``/``service``/``region``), needed when ``policy.retire_when_idle``.
    A last use no later than keyturn's own last signature (+ OWN_USE_SLACK) is keyturn's, not a consumer's.
    """
    if policy.retire_after and cut_over is not None:
        retire_at = cut_over + datetime.timedelta(seconds=policy.retire_after)
        if now < retire_at:
            return Retirement(key_id, "waiting", f"the old key {key_id} stays Active until {isoformat(retire_at)} "
                              f"(retire_after {policy.retire_after}s after the cut-over at {isoformat(cut_over)})",
                              cut_over, retire_at, used)
    if not policy.retire_when_idle:
        return Retirement(key_id, "ready", "no grace period left" if policy.retire_after else "replaced", cut_over,
                          None, used)
    if used is None:
        raise KeyturnError(f"the last use of {key_id} is needed to judge retire_when_idle")  # programming error
    date = used.get("date")
    if date is None:
        return Retirement(key_id, "ready", "IAM shows no use of the old key", cut_over, None, used)
    if keyturn_last_used is not None and date <= keyturn_last_used + OWN_USE_SLACK:
        return Retirement(key_id, "ready", f"IAM's last use of the old key ({isoformat(date)}) was keyturn's own "
                          "verification", cut_over, None, used, own_use=True)
    idle = now - date
    where = ", ".join(str(v) for v in (used.get("service"), used.get("region")) if v) or "service unknown"
    if idle < datetime.timedelta(seconds=policy.retire_when_idle):
        return Retirement(key_id, "in_use", f"the old key {key_id} is still in use: IAM last saw it at {isoformat(date)} "
                          f"({where}), less than retire_when_idle {policy.retire_when_idle}s ago; it stays Active",
                          cut_over, date + datetime.timedelta(seconds=policy.retire_when_idle), used)
    return Retirement(key_id, "ready", f"the old key has been idle since {isoformat(date)} ({where})", cut_over, None, used)


def later_of(*moments: t.Optional[datetime.datetime]) -> t.Optional[datetime.datetime]:
    present = [m for m in moments if m is not None]
    return max(present) if present else None


class UserRotation:
    """One user's run through the protocol.  ``run()`` never raises for a
    per-user failure: it returns the user's result with ``action: failed``."""

    def __init__(self, env: Env, target: Target) -> None:
        self.env = env
        self.target = target
        self.user = target.user_name
        self.name = target.store_name
        self.policy = target.policy
        self.plan: t.List[str] = []
        self.result: t.Dict[str, t.Any] = {
            "user_name": self.user, "store_name": self.name, "account_id": env.account_id,
            "partition": env.partition, "action": "skipped", "changed": False, "reason": "",
            "old_key_id": None, "new_key_id": None,
        }
        self.before_keys: t.List[t.Dict[str, str]] = []
        self.retirement: t.Optional[Retirement] = None  # the previous key's, judged at the start of the run
        self.own_use: t.Dict[str, datetime.datetime] = {}  # key id -> when this run signed with it
        self.is_caller = bool(env.caller_arn and not self.policy.self_rotate
                              and is_user_arn(env.caller_arn, env.partition, env.account_id, self.user))
        # (the engines run such a user last: _task.map_caller_last)

    # -- entry point ----------------------------------------------------------
    def run(self) -> t.Dict[str, t.Any]:
        try:
            if self.env.check_mode:
                self._work()
            else:
                self._with_lease(self._work)
        except Postponed as exc:
            self.result.update(action="skipped", reason=exc.msg)
            self.result.setdefault("warnings", []).append(exc.msg)
        except (KeyturnError, StoreError) as exc:
            self.result.update(action="failed", reason=getattr(exc, "msg", None) or str(exc))
            self._audit("access_key_rotation_failed")
        self.result["plan"] = self.plan
        return self.result

    def _with_lease(self, work: t.Callable[[], None]) -> None:
        with_lease(self.env, self.name, int(self.policy.verify_timeout + 120), work)

    # -- the protocol -----------------------------------------------------------
    def _work(self) -> None:
        env = self.env
        staged = env.store.read(self.name)
        acting = self._acting_connection(staged)
        iam = acting.client("iam")
        keys = list_keys(iam, self.user)
        self.before_keys = [{"access_key_id": k.access_key_id, "status": k.status} for k in keys]

        if staged.pending is not None and staged.pending.get("run_id") != env.run_id:
            resumed = self._recover(staged, keys, acting)
            if resumed:
                return
            if env.check_mode:  # what the real run sees after its clean-up
                staged = staged._replace(pending=None)
                keys = [k for k in keys if k.access_key_id not in self.result.get("recovered_orphans", [])]
            else:
                staged = env.store.read(self.name)
                keys = list_keys(iam, self.user)

        due, why = self._due(staged, keys, acting)
        current_id = record_key_id(staged.current)
        self.result["old_key_id"] = current_id if any(k.access_key_id == current_id for k in keys) else None
        self.retirement = self._judge_previous(staged, keys, acting)
        if not due:
            self.result.update(action="skipped", reason=why)
            self._finish_retire(staged, keys, acting)
            return
        self.result["reason"] = why
        removals, later = self._make_room(staged, keys)
        self.plan.append("create a new access key, store it as pending, verify it with STS")
        self.plan.append("promote the new key to current in the store")
        old = self.result["old_key_id"]
        if old and old not in {key_id for key_id, how in removals}:
            self.plan.append(self._old_key_plan(old))
        for key_id, how in later:
            self.plan.append(f"{how} the unmanaged Active key {key_id} (after the new key is verified)")
        if env.check_mode:
            self.result.update(action="rotated", changed=True, new_key_id=None)
            return
        self._execute(staged, removals, later, acting)

    def _old_key_plan(self, old: str) -> str:
        policy = self.policy
        if policy.retire_after:
            idle = f", and only once IAM shows it idle for {policy.retire_when_idle}s" if policy.retire_when_idle else ""
            return (f"keep the old key {old} Active for {policy.retire_after}s after the cut-over (retire_after); a later "
                    f"run will {self._retire_verb()} it{idle}")
        if policy.retire_when_idle:
            return (f"{self._retire_verb()} the old key {old} unless IAM shows it used (other than by keyturn) in the "
                    f"last {policy.retire_when_idle}s; otherwise keep it Active for a later run")
        return f"{self._retire_verb()} the old key {old}"

    def _judge_previous(self, staged: StagedRecord, keys: t.List[IamKey], acting: AwsConnection) -> t.Optional[Retirement]:
        """The retirement state of the store's previous key when it is still Active in IAM (else None)."""
        previous_id = record_key_id(staged.previous)
        if not previous_id or previous_id == record_key_id(staged.current):
            return None
        key = next((k for k in keys if k.access_key_id == previous_id), None)
        if key is None or key.status != "Active":
            return None
        current = staged.current or {}
        retiring = current.get("retiring") if isinstance(current.get("retiring"), dict) else {}
        if retiring.get("access_key_id") == previous_id:
            cut_over = parse_time(retiring.get("cut_over"))
            own = parse_time(retiring.get("keyturn_last_used"))
        else:  # a record written before deferred retirement existed: its rotation time is the cut-over
            cut_over = parse_time(current.get("rotated"))
            own = parse_time((staged.previous or {}).get("keyturn_used"))
        return self._judge(previous_id, cut_over, own, acting)

    def _judge(self, key_id: str, cut_over: t.Optional[datetime.datetime], own: t.Optional[datetime.datetime],
               acting: AwsConnection) -> Retirement:
        now = self.env.clock()
        waiting = judge_retirement(key_id, dataclasses.replace(self.policy, retire_when_idle=0), now, cut_over, own, None)
        if waiting.state != "ready" or not self.policy.retire_when_idle:
            return waiting
        return judge_retirement(key_id, self.policy, now, cut_over, own, last_used(acting.client("iam"), key_id))

    def _acting_connection(self, staged: StagedRecord) -> AwsConnection:
        if not self.policy.self_rotate:
            return self.env.conn
        if not has_secret(staged.current):
            raise UserFailed(f"self_rotate needs a stored credential for {self.user} in {self.name}; there is none "
                             "(use keyturn.aws.access_key_reconcile with a privileged identity to issue one)")
        current = t.cast(t.Mapping[str, t.Any], staged.current)
        self._note_own_use(str(current["access_key_id"]))
        return self.env.conn.with_credentials(current["access_key_id"], current["secret_access_key"])

    def _note_own_use(self, key_id: str) -> None:
        """keyturn signs with ``key_id`` now: remembered so IAM's last use can be told apart from keyturn's own."""
        self.own_use[key_id] = self.env.clock()

    def _due(self, staged: StagedRecord, keys: t.List[IamKey], acting: AwsConnection) -> t.Tuple[bool, str]:
        policy = self.policy
        current = staged.current
        if policy.force:
            return True, "forced"
        if not has_secret(current):
            return True, "no stored credential"
        current_id = record_key_id(current)
        iam_key = next((k for k in keys if k.access_key_id == current_id), None)
        if iam_key is None:
            return True, f"the stored key {current_id} no longer exists in IAM"
        if iam_key.status != "Active":
            return True, f"the stored key {current_id} is Inactive in IAM"
        if policy.due_when == "invalid":
            self._note_own_use(str(current_id))
            check = verify_key(self.env.conn, t.cast(str, current_id), str(t.cast(dict, current)["secret_access_key"]),
                               partition=self.env.partition, account_id=self.env.account_id, user=self.user,
                               successes=1, timeout=0)
            if not check.ok:
                return True, f"the stored credential does not authenticate: {check.reason}"
            return False, "the stored credential authenticates"
        age = iam_key.age_days(self.env.clock())
        if age >= policy.max_age_days:
            return True, f"the key is {age:.0f} days old (max_age_days {policy.max_age_days})"
        return False, f"the key is {age:.0f} days old (max_age_days {policy.max_age_days})"

    def _retire_verb(self) -> str:
        return "delete" if self.policy.retire == "delete" else "deactivate"

    def _make_room(self, staged: StagedRecord,
                   keys: t.List[IamKey]) -> t.Tuple[t.List[t.Tuple[str, str]], t.List[t.Tuple[str, str]]]:
        """Decide what to remove.  Returns (removals before CreateAccessKey, unmanaged keys to retire only once the
        new key is verified), each as [(key_id, "delete"|"deactivate")].  An unmanaged Active key is removed before
        the new key exists only when there is no other way to get under the 2-key limit (and only when deleting)."""
        current_id = record_key_id(staged.current)
        previous_id = record_key_id(staged.previous)
        mode = self.policy.unmanaged_keys
        unknown_active = [k for k in keys if k.access_key_id not in (current_id, previous_id) and k.status == "Active"]
        for key in unknown_active:
            if mode == "fail":
                raise UserFailed(
                    f"{self.user} has an Active access key {key.access_key_id} that the store ({self.name}) does not "
                    "know; it is never deleted silently. To onboard it, import its secret into the store "
                    "(keyturn.aws.access_key_reconcile with import_credentials), or set unmanaged_keys: deactivate "
                    "(or delete) to retire it"
                )
        later = [(k.access_key_id, mode) for k in unknown_active]
        before: t.List[t.Tuple[str, str]] = []
        if len(keys) < 2:
            return before, later
        waiting = self.retirement is not None and self.retirement.state != "ready"
        unknown_ids = {k.access_key_id for k in unknown_active}

        def rank(key: IamKey) -> int:
            if key.access_key_id in unknown_ids:
                return 9
            if key.access_key_id == previous_id:
                return 9 if waiting else 0
            if key.status != "Active" and key.access_key_id != current_id:
                return 1
            if key.status != "Active":
                return 2
            return 9
        candidates = sorted((k for k in keys if rank(k) < 9), key=rank)
        if candidates:
            victim = candidates[0]
            why = "the store's previous key" if victim.access_key_id == previous_id else "Inactive"
            before.append((victim.access_key_id, "delete"))
            self.plan.append(f"delete key {victim.access_key_id} ({why}) to make room under the 2-key limit")
            return before, later
        if unknown_active and mode == "delete":
            victim = min(unknown_active, key=lambda k: k.created)
            later.remove((victim.access_key_id, "delete"))
            before.append((victim.access_key_id, "delete"))
            self.plan.append(f"delete the unmanaged Active key {victim.access_key_id} before creating the new key "
                             "(no other way under the 2-key limit)")
            return before, later
        listing = ", ".join(f"{k.access_key_id} ({k.status})" for k in keys)
        if waiting:
            judged = t.cast(Retirement, self.retirement)
            self.result["retirement"] = judged.as_result()
            raise Postponed(f"rotation due ({self.result.get('reason')}) but postponed: {judged.reason}, and it fills "
                            f"the second key slot; a run after its retirement rotates")
        if unknown_active:
            names = ", ".join(k.access_key_id for k in unknown_active)
            raise UserFailed(
                f"{self.user} already has 2 access keys ({listing}) and unmanaged_keys: deactivate cannot make room: "
                "an Inactive key still counts toward the limit; nothing was changed. To resolve it: import the "
                f"secret of {names} into the store if it is the key in use (keyturn.aws.access_key_reconcile with "
                "import_credentials), or use unmanaged_keys: delete for this user, or set the key Inactive yourself "
                "(the next rotation deletes an Inactive key to make room)"
            )
        raise UserFailed(
            f"{self.user} already has {len(keys)} access keys and none is provably ours to remove (neither the "
            f"store's previous key nor Inactive); keys: {listing}; nothing was changed. Set the key that is not in "
            "use Inactive (the next rotation deletes it to make room), or import the one in use with "
            "keyturn.aws.access_key_reconcile"
        )

    def _removed_note(self, removals: t.List[t.Tuple[str, str]], later: t.List[t.Tuple[str, str]]) -> str:
        """What the failed rotation left: exactly what was removed and what was kept."""
        parts = [f"key {key_id} had been {'deleted' if how == 'delete' else 'set Inactive'} to make room"
                 for key_id, how in removals]
        old = self.result.get("old_key_id")
        if not old:
            parts.append("there was no stored key")
        elif old not in {removal[0] for removal in removals}:  # an Inactive stored key removed to make room is not kept
            parts.append(f"the stored key {old} was kept")
        if later:
            parts.append("the unmanaged key " + ", ".join(key_id for key_id, _how in later) + " was left untouched")
        return "; ".join(parts)

    def _execute(self, staged: StagedRecord, removals: t.List[t.Tuple[str, str]], later: t.List[t.Tuple[str, str]],
                 acting: AwsConnection) -> None:
        env, store, user = self.env, self.env.store, self.user
        iam = acting.client("iam")
        for key_id, how in removals:
            if how == "delete":
                delete_key(iam, user, key_id)
            else:
                set_status(iam, user, key_id, "Inactive")
        if removals:
            self.result["removed_key_ids"] = [key_id for key_id, _how in removals]
        known = [k.access_key_id for k in list_keys(iam, user)] if removals else [k["access_key_id"] for k in self.before_keys]
        intent = {"kind": RECORD_KIND, "intent": True, "run_id": env.run_id, "started": isoformat(utcnow()),
                  "user_name": user, "account_id": env.account_id, "partition": env.partition, "known_key_ids": known}
        store.write_pending(self.name, intent)
        try:
            new = create_key(acting.client("iam", retries=False), user, sleep=env.sleep)
        except AmbiguousCreate as exc:
            self._remove_unseen_keys(iam, set(known))
            raise UserFailed(f"{exc.msg}; any key it created was removed; {self._removed_note(removals, later)}")
        self.result["new_key_id"] = new["access_key_id"]
        pending = credential_record(user, None, env, new)
        pending["run_id"] = env.run_id
        try:
            store.write_pending(self.name, pending)
        except StoreError as exc:
            delete_key(iam, user, new["access_key_id"])
            self._discard_quietly()
            raise UserFailed(f"could not store the new key (it was deleted again; {self._removed_note(removals, later)}): {exc}")
        self._note_own_use(new["access_key_id"])
        check = verify_key(env.conn, new["access_key_id"], new["secret_access_key"], partition=env.partition,
                           account_id=env.account_id, user=user, successes=self.policy.verify_successes,
                           timeout=self.policy.verify_timeout, interval=self.policy.verify_interval, sleep=env.sleep)
        if not check.ok:
            delete_key(iam, user, new["access_key_id"])
            store.discard_pending(self.name)
            self.result["new_key_id"] = None
            raise UserFailed(f"the new key did not verify ({check.reason}); it was deleted; {self._removed_note(removals, later)}")
        pending.update(user_id=check.user_id, arn=check.arn)
        pending.pop("run_id", None)
        old = self.result["old_key_id"]
        retiring = old if old and old not in {key_id for key_id, how in removals} else None
        self._cut_over(pending, retiring, staged.current)
        store.promote(self.name, pending)  # the verified record becomes current in one step
        self.result.update(action="rotated", changed=True)
        self._switch_task_key(pending)
        if retiring:
            self._after_cut_over(retiring, staged.current, acting)
        self._retire_unmanaged(later)
        self._audit("access_key_rotated")

    def _cut_over(self, record: t.Dict[str, t.Any], old: t.Optional[str], old_record: t.Optional[t.Mapping[str, t.Any]]) -> None:
        """Stamp the record about to become current: keyturn's own last use of the new key, and the old key's
        cut-over (kept so that later runs know when its grace period ends and which uses were keyturn's)."""
        now = self.env.clock()
        record["keyturn_used"] = isoformat(now)  # keyturn has just verified the new key
        record.pop("retiring", None)
        if old:
            own = later_of(self.own_use.get(old), parse_time((old_record or {}).get("keyturn_used")))
            record["retiring"] = {"access_key_id": old, "cut_over": isoformat(now),
                                  "keyturn_last_used": isoformat(own) if own else None}

    def _switch_task_key(self, record: t.Mapping[str, t.Any]) -> None:
        """The task runs as this user: from now on it signs with the new key (never with the one it retires)."""
        if self.is_caller:
            self.env.conn.switch_credentials(str(record["access_key_id"]), str(record["secret_access_key"]))
            self.result["task_key_switched"] = True

    def _after_cut_over(self, old: str, old_record: t.Optional[t.Mapping[str, t.Any]], acting: AwsConnection) -> None:
        """Right after the cut-over: retire the old key now, or leave it Active for a later run."""
        own = later_of(self.own_use.get(old), parse_time((old_record or {}).get("keyturn_used")))
        judged = self._judge(old, self.env.clock(), own, self._post_cut_over_conn())
        if judged.state != "ready":
            self._defer(judged)
            return
        self._retire(old, old_record, judged)

    def _defer(self, judged: Retirement) -> None:
        self.result["retirement"] = judged.as_result()
        if not self.env.check_mode:
            self.env.audit.event(
                "access_key_retirement_pending", run_id=self.env.run_id, account_id=self.env.account_id,
                partition=self.env.partition, user_name=self.user, store_name=self.name, key_id=judged.key_id,
                state=judged.state, reason=judged.reason, retirement=judged.as_result())

    def _post_cut_over_conn(self) -> AwsConnection:
        """The identity for calls after the cut-over: never the old key (self_rotate acts with the new one)."""
        if self.policy.self_rotate:
            latest = self.env.store.read_current(self.name) or {}
            return self.env.conn.with_credentials(latest["access_key_id"], latest["secret_access_key"])
        return self.env.conn

    def _retire_unmanaged(self, later: t.List[t.Tuple[str, str]]) -> None:
        if not later:
            return
        iam = self._post_cut_over_conn().client("iam")
        for key_id, how in later:
            if how == "delete":
                delete_key(iam, self.user, key_id)
            else:
                set_status(iam, self.user, key_id, "Inactive")
        self.result["unmanaged_retired"] = [{"key_id": key_id, "action": how} for key_id, how in later]

    def _finish_retire(self, staged: StagedRecord, keys: t.List[IamKey], acting: AwsConnection) -> None:
        """Retire the store's previous key when it is still alive in IAM: after a run that died before retiring
        it, or once its deferred retirement (retire_after / retire_when_idle) is due under this run's policy."""
        previous_id = record_key_id(staged.previous)
        if not previous_id or previous_id == record_key_id(staged.current):
            return
        key = next((k for k in keys if k.access_key_id == previous_id), None)
        if key is None or (self.policy.retire == "deactivate" and key.status != "Active"):
            return
        judged = self.retirement
        if judged is not None and judged.state != "ready":
            self.plan.append(f"keep the previous key {previous_id} Active: {judged.reason}")
            self._defer(judged)
            return
        why = f": {judged.reason}" if judged is not None and judged.reason != "replaced" else ""
        self.plan.append(f"retire the previous key {previous_id} ({self._retire_verb()}){why}")
        self.result["changed"] = True
        if self.env.check_mode:
            self.result["retirement"] = (judged or Retirement(previous_id, "ready", "Inactive")).as_result()
            return
        self._retire(previous_id, staged.previous, judged or Retirement(previous_id, "ready", "Inactive"),
                     conn=self._post_cut_over_conn() if self.policy.self_rotate else acting)
        self._audit("access_key_retired", retired_key_id=previous_id)

    def _retire(self, old: str, old_record: t.Optional[t.Mapping[str, t.Any]], judged: Retirement,
                conn: t.Optional[AwsConnection] = None) -> None:
        env = self.env
        iam = (conn or self._post_cut_over_conn()).client("iam")
        if self.policy.retire == "delete":
            delete_key(iam, self.user, old)
        else:
            set_status(iam, self.user, old, "Inactive")
        judged.state = "retired"
        self.result["retirement"] = judged.as_result()
        self.result["retired_key_id"] = old
        if self.policy.confirm_retired and has_secret(old_record) and record_key_id(old_record) == old:
            refused = confirm_refused(env.conn, old, str(t.cast(dict, old_record)["secret_access_key"]),
                                      timeout=self.policy.verify_timeout, sleep=env.sleep)
            self.result["old_key_refused"] = refused
            if not refused:
                self.result.setdefault("warnings", []).append(f"the retired key {old} still authenticated after "
                                                              f"{self.policy.verify_timeout:g}s")

    def _recover(self, staged: StagedRecord, keys: t.List[IamKey], acting: AwsConnection) -> bool:
        """Finish or roll back a rotation interrupted by a crashed run.  Returns
        True when the interrupted rotation was completed (nothing more to do)."""
        env = self.env
        pending = t.cast(t.Dict[str, t.Any], staged.pending)
        iam = acting.client("iam")
        pending_id = record_key_id(pending)
        accounted = {record_key_id(staged.current), record_key_id(staged.previous)}
        if pending_id and pending_id == record_key_id(staged.current):
            # The interrupted run had already promoted: only the store's
            # bookkeeping is unfinished.  Complete it; the caller then retires
            # the previous key if the interrupted run did not get to it.
            self.plan.append(f"finish promoting key {pending_id} (an interrupted run promoted it)")
            self.result["changed"] = True
            if not env.check_mode:
                env.store.promote(self.name)
            return False
        if pending_id and has_secret(pending) and any(k.access_key_id == pending_id and k.status == "Active" for k in keys):
            self.plan.append(f"verify and promote key {pending_id} left pending by an interrupted run")
            if env.check_mode:
                self.result.update(action="rotated", changed=True, reason="resume an interrupted rotation",
                                   new_key_id=pending_id, old_key_id=record_key_id(staged.current))
                return True
            self._note_own_use(pending_id)
            check = verify_key(env.conn, pending_id, str(pending["secret_access_key"]), partition=env.partition,
                               account_id=env.account_id, user=self.user, successes=self.policy.verify_successes,
                               timeout=self.policy.verify_timeout, interval=self.policy.verify_interval, sleep=env.sleep)
            if check.ok:
                pending.update(user_id=check.user_id, arn=check.arn)
                pending.pop("run_id", None)
                pending.pop("intent", None)
                old = record_key_id(staged.current)
                retiring = old if old and old != pending_id and any(k.access_key_id == old for k in keys) else None
                self._cut_over(pending, retiring, staged.current)
                env.store.promote(self.name, pending)
                self.result.update(action="rotated", changed=True, reason="resumed an interrupted rotation",
                                   new_key_id=pending_id, old_key_id=old)
                self._switch_task_key(pending)
                if retiring:
                    self._after_cut_over(retiring, staged.current, acting)
                self._audit("access_key_rotated")
                return True
            delete_key(iam, self.user, pending_id)
            env.store.discard_pending(self.name)
            self.result["changed"] = True  # the unverified key and its pending record are gone
            self.plan.append(f"(key {pending_id} did not verify and was deleted)")
            return False
        started = parse_time(pending.get("started"))
        known = set(pending.get("known_key_ids") or [])
        orphans = [k for k in keys if k.access_key_id not in accounted and k.access_key_id not in known
                   and (k.access_key_id == pending_id or (started is not None and k.created >= started - CLOCK_SKEW))]
        for key in orphans:
            self.plan.append(f"delete orphan key {key.access_key_id} created by an interrupted run")
        self.plan.append("drop the interrupted run's pending record")
        if env.check_mode:
            self.result.update(changed=True, recovered_orphans=[k.access_key_id for k in orphans])
            return False
        for key in orphans:
            delete_key(iam, self.user, key.access_key_id)
        env.store.discard_pending(self.name)
        self.result.update(changed=True, recovered_orphans=[k.access_key_id for k in orphans])
        self._audit("access_key_orphans_removed", removed=[k.access_key_id for k in orphans])
        return False

    def _remove_unseen_keys(self, iam: t.Any, known: t.Set[str]) -> None:
        """After an unanswered CreateAccessKey: delete keys that appeared since
        the intent was recorded (their secret was never seen), drop the intent.
        If this fails too, the intent stays and the next run cleans up."""
        for key in list_keys(iam, self.user):
            if key.access_key_id not in known:
                delete_key(iam, self.user, key.access_key_id)
                self.result.setdefault("recovered_orphans", []).append(key.access_key_id)
        self.env.store.discard_pending(self.name)

    def _discard_quietly(self) -> None:
        try:
            self.env.store.discard_pending(self.name)
        except StoreError:
            pass

    def _audit(self, event: str, **extra: t.Any) -> None:
        if self.env.check_mode:
            return
        self.env.audit.event(
            event, run_id=self.env.run_id, account_id=self.env.account_id, partition=self.env.partition,
            user_name=self.user, store_name=self.name, action=self.result.get("action"),
            reason=self.result.get("reason"), old_key_id=self.result.get("old_key_id"),
            new_key_id=self.result.get("new_key_id"), **extra,
        )
