#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: region_config
short_description: Resolve and check a region's AWS partition, endpoints and ARN prefix
version_added: 0.1.0
description:
  - Resolves a region (or a partition) to its partition (C(aws), C(aws-cn), C(aws-us-gov)), IAM and STS endpoints,
    signing regions, ARN prefix and the partition's regions, all from botocore's own endpoint data.
  - With I(validate=true), calls STS C(GetCallerIdentity) in that region with the task's credentials and reports the
    caller; fails clearly when the credentials belong to another partition or another account.
  - With I(config_file), writes or updates an AWS shared-config profile for the region (region and regional STS),
    idempotently, keeping the rest of the file and its comments.
author:
  - keyturn.aws developers (@keyturn)
options:
  partition:
    description:
      - Partition to describe when I(region) is not given; its default region is used (the partition's IAM signing
        region). When both are given they must agree.
    type: str
    choices: [aws, aws-cn, aws-us-gov]
  validate:
    description: Check the task's credentials against STS in the region.
    type: bool
    default: false
  account_id:
    description: With I(validate), the 12-digit account the credentials must belong to.
    type: str
  config_file:
    description:
      - Path of an AWS shared config file (for example C(~/.aws/config)) in which to write a profile for the region.
      - Created with mode C(0600) when missing; its directory must exist (it is never created).
      - A symbolic link is followed and its target is updated (the link stays a link).
      - The result is parsed with botocore's own config parser before it replaces the file; a file botocore could
        not read (for example a duplicate section) is never written.
    type: path
  config_profile:
    description:
      - Name of the profile written to I(config_file). Defaults to C(keyturn-<region>).
      - 1-128 letters, digits and the characters C(_.-+@:/), as the AWS CLI reads it back (no spaces, brackets, quotes,
        C(=), C(#), C(;) or line breaks). Needs I(config_file).
    type: str
extends_documentation_fragment:
  - keyturn.aws.connection
attributes:
  check_mode:
    support: full
    description: Reports whether the profile would change, writes nothing.
  diff_mode:
    support: full
    description: Shows the config file before and after.
"""

EXAMPLES = r"""
- name: Describe GovCloud West
  keyturn.aws.region_config:
    region: us-gov-west-1
  register: govcloud

- name: Check that the China credentials work in cn-north-1 and belong to the expected account
  keyturn.aws.region_config:
    region: cn-north-1
    validate: true
    account_id: "123456789012"
    profile: china

- name: Write a profile for cn-northwest-1 into ~/.aws/config
  keyturn.aws.region_config:
    region: cn-northwest-1
    config_file: ~/.aws/config
    config_profile: china-ningxia
"""

RETURN = r"""
region:
  description: The region described.
  returned: always
  type: str
  sample: cn-north-1
partition:
  description: The region's partition.
  returned: always
  type: str
  sample: aws-cn
partition_name:
  description: Human name of the partition.
  returned: always
  type: str
  sample: AWS China
dns_suffix:
  description: DNS suffix of the partition.
  returned: always
  type: str
  sample: amazonaws.com.cn
arn_prefix:
  description: Prefix of every ARN in the partition.
  returned: always
  type: str
  sample: "arn:aws-cn:"
iam_endpoint:
  description: IAM endpoint for the region (IAM is one endpoint per partition).
  returned: always
  type: str
  sample: https://iam.cn-north-1.amazonaws.com.cn
iam_signing_region:
  description: Region IAM requests are signed for.
  returned: always
  type: str
  sample: cn-north-1
sts_endpoint:
  description: STS endpoint for the region (regional).
  returned: always
  type: str
  sample: https://sts.cn-north-1.amazonaws.com.cn
sts_signing_region:
  description: Region STS requests are signed for.
  returned: always
  type: str
  sample: cn-north-1
sts_regional:
  description: Whether the STS endpoint is the region's own.
  returned: always
  type: bool
  sample: true
regions:
  description: Every region of the partition botocore knows.
  returned: always
  type: list
  elements: str
  sample: [cn-north-1, cn-northwest-1]
caller:
  description: The identity the credentials authenticate as.
  returned: when I(validate=true)
  type: dict
  contains:
    arn:
      description: Caller ARN.
      type: str
      sample: arn:aws-cn:iam::123456789012:user/ops
    account:
      description: Caller account ID.
      type: str
      sample: "123456789012"
    user_id:
      description: Caller unique ID.
      type: str
      sample: AIDAEXAMPLE
config_file:
  description: The config file path.
  returned: when I(config_file) is set
  type: str
config_profile:
  description: The profile name written.
  returned: when I(config_file) is set
  type: str
  sample: keyturn-cn-north-1
"""

from ansible_collections.keyturn.aws.plugins.module_utils._module import run_module
from ansible_collections.keyturn.aws.plugins.module_utils._region_config import ARGUMENT_SPEC, run


def main() -> None:
    run_module(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
