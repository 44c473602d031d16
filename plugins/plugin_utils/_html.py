# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The look every keyturn.aws page shares: escaping, the page shell, the style sheet and summary tiles.

Used by the run report (:mod:`_report_html`), its history index, the posture
and the incident reports.  A page is self-contained: inline CSS (and SVG),
no scripts, nothing fetched (its Content-Security-Policy allows nothing else),
and every value escaped.
"""

from __future__ import annotations

import html
import typing as t

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _e(value: t.Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _when(value: t.Optional[str]) -> str:
    if not value:
        return ""
    return value.replace("T", " ")[:16] + (" UTC" if len(value) >= 16 else "")


CSS = """
:root{--ok:#1a7f37;--ok-bg:#e6f4ea;--soon:#9a6700;--soon-bg:#fff4d5;--over:#c62828;--over-bg:#fde8e8;
--ink:#1f2328;--muted:#656d76;--line:#d8dee4;--card:#fff;--bg:#f5f7fa;--accent:#0b5cad}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--ink);background:var(--bg)}
header{background:#14233c;color:#fff;padding:22px 32px 18px}
header h1{margin:0 0 4px;font-size:22px;font-weight:600}
header .meta{color:#c5d1e3;font-size:13px}
header .headline{margin-top:8px;font-size:14px;color:#fff}
.plan{background:#fff4d5;color:#6b4b00;border-bottom:1px solid #e9cf7a;padding:10px 32px;font-weight:600}
main{padding:20px 32px 40px;max-width:1400px}
.overview{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
.tiles{display:grid;grid-template-columns:repeat(4,minmax(118px,1fr));gap:10px;flex:1 1 480px}
.tile{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.tile .n{font-size:24px;font-weight:650}
.tile .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.tile.bad .n{color:var(--over)}.tile.warn .n{color:var(--soon)}.tile.good .n{color:var(--ok)}
.chartbox{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 14px;flex:0 0 auto}
.chartbox h2{font-size:13px;margin:0 0 4px;color:var(--muted);font-weight:600;text-transform:uppercase;
letter-spacing:.04em}
.chart .axis{stroke:#8c959f}.chart .grid{stroke:#eef1f4}
.chart .tick{font-size:11px;fill:var(--muted)}.chart .count{font-size:12px;font-weight:600;fill:var(--ink)}
.bar-ok{fill:var(--ok)}.bar-due-soon{fill:#d4a72c}.bar-overdue{fill:var(--over)}
.legend{font-size:12px;color:var(--muted)}
.legend span{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 10px;vertical-align:-1px}
section.target{background:var(--card);border:1px solid var(--line);border-radius:8px;margin-top:20px;overflow:hidden}
section.target>h2{margin:0;padding:12px 16px;font-size:16px;border-bottom:1px solid var(--line);background:#fafbfc}
section.target>h2 .sub{font-weight:400;color:var(--muted);font-size:13px;margin-left:8px}
.pill{display:inline-block;border:1px solid var(--line);border-radius:10px;padding:0 8px;font-size:12px;
color:var(--muted);margin-left:6px;font-weight:400}
.error{background:var(--over-bg);color:var(--over);padding:10px 16px;border-bottom:1px solid #f3c1c1}
table{border-collapse:collapse;width:100%}
th{text-align:left;font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.03em;
padding:8px 9px;border-bottom:1px solid var(--line)}
td{padding:7px 9px;border-bottom:1px solid #eef1f4;vertical-align:top}
tr.user-first td{border-top:1px solid var(--line)}
td.user{font-weight:600}
td.user{white-space:nowrap}
td.user small{display:block;font-weight:400;color:var(--muted)}
td.key,.when{white-space:nowrap}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
tr.inactive td.key code{color:var(--muted);text-decoration:line-through}
.star{color:var(--accent);font-size:11px;margin-left:4px}
.age{display:inline-block;min-width:70px;border-radius:4px;padding:1px 7px;font-weight:600;white-space:nowrap}
tr.inactive .age{opacity:.6}
.age small{font-weight:500;margin-left:6px;font-size:11px}
.age-ok{background:var(--ok-bg);color:var(--ok)}
.age-due-soon{background:var(--soon-bg);color:var(--soon)}
.age-overdue{background:var(--over-bg);color:var(--over)}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;white-space:nowrap}
.badge-good{background:var(--ok-bg);color:var(--ok)}.badge-bad{background:var(--over-bg);color:var(--over)}
.badge-warn{background:var(--soon-bg);color:var(--soon)}.badge-neutral{background:#eef1f4;color:var(--muted)}
.muted{color:var(--muted)}
.reason{color:var(--muted);font-size:12.5px;min-width:200px;overflow-wrap:anywhere}
.drift{color:var(--soon);font-size:12px;overflow-wrap:anywhere}
.scroll{overflow-x:auto}
footer{color:var(--muted);font-size:12px;padding:0 32px 30px}
""".strip()


def _tile(number: t.Any, label: str, tone: str = "") -> str:
    return f'<div class="tile {_e(tone)}"><div class="n">{_e(number)}</div><div class="l">{_e(label)}</div></div>'


def page_head(title: str, css: str = CSS) -> t.List[str]:
    """The lines of a page up to its ``<body>``: ``title`` (already escaped) and the style sheet ``css``."""
    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>{title}</title>",
        f"<style>{css}</style></head><body>",
    ]
