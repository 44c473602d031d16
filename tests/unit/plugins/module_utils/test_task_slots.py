# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A task's ``concurrency`` slots: at most that many users work at once; a waiting user holds none."""

from __future__ import annotations

import threading
import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils import _task
from ansible_collections.keyturn.aws.plugins.module_utils._task import TaskEnv


def slotted_task(concurrency: int) -> TaskEnv:
    task = TaskEnv.__new__(TaskEnv)  # only the slot machinery, no AWS
    task.concurrency = concurrency
    task._slots = threading.BoundedSemaphore(concurrency)
    task._holder = threading.local()
    return task


def test_task_waiting_users_give_their_slots_away() -> None:
    """Six users wait together (for the store's commit, for IAM) although only two may work at once, and
    never more than two work outside their waits."""
    task = slotted_task(2)
    meet = threading.Barrier(6, timeout=10)
    lock = threading.Lock()
    working = [0]
    most = [0]

    def user(number: int) -> t.Dict[str, t.Any]:
        with lock:
            working[0] += 1
            most[0] = max(most[0], working[0])
        with lock:
            working[0] -= 1
        with task.idle():
            meet.wait()  # would time out if a waiting user kept its slot
            with task.idle():  # nested waits are one wait
                pass
        with lock:
            working[0] += 1
            most[0] = max(most[0], working[0])
        with lock:
            working[0] -= 1
        return {"user": number}

    assert task.map(user, list(range(6))) == [{"user": n} for n in range(6)]
    assert most[0] <= 2
    # every slot is back
    assert all(task._slots.acquire(blocking=False) for _slot in range(2))
    assert not task._slots.acquire(blocking=False)


def test_task_sleep_outside_a_slot_just_sleeps(monkeypatch: t.Any) -> None:
    slept = []
    monkeypatch.setattr(_task.time, "sleep", slept.append)
    task = slotted_task(1)
    task.sleep(0.25)
    assert slept == [0.25]
    assert task._slots.acquire(blocking=False)  # the slot was never taken or given twice
