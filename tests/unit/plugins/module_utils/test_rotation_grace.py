# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deferred retirement (retire_after / retire_when_idle), keyturn's own use, rollback and unmanaged keys, driven
through the rotation engine with a real file store, a fake IAM/STS that records who signed each call, and an
injected clock (no real waiting anywhere)."""

from __future__ import annotations

import datetime
import itertools
import typing as t

import botocore.exceptions
import pytest

from ansible_collections.keyturn.aws.plugins.module_utils._access_key_rollback import UserRollback
from ansible_collections.keyturn.aws.plugins.module_utils._audit import AuditLog
from ansible_collections.keyturn.aws.plugins.module_utils._rotation import (
    OWN_USE_SLACK,
    Env,
    Policy,
    Target,
    UserRotation,
    judge_retirement,
)
from ansible_collections.keyturn.aws.plugins.plugin_utils._store_file import FileStore, vault_secrets_from_password

ACCOUNT = "123456789012"
T0 = datetime.datetime(2026, 1, 10, 12, 0, 0, tzinfo=datetime.timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += datetime.timedelta(seconds=seconds)


def refused(operation: str) -> botocore.exceptions.ClientError:
    return botocore.exceptions.ClientError({"Error": {"Code": "InvalidClientTokenId", "Message": "invalid"}}, operation)


class FakeAws:
    """IAM keys of a few users; every call is signed by a key, which is checked and marked used."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.ids = itertools.count(1)
        self.keys: t.Dict[str, t.Dict[str, t.Any]] = {}
        self.signed: t.List[t.Tuple[datetime.datetime, str, str]] = []  # (when, key id, operation)
        self.admin = self.add_key("admin")

    def add_key(self, user: str, status: str = "Active") -> t.Tuple[str, str]:
        number = next(self.ids)
        key_id, secret = f"AKIAFAKE{number:012d}", f"secret-{number:04d}-" + "x" * 28
        self.keys[key_id] = {"user": user, "secret": secret, "status": status, "created": self.clock(), "last_used": None}
        return key_id, secret

    def sign(self, creds: t.Tuple[str, str], operation: str, service: str) -> str:
        key = self.keys.get(creds[0])
        if key is None or key["secret"] != creds[1] or key["status"] != "Active":
            raise refused(operation)
        self.signed.append((self.clock(), creds[0], operation))
        key["last_used"] = (self.clock(), service, "us-east-1")
        return str(key["user"])

    def use(self, key_id: str, when: datetime.datetime, service: str = "s3", region: str = "eu-west-1") -> None:
        """An application used the key (IAM's last-use record)."""
        self.keys[key_id]["last_used"] = (when, service, region)

    def of(self, user: str) -> t.Dict[str, str]:
        return {k: v["status"] for k, v in self.keys.items() if v["user"] == user}


class FakeIam:
    def __init__(self, conn: "FakeConn") -> None:
        self.conn, self.aws = conn, conn.aws

    def _sign(self, operation: str) -> None:
        self.aws.sign(self.conn.creds, operation, "iam")

    def list_access_keys(self, UserName: str) -> t.Dict[str, t.Any]:
        self._sign("ListAccessKeys")
        return {"AccessKeyMetadata": [{"AccessKeyId": k, "Status": v["status"], "CreateDate": v["created"]}
                                      for k, v in self.aws.keys.items() if v["user"] == UserName]}

    def create_access_key(self, UserName: str) -> t.Dict[str, t.Any]:
        self._sign("CreateAccessKey")
        key_id, secret = self.aws.add_key(UserName)
        return {"AccessKey": {"AccessKeyId": key_id, "SecretAccessKey": secret, "CreateDate": self.aws.clock()}}

    def delete_access_key(self, UserName: str, AccessKeyId: str) -> None:
        self._sign("DeleteAccessKey")
        self.aws.keys.pop(AccessKeyId)

    def update_access_key(self, UserName: str, AccessKeyId: str, Status: str) -> None:
        self._sign("UpdateAccessKey")
        self.aws.keys[AccessKeyId]["status"] = Status

    def get_access_key_last_used(self, AccessKeyId: str) -> t.Dict[str, t.Any]:
        self._sign("GetAccessKeyLastUsed")
        used = self.aws.keys[AccessKeyId]["last_used"]
        if used is None:
            return {"AccessKeyLastUsed": {"ServiceName": "N/A", "Region": "N/A"}}
        return {"AccessKeyLastUsed": {"LastUsedDate": used[0], "ServiceName": used[1], "Region": used[2]}}


