# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper for the credential posture: accounts on awsmock with the users the CIS controls tell apart.

Per account: ``old-key`` (one managed key, 120 days old), ``two-keys`` (a managed current key and a second,
unmanaged Active key), ``idle`` (an unmanaged key last used 60 days ago), ``clean`` (a managed key of 10 days,
used today); a store record ``gone`` whose user no longer exists; root with a virtual MFA device.
"""

from __future__ import annotations

import json
import os
import typing as t

from rotate_fleet import Account, new_account_id
from stores import StoreUnderTest

USERS = ("old-key", "two-keys", "idle", "clean")


class PostureEstate:
    def __init__(self, runner: t.Any, awsmock: t.Any, account_id: str, partitions: t.Sequence[str] = ("aws",),
                 member: bool = False) -> None:
        self.runner, self.mock = runner, awsmock
        self.main = Account(awsmock, account_id, "aws", "us-east-1")
        self.accounts: t.Dict[str, Account] = {"main": self.main}
        if "aws-us-gov" in partitions:
            self.accounts["govcloud"] = Account(awsmock, new_account_id(), "aws-us-gov", "us-gov-west-1")
        self.role_arn: t.Optional[str] = None
        if member:
            self.accounts["member"] = Account(awsmock, new_account_id(), "aws", "us-west-2")
            self.role_arn = self.accounts["member"].role("keyturn-audit")
        self.store = StoreUnderTest("file", runner.tmp, awsmock.url, self.main.admin)
        self.report_dir = os.path.join(runner.tmp, "reports")
        self.audit_log = os.path.join(runner.tmp, "audit.jsonl")
        self.issued: t.List[str] = [a.admin["secret_access_key"] for a in self.accounts.values()]
        self.ids: t.Dict[str, t.Dict[str, str]] = {}
        for name, account in self.accounts.items():
            self.ids[name] = self._populate(account)

    def _key(self, account: Account, user: str, age: float, used: t.Optional[float], managed: bool) -> str:
        new = account.iam.create_access_key(UserName=user)["AccessKey"]
        self.issued.append(new["SecretAccessKey"])
        self.mock.age_key(new["AccessKeyId"], age)
        self.mock.set_last_used(new["AccessKeyId"], used, service="s3", region=account.region)
        if managed:
            record = {"kind": "iam_user_key", "access_key_id": new["AccessKeyId"],
                      "secret_access_key": new["SecretAccessKey"], "user_name": user, "account_id": account.account_id,
                      "partition": account.partition}
            self.store.store.write_current(f"{account.account_id}/{user}", record, keep_previous=False)
        return str(new["AccessKeyId"])

    def _populate(self, account: Account) -> t.Dict[str, str]:
        for user in USERS:
            account.user(user)
        ids = {
            "old-key": self._key(account, "old-key", 120, 1, True),
            "two-keys/current": self._key(account, "two-keys", 20, 0.5, True),
            "two-keys/extra": self._key(account, "two-keys", 30, 2, False),
            "idle": self._key(account, "idle", 70, 60, False),
            "clean": self._key(account, "clean", 10, 0.1, True),
        }
        gone = {"kind": "iam_user_key", "access_key_id": "AKIAGONEGONEGONEGONE", "secret_access_key": "x" * 40,
                "user_name": "gone", "account_id": account.account_id}
        self.issued.append(gone["secret_access_key"])
        self.store.store.write_current(f"{account.account_id}/gone", gone, keep_previous=False)
        self.mock.set_root(account.account_id, account.partition, mfa="virtual", access_keys=False)
        return ids

    def creds(self) -> t.Dict[str, t.Any]:
        return {"endpoint_url": self.mock.url, **self.main.creds()}

    def targets(self) -> t.List[t.Dict[str, t.Any]]:
        out = []
        for name, account in self.accounts.items():
            target: t.Dict[str, t.Any] = {"name": name, "account_id": account.account_id, "region": account.region}
            if name == "member":
                target["assume_role"] = {"role_arn": self.role_arn, "session_name": "keyturn-audit"}
            elif name != "main":
                target["aws"] = account.creds()
            out.append(target)
        return out

    def variables(self, **extra: t.Any) -> t.Dict[str, t.Any]:
        return {
            "audit_credentials_targets": self.targets(),
            "audit_credentials_store": self.store.option,
            "audit_credentials_aws": self.creds(),
            "audit_credentials_report_dir": self.report_dir,
            "audit_credentials_audit_log": self.audit_log,
            **extra,
        }

    def statuses(self) -> t.Dict[str, t.Dict[str, str]]:
        """Account name -> ``user/key id`` -> status, for every test user's key."""
        out: t.Dict[str, t.Dict[str, str]] = {}
        for name, account in self.accounts.items():
            out[name] = {f"{user}/{key}": status for user in USERS for key, status in account.keys(user).items()}
        return out

    def report(self, name: str = "posture") -> t.Dict[str, t.Any]:
        with open(os.path.join(self.report_dir, name + ".json"), encoding="utf-8") as handle:
            return t.cast(t.Dict[str, t.Any], json.load(handle))

    def texts(self) -> t.List[str]:
        """Every file the runs wrote (reports, audit log)."""
        found = []
        for folder in (self.report_dir,):
            for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
                with open(os.path.join(folder, name), encoding="utf-8") as handle:
                    found.append(handle.read())
        if os.path.exists(self.audit_log):
            with open(self.audit_log, encoding="utf-8") as handle:
                found.append(handle.read())
        return found

    def assert_no_secret(self, *texts: str) -> int:
        assert len(self.issued) >= 6
        checked = 0
        for text in list(texts) + self.texts():
            for secret in self.issued:
                assert secret not in text
                checked += 1
        return checked
