# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run report's builder: policy colours, age buckets, merging of step results, partitions, the estate."""

from __future__ import annotations

import json
import typing as t

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.keyturn.aws.plugins.filter.report import FilterModule
from ansible_collections.keyturn.aws.plugins.plugin_utils import _report, _report_html, _report_schema
from report_steps import NOW, PROD, SECRET, all_text, item, key, rotation_steps, users_of


# -- policy -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("age,expected", [
    (0, "ok"), (75.9, "ok"), (76, "due_soon"), (89.9, "due_soon"), (90, "overdue"), (400, "overdue"), (None, None),
])
def test_age_class_by_policy(age: t.Optional[float], expected: t.Optional[str]) -> None:
    assert _report.age_class(age, 90, 14) == expected


def test_age_class_with_a_short_policy() -> None:
    assert _report.age_class(15.9, 30) == "ok"
    assert _report.age_class(16, 30) == "due_soon"
    assert _report.age_class(30, 30) == "overdue"
    assert _report.age_class(0, 0) == "overdue"  # max_age_days 0 rotates every run


def test_age_buckets() -> None:
    buckets = _report.age_buckets([0, 29.9, 30, 59, 60, 89.9, 90, 365], 90, 14)
    assert [(b["label"], b["min"], b["max"], b["count"]) for b in buckets] == [
        ("0-30", 0, 30, 2), ("30-60", 30, 60, 2), ("60-90", 60, 90, 2), ("90+", 90, None, 2)]
    assert [b["age_class"] for b in buckets] == ["ok", "ok", "due_soon", "overdue"]
    assert sum(b["count"] for b in _report.age_buckets([])) == 0
    custom = _report.age_buckets([5, 50], 30, 14, edges=(7, 30))
    assert [(b["label"], b["count"], b["age_class"]) for b in custom] == [
        ("0-7", 1, "ok"), ("7-30", 0, "due_soon"), ("30+", 1, "overdue")]


# -- building ---------------------------------------------------------------------------------------------------------
def test_build_merges_steps_per_target_and_user(report: t.Dict[str, t.Any]) -> None:
    assert report["format"] == _report_schema.FORMAT and report["kind"] == "rotation" and report["name"] == "nightly"
    assert report["generated_at"] == NOW and report["check_mode"] is False
    prod, china = report["targets"]
    assert (prod["name"], prod["account_id"], prod["partition"], prod["region"]) == \
        ("production", "111111111111", "aws", "us-east-1")
    assert (china["partition"], china["role_arn"]) == ("aws-cn", "arn:aws-cn:iam::222222222222:role/keyturn")
    assert china["error"].startswith("rotate: could not assume")
    assert prod["error"] is None  # per-user failures are not a target error
    users = users_of(report)
    assert list(users) == ["ci-deployer", "backup-agent", "legacy", "cn-app"]  # the targets' order
    ci = users["ci-deployer"]
    assert ci["action"] == "rotated" and ci["old_key_id"] == "AKIAOLD0000000000001"
    assert ci["new_key_id"] == ci["access_key_id"] == "AKIANEW0000000000001"
    assert ci["before"] == {"status": "valid", "access_key_id": "AKIAOLD0000000000001", "age_days": 95.2}
    assert ci["status"] == "valid" and ci["age_class"] == "ok" and ci["store_name"] == "111111111111/ci-deployer"
    assert ci["keys"][0]["current"] is True and ci["keys"][0]["last_used"]["service"] == "sts"
    backup = users["backup-agent"]
    assert backup["max_age_days"] == 30 and backup["age_class"] == "due_soon"  # per-user policy
    assert [k["access_key_id"] for k in backup["keys"]] == ["AKIABACKUP0000000001", "AKIABACKUPOLD0000001"]
    assert backup["keys"][1]["status"] == "Inactive" and backup["keys"][1]["age_class"] == "overdue"
    legacy = users["legacy"]
    assert legacy["action"] == "failed" and legacy["status"] == "missing"
    assert legacy["age_class"] == "overdue" and legacy["keys"][0]["managed"] is False
    assert legacy["drift"] == ["key AKIALEGACY0000000001 (Active) is not in the store"]
    assert users["cn-app"]["keys"] == [] and users["cn-app"]["before"]["status"] == "missing"


