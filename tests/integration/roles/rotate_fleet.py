# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper for role keyturn.aws.rotate_access_keys: accounts in every partition on awsmock, one shared store,
and runs of the collection's playbooks by FQCN."""

from __future__ import annotations

import json
import os
import re
import typing as t
import uuid

from stores import StoreUnderTest, aws_client

ROOT_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ADMIN_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
TRUST_ANYONE = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})


def new_account_id() -> str:
    return "2" + str(uuid.uuid4().int)[:11]


class Account:
    """One account in one partition, with its bootstrap admin."""

    def __init__(self, awsmock: t.Any, account_id: str, partition: str, region: str) -> None:
        self.mock = awsmock
        self.account_id = account_id
        self.partition = partition
        self.region = region
        self.admin = awsmock.bootstrap(account_id, partition)
        self.iam = aws_client(awsmock.url, self.admin, "iam", region)

    def user(self, name: str) -> str:
        self.iam.create_user(UserName=name)
        return name

    def role(self, name: str) -> str:
        """A role with an inline ``"Action": "*"`` policy (moto does not check trust policies)."""
        arn = self.iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_ANYONE)["Role"]["Arn"]
        self.iam.put_role_policy(RoleName=name, PolicyName="keyturn-rotator", PolicyDocument=ADMIN_POLICY)
        return str(arn)

    def keys(self, user: str) -> t.Dict[str, str]:
        return {k["AccessKeyId"]: k["Status"] for k in self.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}

    def creds(self) -> t.Dict[str, str]:
        return {"access_key": self.admin["access_key_id"], "secret_key": self.admin["secret_access_key"]}


class Fleet:
    """Accounts in aws (one reached through assume_role), aws-cn and aws-us-gov sharing one file store."""

    def __init__(self, runner: t.Any, awsmock: t.Any, account_id: str) -> None:
        self.runner, self.mock = runner, awsmock
        self.main = Account(awsmock, account_id, "aws", "us-east-1")
        self.member = Account(awsmock, new_account_id(), "aws", "us-west-2")
        self.china = Account(awsmock, new_account_id(), "aws-cn", "cn-north-1")
        self.gov = Account(awsmock, new_account_id(), "aws-us-gov", "us-gov-west-1")
        self.role_arn = self.member.role("keyturn-rotator")
        self.store = StoreUnderTest("file", runner.tmp, awsmock.url, self.main.admin)
        self.report_dir = os.path.join(runner.tmp, "reports")
        self.audit_log = os.path.join(runner.tmp, "audit.jsonl")
        self.users: t.Dict[str, t.List[t.Any]] = {}

    def accounts(self) -> t.List[Account]:
        return [self.main, self.member, self.china, self.gov]

    def targets(self, with_users: bool = True) -> t.List[t.Dict[str, t.Any]]:
        targets = [
            {"name": "main", "account_id": self.main.account_id, "region": self.main.region},
            {"name": "member", "account_id": self.member.account_id, "region": self.member.region,
             "assume_role": {"role_arn": self.role_arn, "session_name": "keyturn-test"}},
            {"name": "china", "account_id": self.china.account_id, "region": self.china.region,
             "aws": self.china.creds()},
            {"name": "govcloud", "account_id": self.gov.account_id, "region": self.gov.region,
             "aws": self.gov.creds()},
        ]
        if with_users:
            for target in targets:
                target["users"] = self.users.get(target["name"], [])
        return targets

    def variables(self, with_users: bool = True, **extra: t.Any) -> t.Dict[str, t.Any]:
        return {
            "rotate_access_keys_targets": self.targets(with_users),
            "rotate_access_keys_store": self.store.option,
            "rotate_access_keys_aws": {"endpoint_url": self.mock.url, **self.main.creds()},
            "rotate_access_keys_audit_log": self.audit_log,
            "rotate_access_keys_report_dir": self.report_dir,
            "rotate_access_keys_verify_timeout": 30,
            **extra,
        }

    def play(self, playbook: str, check: bool = False, with_users: bool = True, **extra: t.Any) -> t.Any:
        return self.runner.playbook(playbook, self.variables(with_users, **extra), check=check)

    def report(self, name: str) -> t.Dict[str, t.Any]:
        with open(os.path.join(self.report_dir, name + ".json"), encoding="utf-8") as handle:
            return t.cast(t.Dict[str, t.Any], json.load(handle))

    def runs(self, name: str) -> t.List[str]:
        """The history's file names (without extension) of report ``name``, oldest first."""
        return sorted(f[:-5] for f in os.listdir(self.report_dir)
                      if re.fullmatch(re.escape(name) + r"-\d{8}T\d{6}Z(-plan|-failed)?\.json", f))

    def secrets(self) -> t.List[str]:
        """Every secret the test knows: admins' and the store's."""
        found = [a.admin["secret_access_key"] for a in self.accounts()]
        for target in self.targets():
            for user in target.get("users", []):
                name = user if isinstance(user, str) else user["name"]
                record = self.store.current(f"{target['account_id']}/{name}")
                if record:
                    found.append(record["secret_access_key"])
        return found

    def onboard(self, account: Account, user: str, age_days: t.Optional[float] = None) -> t.Dict[str, t.Any]:
        """A key for ``user`` stored as its current credential (what an earlier rotation leaves)."""
        account.user(user)
        new = account.iam.create_access_key(UserName=user)["AccessKey"]
        record = {"kind": "iam_user_key", "access_key_id": new["AccessKeyId"],
                  "secret_access_key": new["SecretAccessKey"], "user_name": user, "account_id": account.account_id,
                  "partition": account.partition, "arn": f"arn:{account.partition}:iam::{account.account_id}:user/{user}",
                  "created": new["CreateDate"].strftime("%Y-%m-%dT%H:%M:%SZ")}
        self.store.store.write_current(f"{account.account_id}/{user}", record, keep_previous=False)
        if age_days is not None:
            self.mock.age_key(new["AccessKeyId"], age_days)
        return record

    def state(self) -> t.Dict[str, t.Any]:
        """IAM keys and store records (decrypted) of every listed user, to prove nothing changed.

        Not the store file's bytes: every locked write re-encrypts it with a fresh salt."""
        state = {}
        for account, target in zip(self.accounts(), self.targets()):
            for user in target.get("users", []):
                name = user if isinstance(user, str) else user["name"]
                record = f"{account.account_id}/{name}"
                state[record] = (account.keys(name), tuple(self.store.read(record)))
        return state


def users_of(report: t.Mapping[str, t.Any]) -> t.Dict[str, t.Dict[str, t.Any]]:
    """``target name/user name`` -> user entry of a report."""
    return {f"{target['name']}/{user['user_name']}": user for target in report["targets"] for user in target["users"]}


def role_task(result: t.Any, name: str) -> t.Dict[str, t.Any]:
    """The result of the role's task called ``name``."""
    return t.cast(t.Dict[str, t.Any], result.task("keyturn.aws.rotate_access_keys : " + name))


def summary_lines(result: t.Any) -> t.List[str]:
    return t.cast(t.List[str], role_task(result, "Show the run summary")["msg"])
