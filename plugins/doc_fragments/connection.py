# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """The connection options shared by every keyturn.aws module (amazon.aws names)."""

    # The options, once: modules and lookups share them (lookups add PLUGINS below).
    DOCUMENTATION = r"""
options:
  access_key:
    description:
      - AWS access key ID.
      - When not set, C(AWS_ACCESS_KEY_ID), C(AWS_ACCESS_KEY) or C(EC2_ACCESS_KEY) is used, then I(profile) or botocore's
        default credential chain.
    type: str
    aliases: [aws_access_key_id, aws_access_key, ec2_access_key]
  secret_key:
    description:
      - AWS secret access key. Never logged.
      - When not set, C(AWS_SECRET_ACCESS_KEY), C(AWS_SECRET_KEY) or C(EC2_SECRET_KEY) is used.
    type: str
    aliases: [aws_secret_access_key, aws_secret_key, ec2_secret_key]
  session_token:
    description:
      - AWS session token for temporary credentials. Never logged.
      - When not set, C(AWS_SESSION_TOKEN), C(AWS_SECURITY_TOKEN) or C(EC2_SECURITY_TOKEN) is used.
    type: str
    aliases: [aws_session_token, security_token, aws_security_token, access_token]
  profile:
    description:
      - Named profile from the AWS shared config and credentials files.
      - Mutually exclusive with I(access_key) and I(secret_key). C(AWS_PROFILE) is used when not set.
      - An explicit profile is used even when keys are set in the environment (for example by an AWX credential).
    type: str
    aliases: [aws_profile]
  region:
    description:
      - AWS region; it decides the partition (C(cn-*) is C(aws-cn), C(us-gov-*) is C(aws-us-gov)).
      - When not set, C(AWS_REGION), C(AWS_DEFAULT_REGION) or C(EC2_REGION) is used.
    type: str
    aliases: [aws_region, ec2_region]
  endpoint_url:
    description:
      - Send every AWS call to this URL instead of the endpoints botocore resolves (for example a local test server).
      - When not set, C(AWS_URL), C(AWS_ENDPOINT_URL) or C(EC2_URL) is used.
      - An empty value is an error (it never falls back to the AWS endpoints).
    type: str
    aliases: [aws_endpoint_url, ec2_url]
  aws_ca_bundle:
    description:
      - CA bundle used to validate AWS endpoints. C(AWS_CA_BUNDLE) is used when not set.
    type: path
  validate_certs:
    description:
      - Validate TLS certificates of AWS endpoints.
    type: bool
    default: true
  assume_role:
    description:
      - Assume this IAM role (for example in a member account) and do the task's work with it.
      - Stores reached over AWS keep using the base credentials, so a central security account can hold the
        secrets of many member accounts.
    type: dict
    suboptions:
      role_arn:
        description: ARN of the role, in the partition of I(region).
        type: str
        required: true
      external_id:
        description: External ID required by the role's trust policy. Never logged.
        type: str
      session_name:
        description: Role session name (appears in CloudTrail).
        type: str
        default: keyturn-aws
      duration_seconds:
        description: Lifetime of the role session (900 to 43200).
        type: int
        default: 3600
notes:
  - Modules run on the controller through the action plugin of the same name, in one process for the whole task.
  - Set the connection options of modules once for a play with C(module_defaults) and the group
    C(group/keyturn.aws.aws); lookups also read them from C(keyturn_aws_*) variables and the C([keyturn_aws]) section
    of C(ansible.cfg).
requirements:
  - python >= 3.11
  - boto3
  - botocore
"""

    # Lookup plugins (extend keyturn.aws.connection and this): where the same options
    # can also be set from the environment, variables and ansible.cfg.
    PLUGINS = r"""
options:
  access_key:
    vars:
      - name: keyturn_aws_access_key
  secret_key:
    vars:
      - name: keyturn_aws_secret_key
  session_token:
    vars:
      - name: keyturn_aws_session_token
  profile:
    vars:
      - name: keyturn_aws_profile
    ini:
      - section: keyturn_aws
        key: profile
  region:
    env:
      - name: AWS_REGION
      - name: AWS_DEFAULT_REGION
      - name: EC2_REGION
    vars:
      - name: keyturn_aws_region
    ini:
      - section: keyturn_aws
        key: region
  endpoint_url:
    env:
      - name: AWS_URL
      - name: AWS_ENDPOINT_URL
      - name: EC2_URL
    vars:
      - name: keyturn_aws_endpoint_url
    ini:
      - section: keyturn_aws
        key: endpoint_url
  aws_ca_bundle:
    env:
      - name: AWS_CA_BUNDLE
    vars:
      - name: keyturn_aws_ca_bundle
    ini:
      - section: keyturn_aws
        key: aws_ca_bundle
  validate_certs:
    vars:
      - name: keyturn_aws_validate_certs
    ini:
      - section: keyturn_aws
        key: validate_certs
  assume_role:
    vars:
      - name: keyturn_aws_assume_role
"""

    # Inventory plugins: the same options in the inventory configuration file (no play variables exist yet).
    INVENTORY = r"""
options:
  access_key:
    description:
      - AWS access key ID.
      - Without it (and without I(profile)), C(AWS_ACCESS_KEY_ID), C(AWS_ACCESS_KEY), C(EC2_ACCESS_KEY) or botocore's chain.
    type: str
    aliases: [aws_access_key_id, aws_access_key]
  secret_key:
    description:
      - AWS secret access key.
      - Without it, C(AWS_SECRET_ACCESS_KEY), C(AWS_SECRET_KEY) or C(EC2_SECRET_KEY) when no I(profile) is given.
    type: str
    aliases: [aws_secret_access_key, aws_secret_key]
  session_token:
    description:
      - AWS session token. Without it, C(AWS_SESSION_TOKEN) or C(AWS_SECURITY_TOKEN) with keys from the environment.
    type: str
    aliases: [aws_session_token, security_token]
  profile:
    description:
      - Named profile from the AWS shared config and credentials files (also C(AWS_PROFILE) through botocore).
      - An explicit profile is used even when keys are set in the environment.
    type: str
    aliases: [aws_profile]
  region:
    description: AWS region; it decides the partition.
    type: str
    aliases: [aws_region]
    env:
      - name: AWS_REGION
      - name: AWS_DEFAULT_REGION
      - name: EC2_REGION
  endpoint_url:
    description: Send every AWS call to this URL (for example a local test server).
    type: str
    aliases: [aws_endpoint_url]
    env:
      - name: AWS_URL
      - name: AWS_ENDPOINT_URL
      - name: EC2_URL
  aws_ca_bundle:
    description: CA bundle used to validate AWS endpoints.
    type: path
    env:
      - name: AWS_CA_BUNDLE
  validate_certs:
    description: Validate TLS certificates of AWS endpoints.
    type: bool
    default: true
  assume_role:
    description:
      - Assume this IAM role first (for example a role in the management or delegated administrator account); a dict
        with C(role_arn) and optionally C(external_id), C(session_name), C(duration_seconds).
    type: dict
"""
