# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Credential posture end to end with real ansible-playbook against awsmock: the module's findings per user and
control, the role and playbooks keyturn.aws.audit / keyturn.aws.audit_accounts, opt-in remediation (check mode
changes nothing, the real run changes exactly the plan), every issued secret searched in every output."""

from __future__ import annotations

import json
import os
import typing as t

from conftest import record_counts
from posture_estate import USERS, PostureEstate

MODULE_PLAY = """
- name: Posture
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/keyturn.aws.aws: "{{ aws }}"
  tasks:
    - name: Read the posture
      keyturn.aws.credential_report_info:
        region: "{{ region }}"
        account_id: "{{ account }}"
        store: "{{ store }}"
      register: posture

    - name: Read it again (the report is reused)
      keyturn.aws.credential_report_info:
        region: "{{ region }}"
      register: again

    - name: Bad threshold
      keyturn.aws.credential_report_info:
        region: "{{ region }}"
        unused_days: 0
      ignore_errors: true

    - name: Remediation without a store
      keyturn.aws.credential_report_remediate:
        region: "{{ region }}"
        remediate: [unused_keys]
      ignore_errors: true
"""

EXPECTED = {  # user -> control -> status
    "old-key": {"CIS 1.12": "pass", "CIS 1.13": "pass", "CIS 1.14": "fail", "keyturn.unmanaged": "pass",
                "keyturn.store_drift": "pass"},
    "two-keys": {"CIS 1.12": "pass", "CIS 1.13": "fail", "CIS 1.14": "pass", "keyturn.unmanaged": "fail",
                 "keyturn.store_drift": "pass"},
    "idle": {"CIS 1.12": "fail", "CIS 1.13": "pass", "CIS 1.14": "pass", "keyturn.unmanaged": "fail"},
    "clean": {"CIS 1.12": "pass", "CIS 1.13": "pass", "CIS 1.14": "pass", "keyturn.unmanaged": "pass",
              "keyturn.store_drift": "pass"},
    "console": {"CIS 1.12": "fail", "CIS 1.13": "pass", "CIS 1.14": "pass", "keyturn.unmanaged": "pass"},
    "gone": {"keyturn.store_drift": "fail"},
    "<root_account>": {"CIS 1.4": "pass", "CIS 1.5": "pass", "CIS 1.6": "fail"},
}


def failures(result: t.Any) -> str:
    """The messages of failed tasks (for assertion messages)."""
    found = []
    for play in (result.data or {}).get("plays", []):
        for task in play["tasks"]:
            for host, res in task["hosts"].items():
                if res.get("failed"):
                    found.append(f"{task['task']['name']} @ {host}: {res.get('msg')}")
    return "\n".join(found) or result.stdout[-3000:] + result.stderr[-2000:]


def by_subject(findings: t.Sequence[t.Mapping[str, t.Any]]) -> t.Dict[str, t.Dict[str, str]]:
    out: t.Dict[str, t.Dict[str, str]] = {}
    for item in findings:
        assert item["control"] not in out.setdefault(item["subject"], {}), item
        out[item["subject"]][item["control"]] = item["status"]
    return out


def test_module_findings_per_user_and_control(runner, awsmock, account_id):
    estate = PostureEstate(runner, awsmock, account_id)
    ids = estate.ids["main"]
    password = "Console-" + os.urandom(9).hex()  # a console password never used: CIS 1.12 fails for it
    estate.main.user("console")
    estate.main.iam.create_login_profile(UserName="console", Password=password)
    estate.issued.append(password)
    result = runner.playbook(MODULE_PLAY, {"aws": estate.creds(), "region": "us-east-1", "account": account_id,
                                           "store": estate.store.option})
    assert result.data is not None, result.stdout[-3000:] + result.stderr[-3000:]
    posture = result.task("Read the posture")
    assert not posture.get("failed"), posture.get("msg")
    found = by_subject(posture["findings"])
    for subject, controls in EXPECTED.items():
        assert {c: found[subject][c] for c in controls} == controls, subject
    assert "keyturn.store_drift" not in found["idle"]  # no record, nothing to drift
    detail = {(f["subject"], f["control"]): f for f in posture["findings"]}
    assert detail[("old-key", "CIS 1.14")]["access_key_ids"] == [ids["old-key"]]
    assert "120" in detail[("old-key", "CIS 1.14")]["detail"]
    assert detail[("idle", "CIS 1.12")]["access_key_ids"] == [ids["idle"]]
    assert "last used 60 days ago" in detail[("idle", "CIS 1.12")]["detail"]
    assert sorted(detail[("two-keys", "CIS 1.13")]["access_key_ids"]) == sorted(
        [ids["two-keys/current"], ids["two-keys/extra"]])
    assert detail[("two-keys", "keyturn.unmanaged")]["access_key_ids"] == [ids["two-keys/extra"]]
    assert "virtual device" in detail[("<root_account>", "CIS 1.6")]["detail"]
    assert "password never used" in detail[("console", "CIS 1.12")]["detail"]
    assert "IAM credential report of" in detail[("clean", "CIS 1.12")]["detail"]  # the report's age, always said
    # Typed rows: report dates and the live key ids matched to the report's slots.
    users = {u["user_name"]: u for u in posture["users"]}
    assert "<root_account>" not in users and set(USERS) <= set(users)
    (old,) = users["old-key"]["access_keys"]
    assert old["access_key_id"] == ids["old-key"] and old["active"] is True and 119.9 <= old["age_days"] <= 120.1
    assert old["last_used_service"] == "s3" and old["last_used_region"] == "us-east-1"
    assert users["clean"]["password_enabled"] is False and users["clean"]["password_last_used"] is None
    assert users["console"]["password_enabled"] is True and users["console"]["access_keys"] == []
    assert posture["root"] == {"access_keys_present": False, "mfa_enabled": True, "virtual_mfa": True,
                               "arn": f"arn:aws:iam::{account_id}:root", "in_report": True}
    assert posture["partition"] == "aws" and posture["changed"] is False
    again = result.task("Read it again (the report is reused)")
    assert again["report"]["reused"] is True and again["report"]["generated_time"] == posture["report"]["generated_time"]
    bad = result.task("Bad threshold")
    assert bad["failed"] and bad["msg"] == "unused_days must be 1 or more, got 0"
    nostore = result.task("Remediation without a store")
    assert nostore["failed"] and "store" in nostore["msg"] and "Traceback" not in nostore["msg"]
    record_counts(bad_inputs=2, secrets_searched=estate.assert_no_secret(result.stdout, result.stderr))


def test_audit_remediation_plan_then_exactly_the_plan(runner, awsmock, account_id):
    estate = PostureEstate(runner, awsmock, account_id, partitions=("aws", "aws-us-gov"))
    before = estate.statuses()
    assert all(s == "Active" for account in before.values() for s in account.values())
    fix = {"audit_credentials_remediate": ["unused_keys", "extra_active_keys"]}

    # Read-only audit: the report, no change.
    audit = runner.playbook("keyturn.aws.audit", estate.variables())
    assert audit.rc == 0, failures(audit)
    report = estate.report()
    assert report["format"] == "keyturn.aws.posture/1" and report["remediate"] == [] and report["problems"] == []
    assert report["summary"]["accounts"] == 2 and estate.statuses() == before
    targets = {tg["name"]: tg for tg in report["targets"]}
    assert {n: (tg["partition"], tg["region"]) for n, tg in targets.items()} == {
        "main": ("aws", "us-east-1"), "govcloud": ("aws-us-gov", "us-gov-west-1")}
    for target in targets.values():
        controls = {c["control"]: c for c in target["controls"]}
        assert set(controls["CIS 1.14"]["subjects"]) == {"old-key"}
        assert set(controls["CIS 1.13"]["subjects"]) == {"two-keys"}
        assert set(controls["CIS 1.12"]["subjects"]) == {"idle"}
        assert set(controls["CIS 1.6"]["subjects"]) == {"<root_account>"} and controls["CIS 1.4"]["fail"] == 0
        assert set(controls["keyturn.store_drift"]["subjects"]) == {"gone"}
        assert {"two-keys", "idle"} <= set(controls["keyturn.unmanaged"]["subjects"])
        assert "clean" not in json.dumps(target["findings"])
    estate_controls = {c["control"]: c for c in report["controls"]}
    assert estate_controls["CIS 1.14"]["accounts_failing"] == 2 and estate_controls["CIS 1.4"]["accounts_failing"] == 0

    # Check mode with remediation: the plan, nothing changed, a plan report next to the real one.
    plan_run = runner.playbook("keyturn.aws.audit", estate.variables(**fix), check=True, diff=True)
    assert plan_run.rc == 0, failures(plan_run)
    assert estate.statuses() == before
    plan_report = estate.report("posture-plan")
    assert plan_report["check_mode"] is True and estate.report()["check_mode"] is False
    planned = {(tg["name"], a["user_name"], a["access_key_id"], a["control"]) for tg in plan_report["targets"]
               for a in tg["plan"]}
    expected = {(name, user, estate.ids[name][slot], control) for name in estate.accounts
                for user, slot, control in (("idle", "idle", "CIS 1.12"), ("two-keys", "two-keys/extra", "CIS 1.13"))}
    assert planned == expected
    shown = plan_run.task("keyturn.aws.audit_credentials : Show the remediation plan")["msg"]
    assert {(a["user_name"], a["access_key_id"]) for a in shown} == {(p[1], p[2]) for p in planned}
    assert not os.path.exists(estate.audit_log)

    # Real run: exactly the planned keys become Inactive; audit lines for each; root untouched.
    fixed = runner.playbook("keyturn.aws.audit", estate.variables(**fix), diff=True)
    assert fixed.rc == 0, failures(fixed)
    after = estate.statuses()
    changed = {(name, key) for name in after for key, status in after[name].items() if status != before[name][key]}
    assert changed == {(name, f"{user}/{key}") for name, user, key, _c in planned}
    assert all(after[name][key] == "Inactive" for name, key in changed)
    done = estate.report()
    assert {(tg["name"], a["user_name"], a["access_key_id"], a["control"]) for tg in done["targets"]
            for a in tg["remediated"]} == planned
    with open(estate.audit_log, encoding="utf-8") as handle:
        events = [json.loads(line) for line in handle]
    assert sorted((e["event"], e["user_name"], e["access_key_id"]) for e in events) == sorted(
        ("access_key_deactivated", p[1], p[2]) for p in planned)

    # A second real run has nothing left to do (idempotent).
    settled = runner.playbook("keyturn.aws.audit", estate.variables(**fix))
    assert settled.rc == 0 and estate.statuses() == after
    assert all(not tg["remediated"] for tg in estate.report()["targets"])
    record_counts(runs=4, secrets_searched=estate.assert_no_secret(
        *(r.stdout + r.stderr for r in (audit, plan_run, fixed, settled))))


INVENTORY = """
all:
  hosts:
    acct-main:
      keyturn_account_id: "{main}"
      keyturn_account_name: main
      keyturn_region: us-east-1
    acct-member:
      keyturn_account_id: "{member}"
      keyturn_account_name: member
      keyturn_region: us-west-2
      keyturn_assume_role:
        role_arn: "{role_arn}"
        session_name: keyturn-audit
"""


def test_audit_accounts_one_estate_report(runner, awsmock, account_id):
    estate = PostureEstate(runner, awsmock, account_id, member=True)
    inventory = runner.write("org.yml", INVENTORY.format(main=account_id, member=estate.accounts["member"].account_id,
                                                         role_arn=estate.role_arn))
    variables = estate.variables()
    del variables["audit_credentials_targets"]
    result = runner.playbook("keyturn.aws.audit_accounts", variables, args=["-i", inventory])
    assert result.rc == 0, failures(result)
    report = estate.report()
    targets = {tg["name"]: tg for tg in report["targets"]}
    assert set(targets) == {"main", "member"} and report["summary"]["accounts"] == 2
    assert targets["member"]["role_arn"] == estate.role_arn
    assert targets["member"]["account_id"] == estate.accounts["member"].account_id
    for target in targets.values():
        controls = {c["control"]: c for c in target["controls"]}
        assert set(controls["CIS 1.14"]["subjects"]) == {"old-key"}
    record_counts(runs=1, secrets_searched=estate.assert_no_secret(result.stdout, result.stderr))