class FakeSts:
    def __init__(self, conn: "FakeConn") -> None:
        self.conn = conn

    def get_caller_identity(self) -> t.Dict[str, str]:
        user = self.conn.aws.sign(self.conn.creds, "GetCallerIdentity", "sts")
        return {"Arn": f"arn:aws:iam::{ACCOUNT}:user/{user}", "UserId": f"AID{user.upper()}", "Account": ACCOUNT}


class FakeConn:
    partition = "aws"
    region = "us-east-1"

    def __init__(self, aws: FakeAws, creds: t.Tuple[str, str]) -> None:
        self.aws, self.creds = aws, creds

    def client(self, service: str, region: t.Optional[str] = None, retries: bool = True) -> t.Any:
        return FakeIam(self) if service == "iam" else FakeSts(self)

    def keyed_client(self, service: str, access_key: str, secret_key: str, session_token: t.Optional[str] = None) -> t.Any:
        return self.with_credentials(access_key, secret_key, session_token).client(service)

    def with_credentials(self, access_key: str, secret_key: str, session_token: t.Optional[str] = None) -> "FakeConn":
        return FakeConn(self.aws, (access_key, secret_key))

    def switch_credentials(self, access_key: str, secret_key: str) -> None:
        self.creds = (access_key, secret_key)


class World:
    def __init__(self, tmp_path: t.Any) -> None:
        self.clock = Clock()
        self.aws = FakeAws(self.clock)
        self.store = FileStore(str(tmp_path / "store.vault.yml"), vault_secrets_from_password("unit-test-password"))
        self.audit_path = str(tmp_path / "audit.jsonl")
        self.conn = FakeConn(self.aws, self.aws.admin)

    def env(self, check_mode: bool = False, caller_arn: t.Optional[str] = None) -> Env:
        return Env(conn=t.cast(t.Any, self.conn), store=self.store, account_id=ACCOUNT, partition="aws",
                   run_id="run-" + str(self.clock().timestamp()), check_mode=check_mode,
                   audit=AuditLog(self.audit_path), sleep=lambda seconds: None, clock=self.clock, caller_arn=caller_arn)

    def rotate(self, user: str = "alice", check_mode: bool = False, **policy: t.Any) -> t.Dict[str, t.Any]:
        policy.setdefault("verify_interval", 0.0)
        return UserRotation(self.env(check_mode), Target(user, f"{ACCOUNT}/{user}", Policy(**policy))).run()

    def rollback(self, user: str = "alice", check_mode: bool = False, new_key: str = "deactivate") -> t.Dict[str, t.Any]:
        target = Target(user, f"{ACCOUNT}/{user}", Policy(verify_interval=0.0, verify_timeout=0))
        return UserRollback(self.env(check_mode), target, new_key).run()

    def current(self, user: str = "alice") -> t.Dict[str, t.Any]:
        return t.cast(t.Dict[str, t.Any], self.store.read(f"{ACCOUNT}/{user}").current)

    def age(self, key_id: str, days: float) -> None:
        self.aws.keys[key_id]["created"] -= datetime.timedelta(days=days)


@pytest.fixture
def world(tmp_path: t.Any) -> World:
    return World(tmp_path)


def onboard(world: World, user: str = "alice") -> str:
    first = world.rotate(user)
    assert first["action"] == "rotated", first
    key_id = str(first["new_key_id"])
    world.age(key_id, 100)
    world.clock.advance(60)
    return key_id


# -- the pure decision -------------------------------------------------------------------------------------------
def used(when: t.Optional[datetime.datetime]) -> t.Dict[str, t.Any]:
    return {"date": when, "service": "s3", "region": "eu-west-1"}


