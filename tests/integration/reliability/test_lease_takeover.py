# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A lease left by a process that died on this host is taken over at once; a live owner's lease is
respected.  The run has ``lock_timeout: 0``: waiting for a lease fails the user at once, so the
dead owner's user is rotated only if its lease was recognised as dead (no timing involved)."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from chaos import ROTATE, leases_left
from estate import Estate, by_user
from stores import STORE_TYPES
from test_overlap_throttle import assert_rotated_once, due_users


def dead_pid():
    """The pid of a process of this host that has exited and been reaped."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    with pytest.raises(ProcessLookupError):
        os.kill(proc.pid, 0)
    return proc.pid


@pytest.fixture
def held():
    """Leases entered and not left during the test (a collected generator would release them);
    left after it, while the server still runs (a no-op for a lease taken over meanwhile)."""
    leases = []
    yield leases
    for lease in leases:
        lease.__exit__(None, None, None)


def leave_lease(held, estate, user, owner):
    """Take the lease and never release it, as a run killed inside it would."""
    lease = estate.store.store.lease(estate.name(user), owner, 3600)
    lease.__enter__()
    held.append(lease)


@pytest.mark.parametrize("store_kind", STORE_TYPES)
def test_dead_owners_lease_is_taken_over_live_one_is_not(runner, awsmock, account_id, store_kind, held):
    estate = Estate(runner, awsmock, account_id, store_kind)
    originals = due_users(estate, ["crashed-owner", "live-owner"])
    host = socket.gethostname()
    leave_lease(held, estate, "crashed-owner", f"{host}:{dead_pid()}:killed-run")
    leave_lease(held, estate, "live-owner", f"{host}:{os.getpid()}:running-run")  # this test process: alive
    assert len(leases_left(estate)) == 2

    result = runner.playbook(ROTATE, estate.vars(users=["crashed-owner", "live-owner"], lock_timeout=0))
    users = by_user(result)
    assert users["crashed-owner"]["action"] == "rotated", users["crashed-owner"]
    assert_rotated_once(estate, {"crashed-owner": originals["crashed-owner"]})
    assert users["live-owner"]["action"] == "failed"
    assert "another run holds the lock" in users["live-owner"]["reason"]
    live = estate.store.read(estate.name("live-owner"))
    assert live.current["access_key_id"] == originals["live-owner"]["access_key_id"] and live.previous is None
    assert estate.keys("live-owner") == {originals["live-owner"]["access_key_id"]: "Active"}
    assert len(leases_left(estate)) == 1, "the taken-over lease must be released, the live one kept"
