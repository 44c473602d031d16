# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keyturn.aws.dual_account_swap through real ansible-playbook against awsmock (auth enforced)."""

from __future__ import annotations

import json

import pytest

from pairs import POLICY, Pair, sts_identity


def checked_step(pair, expected_step, check=True, **extra):
    """A check-mode run reports the step and changes nothing; then the real run takes it."""
    planned = None
    if check:
        before = pair.snapshot()
        planned = pair.run(check=True, diff=True, **extra)
        plan = planned.task("swap")
        assert not plan.get("failed"), plan
        assert plan["step"] == expected_step, plan
        assert plan["changed"] is (expected_step != "none")
        assert "diff" in plan
        assert pair.snapshot() == before, "check mode changed the store or IAM"
    real = pair.run(**extra)
    done = real.task("swap")
    assert real.rc == 0 and not done.get("failed"), done
    assert done["step"] == expected_step, done
    assert done["changed"] is (expected_step != "none")
    return planned, real, done


@pytest.mark.parametrize("store_kind", ["file", "secretsmanager"])
def test_dual_pair_lifecycle(runner, awsmock, account_id, store_kind):
    pair = Pair(runner, awsmock, account_id, store_kind)
    a, b = pair.users
    runs = []
    full = store_kind == "file"  # check mode of every step with one store; of the writing steps with both

    # 1. init: both members get managed keys, the first user is active
    *got, init = checked_step(pair, "initialized")
    runs += [run for run in got if run]
    assert (init["active_user"], init["inactive_user"]) == (a, b)
    assert sorted(r["user_name"] for r in init["results"]) == [a, b]
    assert all(r["action"] == "rotated" for r in init["results"])
    record = pair.record()
    assert record["kind"] == "dual_pair" and record["active"] == a and record["swapped_at"] is None
    assert record["member_names"] == {a: f"{account_id}/{a}", b: f"{account_id}/{b}"}
    assert init["next_step_after"]  # when the active key becomes due
    first = {u: pair.member(u) for u in pair.users}
    for user in pair.users:
        assert sts_identity(awsmock.url, first[user]["access_key_id"], first[user]["secret_access_key"]) == pair.arn(user)
    assert pair.active_works() == (a, first[a])

    # idle: not due, nothing to do; the lookup returns the active member
    idle = pair.run(lookup_active=True)
    runs.append(idle)
    assert idle.task("swap")["step"] == "none" and idle.task("swap")["changed"] is False
    assert idle.task("active")["msg"] == f"{a} {first[a]['access_key_id']} {account_id} aws"

    # 2. forced swap: the standby is verified, then becomes active; lookup follows
    *got, swap = checked_step(pair, "swapped", check=full, force=True, lookup_active=True)
    runs += [run for run in got if run]
    assert (swap["active_user"], swap["inactive_user"]) == (b, a)
    assert swap["standby_verification"]["ok"] is True and swap["results"] == []
    assert swap["swapped_at"] and swap["next_step_after"] > swap["swapped_at"]
    assert got[1].task("active")["msg"] == f"{b} {first[b]['access_key_id']} {account_id} aws"
    assert pair.record()["active"] == b and pair.record()["rotation_pending"] is True
    assert pair.keys() == {u: {first[u]["access_key_id"]: "Active"} for u in pair.users}  # a swap rotates nothing
    assert pair.active_works() == (b, first[b])

    # 3. grace period not over yet: no-op, even with force
    *got, wait = checked_step(pair, "none", check=full, force=True)
    runs += [run for run in got if run]
    assert wait["next_step_after"] == swap["next_step_after"]
    assert "grace period" in wait["reason"]
    assert pair.active_works() == (b, first[b])

    # 4. grace over: the now-inactive member is rotated; its old key is refused
    *got, rotated = checked_step(pair, "rotated_inactive", grace=0)
    runs += [run for run in got if run]
    assert (rotated["active_user"], rotated["inactive_user"]) == (b, a)
    [item] = rotated["results"]
    assert item["user_name"] == a and item["action"] == "rotated" and item["old_key_id"] == first[a]["access_key_id"]
    new_a = pair.member(a)
    assert new_a["access_key_id"] == item["new_key_id"] != first[a]["access_key_id"]
    assert sts_identity(awsmock.url, first[a]["access_key_id"], first[a]["secret_access_key"]) == "InvalidClientTokenId"
    assert sts_identity(awsmock.url, new_a["access_key_id"], new_a["secret_access_key"]) == pair.arn(a)
    assert pair.keys() == {a: {new_a["access_key_id"]: "Active"}, b: {first[b]["access_key_id"]: "Active"}}
    assert pair.active_works() == (b, first[b])
    assert pair.record()["rotation_pending"] is False

    if full:
        next_cycle(pair, first, new_a, runs)
    audit = open(pair.audit_log, encoding="utf-8").read()
    events = [json.loads(line)["event"] for line in audit.splitlines()]
    assert events.count("dual_pair_swapped") == (2 if full else 1) and "dual_pair_inactive_rotated" in events
    secrets = [first[a]["secret_access_key"], first[b]["secret_access_key"], new_a["secret_access_key"]]
    for secret in secrets:
        assert secret not in audit
        for run in runs:
            assert secret not in run.stdout and secret not in run.stderr


def next_cycle(pair, first, new_a, runs):
    """After the rotation: idle until the active key is due, then the next swap without force."""
    a, b = pair.users
    # then idle again until the active key is due
    after = pair.run(grace=0, lookup_active=True)
    runs.append(after)
    assert after.task("swap")["step"] == "none"
    assert after.task("active")["msg"].startswith(f"{b} {first[b]['access_key_id']}")

    # when the active member's key is due, the next swap happens without force
    pair.mock.age_key(first[b]["access_key_id"], 100)
    due = pair.run(grace=0)
    runs.append(due)
    assert due.task("swap")["step"] == "swapped" and "100 days old" in due.task("swap")["reason"]
    assert pair.active_works() == (a, new_a)


def test_permission_mismatch_refused(runner, awsmock, account_id):
    other = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": "*"}]}
    pair = Pair(runner, awsmock, account_id, policies=[POLICY, other])
    before = pair.snapshot()
    for check in (True, False):
        result = pair.run(check=check)
        task = result.task("swap")
        assert task["failed"] is True
        assert "inline policy read differs between app-a and app-b" in task["msg"]
        assert "Statement[0].Action" in task["msg"] and "nothing was changed" in task["msg"]
        assert task["permission_differences"]
        assert pair.snapshot() == before
    assert before["keys"] == {"app-a": {}, "app-b": {}} and before["store"][pair.name].empty


def test_bad_input_fails_cleanly(runner, awsmock, account_id):
    pair = Pair(runner, awsmock, account_id)
    pair.users = ["app-a", "app-a"]
    result = pair.run()
    assert "two distinct IAM users" in result.task("swap")["msg"]
    pair.users = ["app-a", "app-b"]
    assert pair.keys() == {"app-a": {}, "app-b": {}}


def test_overlapping_runs_serialize_on_the_pair_lease(runner, awsmock, account_id):
    pair = Pair(runner, awsmock, account_id)
    with pair.store.store.lease(pair.name, "another-run", 600):
        blocked = pair.run(lock_timeout=1)
    task = blocked.task("swap")
    assert task["failed"] is True and "another run holds the lock on pair pairs/app" in task["msg"]
    assert pair.keys() == {"app-a": {}, "app-b": {}} and pair.record() is None
