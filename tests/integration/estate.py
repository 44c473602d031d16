# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper: an account on awsmock with users, a store, and ansible-playbook runs of the key modules."""

from __future__ import annotations

import json
import os

import botocore.exceptions

from stores import StoreUnderTest, aws_client

PLAY_HEAD = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/keyturn.aws.aws:
      endpoint_url: "{{ endpoint }}"
      region: "{{ region }}"
      access_key: "{{ task_creds.access_key_id }}"
      secret_key: "{{ task_creds.secret_access_key }}"
  tasks:
"""

ROTATE = PLAY_HEAD + """
    - name: rotate
      keyturn.aws.access_key_rotate:
        users: "{{ users }}"
        store: "{{ store }}"
        audit_log: "{{ audit_log }}"
        self_rotate: "{{ self_rotate | default(false) }}"
        verify_timeout: "{{ verify_timeout | default(30) }}"
        verify_successes: 2
        unmanaged_keys: "{{ unmanaged | default('fail') }}"
        force: "{{ force | default(false) }}"
      register: rotation
      ignore_errors: true
"""


def authenticates(url, key_id, secret, region="us-east-1"):
    try:
        return aws_client(url, {"access_key_id": key_id, "secret_access_key": secret}, "sts", region).get_caller_identity()
    except botocore.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] in ("InvalidClientTokenId", "SignatureDoesNotMatch")
        return None


class Estate:
    def __init__(self, runner, awsmock, account_id, store_kind="file", region="us-east-1", partition="aws"):
        self.runner, self.mock, self.region = runner, awsmock, region
        self.admin = awsmock.bootstrap(account_id, partition)
        self.account_id = account_id
        self.iam = aws_client(awsmock.url, self.admin, "iam", region)
        self.store = StoreUnderTest(store_kind, runner.tmp, awsmock.url, self.admin, region)
        self.audit_log = os.path.join(runner.tmp, "audit.jsonl")

    def user(self, name, policy=None):
        self.iam.create_user(UserName=name)
        if policy:
            self.iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
        return name

    def vars(self, task_creds=None, **extra):
        return {"endpoint": self.mock.url, "region": self.region, "task_creds": task_creds or self.admin,
                "store": self.store.option, "audit_log": self.audit_log, **extra}

    def rotate(self, users, check=False, diff=False, task_creds=None, verbosity=0, json_output=True, **extra):
        data = self.vars(task_creds, users=users, **extra)
        return self.runner.playbook(ROTATE, data, check=check, diff=diff, verbosity=verbosity, json_output=json_output)

    def play(self, tasks, check=False, task_creds=None, **extra):
        """Run ``tasks`` (YAML text, indented 4) with the connection set through module_defaults."""
        return self.runner.playbook(PLAY_HEAD + tasks, self.vars(task_creds, **extra), check=check)

    def keys(self, user):
        return {k["AccessKeyId"]: k["Status"] for k in self.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}

    def name(self, user):
        return f"{self.account_id}/{user}"


def by_user(result, task="rotate"):
    return {r["user_name"]: r for r in result.task(task)["users"]}
