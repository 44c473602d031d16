#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: credential_report_remediate
short_description: Opt-in fixes for the CIS 1.12 and 1.13 findings of the IAM credential report
version_added: 0.1.0
description:
  - Reads the posture exactly as M(keyturn.aws.credential_report_info) does (same options, same RV(findings)), then
    deactivates the access keys named by O(remediate). It never deletes a key and never touches the root user.
  - C(unused_keys) (CIS 1.12) deactivates an Active key that no stage of the user's store record names and that was
    not used for O(unused_days) or more (a key never used counts once it is that old).
  - C(extra_active_keys) (CIS 1.13) deactivates the second Active key of a user whose store record names the other
    one as current. A key the record names as pending or previous is left to keyturn's own rotation, which retires
    it (for example after C(retire_after)).
  - The plan comes from live IAM data (C(ListAccessKeys), C(GetAccessKeyLastUsed)) of the users the report flags,
    not from the report, which can be up to 4 hours old. Check mode returns that plan (RV(plan)) and changes nothing;
    the real run deactivates exactly the planned keys. With C(--diff), each key's status before and after.
  - O(store) is required (records C(<account_id>/<user_name>)), because without it no key can be proven unmanaged or
    current.
  - Each deactivation is an audit event (O(audit_log)); never a secret.
author:
  - keyturn.aws developers (@keyturn)
options:
  remediate:
    description: The fixes to apply. Nothing is fixed unless listed here.
    type: list
    elements: str
    choices: [unused_keys, extra_active_keys]
    required: true
  max_report_age:
    description: Seconds; see M(keyturn.aws.credential_report_info).
    type: int
    default: 14400
  report_timeout:
    description: Seconds to wait for IAM to finish generating the report.
    type: int
    default: 300
  unused_days:
    description: CIS 1.12 threshold in days (finding and C(unused_keys)).
    type: int
    default: 45
  max_age_days:
    description: CIS 1.14 threshold in days (finding only; rotation is M(keyturn.aws.access_key_rotate)'s job).
    type: int
    default: 90
  store:
    # The option of the keyturn.aws.store.optional fragment, required here.
    required: true
  audit_log:
    description: Append a JSON line per deactivation to this file (mode 0600). Never contains a secret.
    type: path
notes:
  - "Required permissions: those of M(keyturn.aws.credential_report_info) plus C(iam:GetAccessKeyLastUsed) and
    C(iam:UpdateAccessKey)."
extends_documentation_fragment:
  - keyturn.aws.connection
  - keyturn.aws.store.optional
  - keyturn.aws.task.parallel
attributes:
  check_mode:
    support: full
    description: Returns the plan and changes nothing.
  diff_mode:
    support: full
    description: Status of each planned key before and after.
"""

EXAMPLES = r"""
- name: Show what would be deactivated
  keyturn.aws.credential_report_remediate:
    region: us-east-1
    remediate: [unused_keys, extra_active_keys]
    store:
      type: file
      path: /var/lib/keyturn/credentials.vault.yml
  check_mode: true
  register: plan

- name: Deactivate unmanaged keys unused for 90 days
  keyturn.aws.credential_report_remediate:
    region: us-east-1
    remediate: [unused_keys]
    unused_days: 90
    audit_log: /var/log/keyturn/audit.jsonl
    store:
      type: file
      path: /var/lib/keyturn/credentials.vault.yml
"""

RETURN = r"""
plan:
  description: The deactivations planned (in check mode) or attempted, each with C(account_id), C(user_name), C(access_key_id),
    C(control), C(action) and C(reason).
  returned: always
  type: list
  elements: dict
remediated:
  description: The deactivations done (empty in check mode).
  returned: always
  type: list
  elements: dict
findings:
  description: The findings before remediation; see M(keyturn.aws.credential_report_info).
  returned: always
  type: list
  elements: dict
users:
  description: The report's IAM user rows; see M(keyturn.aws.credential_report_info).
  returned: always
  type: list
  elements: dict
root:
  description: Root facts; see M(keyturn.aws.credential_report_info).
  returned: always
  type: dict
report:
  description: The credential report used; see M(keyturn.aws.credential_report_info).
  returned: always
  type: dict
summary:
  description: Counts of passing and failing findings.
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

from ansible_collections.keyturn.aws.plugins.module_utils._credential_report import REMEDIATE_ARGUMENT_SPEC as ARGUMENT_SPEC, run_remediate
from ansible_collections.keyturn.aws.plugins.module_utils._module import run_module


def main() -> None:
    run_module(ARGUMENT_SPEC, run_remediate)


if __name__ == "__main__":
    main()
