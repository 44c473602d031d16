# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kill a whole process tree, as a crashed controller would leave it: every descendant of a
process, including ansible-core's workers that ``setsid()`` into sessions of their own (so
killing the process group misses them).  Read from ``/proc``: no dependency.

The test process makes itself a *child subreaper*: the orphans of a killed ansible-playbook
are re-parented to it (instead of to PID 1, which in some containers never reaps them) and
are reaped here, so a killed run's pids really are gone afterwards -- as on a host with a
working init.  A zombie still answers ``kill(pid, 0)``, which is not what a crash looks like."""

from __future__ import annotations

import ctypes
import os
import signal
import time
import typing as t

PR_SET_CHILD_SUBREAPER = 36
_SUBREAPER = False


def become_subreaper() -> None:
    """Orphaned descendants of this process come back to it (Linux prctl)."""
    global _SUBREAPER  # noqa: PLW0603
    if not _SUBREAPER:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")
        _SUBREAPER = True


def _stat(pid: int) -> t.Optional[t.Tuple[str, int, int]]:
    """(state, ppid, start time) of ``pid``, None when it does not exist."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as handle:
            data = handle.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = data[data.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[19])


def _parents() -> t.Dict[int, int]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = _stat(int(entry))
            if info is not None:
                found[int(entry)] = info[1]
    return found


def descendants(root: int) -> t.Set[int]:
    """Every live descendant of ``root`` (children, their children ...), ``root`` excluded."""
    parents = _parents()
    tree, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier and pid not in tree}
        tree |= frontier
    return tree


def kill_tree(proc: t.Any, timeout: float = 30) -> t.List[int]:
    """SIGKILL ``proc`` (a Popen) and every descendant; returns the pids killed.  The tree is
    frozen first (SIGSTOP, repeated until no new process appears: a stopped process cannot
    fork), so nothing escapes between the scan and the kill.  Raises AssertionError when a
    process of the tree still exists afterwards."""
    become_subreaper()
    victims: t.Dict[int, int] = {}  # pid -> start time (a reused pid is another process)
    while True:
        fresh = ({proc.pid} | descendants(proc.pid)) - set(victims)
        if not fresh:
            break
        for pid in fresh:
            info = _stat(pid)
            if info is None:
                continue
            victims[pid] = info[2]
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:
                pass
    for pid in victims:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout)
    deadline = time.monotonic() + timeout
    alive = dict(victims)
    while alive and time.monotonic() < deadline:
        for pid, started in list(alive.items()):
            info = _stat(pid)
            if info is None or info[2] != started:
                del alive[pid]
            elif info[0] == "Z" and info[1] == os.getpid():
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
        if alive:
            time.sleep(0.02)
    assert not alive, f"processes of the killed run survived: {sorted(alive)}"
    return sorted(victims)
