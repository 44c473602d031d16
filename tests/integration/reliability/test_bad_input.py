# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input: each case fails with a clear, specific message, no traceback, and changes nothing
in AWS or in the store."""

from __future__ import annotations

import hashlib
import os

import botocore.configloader
import pyotp
import yaml

from conftest import record_counts
from estate import PLAY_HEAD, Estate

# (task name, module, arguments (merged over a valid base), expected text in msg)
CASES = [
    ("malformed account id", "access_key_rotate", {"account_id": "12345"}, "12-digit AWS account ID"),
    ("wrong account id", "access_key_rotate", {"account_id": "999999999999"}, "but account_id is 999999999999"),
    ("region of another partition", "access_key_rotate", {"region": "cn-north-1"}, "never work across partitions"),
    ("unknown region", "access_key_rotate", {"region": "us-east-9"}, "unknown region 'us-east-9'"),
    ("unsupported partition", "access_key_rotate", {"region": "us-iso-east-1"}, "does not support"),
    ("empty users", "access_key_rotate", {"users": []}, "non-empty list"),
    ("duplicate users", "access_key_rotate", {"users": ["victim", "victim"]}, "listed twice"),
    ("invalid user name", "access_key_rotate", {"users": ["bad name!"]}, "not a valid IAM user name"),
    ("user dict without name", "access_key_rotate", {"users": [{"max_age_days": 3}]}, "has no name"),
    ("user dict unknown key", "access_key_rotate", {"users": [{"name": "victim", "colour": "red"}]}, "unknown keys ['colour']"),
    ("bad store type", "access_key_rotate", {"store": {"type": "vaultx", "path": "x"}}, "vaultx"),
    ("file store without path", "access_key_rotate", {"store": {"type": "file"}}, "path"),
    ("prefix on a file store", "access_key_rotate", {"store": {"type": "file", "path": "s.yml", "prefix": "x/"}}, "prefix"),
    ("negative max_age_days", "access_key_rotate", {"max_age_days": -1}, "max_age_days must be 0 or more"),
    ("bad retire", "access_key_rotate", {"retire": "shred"}, "retire must be one of"),
    ("bad unmanaged_keys", "access_key_rotate", {"unmanaged_keys": "ignore"}, "unmanaged_keys must be one of"),
    ("zero concurrency", "access_key_rotate", {"concurrency": 0}, "concurrency must be between 1 and 64"),
    ("zero verify_successes", "access_key_rotate", {"verify_successes": 0}, "verify_successes must be between 1 and 10"),
    ("bad role arn", "access_key_rotate", {"assume_role": {"role_arn": "not-an-arn"}}, "must be an IAM role ARN"),
    ("role of another partition", "access_key_rotate",
     {"assume_role": {"role_arn": "arn:aws-cn:iam::123456789012:role/x"}}, "within one partition"),
    ("access key without secret", "access_key_rotate", {"secret_key": ""}, "must be given together"),
    ("endpoint without scheme", "access_key_rotate", {"endpoint_url": "127.0.0.1:1"}, "must start with http"),
    ("temporary key to import", "access_key_reconcile",
     {"import_credentials": [{"user_name": "victim", "access_key_id": "ASIAABCDEFGHIJKLMNOP", "secret_access_key": "s" * 40}]},
     "temporary (STS) credential"),
    ("malformed key id to import", "access_key_reconcile",
     {"import_credentials": [{"user_name": "victim", "access_key_id": "XYZ", "secret_access_key": "s" * 40}]},
     "must be an AWS access key ID"),
    ("import for a user not listed", "access_key_reconcile",
     {"import_credentials": [{"user_name": "other", "access_key_id": "AKIAABCDEFGHIJKLMNOP", "secret_access_key": "s" * 40}]},
     "not in users"),
    ("empty users for info", "access_key_info", {"users": []}, "at least one user"),
    ("partition mismatch", "region_config", {"region": "cn-north-1", "partition": "aws"}, "is in partition aws-cn, not aws"),
]

BASE = {
    "access_key_rotate": {"users": ["victim"], "store": "{{ store }}", "force": True},
    "access_key_reconcile": {"users": ["victim"], "store": "{{ store }}", "force": True},
    "access_key_info": {"store": "{{ store }}"},
    "region_config": {"validate": True},
}


def bad_input_play(cases=None):
    tasks = []
    for name, module, args, _expected in CASES if cases is None else cases:
        merged = dict(BASE[module])
        merged.update(args)
        tasks.append({"name": name, f"keyturn.aws.{module}": merged, "ignore_errors": True})
    return PLAY_HEAD + yaml.safe_dump(tasks, sort_keys=False).replace("\n", "\n    ").join(["    ", ""]).rstrip() + "\n"


def snapshot(estate):
    path = estate.store.option["path"]
    with open(path, "rb") as handle:
        store_bytes = hashlib.sha256(handle.read()).hexdigest()
    return estate.keys("victim"), store_bytes, estate.store.read(estate.name("victim"))


def test_bad_inputs_fail_cleanly_and_change_nothing(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    estate.user("victim")
    estate.rotate(["victim"])
    before = snapshot(estate)
    result = runner.playbook(bad_input_play(), estate.vars())
    assert result.rc == 0, result.stderr[-2000:]
    for name, _module, _args, expected in CASES:
        task = result.task(name)
        assert task.get("failed") is True, (name, task)
        assert expected in task["msg"], (name, task["msg"])
        assert "Traceback" not in task["msg"] and "module_stderr" not in task, (name, task)
    assert "Traceback" not in result.stdout + result.stderr
    assert snapshot(estate) == before
    record_counts(bad_inputs_rejected_with_nothing_changed=len(CASES))


def test_vault_problems_fail_before_any_change(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    estate.user("victim")
    estate.rotate(["victim"])
    before = snapshot(estate)
    play = PLAY_HEAD + """
    - name: rotate
      keyturn.aws.access_key_rotate:
        users: [victim]
        force: true
        store: "{{ store }}"
      ignore_errors: true
