# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The incident report of keyturn.aws.respond_exposed_key: data, JSON, one audit line and an HTML page.

Pure functions, no Ansible and no I/O.  Like the run report (whose schema projection and
scrubbing, :mod:`_report_schema`, and look, :mod:`_html`, it reuses), only whitelisted fields survive, so a secret that slipped into the input
can never reach a report; free text is scrubbed of anything shaped like a secret access key.
"""

from __future__ import annotations

import datetime
import json
import typing as t

from ansible_collections.keyturn.aws.plugins.plugin_utils._html import _e, _tile, page_head
from ansible_collections.keyturn.aws.plugins.plugin_utils._report_schema import project

FORMAT = "keyturn.aws.incident/1"
TIMELINE_STEPS = ("event", "received", "started", "located", "swapped", "replaced", "verified", "deactivated", "refused",
                  "deleted", "reported")
STEP_LABELS = {
    "event": "AWS reported the exposure", "received": "event received by the rulebook", "started": "response started",
    "located": "key located", "swapped": "dual pair swapped to the standby", "replaced": "replacement key in the store",
    "verified": "replacement verified with STS", "deactivated": "exposed key deactivated",
    "refused": "exposed key refused by AWS", "deleted": "exposed key deleted", "reported": "report written",
}
DURATIONS = {
    "event_to_refused_seconds": ("event", "refused"),
    "received_to_refused_seconds": ("received", "refused"),
    "event_to_replaced_seconds": ("event", "replaced"),
    "response_seconds": ("started", "reported"),
}

SCHEMA: t.Dict[str, t.Any] = {
    "format": "str", "name": "str", "title": "text", "generated_at": "str", "check_mode": "bool", "headline": "text",
    "access_key_id": "str", "account_id": "str", "partition": "str", "user_name": "str", "store_name": "str",
    "stage": "str", "pair": "str", "source": "str", "event_type": "str", "event_id": "str",
    "handling": "str", "outcome": "str", "new_key_id": "str", "verified": "bool", "exposed_key_status": "str",
    "exposed_key_refused": "bool", "delete_at": "str",
    "timeline": [{"step": "str", "at": "str", "detail": "text"}],
    "durations": {name: "float" for name in DURATIONS},
    "problems": ["text"],
}


def _parse(value: t.Any) -> t.Optional[datetime.datetime]:
    """A timestamp from ISO 8601 or the RFC 1123 form of AWS Health's startTime."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = datetime.datetime.strptime(text, "%a, %d %b %Y %H:%M:%S %Z")
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def build(data: t.Mapping[str, t.Any], generated_at: t.Optional[str] = None) -> t.Dict[str, t.Any]:
    """The sanitized incident report, with the timeline in order and the durations computed."""
    if not isinstance(data, t.Mapping):
        raise TypeError(f"expected the incident as a dict, got {type(data).__name__}")
    report = t.cast(t.Dict[str, t.Any], project(SCHEMA, data) or {})
    report["format"] = FORMAT
    report.setdefault("generated_at", generated_at or datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ"))
    key = report.get("access_key_id") or "unknown"
    report.setdefault("name", f"exposed-key-{key}")
    report.setdefault("title", "Exposed access key incident")
    timeline = [step for step in report.get("timeline") or [] if step.get("step") and step.get("at")]
    order = {name: index for index, name in enumerate(TIMELINE_STEPS)}
    timeline.sort(key=lambda step: (_parse(step["at"]) or datetime.datetime.max.replace(tzinfo=datetime.timezone.utc),
                                    order.get(step["step"], 99)))
    report["timeline"] = timeline
    first: t.Dict[str, datetime.datetime] = {}
    for step in timeline:
        moment = _parse(step["at"])
        if moment is not None and step["step"] not in first:
            first[step["step"]] = moment
    durations = dict(report.get("durations") or {})
    for name, (start, end) in DURATIONS.items():
        if start in first and end in first and name not in durations:
            durations[name] = round((first[end] - first[start]).total_seconds(), 1)
    report["durations"] = durations
    if not report.get("headline"):
        outcome = report.get("outcome") or "none"
        seconds = durations.get("event_to_refused_seconds")
        timing = f"; refused {seconds:g} s after the event" if isinstance(seconds, (int, float)) else ""
        plan = "PLAN (check mode, nothing changed): " if report.get("check_mode") else ""
        report["headline"] = f"{plan}{key} of {report.get('user_name') or 'an unknown user'}: {outcome}{timing}"
    return t.cast(t.Dict[str, t.Any], project(SCHEMA, report))


def render_json(data: t.Mapping[str, t.Any]) -> str:
    return json.dumps(build(data), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def audit_line(data: t.Mapping[str, t.Any]) -> str:
    """One JSON line for the audit log (event ``exposed_key_incident``)."""
    report = build(data)
    record = {"ts": report["generated_at"], "event": "exposed_key_incident"}
    record.update({k: v for k, v in report.items() if k not in ("format", "title", "generated_at") and v not in (None, [], {})})
    return json.dumps(record, sort_keys=True, ensure_ascii=False)


def render_html(data: t.Mapping[str, t.Any]) -> str:
    """A self-contained HTML page (inline CSS, no scripts, nothing fetched); every value escaped."""
    report = build(data)
    outcome = report.get("outcome") or "none"
    tone = "good" if outcome in ("replaced", "deactivated", "deleted") else "bad" if outcome == "failed" else ""
    durations = report.get("durations") or {}
    refused = durations.get("event_to_refused_seconds")
    out = page_head(f"{_e(report.get('title'))} &middot; {_e(report.get('access_key_id'))}") + [
        f'<header><h1>{_e(report.get("title"))}</h1><div class="meta">{_e(report.get("name"))} &middot; generated '
        f'{_e(report.get("generated_at"))}</div><div class="headline">{_e(report.get("headline"))}</div></header>',
    ]
    if report.get("check_mode"):
        out.append('<div class="plan">Plan only (check mode): nothing was changed.</div>')
    tiles = [_tile(outcome, "outcome", tone),
             _tile("-" if refused is None else f"{refused:g} s", "event to refused", "good" if refused is not None else ""),
             _tile(report.get("exposed_key_status") or "-", "exposed key now"),
             _tile("yes" if report.get("verified") else "no" if report.get("verified") is False else "-",
                   "replacement verified")]
    out.append('<main><div class="overview"><div class="tiles">' + "".join(tiles) + "</div></div>")
    facts = [("Access key", report.get("access_key_id")), ("User", report.get("user_name")),
             ("Account", report.get("account_id")), ("Partition", report.get("partition")),
             ("Store record", report.get("store_name")), ("Stage", report.get("stage")), ("Dual pair", report.get("pair")),
             ("Handling", report.get("handling")), ("Replacement key", report.get("new_key_id")),
             ("Deleted from", report.get("delete_at")), ("Source", report.get("source")),
             ("Event type", report.get("event_type")), ("Event id", report.get("event_id"))]
    out.append('<section class="target"><h2>Incident</h2><div class="scroll"><table><tbody>'
               + "".join(f"<tr><th>{_e(label)}</th><td>{_e(value)}</td></tr>" for label, value in facts if value)
               + "</tbody></table></div></section>")
    start = _parse((report.get("timeline") or [{}])[0].get("at")) if report.get("timeline") else None
    rows = []
    for step in report.get("timeline") or []:
        moment = _parse(step["at"])
        offset = f"+{(moment - start).total_seconds():.1f} s" if moment and start else ""
        rows.append(f"<tr><td>{_e(step['at'])}</td><td>{_e(offset)}</td><td>{_e(STEP_LABELS.get(step['step'], step['step']))}"
                    f"</td><td>{_e(step.get('detail'))}</td></tr>")
    out.append('<section class="target"><h2>Timeline</h2><div class="scroll"><table><thead><tr><th>When (UTC)</th>'
               "<th>Since first</th><th>Step</th><th>Details</th></tr></thead><tbody>" + "".join(rows)
               + "</tbody></table></div></section>")
    if report.get("problems"):
        out.append('<section class="target"><h2>Problems</h2>'
                   + "".join(f'<div class="error">{_e(p)}</div>' for p in report["problems"]) + "</section>")
    out.append(f"</main><footer>{_e(FORMAT)} &middot; key ids only, never secrets</footer></body></html>")
    return "\n".join(out) + "\n"
