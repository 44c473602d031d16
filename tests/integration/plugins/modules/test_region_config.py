# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keyturn.aws.region_config through real ansible-playbook against awsmock."""

from __future__ import annotations

import os

import pytest

EXPECTED = {
    "us-east-1": ("aws", "https://iam.amazonaws.com", "us-east-1", "https://sts.us-east-1.amazonaws.com", "arn:aws:"),
    "eu-west-1": ("aws", "https://iam.amazonaws.com", "us-east-1", "https://sts.eu-west-1.amazonaws.com", "arn:aws:"),
    "cn-north-1": ("aws-cn", "https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1",
                   "https://sts.cn-north-1.amazonaws.com.cn", "arn:aws-cn:"),
    "cn-northwest-1": ("aws-cn", "https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1",
                       "https://sts.cn-northwest-1.amazonaws.com.cn", "arn:aws-cn:"),
    "us-gov-west-1": ("aws-us-gov", "https://iam.us-gov.amazonaws.com", "us-gov-west-1",
                      "https://sts.us-gov-west-1.amazonaws.com", "arn:aws-us-gov:"),
}

DESCRIBE = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: describe
      keyturn.aws.region_config:
        region: "{{ item }}"
      loop: "{{ regions }}"
    - name: by partition
      keyturn.aws.region_config:
        partition: aws-cn
    - name: unknown region
      keyturn.aws.region_config:
        region: moon-central-1
      ignore_errors: true
    - name: region of another partition
      keyturn.aws.region_config:
        region: cn-north-1
        partition: aws-us-gov
      ignore_errors: true
"""


def test_describe_regions(runner):
    result = runner.playbook(DESCRIBE, {"regions": list(EXPECTED)})
    assert result.rc == 0, result.stderr
    assert result.data["stats"]["localhost"]["ignored"] == 2
    items = result.task("describe")["results"]
    assert [i["region"] for i in items] == list(EXPECTED)
    for item in items:
        partition, iam, iam_region, sts, prefix = EXPECTED[item["region"]]
        assert item["partition"] == partition
        assert item["iam_endpoint"] == iam
        assert item["iam_signing_region"] == iam_region
        assert item["sts_endpoint"] == sts
        assert item["sts_signing_region"] == item["region"]
        assert item["arn_prefix"] == prefix
        assert item["region"] in item["regions"]
        assert item["changed"] is False
    by_partition = result.task("by partition")
    assert by_partition["region"] == "cn-north-1"
    assert by_partition["regions"] == ["cn-north-1", "cn-northwest-1"]
    unknown = result.task("unknown region")
    assert unknown["failed"] is True
    assert "unknown region 'moon-central-1'" in unknown["msg"]
    assert "us-gov-west-1" in unknown["msg"] and "cn-northwest-1" in unknown["msg"]
    assert "Traceback" not in result.stdout
    mismatch = result.task("region of another partition")
    assert "is in partition aws-cn, not aws-us-gov" in mismatch["msg"]


VALIDATE = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/keyturn.aws.aws:
      endpoint_url: "{{ endpoint }}"
  tasks:
    - name: validate
      keyturn.aws.region_config:
        region: "{{ item.region }}"
        access_key: "{{ creds[item.partition].access_key_id }}"
        secret_key: "{{ creds[item.partition].secret_access_key }}"
        validate: true
        account_id: "{{ creds[item.partition].account_id }}"
      loop: "{{ good }}"
    - name: cross partition
      keyturn.aws.region_config:
        region: "{{ item.region }}"
        access_key: "{{ creds[item.partition].access_key_id }}"
        secret_key: "{{ creds[item.partition].secret_access_key }}"
        validate: true
      loop: "{{ crossed }}"
      ignore_errors: true
    - name: wrong account
      keyturn.aws.region_config:
        region: us-east-1
        access_key: "{{ creds.aws.access_key_id }}"
        secret_key: "{{ creds.aws.secret_access_key }}"
        validate: true
        account_id: "999999999999"
      ignore_errors: true
    - name: malformed account
      keyturn.aws.region_config:
        region: us-east-1
        validate: true
        account_id: "12345"
      ignore_errors: true
"""


