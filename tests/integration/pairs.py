# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper: a dual pair of IAM users on awsmock and ansible-playbook runs of dual_account_swap."""

from __future__ import annotations

import json

import botocore.exceptions

from estate import PLAY_HEAD
from stores import StoreUnderTest, aws_client

SWAP = PLAY_HEAD + """
    - name: swap
      keyturn.aws.dual_account_swap:
        pair: "{{ pair }}"
        users: "{{ users }}"
        store: "{{ store }}"
        force: "{{ force | default(false) }}"
        grace_period: "{{ grace | default(3600) }}"
        max_age_days: "{{ max_age | default(90) }}"
        verify_timeout: 30
        audit_log: "{{ audit_log }}"
        lock_timeout: "{{ lock_timeout | default(300) }}"
      register: swap
      ignore_errors: true
    - name: active
      ansible.builtin.debug:
        msg: "{{ cred.user_name }} {{ cred.access_key_id }} {{ cred.account_id }} {{ cred.partition }}"
      vars:
        cred: "{{ lookup('keyturn.aws.credential', pair, store=store, endpoint_url=endpoint, region=region,
                  access_key=task_creds.access_key_id, secret_key=task_creds.secret_access_key) }}"
      when: lookup_active | default(false)
"""

POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]}


def sts_identity(url, key_id, secret, region="us-east-1"):
    """The caller ARN, or the STS error code when the key is refused."""
    try:
        sts = aws_client(url, {"access_key_id": key_id, "secret_access_key": secret}, "sts", region)
        return sts.get_caller_identity()["Arn"]
    except botocore.exceptions.ClientError as exc:
        return exc.response["Error"]["Code"]


class Pair:
    def __init__(self, runner, awsmock, account_id, store_kind="file", users=("app-a", "app-b"), policies=None):
        self.runner, self.mock, self.account_id = runner, awsmock, account_id
        self.region = "us-east-1"
        self.admin = awsmock.bootstrap(account_id)
        self.iam = aws_client(awsmock.url, self.admin, "iam")
        self.store = StoreUnderTest(store_kind, runner.tmp, awsmock.url, self.admin)
        self.users = list(users)
        self.name = "pairs/app"
        self.audit_log = f"{runner.tmp}/audit.jsonl"
        self.iam.create_group(GroupName="readers")
        for index, user in enumerate(self.users):
            self.iam.create_user(UserName=user)
            self.iam.add_user_to_group(GroupName="readers", UserName=user)
            policy = (policies or [POLICY, POLICY])[index]
            self.iam.put_user_policy(UserName=user, PolicyName="read", PolicyDocument=json.dumps(policy))

    def run(self, check=False, diff=False, **extra):
        data = {"endpoint": self.mock.url, "region": self.region, "task_creds": self.admin, "pair": self.name,
                "users": self.users, "store": self.store.option, "audit_log": self.audit_log, **extra}
        return self.runner.playbook(SWAP, data, check=check, diff=diff)

    def member(self, user):
        return self.store.current(f"{self.account_id}/{user}")

    def keys(self):
        return {u: {k["AccessKeyId"]: k["Status"] for k in self.iam.list_access_keys(UserName=u)["AccessKeyMetadata"]}
                for u in self.users}

    def snapshot(self):
        names = [self.name] + [f"{self.account_id}/{u}" for u in self.users]
        return {"store": {n: self.store.read(n) for n in names}, "keys": self.keys()}

    def record(self):
        return self.store.current(self.name)

    def arn(self, user):
        return f"arn:aws:iam::{self.account_id}:user/{user}"

    def active_works(self):
        """The active member's stored key authenticates as the active member."""
        active = self.record()["active"]
        cred = self.member(active)
        assert sts_identity(self.mock.url, cred["access_key_id"], cred["secret_access_key"]) == self.arn(active)
        return active, cred