def test_summary_buckets_and_problems(report: t.Dict[str, t.Any]) -> None:
    summary = report["summary"]
    assert summary["targets"] == 2 and summary["accounts"] == 2 and summary["errors"] == 1
    assert summary["users"] == 4 and summary["keys"] == 4 and summary["active_keys"] == 3
    assert (summary["rotated"], summary["skipped"], summary["failed"]) == (1, 1, 1)
    assert (summary["valid"], summary["missing"], summary["drift"]) == (2, 2, 1)  # cn-app: as verified before
    assert summary["attention"] == 2  # legacy (failed and missing) and cn-app (missing); china's error is apart
    # Active keys only, each by its own user's policy.
    assert (summary["ok"], summary["due_soon"], summary["overdue"]) == (1, 1, 1)
    assert [b["count"] for b in report["age_buckets"]] == [2, 0, 0, 1]
    assert len(report["problems"]) == 2
    assert report["problems"][0].startswith("production / legacy: user legacy has an unknown Active key")
    assert report["problems"][1].startswith("china: rotate: could not assume")
    assert "1 rotated" in report["headline"] and "1 failed, 1 target error(s)" in report["headline"]


def test_skipped_items_and_missing_steps_are_ignored() -> None:
    target = {"account_id": "333333333333", "region": "us-gov-west-1", "users": ["gov-app"]}
    steps = {"verify_after": [item(target, users=[{"user_name": "gov-app", "status": "valid", "valid": True,
                                                   "access_key_id": "AKIAGOV0000000000001", "key_age_days": 80,
                                                   "keys": [key("AKIAGOV0000000000001", 80.0)]}],
                                   partition="aws-us-gov", account_id="333333333333")],
             "info": {"results": [item(target, skipped=True, skip_reason="Conditional result was False")]}}
    built = _report.build_report(steps, kind="verification", generated_at=NOW)
    (only,) = built["targets"]
    assert only["name"] == "333333333333 us-gov-west-1" and only["partition"] == "aws-us-gov"
    (user,) = only["users"]
    assert user["age_class"] == "due_soon" and user["keys"][0]["current"] is True
    assert user["keys"][0]["last_used"] is None and "action" not in user
    assert built["name"] == "verification" and built["problems"] == []


def test_discovery_without_users_lists_what_info_found() -> None:
    target = {"account_id": "444444444444", "region": "eu-west-1"}
    steps = {"info": [item(target, users=[{"user_name": "zed", "keys": []},
                                          {"user_name": "amy", "keys": [key("AKIAAMY0000000000001", 100)]}])]}
    built = _report.build_report(steps, kind="discovery", max_age_days=90, generated_at=NOW)
    assert [u["user_name"] for u in built["targets"][0]["users"]] == ["zed", "amy"]
    assert built["summary"]["overdue"] == 1 and "valid" not in built["headline"]


def test_check_mode_is_labelled_a_plan() -> None:
    built = _report.build_report(rotation_steps(), check_mode=True, generated_at=NOW)
    assert built["check_mode"] is True and "plan" in built["title"] and "1 to rotate" in built["headline"]
    page = _report_html.render_html(built)
    assert "Plan only (check mode)" in page and "would be rotated" in page and "Planned action" in page


def test_bad_kind_or_step_is_refused() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        _report.build_report({}, kind="nonsense")
    with pytest.raises(ValueError, match="unknown report steps"):
        _report.build_report({"rotate_now": []})


@pytest.mark.parametrize("region,partition", [
    ("eu-west-1", "aws"), ("cn-northwest-1", "aws-cn"), ("us-gov-east-1", "aws-us-gov"), ("us-iso-east-1", "aws-iso"),
    ("nowhere-1", None),
])
def test_a_target_without_results_takes_its_partition_from_botocore(region: str, partition: t.Optional[str]) -> None:
    """A target whose task failed before any module said its partition: botocore's partition data of its region
    (:mod:`_partitions`), for every partition botocore knows; never guessed from the region's prefix."""
    target = {"name": "t", "account_id": "555555555555", "region": region, "users": ["app"]}
    built = _report.build_report({"rotate": [item(target, failed=True, msg="could not assume the role")]},
                                 generated_at=NOW)
    (only,) = built["targets"]
    assert only["partition"] == partition and only["error"] == "rotate: could not assume the role"
    assert built["summary"]["accounts"] == 1


# -- filters ----------------------------------------------------------------------------------------------------------
def test_filters() -> None:
    filters = FilterModule().filters()
    assert set(filters) == {"access_key_report", "access_key_report_json", "access_key_report_html", "access_key_report_file",
                            "access_key_report_plan", "access_key_report_index", "estate_report"}
    built = filters["access_key_report"](rotation_steps(), kind="rotation", generated_at=NOW)
    assert built == _report.build_report(rotation_steps(), generated_at=NOW)
    assert json.loads(filters["access_key_report_json"](built)) == built
    assert filters["access_key_report_html"](built) == _report_html.render_html(built)
    # Raw step results are accepted too.
    assert json.loads(filters["access_key_report_json"](rotation_steps(), generated_at=NOW)) == built
    with pytest.raises(AnsibleFilterError, match="expected report data"):
        filters["access_key_report_html"](["not", "a", "mapping"])
    with pytest.raises(AnsibleFilterError, match="kind must be one of"):
        filters["access_key_report"]({}, kind="other")