def test_validate_credentials(runner, awsmock, account_id):
    creds = {p: awsmock.bootstrap(account_id, p) for p in ("aws", "aws-cn", "aws-us-gov")}
    good = [{"region": r, "partition": EXPECTED[r][0]} for r in EXPECTED]
    crossed = [
        {"region": "cn-north-1", "partition": "aws"},
        {"region": "us-gov-west-1", "partition": "aws-cn"},
        {"region": "us-east-1", "partition": "aws-us-gov"},
    ]
    result = runner.playbook(VALIDATE, {"endpoint": awsmock.url, "good": good, "crossed": crossed, "creds": creds})
    assert result.rc == 0, result.stderr
    for item in result.task("validate")["results"]:
        assert not item.get("failed"), item
        prefix = EXPECTED[item["region"]][4]
        assert item["caller"]["arn"] == f"{prefix}iam::{account_id}:user/keyturn-admin"
        assert item["caller"]["account"] == account_id
    for item in result.task("cross partition")["results"]:
        assert item["failed"] is True
        assert "never work across partitions" in item["msg"]
        assert "Traceback" not in item.get("module_stderr", "")
    wrong = result.task("wrong account")
    assert wrong["failed"] and f"belong to account {account_id}, expected account_id 999999999999" in wrong["msg"]
    malformed = result.task("malformed account")
    assert malformed["failed"] and "12-digit" in malformed["msg"]
    for secret in (c["secret_access_key"] for c in creds.values()):
        assert secret not in result.stdout and secret not in result.stderr


PROFILE = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: profile
      keyturn.aws.region_config:
        region: "{{ item }}"
        config_file: "{{ config_file }}"
      loop: [cn-north-1, us-gov-west-1]
"""


def test_profile_file_idempotent(runner):
    config = os.path.join(runner.tmp, "aws-config")
    with open(config, "w", encoding="utf-8") as handle:
        handle.write("# my settings\n[default]\nregion = eu-west-1\n")
    check = runner.playbook(PROFILE, {"config_file": config}, check=True, diff=True)
    assert all(r["changed"] for r in check.task("profile")["results"])
    assert "[profile keyturn-cn-north-1]" in check.task("profile")["results"][0]["diff"]["after"]
    with open(config, encoding="utf-8") as handle:
        assert handle.read() == "# my settings\n[default]\nregion = eu-west-1\n"
    first = runner.playbook(PROFILE, {"config_file": config})
    assert all(r["changed"] for r in first.task("profile")["results"])
    with open(config, encoding="utf-8") as handle:
        text = handle.read()
    assert text.startswith("# my settings\n[default]\nregion = eu-west-1\n")
    assert "[profile keyturn-cn-north-1]\nregion = cn-north-1\nsts_regional_endpoints = regional\n" in text
    assert "[profile keyturn-us-gov-west-1]\nregion = us-gov-west-1\n" in text
    second = runner.playbook(PROFILE, {"config_file": config})
    assert not any(r["changed"] for r in second.task("profile")["results"])
    with open(config, encoding="utf-8") as handle:
        assert handle.read() == text


@pytest.mark.parametrize("region", ["us-east-1", "cn-northwest-1"])
def test_module_defaults_group(runner, awsmock, account_id, region):
    partition = "aws" if region.startswith("us") else "aws-cn"
    creds = awsmock.bootstrap(account_id, partition)
    play = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/keyturn.aws.aws:
      endpoint_url: "{{ endpoint }}"
      region: "{{ region }}"
      access_key: "{{ creds.access_key_id }}"
      secret_key: "{{ creds.secret_access_key }}"
  tasks:
    - name: validate
      keyturn.aws.region_config:
        validate: true
"""
    result = runner.playbook(play, {"endpoint": awsmock.url, "region": region, "creds": creds})
    assert result.rc == 0, result.stdout[-3000:]
    assert result.task("validate")["caller"]["account"] == account_id
