# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Role keyturn.aws.rotate_access_keys with rotate_access_keys_retire_after / _retire_when_idle: pending
retirements in the report (JSON and HTML), then retired by a later run."""

from __future__ import annotations

import json
import os

from estate import Estate, authenticates

ROLE_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: rotate
      ansible.builtin.include_role:
        name: keyturn.aws.rotate_access_keys
      vars:
        rotate_access_keys_aws:
          endpoint_url: "{{ endpoint }}"
          access_key: "{{ task_creds.access_key_id }}"
          secret_key: "{{ task_creds.secret_access_key }}"
        rotate_access_keys_targets:
          - name: main
            account_id: "{{ account }}"
            region: us-east-1
            users: "{{ users }}"
        rotate_access_keys_store: "{{ store }}"
        rotate_access_keys_verify_successes: 1
        rotate_access_keys_retire_after: "{{ grace }}"
        rotate_access_keys_retire_when_idle: "{{ idle }}"
        rotate_access_keys_report_dir: "{{ report_dir }}"
        rotate_access_keys_audit_log: "{{ audit_log }}"
"""


def run_role(estate, grace, idle=0, check=False):
    report_dir = os.path.join(estate.runner.tmp, "reports")
    data = estate.vars(None, users=["web"], account=estate.account_id, grace=grace, idle=idle, report_dir=report_dir)
    result = estate.runner.playbook(ROLE_PLAY, data, check=check)
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-2000:]
    if check:
        return result, None, None
    with open(os.path.join(report_dir, "rotation.json"), encoding="utf-8") as handle:
        report = json.load(handle)
    with open(os.path.join(report_dir, "rotation.html"), encoding="utf-8") as handle:
        html = handle.read()
    return result, report, html


def web_user(report):
    return report["targets"][0]["users"][0]


def test_role_passes_grace_through_and_reports_pending_retirement(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    estate.user("web")
    run_role(estate, 0)
    old = estate.store.current(estate.name("web"))
    awsmock.age_key(old["access_key_id"], 100)

    result, report, html = run_role(estate, 3600)
    user = web_user(report)
    assert user["action"] == "rotated"
    assert user["retirement"]["state"] == "waiting" and user["retirement"]["key_id"] == old["access_key_id"]
    assert user["retirement"]["retire_at"] and user["retirement"]["cut_over"]
    assert report["summary"]["retirement_pending"] == 1
    assert "1 pending retirement" in report["headline"]
    assert f"old key {old['access_key_id']}: pending retirement (grace period)" in html
    new = estate.store.current(estate.name("web"))
    assert estate.keys("web") == {old["access_key_id"]: "Active", new["access_key_id"]: "Active"}
    assert authenticates(awsmock.url, old["access_key_id"], old["secret_access_key"])

    # check mode of a later run with no grace left: a plan to retire, nothing changed
    planned = run_role(estate, 0, check=True)[0]
    assert "1 old key(s) to retire" in planned.stdout
    assert estate.keys("web") == {old["access_key_id"]: "Active", new["access_key_id"]: "Active"}

    later, html = run_role(estate, 0)[1:]
    user = web_user(later)
    assert user["action"] == "skipped" and user["retired_key_id"] == old["access_key_id"]
    assert later["summary"]["retired"] == 1 and "1 old key(s) retired" in later["headline"]
    assert estate.keys("web") == {new["access_key_id"]: "Active"}
    for text in (json.dumps(report), json.dumps(later), html, result.stdout, planned.stdout):
        for secret in (old["secret_access_key"], new["secret_access_key"]):
            assert secret not in text
