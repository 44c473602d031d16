# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exposed-key incident report: whitelist, scrubbing, timeline order, durations, renderers."""

from __future__ import annotations

import json

import pytest

from ansible_collections.keyturn.aws.plugins.filter.incident import exposed_key_report
from ansible_collections.keyturn.aws.plugins.plugin_utils import _incident_report

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

INCIDENT = {
    "access_key_id": "AKIAIOSFODNN7EXAMPLE", "user_name": "ci<deployer>", "outcome": "replaced", "handling": "managed",
    "new_key_id": "AKIAI44QH8DHBEXAMPLE", "verified": True, "exposed_key_refused": True,
    "secret_access_key": SECRET, "session_token": "token",
    "problems": [f"something mentioned {SECRET}"],
    "timeline": [
        {"step": "refused", "at": "2026-12-04T10:00:14.500000Z", "detail": "STS refuses it"},
        {"step": "started", "at": "2026-12-04T10:00:03Z", "detail": ""},
        {"step": "event", "at": "Fri, 4 Dec 2026 10:00:00 GMT", "detail": "AWS_RISK_CREDENTIALS_EXPOSED"},
        {"step": "received", "at": "2026-12-04T10:00:01Z", "detail": f"secret {SECRET}"},
        {"step": "replaced", "at": "2026-12-04T10:00:14Z"},
        {"step": "reported", "at": "2026-12-04T10:00:16Z"},
        {"step": "bogus"},
    ],
}


def test_build_sorts_computes_and_drops_what_is_not_whitelisted() -> None:
    report = _incident_report.build(INCIDENT, generated_at="2026-12-04T10:00:16Z")
    assert [s["step"] for s in report["timeline"]] == ["event", "received", "started", "replaced", "refused", "reported"]
    assert report["durations"] == {"event_to_refused_seconds": 14.5, "received_to_refused_seconds": 13.5,
                                   "event_to_replaced_seconds": 14.0, "response_seconds": 13.0}
    assert report["name"] == "exposed-key-AKIAIOSFODNN7EXAMPLE" and report["format"] == _incident_report.FORMAT
    assert "14.5 s after the event" in report["headline"]
    text = json.dumps(report)
    assert SECRET not in text and "session_token" not in text and "secret_access_key" not in text


@pytest.mark.parametrize("output", ["json", "audit", "html"])
def test_renderers_never_show_a_secret(output: str) -> None:
    text = exposed_key_report(INCIDENT, output)
    assert SECRET not in text and "AKIAI44QH8DHBEXAMPLE" in text
    if output == "audit":
        line = json.loads(text)
        assert "\n" not in text and line["event"] == "exposed_key_incident"
    if output == "html":
        assert "ci&lt;deployer&gt;" in text and "ci<deployer>" not in text and "<script" not in text


def test_bad_input_is_a_clear_filter_error() -> None:
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match="output must be one of"):
        exposed_key_report(INCIDENT, "pdf")
    with pytest.raises(AnsibleFilterError, match="expected the incident as a dict"):
        exposed_key_report(["not", "a", "dict"])
