# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run report's contract: whitelisting, scrubbing and JSON; never a secret."""

from __future__ import annotations

import json
import typing as t

from ansible_collections.keyturn.aws.plugins.plugin_utils import _report, _report_schema
from report_steps import EXTERNAL_ID, SECRET, SESSION_TOKEN, all_text, users_of


# -- never a secret ---------------------------------------------------------------------------------------------------
def test_no_secret_passes_through(report: t.Dict[str, t.Any]) -> None:
    text = all_text(report)
    for secret in (SECRET, SESSION_TOKEN, EXTERNAL_ID, "AKIAADMIN00000000001"):
        assert secret not in text
    for field in ("secret_access_key", "secret_key", "session_token", "external_id", "aws", "assume_role"):
        assert f'"{field}":' not in text
    assert "leaked [redacted] here" in users_of(report)["legacy"]["reason"]


def test_sanitize_drops_unknown_fields_of_built_data(report: t.Dict[str, t.Any]) -> None:
    tampered = json.loads(json.dumps(report))
    tampered["secret_access_key"] = SECRET
    tampered["targets"][0]["aws"] = {"secret_key": SECRET}
    tampered["targets"][0]["users"][0]["secret_access_key"] = SECRET
    tampered["targets"][0]["users"][0]["keys"][0]["SecretAccessKey"] = SECRET
    tampered["targets"][0]["users"][0]["keys"][0]["last_used"]["token"] = SESSION_TOKEN
    tampered["summary"]["password"] = 7
    tampered["targets"][0]["users"][0]["age_days"] = {"nested": SECRET}  # wrong type: dropped, not stringified
    tampered["targets"][0]["users"][0]["drift"] = [f"drift with {SECRET}", {"x": SECRET}]
    tampered["targets"][0]["users"][0]["keys"][0]["age_days"] = float("nan")
    clean = _report.ensure_report(tampered)
    assert SECRET not in all_text(clean) and SESSION_TOKEN not in all_text(clean)
    assert "password" not in clean["summary"]
    assert clean["targets"][0]["users"][0]["age_days"] is None
    assert clean["targets"][0]["users"][0]["drift"] == ["drift with [redacted]"]
    assert clean["targets"][0]["users"][0]["keys"][0]["age_days"] is None
    stripped = json.loads(json.dumps(report))
    assert _report_schema.sanitize_report(stripped) == report  # clean data passes unchanged


def test_scrub_only_touches_secret_shaped_tokens() -> None:
    assert _report_schema.scrub(f"a {SECRET} b") == "a [redacted] b"
    assert _report_schema.scrub("AKIAIOSFODNN7EXAMPLE and arn:aws:iam::111111111111:user/ci") == \
        "AKIAIOSFODNN7EXAMPLE and arn:aws:iam::111111111111:user/ci"
    assert _report_schema.scrub("x" * 41) == "x" * 41  # part of a longer token


# -- JSON -------------------------------------------------------------------------------------------------------------
def test_json_is_stable_and_round_trips(report: t.Dict[str, t.Any]) -> None:
    text = _report_schema.render_json(report)
    assert text.endswith("\n") and json.loads(text) == report
    assert text == _report_schema.render_json(json.loads(text))
