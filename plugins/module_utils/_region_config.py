# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine of keyturn.aws.region_config."""

from __future__ import annotations

import os
import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._aws_config_file import (
    check_parses,
    check_profile_name,
    check_text_parses,
    read_text,
    set_profile,
    write_atomic,
)
from ansible_collections.keyturn.aws.plugins.module_utils._connection import AwsConnection
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import AwsAuthError, PartitionError, ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._options import argument_spec, connection_params
from ansible_collections.keyturn.aws.plugins.module_utils._paths import require_parent, write_target
from ansible_collections.keyturn.aws.plugins.module_utils._partitions import (
    SUPPORTED_PARTITIONS,
    default_region,
    partition_of_arn,
    partition_regions,
    resolve,
)
from ansible_collections.keyturn.aws.plugins.module_utils._validate import check_account_id

ARGUMENT_SPEC = argument_spec(
    {
        "partition": {"type": "str", "choices": list(SUPPORTED_PARTITIONS)},
        "validate": {"type": "bool", "default": False},
        "account_id": {"type": "str"},
        "config_file": {"type": "path"},
        "config_profile": {"type": "str"},
    }
)


def _target_region(params: t.Mapping[str, t.Any]) -> str:
    region = params.get("region")
    partition = params.get("partition")
    if region:
        info = resolve(region)
        if partition and info.partition != partition:
            raise PartitionError(
                f"region {region} is in partition {info.partition}, not {partition}; give a region of {partition} "
                f"({', '.join(partition_regions(partition))}) or drop one of the two options"
            )
        return region
    if partition:
        return default_region(partition)
    raise ValidationError("give region (for example us-east-1, cn-north-1, us-gov-west-1) or partition (aws, aws-cn, aws-us-gov)")


def run(params: t.Dict[str, t.Any], ctx: RunContext) -> t.Dict[str, t.Any]:
    region = _target_region(params)
    info = resolve(region)
    config_file = params.get("config_file")
    if params.get("config_profile") is not None and not config_file:
        raise ValidationError("config_profile needs config_file (the AWS config file to write the profile into)")
    # checked before anything else (STS included): the name is written into a file botocore executes from
    profile = check_profile_name(params["config_profile"]) if params.get("config_profile") is not None else f"keyturn-{region}"
    account_id = params.get("account_id")
    if account_id is not None:
        check_account_id(account_id)
    result: t.Dict[str, t.Any] = {"changed": False}
    result.update(info.as_dict())

    if params.get("validate"):
        values = dict(params, region=region)
        conn = AwsConnection(connection_params(values), max_attempts=3)
        try:
            caller = conn.caller_identity(f"validating credentials against STS in {region}")
        except AwsAuthError as exc:
            raise PartitionError(
                f"the credentials were refused by STS in {region} (partition {info.partition}; {exc.details.get('code')}). "
                f"Credentials never work across partitions: keys of aws, aws-cn and aws-us-gov are separate, so use "
                f"credentials issued in {info.partition} for {region}"
            )
        caller_partition = partition_of_arn(caller["arn"])
        if caller_partition != info.partition:
            raise PartitionError(
                f"the credentials belong to partition {caller_partition} (caller {caller['arn']}) but {region} is in "
                f"{info.partition}; credentials never work across partitions"
            )
        if account_id and caller["account"] != account_id:
            raise ValidationError(
                f"the credentials belong to account {caller['account']}, expected account_id {account_id}"
            )
        result["caller"] = caller

    if config_file:
        _write_profile(result, str(config_file), profile, region, ctx)
    return result


def _write_profile(result: t.Dict[str, t.Any], config_file: str, profile: str, region: str, ctx: RunContext) -> None:
    """Set the region's profile in ``config_file``; the result must parse with botocore, and a
    symbolic link is written through to its target."""
    target = write_target(config_file)
    require_parent(target, "config_file", ValidationError)
    if os.path.isdir(target):
        raise ValidationError(f"config_file {config_file} is a directory; give the path of the AWS config file")
    values = {"region": region, "sts_regional_endpoints": "regional"}
    try:
        before = read_text(target)
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read config_file {config_file}: {getattr(exc, 'strerror', None) or 'not UTF-8 text'}")
    after = set_profile(before, profile, values)
    result["config_file"] = config_file
    result["config_profile"] = profile
    if before == after:
        return
    result["changed"] = True
    if ctx.diff:
        result["diff"] = {"before": before, "after": after, "before_header": config_file, "after_header": config_file}
    if ctx.check_mode:
        check_text_parses(after, profile, values, shown=config_file)
        return
    mode = os.stat(target).st_mode & 0o777 if os.path.exists(target) else 0o600
    try:
        write_atomic(target, after, mode=mode, check=lambda tmp: check_parses(tmp, profile, values, shown=config_file))
    except OSError as exc:
        raise ValidationError(f"cannot write config_file {config_file}: {exc.strerror}")
