# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the exposed-key incident report (documented in the sidecar YAML files next to this one)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.keyturn.aws.plugins.plugin_utils import _incident_report
from ansible_collections.keyturn.aws.plugins.plugin_utils._filter import filter_call


def exposed_key_report(data: t.Any, output: str = "data") -> t.Any:
    """The incident report as data, JSON text, one audit line or an HTML page."""
    renderers: t.Dict[str, t.Callable[[t.Any], t.Any]] = {
        "data": _incident_report.build, "json": _incident_report.render_json,
        "audit": _incident_report.audit_line, "html": _incident_report.render_html,
    }
    if output not in renderers:
        raise AnsibleFilterError(f"keyturn.aws.exposed_key_report: output must be one of {', '.join(renderers)}, "
                                 f"got {output!r}")
    return filter_call("keyturn.aws.exposed_key_report", renderers[output], data)


class FilterModule:
    """keyturn.aws incident report filter."""

    def filters(self) -> t.Dict[str, t.Callable[..., t.Any]]:
        return {"exposed_key_report": exposed_key_report}
