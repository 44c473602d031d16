# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the keyturn.aws run report (documented in the sidecar YAML files next to this one)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.keyturn.aws.plugins.plugin_utils import _report, _report_history, _report_html, _report_schema
from ansible_collections.keyturn.aws.plugins.plugin_utils._filter import ReportFilters, filter_call

_FILTERS = ReportFilters("keyturn.aws report", _report.ensure_report, _report_schema.render_json, _report_html.render_html)
_report_data = _FILTERS.data


def access_key_report(steps: t.Any, kind: str = "rotation", name: t.Optional[str] = None, max_age_days: int = 90,
                      due_soon_days: int = 14, check_mode: bool = False,
                      generated_at: t.Optional[str] = None) -> t.Dict[str, t.Any]:
    """Report data (whitelisted fields only) from the registered results of the role's steps."""
    return _report_data(steps, kind=kind, name=name, max_age_days=max_age_days, due_soon_days=due_soon_days,
                        check_mode=check_mode, generated_at=generated_at)


# The report as indented JSON text; as a self-contained HTML page.
access_key_report_json = _FILTERS.json
access_key_report_html = _FILTERS.html


def access_key_report_file(data: t.Any) -> str:
    """The file name (without extension) of this run's report in the history."""
    return filter_call(_FILTERS.label, _report_history.run_basename, _report_data(data))


def access_key_report_plan(data: t.Any) -> t.List[str]:
    """What the run did or (check mode) would do, one line per account and user; secret-free."""
    return _report_history.plan_lines(_report_data(data))


def access_key_report_index(reports: t.Any, files: t.Optional[t.Sequence[str]] = None,
                            title: str = "keyturn.aws report history") -> str:
    """The history index page (trend chart and runs) from a list of report data."""
    if not isinstance(reports, (list, tuple)):
        raise AnsibleFilterError("keyturn.aws report index: expected a list of report data")
    return _report_history.render_index([_report_data(r) for r in reports], files=list(files or []), title=title)


def estate_report(reports: t.Any, name: t.Optional[str] = None, generated_at: t.Optional[str] = None) -> t.Dict[str, t.Any]:
    """One estate report from the reports of many hosts (accounts) or job slices."""
    return filter_call("keyturn.aws estate report", _report.merge_reports, reports, name=name, generated_at=generated_at)


class FilterModule:
    """keyturn.aws report filters."""

    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {
            "access_key_report": access_key_report,
            "access_key_report_json": access_key_report_json,
            "access_key_report_html": access_key_report_html,
            "access_key_report_file": access_key_report_file,
            "access_key_report_plan": access_key_report_plan,
            "access_key_report_index": access_key_report_index,
            "estate_report": estate_report,
        }
