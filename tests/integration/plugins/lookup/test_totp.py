# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keyturn.aws.totp through real ansible-playbook: codes equal pyotp's, min_remaining waits,
unique codes within one process and across processes, output dict, audit, nothing secret at -vvv."""

from __future__ import annotations

import datetime
import json
import os
import re
import threading
import time
import typing as t

import pyotp
import pytest
from ansible.parsing.vault import VaultLib

from ansible_collections.keyturn.aws.plugins.plugin_utils._store_file import vault_secrets_from_password
from stores import VAULT_PASSWORD, StoreUnderTest, aws_client

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
INLINE_SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
PERIOD = 15  # the shortest period the collection accepts keeps the waits short

BASIC = """
- hosts: localhost
  gather_facts: false
  vars_files:
    - "{{ vaulted_vars }}"
  tasks:
    - name: store
      keyturn.aws.totp_seed:
        name: acct/root-mfa
        seed: "{{ vaulted_stored_seed }}"
        store: "{{ store }}"
        endpoint_url: "{{ endpoint }}"
        region: us-east-1
        access_key: "{{ creds.access_key_id | default(omit) }}"
        secret_key: "{{ creds.secret_access_key | default(omit) }}"
    - name: stored
      ansible.builtin.set_fact:
        stored: "{{ lookup('keyturn.aws.totp', 'acct/root-mfa', store=store, output='dict', min_remaining=0) }}"
    - name: inline
      ansible.builtin.set_fact:
        inline: "{{ lookup('keyturn.aws.totp', seed=vaulted_seed, output='dict', min_remaining=0) }}"
    - name: plain
      ansible.builtin.set_fact:
        plain: "{{ lookup('keyturn.aws.totp', seed=vaulted_seed, min_remaining=0, unique=false) }}"
"""

TWO_IN_ONE_PROCESS = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: first
      ansible.builtin.set_fact:
        first: "{{ lookup('keyturn.aws.totp', seed=seed, output='dict', min_remaining=0) }}"
    - name: second
      ansible.builtin.set_fact:
        second: "{{ lookup('keyturn.aws.totp', seed=seed, output='dict', min_remaining=0) }}"
"""

AT_A_MOMENT = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: code
      ansible.builtin.set_fact:
        code: "{{ lookup('keyturn.aws.totp', seed=seed, output='dict', min_remaining=min_remaining) }}"
