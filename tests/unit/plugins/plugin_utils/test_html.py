# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The look every keyturn.aws page shares: escaping and one page shell for the run, history, posture and incident pages."""

from __future__ import annotations

from ansible_collections.keyturn.aws.plugins.plugin_utils import (
    _html,
    _incident_report,
    _posture_report,
    _report_history,
    _report_html,
)
from report_steps import NOW


def test_escape_and_time() -> None:
    assert _html._e(None) == "" and _html._e("<a href=\"x\">'") == "&lt;a href=&quot;x&quot;&gt;&#x27;"
    assert _html._when("2026-05-01T12:00:00Z") == "2026-05-01 12:00 UTC" and _html._when(None) == ""
    assert _html._tile(3, "<users>", "bad") == \
        '<div class="tile bad"><div class="n">3</div><div class="l">&lt;users&gt;</div></div>'


def test_page_head_is_self_contained() -> None:
    head = _html.page_head("a &amp; b", css="body{}")
    assert head == [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">",
        "<title>a &amp; b</title>",
        "<style>body{}</style></head><body>",
    ]
    assert _html.page_head("x")[-1] == f"<style>{_html.CSS}</style></head><body>"


def test_every_page_opens_with_the_one_shell(report) -> None:
    pages = [
        _report_html.render_html(report),
        _report_history.render_index([report], files=["nightly-20260501T120000Z.json"]),
        _posture_report.render_html(_posture_report.build_posture([], name="posture", generated_at=NOW)),
        _incident_report.render_html({"access_key_id": "AKIAEXPOSED000000001", "generated_at": NOW}),
    ]
    shell = "\n".join(_html.page_head("")[:4])
    for page in pages:
        head = page[:page.index("<body>") + len("<body>")]
        assert head.startswith(shell + "\n<title>") and head.count("<title>") == 1
        assert "</title>\n<style>" + _html.CSS in head and head.endswith("</style></head><body>")
