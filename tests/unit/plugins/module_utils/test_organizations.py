# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate engine: discover an Organization (moto, paginated calls) and select hosts and groups."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from ansible_collections.keyturn.aws.plugins.module_utils._connection import AwsConnection, ConnectionParams
from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._organizations import discover, safe_hostname, select


def data(region="us-east-1"):
    ous = {
        "r-ab12": {"id": "r-ab12", "name": "Root", "path": "Root", "parent": None, "ancestors": ["r-ab12"]},
        "ou-ab12-prod0001": {"id": "ou-ab12-prod0001", "name": "Prod", "path": "Root/Prod", "parent": "r-ab12",
                             "ancestors": ["r-ab12", "ou-ab12-prod0001"]},
        "ou-ab12-web00001": {"id": "ou-ab12-web00001", "name": "Web", "path": "Root/Prod/Web", "parent": "ou-ab12-prod0001",
                             "ancestors": ["r-ab12", "ou-ab12-prod0001", "ou-ab12-web00001"]},
    }
    accounts = [
        {"id": "111111111111", "name": "management", "status": "ACTIVE", "parent": "r-ab12", "tags": {}},
        {"id": "222222222222", "name": "prod api", "status": "ACTIVE", "parent": "ou-ab12-prod0001", "tags": {"team": "pay"}},
        {"id": "333333333333", "name": "prod-web", "status": "ACTIVE", "parent": "ou-ab12-web00001", "tags": {"team": "web"}},
        {"id": "444444444444", "name": "prod-web", "status": "ACTIVE", "parent": "ou-ab12-web00001", "tags": {}},
        {"id": "555555555555", "name": "closed", "status": "SUSPENDED", "parent": "r-ab12", "tags": {}},
    ]
    return {"caller_account": "111111111111", "management_account": "111111111111", "organization_id": "o-x",
            "region": region, "partition": "aws", "ous": ous, "accounts": accounts}


def test_hosts_vars_groups_and_name_collisions():
    found = select(data(), {})
    assert sorted(found["hosts"]) == ["management", "prod-web_333333333333", "prod-web_444444444444", "prod_api"]
    api = found["hosts"]["prod_api"]
    assert api["keyturn_assume_role"] == {"role_arn": "arn:aws:iam::222222222222:role/OrganizationAccountAccessRole",
                                          "session_name": "keyturn-aws"}
    assert api["keyturn_ou_path"] == "Root/Prod" and api["keyturn_account_tags"] == {"team": "pay"}
    assert "keyturn_assume_role" not in found["hosts"]["management"]
    assert found["groups"]["ou_prod"] == {"hosts": ["prod_api"], "children": ["ou_prod_web"]}
    assert sorted(found["groups"]["ou_prod_web"]["hosts"]) == ["prod-web_333333333333", "prod-web_444444444444"]
    assert len(found["groups"]["partition_aws"]["hosts"]) == 4


def test_partition_built_arns_and_filters():
    found = select(data("us-gov-west-1"), {"hostnames": "id", "organizational_units": ["ou-ab12-prod0001"],
                                           "account_tags": {"team": "*"}, "exclude_accounts": ["prod-w?b"],
                                           "role_name": "/audit/Rotator/", "external_id": "x-1"})
    assert list(found["hosts"]) == ["222222222222"]
    role = found["hosts"]["222222222222"]["keyturn_assume_role"]
    assert role["role_arn"] == "arn:aws-us-gov:iam::222222222222:role/audit/Rotator" and role["external_id"] == "x-1"
    assert "partition_aws_us_gov" in found["groups"]
    assert "management" not in select(data(), {"include_management_account": False, "include_accounts": ["*"]})["hosts"]


@pytest.mark.parametrize("options, message", [
    ({"organizational_units": ["ou-ab12-nothere1"]}, "ou-ab12-nothere1 is not in organization o-x"),
    ({"organizational_units": ["Prod"]}, "'Prod' is not an OU id"),
    ({"hostnames": "email"}, "hostnames must be one of name, id"),
    ({"account_tags": ["team"]}, "account_tags must be a dict"),
    ({"include_accounts": [{"id": 1}]}, "include_accounts must be a list of strings"),
])
def test_bad_input(options, message):
    with pytest.raises(ValidationError, match=message):
        select(data(), options)


def test_safe_hostname():
    assert safe_hostname("Prod / API (eu)") == "Prod_API_eu" and safe_hostname("***") == "account"


@mock_aws
def test_discover_walks_the_organization():
    org = boto3.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    ou = org.create_organizational_unit(ParentId=root, Name="Prod")["OrganizationalUnit"]["Id"]
    child = org.create_organizational_unit(ParentId=ou, Name="Web")["OrganizationalUnit"]["Id"]
    account = org.create_account(AccountName="web", Email="w@example.com", Tags=[{"Key": "team", "Value": "web"}])
    account_id = account["CreateAccountStatus"]["AccountId"]
    org.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=child)
    found = discover(AwsConnection(ConnectionParams(access_key="AKIAIOSFODNN7EXAMPLE", secret_key="x" * 40, region="us-east-1")))
    web = next(a for a in found["accounts"] if a["id"] == account_id)
    assert web["tags"] == {"team": "web"} and found["ous"][web["parent"]]["path"] == "Root/Prod/Web"
    assert found["management_account"] == found["caller_account"]