"""


def uri(seed: str, period: int = PERIOD) -> str:
    return f"otpauth://totp/AWS:root-account-mfa-device@123456789012?secret={seed}&issuer=AWS&period={period}"


def step_of(code: t.Mapping[str, t.Any]) -> int:
    """The time step a dict-output code belongs to (from its expiry)."""
    expires = datetime.datetime.strptime(code["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    assert expires.timestamp() % code["period"] == 0
    return int(expires.timestamp()) // code["period"] - 1


def expected(seed: str, code: t.Mapping[str, t.Any]) -> str:
    return pyotp.TOTP(seed, interval=code["period"]).at(step_of(code) * code["period"])


def ledger_env(runner: t.Any) -> t.Dict[str, str]:
    os.makedirs(os.path.join(runner.tmp, "ledger"), mode=0o700, exist_ok=True)  # a ledger's folder must exist
    return {"KEYTURN_AWS_TOTP_LEDGER_PATH": os.path.join(runner.tmp, "ledger", "totp-ledger.json"),
            "KEYTURN_AWS_TOTP_AUDIT_LOG": os.path.join(runner.tmp, "audit.jsonl")}


def vaulted_vars(runner: t.Any, **values: str) -> str:
    vault = VaultLib(vault_secrets_from_password(VAULT_PASSWORD))
    lines = []
    for name, value in values.items():
        text = vault.encrypt(value).decode("ascii")
        lines.append(f"{name}: !vault |\n" + "".join(f"  {line}\n" for line in text.splitlines()))
    return runner.write("vaulted.yml", "".join(lines))


def facts(result: t.Any, task: str) -> t.Dict[str, t.Any]:
    outcome = result.task(task)
    assert not outcome.get("failed"), outcome
    return t.cast(t.Dict[str, t.Any], outcome["ansible_facts"])


@pytest.mark.parametrize("store_kind", ["file", "secretsmanager"])
def test_codes_equal_pyotp_stored_and_inline(runner: t.Any, awsmock: t.Any, account_id: str, store_kind: str) -> None:
    admin = awsmock.bootstrap(account_id)
    store = StoreUnderTest(store_kind, runner.tmp, awsmock.url, admin)
    env = ledger_env(runner)
    if store_kind != "file":  # the lookup reaches AWS stores with its connection options (here: environment)
        env.update(AWS_ACCESS_KEY_ID=admin["access_key_id"], AWS_SECRET_ACCESS_KEY=admin["secret_access_key"],
                   AWS_ENDPOINT_URL=awsmock.url, AWS_REGION="us-east-1")
    extra = {"store": store.option, "endpoint": awsmock.url,
             "vaulted_vars": vaulted_vars(runner, vaulted_seed=uri(INLINE_SEED, 30),
                                          vaulted_stored_seed=uri(SEED.lower()))}
    if store_kind != "file":
        extra["creds"] = admin
    result = runner.playbook(BASIC, extra, env=env)
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]

    assert store.current("acct/root-mfa")["seed"] == SEED
    stored = facts(result, "stored")["stored"]
    assert set(stored) == {"code", "expires_at", "remaining", "period"}
    assert stored["period"] == PERIOD and 0 <= stored["remaining"] <= PERIOD
    assert stored["code"] == expected(SEED, stored) and len(stored["code"]) == 6
    inline = facts(result, "inline")["inline"]
    assert inline["period"] == 30 and inline["code"] == expected(INLINE_SEED, inline)
    plain = facts(result, "plain")["plain"]
    assert isinstance(plain, str) and plain.isdigit() and len(plain) == 6
    assert plain in {pyotp.TOTP(INLINE_SEED).at((step_of(inline) + k) * 30) for k in (0, 1)}

    with open(env["KEYTURN_AWS_TOTP_AUDIT_LOG"], encoding="utf-8") as handle:
        audit = handle.read()
    lines = [json.loads(line) for line in audit.splitlines()]
    assert [(x["event"], x["seed_name"]) for x in lines] == [("totp_code_issued", "acct/root-mfa"),
                                                             ("totp_code_issued", "inline"),
                                                             ("totp_code_issued", "inline")]
    assert all(x["actor"] and x["ts"].endswith("Z") for x in lines)
    for secret in (SEED, SEED.lower(), INLINE_SEED, stored["code"], inline["code"], plain):
        assert secret not in audit


def at_moment(runner: t.Any, moment: float) -> t.Dict[str, str]:
    """The environment of a run whose totp lookup reads a fake clock starting at ``moment`` (it moves only
    when the lookup waits): the test decides the instant instead of racing the real clock."""
    return dict(ledger_env(runner), KEYTURN_TEST_FAKE_NOW=str(moment), ANSIBLE_CALLBACKS_ENABLED="keyturn_fake_clock")


def test_min_remaining_and_unique_codes_within_and_across_processes(runner: t.Any) -> None:
    """Four ansible-playbook runs at once, sharing one ledger, each at an instant set by the test:

    * one process asks twice for the same seed: the second code is from a later window;
    * two processes ask for one seed at the same instant: they never get the same code;
    * one process asks 3 s before a window ends with min_remaining=14: it waits and gets
      the next window's code.
    """
    seeds = {name: pyotp.random_base32(32) for name in ("same", "across", "wait")}
    window = 2_000_000_000 // PERIOD * PERIOD  # the start of a window, on the fake clock
    runs: t.Dict[str, t.Any] = {}
    jobs = {
        "same": (TWO_IN_ONE_PROCESS, {"seed": uri(seeds["same"])}, window + 1),
        "across-1": (AT_A_MOMENT, {"seed": uri(seeds["across"]), "min_remaining": 0}, window + 10),
        "across-2": (AT_A_MOMENT, {"seed": uri(seeds["across"]), "min_remaining": 0}, window + 10),
        "wait": (AT_A_MOMENT, {"seed": uri(seeds["wait"]), "min_remaining": 14}, window + 12),
    }

    def play(key: str) -> None:
        text, extra, moment = jobs[key]
        runs[key] = runner.playbook(text, extra, env=at_moment(runner, moment), vault=False)

    threads = [threading.Thread(target=play, args=(key,)) for key in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(600)
    for key, result in runs.items():
        assert result.rc == 0, (key, result.stdout[-3000:], result.stderr[-3000:])
    assert len(runs) == 4

    first, second = facts(runs["same"], "first")["first"], facts(runs["same"], "second")["second"]
    assert step_of(first) == window // PERIOD and step_of(second) == window // PERIOD + 1
    assert first["code"] == expected(seeds["same"], first) and second["code"] == expected(seeds["same"], second)
    assert first["code"] != second["code"]

    one, two = (facts(runs[key], "code")["code"] for key in ("across-1", "across-2"))
    assert {step_of(one), step_of(two)} == {window // PERIOD, window // PERIOD + 1}
    assert one["code"] == expected(seeds["across"], one) and two["code"] == expected(seeds["across"], two)
    assert one["code"] != two["code"]

    waited = facts(runs["wait"], "code")["code"]
    assert step_of(waited) == window // PERIOD + 1  # asked at window+12 (3 s left): got the next window
    assert waited["remaining"] >= 14 and waited["code"] == expected(seeds["wait"], waited)


LEAK = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/keyturn.aws.aws:
      endpoint_url: "{{ endpoint }}"
      region: us-east-1
      access_key: "{{ creds.access_key_id }}"
      secret_key: "{{ creds.secret_access_key }}"
  tasks:
    - name: store
      keyturn.aws.totp_seed:
        name: acct/root-mfa
        seed: "{{ seed }}"
        store: "{{ store }}"
      diff: true
    - name: code
      ansible.builtin.set_fact:
        root_code: "{{ lookup('keyturn.aws.totp', 'acct/root-mfa', store=store) }}"
      no_log: true
    - name: use it
      ansible.builtin.assert:
        that:
          - root_code | length == 6
          - root_code is match('^[0-9]+$')
        quiet: true
    - name: inline code with a typo in the seed
      ansible.builtin.set_fact:
        broken: "{{ lookup('keyturn.aws.totp', seed=broken_seed) }}"
      ignore_errors: true
    - name: invalid seed for the module
      keyturn.aws.totp_seed:
        name: acct/broken
        seed: "{{ broken_seed }}"
        store: "{{ store }}"
      ignore_errors: true
    - name: enrol a virtual MFA device
      keyturn.aws.virtual_mfa:
        user_name: ops
        store: "{{ store }}"
        audit_log: "{{ audit }}"
      diff: true
      register: mfa
    - name: its code
      ansible.builtin.set_fact:
        mfa_code: "{{ lookup('keyturn.aws.totp', mfa.seed_name, store=store, unique=false) }}"
      no_log: true
"""


