# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The credential posture report (role keyturn.aws.audit_credentials): data, JSON and HTML.

Built from the registered loop results of ``credential_report_info`` (or
``credential_report_remediate``) over accounts.  Same rules and look as the
rotation report (:mod:`_report_schema`, :mod:`_html`): a whitelist schema, free text scrubbed of
anything shaped like a secret, a self-contained page with the same CSS.
Per account: a pass/fail table per control and the failing subjects; across the
estate: a control x account matrix and totals.
"""

from __future__ import annotations

import datetime
import json
import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._partitions import partition_name_of
from ansible_collections.keyturn.aws.plugins.plugin_utils._html import CSS, _e, _tile, _when, page_head
from ansible_collections.keyturn.aws.plugins.plugin_utils._report import loop_items, target_of
from ansible_collections.keyturn.aws.plugins.plugin_utils._report_schema import project

FORMAT = "keyturn.aws.posture/1"
CONTROL_ORDER = ("CIS 1.4", "CIS 1.5", "CIS 1.6", "CIS 1.12", "CIS 1.13", "CIS 1.14", "keyturn.unmanaged",
                 "keyturn.store_drift")

FINDING_SCHEMA = {"control": "str", "title": "text", "status": "str", "subject": "str", "detail": "text",
                  "access_key_ids": ["str"]}
ACTION_SCHEMA = {"account_id": "str", "user_name": "str", "access_key_id": "str", "control": "str", "action": "str", "reason": "text"}
CONTROL_SCHEMA = {"control": "str", "title": "text", "pass": "int", "fail": "int", "accounts_failing": "int",
                  "subjects": ["str"]}
TARGET_SCHEMA = {
    "name": "text", "account_id": "str", "partition": "str", "region": "str", "role_arn": "str", "error": "text",
    "report_time": "str", "report_note": "text", "data_limits": "text",
    "summary": {"pass": "int", "fail": "int", "users": "int", "planned": "int", "remediated": "int"},
    "controls": [CONTROL_SCHEMA], "findings": [FINDING_SCHEMA], "plan": [ACTION_SCHEMA], "remediated": [ACTION_SCHEMA],
}
SUMMARY_KEYS = ("targets", "accounts", "errors", "users", "pass", "fail", "controls_failing", "planned", "remediated")
REPORT_SCHEMA = {
    "format": "str", "kind": "str", "name": "text", "title": "text", "headline": "text", "generated_at": "str",
    "check_mode": "bool", "remediate": ["str"], "policy": {"unused_days": "int", "max_age_days": "int"},
    "summary": {k: "int" for k in SUMMARY_KEYS}, "controls": [CONTROL_SCHEMA], "problems": ["text"],
    "targets": [TARGET_SCHEMA],
}


def sanitize_posture(data: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    return t.cast(t.Dict[str, t.Any], project(REPORT_SCHEMA, data) or {})


def _control_rows(findings: t.Sequence[t.Mapping[str, t.Any]]) -> t.List[t.Dict[str, t.Any]]:
    rows: t.Dict[str, t.Dict[str, t.Any]] = {}
    for item in findings:
        control = str(item.get("control") or "")
        if not control:
            continue
        row = rows.setdefault(control, {"control": control, "title": item.get("title"), "pass": 0, "fail": 0,
                                        "subjects": []})
        if item.get("status") == "fail":
            row["fail"] += 1
            if item.get("subject") not in row["subjects"]:
                row["subjects"].append(item.get("subject"))
        else:
            row["pass"] += 1
    order = {c: i for i, c in enumerate(CONTROL_ORDER)}
    return sorted(rows.values(), key=lambda r: (order.get(r["control"], len(order)), r["control"]))


def build_posture(results: t.Any, name: t.Optional[str] = None, check_mode: bool = False, unused_days: int = 45,
                  max_age_days: int = 90, remediate: t.Optional[t.Sequence[str]] = None,
                  generated_at: t.Optional[str] = None) -> t.Dict[str, t.Any]:
    """The posture report of one run from the registered loop results over the targets (accounts)."""
    targets: t.List[t.Dict[str, t.Any]] = []
    accounts: t.Set[t.Tuple[t.Any, t.Any]] = set()
    summary = {k: 0 for k in SUMMARY_KEYS}
    estate: t.Dict[str, t.Dict[str, t.Any]] = {}
    for item in loop_items(results):
        target = target_of(item)
        if item.get("skipped"):
            continue
        region = target.get("region")
        account_id = item.get("account_id") or target.get("account_id")
        partition = item.get("partition") or partition_name_of(region)
        findings = [f for f in item.get("findings") or [] if isinstance(f, t.Mapping)]
        report = item.get("report") if isinstance(item.get("report"), t.Mapping) else {}
        error = str(item.get("msg") or "failed") if item.get("failed") else None
        controls = _control_rows(findings)
        plan = [a for a in item.get("plan") or [] if isinstance(a, t.Mapping)]
        done = [a for a in item.get("remediated") or [] if isinstance(a, t.Mapping)]
        role = target.get("assume_role")
        entry = {
            "name": target.get("name") or f"{account_id or '?'} {region or ''}".strip(),
            "account_id": account_id, "partition": partition, "region": region,
            "role_arn": role.get("role_arn") if isinstance(role, t.Mapping) else None,
            "error": error, "report_time": report.get("generated_time"), "report_note": report.get("note"),
            "data_limits": report.get("data_limits"),
            "summary": {"pass": sum(1 for f in findings if f.get("status") == "pass"),
                        "fail": sum(1 for f in findings if f.get("status") == "fail"),
                        "users": len(item.get("users") or []), "planned": len(plan), "remediated": len(done)},
            "controls": controls,
            "findings": [f for f in findings if f.get("status") == "fail"],
            "plan": plan, "remediated": done,
        }
        targets.append(entry)
        accounts.add((account_id, partition))
        for key in ("pass", "fail", "users", "planned", "remediated"):
            summary[key] += entry["summary"][key]
        summary["errors"] += 1 if error else 0
        for row in controls:
            empty = {"control": row["control"], "title": row["title"], "pass": 0, "fail": 0, "accounts_failing": 0}
            total = estate.setdefault(row["control"], empty)
            total["pass"] += row["pass"]
            total["fail"] += row["fail"]
            total["accounts_failing"] += 1 if row["fail"] else 0
    order = {c: i for i, c in enumerate(CONTROL_ORDER)}
    controls_total = sorted(estate.values(), key=lambda r: (order.get(r["control"], len(order)), r["control"]))
    summary["targets"] = len(targets)
    summary["accounts"] = len(accounts)
    summary["controls_failing"] = sum(1 for c in controls_total if c["fail"])
    problems = [f"{t_['name']}: {t_['error']}" for t_ in targets if t_["error"]]
    data = {
        "format": FORMAT, "kind": "posture", "name": name or "posture",
        "title": "Credential posture report" + (" (plan, check mode)" if check_mode else ""),
        "generated_at": generated_at or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "check_mode": bool(check_mode), "remediate": list(remediate or []),
        "policy": {"unused_days": int(unused_days), "max_age_days": int(max_age_days)},
        "summary": summary, "controls": controls_total, "problems": problems, "targets": targets,
    }
    data["headline"] = (f"{summary['accounts']} account(s), {summary['users']} IAM user(s): "
                        f"{summary['controls_failing']} of {len(controls_total)} control(s) failing somewhere, "
                        f"{summary['fail']} failing finding(s)"
                        + (f"; {summary['planned']} key(s) to deactivate" if check_mode and data["remediate"] else "")
                        + (f"; {summary['remediated']} key(s) deactivated" if not check_mode and data["remediate"] else "")
                        + (f"; {summary['errors']} account error(s)" if summary["errors"] else ""))
    return sanitize_posture(data)


def ensure_posture(data: t.Any, **kwargs: t.Any) -> t.Dict[str, t.Any]:
    if isinstance(data, t.Mapping) and data.get("format") == FORMAT:
        return sanitize_posture(data)
    if isinstance(data, (t.Mapping, list, tuple)):
        return build_posture(data, **kwargs)
    raise TypeError(f"expected posture report data or registered results, got {type(data).__name__}")


def render_json(data: t.Mapping[str, t.Any]) -> str:
    return json.dumps(sanitize_posture(data), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


POSTURE_CSS = """
.matrix td.cell{text-align:center;white-space:nowrap}
.matrix th.acct{text-align:center;text-transform:none;letter-spacing:0}
td.control{white-space:nowrap;font-weight:600}
td.control small{display:block;font-weight:400;color:var(--muted)}
.subjects code{display:inline-block;margin:0 4px 2px 0;background:#f6f8fa;border-radius:4px;padding:0 4px}
h3{font-size:13px;margin:0;padding:10px 16px 6px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.note{color:var(--muted);font-size:12.5px;padding:8px 16px;border-bottom:1px solid var(--line)}
""".strip()


def _status(passes: int, fails: int) -> str:
    if fails:
        return f'<span class="badge badge-bad">fail {fails}</span>'
    if passes:
        return f'<span class="badge badge-good">pass {passes}</span>'
    return '<span class="muted">&ndash;</span>'


def _verdict(row: t.Mapping[str, t.Any]) -> str:
    if row.get("fail"):
        return '<span class="badge badge-bad">fail</span>'
    return '<span class="badge badge-good">pass</span>'


def _control_cell(row: t.Mapping[str, t.Any]) -> str:
    return f'<td class="control">{_e(row.get("control"))}<small>{_e(row.get("title"))}</small></td>'


def _actions_table(actions: t.Sequence[t.Mapping[str, t.Any]], label: str) -> str:
    out = [f"<h3>{_e(label)}</h3>", '<div class="scroll"><table><thead><tr><th>User</th><th>Access key</th>'
           "<th>Control</th><th>Action</th><th>Why</th></tr></thead><tbody>"]
    for action in actions:
        out.append(f'<tr><td class="user">{_e(action.get("user_name"))}</td><td class="key"><code>'
                   f'{_e(action.get("access_key_id"))}</code></td><td>{_e(action.get("control"))}</td>'
                   f'<td><span class="badge badge-warn">{_e(action.get("action"))}</span></td>'
                   f'<td class="reason">{_e(action.get("reason"))}</td></tr>')
    out.append("</tbody></table></div>")
    return "".join(out)


def render_html(report: t.Mapping[str, t.Any]) -> str:
    """A self-contained HTML page (inline CSS, no scripts, nothing fetched); every value escaped."""
    data = sanitize_posture(report)
    plan = bool(data.get("check_mode"))
    summary = data.get("summary") or {}
    policy = data.get("policy") or {}
    targets = data.get("targets") or []
    title = data.get("title") or "Credential posture report"
    remediate = data.get("remediate") or []
    out: t.List[str] = page_head(f"{_e(title)} &middot; {_e(data.get('name'))}", f"{CSS}\n{POSTURE_CSS}") + [
        f'<header><h1>{_e(title)}</h1><div class="meta">{_e(data.get("name"))} &middot; generated '
        f'{_e(_when(data.get("generated_at")))} &middot; CIS AWS Foundations IAM controls &middot; unused after '
        f'{_e(policy.get("unused_days"))} days, rotate at {_e(policy.get("max_age_days"))} days'
        + (f' &middot; remediation: {_e(", ".join(remediate))}' if remediate else " &middot; remediation off")
        + f'</div><div class="headline">{_e(data.get("headline"))}</div></header>',
    ]
    if plan:
        out.append('<div class="plan">Plan only (check mode): nothing was changed; the keys listed would be '
                   "deactivated by a real run.</div>")
    tiles = [_tile(summary.get("accounts", 0), "accounts"), _tile(summary.get("users", 0), "IAM users"),
             _tile(summary.get("controls_failing", 0), "controls failing", "bad" if summary.get("controls_failing") else "good"),
             _tile(summary.get("fail", 0), "failing findings", "bad" if summary.get("fail") else ""),
             _tile(summary.get("pass", 0), "passing findings", "good")]
    if remediate:
        tiles.append(_tile(summary.get("planned", 0) if plan else summary.get("remediated", 0),
                           "keys to deactivate" if plan else "keys deactivated", "warn"))
    tiles.append(_tile(summary.get("errors", 0), "account errors", "bad" if summary.get("errors") else ""))
    out.append('<main><div class="overview"><div class="tiles">' + "".join(tiles) + "</div></div>")
    # The estate: control x account.
    out.append('<section class="target"><h2>Estate<span class="sub">failing findings per control and account</span></h2>'
               '<div class="scroll"><table class="matrix"><thead><tr><th>Control</th>'
               + "".join(f'<th class="acct">{_e(t_.get("name"))}<br><small>{_e(t_.get("account_id"))}</small></th>'
                         for t_ in targets)
               + '<th class="acct">Total</th></tr></thead><tbody>')
    for row in data.get("controls") or []:
        cells = []
        for target in targets:
            own = next((c for c in target.get("controls") or [] if c.get("control") == row.get("control")), None)
            cells.append(f'<td class="cell">{_status(own.get("pass", 0), own.get("fail", 0)) if own else _status(0, 0)}</td>')
        out.append(f"<tr>{_control_cell(row)}{''.join(cells)}<td class=\"cell\">"
                   f"{_status(row.get('pass', 0), row.get('fail', 0))}</td></tr>")
    if not data.get("controls"):
        out.append(f'<tr><td colspan="{len(targets) + 2}" class="muted">no findings</td></tr>')
    out.append("</tbody></table></div></section>")
    for target in targets:
        sub = " ".join(f'<span class="pill">{_e(v)}</span>' for v in (
            target.get("account_id"), target.get("partition"), target.get("region")) if v)
        role = f'<span class="pill">via {_e(target.get("role_arn"))}</span>' if target.get("role_arn") else ""
        tsum = target.get("summary") or {}
        out.append(f'<section class="target"><h2>{_e(target.get("name"))}{sub}{role}<span class="sub">'
                   f'{_e(tsum.get("users", 0))} IAM users &middot; {_e(tsum.get("fail", 0))} failing</span></h2>')
        if target.get("error"):
            out.append(f'<div class="error">{_e(target.get("error"))}</div>')
        if target.get("report_note"):
            out.append(f'<div class="note">{_e(target.get("report_note"))}. {_e(target.get("data_limits"))}.</div>')
        out.append('<div class="scroll"><table><thead><tr><th>Control</th><th>Status</th><th>Pass</th><th>Fail</th>'
                   "<th>Failing subjects</th></tr></thead><tbody>")
        for row in target.get("controls") or []:
            subjects = "".join(f"<code>{_e(s)}</code>" for s in row.get("subjects") or [])
            out.append(f"<tr>{_control_cell(row)}<td>{_verdict(row)}</td>"
                       f"<td>{_e(row.get('pass', 0))}</td><td>{_e(row.get('fail', 0))}</td>"
                       f'<td class="subjects">{subjects or "<span class=muted>&ndash;</span>"}</td></tr>')
        if not target.get("controls"):
            out.append('<tr><td colspan="5" class="muted">no findings (see the error above)</td></tr>')
        out.append("</tbody></table></div>")
        if target.get("findings"):
            out.append('<h3>Failing findings</h3><div class="scroll"><table><thead><tr><th>Control</th><th>Subject</th>'
                       "<th>Detail</th></tr></thead><tbody>")
            for item in target.get("findings") or []:
                out.append(f'<tr><td class="control">{_e(item.get("control"))}</td><td class="user">'
                           f'{_e(item.get("subject"))}</td><td class="reason">{_e(item.get("detail"))}</td></tr>')
            out.append("</tbody></table></div>")
        if plan and target.get("plan"):
            out.append(_actions_table(target.get("plan") or [], "Planned remediation (check mode)"))
        if not plan and target.get("remediated"):
            out.append(_actions_table(target.get("remediated") or [], "Remediation done"))
        out.append("</section>")
    if not targets:
        out.append('<p class="muted">No accounts.</p>')
    out.append("</main>")
    out.append(f"<footer>{_e(FORMAT)} &middot; key ids only, never secrets &middot; as of each account's IAM credential "
               "report</footer></body></html>")
    return "\n".join(out) + "\n"
