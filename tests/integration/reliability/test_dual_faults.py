# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault injection for dual_account_swap: every AWS call of the swap step and of the rotation of the
inactive member fails, loses its response, or hangs while ansible-playbook is killed.  The active
member's stored key authenticates after every run, and a clean run finishes the step."""

from __future__ import annotations

import datetime
import time

import pytest

from pairs import SWAP, Pair, sts_identity
from conftest import record_counts
from faults import MODES, FaultRunner
from tools.awsmock.client import AwsMock


@pytest.fixture(scope="module")
def faultmock():
    with AwsMock() as server:
        yield server


def iso(days_ago=0.0):
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def ready_pair(runner, server, account_id, store_kind, step):
    """A pair set up directly in IAM and the store: for ``swap`` the active member's key is due;
    for ``rotate`` the swap happened long ago and the inactive member's rotation is pending."""
    pair = Pair(runner, server, account_id, store_kind)
    a, b = pair.users
    originals = {}
    for user in pair.users:
        key = pair.iam.create_access_key(UserName=user)["AccessKey"]
        record = {"kind": "iam_user_key", "access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"],
                  "user_name": user, "account_id": account_id, "partition": "aws", "created": iso(), "rotated": iso()}
        pair.store.store.write_current(f"{account_id}/{user}", record)
        originals[user] = record
    server.age_key(originals[a]["access_key_id"], 100)
    pair_record = {"kind": "dual_pair", "users": [a, b], "active": a, "inactive": b, "swapped_at": None,
                   "rotation_pending": False, "initialized_at": iso(200), "account_id": account_id, "partition": "aws",
                   "member_names": {u: f"{account_id}/{u}" for u in pair.users}}
    if step == "rotate":
        pair_record.update(active=b, inactive=a, swapped_at=iso(1), rotation_pending=True)
    pair.store.store.write_current(pair.name, pair_record)
    return pair, originals


def run_vars(pair, step):
    """For the swap scenario the grace period is long, so a recovery run never goes on to the next
    step (rotating the inactive member); for the rotate scenario it is over."""
    return {"endpoint": pair.mock.url, "region": pair.region, "task_creds": pair.admin, "pair": pair.name,
            "users": pair.users, "store": pair.store.option, "audit_log": pair.audit_log,
            "grace": 3600 if step == "swap" else 0}


def count_calls(faults, server, store_kind, step):
    pair, _originals = ready_pair(faults.runner, server, f"7{int(time.time() * 1000) % 10 ** 11:011d}", store_kind, step)
    calls, result = faults.count_calls(SWAP, run_vars(pair, step))
    assert result.task("swap")["step"] == ("swapped" if step == "swap" else "rotated_inactive"), result.task("swap")
    return calls


def settle(faults, pair, step):
    """Clean runs until the step is done (a faulted swap may need one run to swap, then the state is idle)."""
    for _attempt in range(3):
        result = faults.clean(SWAP, run_vars(pair, step))
        done = result.task("swap")
        assert not done.get("failed"), done
        if step == "swap" and pair.record()["active"] == pair.users[1]:
            return
        if step == "rotate" and not pair.record()["rotation_pending"]:
            return
    raise AssertionError(f"the {step} step never completed: {pair.record()}")


# Every mode with the file store.  The AWS stores' own calls under faults are covered call by call by
# the rotation matrix (test_rotation_faults.py); repeating them here would double the suite's time.
MATRIX = [("file", mode) for mode in MODES]


@pytest.mark.parametrize("store_kind,mode", MATRIX)
@pytest.mark.parametrize("step", ["swap", "rotate"])
def test_dual_step_faulted_then_recovered(runner, faultmock, store_kind, step, mode):
    faults = FaultRunner(runner, faultmock)
    total = count_calls(faults, faultmock, store_kind, step)
    for index in range(total):
        account = f"6{index:02d}{abs(hash((store_kind, step, mode))) % 10 ** 9:09d}"
        pair, originals = ready_pair(runner, faultmock, account, store_kind, step)
        fired = faults.run(SWAP, run_vars(pair, step), index, mode)
        assert fired and fired[0]["index"] == index
        pair.active_works()
        settle(faults, pair, step)
        active, _cred = pair.active_works()
        a, b = pair.users
        keys = pair.keys()
        for user in pair.users:
            assert keys[user] == {pair.member(user)["access_key_id"]: "Active"}, (index, fired, keys)
            ident = sts_identity(faultmock.url, pair.member(user)["access_key_id"], pair.member(user)["secret_access_key"])
            assert ident == pair.arn(user), (index, fired, user, ident)
        if step == "swap":
            assert active == b and pair.member(a)["access_key_id"] == originals[a]["access_key_id"]
        else:
            assert active == b and pair.member(b)["access_key_id"] == originals[b]["access_key_id"]
            assert pair.member(a)["access_key_id"] != originals[a]["access_key_id"]
            staged = pair.store.read(f"{pair.account_id}/{a}")
            assert staged.previous["access_key_id"] == originals[a]["access_key_id"], "rotated twice"
    record_counts(dual_swap_faults_injected=faults.faults, dual_swap_fault_playbook_runs=faults.runs,
                  dual_swap_hung_run_processes_killed=faults.killed)