def test_judge_waits_for_retire_after_then_is_ready() -> None:
    policy = Policy(retire_after=600)
    waiting = judge_retirement("AKIAOLD", policy, T0 + datetime.timedelta(seconds=599), T0, None, None)
    assert waiting.state == "waiting" and waiting.retire_at == T0 + datetime.timedelta(seconds=600)
    assert "retire_after 600s" in waiting.reason
    assert judge_retirement("AKIAOLD", policy, T0 + datetime.timedelta(seconds=600), T0, None, None).state == "ready"
    # an unknown cut-over (a record from before grace periods) does not keep a key forever
    assert judge_retirement("AKIAOLD", policy, T0, None, None, None).state == "ready"


def test_judge_idle_check_tells_keyturns_own_use_apart() -> None:
    policy = Policy(retire_when_idle=3600)
    now = T0 + datetime.timedelta(hours=1)
    recent = judge_retirement("AKIAOLD", policy, now, T0, None, used(now - datetime.timedelta(minutes=10)))
    assert recent.state == "in_use" and "eu-west-1" in recent.reason and "s3" in recent.reason
    assert recent.as_result()["last_used"]["by_keyturn"] is False
    idle = judge_retirement("AKIAOLD", policy, now, T0, None, used(now - datetime.timedelta(hours=2)))
    assert idle.state == "ready" and "idle since" in idle.reason
    assert judge_retirement("AKIAOLD", policy, now, T0, None, used(None)).state == "ready"
    own_time = now - datetime.timedelta(minutes=5)
    own = judge_retirement("AKIAOLD", policy, now, T0, own_time, used(own_time + OWN_USE_SLACK))
    assert own.state == "ready" and own.own_use and "keyturn's own" in own.reason
    after = judge_retirement("AKIAOLD", policy, now, T0, own_time,
                             used(own_time + OWN_USE_SLACK + datetime.timedelta(seconds=1)))
    assert after.state == "in_use" and not after.own_use


def test_judge_wait_comes_before_the_idle_check() -> None:
    policy = Policy(retire_after=600, retire_when_idle=60)
    early = judge_retirement("AKIAOLD", policy, T0 + datetime.timedelta(seconds=10), T0, None, used(None))
    assert early.state == "waiting"


# -- the engine --------------------------------------------------------------------------------------------------
def test_deferred_retirement_across_runs(world: World) -> None:
    old = onboard(world)
    rotated = world.rotate(retire_after=3600)
    new = rotated["new_key_id"]
    assert rotated["action"] == "rotated" and rotated["retirement"]["state"] == "waiting"
    assert world.aws.of("alice") == {old: "Active", new: "Active"}
    record = world.current()
    assert record["access_key_id"] == new
    assert record["retiring"]["access_key_id"] == old and record["retiring"]["cut_over"] == "2026-01-10T12:01:00Z"
    cut_over = world.clock()

    world.clock.advance(1800)
    assert world.rotate(retire_after=3600)["retirement"]["state"] == "waiting"
    # a later run with a shorter grace judges by its own policy
    world.clock.advance(60)
    plan = world.rotate(retire_after=1800, check_mode=True)
    assert plan["changed"] is True and plan["retirement"]["state"] == "ready"
    assert world.aws.of("alice") == {old: "Active", new: "Active"}
    done = world.rotate(retire_after=1800)
    assert done["action"] == "skipped" and done["retired_key_id"] == old
    assert world.aws.of("alice") == {new: "Active"}
    # keyturn never signed with the old key after the cut-over
    assert not [call for call in world.aws.signed if call[1] == old and call[0] >= cut_over]


def test_due_rotation_is_postponed_while_the_old_key_waits(world: World) -> None:
    old = onboard(world)
    new = world.rotate(retire_after=3600)["new_key_id"]
    forced = world.rotate(retire_after=3600, force=True)
    assert forced["action"] == "skipped" and "postponed" in forced["reason"] and forced["warnings"]
    assert world.aws.of("alice") == {old: "Active", new: "Active"} and world.current()["access_key_id"] == new


def test_retire_when_idle_keeps_a_used_key_and_reports_it(world: World) -> None:
    old = onboard(world)
    world.clock.advance(600)
    world.aws.use(old, world.clock())  # an application, after keyturn's verification
    world.clock.advance(60)
    rotated = world.rotate(retire_when_idle=3600)
    assert rotated["retirement"]["state"] == "in_use"
    assert rotated["retirement"]["last_used"] == {"date": "2026-01-10T12:11:00Z", "service": "s3",
                                                  "region": "eu-west-1", "by_keyturn": False}
    assert world.aws.of("alice")[old] == "Active"
    world.clock.advance(1800)
    assert world.rotate(retire_when_idle=3600)["retirement"]["state"] == "in_use"
    world.clock.advance(1800)
    done = world.rotate(retire_when_idle=3600)
    assert done["retired_key_id"] == old and old not in world.aws.of("alice")