"""
    missing = runner.playbook(play, estate.vars(), vault=False)
    assert "needs the run's vault secret" in missing.task("rotate")["msg"]
    wrong_file = os.path.join(runner.tmp, "wrong-pass")
    with open(wrong_file, "w", encoding="utf-8") as handle:
        handle.write("not-the-password\n")
    wrong = runner.playbook(play, estate.vars(), vault=False, args=["--vault-password-file", wrong_file])
    assert "could not decrypt" in wrong.task("rotate")["msg"]
    assert snapshot(estate) == before
    corrupt = os.path.join(runner.tmp, "corrupt.vault.yml")
    with open(corrupt, "w", encoding="utf-8") as handle:
        handle.write("$ANSIBLE_VAULT;1.1;AES256\nnot-hex-at-all\n")
    broken = runner.playbook(play, estate.vars(store={"type": "file", "path": corrupt}))
    assert broken.task("rotate")["failed"] and corrupt in broken.task("rotate")["msg"]
    unwritable = runner.playbook(play, estate.vars(store={"type": "file", "path": "/nonexistent-dir/s.yml"}))
    assert unwritable.task("rotate")["failed"] and "/nonexistent-dir" in unwritable.task("rotate")["msg"]
    for run in (missing, wrong, broken, unwritable):
        assert "Traceback" not in run.stdout + run.stderr
    assert estate.keys("victim") == before[0]


# Issue 18: inputs that used to get through (or get a raw Python error).  Seeds come from the vars file.
MISSING_STORE = {"type": "file", "path": "{{ config_dir }}/missing.vault.yml"}
ISSUE18_CASES = [
    ("profile name injecting credential_process", "region_config",
     {"config_file": "{{ config_dir }}/aws-config", "config_profile": "{{ injected_profile }}"}, "is not a valid AWS profile name"),
    ("profile name with a space", "region_config",
     {"config_file": "{{ config_dir }}/aws-config", "config_profile": "two words"}, "is not a valid AWS profile name"),
    ("config_file in a missing folder", "region_config", {"config_file": "{{ config_dir }}/no-such-dir/config"},
     "the directory of the config_file {{ config_dir }}/no-such-dir/config does not exist: create"),
    ("TOTP ledger in a missing folder", "virtual_mfa", {"ledger_path": "{{ config_dir }}/no-such-dir/ledger.json"},
     "the directory of the TOTP ledger"),
    ("empty endpoint_url", "access_key_rotate", {"endpoint_url": ""}, "endpoint_url is empty"),
    ("empty endpoint_url for info", "access_key_info", {"endpoint_url": ""}, "endpoint_url is empty"),
    ("per-user max_age_days not a number", "access_key_rotate", {"users": [{"name": "victim", "max_age_days": "x"}]},
     "users[0].max_age_days must be a whole number from 0 to 36500"),
    ("per-user max_age_days too large", "access_key_rotate", {"users": [{"name": "victim", "max_age_days": 10 ** 30}]},
     "users[0].max_age_days must be a whole number from 0 to 36500"),
    ("per-user force not a boolean", "access_key_verify", {"users": [{"name": "victim", "force": "perhaps"}]},
     "users[0].force must be true or false"),
    ("user name given as a number", "access_key_rotate", {"users": [123]},
     "users[0] must be an IAM user name (a string; quote names that look like numbers"),
    ("huge max_age_days for a pair", "dual_account_swap", {"max_age_days": 10 ** 30},
     "max_age_days must be a whole number from 0 to 36500"),
    ("verify with a missing store file", "access_key_verify", {"store": MISSING_STORE},
     "missing.vault.yml does not exist: check store.path"),
    ("info with a missing store file", "access_key_info", {"store": MISSING_STORE}, "does not exist: check store.path"),
    ("path_prefix without slashes", "access_key_info", {"path_prefix": "home/"},
     "path_prefix must be an IAM path that starts and ends with '/'"),
    ("all-zero seed", "totp_seed", {"seed": "{{ zero_seed }}"}, "the TOTP seed is degenerate"),
    ("5000 x A seed", "totp_seed", {"seed": "{{ long_seed }}"}, "the TOTP seed is too long"),
    ("otpauth URI with an empty digits=", "totp_seed", {"seed": "{{ empty_digits_uri }}"}, "empty digits= parameter"),
    ("otpauth URI with an empty period=", "totp_seed", {"seed": "{{ empty_period_uri }}"}, "empty period= parameter"),
    ("store backups out of range", "access_key_rotate", {"store": {"type": "file", "path": "s.yml", "backups": -1}},
     "store.backups must be a whole number from 0 to 100"),
]
BASE.update({
    "access_key_verify": {"users": ["victim"], "store": "{{ store }}"},
    "dual_account_swap": {"pair": "pair-x", "users": ["victim", "victim-b"], "store": "{{ store }}"},
    "virtual_mfa": {"user_name": "victim", "store": "{{ store }}"},
    "totp_seed": {"name": "acct/seed", "store": "{{ store }}"},
})


def issue18_vars(runner, estate):
    seed = pyotp.random_base32(32)
    return estate.vars(
        config_dir=runner.tmp, injected_profile="x]\ncredential_process = /bin/sh -c 'touch pwned'\n[profile y",
        zero_seed="A" * 64, long_seed="A" * 5000, good_seed=seed,
        empty_digits_uri=f"otpauth://totp/Example:ops?secret={seed}&digits=",
        empty_period_uri=f"otpauth://totp/Example:ops?secret={seed}&period=&issuer=Example",
    )


def test_issue18_bad_inputs_fail_cleanly_and_change_nothing(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    estate.user("victim")
    estate.rotate(["victim"])
    before = snapshot(estate)
    data = issue18_vars(runner, estate)
    result = runner.playbook(bad_input_play(ISSUE18_CASES), data)
    assert result.rc == 0, result.stderr[-2000:]
    for name, _module, _args, expected in ISSUE18_CASES:
        task = result.task(name)
        expected = expected.replace("{{ config_dir }}", runner.tmp)
        assert task.get("failed") is True, (name, task)
        assert expected in task["msg"], (name, task["msg"])
        assert "Traceback" not in task["msg"] and "module_stderr" not in task, (name, task)
        assert "_Ansible" not in task["msg"] and "Tagged" not in task["msg"] and "<class" not in task["msg"], (name, task)
    output = result.stdout + result.stderr
    assert "Traceback" not in output and data["good_seed"] not in output
    assert snapshot(estate) == before
    # nothing written anywhere: no config file, no injected profile, no folder created, no ledger, no MFA device
    assert sorted(n for n in os.listdir(runner.tmp) if n.startswith(("aws-config", "no-such-dir", "pwned", "missing"))) == []
    assert estate.iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []
    assert estate.store.read("acct/seed").current is None
    record_counts(bad_inputs_rejected_with_nothing_changed=len(ISSUE18_CASES))


LOOKUPS = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: totp with a misspelt option
      ansible.builtin.set_fact:
        code: "{{ lookup('keyturn.aws.totp', seed=good_seed, min_remainig=25) }}"
      ignore_errors: true
    - name: credential with a misspelt option
      ansible.builtin.set_fact:
        cred: "{{ lookup('keyturn.aws.credential', 'acct/victim', store=store, regoin='us-east-1') }}"
      ignore_errors: true
    - name: credential with a bad store type
      ansible.builtin.set_fact:
        cred: "{{ lookup('keyturn.aws.credential', 'acct/victim', store={'type': 'vaultx'}) }}"
      ignore_errors: true
    - name: totp with a bad store type
      ansible.builtin.set_fact:
        code: "{{ lookup('keyturn.aws.totp', 'acct/seed', store={'type': 'vaultx'}) }}"
      ignore_errors: true
    - name: credential from a missing store file
      ansible.builtin.set_fact:
        cred: "{{ lookup('keyturn.aws.credential', 'acct/victim', store=missing_store) }}"
      ignore_errors: true
    - name: totp from a missing store file
      ansible.builtin.set_fact:
        code: "{{ lookup('keyturn.aws.totp', 'acct/seed', store=missing_store) }}"
      ignore_errors: true
    - name: totp with an empty period=
      ansible.builtin.set_fact:
        code: "{{ lookup('keyturn.aws.totp', seed=empty_period_uri) }}"
      ignore_errors: true
    - name: totp with an all-zero seed
      ansible.builtin.set_fact:
        code: "{{ lookup('keyturn.aws.totp', seed=zero_seed) }}"
      ignore_errors: true
    - name: credential with an empty endpoint_url
      ansible.builtin.set_fact:
        cred: "{{ lookup('keyturn.aws.credential', 'acct/victim', store={'type': 'ssm'}, endpoint_url='', region='us-east-1') }}"
      ignore_errors: true
"""
LOOKUP_CASES = {
    "totp with a misspelt option": "unknown option(s) min_remainig; accepted:",
    "credential with a misspelt option": "unknown option(s) regoin; accepted:",
    "credential with a bad store type": "invalid store type 'vaultx'; accepted: file, secretsmanager, ssm",
    "totp with a bad store type": "invalid store type 'vaultx'; accepted: file, secretsmanager, ssm",
    "credential from a missing store file": "missing.vault.yml does not exist: check store.path",
    "totp from a missing store file": "missing.vault.yml does not exist: check store.path",
    "totp with an empty period=": "empty period= parameter",
    "totp with an all-zero seed": "the TOTP seed is degenerate",
    "credential with an empty endpoint_url": "endpoint_url is empty",
}


