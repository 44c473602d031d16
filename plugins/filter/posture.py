# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the keyturn.aws credential posture report (documented in the sidecar YAML files next to this one)."""

from __future__ import annotations

import typing as t

from ansible_collections.keyturn.aws.plugins.plugin_utils import _posture_report
from ansible_collections.keyturn.aws.plugins.plugin_utils._filter import ReportFilters

_FILTERS = ReportFilters("keyturn.aws posture report", _posture_report.ensure_posture, _posture_report.render_json,
                         _posture_report.render_html)
_posture_data = _FILTERS.data


def posture_report(results: t.Any, name: t.Optional[str] = None, check_mode: bool = False, unused_days: int = 45,
                   max_age_days: int = 90, remediate: t.Optional[t.List[str]] = None,
                   generated_at: t.Optional[str] = None) -> t.Dict[str, t.Any]:
    """Posture report data (whitelisted fields only) from registered credential_report_info results."""
    return _posture_data(results, name=name, check_mode=check_mode, unused_days=unused_days, max_age_days=max_age_days,
                         remediate=remediate, generated_at=generated_at)


# The posture report as indented JSON text; as a self-contained HTML page.
posture_report_json = _FILTERS.json
posture_report_html = _FILTERS.html


class FilterModule:
    """keyturn.aws posture report filters."""

    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {"posture_report": posture_report, "posture_report_json": posture_report_json,
                "posture_report_html": posture_report_html}
