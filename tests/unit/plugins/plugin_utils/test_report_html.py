# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run report's HTML page: escaping, colours by policy, self-contained with chart and header."""

from __future__ import annotations

import re
import typing as t

from ansible_collections.keyturn.aws.plugins.plugin_utils import _report, _report_html
from report_steps import NOW, item


def test_html_escapes_everything() -> None:
    evil = {"name": "<b>prod</b> & \"co\"", "account_id": "111111111111", "region": "us-east-1",
            "users": ["<script>alert(1)</script>"]}
    steps = {"rotate": [item(evil, users=[{"user_name": "<script>alert(1)</script>", "action": "failed",
                                           "reason": "\"><img src=x onerror=alert(2)>"}])]}
    page = _report_html.render_html(_report.build_report(steps, name="</title><script>x</script>", generated_at=NOW))
    assert "<script" not in page and "<img" not in page and "<b>prod" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    assert "&lt;b&gt;prod&lt;/b&gt; &amp; &quot;co&quot;" in page


def test_html_colours_ages_by_policy(report: t.Dict[str, t.Any]) -> None:
    page = _report_html.render_html(report)
    rows = {m.group(2): m.group(1) for m in re.finditer(r'<tr class="([^"]*)">.*?<code>([A-Z0-9]+)</code>', page)}
    assert "ok" in rows["AKIANEW0000000000001"].split()
    assert "due-soon" in rows["AKIABACKUP0000000001"].split()
    assert "overdue" in rows["AKIALEGACY0000000001"].split()
    assert "inactive" in rows["AKIABACKUPOLD0000001"].split()
    assert 'class="age age-overdue"' in page and 'class="age age-due-soon"' in page and 'class="age age-ok"' in page


def test_html_is_self_contained_with_chart_and_header(report: t.Dict[str, t.Any]) -> None:
    page = _report_html.render_html(report)
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert not re.search(r"<(script|link|img|iframe)\b", page) and "http://" not in page.replace(
        "http://www.w3.org/2000/svg", "")
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert page.count('class="bar bar-') == 4 and "0-30 d" in page and "90+ d" in page
    assert "Access key rotation report" in page and _report.headline(report) .replace("'", "&#x27;") in page
    assert "never" in page and "2026-04-30 10:00</span>" in page  # last used
    assert "UTC &middot; sts &middot; us-east-1" in page
    assert "via arn:aws-cn:iam::222222222222:role/keyturn" in page
    assert "not reached (see the error above)" in page
