# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The identical-permissions check of dual pairs."""

from __future__ import annotations

import json
import urllib.parse

import boto3
import pytest
from moto import mock_aws

from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._permissions import (
    UserPermissions,
    compare,
    parse_policy_document,
    summary,
    user_permissions,
)

READ = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]}
WRITE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": "*"}]}


@pytest.fixture
def iam(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        client = boto3.client("iam", region_name="us-east-1")
        client.create_group(GroupName="readers")
        arn = client.create_policy(PolicyName="managed-read", PolicyDocument=json.dumps(READ))["Policy"]["Arn"]
        for user in ("one", "two"):
            client.create_user(UserName=user)
            client.add_user_to_group(GroupName="readers", UserName=user)
            client.attach_user_policy(UserName=user, PolicyArn=arn)
            client.put_user_policy(UserName=user, PolicyName="inline", PolicyDocument=json.dumps(READ))
        yield client


def diff(iam):
    return compare(user_permissions(iam, "one"), user_permissions(iam, "two"))


def test_identical_users(iam):
    first = user_permissions(iam, "one")
    assert first.groups == ("readers",)
    assert first.managed_policies == ("arn:aws:iam::123456789012:policy/managed-read",)
    assert first.inline_policies == {"inline": READ}
    assert first.permissions_boundary is None
    assert diff(iam) == []
    assert summary(first) == {"groups": ["readers"], "managed_policies": list(first.managed_policies),
                              "inline_policies": ["inline"], "permissions_boundary": None}


def test_same_document_written_differently_is_identical(iam):
    iam.put_user_policy(UserName="two", PolicyName="inline", PolicyDocument=json.dumps(READ, indent=4, sort_keys=True))
    assert diff(iam) == []


def test_inline_document_differs(iam):
    iam.put_user_policy(UserName="two", PolicyName="inline", PolicyDocument=json.dumps(WRITE))
    [text] = diff(iam)
    assert text.startswith("inline policy inline differs between one and two")
    assert 'Statement[0].Action[0]: "s3:GetObject" vs "s3:PutObject"' in text


def test_inline_policy_only_on_one(iam):
    iam.put_user_policy(UserName="one", PolicyName="extra", PolicyDocument=json.dumps(WRITE))
    assert diff(iam) == ["inline policy extra applies to one only"]


def test_group_and_managed_policy_differ(iam):
    iam.create_group(GroupName="admins")
    iam.add_user_to_group(GroupName="admins", UserName="two")
    arn = iam.create_policy(PolicyName="managed-write", PolicyDocument=json.dumps(WRITE))["Policy"]["Arn"]
    iam.attach_user_policy(UserName="one", PolicyArn=arn)
    assert diff(iam) == ["group admins applies to two only", f"managed policy {arn} applies to one only"]


def test_missing_user_is_named(iam):
    with pytest.raises(ValidationError, match="IAM user ghost does not exist"):
        user_permissions(iam, "ghost")


def test_permissions_boundary_differs():
    boundary = "arn:aws:iam::123456789012:policy/boundary"
    one = UserPermissions("one", permissions_boundary=boundary)
    two = UserPermissions("two")
    assert compare(one, two) == [f"permissions boundary differs: one has {boundary}, two has none"]
    assert compare(one, UserPermissions("two", permissions_boundary=boundary)) == []


def test_boundary_read_from_get_user():
    class FakeIam:
        def get_user(self, UserName):
            return {"User": {"UserName": UserName, "Arn": f"arn:aws:iam::123456789012:user/{UserName}",
                             "PermissionsBoundary": {"PermissionsBoundaryType": "Policy",
                                                     "PermissionsBoundaryArn": "arn:aws:iam::aws:policy/Boundary"}}}

        def get_paginator(self, operation):
            key = {"list_groups_for_user": "Groups", "list_attached_user_policies": "AttachedPolicies",
                   "list_user_policies": "PolicyNames"}[operation]
            names = ["raw"] if key == "PolicyNames" else []

            class Pages:
                def paginate(self, **kwargs):
                    return [{key: names}]
            return Pages()

        def get_user_policy(self, UserName, PolicyName):
            return {"PolicyDocument": urllib.parse.quote(json.dumps(READ))}  # as IAM sends it on the wire

    perms = user_permissions(FakeIam(), "one")
    assert perms.permissions_boundary == "arn:aws:iam::aws:policy/Boundary"
    assert perms.inline_policies == {"raw": READ}


def test_parse_policy_document():
    assert parse_policy_document(READ) is READ
    assert parse_policy_document(json.dumps(READ)) == READ
    assert parse_policy_document(urllib.parse.quote(json.dumps(READ))) == READ
    with pytest.raises(ValidationError, match="not valid JSON"):
        parse_policy_document("%7Bnot json")


def test_nested_difference_paths():
    left = UserPermissions("one", inline_policies={"p": {"Statement": [{"Condition": {"Bool": {"x": "true"}}}]}})
    right = UserPermissions("two", inline_policies={"p": {"Statement": [{"Condition": {"Bool": {"x": "false"}}}]}})
    [text] = compare(left, right)
    assert 'Statement[0].Condition.Bool.x: "true" vs "false"' in text
    extra = UserPermissions("two", inline_policies={"p": {"Statement": [{"Condition": {}}], "Id": "x"}})
    assert "Id is only in one document" in compare(left, extra)[0]
