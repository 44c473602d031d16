# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Report history: run file names, the index with its trend, the printed plan; never a secret."""

from __future__ import annotations

import re
import typing as t

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.keyturn.aws.plugins.filter.report import FilterModule
from ansible_collections.keyturn.aws.plugins.plugin_utils import _report, _report_history

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TARGET = {"name": "production", "account_id": "111111111111", "region": "us-east-1", "users": ["app", "other"]}
FILTERS = FilterModule().filters()


def report(when: str, check_mode: bool = False, failed: bool = False, rotated: bool = True) -> t.Dict[str, t.Any]:
    users = [
        {"user_name": "app", "action": "rotated" if rotated else "skipped", "reason": "the key is 95 days old",
         "old_key_id": "AKIAOLD0000000000001", "new_key_id": None if check_mode else "AKIANEW0000000000001",
         "plan": ["create a new access key, store it as pending, verify it with STS",
                  "delete the old key AKIAOLD0000000000001"], "secret_access_key": SECRET},
        {"user_name": "other", "action": "failed" if failed else "skipped",
         "reason": f"has an unknown Active key (leaked {SECRET})" if failed else "the key is 3 days old"},
    ]
    steps = {"rotate": {"results": [{"ansible_loop_var": "__t", "__t": TARGET, "changed": True, "users": users}]},
             "info": {"results": [{"ansible_loop_var": "__t", "__t": TARGET, "users": [
                 {"user_name": "app", "keys": [{"access_key_id": "AKIAOLD0000000000001", "status": "Active",
                                                "age_days": 95.4, "managed": True, "current": True}]},
                 {"user_name": "other", "keys": [{"access_key_id": "AKIASTRANGER00000001", "status": "Active",
                                                  "age_days": 120.0, "managed": False}]}]}]}}
    return _report.build_report(steps, check_mode=check_mode, generated_at=when)


def test_run_file_names_sort_in_time_and_mark_plans_and_failures() -> None:
    assert _report_history.run_basename(report("2026-12-04T10:15:00Z")) == "rotation-20261204T101500Z"
    assert FILTERS["access_key_report_file"](report("2026-12-04T10:15:00Z", check_mode=True)) == \
        "rotation-20261204T101500Z-plan"
    assert _report_history.run_basename(report("2026-12-04T10:15:00Z", failed=True)) == "rotation-20261204T101500Z-failed"
    pattern = re.compile(_report_history.history_pattern("rotation"))
    assert pattern.match("rotation-20261204T101500Z-failed.json") and pattern.match("rotation-20261204T101500Z.json")
    assert not pattern.match("rotation.json") and not pattern.match("rotation-x-20261204T101500Z.json")
    with pytest.raises(AnsibleFilterError, match="generated_at"):
        FILTERS["access_key_report_file"](dict(report("2026-12-04T10:15:00Z"), generated_at="yesterday"))


def test_run_summary_counts_the_trend_figures() -> None:
    summary = _report_history.run_summary(report("2026-12-04T10:15:00Z", failed=True), "r.json")
    assert summary["rotated"] == 1 and summary["failed"] == 1 and summary["unmanaged"] == 1
    assert summary["oldest_key_days"] == 120.0 and summary["mark"] == "failed" and summary["file"] == "r.json"


def test_index_lists_runs_newest_first_with_a_trend_of_the_real_runs() -> None:
    runs = [report("2026-12-01T10:00:00Z"), report("2026-12-02T10:00:00Z", failed=True),
            report("2026-12-03T10:00:00Z", check_mode=True), report("2026-12-04T10:00:00Z", rotated=False)]
    files = [_report_history.run_basename(r) + ".json" for r in runs]
    page = FILTERS["access_key_report_index"](runs, files=files)
    rows = re.findall(r'<tr class="run run-(\w+)"><td class="when"><a href="([^"]+)"', page)
    assert rows == [("ok", "rotation-20261204T100000Z.html"), ("plan", "rotation-20261203T100000Z-plan.html"),
                    ("failed", "rotation-20261202T100000Z-failed.html"), ("ok", "rotation-20261201T100000Z.html")]
    for series in ("rotated", "failed", "overdue", "unmanaged"):
        assert page.count(f'class="point-{series}"') == 3  # the plan is listed but not part of the trend
    assert page.count("<polyline") == 4
    assert "latest good run 2026-12-04 10:00 UTC" in page
    assert SECRET not in page and "<script" not in page


def test_index_without_a_good_run_says_so_and_rejects_other_input() -> None:
    page = FILTERS["access_key_report_index"]([report("2026-12-02T10:00:00Z", failed=True)])
    assert "no successful run yet" in page and 'href="rotation.html"' not in page
    assert "No runs yet" in FILTERS["access_key_report_index"]([])
    with pytest.raises(AnsibleFilterError, match="expected a list"):
        FILTERS["access_key_report_index"]("rotation.json")


def test_plan_lines_name_every_user_and_key_and_no_secret() -> None:
    lines = FILTERS["access_key_report_plan"](report("2026-12-04T10:15:00Z", check_mode=True, failed=True))
    text = "\n".join(lines)
    assert lines[0].startswith("PLAN (check mode, nothing changed): ")
    assert lines[1] == "production [111111111111 aws us-east-1]"
    assert lines[2].startswith("  app: would be rotated - the key is 95 days old; keys: AKIAOLD0000000000001 (Active, 95 d")
    assert "steps: create a new access key" in lines[2] and "delete the old key AKIAOLD0000000000001" in lines[2]
    assert lines[3].startswith("  other: failed - has an unknown Active key")
    assert "AKIASTRANGER00000001 (Active, 120 d)" in lines[3]
    assert SECRET not in text
    real = FILTERS["access_key_report_plan"](report("2026-12-04T10:15:00Z"))
    assert not real[0].startswith("PLAN") and real[2].startswith("  app: rotated - ")
