# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role keyturn.aws.rotate_access_keys through its playbooks, run by FQCN with real ansible-playbook.

Targets: two accounts in aws (one reached through assume_role), one in aws-cn (cn-north-1) and one in
aws-us-gov (us-gov-west-1), each partition with its own credentials, all in one run and one store.
"""

from __future__ import annotations

import json
import os
import re
import stat
import time
import typing as t

from estate import authenticates
from rotate_fleet import Fleet, new_account_id, role_task, summary_lines, users_of

FAST = {"rotate_access_keys_verify_successes": 1}


def stats(result: t.Any) -> t.Dict[str, int]:
    assert result.data is not None, result.stdout[-3000:] + result.stderr[-3000:]
    return t.cast(t.Dict[str, int], result.data["stats"]["localhost"])


def assert_no_secret(fleet: Fleet, *texts: str) -> None:
    secrets = fleet.secrets()
    assert len(secrets) >= 4
    for text in texts:
        for secret in secrets:
            assert secret not in text


def report_texts(fleet: Fleet, name: str) -> t.List[str]:
    texts = []
    for ext in ("json", "html"):
        path = os.path.join(fleet.report_dir, f"{name}.{ext}")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with open(path, encoding="utf-8") as handle:
            texts.append(handle.read())
    return texts


def timed(fleet: Fleet, playbook: str, **kwargs: t.Any) -> t.Any:
    started = time.monotonic()
    result = fleet.play(playbook, **kwargs)
    print(f"{playbook} check={kwargs.get('check', False)}: {time.monotonic() - started:.1f}s")
    return result


def test_rotate_across_partitions_idempotent_and_check_mode(runner, awsmock, account_id):
    fleet = Fleet(runner, awsmock, account_id)
    fleet.users = {
        "main": [fleet.main.user("ci-deployer"), {"name": fleet.main.user("backup-agent"), "max_age_days": 30}],
        "member": [fleet.member.user("etl-loader")],
        "china": [fleet.china.user("cn-app")],
        "govcloud": [fleet.gov.user("gov-app")],
    }

    fleet.main.iam.create_account_alias(AccountAlias="acme-main")
    fleet.china.iam.create_account_alias(AccountAlias="acme-china")

    # 1. First run: every user gets a managed key, in every partition, one account through assume_role.
    first = timed(fleet, "keyturn.aws.rotate", **FAST)
    assert first.rc == 0, first.stdout[-4000:] + first.stderr[-2000:]
    report = fleet.report("rotation")
    assert report["kind"] == "rotation" and report["check_mode"] is False and report["problems"] == []
    targets = {target["name"]: target for target in report["targets"]}
    assert {name: (tg["account_id"], tg["partition"], tg["region"]) for name, tg in targets.items()} == {
        "main": (fleet.main.account_id, "aws", "us-east-1"),
        "member": (fleet.member.account_id, "aws", "us-west-2"),
        "china": (fleet.china.account_id, "aws-cn", "cn-north-1"),
        "govcloud": (fleet.gov.account_id, "aws-us-gov", "us-gov-west-1"),
    }
    assert targets["member"]["role_arn"] == fleet.role_arn and targets["main"]["role_arn"] is None
    # Accounts are named by their IAM alias as well as their id (none for accounts without one).
    assert {name: tg["account_alias"] for name, tg in targets.items()} == {
        "main": "acme-main", "member": None, "china": "acme-china", "govcloud": None}
    assert '<span class="pill">acme-china</span>' in report_texts(fleet, "rotation")[1]
    # Each new key's last use is keyturn's own verification (IAM keeps only the latest use): told apart.
    for user in users_of(report).values():
        (current,) = [key for key in user["keys"] if key["current"]]
        assert current["last_used"]["service"].lower() == "sts" and current["last_used"]["by_keyturn"] is True, user
    users = users_of(report)
    assert set(users) == {"main/ci-deployer", "main/backup-agent", "member/etl-loader", "china/cn-app",
                          "govcloud/gov-app"}
    for target in report["targets"]:
        account = {a.account_id: a for a in fleet.accounts()}[target["account_id"]]
        for user in target["users"]:
            stored = fleet.store.current(f"{target['account_id']}/{user['user_name']}")
            assert user["action"] == "rotated" and user["status"] == "valid", user
            assert user["before"]["status"] == "missing"
            assert user["access_key_id"] == user["new_key_id"] == stored["access_key_id"]
            assert stored["arn"] == f"arn:{account.partition}:iam::{account.account_id}:user/{user['user_name']}"
            assert account.keys(user["user_name"]) == {stored["access_key_id"]: "Active"}
            (key,) = user["keys"]
            assert key["current"] and key["managed"] and key["age_class"] == "ok"
            assert key["last_used"]["service"] == "sts"  # verified with the new key
    assert users["main/backup-agent"]["max_age_days"] == 30
    assert report["summary"]["rotated"] == 5 and report["summary"]["valid"] == 5
    assert stat.S_IMODE(os.stat(fleet.report_dir).st_mode) == 0o700
    assert_no_secret(fleet, first.stdout, first.stderr, *report_texts(fleet, "rotation"))
    assert "5 rotated" in summary_lines(first)[0]
    assert role_task(first, "Rotate the keys that are due")["changed"] is True

    # 2. Second run: nothing is due, nothing changes (the report is rewritten, never counted as a change).
    before = fleet.state()
    second = timed(fleet, "keyturn.aws.rotate", **FAST)
    assert second.rc == 0, second.stdout[-4000:]
    assert stats(second)["changed"] == 0
    assert {u["action"] for u in users_of(fleet.report("rotation")).values()} == {"skipped"}
    assert fleet.state() == before

    # 3. Time passes: backup-agent is due under its own 30-day policy, cn-app under the default 90 days,
    #    ci-deployer is only due soon.
    stored = {name: fleet.store.current(f"{acct.account_id}/{name}")["access_key_id"]
              for acct, name in ((fleet.main, "backup-agent"), (fleet.main, "ci-deployer"), (fleet.china, "cn-app"))}
    awsmock.age_key(stored["backup-agent"], 40)
    awsmock.age_key(stored["ci-deployer"], 80)
    awsmock.age_key(stored["cn-app"], 120)
    report_before = report_texts(fleet, "rotation")

    # Check mode end to end: the plan, and nothing changed anywhere (AWS, store, report files).
    before = fleet.state()
    plan = timed(fleet, "keyturn.aws.rotate", check=True, **FAST)
    assert plan.rc == 0, plan.stdout[-4000:]
    lines = summary_lines(plan)
    assert "2 to rotate" in lines[0] and "2 overdue, 1 due soon" in lines[0], lines
    assert re.fullmatch(r"report: .*/rotation-\d{8}T\d{6}Z-plan\.html \(plan\); history: .*/index\.html", lines[1]), lines
    assert stats(plan)["changed"] == 1  # only the rotate task, reporting its plan
    assert fleet.state() == before
    assert report_texts(fleet, "rotation") == report_before  # the latest report is not a plan
    # The plan is printed per account and user with the key ids (from the secret-free report) ...
    printed = "\n".join(role_task(plan, "Show the plan per account and user (secret-free, from the report)")["msg"])
    assert printed.startswith("PLAN (check mode, nothing changed): ")
    for name in ("backup-agent", "cn-app"):
        assert re.search(rf"  {name}: would be rotated - .*; keys: {stored[name]} \(Active, \d+ d, stored\)", printed), printed
        assert f"the old key {stored[name]}" in printed
    assert re.search(r"  ci-deployer: skipped", printed)
    # ... and kept as the plan report, listed in the index next to the real runs.
    plans = [f for f in os.listdir(fleet.report_dir) if re.fullmatch(r"rotation-\d{8}T\d{6}Z-plan\.(json|html)", f)]
    assert len(plans) == 2, sorted(os.listdir(fleet.report_dir))
    assert_no_secret(fleet, plan.stdout, plan.stderr, *report_texts(fleet, plans[0][:-5]))

    # 4. The real run rotates exactly what is due.
    third = timed(fleet, "keyturn.aws.rotate", **FAST)
    assert third.rc == 0, third.stdout[-4000:]
    report = fleet.report("rotation")
    users = users_of(report)
    actions = {name: user["action"] for name, user in users.items()}
    assert actions == {"main/ci-deployer": "skipped", "main/backup-agent": "rotated", "member/etl-loader": "skipped",
                       "china/cn-app": "rotated", "govcloud/gov-app": "skipped"}
    assert users["main/backup-agent"]["old_key_id"] == stored["backup-agent"]
    assert users["main/backup-agent"]["before"]["age_days"] >= 40
    assert users["china/cn-app"]["age_class"] == "ok" and users["china/cn-app"]["old_key_id"] == stored["cn-app"]
    assert stored["cn-app"] not in fleet.china.keys("cn-app")  # retired (deleted)
    assert users["main/ci-deployer"]["age_class"] == "due_soon" and users["main/ci-deployer"]["due"] is False
    assert report["summary"]["due_soon"] == 1 and report["summary"]["overdue"] == 0
    assert [b["count"] for b in report["age_buckets"]] == [4, 0, 1, 0]
    assert_no_secret(fleet, third.stdout, third.stderr, *report_texts(fleet, "rotation"))
    # History: every run kept (three real runs and the plan), the index lists them with the trend.
    runs = sorted(f for f in os.listdir(fleet.report_dir) if re.fullmatch(r"rotation-\d{8}T\d{6}Z(-plan)?\.json", f))
    assert len(runs) == 4, runs
    with open(os.path.join(fleet.report_dir, "index.html"), encoding="utf-8") as handle:
        index = handle.read()
    for run in runs:
        assert f'href="{run[:-5]}.html"' in index
    assert index.count('class="run run-ok"') == 3 and index.count('class="run run-plan"') == 1
    assert index.count('class="point-rotated"') == 3  # the trend has the three real runs, not the plan
    assert_no_secret(fleet, index)
    with open(fleet.audit_log, encoding="utf-8") as handle:
        audit = handle.read()
    assert_no_secret(fleet, audit)
    assert {json.loads(line)["event"] for line in audit.splitlines()} >= {"access_key_rotated", "access_key_verified"}


def test_verify_reconcile_discover_and_failing_target(runner, awsmock, account_id):
    fleet = Fleet(runner, awsmock, account_id)
    good = fleet.onboard(fleet.main, "app-good", age_days=100)
    broken = fleet.onboard(fleet.main, "app-broken")
    fleet.onboard(fleet.gov, "gov-app", age_days=80)
    stranger = fleet.main.iam.create_access_key(UserName=fleet.main.user("stranger"))["AccessKey"]["AccessKeyId"]
    fleet.store.store.write_current(f"{account_id}/app-broken", dict(broken, secret_access_key="x" * 40),
                                    keep_previous=False)
    fleet.users = {"main": ["app-good", "app-broken"], "govcloud": ["gov-app"]}
    targets = [tg for tg in fleet.targets() if tg["name"] in ("main", "govcloud")]
    wrong = {"name": "wrong-account", "account_id": new_account_id(), "region": "us-east-1", "users": ["app-good"]}

    # Verify changes nothing, reports invalid and overdue credentials, and fails the run for the broken target
    # only after writing the report.
    os.makedirs(fleet.report_dir, mode=0o700)  # an existing report directory is used as it is
    before = fleet.state()
    verified = fleet.runner.playbook("keyturn.aws.verify", fleet.variables(
        rotate_access_keys_targets=targets + [wrong]))
    assert verified.rc != 0
    failure = role_task(verified, "Fail when a target or a user failed")
    assert failure["failed"] and f"wrong-account: verify_after: the credentials reach account {account_id}" in \
        failure["msg"]
    assert fleet.state() == before
    assert stats(verified)["changed"] == 0
    # A failed run is kept and marked in the history; with no good run before it there is no latest report.
    (failed_run,) = fleet.runs("verification")
    assert failed_run.endswith("-failed") and not os.path.exists(os.path.join(fleet.report_dir, "verification.json"))
    report = fleet.report(failed_run)
    assert report["kind"] == "verification" and report["summary"]["errors"] == 1
    users = users_of(report)
    assert users["main/app-good"]["status"] == "valid" and users["main/app-good"]["age_class"] == "overdue"
    assert users["main/app-broken"]["status"] == "invalid" and not users["main/app-broken"]["valid"]
    assert users["govcloud/gov-app"]["status"] == "valid" and users["govcloud/gov-app"]["age_class"] == "due_soon"
    assert "action" not in users["main/app-good"]
    wrong_target = report["targets"][-1]
    assert wrong_target["name"] == "wrong-account" and "reach account" in wrong_target["error"]
    assert_no_secret(fleet, verified.stdout, verified.stderr, *report_texts(fleet, failed_run))

    # A good run becomes the latest; a failed run after it never replaces it, and the index marks both.
    good_run = fleet.runner.playbook("keyturn.aws.verify", fleet.variables(rotate_access_keys_targets=targets))
    assert good_run.rc == 0, good_run.stdout[-4000:]
    latest = report_texts(fleet, "verification")
    again = fleet.runner.playbook("keyturn.aws.verify", fleet.variables(rotate_access_keys_targets=targets + [wrong],
                                                                        rotate_access_keys_report_keep=2))
    assert again.rc != 0
    assert report_texts(fleet, "verification") == latest
    # rotate_access_keys_report_keep: 2 pruned the oldest run (both of its files).
    assert [run.endswith("-failed") for run in fleet.runs("verification")] == [False, True]
    assert not any(f.startswith(failed_run) for f in os.listdir(fleet.report_dir))
    with open(os.path.join(fleet.report_dir, "index.html"), encoding="utf-8") as handle:
        index = handle.read()
    assert index.count('class="run run-failed"') == 1 and index.count('class="run run-ok"') == 1

    # Reconcile repairs the broken credential and leaves working ones alone (even overdue: that is rotation).
    reconciled = fleet.runner.playbook("keyturn.aws.reconcile", fleet.variables(rotate_access_keys_targets=targets,
                                                                                **FAST))
    assert reconciled.rc == 0, reconciled.stdout[-4000:]
    users = users_of(fleet.report("reconciliation"))
    assert {n: u["action"] for n, u in users.items()} == {
        "main/app-good": "skipped", "main/app-broken": "reconciled", "govcloud/gov-app": "skipped"}
    assert users["main/app-broken"]["status"] == "valid"
    repaired = fleet.store.current(f"{account_id}/app-broken")
    assert repaired["access_key_id"] != broken["access_key_id"]
    assert authenticates(awsmock.url, repaired["access_key_id"], repaired["secret_access_key"])
    assert fleet.store.current(f"{account_id}/app-good")["access_key_id"] == good["access_key_id"]

    # Discover every user of each account (no users listed), managed or not, under a custom report name.
    discover_targets = [{k: v for k, v in tg.items() if k != "users"} for tg in targets]
    discovered = fleet.runner.playbook("keyturn.aws.discover", fleet.variables(
        rotate_access_keys_targets=discover_targets, rotate_access_keys_report_name="inventory"))
    assert discovered.rc == 0, discovered.stdout[-4000:]
    assert stats(discovered)["changed"] == 0
    report = fleet.report("inventory")
    assert report["kind"] == "discovery"
    users = users_of(report)
    assert {"main/keyturn-admin", "main/app-good", "main/app-broken", "main/stranger",
            "govcloud/keyturn-admin", "govcloud/gov-app"} <= set(users)
    (stranger_key,) = users["main/stranger"]["keys"]
    assert stranger_key["access_key_id"] == stranger and stranger_key["managed"] is False
    assert stranger_key["last_used"]["date"] is None
    assert users["main/app-good"]["keys"][0]["managed"] is True
    assert users["main/app-good"]["keys"][0]["age_class"] == "overdue"
    assert_no_secret(fleet, discovered.stdout, discovered.stderr, *report_texts(fleet, "inventory"))


def test_configuration_mistake_is_told_once_and_stops_its_targets(runner, awsmock, account_id):
    """A wrong vault password breaks every target in the first step: the run stops those targets there (no rotate,
    no second verification), says it once, prints no "...ignoring", and writes the failed run's report."""
    fleet = Fleet(runner, awsmock, account_id)
    fleet.onboard(fleet.main, "app", age_days=100)
    fleet.onboard(fleet.china, "cn-app", age_days=100)
    fleet.users = {"main": ["app"], "china": ["cn-app"]}
    targets = [tg for tg in fleet.targets() if tg["name"] in ("main", "china")]
    wrong = runner.write("wrong-vault-password", "not-the-password\n")
    before = fleet.state()
    result = fleet.runner.playbook("keyturn.aws.rotate", fleet.variables(rotate_access_keys_targets=targets),
                                   json_output=False, vault=False, args=["--vault-password-file", wrong])
    assert result.rc != 0
    assert fleet.state() == before
    out = result.stdout + result.stderr
    assert "...ignoring" not in out
    assert "Decryption failed" in out or "decrypt" in out, out[-3000:]
    told = [line for line in out.splitlines() if "decrypt" in line.lower()]
    # One failure, naming both targets once (ansible-core prints a failed task as "fatal: ..." plus "[ERROR]: ...").
    fatal = [line for line in told if line.startswith(("fatal:", "failed:"))]
    assert len(fatal) == 1 and fatal[0].startswith("fatal: [localhost]"), told
    assert all(line.startswith(("fatal:", "[ERROR]: Task failed:")) for line in told) and len(told) <= 2, told
    assert "main, china (2 targets): verify_before:" in fatal[0]
    # Both targets stopped at the first step: the rotation and the later steps skipped them.
    assert re.search(r"TASK \[keyturn\.aws\.rotate_access_keys : Rotate the keys that are due\][^\n]*\n"
                     r"(skipping: \[localhost\] => \(item=[^\n]*\n){2}skipping: \[localhost\]", out), out[-5000:]
    (run,) = fleet.runs("rotation")
    assert run.endswith("-failed") and fleet.report(run)["summary"]["errors"] == 2
    assert_no_secret(fleet, out)


def test_target_mistakes_fail_before_anything_runs(runner, awsmock, account_id):
    fleet = Fleet(runner, awsmock, account_id)
    fleet.onboard(fleet.main, "app", age_days=100)
    fleet.users = {"main": ["app"]}
    (target,) = [tg for tg in fleet.targets() if tg["name"] == "main"]
    bad = [dict(target, account_id=account_id[:11]), dict(target, name="typo", region="us-east1")]
    before = fleet.state()
    result = fleet.runner.playbook("keyturn.aws.rotate", fleet.variables(rotate_access_keys_targets=bad))
    assert result.rc != 0 and fleet.state() == before
    failure = role_task(result, "Check the targets and the store")
    assert failure["msg"] == ("rotate_access_keys: target main: account_id must be 12 digits, got 11 characters; "
                              "target typo: region \"us-east1\" is not a region name (like us-east-1, cn-north-1, "
                              "us-gov-west-1)")
    assert not os.path.exists(fleet.report_dir)  # stopped before any step
