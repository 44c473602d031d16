# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Report history: file names per run, the index page with a trend, and the printed plan.

Pure functions, no Ansible and no I/O.  Every run of the role writes
``<name>-<stamp>.json/.html`` (``-plan`` for check mode, ``-failed`` for a run
with problems); the latest *successful* run is also ``<name>.json/.html``.  The
index lists the runs read back from their JSON files, newest first, with a trend
chart per report name.  Everything shown comes from the sanitized report data,
so nothing secret can reach the index or the printed plan.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.keyturn.aws.plugins.plugin_utils._html import CSS, _e, _when, page_head
from ansible_collections.keyturn.aws.plugins.plugin_utils._report_schema import FORMAT, sanitize_report

STAMP = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})")
RUN_FILE = re.compile(r"^(?P<name>.+)-(?P<stamp>\d{8}T\d{6}Z)(?:-(?P<mark>plan|failed))?\.json$")
SERIES = (("rotated", "rotated", "#1a7f37"), ("failed", "failed", "#c62828"), ("overdue", "overdue", "#d4a72c"),
          ("unmanaged", "unmanaged", "#6f42c1"))


def run_stamp(report: t.Mapping[str, t.Any]) -> str:
    """``20261204T233305Z`` from the report's ``generated_at`` (file names sort in time order)."""
    match = STAMP.match(str(report.get("generated_at") or ""))
    if not match:
        raise ValueError("the report has no valid generated_at timestamp")
    y, mo, d, h, mi, s = match.groups()
    return f"{y}{mo}{d}T{h}{mi}{s}Z"


def run_mark(report: t.Mapping[str, t.Any]) -> str:
    """``plan`` for a check-mode run, ``failed`` for a run with problems, else empty."""
    if report.get("check_mode"):
        return "plan"
    return "failed" if report.get("problems") else ""


def run_basename(report: t.Mapping[str, t.Any]) -> str:
    """The file name (without extension) of one run's report."""
    mark = run_mark(report)
    return f"{report.get('name') or report.get('kind')}-{run_stamp(report)}" + (f"-{mark}" if mark else "")


def history_pattern(name: str) -> str:
    """A regular expression matching the JSON files of the runs of report ``name``."""
    return "^" + re.escape(name) + r"-\d{8}T\d{6}Z(-plan|-failed)?\.json$"


def _active_keys(report: t.Mapping[str, t.Any]) -> t.Iterator[t.Mapping[str, t.Any]]:
    for target in report.get("targets") or []:
        for user in target.get("users") or []:
            for key in user.get("keys") or []:
                if key.get("status") == "Active":
                    yield key


def run_summary(report: t.Mapping[str, t.Any], file: t.Optional[str] = None) -> t.Dict[str, t.Any]:
    """The trend figures of one run."""
    data = sanitize_report(report)
    summary = data.get("summary") or {}
    ages = [float(k["age_days"]) for k in _active_keys(data) if k.get("age_days") is not None]
    return {
        "file": file,
        "name": data.get("name"),
        "kind": data.get("kind"),
        "generated_at": data.get("generated_at"),
        "mark": run_mark(data),
        "headline": data.get("headline"),
        "rotated": int(summary.get("rotated", 0)) + int(summary.get("reconciled", 0)) + int(summary.get("imported", 0)),
        "failed": int(summary.get("failed", 0)) + int(summary.get("errors", 0)),
        "overdue": int(summary.get("overdue", 0)),
        "unmanaged": sum(1 for k in _active_keys(data) if k.get("managed") is False),
        "oldest_key_days": round(max(ages), 1) if ages else None,
    }


def _trend_chart(runs: t.Sequence[t.Mapping[str, t.Any]], name: str) -> str:
    width, height, left, bottom, top = 640, 190, 34, 30, 16
    plot_w, plot_h = width - left - 12, height - bottom - top
    peak = max([int(r.get(series[0]) or 0) for r in runs for series in SERIES] + [1])
    step = plot_w / max(len(runs) - 1, 1)
    out = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'xmlns="http://www.w3.org/2000/svg"><title>Trend of the {_e(name)} runs</title>',
           f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 12}" y2="{top + plot_h}" class="axis"/>']
    for tick in sorted({0, peak // 2, peak}):
        y = top + plot_h - plot_h * tick / peak
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{tick}</text>'
                   f'<line x1="{left}" y1="{y:.1f}" x2="{width - 12}" y2="{y:.1f}" class="grid"/>')
    for number, (key, label, colour) in enumerate(SERIES):
        points = []
        shift = (number - (len(SERIES) - 1) / 2) * 3  # equal values stay visible side by side
        for i, run in enumerate(runs):
            x = left + (i * step if len(runs) > 1 else plot_w / 2) + shift
            y = top + plot_h - plot_h * int(run.get(key) or 0) / peak
            points.append((x, y, int(run.get(key) or 0), run))
        if len(points) > 1:
            path = " ".join(f"{point[0]:.1f},{point[1]:.1f}" for point in points)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2" class="series-{key}"/>')
        for x, y, value, run in points:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour}" class="point-{key}">'
                       f'<title>{_e(_when(run.get("generated_at")))}: {value} {label}</title></circle>')
    for i, run in enumerate(runs):
        if len(runs) <= 12 or i in (0, len(runs) - 1):
            x = left + (i * step if len(runs) > 1 else plot_w / 2)
            stamp = str(run.get("generated_at") or "")[5:16].replace("T", " ")
            out.append(f'<text x="{x:.1f}" y="{top + plot_h + 18}" class="tick" text-anchor="middle">{_e(stamp)}</text>')
    out.append("</svg>")
    legend = "".join(f'<span style="background:{series[2]}"></span>{_e(series[1])}' for series in SERIES)
    return "".join(out) + f'<div class="legend">{legend}</div>'


