# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault injection: every AWS call of a rotation, for every store type, fails (error), loses its
response after AWS applied it (drop), or hangs while ansible-playbook is killed (hang).  After each
faulted run and after the clean run that follows, the protocol's invariants must hold."""

from __future__ import annotations

import time

import pytest

from estate import ROTATE, Estate, authenticates
from stores import STORE_TYPES
from conftest import record_counts
from faults import MODES, FaultRunner
from tools.awsmock.client import AwsMock


@pytest.fixture(scope="module")
def faultmock():
    """A server of its own: fault rules are global to a server."""
    with AwsMock() as server:
        yield server


def onboard(estate, user):
    """A user with a managed key that is due (as after an earlier rotation, 100 days ago)."""
    estate.user(user)
    key = estate.iam.create_access_key(UserName=user)["AccessKey"]
    record = {"kind": "iam_user_key", "access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"],
              "user_name": user, "account_id": estate.account_id, "partition": "aws"}
    estate.store.store.write_current(estate.name(user), record)
    estate.mock.age_key(key["AccessKeyId"], 100)
    return record


def rotation_vars(estate, user):
    return estate.vars(users=[user], verify_timeout=20)


def check_store_works(estate, user):
    current = estate.store.current(estate.name(user))
    assert current is not None, "the store lost the user's credential"
    ident = authenticates(estate.mock.url, current["access_key_id"], current["secret_access_key"])
    assert ident is not None and ident["Arn"].endswith(f":user/{user}"), "the store's current credential does not work"
    return current


def check_recovered(estate, user, original):
    current = check_store_works(estate, user)
    staged = estate.store.read(estate.name(user))
    assert staged.pending is None, "a pending record survived the recovery run"
    assert estate.keys(user) == {current["access_key_id"]: "Active"}, "a key no store record accounts for remains"
    assert current["access_key_id"] != original["access_key_id"], "the due key was never rotated"
    assert staged.previous and staged.previous["access_key_id"] == original["access_key_id"], "rotated twice"


def calls_in_clean_rotation(faults, server, store_kind):
    estate = Estate(faults.runner, server, f"9{int(time.time() * 1000) % 10 ** 11:011d}", store_kind)
    onboard(estate, "probe")
    calls, result = faults.count_calls(ROTATE, rotation_vars(estate, "probe"))
    assert result.rc == 0 and result.task("rotate")["users"][0]["action"] == "rotated"
    return calls


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("store_kind", STORE_TYPES)
def test_every_call_faulted_then_recovered(runner, faultmock, store_kind, mode):
    faults = FaultRunner(runner, faultmock)
    total = calls_in_clean_rotation(faults, faultmock, store_kind)
    assert total >= 6  # STS identity, list, create, verify x2, delete (+ store calls for AWS stores)
    for index in range(total):
        account = f"8{index:02d}{abs(hash((store_kind, mode))) % 10 ** 9:09d}"
        estate = Estate(runner, faultmock, account, store_kind)
        user = f"u{index}"
        original = onboard(estate, user)
        fired = faults.run(ROTATE, rotation_vars(estate, user), index, mode)
        assert fired and fired[0]["index"] == index, f"the fault at call {index} did not fire"
        check_store_works(estate, user)
        recovery = faults.clean(ROTATE, rotation_vars(estate, user))
        item = recovery.task("rotate")["users"][0]
        assert item["action"] != "failed", (index, fired, item)
        try:
            check_recovered(estate, user, original)
        except AssertionError as exc:
            raise AssertionError(f"{exc} after a {mode} fault at call {index} ({fired}); recovery run: {item}; "
                                 f"store: {estate.store.read(estate.name(user))._replace(current=None)}") from None
    record_counts(rotation_faults_injected=faults.faults, rotation_fault_playbook_runs=faults.runs,
                  rotation_hung_run_processes_killed=faults.killed)
