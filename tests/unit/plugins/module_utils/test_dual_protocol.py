# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""dual_account_swap's state machine (DESIGN §3) with Stubber-backed IAM/STS and an in-memory store."""

from __future__ import annotations

import datetime
import socket

import pytest

from ansible_collections.keyturn.aws.plugins.module_utils import _dual
from ansible_collections.keyturn.aws.plugins.module_utils._audit import isoformat
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._dual import PAIR_KIND, DualSwap, check_input
from ansible_collections.keyturn.aws.plugins.module_utils._errors import KeyturnError, ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._rotation import RECORD_KIND
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import StoreError
from protocol_fakes import ACCOUNT, NOW, PARTITION, FakeConnection, days_ago, dead_pid, key_id, read_audit

PAIR = "pairs/app"
BLUE, GREEN = "app-blue", "app-green"
BLUE_NAME, GREEN_NAME = f"{ACCOUNT}/{BLUE}", f"{ACCOUNT}/{GREEN}"
B1, B2, G1, G2 = key_id(11), key_id(12), key_id(21), key_id(22)
RUN = "run-dual"


class FakeTask:
    """What DualSwap needs of a TaskEnv, without STS or option parsing."""

    def __init__(self, aws, store, audit, sleeper, lock_timeout=0):
        self.conn = FakeConnection(aws)
        self.store = store
        self.account_id = ACCOUNT
        self.partition = PARTITION
        self.run_id = RUN
        self.audit = audit
        self.lock_timeout = lock_timeout
        self.sleep = sleeper
        self.identity = {"arn": f"arn:{PARTITION}:iam::{ACCOUNT}:user/keyturn-admin", "account": ACCOUNT}

    def require_store(self):
        return self.store

    def preflight_store(self, name):
        self.store.read(name)


def params(**extra):
    base = {"pair": PAIR, "users": [BLUE, GREEN], "grace_period": 3600, "check_permissions": False,
            "max_age_days": 90, "force": False, "retire": "delete", "unmanaged_keys": "fail", "verify_successes": 2,
            "verify_timeout": 60, "confirm_retired": False}
    base.update(extra)
    return base


def cred(user, kid):
    return {"kind": RECORD_KIND, "access_key_id": kid, "secret_access_key": "secret-" + kid, "user_name": user,
            "account_id": ACCOUNT, "partition": PARTITION}


def pair_record(active=BLUE, **extra):
    record = {"kind": PAIR_KIND, "users": [BLUE, GREEN], "active": active, "inactive": GREEN if active == BLUE else BLUE,
              "swapped_at": None, "rotation_pending": False, "initialized_at": isoformat(days_ago(200)),
              "account_id": ACCOUNT, "partition": PARTITION}
    record.update(extra)
    return record


@pytest.fixture
def swap(aws, store, audit, sleeper):
    def build(check_mode=False, diff=False, lock_timeout=0, clock=NOW, **extra):
        task = FakeTask(aws, store, audit, sleeper, lock_timeout)
        ctx = RunContext(check_mode=check_mode, diff=diff)
        return DualSwap(task, params(**extra), ctx, PAIR, [BLUE, GREEN], clock=lambda: clock)
    return build


def events(audit_path):
    return [line["event"] for line in read_audit(audit_path)]


def seed_pair(store, record, blue=B1, green=G1):
    store.seed(PAIR, current=record)
    if blue:
        store.seed(BLUE_NAME, current=cred(BLUE, blue))
    if green:
        store.seed(GREEN_NAME, current=cred(GREEN, green))


# -- init ------------------------------------------------------------------------

def test_init_gives_both_members_managed_keys_and_writes_the_record(swap, aws, store, audit_path):
    aws.list_keys(BLUE).list_keys(GREEN)
    aws.list_keys(BLUE).create(BLUE, B1, "sb", created=NOW)
    aws.identity(BLUE, times=2)
    aws.list_keys(GREEN).create(GREEN, G1, "sg", created=NOW)
    aws.identity(GREEN, times=2)
    aws.list_keys(BLUE, (B1, "Active", NOW))
    result = swap().run()
    aws.done()
    assert (result["step"], result["changed"], result["active_user"], result["inactive_user"]) == (
        "initialized", True, BLUE, GREEN)
    assert result["reason"] == f"{BLUE} has no stored credential in {BLUE_NAME}; {GREEN} has no stored credential in {GREEN_NAME}"
    assert result["next_step_after"] == isoformat(NOW + datetime.timedelta(days=90))
    assert [r["action"] for r in result["results"]] == ["rotated", "rotated"]
    record = store.read(PAIR).current
    assert record["kind"] == PAIR_KIND and record["active"] == BLUE and record["rotation_pending"] is False
    assert record["member_names"] == {BLUE: BLUE_NAME, GREEN: GREEN_NAME}
    assert store.read(BLUE_NAME).current["access_key_id"] == B1
    assert events(audit_path) == ["access_key_rotated", "access_key_rotated", "dual_pair_initialized"]
    assert store.leases == {}


