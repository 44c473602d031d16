# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only stdout callback: the whole run as one JSON document (plays, tasks, per-host results, stats)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: keyturn_json
type: stdout
short_description: JSON document of the run, for the integration tests
description:
  - Prints one JSON document with every task result, like ansible.posix.json.
"""

import json

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "keyturn_json"

    def __init__(self) -> None:
        super().__init__()
        self.results: list = []

    def v2_playbook_on_play_start(self, play) -> None:
        self.results.append({"play": {"name": play.get_name()}, "tasks": []})

    def _record(self, result, **extra) -> None:
        task = result._task
        plays = self.results[-1]["tasks"]
        if not plays or plays[-1]["task"]["uuid"] != task._uuid:
            plays.append({"task": {"name": task.get_name(), "uuid": task._uuid}, "hosts": {}})
        data = self._convert(result._result)
        data.update(extra)
        plays[-1]["hosts"][result._host.get_name()] = data

    def _convert(self, value):
        return json.loads(json.dumps(value, default=str))

    def v2_runner_on_ok(self, result, **kwargs) -> None:
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False, **kwargs) -> None:
        self._record(result, failed=True)

    def v2_runner_on_skipped(self, result, **kwargs) -> None:
        self._record(result, skipped=True)

    def v2_runner_on_unreachable(self, result, **kwargs) -> None:
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats) -> None:
        summary = {h: stats.summarize(h) for h in sorted(stats.processed)}
        self._display.display(json.dumps({"plays": self.results, "stats": summary}, indent=1))
