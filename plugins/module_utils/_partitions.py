# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Region -> partition resolution from botocore's own endpoint data.

Nothing here builds a hostname by hand: IAM and STS endpoints, signing regions
and the partition's region list come from the ``endpoints.json`` that ships
with botocore, so new regions arrive with a botocore upgrade.
"""

from __future__ import annotations

import dataclasses
import functools
import typing as t

try:
    import botocore.loaders
    import botocore.regions

    HAS_BOTOCORE = True
except ImportError:  # pragma: no cover - reported by the adapters
    HAS_BOTOCORE = False

from ansible_collections.keyturn.aws.plugins.module_utils._errors import PartitionError

SUPPORTED_PARTITIONS = ("aws", "aws-cn", "aws-us-gov")


@dataclasses.dataclass(frozen=True)
class PartitionInfo:
    """Everything a caller needs to talk to IAM/STS in one region."""

    region: str
    partition: str
    partition_name: str
    dns_suffix: str
    arn_prefix: str
    iam_endpoint: str
    iam_signing_region: str
    sts_endpoint: str
    sts_signing_region: str
    sts_regional: bool
    regions: t.Tuple[str, ...]

    def arn(self, service: str, account_id: str, resource: str, region: str = "") -> str:
        return f"{self.arn_prefix}{service}:{region}:{account_id}:{resource}"

    def user_arn(self, account_id: str, user_name: str, path: str = "/") -> str:
        return self.arn("iam", account_id, f"user{path}{user_name}")

    def as_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["regions"] = list(self.regions)
        return data


@functools.lru_cache(maxsize=1)
def _endpoint_data() -> dict:
    if not HAS_BOTOCORE:
        raise PartitionError("botocore is required (pip install botocore)")
    return botocore.loaders.create_loader().load_data("endpoints")


@functools.lru_cache(maxsize=1)
def _resolver() -> t.Any:
    return botocore.regions.EndpointResolver(_endpoint_data())


def _partition_data(partition: str) -> dict:
    for item in _endpoint_data()["partitions"]:
        if item["partition"] == partition:
            return item
    raise PartitionError(f"unknown partition {partition!r}; supported: {', '.join(SUPPORTED_PARTITIONS)}")


def partition_regions(partition: str) -> t.Tuple[str, ...]:
    """Regions botocore knows in ``partition``, sorted."""
    if partition not in SUPPORTED_PARTITIONS:
        raise PartitionError(f"unsupported partition {partition!r}; supported: {', '.join(SUPPORTED_PARTITIONS)}")
    return tuple(sorted(_partition_data(partition)["regions"]))


def known_regions() -> t.Dict[str, t.Tuple[str, ...]]:
    return {p: partition_regions(p) for p in SUPPORTED_PARTITIONS}


def partition_of(region: str) -> str:
    """The partition of a region botocore knows; a clear error otherwise."""
    if not isinstance(region, str) or not region:
        raise PartitionError("a region is required (for example us-east-1, cn-north-1 or us-gov-west-1)")
    for partition in SUPPORTED_PARTITIONS:
        if region in _partition_data(partition)["regions"]:
            return partition
    try:
        other = _resolver().get_partition_for_region(region)
    except Exception:  # botocore raises UnknownRegionError
        other = None
    if other and other not in SUPPORTED_PARTITIONS:
        raise PartitionError(
            f"region {region!r} is in partition {other!r}, which keyturn.aws does not support; "
            f"supported partitions: {', '.join(SUPPORTED_PARTITIONS)}"
        )
    listing = "; ".join(f"{p}: {', '.join(r)}" for p, r in known_regions().items())
    raise PartitionError(f"unknown region {region!r}. Known regions are {listing}")


def _endpoint(service: str, region: str) -> t.Tuple[str, str, str]:
    data = _resolver().construct_endpoint(service, region)
    if not data:
        raise PartitionError(f"botocore has no {service} endpoint for region {region!r}")
    hostname = data["hostname"]
    signing_region = data.get("credentialScope", {}).get("region", region)
    return f"https://{hostname}", signing_region, data.get("endpointName", region)


@functools.lru_cache(maxsize=None)
def resolve(region: str) -> PartitionInfo:
    """Resolve ``region`` (must be known to botocore) to its PartitionInfo."""
    partition = partition_of(region)
    pdata = _partition_data(partition)
    iam_endpoint, iam_signing_region = _endpoint("iam", region)[:2]
    sts_endpoint, sts_signing_region, sts_name = _endpoint("sts", region)
    if partition != "aws" and sts_name != region:
        raise PartitionError(f"botocore resolved a non-regional STS endpoint for {region!r}")
    return PartitionInfo(
        region=region,
        partition=partition,
        partition_name=pdata.get("partitionName", partition),
        dns_suffix=pdata["dnsSuffix"],
        arn_prefix=f"arn:{partition}:",
        iam_endpoint=iam_endpoint,
        iam_signing_region=iam_signing_region,
        sts_endpoint=sts_endpoint,
        sts_signing_region=sts_signing_region or region,
        sts_regional=sts_name == region,
        regions=partition_regions(partition),
    )


def default_region(partition: str) -> str:
    """The region to use when only a partition is given (its IAM signing region)."""
    regions = partition_regions(partition)
    scope = _resolver().construct_endpoint("iam", regions[0]) or {}
    return scope.get("credentialScope", {}).get("region", regions[0])


def partition_of_arn(arn: str) -> str:
    parts = arn.split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "arn" else ""


def partition_name_of(region: t.Optional[str]) -> t.Optional[str]:
    """The partition botocore puts ``region`` in, for labelling (reports); ``None`` when botocore knows none.

    Any partition botocore knows (``aws-iso`` and the other closed ones too), by its region list first and then by its
    region pattern, so a region newer than the installed botocore is still labelled.  Never raises: use
    :func:`partition_of` to act on a region."""
    if not isinstance(region, str) or not region or not HAS_BOTOCORE:
        return None
    for item in _endpoint_data()["partitions"]:
        if region in item.get("regions", {}):
            return str(item["partition"])
    try:
        return str(_resolver().get_partition_for_region(region))
    except Exception:  # botocore raises UnknownRegionError
        return None
