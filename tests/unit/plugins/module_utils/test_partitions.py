# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import botocore.loaders
import pytest

from ansible_collections.keyturn.aws.plugins.module_utils import _partitions
from ansible_collections.keyturn.aws.plugins.module_utils._errors import PartitionError

DATA = botocore.loaders.create_loader().load_data("endpoints")
ALL = [(p["partition"], r) for p in DATA["partitions"] if p["partition"] in _partitions.SUPPORTED_PARTITIONS
       for r in sorted(p["regions"])]


def test_every_supported_partition_has_regions():
    assert {p for p, region in ALL} == set(_partitions.SUPPORTED_PARTITIONS)
    assert len(ALL) > 30


@pytest.mark.parametrize("partition,region", ALL)
def test_every_region_resolves(partition, region):
    info = _partitions.resolve(region)
    assert info.partition == partition
    assert info.arn_prefix == f"arn:{partition}:"
    suffix = {"aws": ".amazonaws.com", "aws-cn": ".amazonaws.com.cn", "aws-us-gov": ".amazonaws.com"}[partition]
    assert info.iam_endpoint.startswith("https://iam") and info.iam_endpoint.endswith(suffix)
    assert info.sts_endpoint.endswith(suffix)
    assert region in info.regions
    assert info.iam_signing_region in info.regions
    if partition != "aws":
        assert info.sts_regional and info.sts_endpoint == f"https://sts.{region}{suffix}"
        assert info.sts_signing_region == region
    if region.startswith("cn-"):
        assert partition == "aws-cn"
        assert info.iam_endpoint == "https://iam.cn-north-1.amazonaws.com.cn"
    if region.startswith("us-gov-"):
        assert partition == "aws-us-gov"
    assert info.user_arn("123456789012", "alice") == f"arn:{partition}:iam::123456789012:user/alice"


@pytest.mark.parametrize("bad", ["", "us-east-9", "moon-1", "US-EAST-1"])
def test_unknown_region_lists_known(bad):
    with pytest.raises(PartitionError) as err:
        _partitions.resolve(bad)
    assert "region" in str(err.value)
    if bad:
        assert "cn-north-1" in str(err.value) and "us-gov-west-1" in str(err.value)


def test_unsupported_partition_named():
    with pytest.raises(PartitionError, match="aws-iso"):
        _partitions.resolve("us-iso-east-1")


def test_default_region_and_arn_partition():
    assert _partitions.default_region("aws-cn") == "cn-north-1"
    assert _partitions.default_region("aws-us-gov") == "us-gov-west-1"
    assert _partitions.partition_of_arn("arn:aws-us-gov:iam::1:user/x") == "aws-us-gov"
    assert _partitions.partition_of_arn("nope") == ""
    with pytest.raises(PartitionError):
        _partitions.partition_regions("aws-iso")


@pytest.mark.parametrize("region,partition", [
    ("us-east-1", "aws"), ("cn-northwest-1", "aws-cn"), ("us-gov-east-1", "aws-us-gov"),
    ("us-iso-east-1", "aws-iso"), ("us-isob-east-1", "aws-iso-b"),  # known to botocore, not managed by keyturn
    ("eu-central-9", "aws"), ("cn-south-7", "aws-cn"),  # newer than botocore's list: its partition's region pattern
    ("moon-1", None), ("US-EAST-1", None), ("", None), (None, None),
])
def test_partition_name_of_labels_any_region_botocore_places(region, partition):
    assert _partitions.partition_name_of(region) == partition


def test_partition_name_of_agrees_with_partition_of_on_every_supported_region():
    assert all(_partitions.partition_name_of(region) == p for p, region in ALL)