def test_init_in_check_mode_plans_without_changes(swap, aws, store, audit_path):
    aws.list_keys(BLUE).list_keys(GREEN).list_keys(BLUE).list_keys(GREEN)
    result = swap(check_mode=True, diff=True).run()
    aws.done()
    assert result["step"] == "initialized" and result["changed"] is True
    assert result["msg"] == f"pair {PAIR} would initialize: {BLUE} active, {GREEN} standby"
    assert result["next_step_after"] is None
    assert result["diff"]["before"] == {} and result["diff"]["after"]["active"] == BLUE
    assert store.records == {} and events(audit_path) == []


def test_repair_reissues_only_the_member_that_lost_its_key(swap, aws, store):
    seed_pair(store, pair_record())
    aws.list_keys(BLUE, (B1, "Active", days_ago(10))).list_keys(GREEN)
    aws.list_keys(GREEN).create(GREEN, G2, "sg", created=NOW).identity(GREEN, times=2)
    aws.list_keys(BLUE, (B1, "Active", days_ago(10)))
    result = swap().run()
    aws.done()
    assert result["step"] == "initialized"
    assert result["reason"] == f"the stored key {G1} of {GREEN} no longer exists in IAM"
    assert [r["user_name"] for r in result["results"]] == [GREEN]
    record = store.read(PAIR).current
    assert record["active"] == BLUE and "repaired_at" in record and record["initialized_at"] == isoformat(days_ago(200))
    assert result["next_step_after"] == isoformat(days_ago(10) + datetime.timedelta(days=90))


def test_init_stops_when_a_member_cannot_get_a_key(swap, aws, store, audit_path):
    aws.list_keys(BLUE, (B2, "Active", days_ago(3))).list_keys(GREEN)
    aws.list_keys(BLUE, (B2, "Active", days_ago(3)))
    result = swap().run()
    aws.done()
    assert result["failed"] is True
    assert result["msg"].startswith(f"pair {PAIR}: could not give {BLUE} a managed key: {BLUE} has an Active access key {B2}")
    assert store.read(PAIR).current is None
    assert "dual_pair_initialized" not in events(audit_path)


# -- swap ------------------------------------------------------------------------

def test_swap_verifies_the_standby_then_flips_the_active_member(swap, aws, store, audit_path):
    seed_pair(store, pair_record())
    aws.list_keys(BLUE, (B1, "Active", days_ago(100))).list_keys(GREEN, (G1, "Active", days_ago(20)))
    aws.identity(GREEN, times=2)
    result = swap(diff=True).run()
    aws.done()
    assert (result["step"], result["active_user"], result["inactive_user"]) == ("swapped", GREEN, BLUE)
    assert result["reason"] == f"the active member {BLUE}'s key is 100 days old (max_age_days 90)"
    assert result["standby_verification"] == {"user_name": GREEN, "access_key_id": G1, "ok": True, "reason": "authenticates"}
    assert result["next_step_after"] == isoformat(NOW + datetime.timedelta(seconds=3600))
    record = store.read(PAIR).current
    assert (record["active"], record["inactive"], record["rotation_pending"], record["previous_active"]) == (
        GREEN, BLUE, True, BLUE)
    assert record["swapped_at"] == isoformat(NOW)
    assert result["diff"] == {"before": {"users": [BLUE, GREEN], "active": BLUE, "inactive": GREEN, "swapped_at": None,
                                         "rotation_pending": False},
                              "after": {"users": [BLUE, GREEN], "active": GREEN, "inactive": BLUE,
                                        "swapped_at": isoformat(NOW), "rotation_pending": True}}
    assert ("sts", G1, True) in aws.asked
    assert events(audit_path) == ["dual_pair_swapped"]


