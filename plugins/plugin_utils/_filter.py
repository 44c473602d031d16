# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the report filters (run, estate, posture and incident reports) share.

A user's bad input (``TypeError`` / ``ValueError`` from the pure report code) becomes one clear
``AnsibleFilterError`` naming the report, and each kind of report offers the same three filters:
its data (whitelisted fields only), that data as JSON and as a self-contained HTML page.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

R = t.TypeVar("R")


def filter_call(label: str, func: t.Callable[..., R], *args: t.Any, **kwargs: t.Any) -> R:
    """``func(*args, **kwargs)`` with a bad input reported as ``<label>: <what was wrong>``."""
    try:
        return func(*args, **kwargs)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError(f"{label}: {exc}") from exc


class ReportFilters:
    """The data, JSON and HTML filters of one kind of report."""

    def __init__(self, label: str, ensure: t.Callable[..., t.Dict[str, t.Any]],
                 render_json: t.Callable[[t.Mapping[str, t.Any]], str],
                 render_html: t.Callable[[t.Mapping[str, t.Any]], str]) -> None:
        self.label = label
        self._ensure = ensure
        self._render_json = render_json
        self._render_html = render_html

    def data(self, value: t.Any, **kwargs: t.Any) -> t.Dict[str, t.Any]:
        """Report data from built report data or from the raw results (``kwargs`` build it)."""
        return filter_call(self.label, self._ensure, value, **kwargs)

    def json(self, value: t.Any, **kwargs: t.Any) -> str:
        """The report as indented JSON text."""
        return self._render_json(self.data(value, **kwargs))

    def html(self, value: t.Any, **kwargs: t.Any) -> str:
        """The report as a self-contained HTML page."""
        return self._render_html(self.data(value, **kwargs))