def test_nothing_secret_at_vvv(runner: t.Any, awsmock: t.Any, account_id: str) -> None:
    admin = awsmock.bootstrap(account_id)
    aws_client(awsmock.url, admin, "iam").create_user(UserName="ops")
    store = StoreUnderTest("file", runner.tmp, awsmock.url, admin)
    env = ledger_env(runner)
    broken = SEED[:20] + "1" + SEED[21:]
    start = int(time.time()) // 30
    result = runner.playbook(LEAK, {"seed": SEED.lower(), "store": store.option, "broken_seed": broken,
                                    "endpoint": awsmock.url, "creds": admin, "audit": env["KEYTURN_AWS_TOTP_AUDIT_LOG"]},
                             verbosity=3, json_output=False, env=env)
    end = int(time.time()) // 30
    output = result.stdout + result.stderr
    assert result.rc == 0, output[-4000:]
    assert "the digits 0, 1, 8 and 9 are not base32" in output  # the errors were shown ...
    assert f"arn:aws:iam::{account_id}:mfa/ops" in output
    with open(env["KEYTURN_AWS_TOTP_AUDIT_LOG"], encoding="utf-8") as handle:
        audit = handle.read()
    assert audit.count("totp_code_issued") == 2 and audit.count("virtual_mfa_enabled") == 1
    device_seed = store.current(f"{account_id}/mfa/ops")["seed"]
    codes = {pyotp.TOTP(seed).at(step * 30) for seed in (SEED, device_seed) for step in range(start - 1, end + 3)}
    for text in (output, audit):  # ... but never a seed or a code
        for secret in (SEED, SEED.lower(), broken, broken.lower(), SEED[:16], SEED[-16:],
                       device_seed, device_seed.rstrip("="), device_seed[:16], device_seed.lower()):
            assert secret not in text
        for code in codes:
            assert not re.search(rf"(?<![0-9]){code}(?![0-9])", text), code
