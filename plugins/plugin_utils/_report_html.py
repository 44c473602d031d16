# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run report as a self-contained HTML page: summary tiles, the age chart and a row per key.

Renders sanitized data only (:func:`_report_schema.sanitize_report` runs first),
with the shared look of :mod:`_html`: inline CSS and an inline SVG chart, loads
nothing, and escapes every value.
"""

from __future__ import annotations

import typing as t

from ansible_collections.keyturn.aws.plugins.plugin_utils._html import _e, _tile, _when, page_head
from ansible_collections.keyturn.aws.plugins.plugin_utils._report_schema import CLASS_LABELS, FORMAT, TITLES, sanitize_report


def _days(value: t.Optional[float]) -> str:
    return "" if value is None else f"{value:.1f}".rstrip("0").rstrip(".")


def _age_cell(age: t.Optional[float], cls: t.Optional[str]) -> str:
    if age is None:
        return '<span class="muted">n/a</span>'
    css = (cls or "ok").replace("_", "-")
    return (f'<span class="age age-{_e(css)}" title="{_e(CLASS_LABELS.get(cls or "ok", ""))}">'
            f'{_e(_days(age))} d<small>{_e(CLASS_LABELS.get(cls or "ok", ""))}</small></span>')


def _last_used_cell(last_used: t.Optional[t.Mapping[str, t.Any]]) -> str:
    if not last_used:
        return '<span class="muted">n/a</span>'
    if not last_used.get("date"):
        return '<span class="muted">never</span>'
    stamp = _when(last_used.get("date"))
    details = [v for v in (last_used.get("service"), last_used.get("region")) if v]
    if stamp.endswith(" UTC"):
        stamp = stamp[:-4]
        details.insert(0, "UTC")
    where = " &middot; ".join(_e(v) for v in details)
    own = ('<br><small class="muted own-use">keyturn\'s own verification; no use by others since</small>'
           if last_used.get("by_keyturn") else "")
    return f'<span class="when">{_e(stamp)}</span>' + (f'<br><small class="muted">{where}</small>' if where else "") + own


ACTION_CLASSES = {"rotated": "good", "reconciled": "good", "imported": "good", "skipped": "neutral", "failed": "bad"}
STATUS_CLASSES = {"valid": "good", "invalid": "bad", "missing": "warn", "error": "bad"}


def _badge(value: t.Optional[str], classes: t.Mapping[str, str], plan: bool = False) -> str:
    if not value:
        return '<span class="muted">&ndash;</span>'
    label = f"would be {value}" if plan and value in ("rotated", "reconciled", "imported") else value
    return f'<span class="badge badge-{_e(classes.get(value, "neutral"))}">{_e(label)}</span>'


def _chart(buckets: t.Sequence[t.Mapping[str, t.Any]]) -> str:
    width, height, pad_left, pad_bottom, pad_top = 440, 150, 34, 26, 18
    plot_w, plot_h = width - pad_left - 10, height - pad_bottom - pad_top
    top = max([int(b.get("count") or 0) for b in buckets] + [1])
    n = max(len(buckets), 1)
    slot = plot_w / n
    bar_w = slot * 0.62
    parts = [f'<svg class="chart" role="img" aria-labelledby="chart-title" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">',
             '<title id="chart-title">Active access keys by age in days</title>',
             f'<line x1="{pad_left}" y1="{pad_top + plot_h}" x2="{width - 10}" y2="{pad_top + plot_h}" class="axis"/>']
    for tick in sorted({0, top // 2, top}):
        y = pad_top + plot_h - plot_h * tick / top
        parts.append(f'<text x="{pad_left - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{tick}</text>')
        parts.append(f'<line x1="{pad_left}" y1="{y:.1f}" x2="{width - 10}" y2="{y:.1f}" class="grid"/>')
    for i, bucket in enumerate(buckets):
        value = int(bucket.get("count") or 0)
        bar_h = plot_h * value / top
        x = pad_left + i * slot + (slot - bar_w) / 2
        y = pad_top + plot_h - bar_h
        cls = str(bucket.get("age_class") or "ok").replace("_", "-")
        label = _e(bucket.get("label"))
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{max(bar_h, 0):.1f}" rx="3" '
                     f'class="bar bar-{_e(cls)}"><title>{label} days: {value} key(s)</title></rect>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{y - 5:.1f}" class="count" text-anchor="middle">{value}</text>')
        parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{pad_top + plot_h + 18}" class="tick" '
                     f'text-anchor="middle">{label} d</text>')
    parts.append("</svg>")
    return "".join(parts)


RETIREMENT_STATES = {"waiting": "pending retirement (grace period)", "in_use": "pending retirement (still in use)",
                     "ready": "to retire", "retired": "retired"}


def _user_rows(user: t.Mapping[str, t.Any], kind: str, plan: bool, reached: bool = True) -> t.List[str]:
    keys = list(user.get("keys") or [])
    span = max(len(keys), 1)
    notes: t.List[str] = []
    if user.get("reason"):
        notes.append(f'<div class="reason">{_e(user.get("reason"))}</div>')
    if plan and user.get("plan") and user.get("action") not in (None, "skipped"):
        notes.append('<div class="reason">plan: ' + "; ".join(_e(p) for p in user.get("plan") or []) + "</div>")
    if user.get("status") not in (None, "valid") and user.get("verify_reason"):
        notes.append(f'<div class="reason">{_e(user.get("verify_reason"))}</div>')
    for drift in user.get("drift") or []:
        notes.append(f'<div class="drift">drift: {_e(drift)}</div>')
    retirement = user.get("retirement") or {}
    if retirement.get("state"):
        state = RETIREMENT_STATES.get(str(retirement["state"]), str(retirement["state"]))
        notes.append(f'<div class="drift">old key {_e(retirement.get("key_id"))}: {_e(state)} &ndash; '
                     f'{_e(retirement.get("reason"))}</div>')
    store_name = user.get("store_name")
    custom = store_name and not str(store_name).endswith("/" + str(user.get("user_name")))
    store = f'<small>store: {_e(store_name)}</small>' if custom else ""
    head = (f'<td class="user" rowspan="{span}">{_e(user.get("user_name"))}{store}</td>')
    tail = ""
    if kind != "discovery":
        tail += f'<td rowspan="{span}">{_badge(user.get("status"), STATUS_CLASSES)}</td>'
    if kind in ("rotation", "reconciliation"):
        tail += f'<td rowspan="{span}">{_badge(user.get("action"), ACTION_CLASSES, plan)}</td>'
    tail += f'<td rowspan="{span}">{"".join(notes)}</td>'
    if not keys:
        empty = "no access keys" if reached else "not reached (see the error above)"
        return [f'<tr class="user-first">{head}<td colspan="5" class="muted">{empty}</td>{tail}</tr>']
    rows = []
    for index, key in enumerate(keys):
        cls = str(key.get("age_class") or "ok").replace("_", "-")
        status = str(key.get("status") or "")
        classes = ["key", cls, "inactive" if status and status != "Active" else "active"]
        if index == 0:
            classes.append("user-first")
        managed = key.get("managed")
        managed_text = "&ndash;" if managed is None else ("managed" if managed else '<span class="badge badge-warn">unmanaged</span>')
        star = '<span class="star" title="the key in the store">&#9733; stored</span>' if key.get("current") else ""
        cells = (f'<td class="key"><code>{_e(key.get("access_key_id"))}</code>{star}</td>'
                 f'<td>{_e(status)}</td>'
                 f'<td>{_age_cell(key.get("age_days"), key.get("age_class"))}</td>'
                 f'<td>{_last_used_cell(key.get("last_used"))}</td>'
                 f'<td>{managed_text}</td>')
        rows.append(f'<tr class="{_e(" ".join(classes))}">' + (head if index == 0 else "") + cells
                    + (tail if index == 0 else "") + "</tr>")
    return rows


def render_html(report: t.Mapping[str, t.Any]) -> str:
    """A self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched); every value escaped."""
    data = sanitize_report(report)
    kind = str(data.get("kind") or "rotation")
    plan = bool(data.get("check_mode"))
    summary = data.get("summary") or {}
    policy = data.get("policy") or {}
    title = data.get("title") or TITLES.get(kind, "Access key report")
    out: t.List[str] = page_head(f"{_e(title)} &middot; {_e(data.get('name'))}") + [
        f'<header><h1>{_e(title)}</h1><div class="meta">{_e(data.get("name"))} &middot; generated '
        f'{_e(_when(data.get("generated_at")))} &middot; policy: rotate at {_e(policy.get("max_age_days"))} days, '
        f'due soon within {_e(policy.get("due_soon_days"))} days</div>'
        f'<div class="headline">{_e(data.get("headline"))}</div></header>',
    ]
    if plan:
        out.append('<div class="plan">Plan only (check mode): nothing was changed; actions show what a real run would do.'
                   "</div>")
    tiles = [_tile(summary.get("accounts", 0), "accounts"), _tile(summary.get("users", 0), "users"),
             _tile(summary.get("active_keys", 0), "active keys")]
    if kind == "rotation":
        tiles.append(_tile(summary.get("rotated", 0), "to rotate" if plan else "rotated", "good"))
    elif kind == "reconciliation":
        tiles.append(_tile(summary.get("reconciled", 0) + summary.get("imported", 0),
                           "to repair" if plan else "repaired", "good"))
    else:
        tiles.append(_tile(summary.get("keys", 0), "keys (all)"))
    tiles += [_tile(summary.get("ok", 0), "ok", "good"), _tile(summary.get("due_soon", 0), "due soon", "warn"),
              _tile(summary.get("overdue", 0), "overdue", "bad" if summary.get("overdue") else "")]
    if kind == "discovery":
        tiles.append(_tile(summary.get("keys", 0) - summary.get("active_keys", 0), "inactive keys"))
    else:
        attention = summary.get("attention", 0) + summary.get("errors", 0)
        tiles.append(_tile(attention, "need attention", "bad" if attention else ""))
    out.append('<main><div class="overview"><div class="tiles">' + "".join(tiles) + "</div>")
    out.append('<div class="chartbox"><h2>Active keys by age (days)</h2>' + _chart(data.get("age_buckets") or [])
               + '<div class="legend"><span style="background:var(--ok)"></span>ok'
               '<span style="background:#d4a72c"></span>due soon<span style="background:var(--over)"></span>overdue'
               "</div></div></div>")
    headers = ["User", "Access key", "Status", "Age", "Last used", "Store"]
    if kind != "discovery":
        headers.append("Verification")
    if kind in ("rotation", "reconciliation"):
        headers.append("Action" if not plan else "Planned action")
    headers.append("Details")
    for target in data.get("targets") or []:
        sub = " ".join(f'<span class="pill">{_e(v)}</span>' for v in (
            target.get("account_alias"), target.get("account_id"), target.get("partition"), target.get("region")) if v)
        role = f'<span class="pill">via {_e(target.get("role_arn"))}</span>' if target.get("role_arn") else ""
        out.append(f'<section class="target"><h2>{_e(target.get("name"))}{sub}{role}'
                   f'<span class="sub">max age {_e(target.get("max_age_days"))} days</span></h2>')
        if target.get("error"):
            out.append(f'<div class="error">{_e(target.get("error"))}</div>')
        out.append('<div class="scroll"><table><thead><tr>' + "".join(f"<th>{_e(h)}</th>" for h in headers)
                   + "</tr></thead><tbody>")
        users = target.get("users") or []
        for user in users:
            out.extend(_user_rows(user, kind, plan, reached=not target.get("error")))
        if not users:
            out.append(f'<tr><td colspan="{len(headers)}" class="muted">no users</td></tr>')
        out.append("</tbody></table></div></section>")
    if not data.get("targets"):
        out.append('<p class="muted">No targets.</p>')
    out.append("</main>")
    out.append(f'<footer>{_e(FORMAT)} &middot; key ids only, never secrets &middot; ages at the time of the run &middot; '
               "IAM's last-used data can lag by up to about four hours, and IAM keeps only a key's latest use"
               "</footer></body></html>")
    return "\n".join(out) + "\n"
