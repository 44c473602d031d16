# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input: each case fails with a clear, specific message, no traceback, and changes nothing
in AWS or in the store."""

from __future__ import annotations

import hashlib
import os

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


def bad_input_play():
    tasks = []
    for name, module, args, _expected in CASES:
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
