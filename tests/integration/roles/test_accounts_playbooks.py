# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keyturn.aws.rotate_accounts / verify_accounts / discover_accounts over the keyturn.aws.accounts inventory:
an Organization on awsmock (auth enforced), users chosen by tag, forks, one estate report."""

from __future__ import annotations

import json
import os

import pytest

from organization import Organization
from stores import StoreUnderTest, aws_client

LAYOUT = {"Production": ["prod-api"], "Production/Web": ["prod-web"], "Staging": ["staging-api"]}
ACCOUNTS = ["master", "prod-api", "prod-web", "staging-api"]
TAGGED = {"keyturn": "rotate"}


@pytest.fixture
def org(awsmock, account_id):
    return Organization(awsmock, account_id, LAYOUT)


@pytest.fixture
def estate(org, runner):
    """Per account: a tagged user without keys, an untagged user with a key made outside keyturn."""
    untagged = {}
    for account in ACCOUNTS:
        org.user(account, "svc-tagged", TAGGED)
        untagged[account] = org.user(account, "svc-untagged", key=True)
    store = StoreUnderTest("secretsmanager", runner.tmp, org.mock.url, org.admin)
    report_dir = os.path.join(runner.tmp, "reports")
    extra = {"rotate_access_keys_store": store.option, "rotate_access_keys_aws": {"endpoint_url": org.mock.url},
             "rotate_access_keys_user_filter": {"tags": TAGGED}, "rotate_access_keys_report_dir": report_dir,
             "rotate_access_keys_verify_successes": 1}
    return {"store": store, "untagged": untagged, "extra": extra, "report_dir": report_dir}


def run_once_result(result, name):
    """The result of a run_once task (on whichever host ran it)."""
    for play in result.data["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"] == name:
                return next(iter(task["hosts"].values()))
    raise AssertionError(f"no task named {name!r}")


def estate_report(report_dir, name):
    with open(os.path.join(report_dir, name + ".json"), encoding="utf-8") as handle:
        return json.load(handle)


def test_rotate_accounts_tag_selected_with_forks_and_one_estate_report(org, runner, estate):
    plan = org.playbook(runner, "keyturn.aws.rotate_accounts", estate["extra"], check=True)
    assert plan.rc == 0, plan.stdout[-4000:] + plan.stderr[-2000:]
    assert all(org.keys(a, "svc-tagged") == {} for a in ACCOUNTS), "check mode created a key"
    assert not os.path.exists(estate["report_dir"]), "check mode wrote a report"
    shown = run_once_result(plan, "Show the plan of every account (check mode)")["msg"]
    for account in ACCOUNTS:
        assert any(line.startswith(f"{account} ({org.account_id_of(account)}) / svc-tagged: rotated") for line in shown), shown
    assert not [line for line in shown if "svc-untagged" in line], shown

    result = org.playbook(runner, "keyturn.aws.rotate_accounts", estate["extra"], forks=4)
    assert result.rc == 0, result.stdout[-4000:] + result.stderr[-2000:]
    for account in ACCOUNTS:
        keys = org.keys(account, "svc-tagged")
        assert len(keys) == 1 and list(keys.values()) == ["Active"], (account, keys)
        current = estate["store"].current(f"{org.account_id_of(account)}/svc-tagged")
        assert current and current["access_key_id"] in keys
        assert org.keys(account, "svc-untagged") == {estate["untagged"][account]: "Active"}, "an untagged user was touched"
        assert estate["store"].current(f"{org.account_id_of(account)}/svc-untagged") is None

    report = estate_report(estate["report_dir"], "estate-rotation")
    assert sorted(t["name"] for t in report["targets"]) == sorted(ACCOUNTS)
    assert sorted(t["account_id"] for t in report["targets"]) == sorted(org.account_id_of(a) for a in ACCOUNTS)
    assert report["summary"]["rotated"] == 4 and report["summary"]["accounts"] == 4 and not report["problems"]
    for target in report["targets"]:
        assert [u["user_name"] for u in target["users"]] == ["svc-tagged"]
    with open(os.path.join(estate["report_dir"], "estate-rotation.html"), encoding="utf-8") as handle:
        page = handle.read()
    assert all(org.account_id_of(a) in page for a in ACCOUNTS)
    assert not [n for n in os.listdir(estate["report_dir"]) if not n.startswith("estate-rotation.")], \
        "per-account report files were written next to the estate report"

    again = org.playbook(runner, "keyturn.aws.rotate_accounts", estate["extra"])
    assert again.rc == 0, again.stdout[-3000:]
    assert estate_report(estate["report_dir"], "estate-rotation")["summary"]["rotated"] == 0

    verify = org.playbook(runner, "keyturn.aws.verify_accounts", estate["extra"])
    assert verify.rc == 0, verify.stdout[-3000:]
    report = estate_report(estate["report_dir"], "estate-verification")
    assert report["kind"] == "verification" and report["summary"]["valid"] == 4 and len(report["targets"]) == 4

    discover = org.playbook(runner, "keyturn.aws.discover_accounts", {**estate["extra"], "rotate_access_keys_user_filter": {}})
    assert discover.rc == 0, discover.stdout[-3000:]
    report = estate_report(estate["report_dir"], "estate-discovery")
    assert report["kind"] == "discovery" and len(report["targets"]) == 4
    users = {(t["name"], u["user_name"]) for t in report["targets"] for u in t["users"]}
    assert {(a, "svc-untagged") for a in ACCOUNTS} <= users and {(a, "svc-tagged") for a in ACCOUNTS} <= users


def test_an_account_whose_role_cannot_be_assumed_fails_alone(org, runner, estate):
    from stores import aws_client
    iam = aws_client(org.mock.url, org.mock.bootstrap(org.accounts["staging-api"]), "iam")
    iam.delete_role_policy(RoleName="OrganizationAccountAccessRole", PolicyName="keyturn-role-policy")
    iam.delete_role(RoleName="OrganizationAccountAccessRole")
    result = org.playbook(runner, "keyturn.aws.rotate_accounts", estate["extra"], forks=4)
    assert result.rc != 0
    stats = result.data["stats"]
    assert stats["staging-api"]["failures"] >= 1
    assert all(stats[a]["failures"] == 0 for a in ("master", "prod-api", "prod-web")), stats
    failed = result.task("Fail the accounts that had a problem (the others and the estate report are done)", "staging-api")
    assert "AccessDenied" in failed["msg"] and "OrganizationAccountAccessRole" in failed["msg"], failed["msg"]
    for account in ("master", "prod-api", "prod-web"):
        assert len(org.keys(account, "svc-tagged")) == 1
    report = estate_report(estate["report_dir"], "estate-rotation")
    assert sorted(t["name"] for t in report["targets"]) == sorted(ACCOUNTS)
    broken = next(t for t in report["targets"] if t["name"] == "staging-api")
    assert "AccessDenied" in broken["error"] and report["summary"]["rotated"] == 3


def test_bad_input(org, runner, estate):
    result = org.playbook(runner, "keyturn.aws.rotate_accounts",
                          {**estate["extra"], "rotate_access_keys_user_filter": {"tag": {"keyturn": "rotate"}}})
    assert result.rc != 0
    assert "user_filter.tag" in result.stdout, result.stdout[-3000:]
    assert all(org.keys(a, "svc-tagged") == {} for a in ACCOUNTS)

    bad_ou = org.inventory_file(runner, "bad.keyturn_accounts.yml", organizational_units=["ou-zz99-doesnotexist"])
    result = org.playbook(runner, "keyturn.aws.rotate_accounts", estate["extra"], inventory=bad_ou)
    assert result.rc != 0 and "ou-zz99-doesnotexist is not in organization" in result.stdout + result.stderr

    file_store = {**estate["extra"], "rotate_access_keys_store": {"type": "file", "path": os.path.join(runner.tmp, "s.vault.yml")},
                  "awx_job_id": 12, "awx_workflow_job_id": 11}
    result = org.playbook(runner, "keyturn.aws.rotate_accounts", file_store)
    assert result.rc != 0
    assert "file store, which is single-controller" in result.stdout, result.stdout[-3000:]
    assert all(org.keys(a, "svc-tagged") == {} for a in ACCOUNTS)


def test_user_filter_is_resolved_once_per_account_and_run(org, runner, estate):
    """The first step that resolves the filter pins the selection: ListUsers once per account and ListUserTags once
    per user per run (not once per step), listed users keep their per-user options, and a filter that selects
    nobody leaves nothing for the later steps."""
    for account in ACCOUNTS:
        org.user(account, "svc-listed")
    master = aws_client(org.mock.url, org.admin, "iam", org.region)
    everyone = sum(len((master if a == "master" else org.member_client(a, "iam")).list_users()["Users"]) for a in ACCOUNTS)
    # listed explicitly (a host variable for every account) with its own policy: rotate every run
    extra = {**estate["extra"], "keyturn_users": [{"name": "svc-listed", "max_age_days": 0}]}

    def calls(run):
        counted = org.mock.stats()["calls"]
        assert run.rc == 0, run.stdout[-4000:] + run.stderr[-2000:]
        return counted.get("iam:ListUsers", 0), counted.get("iam:ListUserTags", 0)

    org.mock.reset_stats()
    plan = org.playbook(runner, "keyturn.aws.rotate_accounts", extra, check=True)
    assert calls(plan) == (len(ACCOUNTS), everyone)
    shown = run_once_result(plan, "Show the plan of every account (check mode)")["msg"]
    for account in ACCOUNTS:
        for user in ("svc-tagged", "svc-listed"):
            assert any(line.startswith(f"{account} ({org.account_id_of(account)}) / {user}: rotated") for line in shown), shown
    assert not [line for line in shown if "svc-untagged" in line], shown

    org.mock.reset_stats()
    first = org.playbook(runner, "keyturn.aws.rotate_accounts", extra)
    assert calls(first) == (len(ACCOUNTS), everyone)
    report = estate_report(estate["report_dir"], "estate-rotation")
    assert report["summary"]["rotated"] == 2 * len(ACCOUNTS) and not report["problems"], report["problems"]
    for target in report["targets"]:
        assert [u["user_name"] for u in target["users"]] == ["svc-listed", "svc-tagged"], target["users"]
        assert {u["user_name"]: u["max_age_days"] for u in target["users"]} == {"svc-listed": 0, "svc-tagged": 90}

    org.mock.reset_stats()
    second = org.playbook(runner, "keyturn.aws.rotate_accounts", extra)
    assert calls(second) == (len(ACCOUNTS), everyone)
    report = estate_report(estate["report_dir"], "estate-rotation")
    rotated = {(t["name"], u["user_name"]) for t in report["targets"] for u in t["users"] if u.get("action") == "rotated"}
    assert rotated == {(a, "svc-listed") for a in ACCOUNTS}, rotated  # the per-user max_age_days 0 survived the pinning

    org.mock.reset_stats()
    nobody = org.playbook(runner, "keyturn.aws.rotate_accounts",
                          {**estate["extra"], "rotate_access_keys_user_filter": {"tags": {"keyturn": "nobody-has-this"}}})
    assert calls(nobody) == (len(ACCOUNTS), everyone)
    assert org.mock.stats()["calls"].get("iam:ListAccessKeys", 0) == 0
    report = estate_report(estate["report_dir"], "estate-rotation")
    assert len(report["targets"]) == len(ACCOUNTS) and report["summary"]["users"] == 0 and not report["problems"]