def test_forced_swap_in_check_mode_verifies_once_and_writes_nothing(swap, aws, store):
    seed_pair(store, pair_record())
    aws.list_keys(BLUE, (B1, "Active", days_ago(1))).list_keys(GREEN, (G1, "Active", days_ago(20)))
    aws.identity(GREEN)
    result = swap(check_mode=True, force=True).run()
    aws.done()
    assert (result["step"], result["reason"]) == ("swapped", "forced")
    assert result["msg"].startswith(f"pair {PAIR} would swap")
    assert store.read(PAIR).current["active"] == BLUE


def test_swap_refused_when_the_standby_does_not_authenticate(swap, aws, store, audit_path):
    seed_pair(store, pair_record())
    aws.list_keys(BLUE, (B1, "Active", days_ago(100))).list_keys(GREEN, (G1, "Active", days_ago(20)))
    aws.refused()
    result = swap(verify_timeout=0).run()
    aws.done()
    assert result["failed"] is True and result["step"] == "swapped" and result["changed"] is False
    assert result["msg"].startswith(f"pair {PAIR}: the standby member {GREEN}'s stored key {G1} does not authenticate")
    assert store.read(PAIR).current["active"] == BLUE and events(audit_path) == []


def test_nothing_to_do_says_when_the_next_swap_is_due(swap, aws, store):
    seed_pair(store, pair_record())
    aws.list_keys(BLUE, (B1, "Active", days_ago(10))).list_keys(GREEN, (G1, "Active", days_ago(20)))
    result = swap().run()
    aws.done()
    assert (result["step"], result["changed"]) == ("none", False)
    assert result["next_step_after"] == isoformat(days_ago(10) + datetime.timedelta(days=90))
    assert result["msg"] == f"pair {PAIR}: nothing to do (the active member {BLUE}'s key is 10 days old (max_age_days 90))"


# -- after the swap: grace period, rotate the inactive member (and its recovery) ---------------

def swapped(minutes_ago):
    at = isoformat(NOW - datetime.timedelta(minutes=minutes_ago))
    return pair_record(active=GREEN, swapped_at=at, rotation_pending=True, previous_active=BLUE)


def test_grace_period_not_passed_waits(swap, aws, store):
    seed_pair(store, swapped(10))
    aws.list_keys(BLUE, (B1, "Active", days_ago(100))).list_keys(GREEN, (G1, "Active", days_ago(20)))
    result = swap().run()
    aws.done()
    assert result["step"] == "none" and result["changed"] is False
    assert result["next_step_after"] == isoformat(NOW - datetime.timedelta(minutes=10) + datetime.timedelta(seconds=3600))
    assert "has not passed yet" in result["reason"]


def test_after_the_grace_period_the_inactive_member_is_rotated(swap, aws, store, audit_path):
    seed_pair(store, swapped(61))
    aws.list_keys(BLUE, (B1, "Active", days_ago(100))).list_keys(GREEN, (G1, "Active", days_ago(20)))
    aws.list_keys(BLUE, (B1, "Active", days_ago(100))).create(BLUE, B2, "sb", created=NOW)
    aws.identity(BLUE, times=2).delete(BLUE, B1)
    aws.list_keys(GREEN, (G1, "Active", days_ago(20)))
    result = swap().run()
    aws.done()
    assert (result["step"], result["active_user"], result["inactive_user"]) == ("rotated_inactive", GREEN, BLUE)
    assert result["results"][0]["reason"] == "forced" and result["results"][0]["new_key_id"] == B2
    record = store.read(PAIR).current
    assert record["rotation_pending"] is False and record["inactive_rotated_at"] == isoformat(NOW)
    assert result["next_step_after"] == isoformat(days_ago(20) + datetime.timedelta(days=90))
    assert events(audit_path) == ["access_key_rotated", "dual_pair_inactive_rotated"]
    assert read_audit(audit_path)[1]["new_key_id"] == B2