MARK_BADGES = {"": ("badge-good", "ok"), "failed": ("badge-bad", "failed"), "plan": ("badge-neutral", "plan")}


def render_index(reports: t.Sequence[t.Mapping[str, t.Any]], files: t.Optional[t.Sequence[str]] = None,
                 title: str = "keyturn.aws report history") -> str:
    """The index page: per report name a trend chart and the runs, newest first, linked to their HTML pages."""
    names = list(files or [])
    runs = [run_summary(r, names[i] if i < len(names) else None) for i, r in enumerate(reports)]
    runs.sort(key=lambda r: (str(r.get("name")), str(r.get("generated_at"))))
    groups: t.Dict[str, t.List[t.Dict[str, t.Any]]] = {}
    for run in runs:
        groups.setdefault(str(run.get("name")), []).append(run)
    out = page_head(_e(title), f"{CSS}\nsection.target .chartbox{{margin:12px 16px;display:inline-block}}"
                    "\na{color:var(--accent)}") + [
        f'<header><h1>{_e(title)}</h1><div class="meta">{len(runs)} run(s) in {len(groups)} report(s); '
        "failed runs are kept and marked; the latest successful run of each report is also &lt;name&gt;.html"
        "</div></header><main>"]
    if not runs:
        out.append('<p class="muted">No runs yet.</p>')
    for name, group in sorted(groups.items()):
        real = [r for r in group if r.get("mark") != "plan"]
        good = [r for r in real if not r.get("mark")]
        latest = (f'latest good run {_e(_when(good[-1].get("generated_at")))}: <a href="{_e(name)}.html">{_e(name)}.html</a>'
                  if good else "no successful run yet")
        out.append(f'<section class="target"><h2>{_e(name)}<span class="sub">{len(group)} run(s); {latest}</span></h2>')
        out.append('<div class="chartbox"><h2>Trend per run</h2>' + _trend_chart(real or group, name) + "</div>")
        out.append('<div class="scroll"><table><thead><tr>' + "".join(
            f"<th>{h}</th>" for h in ("Run", "Result", "Rotated", "Failed", "Overdue", "Unmanaged", "Oldest key",
                                      "Summary")) + "</tr></thead><tbody>")
        for run in reversed(group):
            cls, label = MARK_BADGES.get(str(run.get("mark") or ""), ("badge-neutral", str(run.get("mark"))))
            link = _e(_when(run.get("generated_at")))
            if run.get("file"):
                html_file = re.sub(r"\.json$", ".html", str(run["file"]))
                link = f'<a href="{_e(html_file)}">{link}</a>'
            oldest = "&ndash;" if run.get("oldest_key_days") is None else f"{_e(run['oldest_key_days'])} d"
            out.append(f'<tr class="run run-{_e(run.get("mark") or "ok")}"><td class="when">{link}</td>'
                       f'<td><span class="badge {cls}">{_e(label)}</span></td><td>{_e(run["rotated"])}</td>'
                       f'<td>{_e(run["failed"])}</td><td>{_e(run["overdue"])}</td><td>{_e(run["unmanaged"])}</td>'
                       f'<td>{oldest}</td><td class="reason">{_e(run.get("headline"))}</td></tr>')
        out.append("</tbody></table></div></section>")
    out.append(f'</main><footer>{_e(FORMAT)} history &middot; key ids only, never secrets</footer></body></html>')
    return "\n".join(out) + "\n"


def plan_lines(report: t.Mapping[str, t.Any]) -> t.List[str]:
    """What a run did (or, in check mode, would do), one line per account and user, from the sanitized report."""
    data = sanitize_report(report)
    plan = bool(data.get("check_mode"))
    lines = [("PLAN (check mode, nothing changed): " if plan else "") + str(data.get("headline") or "")]
    for target in data.get("targets") or []:
        where = " ".join(str(v) for v in (target.get("account_alias"), target.get("account_id"), target.get("partition"),
                                          target.get("region")) if v)
        lines.append(f"{target.get('name')} [{where}]" + (f": ERROR {target.get('error')}" if target.get("error") else ""))
        for user in target.get("users") or []:
            action = user.get("action") or user.get("status") or "-"
            keys = ", ".join(f"{k.get('access_key_id')} ({k.get('status')}"
                             + (f", {k.get('age_days'):.0f} d" if isinstance(k.get("age_days"), (int, float)) else "")
                             + (", stored" if k.get("current") else "") + ")" for k in user.get("keys") or [])
            text = f"  {user.get('user_name')}: {'would be ' if plan and action not in ('skipped', 'failed') else ''}{action}"
            if user.get("reason"):
                text += f" - {user.get('reason')}"
            if keys:
                text += f"; keys: {keys}"
            if action not in ("skipped",) and user.get("plan"):
                text += "; steps: " + "; ".join(str(p) for p in user.get("plan") or [])
            lines.append(text)
    return lines
