# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""user_filter: validation, and selection against IAM (moto, paginated)."""

from __future__ import annotations

import types

import boto3
import pytest
from moto import mock_aws

from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._user_filter import (
    check_selection_input, parse_user_filter, resolve_users)


def test_parse_normalizes():
    assert parse_user_filter({"tags": {"a": None}, "groups": ["g"]}) == {
        "path_prefix": "/", "tags": {"a": "*"}, "groups": ["g"], "exclude_groups": [], "exclude_tags": {}}
    assert parse_user_filter(None) is None


@pytest.mark.parametrize("value, message", [
    ({"tag": {}}, r"user_filter has unknown keys \['tag'\]; accepted: path_prefix, tags, groups"),
    ("team", "user_filter must be a dict"),
    ({"groups": "admins"}, "user_filter.groups must be a list of IAM group names"),
    ({"tags": ["a"]}, "user_filter.tags must be a dict"),
    ({"exclude_tags": {"a": ["b"]}}, "user_filter.exclude_tags.a must be a string"),
    ({"path_prefix": "apps"}, "path_prefix must be an IAM path starting with '/'"),
])
def test_bad_filters(value, message):
    with pytest.raises(ValidationError, match=message):
        parse_user_filter(value)


def test_users_or_filter_required():
    with pytest.raises(ValidationError, match="give users"):
        check_selection_input({"users": None, "user_filter": None})
    assert check_selection_input({"users": None, "user_filter": {}})["path_prefix"] == "/"


@mock_aws
def test_selection_is_paginated_and_unions_listed_users():
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_group(GroupName="exempt")
    for index in range(130):  # more than one page of ListUsers (100)
        iam.create_user(UserName=f"u{index:03d}", Path="/apps/", Tags=[{"Key": "keyturn", "Value": "yes" if index % 2 else "no"}])
    iam.add_user_to_group(GroupName="exempt", UserName="u001")
    iam.create_user(UserName="outside", Path="/people/", Tags=[{"Key": "keyturn", "Value": "yes"}])
    task = types.SimpleNamespace(conn=types.SimpleNamespace(client=lambda service: iam), account_id="123456789012",
                                 map=lambda fn, items: [fn(i) for i in items])
    spec = parse_user_filter({"path_prefix": "/apps/", "tags": {"keyturn": "yes"}, "exclude_groups": ["exempt"]})
    users, selection = resolve_users(task, {"users": [{"name": "outside", "max_age_days": 30}, "u003"]}, spec)
    assert selection["excluded"] == {"u001": "member of excluded group exempt"}
    assert len(selection["matched"]) == 64 and "u129" in selection["matched"] and "u000" not in selection["matched"]
    assert users[0] == {"name": "outside", "max_age_days": 30} and users.count("u003") == 1
    assert len(users) == 65 and selection["users"][:2] == ["outside", "u003"]
    with pytest.raises(ValidationError, match="IAM group nope does not exist"):
        resolve_users(task, {}, parse_user_filter({"groups": ["nope"]}))
