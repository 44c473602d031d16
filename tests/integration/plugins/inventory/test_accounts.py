# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keyturn.aws.accounts through real ``ansible-inventory`` against an Organization on awsmock (auth enforced)."""

from __future__ import annotations

import json

import pytest

from organization import Organization

LAYOUT = {"": ["sandbox one"], "Production": ["prod-api"], "Production/Web": ["prod-web"], "Staging": ["staging-api"]}
TAGS = {"prod-api": {"keyturn": "managed", "team": "payments"}, "prod-web": {"keyturn": "managed", "team": "web"},
        "staging-api": {"keyturn": "managed", "team": "payments"}}


@pytest.fixture
def organization(awsmock, account_id):
    return Organization(awsmock, account_id, LAYOUT, TAGS)


def plain(value):
    """ansible-inventory marks inventory strings as unsafe (``{"__ansible_unsafe": ...}``); unwrap them."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def listing(org, runner, **options):
    proc = org.inventory(runner, **options)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = plain(json.loads(proc.stdout))
    return data, data["_meta"]["hostvars"]


def members(data, group):
    """Hosts of ``group`` and of its child groups (what a play on the group targets)."""
    found = set(data.get(group, {}).get("hosts", []))
    for child in data.get(group, {}).get("children", []):
        found |= members(data, child)
    return found


def test_every_active_account_with_its_variables_and_groups(organization, runner, awsmock):
    data, hostvars = listing(organization, runner)
    assert set(hostvars) == {"master", "sandbox_one", "prod-api", "prod-web", "staging-api"}
    web = hostvars["prod-web"]
    assert web["keyturn_account_id"] == organization.accounts["prod-web"]
    assert web["keyturn_account_name"] == "prod-web"
    assert web["keyturn_partition"] == "aws" and web["keyturn_region"] == "us-east-1"
    assert web["keyturn_ou_path"] == "Root/Production/Web"
    assert web["keyturn_ou_id"] == organization.ous["Production/Web"]
    assert web["keyturn_account_tags"] == {"keyturn": "managed", "team": "web"}
    assert web["ansible_connection"] == "local"
    assert web["keyturn_assume_role"] == {
        "role_arn": f"arn:aws:iam::{organization.accounts['prod-web']}:role/OrganizationAccountAccessRole",
        "session_name": "keyturn-aws"}
    # the inventory's own (management) account needs no role
    assert hostvars["master"]["keyturn_account_id"] == organization.management
    assert "keyturn_assume_role" not in hostvars["master"] and hostvars["master"]["keyturn_management_account"]
    assert hostvars["sandbox_one"]["keyturn_ou_path"] == "Root"
    assert members(data, "ou_production") == {"prod-api", "prod-web"}
    assert members(data, "ou_production_web") == {"prod-web"}
    assert members(data, "ou_staging") == {"staging-api"}
    assert members(data, "partition_aws") == set(hostvars)


def test_filters_ids_constructed_and_role_options(organization, runner):
    data, hostvars = listing(organization, runner, organizational_units=[organization.ous["Production"]],
                             hostnames="id", role_name="Rotation", role_session_name="estate-run", external_id="ext-1",
                             keyed_groups=[{"key": "keyturn_account_tags.team", "prefix": "team"}],
                             compose={"owner": "keyturn_account_tags.team"})
    ids = {organization.accounts["prod-api"], organization.accounts["prod-web"]}
    assert set(hostvars) == ids
    web = hostvars[organization.accounts["prod-web"]]
    assert web["keyturn_assume_role"] == {
        "role_arn": f"arn:aws:iam::{organization.accounts['prod-web']}:role/Rotation", "session_name": "estate-run",
        "external_id": "ext-1"}
    assert web["owner"] == "web"
    assert members(data, "team_payments") == {organization.accounts["prod-api"]}

    hostvars = listing(organization, runner, account_tags={"team": "pay*"}, exclude_accounts=["staging-*"])[1]
    assert set(hostvars) == {"prod-api"}
    hostvars = listing(organization, runner, include_accounts=["prod-*", organization.accounts["staging-api"]],
                       exclude_accounts=[organization.accounts["prod-web"]])[1]
    assert set(hostvars) == {"prod-api", "staging-api"}
    hostvars = listing(organization, runner, include_management_account=False, organizational_units=[organization.root])[1]
    assert "master" not in hostvars and len(hostvars) == 4


def test_suspended_accounts_are_left_out(organization, runner):
    organization.org.close_account(AccountId=organization.accounts["staging-api"])
    hostvars = listing(organization, runner)[1]
    assert "staging-api" not in hostvars and "prod-api" in hostvars


@pytest.mark.parametrize("options, expected", [
    ({"organizational_units": ["ou-zz99-doesnotexist"]}, "organizational_units: ou-zz99-doesnotexist is not in organization"),
    ({"organizational_units": ["Production"]}, "'Production' is not an OU id"),
    ({"hostnames": "email"}, "hostnames"),
    ({"account_tags": ["team"]}, "account_tags"),
])
def test_bad_input_fails_the_source_clearly(organization, runner, options, expected):
    proc = organization.inventory(runner, **options)
    assert proc.returncode != 0
    assert expected in proc.stderr, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr


def test_refused_credentials_fail_clearly(organization, runner):
    path = organization.inventory_file(runner)
    env = organization.inventory_env(runner)
    env["AWS_SECRET_ACCESS_KEY"] = "x" * 40
    import os
    import subprocess
    from conftest import BIN
    proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", path, "--list"], cwd=runner.tmp, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode != 0
    assert "AWS refused the credentials" in proc.stderr, proc.stderr[-3000:]
    assert "x" * 40 not in proc.stderr + proc.stdout


def test_cache_is_used_until_flushed(organization, runner):
    import os
    import subprocess
    from conftest import BIN
    options = {"cache": True, "cache_plugin": "ansible.builtin.jsonfile",
               "cache_connection": os.path.join(runner.tmp, "inventory-cache")}
    hostvars = listing(organization, runner, **options)[1]
    assert "late-joiner" not in hostvars
    organization.org.create_account(AccountName="late-joiner", Email="late@example.com")
    cached = listing(organization, runner, **options)[1]
    assert set(cached) == set(hostvars), "the cached organization was not used"
    path = organization.inventory_file(runner, **options)
    proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", path, "--list", "--flush-cache"], cwd=runner.tmp,
                          env=organization.inventory_env(runner), capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "late-joiner" in plain(json.loads(proc.stdout))["_meta"]["hostvars"]


def test_inventory_credentials_through_assume_role(organization, runner, awsmock):
    """A delegated-administrator set-up: the inventory assumes a role first; hosts are relative to that identity."""
    from stores import aws_client
    iam = aws_client(awsmock.url, organization.admin, "iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"AWS": organization.admin["arn"]}}]}
    iam.create_role(RoleName="keyturn-inventory", AssumeRolePolicyDocument=json.dumps(trust))
    awsmock.role_policy(organization.management, "keyturn-inventory")
    member = organization.accounts["prod-api"]
    hostvars = listing(organization, runner, assume_role={
        "role_arn": f"arn:aws:iam::{organization.management}:role/keyturn-inventory", "session_name": "inventory"})[1]
    assert "keyturn_assume_role" in hostvars["prod-api"] and hostvars["prod-api"]["keyturn_account_id"] == member
    assert "keyturn_assume_role" not in hostvars["master"], "the assumed role is in the management account"
