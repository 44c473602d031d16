# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Dead lease owners: a process that is gone, or a zombie nobody reaped, no longer holds its lease."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

from ansible_collections.keyturn.aws.plugins.module_utils._store_base import owner_is_dead


def owner(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}:run"


def test_a_zombie_owner_is_dead_and_a_live_one_is_not():
    child = subprocess.Popen([sys.executable, "-c", "pass"])  # exits at once; not reaped until wait()
    try:
        for _attempt in range(200):
            with open(f"/proc/{child.pid}/stat", encoding="ascii") as handle:
                if handle.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
            time.sleep(0.01)
        assert owner_is_dead(owner(child.pid)), "an exited, unreaped run still held its lease"
    finally:
        child.wait()
    assert owner_is_dead(owner(child.pid))  # reaped: gone
    assert not owner_is_dead(owner(os.getppid()))  # alive
    assert not owner_is_dead(owner(os.getpid()))  # this process
    assert not owner_is_dead(f"another-host:{child.pid}:run")  # another host's process is never judged here
