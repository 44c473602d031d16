# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret leak scan: rotate (also with a grace period), rollback, verify, reconcile, dual swap, virtual_mfa,
totp_seed, the totp and credential lookups, credential_report_info and credential_report_remediate, at -vvv with
the default callback, then the rotate_access_keys role writing its reports.  No secret access key, seed or TOTP
code may appear in stdout, stderr, the registered results, the audit log or the reports.  The secrets searched are
every one the server issued during the runs (awsmock lists them), not only those left in the store at the end."""

from __future__ import annotations

import glob
import json
import os
import re
import time
import types

import pyotp

from conftest import record_counts
from estate import PLAY_HEAD, Estate

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

TASKS = """
    - name: rotate
      keyturn.aws.access_key_rotate:
        users: [leaky-one, leaky-two]
        force: true
        store: "{{ store }}"
        audit_log: "{{ audit_log }}"
      register: rotated
    - name: rotate with a grace period (the old key stays Active, retirement pending)
      keyturn.aws.access_key_rotate:
        users: [leaky-two]
        force: true
        retire_after: 3600
        retire_when_idle: 60
        store: "{{ store }}"
        audit_log: "{{ audit_log }}"
      register: graced
    - name: roll back to the key from before
      keyturn.aws.access_key_rollback:
        users: [leaky-two]
        store: "{{ store }}"
        audit_log: "{{ audit_log }}"
      register: rolled_back
    - name: verify
      keyturn.aws.access_key_verify:
        users: [leaky-one, leaky-two]
        store: "{{ store }}"
        audit_log: "{{ audit_log }}"
      register: verified
    - name: reconcile and import
      keyturn.aws.access_key_reconcile:
        users: [leaky-one, legacy]
        import_credentials: "{{ imports }}"
        store: "{{ store }}"
        audit_log: "{{ audit_log }}"
      register: reconciled
    - name: dual pair
      keyturn.aws.dual_account_swap:
        pair: pairs/leaky
        users: [twin-a, twin-b]
        store: "{{ store }}"
        audit_log: "{{ audit_log }}"
        force: "{{ item }}"
        grace_period: 0
      loop: [false, true, false]
      register: swapped
    - name: credential lookup, used without showing it
      ansible.builtin.set_fact:
        active_cred: "{{ lookup('keyturn.aws.credential', 'pairs/leaky', store=store, endpoint_url=endpoint,
                          region=region, access_key=task_creds.access_key_id, secret_key=task_creds.secret_access_key) }}"
      no_log: true
    - name: the active member's credential works
      keyturn.aws.region_config:
        region: us-east-1
        validate: true
        access_key: "{{ active_cred.access_key_id }}"
        secret_key: "{{ active_cred.secret_access_key }}"
      register: active_check
    - name: store a root MFA seed
      keyturn.aws.totp_seed:
        name: "{{ account }}/root-mfa"
        seed: "{{ root_seed }}"
        store: "{{ store }}"
        audit_log: "{{ audit_log }}"
    - name: a TOTP code from the stored seed, checked without showing it
      ansible.builtin.assert:
        that: code is match('^[0-9]{6}$')
        quiet: true
      vars:
        code: "{{ lookup('keyturn.aws.totp', account ~ '/root-mfa', store=store, min_remaining=0, audit_log=audit_log) }}"
    - name: enrol a virtual MFA device
      keyturn.aws.virtual_mfa:
        user_name: leaky-one
        store: "{{ store }}"
        audit_log: "{{ audit_log }}"
      register: mfa
    - name: credential posture
      keyturn.aws.credential_report_info:
        store: "{{ store }}"
      register: posture
    - name: credential remediation
      keyturn.aws.credential_report_remediate:
        remediate: [unused_keys, extra_active_keys]
        store: "{{ store }}"
        audit_log: "{{ audit_log }}"
      register: remediation
"""


ROLE = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: rotate every user twice, so that some issued secrets are in no store any more
      ansible.builtin.include_role:
        name: keyturn.aws.rotate_access_keys
      loop: [1, 2]
      vars:
        rotate_access_keys_targets:
          - {name: leaky, account_id: "{{ account }}", region: "{{ region }}", users: [leaky-one, leaky-two, legacy]}
        rotate_access_keys_max_age_days: 0
        rotate_access_keys_verify_successes: 1
        rotate_access_keys_store: "{{ store }}"
        rotate_access_keys_aws: {endpoint_url: "{{ endpoint }}", access_key: "{{ task_creds.access_key_id }}",
                                 secret_key: "{{ task_creds.secret_access_key }}"}
        rotate_access_keys_audit_log: "{{ audit_log }}"
        rotate_access_keys_report_dir: "{{ report_dir }}"
"""


def secrets_in_store(estate, names):
    found = set()
    for name in names:
        staged = estate.store.read(name)
        for record in (staged.current, staged.previous, staged.pending):
            for key in ("secret_access_key", "seed"):
                if record and record.get(key):
                    found.add(str(record[key]))
    return found