# -- the estate: merging reports of many hosts or slices ---------------------------------------------------------------
def _slice_report(rotated: bool) -> t.Dict[str, t.Any]:
    """Another run (an overlapping slice) over PROD only: ci-deployer was already rotated, so it is skipped."""
    action = {"user_name": "ci-deployer", "action": "rotated" if rotated else "skipped", "reason": "r"}
    return _report.build_report({"rotate": {"results": [item(PROD, users=[action])]}}, kind="rotation", generated_at=NOW)


def test_estate_merges_targets_and_keeps_the_user_entry_that_did_most(report: t.Dict[str, t.Any]) -> None:
    estate = _report.merge_reports([_slice_report(False), report, None], name="estate", generated_at=NOW)
    assert estate["name"] == "estate" and estate["title"].startswith("Estate access key rotation report")
    assert len(estate["targets"]) == 2 and estate["summary"]["targets"] == 2
    assert users_of(estate)["ci-deployer"]["action"] == "rotated"
    assert estate["summary"]["rotated"] == report["summary"]["rotated"]
    assert estate["summary"]["failed"] == 1 and estate["summary"]["errors"] == 1
    assert sorted(estate["problems"]) == sorted(report["problems"])
    assert sum(b["count"] for b in estate["age_buckets"]) == sum(b["count"] for b in report["age_buckets"])
    assert SECRET not in all_text(estate)
    # order does not matter
    again = _report.merge_reports([report, _slice_report(False)], name="estate", generated_at=NOW)
    assert again == estate


def test_estate_refuses_mixed_kinds_and_nothing() -> None:
    verification = _report.build_report({"verify_after": {"results": []}}, kind="verification")
    with pytest.raises(ValueError, match="different kinds"):
        _report.merge_reports([_slice_report(True), verification])
    with pytest.raises(ValueError, match="no report to merge"):
        _report.merge_reports([])
    with pytest.raises(AnsibleFilterError, match="keyturn.aws estate report: expected a list of reports"):
        FilterModule().filters()["estate_report"]("text")


def test_last_use_by_keyturns_own_verification_is_told_apart():
    """IAM keeps only a key's latest use: when that is keyturn's own STS verification (the verify step says when it
    signed), the report says so instead of presenting it as use by an application."""
    target = {"name": "t", "account_id": "111111111111", "region": "us-east-1", "users": ["app", "busy"]}
    pairs = (("app", "AKIAAPP0000000000001"), ("busy", "AKIABUSY000000000001"))
    verified = [{"user_name": name, "status": "valid", "valid": True, "access_key_id": key,
                 "verified_at": "2026-05-01T11:59:58Z"} for name, key in pairs]
    info = [{"user_name": "app", "keys": [{"access_key_id": "AKIAAPP0000000000001", "status": "Active", "age_days": 3,
                                           "last_used": {"date": "2026-05-01T12:00:00Z", "service": "sts",
                                                         "region": "us-east-1"}}]},
            {"user_name": "busy", "keys": [{"access_key_id": "AKIABUSY000000000001", "status": "Active", "age_days": 3,
                                            "last_used": {"date": "2026-05-01T12:00:00Z", "service": "s3",
                                                          "region": "us-east-1"}}]}]
    data = _report.build_report({"verify_after": {"results": [item(target, users=verified)]},
                                 "info": {"results": [item(target, users=info)]}}, kind="verification",
                                generated_at=NOW)
    users = {u["user_name"]: u for u in data["targets"][0]["users"]}
    assert users["app"]["keys"][0]["last_used"]["by_keyturn"] is True
    assert users["busy"]["keys"][0]["last_used"].get("by_keyturn") is None  # used by an application (S3)
    page = _report_html.render_html(data)
    assert page.count("keyturn's own verification; no use by others since") == 1
    assert "last-used data can lag" in page
    late = dict(verified[0], verified_at="2026-04-30T09:00:00Z")  # verified long before: IAM's use is someone else's
    data = _report.build_report({"verify_after": {"results": [item(target, users=[late])]},
                                 "info": {"results": [item(target, users=info[:1])]}}, kind="verification",
                                generated_at=NOW)
    assert data["targets"][0]["users"][0]["keys"][0]["last_used"]["by_keyturn"] is False
