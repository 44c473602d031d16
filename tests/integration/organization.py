# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper: an AWS Organization on awsmock (a management account, member accounts in OUs, each
member's OrganizationAccountAccessRole given a policy) and real ``ansible-inventory`` runs."""

from __future__ import annotations

import json
import os
import subprocess
import typing as t

from conftest import BIN
from stores import aws_client

ROLE = "OrganizationAccountAccessRole"


class Organization:
    """Management account ``account_id``; ``layout`` maps OU paths ("Production/Web", "" for the root) to
    account names; ``tags`` maps account names to their tags."""

    def __init__(self, awsmock: t.Any, account_id: str, layout: t.Mapping[str, t.Sequence[str]],
                 tags: t.Optional[t.Mapping[str, t.Mapping[str, str]]] = None, region: str = "us-east-1") -> None:
        self.mock, self.region = awsmock, region
        self.admin = awsmock.bootstrap(account_id)
        self.management = account_id
        self.org = aws_client(awsmock.url, self.admin, "organizations", region)
        self.org.create_organization(FeatureSet="ALL")
        self.root = self.org.list_roots()["Roots"][0]["Id"]
        self.ous: t.Dict[str, str] = {"": self.root}
        self.accounts: t.Dict[str, str] = {}  # name -> id
        for path in sorted(layout):
            parent = self._ou(path)
            for name in layout[path]:
                tag_list = [{"Key": k, "Value": v} for k, v in ((tags or {}).get(name) or {}).items()]
                status = self.org.create_account(AccountName=name, Email=f"{name}@example.com", Tags=tag_list)
                account = status["CreateAccountStatus"]["AccountId"]
                self.accounts[name] = account
                if parent != self.root:
                    self.org.move_account(AccountId=account, SourceParentId=self.root, DestinationParentId=parent)
                awsmock.role_policy(account, ROLE)

    def _ou(self, path: str) -> str:
        if path in self.ous:
            return self.ous[path]
        parent_path, _sep, name = path.rpartition("/")
        parent = self._ou(parent_path)
        self.ous[path] = self.org.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"]
        return self.ous[path]

    def member_client(self, name: str, service: str) -> t.Any:
        """A client in member account ``name`` through its OrganizationAccountAccessRole."""
        account = self.accounts[name]
        creds = aws_client(self.mock.url, self.admin, "sts", self.region).assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/{ROLE}", RoleSessionName="keyturn-tests")["Credentials"]
        import boto3
        return boto3.client(service, region_name=self.region, endpoint_url=self.mock.url, aws_access_key_id=creds["AccessKeyId"],
                            aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])

    def inventory_env(self, runner: t.Any) -> t.Dict[str, str]:
        """The environment of an AWX-like run: the management account's keys as AWS_* variables."""
        return runner.env({"AWS_ACCESS_KEY_ID": self.admin["access_key_id"],
                           "AWS_SECRET_ACCESS_KEY": self.admin["secret_access_key"],
                           "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}, json_output=False)

    def inventory_file(self, runner: t.Any, name: str = "estate.keyturn_accounts.yml", **options: t.Any) -> str:
        config = {"plugin": "keyturn.aws.accounts", "region": self.region, "endpoint_url": self.mock.url, **options}
        return runner.write(name, json.dumps(config))

    def inventory(self, runner: t.Any, **options: t.Any) -> subprocess.CompletedProcess:
        path = self.inventory_file(runner, **options)
        return subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", path, "--list"], cwd=runner.tmp,
                              env=self.inventory_env(runner), capture_output=True, text=True, timeout=300, check=False)

    def playbook(self, runner: t.Any, playbook: str, extra_vars: t.Mapping[str, t.Any], *, inventory: t.Optional[str] = None,
                 forks: int = 4, check: bool = False, args: t.Sequence[str] = (), verbosity: int = 0,
                 json_output: bool = True) -> t.Any:
        """ansible-playbook over the Organization's inventory, credentials in the environment (as AWX injects
        them), json callback output."""
        from conftest import PlaybookResult
        import uuid
        inventory = inventory or self.inventory_file(runner)
        vars_path = runner.write(f"vars-{uuid.uuid4().hex[:8]}.json", json.dumps(dict(extra_vars)))
        cmd = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, playbook, "-f", str(forks), "-e", "@" + vars_path,
               "--vault-password-file", runner.vault_password_file]
        if check:
            cmd.append("--check")
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        env = runner.env({"AWS_ACCESS_KEY_ID": self.admin["access_key_id"],
                          "AWS_SECRET_ACCESS_KEY": self.admin["secret_access_key"],
                          "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true"}, json_output=json_output)
        proc = subprocess.run(cmd + list(args), cwd=runner.tmp, env=env, capture_output=True, text=True, timeout=900,
                              check=False)
        data = None
        if json_output:
            try:
                data = json.loads(proc.stdout[proc.stdout.index("{"):])
            except ValueError:
                data = None
        return PlaybookResult(proc.returncode, proc.stdout, proc.stderr, data)

    def user(self, account: str, name: str, tags: t.Optional[t.Mapping[str, str]] = None, key: bool = False) -> t.Optional[str]:
        """An IAM user in member account ``account`` (an account name, or "master"); with ``key``, an access key
        created outside keyturn (its id is returned)."""
        iam = aws_client(self.mock.url, self.admin, "iam", self.region) if account == "master" else self.member_client(account, "iam")
        iam.create_user(UserName=name, Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()])
        if key:
            return str(iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"])
        return None

    def keys(self, account: str, name: str) -> t.Dict[str, str]:
        iam = aws_client(self.mock.url, self.admin, "iam", self.region) if account == "master" else self.member_client(account, "iam")
        return {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]}

    def account_id_of(self, account: str) -> str:
        return self.management if account == "master" else self.accounts[account]
