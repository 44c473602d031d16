# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The awsmock wrapper's fixes over plain moto, each tested against the real server."""

from __future__ import annotations

import calendar
import os
import sys
import time
import urllib.error

import boto3
import botocore.config
import botocore.exceptions
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))

from tools.awsmock.client import AwsMock  # noqa: E402


@pytest.fixture(scope="module")
def server():
    with AwsMock() as mock:
        yield mock


def client(server, service, creds, region="us-east-1"):
    return boto3.client(service, region_name=region, endpoint_url=server.url,
                        aws_access_key_id=creds["access_key_id"], aws_secret_access_key=creds["secret_access_key"])


def new_user_key(server, admin, name, region="us-east-1"):
    iam = client(server, "iam", admin, region)
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return iam, {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}


def test_authentication_enforced(server):
    fake = {"access_key_id": "AKIAAAAAAAAAAAAAAAAA", "secret_access_key": "x" * 40}
    with pytest.raises(botocore.exceptions.ClientError) as err:
        client(server, "iam", fake).list_users()
    assert err.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_wrong_secret_refused(server):
    admin = server.bootstrap("100000000001")
    bad = dict(admin, secret_access_key="y" * 40)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        client(server, "sts", bad).get_caller_identity()
    assert err.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_inactive_key_refused(server):
    admin = server.bootstrap("100000000002")
    iam, key = new_user_key(server, admin, "inactive-user")
    sts = client(server, "sts", key)
    assert sts.get_caller_identity()["Arn"].endswith(":user/inactive-user")
    iam.update_access_key(UserName="inactive-user", AccessKeyId=key["access_key_id"], Status="Inactive")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        sts.get_caller_identity()
    assert err.value.response["Error"]["Code"] == "InvalidClientTokenId"
    iam.update_access_key(UserName="inactive-user", AccessKeyId=key["access_key_id"], Status="Active")
    assert sts.get_caller_identity()["Account"] == "100000000002"


def test_govcloud_user_stays_in_govcloud(server):
    admin = server.bootstrap("100000000003", "aws-us-gov")
    iam = client(server, "iam", admin, "us-gov-west-1")

    def real_host(request, **_kwargs):  # address IAM at its real GovCloud host, as a proxy would
        request.headers["Host"] = "iam.us-gov.amazonaws.com"

    iam.meta.events.register("before-sign.iam", real_host)
    user = iam.create_user(UserName="gov-user")["User"]
    assert user["Arn"].startswith("arn:aws-us-gov:iam::100000000003:user/gov-user")
    key = iam.create_access_key(UserName="gov-user")["AccessKey"]
    sts = client(server, "sts", {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]},
                 "us-gov-west-1")
    assert sts.get_caller_identity()["Arn"].startswith("arn:aws-us-gov:")
    # the GovCloud key does not work in the aws partition
    with pytest.raises(botocore.exceptions.ClientError):
        client(server, "sts", {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}).get_caller_identity()


def test_propagation_delay(server):
    """A new key is refused until the delay has passed on the server's clock; the test moves that
    clock forward (``clock_offset``) instead of sleeping, so a slow machine cannot change the outcome."""
    admin = server.bootstrap("100000000004")
    server.configure(propagation_delay=600)
    try:
        _iam, key = new_user_key(server, admin, "slow-user")
        sts = client(server, "sts", key)
        assert client(server, "sts", admin).get_caller_identity()  # bootstrap keys are not delayed
        with pytest.raises(botocore.exceptions.ClientError) as err:
            sts.get_caller_identity()
        assert err.value.response["Error"]["Code"] == "InvalidClientTokenId"
        server.configure(clock_offset=599)  # only 599 s after its creation (plus the test's own time)
        with pytest.raises(botocore.exceptions.ClientError):
            client(server, "sts", dict(new_user_key(server, admin, "slower-user")[1])).get_caller_identity()
        server.configure(clock_offset=601)
        assert sts.get_caller_identity()["Arn"].endswith(":user/slow-user")
    finally:
        server.configure(propagation_delay=0, clock_offset=0)


def test_call_counts_and_throttling(server):
    admin = server.bootstrap("100000000005")
    server.reset_stats()
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=server.url,
                       aws_access_key_id=admin["access_key_id"], aws_secret_access_key=admin["secret_access_key"],
                       config=botocore.config.Config(retries={"mode": "standard", "max_attempts": 1}))
    sts.get_caller_identity()
    assert server.stats()["calls"] == {"sts:GetCallerIdentity": 1}
    server.configure(throttle_rate=1.0)
    try:
        with pytest.raises(botocore.exceptions.ClientError) as err:
            sts.get_caller_identity()
        assert err.value.response["Error"]["Code"] == "Throttling"
        stats = server.stats()
        assert stats["throttled"] == stats["calls"]["sts:GetCallerIdentity"] - 1 >= 1, stats
    finally:
        server.configure(throttle_rate=0)
    server.reset_stats()
    assert server.stats()["throttled"] == 0