def test_recovery_never_rotates_the_inactive_member_twice(swap, aws, store, audit_path):
    """A run rotated the inactive member after the swap, then died before recording it:
    the next run only finishes that rotation's clean-up (retire the previous key)."""
    seed_pair(store, swapped(61), blue=B2)
    store.seed(BLUE_NAME, current=cred(BLUE, B2), previous=cred(BLUE, B1))
    fresh = NOW - datetime.timedelta(minutes=5)
    aws.list_keys(BLUE, (B1, "Active", days_ago(100)), (B2, "Active", fresh)).list_keys(GREEN, (G1, "Active", days_ago(20)))
    aws.list_keys(BLUE, (B1, "Active", days_ago(100)), (B2, "Active", fresh)).delete(BLUE, B1)
    aws.list_keys(GREEN, (G1, "Active", days_ago(20)))
    result = swap().run()
    aws.done()
    assert result["step"] == "rotated_inactive"
    assert result["results"][0]["action"] == "skipped"
    assert result["results"][0]["plan"] == [f"retire the previous key {B1} (delete)"]
    assert store.read(PAIR).current["rotation_pending"] is False
    assert events(audit_path) == ["access_key_retired", "dual_pair_inactive_rotated"]


def test_a_failed_rotation_of_the_inactive_member_keeps_the_record_pending(swap, aws, store):
    seed_pair(store, swapped(61))
    aws.list_keys(BLUE, (B1, "Active", days_ago(100))).list_keys(GREEN, (G1, "Active", days_ago(20)))
    aws.list_keys(BLUE, (B1, "Active", days_ago(100))).create_error(BLUE, "LimitExceeded", 409)
    result = swap().run()
    aws.done()
    assert result["failed"] is True
    assert result["msg"].startswith(f"pair {PAIR}: could not rotate the inactive member {BLUE}: ")
    assert store.read(PAIR).current["rotation_pending"] is True


def test_forced_next_swap_time_is_now(swap, aws, store):
    seed_pair(store, swapped(61))
    aws.list_keys(BLUE, (B1, "Active", days_ago(100))).list_keys(GREEN, (G1, "Active", days_ago(20)))
    aws.list_keys(BLUE, (B1, "Active", days_ago(100))).create(BLUE, B2, "sb").identity(BLUE, times=2).delete(BLUE, B1)
    result = swap(force=True).run()
    aws.done()
    assert result["step"] == "rotated_inactive" and result["next_step_after"] == isoformat(NOW)


def test_next_swap_time_unknown_when_the_active_key_is_gone(swap, aws, store):
    seed_pair(store, swapped(61))
    aws.list_keys(BLUE, (B1, "Active", days_ago(100))).list_keys(GREEN, (G1, "Active", days_ago(20)))
    aws.list_keys(BLUE, (B1, "Active", days_ago(100))).create(BLUE, B2, "sb").identity(BLUE, times=2).delete(BLUE, B1)
    aws.list_keys(GREEN)
    result = swap().run()
    aws.done()
    assert result["step"] == "rotated_inactive" and result["next_step_after"] is None


# -- records that do not fit ---------------------------------------------------------

@pytest.mark.parametrize("record, message", [
    ({"kind": "totp_seed"}, "is not a dual pair (kind 'totp_seed')"),
    (pair_record(users=[BLUE, "other"]), "the members of a pair cannot be changed in place"),
    (pair_record(active="other"), "names no valid active member ('other')"),
    (pair_record(account_id="999999999999"), "belongs to account_id 999999999999"),
    (pair_record(partition="aws-cn"), "belongs to partition aws-cn"),
    (pair_record(member_names={BLUE: "bad//name"}), f"store name of {BLUE}: the store record name 'bad//name'"),
    (pair_record(member_names={GREEN: PAIR}), f"the pair name {PAIR} is also the store name of member {GREEN}"),
])
def test_bad_pair_records_fail_before_any_aws_call(swap, aws, store, record, message):
    store.seed(PAIR, current=record)
    with pytest.raises(ValidationError) as caught:
        swap().run()
    aws.done()
    assert message in caught.value.msg


@pytest.mark.parametrize("member, message", [
    ({"kind": "dual_pair"}, f"the store record {BLUE_NAME} of member {BLUE} is not an access-key credential"),
    (cred(GREEN, B1), f"the store record {BLUE_NAME} holds the credential of {GREEN}, not of member {BLUE}"),
])
def test_member_records_of_another_kind_or_user_are_refused(swap, aws, store, member, message):
    store.seed(PAIR, current=pair_record())
    store.seed(BLUE_NAME, current=member)
    with pytest.raises(ValidationError) as caught:
        swap().run()
    assert caught.value.msg == message + (" (kind 'dual_pair')" if member.get("kind") == "dual_pair" else "")


