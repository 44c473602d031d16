# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keyturn.aws.virtual_mfa through real ansible-playbook against awsmock (auth enforced):
enrol, the stored seed is the device's and gives the lookup's codes, unchanged on re-run,
a user with a device of unknown seed is refused, absent removes device and seed."""

from __future__ import annotations

import datetime
import json
import os
import typing as t

import pyotp

from stores import StoreUnderTest, aws_client

LIFECYCLE = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/keyturn.aws.aws:
      endpoint_url: "{{ endpoint }}"
      region: us-east-1
      access_key: "{{ creds.access_key_id }}"
      secret_key: "{{ creds.secret_access_key }}"
  vars:  # the lookup's connection (for the Secrets Manager store), templated like any option variable
    keyturn_aws_endpoint_url: "{{ endpoint }}"
    keyturn_aws_region: us-east-1
    keyturn_aws_access_key: "{{ creds.access_key_id }}"
    keyturn_aws_secret_key: "{{ creds.secret_access_key }}"
  tasks:
    - name: planned
      keyturn.aws.virtual_mfa: {user_name: "{{ user }}", store: "{{ store }}"}
      check_mode: true
      diff: true
    - name: enrolled
      keyturn.aws.virtual_mfa: {user_name: "{{ user }}", store: "{{ store }}", audit_log: "{{ audit }}"}
      register: mfa
      diff: true
    - name: again
      keyturn.aws.virtual_mfa: {user_name: "{{ user }}", store: "{{ store }}"}
    - name: code
      ansible.builtin.set_fact:
        code: "{{ lookup('keyturn.aws.totp', mfa.seed_name, store=store, output='dict', unique=false, min_remaining=0) }}"
    - name: user with a device whose seed is unknown
      keyturn.aws.virtual_mfa: {user_name: "{{ other_user }}", store: "{{ store }}"}
      ignore_errors: true
    - name: removal planned
      keyturn.aws.virtual_mfa: {user_name: "{{ user }}", state: absent, store: "{{ store }}"}
      check_mode: true
    - name: removed
      keyturn.aws.virtual_mfa: {user_name: "{{ user }}", state: absent, store: "{{ store }}", audit_log: "{{ audit }}"}
    - name: removed again
      keyturn.aws.virtual_mfa: {user_name: "{{ user }}", state: absent, store: "{{ store }}"}
"""


def extra_vars(awsmock: t.Any, admin: t.Mapping[str, str], **values: t.Any) -> t.Dict[str, t.Any]:
    return {"endpoint": awsmock.url, "creds": admin, **values}


def step_of(code: t.Mapping[str, t.Any]) -> int:
    expires = datetime.datetime.strptime(code["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    return int(expires.timestamp()) // code["period"] - 1


def test_virtual_mfa_lifecycle(runner: t.Any, awsmock: t.Any, account_id: str) -> None:
    """Seeds in Secrets Manager (reached with the base credentials); the file store is used below."""
    admin = awsmock.bootstrap(account_id)
    iam = aws_client(awsmock.url, admin, "iam")
    iam.create_user(UserName="ops")
    iam.create_user(UserName="legacy")
    legacy = iam.create_virtual_mfa_device(VirtualMFADeviceName="legacy-phone")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(UserName="legacy", SerialNumber=legacy, AuthenticationCode1="123456",
                          AuthenticationCode2="234567")
    store = StoreUnderTest("secretsmanager", runner.tmp, awsmock.url, admin)
    audit = os.path.join(runner.tmp, "audit.jsonl")
    env = {"KEYTURN_AWS_TOTP_LEDGER_PATH": os.path.join(runner.tmp, "ledger.json")}
    result = runner.playbook(LIFECYCLE, extra_vars(awsmock, admin, user="ops", other_user="legacy",
                                                   store=store.option, audit=audit), env=env)
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]
    serial = f"arn:aws:iam::{account_id}:mfa/ops"
    name = f"{account_id}/mfa/ops"

    planned = result.task("planned")
    assert planned["changed"] is True and planned["enabled"] is True and len(planned["actions"]) == 2
    assert planned["diff"]["before"]["device_exists"] is False

    enrolled = result.task("enrolled")
    assert enrolled["changed"] is True and enrolled["enabled"] is True
    assert enrolled["serial_number"] == serial and enrolled["seed_name"] == name
    assert enrolled["actions"] == planned["actions"]
    again = result.task("again")
    assert again["changed"] is False and again["serial_number"] == serial

    refused = result.task("user with a device whose seed is unknown")
    assert refused["failed"] is True and legacy in refused["msg"] and "no seed is stored" in refused["msg"]

    code = result.task("code")["ansible_facts"]["code"]
    assert set(code) == {"code", "expires_at", "remaining", "period"} and len(code["code"]) == 6
    assert result.task("removal planned")["changed"] is True
    removed = result.task("removed")
    assert removed["changed"] is True and removed["enabled"] is False and len(removed["actions"]) == 3
    assert result.task("removed again")["changed"] is False

    assert [d["SerialNumber"] for d in iam.list_mfa_devices(UserName="ops")["MFADevices"]] == []
    devices = {d["SerialNumber"] for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"]}
    assert serial not in devices and legacy in devices
    assert store.read(name).empty

    with open(audit, encoding="utf-8") as handle:
        events = [json.loads(line) for line in handle]
    assert [e["event"] for e in events] == ["virtual_mfa_created", "virtual_mfa_enabled", "virtual_mfa_removed"]
    assert {e["serial_number"] for e in events} == {serial}


def test_virtual_mfa_seed_matches_the_device(runner: t.Any, awsmock: t.Any, account_id: str) -> None:
    """After enrolment (without removal) the stored seed is the device's and the lookup's codes are its codes."""
    admin = awsmock.bootstrap(account_id)
    iam = aws_client(awsmock.url, admin, "iam")
    iam.create_user(UserName="ops")
    store = StoreUnderTest("file", runner.tmp, awsmock.url, admin)
    text = LIFECYCLE.split("    - name: user with a device", maxsplit=1)[0]
    env = {"KEYTURN_AWS_TOTP_LEDGER_PATH": os.path.join(runner.tmp, "ledger.json")}
    result = runner.playbook(text, extra_vars(awsmock, admin, user="ops", store=store.option,
                                              audit=os.path.join(runner.tmp, "audit.jsonl")), env=env)
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]
    serial = f"arn:aws:iam::{account_id}:mfa/ops"
    record = store.current(f"{account_id}/mfa/ops")
    device = {d["SerialNumber"]: d for d in iam.list_virtual_mfa_devices()["VirtualMFADevices"]}[serial]
    raw = device["Base32StringSeed"]
    assert record["seed"] == (raw.decode("ascii") if isinstance(raw, bytes) else raw)
    assert record["serial_number"] == serial and record["user_name"] == "ops" and record["source"] == "virtual_mfa"
    assert iam.list_mfa_devices(UserName="ops")["MFADevices"][0]["SerialNumber"] == serial
    code = result.task("code")["ansible_facts"]["code"]
    assert code["code"] == pyotp.TOTP(record["seed"]).at(step_of(code) * 30)
    for secret in (record["seed"], record["seed"].rstrip("=")):
        assert secret not in result.stdout and secret not in result.stderr