def test_issued_secrets_are_listed(server):
    """The leak scans look for every secret the server handed out, not only those left in a store."""
    admin = server.bootstrap("100000000006")
    iam, key = new_user_key(server, admin, "issued-user")
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="issued-mfa")["VirtualMFADevice"]
    issued = server.issued("100000000006")
    secrets = {item["secret"] for item in issued}
    assert {admin["secret_access_key"], key["secret_access_key"], device["Base32StringSeed"].decode()} <= secrets
    assert {"issued-user", "keyturn-admin"} <= {item.get("user_name") for item in issued}
    assert not server.issued("100000000007")


def test_assume_role_of_a_missing_role_is_refused_and_role_policy_grants(server):
    admin = server.bootstrap("202020202020")
    org = client(server, "organizations", admin)
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(AccountName="member", Email="m@example.com")["CreateAccountStatus"]["AccountId"]
    sts = client(server, "sts", admin)
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        sts.assume_role(RoleArn=f"arn:aws:iam::{member}:role/Missing", RoleSessionName="tests")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    role_arn = f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole"
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="tests")["Credentials"]
    assumed = {"access_key_id": creds["AccessKeyId"], "secret_access_key": creds["SecretAccessKey"]}
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=server.url, aws_session_token=creds["SessionToken"],
                       aws_access_key_id=assumed["access_key_id"], aws_secret_access_key=assumed["secret_access_key"])
    with pytest.raises(botocore.exceptions.ClientError) as denied:
        iam.list_users()  # CreateAccount makes the role without a policy, as on AWS
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert server.role_policy(member, "OrganizationAccountAccessRole")["arn"] == role_arn
    assert iam.list_users()["Users"] == []
    with pytest.raises(Exception, match="400"):
        server.role_policy(member, "Missing")


def test_per_account_rate_limit_and_latency(server):
    limited = server.bootstrap("303030303030")
    other = server.bootstrap("404040404040")
    no_retry = botocore.config.Config(retries={"mode": "standard", "total_max_attempts": 1})
    iam = boto3.client("iam", region_name="us-east-1", endpoint_url=server.url, config=no_retry,
                       aws_access_key_id=limited["access_key_id"], aws_secret_access_key=limited["secret_access_key"])
    server.reset_stats()
    server.configure(rate_limits={"iam": 0.001}, latency=0.01)  # one call, then (practically) none
    try:
        iam.list_users()
        with pytest.raises(botocore.exceptions.ClientError) as throttled:
            iam.list_users()
        assert throttled.value.response["Error"]["Code"] == "Throttling"
        assert client(server, "iam", other).list_users()["Users"], "another account has its own bucket"
        stats = server.stats()
        assert stats["throttled"] == 1 and stats["latency"] == 0.01
        assert stats["account_calls"]["303030303030"]["iam"] == 2 and stats["account_calls"]["404040404040"]["iam"] == 1
    finally:
        server.configure(rate_limits={}, latency=0)
    iam.list_users()


def test_credential_report_reads_as_aws_writes_it(server):
    admin = server.bootstrap("100000000006")
    iam, creds = new_user_key(server, admin, "reported")
    server.age_key(creds["access_key_id"], 120)
    server.set_last_used(creds["access_key_id"], 60, service="ec2", region="eu-west-1")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        iam.get_credential_report()
    assert err.value.response["Error"]["Code"] == "ReportNotPresent"
    assert iam.generate_credential_report()["State"] == "STARTED"
    assert iam.generate_credential_report()["State"] == "COMPLETE"
    answer = iam.get_credential_report()
    assert abs(time.time() - answer["GeneratedTime"].timestamp()) < 300  # moto alone answers a fixed date in 2015
    lines = answer["Content"].decode().splitlines()
    header = lines[0].split(",")
    rows = {line.split(",")[0]: dict(zip(header, line.split(","))) for line in lines[1:]}
    root = rows["<root_account>"]  # first, as in AWS
    assert lines[1].startswith("<root_account>,arn:aws:iam::100000000006:root,")
    assert root["password_enabled"] == "not_supported" and root["mfa_active"] == "false"
    user = rows["reported"]
    assert user["password_enabled"] == "false" and user["password_last_used"] == "N/A"
    assert user["password_last_changed"] == "N/A" and user["access_key_1_active"] == "true"
    assert user["access_key_1_last_used_region"] == "eu-west-1" and user["access_key_1_last_used_service"] == "ec2"
    assert user["access_key_2_last_used_region"] == "N/A" and user["access_key_2_last_rotated"] == "N/A"
    age = time.time() - calendar.timegm(time.strptime(user["access_key_1_last_rotated"][:19], "%Y-%m-%dT%H:%M:%S"))
    assert 119 * 86400 < age < 121 * 86400


def test_root_facts(server):
    admin = server.bootstrap("100000000007")
    iam = client(server, "iam", admin)

    def facts():
        summary = iam.get_account_summary()["SummaryMap"]
        devices = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
        return summary["AccountAccessKeysPresent"], summary["AccountMFAEnabled"], [d["User"]["Arn"] for d in devices]

    assert facts() == (0, 0, [])
    server.set_root("100000000007", mfa="virtual", access_keys=True)
    assert facts() == (1, 1, ["arn:aws:iam::100000000007:root"])
    server.set_root("100000000007", mfa="hardware", access_keys=False)
    assert facts() == (0, 1, [])
    with pytest.raises(urllib.error.HTTPError):
        server.set_root("100000000007", mfa="sms")