def test_store_errors_name_the_pair(swap, aws, store):
    store.seed(PAIR, current=pair_record())
    store.fail("read", nth=2)  # preflight reads fine, the step's read fails
    with pytest.raises(KeyturnError) as caught:
        swap().run()
    assert caught.value.msg == f"pair {PAIR}: injected read failure on {PAIR}"


# -- the pair's lease --------------------------------------------------------------------

def test_a_live_lease_on_the_pair_fails_clearly(swap, aws, store):
    store.leases[PAIR] = {"owner": "elsewhere:1:run-x", "expires": 1e12}
    with pytest.raises(KeyturnError) as caught:
        swap().run()
    aws.done()
    assert caught.value.msg == f"another run holds the lock on pair {PAIR} (waited 0s); try again when it has finished"


def test_the_pair_lease_of_a_dead_run_is_taken_over(swap, aws, store):
    store.leases[PAIR] = {"owner": "%s:%d:run-x" % (socket.gethostname(), dead_pid()), "expires": 1e12}
    seed_pair(store, pair_record())
    aws.list_keys(BLUE, (B1, "Active", days_ago(10))).list_keys(GREEN, (G1, "Active", days_ago(20)))
    result = swap().run()
    aws.done()
    assert result["step"] == "none" and store.leases == {}


def test_waiting_for_the_pair_lease(swap, aws, store, sleeper):
    store.leases[PAIR] = {"owner": "elsewhere:1:run-x", "expires": 1e12}
    seed_pair(store, pair_record())
    sleeper.hook = lambda: store.leases.pop(PAIR, None)
    aws.list_keys(BLUE, (B1, "Active", days_ago(10))).list_keys(GREEN, (G1, "Active", days_ago(20)))
    result = swap(lock_timeout=30).run()
    aws.done()
    assert result["step"] == "none" and sleeper.waits == [1.0]


# -- permissions and input ------------------------------------------------------------------

def stub_permissions(aws, user, groups):
    aws.iam_stub.add_response("get_user", {"User": {"UserName": user, "UserId": "AIDA" + "X" * 16,
                                                    "Arn": f"arn:aws:iam::{ACCOUNT}:user/{user}", "Path": "/",
                                                    "CreateDate": days_ago(300)}}, {"UserName": user})
    aws.iam_stub.add_response("list_groups_for_user", {"Groups": [
        {"GroupName": g, "GroupId": "AGPA" + "G" * 16, "Arn": f"arn:aws:iam::{ACCOUNT}:group/{g}", "Path": "/",
         "CreateDate": days_ago(300)} for g in groups], "IsTruncated": False}, {"UserName": user})
    aws.iam_stub.add_response("list_attached_user_policies", {"AttachedPolicies": [], "IsTruncated": False},
                              {"UserName": user})
    aws.iam_stub.add_response("list_user_policies", {"PolicyNames": [], "IsTruncated": False}, {"UserName": user})


def test_members_with_different_permissions_are_refused(swap, aws, store):
    stub_permissions(aws, BLUE, ["admins"])
    stub_permissions(aws, GREEN, [])
    result = swap(check_permissions=True).run()
    aws.done()
    assert result["failed"] is True and result["permission_differences"] == [f"group admins applies to {BLUE} only"]
    assert result["msg"].startswith(f"pair {PAIR}: {BLUE} and {GREEN} do not have identical permissions")
    assert store.ops("lease") == []


@pytest.mark.parametrize("change, message", [
    ({"pair": "bad//pair"}, "pair: the store record name 'bad//pair'"),
    ({"users": [BLUE]}, "users must list exactly two IAM users (the members of the pair), got 1"),
    ({"users": [BLUE, BLUE]}, f"users must be two distinct IAM users, got {BLUE} twice"),
    ({"users": [BLUE, "bad name"]}, "users[1] 'bad name' is not a valid IAM user name"),
    ({"grace_period": -1}, "grace_period must be between 0 and 2592000 seconds (30 days), got -1"),
    ({"grace_period": None}, "grace_period must be between 0 and 2592000 seconds (30 days), got None"),
    ({"verify_successes": 0}, "verify_successes must be between 1 and 10, got 0"),
])
def test_check_input(change, message):
    with pytest.raises(ValidationError) as caught:
        check_input(params(**change))
    assert caught.value.msg.startswith(message)


def test_check_input_accepts_a_good_pair():
    assert check_input(params()) == (PAIR, [BLUE, GREEN])


