#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: access_key_locate
short_description: Find who owns an IAM access key and which store record knows it
version_added: 0.2.0
description:
  - Answers the first question of an incident (an exposed key) - whose key is this, is it managed, and how is it
    used. IAM C(GetAccessKeyLastUsed) names the owning user; the user's keys give the status and creation time.
  - With I(store), finds the record whose current, previous or pending stage holds the key (the user's record
    C(<account_id>/<user_name>) or I(store_name) first, then every record with I(scan_store)), and the dual pair
    (M(keyturn.aws.dual_account_swap)) the user belongs to, if any. Without I(store), C(managed), C(store_name),
    C(stage) and C(pair) are null.
  - Read-only; never returns a secret.
author:
  - keyturn.aws developers (@keyturn)
options:
  access_key_id:
    description: The access key ID (C(AKIA...)) to look up.
    type: str
    required: true
  store_name:
    description: The record to check first (default C(<account_id>/<user_name>)). Needs I(store).
    type: str
  scan_store:
    description:
      - Read every record of the store to find the key's record when it is not under the first name, and to find the
        user's dual pair. Turn off for very large AWS stores when records use the default names and pairs are not used.
    type: bool
    default: true
  account_id:
    description: The 12-digit account the task's credentials (after I(assume_role)) must reach.
    type: str
  incident:
    description:
      - The record of a response to this key (for example the incident report of the playbook
        C(keyturn.aws.respond_exposed_key), built with P(keyturn.aws.exposed_key_report#filter)), appended to
        I(audit_log) as one event C(exposed_key_incident), under the audit log's lock. Not written in check mode.
      - Fields whose names look like secrets are refused.
    type: dict
  audit_log:
    description: The audit log (JSON lines, mode 0600) for I(incident).
    type: path
extends_documentation_fragment:
  - keyturn.aws.connection
  - keyturn.aws.store.optional
attributes:
  check_mode:
    support: full
    description: Read-only in any mode (I(incident) is not logged in check mode).
  diff_mode:
    support: none
    description: Nothing changes.
notes:
  - Needs C(iam:GetAccessKeyLastUsed) and C(iam:ListAccessKeys), and read access to the store.
seealso:
  - module: keyturn.aws.access_key_retire
  - module: keyturn.aws.access_key_rotate
"""

EXAMPLES = r"""
- name: Whose key is this?
  keyturn.aws.access_key_locate:
    region: us-east-1
    access_key_id: AKIAIOSFODNN7EXAMPLE
    store:
      type: file
      path: /etc/keyturn/credentials.vault.yml
  register: located

- name: Rotate it when it is the current credential of a record
  keyturn.aws.access_key_rotate:
    region: us-east-1
    users:
      - name: "{{ located.user_name }}"
        store_name: "{{ located.store_name }}"
    force: true
    store:
      type: file
      path: /etc/keyturn/credentials.vault.yml
  when: located.stage == 'current'
"""

RETURN = r"""
found:
  description: Whether the account has the key.
  returned: always
  type: bool
access_key_id:
  description: The key looked up.
  returned: always
  type: str
user_name:
  description: The owning IAM user (null when not found).
  returned: always
  type: str
status:
  description: C(Active) or C(Inactive) (null when not found).
  returned: always
  type: str
created:
  description: When the key was created (ISO 8601, UTC).
  returned: always
  type: str
last_used:
  description: The key's last use - C(date), C(service), C(region) (nulls when never used).
  returned: when found
  type: dict
managed:
  description: Whether a store record holds the key (null without I(store)).
  returned: always
  type: bool
store_name:
  description: The record that holds the key.
  returned: always
  type: str
stage:
  description: The stage of the record that holds the key - C(current), C(previous) or C(pending).
  returned: always
  type: str
pair:
  description:
    - The dual pair the user is a member of - C(name), C(users), C(active_user), C(inactive_user), C(member_active)
      (the user is the active member), C(rotation_pending), C(member_store_name). Null when none.
  returned: always
  type: dict
account_id:
  description: Account of the task's credentials.
  returned: always
  type: str
partition:
  description: Partition of the task's credentials.
  returned: always
  type: str
"""

from ansible_collections.keyturn.aws.plugins.module_utils._access_key_locate import ARGUMENT_SPEC, run
from ansible_collections.keyturn.aws.plugins.module_utils._module import run_module


def main() -> None:
    run_module(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
