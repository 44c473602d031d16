# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault injection for the zero-downtime steps: the deferred retirement of an old key (a later
access_key_rotate run with retire_after / retire_when_idle) and access_key_rollback.  Every AWS call of the
step, for every store type, fails (error), loses its response after AWS applied it (drop), or hangs while
ansible-playbook is killed (hang).  After each faulted run the store's current credential authenticates; the clean
run that follows finishes the step and leaves exactly the policy's keys, no pending record, no orphan."""

from __future__ import annotations

import datetime
import time

import pytest

from estate import PLAY_HEAD, Estate, authenticates
from stores import STORE_TYPES
from conftest import record_counts
from faults import MODES, FaultRunner
from tools.awsmock.client import AwsMock

RETIRE = PLAY_HEAD + """
    - name: rotate
      keyturn.aws.access_key_rotate:
        users: "{{ users }}"
        store: "{{ store }}"
        verify_timeout: 20
        retire_after: 60
        retire_when_idle: 3600
      register: rotation
"""

ROLLBACK = PLAY_HEAD + """
    - name: rollback
      keyturn.aws.access_key_rollback:
        users: "{{ users }}"
        store: "{{ store }}"
        verify_timeout: 20
      register: rollback
"""


@pytest.fixture(scope="module")
def faultmock():
    """A server of its own: fault rules are global to a server."""
    with AwsMock() as server:
        yield server


def iso(days_ago):
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def rotated_with_grace(estate, user):
    """A user rotated a day ago with a grace period: the store's current key B, previous A, both Active in IAM;
    IAM saw A last used two days ago (idle for retire_when_idle), so the next run retires A."""
    estate.user(user)
    records = []
    for _index in range(2):
        key = estate.iam.create_access_key(UserName=user)["AccessKey"]
        records.append({"kind": "iam_user_key", "access_key_id": key["AccessKeyId"],
                        "secret_access_key": key["SecretAccessKey"], "user_name": user,
                        "account_id": estate.account_id, "partition": "aws", "rotated": iso(1)})
    old, new = records
    new["retiring"] = {"access_key_id": old["access_key_id"], "cut_over": iso(1), "keyturn_last_used": iso(101)}
    name = estate.name(user)
    estate.store.store.write_current(name, old)
    estate.store.store.write_current(name, new)  # old becomes previous
    estate.mock.set_last_used(old["access_key_id"], 2)
    return old, new


def check_store_works(estate, user):
    current = estate.store.current(estate.name(user))
    assert current is not None, "the store lost the user's credential"
    ident = authenticates(estate.mock.url, current["access_key_id"], current["secret_access_key"])
    assert ident is not None and ident["Arn"].endswith(f":user/{user}"), "the store's current credential does not work"
    return current


def retired(estate, user, old, new):
    current = check_store_works(estate, user)
    staged = estate.store.read(estate.name(user))
    assert current["access_key_id"] == new["access_key_id"], "the retirement step changed the current key"
    assert staged.pending is None and staged.previous["access_key_id"] == old["access_key_id"]
    assert estate.keys(user) == {new["access_key_id"]: "Active"}, "the old key was not retired (or a key is unaccounted for)"


def rolled_back(estate, user, old, new):
    current = check_store_works(estate, user)
    staged = estate.store.read(estate.name(user))
    assert current["access_key_id"] == old["access_key_id"], "the rollback did not make the previous key current"
    assert staged.pending is None and staged.previous["access_key_id"] == new["access_key_id"]
    assert estate.keys(user) == {old["access_key_id"]: "Active", new["access_key_id"]: "Inactive"}


STEPS = {"retire": (RETIRE, "rotate", retired), "rollback": (ROLLBACK, "rollback", rolled_back)}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("store_kind", STORE_TYPES)
@pytest.mark.parametrize("step", sorted(STEPS))
def test_grace_steps_faulted_then_recovered(runner, faultmock, store_kind, mode, step):
    playbook, task_name, finished = STEPS[step]
    faults = FaultRunner(runner, faultmock)
    probe = Estate(runner, faultmock, f"7{int(time.time() * 1000) % 10 ** 11:011d}", store_kind)
    old, new = rotated_with_grace(probe, "probe")
    total, clean = faults.count_calls(playbook, probe.vars(users=["probe"]))
    assert clean.rc == 0, clean.task(task_name)
    finished(probe, "probe", old, new)
    assert total >= 4  # STS identity, list, (last use | verify x2), delete / deactivate (+ store calls)
    for index in range(total):
        account = f"6{index:02d}{abs(hash((store_kind, mode, step))) % 10 ** 9:09d}"
        estate = Estate(runner, faultmock, account, store_kind)
        user = f"g{index}"
        old, new = rotated_with_grace(estate, user)
        fired = faults.run(playbook, estate.vars(users=[user]), index, mode)
        assert fired and fired[0]["index"] == index, f"the fault at call {index} did not fire"
        check_store_works(estate, user)
        recovery = faults.clean(playbook, estate.vars(users=[user]))
        item = recovery.task(task_name)["users"][0]
        assert item["action"] != "failed", (index, fired, item)
        try:
            finished(estate, user, old, new)
        except AssertionError as exc:
            raise AssertionError(f"{exc} after a {mode} fault at call {index} ({fired}); recovery run: {item}") from None
    record_counts(grace_faults_injected=faults.faults, grace_fault_playbook_runs=faults.runs)
