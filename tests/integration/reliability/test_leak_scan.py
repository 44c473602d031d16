# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secret leak scan: rotate, verify, reconcile, dual swap, virtual_mfa, totp_seed, the totp and
credential lookups, credential_report_info and credential_report_remediate, at -vvv with the default callback.  No secret access key, seed or TOTP code may
appear in stdout, stderr, the registered results, the audit log or the reports."""

from __future__ import annotations

import glob
import json
import os
import re
import time

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
    started = time.time()
    result = runner.playbook(PLAY_HEAD + TASKS, estate.vars(imports=imports, root_seed=SEED, account=account_id),
                             verbosity=3, json_output=False)
    finished = time.time()
    assert result.rc == 0, result.stdout[-4000:]
    names = [estate.name(u) for u in ("leaky-one", "leaky-two", "legacy", "twin-a", "twin-b")]
    names += [f"{account_id}/root-mfa", f"{account_id}/mfa/leaky-one"]
    secrets = secrets_in_store(estate, names) | {legacy["SecretAccessKey"], SEED, estate.admin["secret_access_key"]}
    assert len(secrets) >= 8, "the scan must have real secrets to look for"
    seeds = [s for s in secrets if re.fullmatch(r"[A-Z2-7=]{16,}", s)]
    codes = set()
    for seed in seeds:
        totp = pyotp.TOTP(seed.rstrip("="))
        for moment in range(int(started) - 30, int(finished) + 60, 15):
            codes.add(totp.at(moment))
    audit = open(estate.audit_log, encoding="utf-8").read()
    reports = "".join(open(p, encoding="utf-8").read() for p in glob.glob(os.path.join(runner.tmp, "**", "*.html"), recursive=True))
    haystacks = {"stdout": result.stdout, "stderr": result.stderr, "audit log": audit, "reports": reports}
    for where, text in haystacks.items():
        for secret in secrets:
            assert secret not in text, f"a secret appeared in {where}"
        for code in codes:
            assert not re.search(rf"(?<![0-9]){code}(?![0-9])", text), f"a TOTP code appeared in {where}"
    events = [json.loads(line) for line in audit.splitlines()]
    assert {"access_key_rotated", "access_key_imported"} <= {e["event"] for e in events}
    record_counts(leak_scan_secrets_searched=len(secrets), leak_scan_totp_codes_searched=len(codes))
