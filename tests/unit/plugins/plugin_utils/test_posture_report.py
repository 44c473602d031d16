# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the posture report: building from registered loop results, estate totals, whitelisting (no
secret survives, even one slipped into the input), escaping, and the filters."""

from __future__ import annotations

import json
import typing as t

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.keyturn.aws.plugins.filter import posture
from ansible_collections.keyturn.aws.plugins.plugin_utils import _posture_report as pr

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def finding(control: str, status: str, subject: str, detail: str = "why") -> t.Dict[str, t.Any]:
    return {"control": control, "title": f"title of {control}", "status": status, "subject": subject, "detail": detail}


def results() -> t.Dict[str, t.Any]:
    main = {
        "__audit_credentials_target": {"name": "main", "account_id": "111111111111", "region": "us-east-1",
                                       "aws": {"secret_key": SECRET}},
        "ansible_loop_var": "__audit_credentials_target",
        "account_id": "111111111111", "partition": "aws",
        "report": {"generated_time": "2026-06-01T10:00:00Z", "note": "IAM credential report of ...",
                   "data_limits": "limits", "secret": SECRET},
        "users": [{"user_name": "a"}, {"user_name": "b"}],
        "findings": [finding("CIS 1.14", "fail", "a", f"old; {SECRET}"), finding("CIS 1.14", "pass", "b"),
                     finding("CIS 1.4", "pass", "<root_account>"), finding("CIS 1.13", "fail", "b")],
        "plan": [{"account_id": "111111111111", "user_name": "b", "access_key_id": "AKIAB", "control": "CIS 1.13",
                  "action": "deactivate", "reason": "second key", "secret_access_key": SECRET}],
        "remediated": [],
    }
    gov = {
        "__audit_credentials_target": {"name": "gov", "account_id": "222222222222", "region": "us-gov-west-1",
                                       "assume_role": {"role_arn": "arn:aws-us-gov:iam::222222222222:role/audit"}},
        "ansible_loop_var": "__audit_credentials_target",
        "failed": True, "msg": "access denied while reading the IAM credential report (AccessDenied: no)",
    }
    skipped = {"skipped": True, "__audit_credentials_target": {"name": "off"}, "ansible_loop_var": "__audit_credentials_target"}
    return {"results": [main, gov, skipped]}


def test_build_per_account_and_estate() -> None:
    report = pr.build_posture(results(), name="nightly", check_mode=True, remediate=["extra_active_keys"],
                              generated_at="2026-06-01T12:00:00Z")
    assert report["format"] == pr.FORMAT and report["title"] == "Credential posture report (plan, check mode)"
    main, gov = report["targets"]
    assert [c["control"] for c in main["controls"]] == ["CIS 1.4", "CIS 1.13", "CIS 1.14"]  # CIS order
    rows = {c["control"]: c for c in main["controls"]}
    assert rows["CIS 1.14"] == {"control": "CIS 1.14", "title": "title of CIS 1.14", "pass": 1, "fail": 1,
                                "subjects": ["a"]}
    assert [f["subject"] for f in main["findings"]] == ["a", "b"]  # failing ones only
    assert main["summary"] == {"pass": 2, "fail": 2, "users": 2, "planned": 1, "remediated": 0}
    assert gov["partition"] == "aws-us-gov" and gov["role_arn"].endswith(":role/audit") and "AccessDenied" in gov["error"]
    assert report["summary"]["errors"] == 1 and report["summary"]["accounts"] == 2 and report["summary"]["targets"] == 2
    assert report["problems"] == ["gov: access denied while reading the IAM credential report (AccessDenied: no)"]
    estate = {c["control"]: c for c in report["controls"]}
    assert estate["CIS 1.14"]["accounts_failing"] == 1 and estate["CIS 1.4"]["accounts_failing"] == 0
    assert report["summary"]["controls_failing"] == 2
    assert "1 key(s) to deactivate" in report["headline"] and "1 account error(s)" in report["headline"]


def test_no_secret_survives() -> None:
    report = pr.build_posture(results())
    text = pr.render_json(report) + pr.render_html(report)
    assert SECRET not in text and "[redacted]" in text
    assert "secret_access_key" not in text and "secret_key" not in text


def test_html_escapes_and_is_self_contained() -> None:
    data = results()
    data["results"][0]["findings"].append(finding("CIS 1.12", "fail", "<img src=x onerror=alert(1)>", "<b>x</b>"))
    page = pr.render_html(pr.build_posture(data))
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page and "<b>x</b>" not in page
    assert "<script" not in page and "default-src 'none'" in page
    assert "Planned remediation" not in page  # not a plan: the plan table is for check mode


def test_built_data_is_resanitized_not_rebuilt() -> None:
    report = pr.build_posture(results())
    report["targets"][0]["token"] = SECRET
    again = pr.ensure_posture(report)
    assert again == pr.build_posture(results(), generated_at=report["generated_at"])


def test_filters() -> None:
    filters = posture.FilterModule().filters()
    data = filters["posture_report"](results(), name="x", generated_at="2026-06-01T12:00:00Z")
    assert json.loads(filters["posture_report_json"](data))["name"] == "x"
    assert filters["posture_report_html"](results()).startswith("<!DOCTYPE html>")
    with pytest.raises(AnsibleFilterError, match="expected posture report data"):
        filters["posture_report"]("nonsense")