def test_self_rotate_signature_with_the_old_key_is_keyturns_own_use(world: World) -> None:
    """With self_rotate keyturn signs with the old key up to the cut-over: IAM's last use then is keyturn's."""
    old = onboard(world)
    world.clock.advance(3600)
    rotated = world.rotate(retire_when_idle=86400, self_rotate=True)
    assert rotated["action"] == "rotated"
    assert rotated["retirement"]["state"] == "retired", rotated
    assert rotated["retirement"]["last_used"]["by_keyturn"] is True
    assert old not in world.aws.of("alice")
    # the retirement itself was signed with the new key
    deletes = [call for call in world.aws.signed if call[2] == "DeleteAccessKey"]
    assert deletes and deletes[-1][1] == rotated["new_key_id"]


def test_rollback_swaps_back_and_is_idempotent(world: World) -> None:
    old = onboard(world)
    new = world.rotate(retire_after=3600)["new_key_id"]
    plan = world.rollback(check_mode=True)
    assert plan["action"] == "rolled_back" and world.current()["access_key_id"] == new
    done = world.rollback()
    assert done["action"] == "rolled_back" and done["restored_key_id"] == old and done["rolled_back_key_id"] == new
    assert done["plan"] == plan["plan"]
    staged = world.store.read(f"{ACCOUNT}/alice")
    assert staged.current["access_key_id"] == old and staged.previous["access_key_id"] == new
    assert "retiring" not in staged.current and staged.current["rolled_back_from"] == new
    assert world.aws.of("alice") == {old: "Active", new: "Inactive"}
    again = world.rollback()
    assert again["action"] == "skipped" and again["changed"] is False
    # the next rotation does not roll forward to the Inactive key: it is the previous one, removed to make room
    rotated = world.rotate(force=True)
    assert rotated["action"] == "rotated" and new not in world.aws.of("alice")


def test_rollback_that_does_not_verify_changes_nothing(world: World) -> None:
    old = onboard(world)
    new = world.rotate(retire="deactivate")["new_key_id"]
    staged = world.store.read(f"{ACCOUNT}/alice")
    world.aws.keys[old]["secret"] = "rotated-out-of-band"  # the stored previous secret no longer works
    failed = world.rollback()
    assert failed["action"] == "failed" and "did not verify" in failed["reason"]
    assert f"{old} was set Inactive again" in failed["reason"]
    assert world.aws.of("alice") == {old: "Inactive", new: "Active"}
    assert world.store.read(f"{ACCOUNT}/alice") == staged


def test_unmanaged_deactivate_without_room_plans_what_it_does(world: World) -> None:
    onboard(world)
    world.aws.add_key("alice")  # an Active key the store does not know
    before = dict(world.aws.of("alice"))
    plan = world.rotate(force=True, unmanaged_keys="deactivate", check_mode=True)
    real = world.rotate(force=True, unmanaged_keys="deactivate")
    assert plan["action"] == real["action"] == "failed" and plan["reason"] == real["reason"]
    assert "cannot make room" in real["reason"] and "nothing was changed" in real["reason"]
    assert world.aws.of("alice") == before


def test_task_rotating_its_own_user_switches_to_the_new_key(world: World) -> None:
    env = world.env(caller_arn=f"arn:aws:iam::{ACCOUNT}:user/admin")
    rotation = UserRotation(env, Target("admin", f"{ACCOUNT}/admin", Policy(unmanaged_keys="delete", verify_interval=0.0)))
    assert rotation.is_caller
    result = rotation.run()
    assert result["action"] == "rotated" and result["task_key_switched"] is True
    new = result["new_key_id"]
    assert world.conn.creds[0] == new and world.aws.admin[0] not in world.aws.keys
    deletes = [call for call in world.aws.signed if call[2] == "DeleteAccessKey"]
    assert deletes[-1][1] == new  # the task's old key was deleted by a call signed with the new one