def test_issue18_lookups_refuse_bad_input(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    estate.user("victim")
    estate.rotate(["victim"])
    data = issue18_vars(runner, estate)
    data["missing_store"] = {"type": "file", "path": os.path.join(runner.tmp, "missing.vault.yml")}
    ledger = os.path.join(runner.tmp, "totp-ledger.json")
    result = runner.playbook(LOOKUPS, data)
    assert result.rc == 0, result.stderr[-2000:]
    for name, expected in LOOKUP_CASES.items():
        task = result.task(name)
        assert task.get("failed") is True, (name, task)
        assert expected in task["msg"], (name, task["msg"])
        assert "Traceback" not in task["msg"] and "region is required" not in task["msg"], (name, task["msg"])
    output = result.stdout + result.stderr
    assert data["good_seed"] not in output and "no TOTP seed is stored" not in output
    assert not os.path.exists(ledger) and not os.path.exists(data["missing_store"]["path"])  # no code handed out
    record_counts(bad_inputs_rejected_with_nothing_changed=len(LOOKUP_CASES))


def test_region_config_writes_through_links_and_only_files_botocore_reads(runner):
    """A config_file that is a symbolic link stays a link (its target is updated); a file botocore
    could not parse afterwards (a duplicate section) is left exactly as it was."""
    os.makedirs(os.path.join(runner.tmp, "dotfiles"))
    target = os.path.join(runner.tmp, "dotfiles", "aws-config")
    with open(target, "w", encoding="utf-8") as handle:
        handle.write("[default]\nregion = eu-west-1\n")
    link = os.path.join(runner.tmp, "config")
    os.symlink(target, link)
    broken = os.path.join(runner.tmp, "broken-config")
    broken_text = "[profile keyturn-cn-north-1]\nregion = eu-west-1\n\n[profile keyturn-cn-north-1]\noutput = json\n"
    with open(broken, "w", encoding="utf-8") as handle:
        handle.write(broken_text)
    play = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: through a link
      keyturn.aws.region_config:
        region: cn-north-1
        config_file: "{{ link }}"
    - name: duplicate section
      keyturn.aws.region_config:
        region: cn-north-1
        config_file: "{{ broken }}"
      ignore_errors: true
"""
    result = runner.playbook(play, {"link": link, "broken": broken})
    assert result.rc == 0, result.stderr[-2000:]
    assert result.task("through a link")["changed"] is True
    assert os.path.islink(link) and os.readlink(link) == target
    profiles = botocore.configloader.build_profile_map(botocore.configloader.raw_config_parse(target))["profiles"]
    assert profiles["keyturn-cn-north-1"]["region"] == "cn-north-1" and profiles["default"]["region"] == "eu-west-1"
    failed = result.task("duplicate section")
    assert failed["failed"] is True and "botocore could not parse the result" in failed["msg"]
    with open(broken, encoding="utf-8") as handle:
        assert handle.read() == broken_text
    record_counts(bad_inputs_rejected_with_nothing_changed=1)
