#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dual_account_swap
short_description: Advance a dual (active/inactive) pair of IAM users one safe step
version_added: 0.1.0
description:
  - Manages a dual-account pair in the way of a privileged-access manager's I(Dual Accounts). Two IAM users with
    identical permissions take turns. Applications use the active member, read with the P(keyturn.aws.credential#lookup)
    lookup on the pair name. Keys are only ever rotated on the inactive member, so consumers are never broken.
  - Each run advances the pair at most one step and is idempotent.
  - C(initialized) - both members get managed keys (the same crash-safe rotation protocol as
    M(keyturn.aws.access_key_rotate)) and the pair record is written to the store, with the first of I(users) active.
    A member whose stored key is lost or Inactive gets a new one the same way.
  - C(swapped) - when the active member's key is I(max_age_days) old (or with I(force)), the standby's stored key is
    first verified with STS, then the pair record flips the active member and records when.
  - C(rotated_inactive) - once I(grace_period) seconds have passed since the swap (consumers had time to pick up the
    newly active member), the now-inactive member's key is rotated.
  - C(none) - nothing is possible yet; RV(next_step_after) says when the next step becomes possible.
  - The two members must have identical permissions (groups, attached managed policies, inline policy documents and
    permissions boundary). A mismatch fails the task with the differences, before anything changes.
  - The pair record is changed under a lease on the pair's name, so overlapping runs (for example two scheduled
    jobs) take turns.
author:
  - keyturn.aws developers (@keyturn)
options:
  pair:
    description:
      - Store name of the pair record, for example C(apps/billing-reader).
      - The record holds the members, the active member, when the pair was last swapped and the store names of the
        members' own credential records (C(<account_id>/<user_name>)). It never holds a secret.
    type: str
    required: true
  users:
    description:
      - The two members of the pair (IAM user names in the task's account). They must be distinct.
      - The first one is active after initialization. The members of an existing pair cannot be changed.
    type: list
    elements: str
    required: true
  grace_period:
    description:
      - Seconds consumers get to pick up a newly active member before the now-inactive member's key is rotated
        (0 to 2592000).
    type: int
    default: 3600
  check_permissions:
    description:
      - Check on every run that both members have identical permissions; a mismatch fails the task before anything
        changes.
      - Needs C(iam:GetUser), C(iam:ListGroupsForUser), C(iam:ListAttachedUserPolicies), C(iam:ListUserPolicies) and
        C(iam:GetUserPolicy).
    type: bool
    default: true
  max_age_days:
    description:
      - The pair is swapped once the active member's key is this many days old (0 swaps on every idle run).
    type: int
    default: 90
  force:
    description:
      - Swap even when the active member's key is not due.
      - Never shortens I(grace_period) and never skips a step; with I(force) each run still advances one step.
    type: bool
    default: false
extends_documentation_fragment:
  - keyturn.aws.connection
  - keyturn.aws.store
  - keyturn.aws.rotation
  - keyturn.aws.task
attributes:
  check_mode:
    support: full
    description:
      - Reports the step a real run would take (and the rotation plan of the members involved); changes nothing in
        IAM or the store. A swap still checks the standby's key with STS, so check mode predicts a refused swap.
  diff_mode:
    support: full
    description: Shows the pair record before and after the step.
notes:
  - The task's credentials are used for every IAM call (the members never need IAM permissions of their own).
  - Read the active member's credential with C(lookup('keyturn.aws.credential', pair, store=...)).
seealso:
  - module: keyturn.aws.access_key_rotate
  - plugin: keyturn.aws.credential
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Advance the billing-reader pair one step (swap when due, rotate the inactive member an hour later)
  keyturn.aws.dual_account_swap:
    region: us-east-1
    pair: apps/billing-reader
    users: [billing-reader-a, billing-reader-b]
    max_age_days: 30
    grace_period: 3600
    store:
      type: secretsmanager
      prefix: keyturn/
    audit_log: /var/log/keyturn/audit.jsonl
  register: swap

- name: Swap now (for example after a suspected leak), the pair in a member account
  keyturn.aws.dual_account_swap:
    region: us-gov-west-1
    assume_role:
      role_arn: arn:aws-us-gov:iam::123456789012:role/keyturn-rotator
    pair: gov/etl
    users: [etl-a, etl-b]
    force: true
    store:
      type: file
      path: /etc/keyturn/credentials.vault.yml

- name: Use the active member in another task
  ansible.builtin.command: aws sts get-caller-identity
  environment:
    AWS_ACCESS_KEY_ID: "{{ cred.access_key_id }}"
    AWS_SECRET_ACCESS_KEY: "{{ cred.secret_access_key }}"
  vars:
    cred: "{{ lookup('keyturn.aws.credential', 'apps/billing-reader', store={'type': 'secretsmanager'}, region='us-east-1') }}"
  no_log: true
  changed_when: false
"""

RETURN = r"""
step:
  description:
    - What this run did (in check mode, what a real run would do) - C(initialized), C(swapped), C(rotated_inactive)
      or C(none).
  returned: always
  type: str
  sample: swapped
active_user:
  description: The active member after this run.
  returned: always
  type: str
  sample: billing-reader-b
inactive_user:
  description: The inactive (standby) member after this run.
  returned: always
  type: str
  sample: billing-reader-a
next_step_after:
  description:
    - When the next step becomes possible (ISO 8601, UTC) - the end of the grace period after a swap, or when the active
      member's key becomes due. Null when not known yet.
  returned: always
  type: str
  sample: "2025-03-01T12:00:00Z"
swapped_at:
  description: When the pair was last swapped (ISO 8601, UTC); null before the first swap.
  returned: always
  type: str
reason:
  description: Why this step was taken, or why nothing was done.
  returned: always
  type: str
pair:
  description: Store name of the pair record.
  returned: always
  type: str
results:
  description:
    - Rotation results of the members whose keys this run rotated or issued (empty for a swap or no step), with the
      same fields as the results of M(keyturn.aws.access_key_rotate).
  returned: always
  type: list
  elements: dict
  contains:
    user_name:
      description: IAM user.
      type: str
    store_name:
      description: Name of the member's credential record in the store.
      type: str
    action:
      description: C(rotated), C(skipped) or C(failed).
      type: str
    reason:
      description: Why.
      type: str
    old_key_id:
      description: Access key ID that was current before the rotation.
      type: str
    new_key_id:
      description: Access key ID created by the rotation (never the secret).
      type: str
    plan:
      description: The steps taken (or, in check mode, to be taken).
      type: list
      elements: str
standby_verification:
  description: Result of the STS check of the standby's stored key before a swap.
  returned: when the step is C(swapped)
  type: dict
  sample: {user_name: billing-reader-b, access_key_id: AKIAEXAMPLEEXAMPLE01, ok: true, reason: authenticates}
permission_differences:
  description: What differs between the members' permissions, when the pair was refused for that reason.
  returned: when the permissions differ
  type: list
  elements: str
  sample: ["inline policy read differs between app-a and app-b (Statement[0].Action: ...)"]
account_id:
  description: Account of the task's credentials.
  returned: always
  type: str
partition:
  description: Partition of the task's credentials.
  returned: always
  type: str
"""

from ansible_collections.keyturn.aws.plugins.module_utils._dual import ARGUMENT_SPEC, run
from ansible_collections.keyturn.aws.plugins.module_utils._module import run_module


def main() -> None:
    run_module(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
