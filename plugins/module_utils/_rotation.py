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

    # -- entry point ----------------------------------------------------------
    def run(self) -> t.Dict[str, t.Any]:
        try:
            if self.env.check_mode:
                self._work()
            else:
                self._with_lease(self._work)
        except (KeyturnError, StoreError) as exc:
            self.result.update(action="failed", reason=getattr(exc, "msg", None) or str(exc))
            self._audit("access_key_rotation_failed")
        self.result["plan"] = self.plan
        return self.result

    def _with_lease(self, work: t.Callable[[], None]) -> None:
        ttl = int(self.policy.verify_timeout + 120)
        with waiting_lease(self.env.store, self.name, self.env.run_id, ttl, self.env.lock_timeout, sleep=self.env.sleep):
            work()

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
        if not due:
            self.result.update(action="skipped", reason=why)
            self._finish_retire(staged, keys, acting)
            return
        self.result["reason"] = why
        removals = self._make_room(staged, keys)
        self.plan.append("create a new access key, store it as pending, verify it with STS")
        self.plan.append("promote the new key to current in the store")
        old = self.result["old_key_id"]
        if old and old not in {key_id for key_id, how in removals}:
            self.plan.append(f"{self._retire_verb()} the old key {old}")
        if env.check_mode:
            self.result.update(action="rotated", changed=True, new_key_id=None)
            return
        self._execute(staged, removals, acting)

    def _acting_connection(self, staged: StagedRecord) -> AwsConnection:
        if not self.policy.self_rotate:
            return self.env.conn
        if not has_secret(staged.current):
            raise UserFailed(f"self_rotate needs a stored credential for {self.user} in {self.name}; there is none "
                             "(use keyturn.aws.access_key_reconcile with a privileged identity to issue one)")
        current = t.cast(t.Mapping[str, t.Any], staged.current)
        return self.env.conn.with_credentials(current["access_key_id"], current["secret_access_key"])

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
            check = verify_key(self.env.conn, t.cast(str, current_id), str(t.cast(dict, current)["secret_access_key"]),
                               partition=self.env.partition, account_id=self.env.account_id, user=self.user,
                               successes=1, timeout=0)
            if not check.ok:
                return True, f"the stored credential does not authenticate: {check.reason}"
            return False, "the stored credential authenticates"
        age = iam_key.age_days()
        if age >= policy.max_age_days:
            return True, f"the key is {age:.0f} days old (max_age_days {policy.max_age_days})"
        return False, f"the key is {age:.0f} days old (max_age_days {policy.max_age_days})"

    def _retire_verb(self) -> str:
        return "delete" if self.policy.retire == "delete" else "deactivate"

    def _make_room(self, staged: StagedRecord, keys: t.List[IamKey]) -> t.List[t.Tuple[str, str]]:
        """Decide what to remove before creating; returns [(key_id, "delete"|"deactivate")]."""
        current_id = record_key_id(staged.current)
        previous_id = record_key_id(staged.previous)
        actions: t.List[t.Tuple[str, str]] = []
        remaining = list(keys)
        unknown_active = [k for k in keys if k.access_key_id not in (current_id, previous_id) and k.status == "Active"]
        for key in unknown_active:
            mode = self.policy.unmanaged_keys
            if mode == "fail":
                raise UserFailed(
                    f"{self.user} has an Active access key {key.access_key_id} that the store ({self.name}) does not "
                    "know; it is never deleted silently. To onboard it, import its secret into the store "
                    "(keyturn.aws.access_key_reconcile with import_credentials), or set unmanaged_keys: deactivate "
                    "(or delete) to retire it"
                )
            actions.append((key.access_key_id, mode))
            self.plan.append(f"{mode} the unmanaged Active key {key.access_key_id}")
            if mode == "delete":
                remaining = [k for k in remaining if k.access_key_id != key.access_key_id]
        if len(remaining) >= 2:
            def rank(key: IamKey) -> int:
                if key.access_key_id == previous_id:
                    return 0
                if key.status != "Active" and key.access_key_id != current_id:
                    return 1
                if key.status != "Active":
                    return 2
                return 9
            candidates = sorted((k for k in remaining if rank(k) < 9 and (k.access_key_id, "deactivate") not in actions),
                                key=rank)
            if not candidates:
                raise UserFailed(
                    f"{self.user} already has {len(remaining)} access keys and none is provably ours to remove "
                    f"(neither the store's previous key nor Inactive); keys: "
                    + ", ".join(f"{k.access_key_id} ({k.status})" for k in remaining)
                )
            victim = candidates[0]
            why = "the store's previous key" if victim.access_key_id == previous_id else "Inactive"
            actions.append((victim.access_key_id, "delete"))
            self.plan.append(f"delete key {victim.access_key_id} ({why}) to make room under the 2-key limit")
        return actions

    def _execute(self, staged: StagedRecord, removals: t.List[t.Tuple[str, str]], acting: AwsConnection) -> None:
        env, store, user = self.env, self.env.store, self.user
        iam = acting.client("iam")
        for key_id, how in removals:
            if how == "delete":
                delete_key(iam, user, key_id)
            else:
                set_status(iam, user, key_id, "Inactive")
        known = [k.access_key_id for k in list_keys(iam, user)] if removals else [k["access_key_id"] for k in self.before_keys]
        intent = {"kind": RECORD_KIND, "intent": True, "run_id": env.run_id, "started": isoformat(utcnow()),
                  "user_name": user, "account_id": env.account_id, "partition": env.partition, "known_key_ids": known}
        store.write_pending(self.name, intent)
        try:
            new = create_key(acting.client("iam", retries=False), user, sleep=env.sleep)
        except AmbiguousCreate as exc:
            self._remove_unseen_keys(iam, set(known))
            raise UserFailed(f"{exc.msg}; any key it created was removed and the old key is untouched")
        self.result["new_key_id"] = new["access_key_id"]
        pending = credential_record(user, None, env, new)
        pending["run_id"] = env.run_id
        try:
            store.write_pending(self.name, pending)
        except StoreError as exc:
            delete_key(iam, user, new["access_key_id"])
            self._discard_quietly()
            raise UserFailed(f"could not store the new key (it was deleted again; the old key is untouched): {exc}")
        check = verify_key(env.conn, new["access_key_id"], new["secret_access_key"], partition=env.partition,
                           account_id=env.account_id, user=user, successes=self.policy.verify_successes,
                           timeout=self.policy.verify_timeout, interval=self.policy.verify_interval, sleep=env.sleep)
        if not check.ok:
            delete_key(iam, user, new["access_key_id"])
            store.discard_pending(self.name)
            self.result["new_key_id"] = None
            raise UserFailed(f"the new key did not verify ({check.reason}); it was deleted and the old key kept")
        pending.update(user_id=check.user_id, arn=check.arn)
        pending.pop("run_id", None)
        store.write_pending(self.name, pending)
        store.promote(self.name)
        self.result.update(action="rotated", changed=True)
        old = self.result["old_key_id"]
        if old and old not in {key_id for key_id, how in removals}:
            self._retire(old, staged, check)
        self._audit("access_key_rotated")

    def _finish_retire(self, staged: StagedRecord, keys: t.List[IamKey], acting: AwsConnection) -> None:
        """A run that promoted a new key but died before retiring the old one
        leaves the store's previous key alive in IAM: retire it now."""
        previous_id = record_key_id(staged.previous)
        if not previous_id or previous_id == record_key_id(staged.current):
            return
        key = next((k for k in keys if k.access_key_id == previous_id), None)
        if key is None or (self.policy.retire == "deactivate" and key.status != "Active"):
            return
        self.plan.append(f"finish retiring the previous key {previous_id} ({self._retire_verb()})")
        self.result["changed"] = True
        if self.env.check_mode:
            return
        iam = acting.client("iam")
        if self.policy.retire == "delete":
            delete_key(iam, self.user, previous_id)
        else:
            set_status(iam, self.user, previous_id, "Inactive")
        self._audit("access_key_retired", retired_key_id=previous_id)

    def _retire(self, old: str, staged: StagedRecord, check: t.Any) -> None:
        env = self.env
        new_conn = env.conn
        if self.policy.self_rotate:  # the old key is on its way out: act with the new one
            latest = env.store.read(self.name).current or {}
            new_conn = env.conn.with_credentials(latest["access_key_id"], latest["secret_access_key"])
        iam = new_conn.client("iam")
        if self.policy.retire == "delete":
            delete_key(iam, self.user, old)
        else:
            set_status(iam, self.user, old, "Inactive")
        if self.policy.confirm_retired and has_secret(staged.current):
            refused = confirm_refused(env.conn, old, str(t.cast(dict, staged.current)["secret_access_key"]),
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
            check = verify_key(env.conn, pending_id, str(pending["secret_access_key"]), partition=env.partition,
                               account_id=env.account_id, user=self.user, successes=self.policy.verify_successes,
                               timeout=self.policy.verify_timeout, interval=self.policy.verify_interval, sleep=env.sleep)
            if check.ok:
                pending.update(user_id=check.user_id, arn=check.arn)
                pending.pop("run_id", None)
                pending.pop("intent", None)
                env.store.write_pending(self.name, pending)
                env.store.promote(self.name)
                old = record_key_id(staged.current)
                self.result.update(action="rotated", changed=True, reason="resumed an interrupted rotation",
                                   new_key_id=pending_id, old_key_id=old)
                if old and old != pending_id and any(k.access_key_id == old for k in keys):
                    self._retire(old, staged, check)
                self._audit("access_key_rotated")
                return True
            delete_key(iam, self.user, pending_id)
            env.store.discard_pending(self.name)
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
