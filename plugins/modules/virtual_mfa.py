#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: virtual_mfa
short_description: Enrol or remove a virtual MFA device for an IAM user, its seed kept in a store
version_added: 0.1.0
description:
  - With I(state=present), creates a virtual MFA device for I(user_name) and writes its seed to the store under
    I(seed_name) right away, before anything else can fail. It then enables the device with the codes of two
    consecutive time steps, computed from the stored seed. Afterwards the M(keyturn.aws.totp) lookup hands out
    codes for the device, and nobody needs to see the seed.
  - Idempotent. A device that is already enabled for the user, with its seed in the store, is left alone
    (C(changed=false)). A run that was interrupted after the seed was stored is finished by the next run. A device
    left by a run interrupted before the seed was stored is recognised from the intent recorded in the store, and
    replaced.
  - If the user already has an MFA device but no seed is in the store, the task fails and changes nothing. AWS
    never shows the seed of an existing device, and the device is not replaced silently.
  - With I(state=absent), deactivates the device, deletes it and deletes the stored seed.
  - Returns the device's serial number, never the seed or a code.
  - The codes used to enable the device are recorded in the TOTP ledger of the controller, so the lookup never hands
    them out again (AWS rejects a code that was already used).
author:
  - keyturn.aws developers (@keyturn)
options:
  user_name:
    description: The IAM user.
    type: str
    required: true
  device_name:
    description:
      - Name of the virtual MFA device (path C(/)). Its serial number is C(arn:<partition>:iam::<account>:mfa/<device_name>).
      - Defaults to I(user_name), the name the AWS console proposes.
    type: str
  state:
    description:
      - C(present) enrols and enables the device; C(absent) deactivates and deletes it and deletes the stored seed.
    type: str
    choices: [present, absent]
    default: present
  seed_name:
    description:
      - Store record name of the device's seed. Defaults to C(<account_id>/mfa/<user_name>).
    type: str
  account_id:
    description:
      - The 12-digit account that the task's credentials (after I(assume_role)) must reach. The task fails before
        any change when they reach another account.
    type: str
  audit_log:
    description:
      - Append a JSON line per change (who, when, user, serial number, seed name; never the seed or a code) to this
        file.
    type: path
  ledger_path:
    description:
      - The TOTP ledger (shared with the M(keyturn.aws.totp) lookup) in which the enrolment codes are recorded as used.
      - When not set, C(KEYTURN_AWS_TOTP_LEDGER_PATH) is used, else C(~/.ansible/keyturn/totp-ledger.json).
      - Its directory must exist (only the default one is created); a symbolic link is followed.
    type: path
extends_documentation_fragment:
  - keyturn.aws.connection
  - keyturn.aws.store
attributes:
  check_mode:
    support: full
    description: Reports what would be created, enabled, deactivated or deleted (in I(actions)); changes nothing.
  diff_mode:
    support: full
    description: Shows whether the device exists and is enabled, and whether a seed is stored, before and after.
notes:
  - The codes are computed on the controller; its clock must be right (within a few seconds), as for any TOTP device.
  - "Permissions needed: C(iam:ListMFADevices), C(iam:ListVirtualMFADevices), C(iam:CreateVirtualMFADevice),
    C(iam:EnableMFADevice), C(iam:DeactivateMFADevice), C(iam:DeleteVirtualMFADevice), and access to the store."
  - The MFA device of an account root user cannot be enrolled through the API; enrol it in the console and store its
    seed with M(keyturn.aws.totp_seed).
seealso:
  - plugin: keyturn.aws.totp
    plugin_type: lookup
  - module: keyturn.aws.totp_seed
"""

EXAMPLES = r"""
- name: Give the break-glass user a virtual MFA device, seed in the vault file store
  keyturn.aws.virtual_mfa:
    user_name: break-glass
    region: us-east-1
    store:
      type: file
      path: /etc/keyturn/secrets.vault.yml
    audit_log: /var/log/keyturn/audit.jsonl
  register: mfa

- name: Use it - temporary credentials with MFA for the break-glass user
  amazon.aws.sts_session_token:
    access_key: "{{ break_glass_access_key }}"
    secret_key: "{{ break_glass_secret_key }}"
    mfa_serial_number: "{{ mfa.serial_number }}"
    mfa_token: "{{ lookup('keyturn.aws.totp', mfa.seed_name, store={'type': 'file', 'path': '/etc/keyturn/secrets.vault.yml'}) }}"
  no_log: true
  register: session

- name: Remove the device and its stored seed
  keyturn.aws.virtual_mfa:
    user_name: break-glass
    state: absent
    region: us-east-1
    store:
      type: file
      path: /etc/keyturn/secrets.vault.yml
"""

RETURN = r"""
serial_number:
  description: Serial number (ARN) of the virtual MFA device, for C(mfa_serial_number) / C(SerialNumber) in STS calls.
  returned: always
  type: str
  sample: arn:aws:iam::123456789012:mfa/break-glass
user_name:
  description: The IAM user.
  returned: always
  type: str
  sample: break-glass
device_name:
  description: The device name.
  returned: always
  type: str
  sample: break-glass
seed_name:
  description: Store record name of the seed (give it to the M(keyturn.aws.totp) lookup).
  returned: always
  type: str
  sample: 123456789012/mfa/break-glass
state:
  description: The requested state.
  returned: always
  type: str
  sample: present
enabled:
  description: Whether the device is enabled for the user after the task (in check mode, would be).
  returned: always
  type: bool
  sample: true
account_id:
  description: The account the device is in.
  returned: always
  type: str
  sample: "123456789012"
partition:
  description: The partition of the account.
  returned: always
  type: str
  sample: aws
actions:
  description: What was done (in check mode, what would be done); empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample:
    - create the virtual MFA device arn:aws:iam::123456789012:mfa/break-glass and store its seed under '123456789012/mfa/break-glass'
    - enable arn:aws:iam::123456789012:mfa/break-glass for break-glass
msg:
  description: Summary.
  returned: always
  type: str
"""

from ansible_collections.keyturn.aws.plugins.module_utils._module import run_module
from ansible_collections.keyturn.aws.plugins.module_utils._virtual_mfa import ARGUMENT_SPEC, run


def main() -> None:
    run_module(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
