# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the report filters share: bad input as one clear filter error, and the data / JSON / HTML trio."""

from __future__ import annotations

import json

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.keyturn.aws.plugins.plugin_utils import _report, _report_html, _report_schema
from ansible_collections.keyturn.aws.plugins.plugin_utils._filter import ReportFilters, filter_call
from report_steps import NOW, rotation_steps


def test_filter_call_names_the_report_and_what_was_wrong() -> None:
    assert filter_call("label", int, "7") == 7
    with pytest.raises(AnsibleFilterError, match=r"^my report: invalid literal for int\(\)"):
        filter_call("my report", int, "seven")
    with pytest.raises(AnsibleFilterError, match="^my report: expected report data or a mapping"):
        filter_call("my report", _report.ensure_report, ["a", "list"])
    with pytest.raises(KeyError):  # a bug is not dressed up as the user's mistake
        filter_call("my report", {}.__getitem__, "missing")


def test_report_filters_build_once_then_render() -> None:
    filters = ReportFilters("keyturn.aws report", _report.ensure_report, _report_schema.render_json,
                            _report_html.render_html)
    built = filters.data(rotation_steps(), name="nightly", generated_at=NOW)
    assert built == _report.build_report(rotation_steps(), name="nightly", generated_at=NOW)
    assert filters.data(built) == built  # built data passes through
    assert json.loads(filters.json(built)) == built
    assert filters.html(rotation_steps(), name="nightly", generated_at=NOW) == _report_html.render_html(built)
    with pytest.raises(AnsibleFilterError, match="^keyturn.aws report: kind must be one of"):
        filters.html({}, kind="other")