def test_run_validates_then_drops_the_failed_flag(monkeypatch, aws, store, audit, sleeper):
    seed_pair(store, pair_record())
    aws.list_keys(BLUE, (B1, "Active", days_ago(10))).list_keys(GREEN, (G1, "Active", days_ago(20)))
    monkeypatch.setattr(_dual, "open_task", lambda p, ctx: FakeTask(aws, store, audit, sleeper))
    result = _dual.run(params(), RunContext())
    aws.done()
    assert result["step"] == "none" and "failed" not in result


def test_public_projection_of_the_record():
    assert _dual._public(None) == {}
    assert _dual._public({"active": BLUE, "secret": "x", "member_names": {}}) == {"active": BLUE, "member_names": {}}


def test_a_store_error_inside_the_rotation_is_a_failed_member_not_a_crash(swap, aws, store):
    seed_pair(store, swapped(61))
    aws.list_keys(BLUE, (B1, "Active", days_ago(100))).list_keys(GREEN, (G1, "Active", days_ago(20)))
    store.fail("read", nth=5)  # preflight, pair, blue, green, then the rotation's own read
    result = swap().run()
    aws.done()
    assert result["failed"] is True and f"injected read failure on {BLUE_NAME}" in result["msg"]
    assert StoreError.__name__ not in result["msg"]


def test_repair_reissues_a_member_whose_key_was_deactivated(swap, aws, store):
    seed_pair(store, pair_record())
    aws.list_keys(BLUE, (B1, "Active", days_ago(10))).list_keys(GREEN, (G1, "Inactive", days_ago(20)))
    aws.list_keys(GREEN, (G1, "Inactive", days_ago(20))).create(GREEN, G2, "sg").identity(GREEN, times=2)
    aws.delete(GREEN, G1).list_keys(BLUE, (B1, "Active", days_ago(10)))
    result = swap().run()
    aws.done()
    assert result["step"] == "initialized"
    assert result["reason"] == f"the stored key {G1} of {GREEN} is Inactive in IAM"
    assert store.read(GREEN_NAME).current["access_key_id"] == G2


def test_members_with_identical_permissions_proceed(swap, aws, store):
    seed_pair(store, pair_record())
    stub_permissions(aws, BLUE, ["admins"])
    stub_permissions(aws, GREEN, ["admins"])
    aws.list_keys(BLUE, (B1, "Active", days_ago(10))).list_keys(GREEN, (G1, "Active", days_ago(20)))
    result = swap(check_permissions=True).run()
    aws.done()
    assert result["step"] == "none" and result["failed"] is False


def test_rotation_warnings_reach_the_task(swap, aws, store):
    seed_pair(store, swapped(61))
    aws.list_keys(BLUE, (B1, "Active", days_ago(100))).list_keys(GREEN, (G1, "Active", days_ago(20)))
    aws.list_keys(BLUE, (B1, "Active", days_ago(100))).create(BLUE, B2, "sb").identity(BLUE, times=2)
    aws.set_status(BLUE, B1, "Inactive").identity(BLUE)
    aws.list_keys(GREEN, (G1, "Active", days_ago(20)))
    swapper = swap(confirm_retired=True, retire="deactivate", verify_timeout=0)
    result = swapper.run()
    aws.done()
    assert result["step"] == "rotated_inactive" and "warnings" not in result["results"][0]
    assert swapper.ctx.warnings == [f"{BLUE}: the retired key {B1} still authenticated after 0s"]


def test_run_keeps_the_failed_flag_of_a_failed_step(monkeypatch, aws, store, audit, sleeper):
    seed_pair(store, pair_record())
    aws.list_keys(BLUE, (B1, "Active", days_ago(100))).list_keys(GREEN, (G1, "Active", days_ago(20))).refused()
    monkeypatch.setattr(_dual, "open_task", lambda p, ctx: FakeTask(aws, store, audit, sleeper))
    result = _dual.run(params(verify_timeout=0), RunContext())
    aws.done()
    assert result["failed"] is True and result["step"] == "swapped"


def test_a_task_without_a_store_is_refused(aws, store, audit, sleeper):
    task = FakeTask(aws, None, audit, sleeper)
    with pytest.raises(KeyturnError) as caught:
        DualSwap(task, params(), RunContext(), PAIR, [BLUE, GREEN])
    assert caught.value.msg == "dual_account_swap needs a store"
