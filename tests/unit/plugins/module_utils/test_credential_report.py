# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the credential report engine: CSV parsing (AWS's own report shape, root row, N/A markers),
each control as a table, report polling with botocore's Stubber, and the remediation plan."""

from __future__ import annotations

import datetime
import typing as t

import botocore.session
import pytest
from botocore.stub import Stubber

from ansible_collections.keyturn.aws.plugins.module_utils import _credential_report as cr
from ansible_collections.keyturn.aws.plugins.module_utils._errors import KeyturnError, ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._iam_keys import IamKey
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import StagedRecord

NOW = datetime.datetime(2026, 6, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
HEADER = ("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,"
          "mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,"
          "access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,"
          "access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
          "cert_1_last_rotated,cert_2_active,cert_2_last_rotated")


def ago(days: float) -> datetime.datetime:
    return NOW - datetime.timedelta(days=days)


def stamp(days: float) -> str:
    return ago(days).strftime("%Y-%m-%dT%H:%M:%S+00:00")


# A report as AWS writes it (root row first, N/A, no_information, not_supported).
REPORT = "\n".join([
    HEADER,
    f"<root_account>,arn:aws:iam::111122223333:root,{stamp(900)},not_supported,{stamp(3)},not_supported,not_supported,"
    "true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
    f"old-key,arn:aws:iam::111122223333:user/old-key,{stamp(400)},false,N/A,N/A,N/A,false,true,{stamp(120)},"
    f"{stamp(1)},us-east-1,s3,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
    f"two-keys,arn:aws:iam::111122223333:user/two-keys,{stamp(400)},false,N/A,N/A,N/A,false,true,{stamp(30)},"
    f"{stamp(1)},eu-west-1,sts,true,{stamp(10)},N/A,N/A,N/A,false,N/A,false,N/A",
    f"idle,arn:aws:iam::111122223333:user/ops/idle,{stamp(400)},false,N/A,N/A,N/A,false,true,{stamp(70)},"
    f"{stamp(60)},us-east-1,ec2,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
    f"clean,arn:aws:iam::111122223333:user/clean,{stamp(400)},true,{stamp(2)},{stamp(50)},N/A,true,true,{stamp(10)},"
    f"{stamp(0.5)},us-east-1,iam,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
    f"console,arn:aws:iam::111122223333:user/console,{stamp(400)},true,no_information,{stamp(300)},N/A,false,false,N/A,"
    "N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
    f"inactive,arn:aws:iam::111122223333:user/inactive,{stamp(400)},false,N/A,N/A,N/A,false,false,{stamp(200)},N/A,"
    "N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
]) + "\n"


def rows() -> t.Dict[str, t.Dict[str, t.Any]]:
    return {r["user_name"]: r for r in cr.parse_report(REPORT, NOW)}


# -- parsing -----------------------------------------------------------------------------------------------------------
def test_parse_types_dates_and_markers() -> None:
    parsed = rows()
    root = parsed["<root_account>"]
    assert root["root"] is True and root["password_enabled"] is None  # not_supported
    assert root["password_last_used"] == ago(3).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert root["access_keys"] == []
    old = parsed["old-key"]
    assert old["root"] is False and old["password_enabled"] is False and old["password_last_used"] is None
    assert old["password_last_changed"] is None and old["mfa_active"] is False
    (key,) = old["access_keys"]
    assert key == {"slot": 1, "access_key_id": None, "active": True, "last_rotated": stamp(120).replace("+00:00", "Z"),
                   "age_days": 120.0, "last_used_date": stamp(1).replace("+00:00", "Z"), "last_used_days": 1.0,
                   "last_used_region": "us-east-1", "last_used_service": "s3"}
    two = parsed["two-keys"]["access_keys"]
    assert [k["slot"] for k in two] == [1, 2] and two[1]["last_used_date"] is None and two[1]["last_used_region"] is None
    assert parsed["console"]["password_enabled"] is True and parsed["console"]["password_last_used"] is None
    assert parsed["inactive"]["access_keys"][0]["active"] is False


@pytest.mark.parametrize("value", ["N/A", "no_information", "not_supported", "", "  ", None, "garbage"])
def test_non_dates_are_none(value: t.Optional[str]) -> None:
    assert cr.parse_date(value) is None


def test_parse_report_without_root_row_and_with_bom() -> None:
    content = "\ufeff" + "\n".join(REPORT.splitlines()[:1] + REPORT.splitlines()[2:3]) + "\n"
    parsed = cr.parse_report(content, NOW)
    assert [r["user_name"] for r in parsed] == ["old-key"]


def test_parse_report_rejects_unknown_shape() -> None:
    with pytest.raises(KeyturnError, match="lacks the columns"):
        cr.parse_report("name,arn\nx,y\n", NOW)


def test_match_key_ids_by_creation_time() -> None:
    row = rows()["two-keys"]
    live = [IamKey("AKIASECOND", "Active", ago(10)), IamKey("AKIAFIRST", "Active", ago(30))]
    cr.match_key_ids(row, live)
    assert [k["access_key_id"] for k in row["access_keys"]] == ["AKIAFIRST", "AKIASECOND"]


# -- controls (tables) -------------------------------------------------------------------------------------------------
ROOT_ARN = "arn:aws-us-gov:iam::111122223333:root"
VIRTUAL = {"SerialNumber": "arn:aws-us-gov:iam::111122223333:mfa/phone", "User": {"Arn": ROOT_ARN}}
LEGACY = {"SerialNumber": "arn:aws-us-gov:iam::111122223333:mfa/root-account-mfa-device"}
OTHER_USER = {"SerialNumber": "arn:aws-us-gov:iam::111122223333:mfa/bob",
              "User": {"Arn": "arn:aws-us-gov:iam::111122223333:user/bob"}}


@pytest.mark.parametrize("keys,mfa,devices,expected", [
    (0, 1, [], {"CIS 1.4": "pass", "CIS 1.5": "pass", "CIS 1.6": "pass"}),
    (1, 1, [], {"CIS 1.4": "fail", "CIS 1.5": "pass", "CIS 1.6": "pass"}),
    (0, 0, [], {"CIS 1.4": "pass", "CIS 1.5": "fail", "CIS 1.6": "fail"}),
    (0, 1, [VIRTUAL], {"CIS 1.4": "pass", "CIS 1.5": "pass", "CIS 1.6": "fail"}),
    (0, 1, [LEGACY], {"CIS 1.4": "pass", "CIS 1.5": "pass", "CIS 1.6": "fail"}),
    (0, 1, [OTHER_USER], {"CIS 1.4": "pass", "CIS 1.5": "pass", "CIS 1.6": "pass"}),
])
def test_root_controls(keys: int, mfa: int, devices: t.List[t.Any], expected: t.Dict[str, str]) -> None:
    found = cr.root_findings({"AccountAccessKeysPresent": keys, "AccountMFAEnabled": mfa}, devices, ROOT_ARN, None)
    assert {f["control"]: f["status"] for f in found} == expected
    assert all(f["subject"] == "<root_account>" for f in found)


def test_root_row_is_cross_check_only() -> None:
    found = cr.root_findings({"AccountAccessKeysPresent": 0, "AccountMFAEnabled": 1}, [], ROOT_ARN, rows()["<root_account>"])
    assert found[0]["status"] == "pass" and "0 active root key(s)" in found[0]["detail"]


@pytest.mark.parametrize("user,c112,c113,c114", [
    ("old-key", "pass", "pass", "fail"),
    ("two-keys", "pass", "fail", "pass"),
    ("idle", "fail", "pass", "pass"),
    ("clean", "pass", "pass", "pass"),
    ("console", "fail", "pass", "pass"),  # enabled password never used
    ("inactive", "pass", "pass", "pass"),  # an inactive key counts for none of them
])
def test_user_controls(user: str, c112: str, c113: str, c114: str) -> None:
    row = rows()[user]
    assert cr.unused_findings(row, 45)["status"] == c112
    assert cr.one_active_finding(row)["status"] == c113
    assert cr.rotated_finding(row, 90)["status"] == c114


@pytest.mark.parametrize("unused_days,status", [(59, "fail"), (60, "fail"), (61, "pass")])
def test_unused_threshold_is_inclusive(unused_days: int, status: str) -> None:
    found = cr.unused_findings(rows()["idle"], unused_days)
    assert found["status"] == status and found["title"] == f"Credentials unused for {unused_days} days or more are disabled"


@pytest.mark.parametrize("max_age,status", [(119, "fail"), (120, "fail"), (121, "pass")])
def test_rotation_threshold_is_inclusive(max_age: int, status: str) -> None:
    found = cr.rotated_finding(rows()["old-key"], max_age)
    assert found["status"] == status and found["title"] == f"Access keys are rotated every {max_age} days or less"


def test_never_used_key_counts_once_old_enough() -> None:
    row = {"user_name": "u", "access_keys": [{"slot": 1, "active": True, "age_days": 44.0, "last_used_days": None}]}
    assert cr.unused_findings(row, 45)["status"] == "pass"
    row["access_keys"][0]["age_days"] = 45.0
    failed = cr.unused_findings(row, 45)
    assert failed["status"] == "fail" and "never used" in failed["detail"]


def record(current: t.Optional[str], pending: t.Optional[str] = None, previous: t.Optional[str] = None) -> StagedRecord:
    def one(key_id: t.Optional[str]) -> t.Optional[t.Dict[str, t.Any]]:
        return {"kind": "iam_user_key", "access_key_id": key_id} if key_id else None
    return StagedRecord(one(current), one(pending), one(previous))


@pytest.mark.parametrize("live,rec,unmanaged,drift", [
    ([IamKey("AKIA1", "Active", ago(5))], record("AKIA1"), "pass", "pass"),
    ([IamKey("AKIA1", "Active", ago(5))], None, "fail", None),
    ([IamKey("AKIA1", "Active", ago(5)), IamKey("AKIA2", "Active", ago(1))], record("AKIA1"), "fail", "pass"),
    ([IamKey("AKIA1", "Active", ago(5)), IamKey("AKIA2", "Active", ago(1))], record("AKIA2", previous="AKIA1"), "pass", "pass"),
    ([IamKey("AKIA1", "Active", ago(5))], record("AKIAGONE"), "fail", "fail"),
    ([IamKey("AKIA1", "Inactive", ago(5))], record("AKIA1"), "pass", "fail"),
    ([], None, "pass", None),
])
def test_store_controls(live: t.List[IamKey], rec: t.Optional[StagedRecord], unmanaged: str,
                        drift: t.Optional[str]) -> None:
    assert cr.unmanaged_finding("u", live, rec, "1/u")["status"] == unmanaged
    found = cr.drift_finding("u", live, rec, "1/u")
    assert (found or {}).get("status") == drift


def test_evaluate_orders_and_notes() -> None:
    parsed = [r for r in cr.parse_report(REPORT, NOW) if not r["root"]]
    root = cr.root_findings({"AccountAccessKeysPresent": 0, "AccountMFAEnabled": 1}, [], ROOT_ARN, None)
    found = cr.evaluate(parsed, unused_days=45, max_age_days=90, root=root, live={}, records={},
                        orphan_records=[("gone", "1/gone", record("AKIAX"))], note="report of X")
    assert [f["control"] for f in found[:3]] == ["CIS 1.4", "CIS 1.5", "CIS 1.6"]
    assert found[-1] == {"control": "keyturn.store_drift", "title": cr.CONTROLS["keyturn.store_drift"], "status": "fail",
                         "subject": "gone", "access_key_ids": ["AKIAX"],
                         "detail": "store record 1/gone names key AKIAX, which the user no longer exists"
                         .replace("which the user", "but the user")}
    assert all("[report of X]" in f["detail"] for f in found if f["control"].startswith("CIS 1.1"))
    summary = cr.summarize_findings(found)
    assert summary["fail"] + summary["pass"] == len(found)
    assert summary["controls"]["CIS 1.13"] == {"title": cr.CONTROLS["CIS 1.13"], "pass": 5, "fail": 1}


# -- report fetching ---------------------------------------------------------------------------------------------------
def iam_stub() -> t.Tuple[t.Any, Stubber]:
    client = botocore.session.get_session().create_client(
        "iam", region_name="us-east-1", aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="x")
    return client, Stubber(client)


def test_fresh_report_is_reused_without_generating() -> None:
    iam, stub = iam_stub()
    stub.add_response("get_credential_report", {"Content": REPORT.encode(), "GeneratedTime": ago(0.05)})
    with stub:
        report = cr.fetch_report(iam, 14400, 60, sleep=pytest.fail, now=lambda: NOW)
    stub.assert_no_pending_responses()
    assert report["reused"] is True and report["content"] == REPORT


def test_old_report_is_regenerated_and_polled() -> None:
    iam, stub = iam_stub()
    waits: t.List[float] = []
    stub.add_response("get_credential_report", {"Content": b"x", "GeneratedTime": ago(1)})
    stub.add_response("generate_credential_report", {"State": "STARTED"})
    stub.add_response("generate_credential_report", {"State": "INPROGRESS"})
    stub.add_response("generate_credential_report", {"State": "COMPLETE"})
    stub.add_response("get_credential_report", {"Content": REPORT.encode(), "GeneratedTime": NOW})
    with stub:
        report = cr.fetch_report(iam, 14400, 60, sleep=waits.append, clock=lambda: 0.0, now=lambda: NOW)
    assert report["reused"] is False and report["polls"] == 3 and waits == [1.0, 2.0]


def test_missing_report_is_generated() -> None:
    iam, stub = iam_stub()
    stub.add_client_error("get_credential_report", "ReportNotPresent", http_status_code=410)
    stub.add_response("generate_credential_report", {"State": "COMPLETE"})
    stub.add_response("get_credential_report", {"Content": REPORT.encode(), "GeneratedTime": NOW})
    with stub:
        assert cr.fetch_report(iam, 0, 60, sleep=pytest.fail, now=lambda: NOW)["content"] == REPORT


def test_report_timeout_is_a_clear_error() -> None:
    iam, stub = iam_stub()
    clock = iter([0.0, 0.0, 9.5])
    stub.add_client_error("get_credential_report", "ReportExpired", http_status_code=410)
    stub.add_response("generate_credential_report", {"State": "STARTED"})
    stub.add_response("generate_credential_report", {"State": "INPROGRESS"})
    with stub, pytest.raises(KeyturnError, match="did not finish the credential report within 10 seconds"):
        cr.fetch_report(iam, 0, 10, sleep=lambda s: None, clock=lambda: next(clock), now=lambda: NOW)


# -- remediation plan --------------------------------------------------------------------------------------------------
def plan(live: t.List[IamKey], used: t.Dict[str, t.Optional[datetime.datetime]], rec: t.Optional[StagedRecord],
         remediate: t.Sequence[str] = ("unused_keys", "extra_active_keys"), user: str = "u") -> t.List[t.Tuple[str, str]]:
    return [(a["access_key_id"], a["control"]) for a in cr.plan_user(user, live, used, rec, remediate, 45, NOW)]


@pytest.mark.parametrize("live,used,rec,expected", [
    # unmanaged and idle 60 days: deactivated
    ([IamKey("K1", "Active", ago(70))], {"K1": ago(60)}, None, [("K1", "CIS 1.12")]),
    # managed and idle: left alone (the store's rotation owns it)
    ([IamKey("K1", "Active", ago(70))], {"K1": ago(60)}, record("K1"), []),
    # unmanaged but used recently
    ([IamKey("K1", "Active", ago(70))], {"K1": ago(3)}, None, []),
    # unmanaged, never used, young
    ([IamKey("K1", "Active", ago(10))], {"K1": None}, None, []),
    # unmanaged, never used, old
    ([IamKey("K1", "Active", ago(50))], {"K1": None}, None, [("K1", "CIS 1.12")]),
    # inactive keys are never touched
    ([IamKey("K1", "Inactive", ago(200))], {}, None, []),
    # two active, store knows the current one: the other goes
    ([IamKey("K1", "Active", ago(5)), IamKey("K2", "Active", ago(30))], {"K1": ago(1), "K2": ago(2)}, record("K1"),
     [("K2", "CIS 1.13")]),
    # two active, the other is the record's previous (a rotation's grace period): left to keyturn
    ([IamKey("K1", "Active", ago(5)), IamKey("K2", "Active", ago(30))], {"K1": ago(1), "K2": ago(2)},
     record("K1", previous="K2"), []),
    # two active, the record's current is neither: no 1.13 fix (which one is current is unknown)
    ([IamKey("K1", "Active", ago(5)), IamKey("K2", "Active", ago(30))], {"K1": ago(1), "K2": ago(2)}, record("K9"), []),
    # two active, no record: no 1.13 fix
    ([IamKey("K1", "Active", ago(5)), IamKey("K2", "Active", ago(30))], {"K1": ago(1), "K2": ago(2)}, None, []),
    # the unused extra key is planned once (1.12 first)
    ([IamKey("K1", "Active", ago(5)), IamKey("K2", "Active", ago(90))], {"K1": ago(1), "K2": ago(80)}, record("K1"),
     [("K2", "CIS 1.12")]),
])
def test_plan_table(live: t.List[IamKey], used: t.Dict[str, t.Any], rec: t.Optional[StagedRecord],
                    expected: t.List[t.Tuple[str, str]]) -> None:
    assert plan(live, used, rec) == expected


def test_plan_honours_the_chosen_remediations_and_never_root() -> None:
    live = [IamKey("K1", "Active", ago(5)), IamKey("K2", "Active", ago(90))]
    used = {"K1": ago(1), "K2": ago(80)}
    assert plan(live, used, record("K1"), ["extra_active_keys"]) == [("K2", "CIS 1.13")]
    assert plan(live, used, None, ["extra_active_keys"]) == []
    assert plan(live, used, None, ["unused_keys"], user="<root_account>") == []


@pytest.mark.parametrize("params,message", [
    ({"unused_days": 0}, "unused_days must be 1 or more"),
    ({"max_age_days": -1}, "max_age_days must be 1 or more"),
    ({"max_report_age": -5}, "max_report_age must be 0 or more"),
    ({"remediate": []}, "remediate must list at least one"),
    ({"remediate": ["unused_keys", "unused_keys"]}, "twice"),
])
def test_bad_input(params: t.Dict[str, t.Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        cr._check_params(params)
