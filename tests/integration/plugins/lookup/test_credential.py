# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keyturn.aws.credential through real ansible-playbook against awsmock (auth enforced)."""

from __future__ import annotations

import hashlib
import sys

import pytest

from stores import StoreUnderTest, aws_client

FIELDS = ("access_key_id", "secret_access_key", "user_name", "account_id", "partition")

PLAY = """
- hosts: localhost
  gather_facts: false
  vars:
    store_option: "{{ store }}"
  tasks:
    - name: user
      ansible.builtin.debug:
        msg: "{{ cred | dict2items | rejectattr('key', 'eq', 'secret_access_key') | items2dict
                 | combine({'secret_sha256': cred.secret_access_key | hash('sha256'), 'keys': cred.keys() | sort}) }}"
      vars:
        cred: "{{ lookup('keyturn.aws.credential', user_name, store=store_option) }}"
    - name: pairs
      ansible.builtin.debug:
        msg: "{{ query('keyturn.aws.credential', 'pairs/one', 'pairs/two', store=store_option)
                 | map(attribute='user_name') | list }}"
    - name: sts as the active member
      ansible.builtin.command: >-
        {{ python }} -c "import boto3; print(boto3.client('sts', endpoint_url='{{ endpoint }}',
        region_name='us-east-1').get_caller_identity()['Arn'])"
      environment:
        AWS_ACCESS_KEY_ID: "{{ cred.access_key_id }}"
        AWS_SECRET_ACCESS_KEY: "{{ cred.secret_access_key }}"
      vars:
        cred: "{{ lookup('keyturn.aws.credential', 'pairs/two', store=store_option) }}"
      changed_when: false
      no_log: true
      register: sts
    - name: sts result
      ansible.builtin.debug:
        msg: "{{ sts.stdout }}"
    - name: missing
      ansible.builtin.debug:
        msg: "{{ lookup('keyturn.aws.credential', 'nobody/here', store=store_option) }}"
      ignore_errors: true
    - name: not a credential
      ansible.builtin.debug:
        msg: "{{ lookup('keyturn.aws.credential', 'seeds/root', store=store_option) }}"
      ignore_errors: true
    - name: broken pair
      ansible.builtin.debug:
        msg: "{{ lookup('keyturn.aws.credential', 'pairs/broken', store=store_option) }}"
      ignore_errors: true
    - name: no store
      ansible.builtin.debug:
        msg: "{{ lookup('keyturn.aws.credential', user_name) }}"
      ignore_errors: true
"""


def make_estate(awsmock, account_id, admin, store):
    iam = aws_client(awsmock.url, admin, "iam")
    secrets = {}
    for user in ("solo", "member-a", "member-b"):
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        secrets[user] = key["SecretAccessKey"]
        store.store.write_current(f"{account_id}/{user}", {
            "kind": "iam_user_key", "access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"],
            "user_name": user, "account_id": account_id, "partition": "aws", "arn": f"arn:aws:iam::{account_id}:user/{user}"})
    names = {u: f"{account_id}/{u}" for u in ("member-a", "member-b")}
    for pair, active in (("pairs/one", "member-a"), ("pairs/two", "member-b")):
        store.store.write_current(pair, {"kind": "dual_pair", "users": ["member-a", "member-b"], "active": active,
                                         "swapped_at": None, "member_names": names, "account_id": account_id,
                                         "partition": "aws"})
    store.store.write_current("pairs/broken", {"kind": "dual_pair", "users": ["member-a", "gone"], "active": "gone",
                                               "member_names": {"member-a": names["member-a"], "gone": f"{account_id}/gone"}})
    store.store.write_current("seeds/root", {"kind": "totp_seed", "seed": "JBSWY3DPEHPK3PXP"})
    return secrets


