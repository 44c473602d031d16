# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kill_tree (used by the fault matrices' hang mode and the chaos suite) kills a child that left the
process group with setsid(), as ansible-core's workers do; killing the process group does not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from proctree import _stat, become_subreaper, descendants, kill_tree

# A parent whose child moves to a session of its own, then both wait to be killed.
TREE = """
import os, sys, time
pid = os.fork()
if pid == 0:
    os.setsid()
    time.sleep(600)
    os._exit(0)
print(pid, flush=True)
time.sleep(600)
"""


def start_tree():
    become_subreaper()
    proc = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True, start_new_session=True)
    child = int(proc.stdout.readline())
    deadline = time.monotonic() + 30
    while os.getsid(child) != child and time.monotonic() < deadline:
        time.sleep(0.01)
    assert os.getsid(child) == child != os.getsid(proc.pid)
    return proc, child


def alive(pid):
    info = _stat(pid)
    return info is not None and info[0] != "Z"


def test_process_group_kill_misses_a_setsid_child():
    proc, child = start_tree()
    try:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
        time.sleep(0.2)
        assert alive(child), "the setsid() child should have survived a process-group kill"
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)  # re-parented to this process (subreaper)


def test_kill_tree_kills_every_descendant():
    proc, child = start_tree()
    assert child in descendants(proc.pid)
    killed = kill_tree(proc)
    assert set(killed) == {proc.pid, child}
    assert _stat(child) is None and _stat(proc.pid) is None  # gone, reaped: not even a zombie
