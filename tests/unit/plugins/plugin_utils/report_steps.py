# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registered results of the rotate_access_keys role's steps, shared by the run report's tests."""

from __future__ import annotations

import json
import typing as t

from ansible_collections.keyturn.aws.plugins.plugin_utils import _report_html, _report_schema

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # 40 characters, the shape of a secret access key
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLE-session-token-value//////////"
EXTERNAL_ID = "external-id-that-is-confidential"
NOW = "2026-05-01T12:00:00Z"


def key(key_id: str, age: float, status: str = "Active", **extra: t.Any) -> t.Dict[str, t.Any]:
    return {"access_key_id": key_id, "status": status, "created": "2026-01-01T00:00:00Z", "age_days": age, **extra}


def item(target: t.Mapping[str, t.Any], **result: t.Any) -> t.Dict[str, t.Any]:
    """One loop item of a registered result, with the target as the loop variable."""
    return {"ansible_loop_var": "__rotate_access_keys_target", "__rotate_access_keys_target": dict(target),
            "changed": False, **result}


PROD = {"name": "production", "account_id": "111111111111", "region": "us-east-1",
        "users": ["ci-deployer", {"name": "backup-agent", "max_age_days": 30}, "legacy"],
        "aws": {"access_key": "AKIAADMIN00000000001", "secret_key": SECRET, "session_token": SESSION_TOKEN}}
CHINA = {"name": "china", "account_id": "222222222222", "region": "cn-north-1", "users": ["cn-app"],
         "assume_role": {"role_arn": "arn:aws-cn:iam::222222222222:role/keyturn", "external_id": EXTERNAL_ID}}


def rotation_steps() -> t.Dict[str, t.Any]:
    return {
        "verify_before": {"results": [
            item(PROD, users=[{"user_name": "ci-deployer", "status": "valid", "valid": True,
                               "access_key_id": "AKIAOLD0000000000001", "key_age_days": 95.2}]),
            item(CHINA, users=[{"user_name": "cn-app", "status": "missing", "valid": False}]),
        ]},
        "rotate": {"results": [
            item(PROD, changed=True, failed=True, users=[
                {"user_name": "ci-deployer", "action": "rotated", "reason": "the key is 95 days old",
                 "old_key_id": "AKIAOLD0000000000001", "new_key_id": "AKIANEW0000000000001",
                 "plan": ["create a new access key"], "secret_access_key": SECRET},
                {"user_name": "backup-agent", "action": "skipped", "reason": "the key is 20 days old"},
                {"user_name": "legacy", "action": "failed",
                 "reason": f"user legacy has an unknown Active key; leaked {SECRET} here"},
            ]),
            item(CHINA, failed=True, msg="could not assume arn:aws-cn:iam::222222222222:role/keyturn: AccessDenied"),
        ]},
        "verify_after": {"results": [
            item(PROD, users=[
                {"user_name": "ci-deployer", "status": "valid", "valid": True, "access_key_id": "AKIANEW0000000000001",
                 "key_age_days": 0.0, "drift": [], "store_name": "111111111111/ci-deployer"},
                {"user_name": "backup-agent", "status": "valid", "valid": True, "access_key_id": "AKIABACKUP0000000001",
                 "key_age_days": 20.0, "drift": []},
                {"user_name": "legacy", "status": "missing", "valid": False, "reason": "no stored credential",
                 "drift": ["key AKIALEGACY0000000001 (Active) is not in the store"]},
            ]),
            item(CHINA, failed=True, msg="could not assume the role"),
        ]},
        "info": {"results": [
            item(PROD, users=[
                {"user_name": "ci-deployer", "keys": [key("AKIANEW0000000000001", 0.0, managed=True,
                                                          last_used={"date": "2026-04-30T10:00:00Z", "service": "sts",
                                                                     "region": "us-east-1"},
                                                          secret_access_key=SECRET)]},
                {"user_name": "backup-agent", "keys": [key("AKIABACKUP0000000001", 20.0, managed=True),
                                                       key("AKIABACKUPOLD0000001", 45.0, "Inactive", managed=True)]},
                {"user_name": "legacy", "keys": [key("AKIALEGACY0000000001", 130.4, managed=False,
                                                     last_used={"date": None, "service": None, "region": None})]},
            ]),
            item(CHINA, failed=True, msg="could not assume the role"),
        ]},
    }


def users_of(report: t.Mapping[str, t.Any]) -> t.Dict[str, t.Dict[str, t.Any]]:
    return {u["user_name"]: u for target in report["targets"] for u in target["users"]}


def all_text(report: t.Mapping[str, t.Any]) -> str:
    return json.dumps(report) + _report_schema.render_json(report) + _report_html.render_html(report)