@pytest.mark.parametrize("store_kind", ["file", "secretsmanager", "ssm"])
def test_credential_lookup(runner, awsmock, account_id, store_kind):
    admin = awsmock.bootstrap(account_id)
    store = StoreUnderTest(store_kind, runner.tmp, awsmock.url, admin)
    secrets = make_estate(awsmock, account_id, admin, store)
    # an AWS store is reached with the connection options, here from the environment
    env = {"AWS_ENDPOINT_URL": awsmock.url, "AWS_ACCESS_KEY_ID": admin["access_key_id"],
           "AWS_SECRET_ACCESS_KEY": admin["secret_access_key"], "AWS_REGION": "us-east-1"}
    result = runner.playbook(PLAY, {"store": store.option, "user_name": f"{account_id}/solo", "endpoint": awsmock.url,
                                    "python": sys.executable}, env=env)
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]

    user = result.task("user")["msg"]
    assert user["keys"] == sorted(FIELDS)
    assert user["user_name"] == "solo" and user["account_id"] == account_id and user["partition"] == "aws"
    assert user["secret_sha256"] == hashlib.sha256(secrets["solo"].encode()).hexdigest()

    # a pair returns its active member
    assert result.task("pairs")["msg"] == ["member-a", "member-b"]
    assert result.task("sts result")["msg"] == f"arn:aws:iam::{account_id}:user/member-b"

    assert "no current record named nobody/here" in result.task("missing")["msg"]
    assert "seeds/root" in result.task("not a credential")["msg"]
    assert "not an access-key credential" in result.task("not a credential")["msg"]
    broken = result.task("broken pair")["msg"]
    assert "active member gone of pair pairs/broken" in broken and "has no current record" in broken
    assert "store is required" in result.task("no store")["msg"]

    for secret in list(secrets.values()) + ["JBSWY3DPEHPK3PXP"]:
        assert secret not in result.stdout and secret not in result.stderr


def test_store_from_variables(runner, awsmock, account_id):
    admin = awsmock.bootstrap(account_id)
    store = StoreUnderTest("secretsmanager", runner.tmp, awsmock.url, admin)
    secrets = make_estate(awsmock, account_id, admin, store)
    play = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: active
      ansible.builtin.debug:
        msg: "{{ lookup('keyturn.aws.credential', 'pairs/one').user_name }}"
"""
    result = runner.playbook(play, {"keyturn_aws_store": store.option, "keyturn_aws_endpoint_url": awsmock.url,
                                    "keyturn_aws_region": "us-east-1",
                                    "keyturn_aws_access_key": admin["access_key_id"],
                                    "keyturn_aws_secret_key": admin["secret_access_key"]})
    assert result.task("active")["msg"] == "member-a", result.stdout[-2000:]
    assert secrets["member-a"] not in result.stdout


ONE_LOOKUP = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: one
      ansible.builtin.debug:
        msg: "{{ lookup('keyturn.aws.credential', user_name, store=store_option).user_name }}"
"""


@pytest.mark.parametrize("store_kind, read_call", [("secretsmanager", "secretsmanager:GetSecretValue"),
                                                   ("ssm", "ssm:GetParameter")])
def test_a_lookup_reads_only_the_current_stage(runner, awsmock, account_id, store_kind, read_call):
    admin = awsmock.bootstrap(account_id)
    store = StoreUnderTest(store_kind, runner.tmp, awsmock.url, admin)
    make_estate(awsmock, account_id, admin, store)
    name = f"{account_id}/solo"
    store.store.write_pending(name, {"kind": "iam_user_key", "access_key_id": "AKIAPENDINGPENDING01",
                                     "secret_access_key": "pending-secret"})  # a stage the lookup does not need
    env = {"AWS_ENDPOINT_URL": awsmock.url, "AWS_ACCESS_KEY_ID": admin["access_key_id"],
           "AWS_SECRET_ACCESS_KEY": admin["secret_access_key"], "AWS_REGION": "us-east-1"}
    awsmock.reset_stats()
    result = runner.playbook(ONE_LOOKUP, {"store_option": store.option, "user_name": name}, env=env)
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.task("one")["msg"] == "solo"
    assert awsmock.stats()["calls"].get(read_call) == 1  # the current stage alone: one call, not one per stage
