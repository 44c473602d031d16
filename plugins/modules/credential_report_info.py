#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: credential_report_info
short_description: IAM credential posture of an account against the CIS AWS Foundations IAM controls
version_added: 0.1.0
description:
  - Reads the IAM credential report (C(GenerateCredentialReport), polled until C(COMPLETE), then
    C(GetCredentialReport)), parses its CSV into typed rows and checks them against the IAM controls of the CIS AWS
    Foundations Benchmark. Root facts come from C(GetAccountSummary) (C(AccountAccessKeysPresent),
    C(AccountMFAEnabled)) and C(ListVirtualMFADevices) (a virtual MFA device assigned to root means the root MFA is
    not a hardware device); the report's C(<root_account>) row is used only as a cross-check.
  - "Controls: C(CIS 1.4) no root access key; C(CIS 1.5) root MFA; C(CIS 1.6) root hardware MFA; C(CIS 1.12)
    credentials (password, active keys) unused for O(unused_days) or more; C(CIS 1.13) at most one active key per
    user; C(CIS 1.14) active keys younger than O(max_age_days). With O(store), also C(keyturn.unmanaged) (an Active
    key that no stage of the user's record C(<account_id>/<user_name>) names) and C(keyturn.store_drift) (a record
    whose current key no longer exists, is not Active, or whose user is gone)."
  - AWS makes a new credential report at most once every 4 hours; C(GenerateCredentialReport) returns the existing
    report while it is younger. A report younger than O(max_report_age) is reused without asking for a new one.
    The report's time and age are returned in RV(report) and written into the C(detail) of every user finding,
    because changes made after that time are not in it.
  - Key IDs are not in the credential report. They are read live with C(ListAccessKeys) for the users the report
    shows with keys, and matched to the report's key slots by creation time.
  - Read-only. Use M(keyturn.aws.credential_report_remediate) to act on the findings.
author:
  - keyturn.aws developers (@keyturn)
options:
  max_report_age:
    description:
      - Seconds. An existing report younger than this is reused; an older one (or none) makes the module ask IAM for
        a new one.
      - Values below 14400 (4 hours) cannot make the data fresher than AWS allows; the module then uses the report IAM
        returns, warns, and states its age in the findings.
    type: int
    default: 14400
  report_timeout:
    description: Seconds to wait for IAM to finish generating the report.
    type: int
    default: 300
  unused_days:
    description: CIS 1.12 threshold. A password or an active key unused for this many days or more fails (a key never
      used fails once it is this old).
    type: int
    default: 45
  max_age_days:
    description: CIS 1.14 threshold. An active key this many days old or older fails.
    type: int
    default: 90
notes:
  - "What keyturn cannot see: IAM records last use only for successful signed requests, with a delay of up to about
    4 hours, and only since 2015-04-22 (keys) and 2014-10-20 (passwords); the report is a snapshot of its generation
    time; IAM does not say whether a hardware root MFA is a FIDO key or a TOTP token; credentials outside IAM users
    (root passwords of other accounts, SSO, roles) are not in the report."
  - "Required permissions: C(iam:GenerateCredentialReport), C(iam:GetCredentialReport), C(iam:GetAccountSummary),
    C(iam:ListVirtualMFADevices), C(iam:ListAccessKeys), plus read access to the store."
extends_documentation_fragment:
  - keyturn.aws.connection
  - keyturn.aws.store.optional
  - keyturn.aws.task.parallel
  - keyturn.aws.attributes.read_only
"""

EXAMPLES = r"""
- name: Credential posture of the account
  keyturn.aws.credential_report_info:
    region: us-east-1
  register: posture

- name: Failing controls
  ansible.builtin.debug:
    msg: "{{ posture.findings | selectattr('status', '==', 'fail') | map(attribute='control') | unique }}"

- name: Posture of a member account, compared with the central store
  keyturn.aws.credential_report_info:
    region: us-gov-west-1
    assume_role:
      role_arn: arn:aws-us-gov:iam::222222222222:role/KeyturnAudit
    account_id: "222222222222"
    unused_days: 45
    max_age_days: 90
    store:
      type: secretsmanager
      prefix: keyturn/
      region: us-gov-west-1
"""

RETURN = r"""
findings:
  description: One entry per control and subject (root controls first, then each IAM user).
  returned: always
  type: list
  elements: dict
  contains:
    control:
      description: C(CIS 1.4), C(CIS 1.5), C(CIS 1.6), C(CIS 1.12), C(CIS 1.13), C(CIS 1.14), C(keyturn.unmanaged) or
        C(keyturn.store_drift).
      type: str
    title:
      description: What the control requires.
      type: str
    status:
      description: C(pass) or C(fail).
      type: str
    subject:
      description: C(<root_account>) or the IAM user name.
      type: str
    detail:
      description: Why, with the report's time and the limits of AWS's data.
      type: str
    access_key_ids:
      description: The keys a failing finding is about, when known.
      type: list
      elements: str
      returned: when known
  sample:
    - control: CIS 1.14
      title: Access keys are rotated every 90 days or less
      status: fail
      subject: build-bot
      detail: "not rotated within 90 days: AKIAEXAMPLE123 is 120.0 days old"
users:
  description: The report's IAM user rows (the C(<root_account>) row is left out), typed. No secret is in the report.
  returned: always
  type: list
  elements: dict
  contains:
    user_name:
      description: IAM user.
      type: str
    arn:
      description: The user's ARN.
      type: str
    created:
      description: Creation time (ISO 8601, UTC).
      type: str
    password_enabled:
      description: Whether the user has a console password.
      type: bool
    password_last_used:
      description: Last console sign-in, or null (never, or not tracked).
      type: str
    mfa_active:
      description: Whether an MFA device is enabled for the user.
      type: bool
    access_keys:
      description: One entry per key slot that holds a key, with C(slot), C(access_key_id) (matched live), C(active),
        C(last_rotated), C(age_days), C(last_used_date), C(last_used_days), C(last_used_region), C(last_used_service).
      type: list
      elements: dict
root:
  description: Root facts (C(access_keys_present), C(mfa_enabled), C(virtual_mfa), C(arn), C(in_report)).
  returned: always
  type: dict
report:
  description: The credential report used (C(generated_time), C(age_seconds), C(reused), C(note), C(data_limits)).
  returned: always
  type: dict
summary:
  description: Counts of passing and failing findings, in total and per control.
  returned: always
  type: dict
account_id:
  description: The account checked.
  returned: always
  type: str
partition:
  description: Its partition.
  returned: always
  type: str
"""

from ansible_collections.keyturn.aws.plugins.module_utils._credential_report import ARGUMENT_SPEC, run
from ansible_collections.keyturn.aws.plugins.module_utils._module import run_module


def main() -> None:
    run_module(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
