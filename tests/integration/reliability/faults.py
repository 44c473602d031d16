# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared by the fault-injection suites: count a clean run's AWS calls, and run a playbook with one
fault at one call (error answer, lost response, or a hang during which ansible-playbook is killed)."""

from __future__ import annotations

import time
import typing as t

from proctree import become_subreaper, kill_tree

MODES = ("error", "drop", "hang")


class FaultRunner:
    """Runs playbooks against ``server`` with faults, counting faults injected and runs."""

    def __init__(self, runner: t.Any, server: t.Any) -> None:
        self.runner, self.server = runner, server
        self.faults = self.runs = 0
        self.killed = 0  # processes of hung runs killed (ansible-playbook and every worker)
        become_subreaper()

    def count_calls(self, playbook: str, data: t.Mapping[str, t.Any]) -> t.Tuple[int, t.Any]:
        """The number of AWS calls a clean run makes (a rule that never fires counts them)."""
        self.server.faults([{"index": 10 ** 9, "mode": "error"}])
        result = self.runner.playbook(playbook, data)
        calls = self.server.faults()["seq"]
        self.server.faults([])
        return calls, result

    def run(self, playbook: str, data: t.Mapping[str, t.Any], index: int, mode: str) -> t.List[dict]:
        """One run with the fault; returns the faults that fired."""
        self.server.faults([{"index": index, "mode": mode}])
        self.faults += 1
        self.runs += 1
        if mode != "hang":
            self.runner.playbook(playbook, data)
        else:
            proc = self.runner.popen(playbook, data)
            deadline = time.monotonic() + 90
            while proc.poll() is None and time.monotonic() < deadline:
                if self.server.faults()["hanging"]:
                    break
                time.sleep(0.1)
            hung = self.server.faults()["hanging"]
            running = proc.poll() is None
            # The controller dies mid-call: ansible-playbook and every worker (each in a session of
            # its own); kill_tree raises when any of them survives.  Only then is the call released.
            killed = kill_tree(proc)
            assert hung and running, f"call {index} never hung while the run was alive"
            assert len(killed) >= 2, "only ansible-playbook was found: the worker running the task escaped the scan"
            self.killed += len(killed)
        fired = self.server.faults()["fired"]
        self.server.faults([])  # clears the rules and releases the hanging call
        return t.cast(t.List[dict], fired)

    def clean(self, playbook: str, data: t.Mapping[str, t.Any]) -> t.Any:
        self.runs += 1
        return self.runner.playbook(playbook, data)