def test_no_secret_anywhere_at_vvv(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    for user in ("leaky-one", "leaky-two", "legacy", "twin-a", "twin-b"):
        estate.user(user)
    legacy = estate.iam.create_access_key(UserName="legacy")["AccessKey"]
    imports = [{"user_name": "legacy", "access_key_id": legacy["AccessKeyId"], "secret_access_key": legacy["SecretAccessKey"]}]
    report_dir = os.path.join(runner.tmp, "reports")
    started = time.time()
    result = runner.playbook(PLAY_HEAD + TASKS, estate.vars(imports=imports, root_seed=SEED, account=account_id),
                             verbosity=3, json_output=False)
    assert result.rc == 0, result.stdout[-4000:]
    role = runner.playbook(ROLE, estate.vars(account=account_id, report_dir=report_dir), verbosity=3, json_output=False)
    finished = time.time()
    assert role.rc == 0, role.stdout[-4000:]
    names = [estate.name(u) for u in ("leaky-one", "leaky-two", "legacy", "twin-a", "twin-b")]
    names += [f"{account_id}/root-mfa", f"{account_id}/mfa/leaky-one"]
    issued = awsmock.issued(account_id)
    secrets = {item["secret"] for item in issued} | {SEED}
    assert secrets_in_store(estate, names) <= secrets, "awsmock's list of issued secrets is incomplete"
    rotated_away = secrets - secrets_in_store(estate, names) - {SEED, estate.admin["secret_access_key"]}
    assert len(rotated_away) >= 3, "the scan must also look for secrets no store holds any more"
    assert sum(item["kind"] == "mfa_seed" for item in issued) == 1
    seeds = [s for s in secrets if re.fullmatch(r"[A-Z2-7=]{16,}", s)]
    codes = set()
    for seed in seeds:
        totp = pyotp.TOTP(seed.rstrip("="))
        for moment in range(int(started) - 30, int(finished) + 60, 15):
            codes.add(totp.at(moment))
    audit = open(estate.audit_log, encoding="utf-8").read()
    paths = [p for ext in ("html", "json") for p in glob.glob(os.path.join(runner.tmp, "**", f"*.{ext}"), recursive=True)]
    reports = {p: open(p, encoding="utf-8").read() for p in paths if not os.path.basename(p).startswith("vars-")}
    written = [p for p in reports if p.startswith(report_dir)]
    assert {os.path.splitext(p)[1] for p in written} == {".html", ".json"}, f"the role wrote no reports: {written}"
    assert all("leaky-one" in reports[p] for p in written if not p.endswith("index.html")), "the reports must describe the run"
    haystacks = {"stdout": result.stdout + role.stdout, "stderr": result.stderr + role.stderr, "audit log": audit,
                 **{f"report {os.path.relpath(p, runner.tmp)}": text for p, text in reports.items()}}
    for where, text in haystacks.items():
        for secret in secrets:
            assert secret not in text, f"a secret appeared in {where}"
        for code in codes:
            assert not re.search(rf"(?<![0-9]){code}(?![0-9])", text), f"a TOTP code appeared in {where}"
    events = [json.loads(line) for line in audit.splitlines()]
    assert {"access_key_rotated", "access_key_imported", "access_key_retirement_pending",
            "access_key_rolled_back"} <= {e["event"] for e in events}
    record_counts(leak_scan_secrets_searched=len(secrets), leak_scan_totp_codes_searched=len(codes),
                  leak_scan_reports_searched=len(written))


def test_no_secret_in_the_estate_playbooks_at_vvv(runner, awsmock, account_id):
    """keyturn.aws.accounts, rotate_accounts, verify_accounts and discover_accounts over an Organization, with keys
    due and a Secrets Manager store: no secret in the inventory listing, the runs' output or the estate reports."""
    from organization import Organization
    from stores import StoreUnderTest, aws_client
    org = Organization(awsmock, account_id, {"Apps": ["leaky-apps"], "Data": ["leaky-data"]})
    store = StoreUnderTest("secretsmanager", runner.tmp, awsmock.url, org.admin)
    originals = set()
    for account in ("master", "leaky-apps", "leaky-data"):
        org.user(account, "leaky-svc", {"keyturn": "rotate"})
        iam = aws_client(awsmock.url, org.admin, "iam") if account == "master" else org.member_client(account, "iam")
        key = iam.create_access_key(UserName="leaky-svc")["AccessKey"]
        store.store.write_current(f"{org.account_id_of(account)}/leaky-svc", {
            "kind": "iam_user_key", "access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"],
            "user_name": "leaky-svc", "account_id": org.account_id_of(account), "partition": "aws"})
        awsmock.age_key(key["AccessKeyId"], 120)
        originals.add(key["SecretAccessKey"])
    report_dir = os.path.join(runner.tmp, "estate-reports")
    extra = {"rotate_access_keys_store": store.option, "rotate_access_keys_aws": {"endpoint_url": awsmock.url},
             "rotate_access_keys_user_filter": {"tags": {"keyturn": "rotate"}}, "rotate_access_keys_report_dir": report_dir,
             "rotate_access_keys_verify_successes": 1}
    outputs = [org.inventory(runner)]
    for playbook in ("keyturn.aws.rotate_accounts", "keyturn.aws.verify_accounts", "keyturn.aws.discover_accounts"):
        result = org.playbook(runner, playbook, extra, verbosity=3, json_output=False)
        assert result.rc == 0, result.stdout[-4000:]
        outputs.append(result)
    secrets = set(originals) | {org.admin["secret_access_key"]}
    secrets |= secrets_in_store(types.SimpleNamespace(store=store), [f"{org.account_id_of(a)}/leaky-svc" for a in ("master", "leaky-apps", "leaky-data")])
    assert len(secrets) >= 7, "the scan must have real secrets to look for (3 old, 3 new, the admin's)"
    reports = "".join(open(p, encoding="utf-8").read() for p in glob.glob(os.path.join(report_dir, "*")) if os.path.isfile(p))
    assert "leaky-apps" in reports and "leaky-data" in reports
    haystacks = {"reports": reports}
    for index, run in enumerate(outputs):
        haystacks[f"run {index} stdout"] = run.stdout
        haystacks[f"run {index} stderr"] = run.stderr
    for where, text in haystacks.items():
        for secret in secrets:
            assert secret not in text, f"a secret appeared in {where}"
    record_counts(leak_scan_secrets_searched=len(secrets))
