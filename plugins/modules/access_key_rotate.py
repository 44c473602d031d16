#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: access_key_rotate
short_description: Rotate the access keys of IAM users safely when they are due
version_added: 0.1.0
description:
  - Rotates the access key of each user in I(users) whose stored key is due (older than I(max_age_days)), whose
    store record is missing or invalid, or when I(force) is set.
  - Follows a crash-safe protocol per user. It makes room under the 2-key limit by removing only keys that are
    provably its own or Inactive. It records intent in the store before C(CreateAccessKey), stores the new secret
    as pending at once, and verifies the key with STS (consecutive successes, right user, account and partition).
    Only then is the key promoted to current and the old key retired. Every failure rolls back the new key and
    keeps the old one.
  - A later run finishes or rolls back a rotation that an earlier, interrupted run left pending, and removes the
    key that run created if its secret was lost.
  - Users are processed in parallel (I(concurrency)); one failed user never stops the others; the task fails
    after trying all of them if any failed.
author:
  - keyturn.aws developers (@keyturn)
options:
  users:
    description:
      - IAM user names, or dicts with C(name) and optional per-user C(store_name), C(max_age_days), C(force),
        C(retire) and C(unmanaged_keys).
      - Optional when I(user_filter) is given; the task then works on the union of both.
    type: list
    elements: raw
  self_rotate:
    description:
      - Authenticate as each user's own stored key to rotate it (users who may only manage their own keys), instead
        of the task's privileged credentials.
    type: bool
    default: false
extends_documentation_fragment:
  - keyturn.aws.connection
  - keyturn.aws.user_filter
  - keyturn.aws.store
  - keyturn.aws.rotation
  - keyturn.aws.task
attributes:
  check_mode:
    support: full
    description: Reports the exact plan per user (what would be removed, created and retired); changes nothing.
  diff_mode:
    support: full
    description: Shows each user's keys before and the plan after.
notes:
  - Onboarding a user whose current key is not yet in the store is possible without deleting a live key blindly.
    Either import the current secret into the store (M(keyturn.aws.access_key_reconcile) with
    I(import_credentials)), or rotate with I(unmanaged_keys=deactivate) so the unknown key is only set Inactive.
"""

EXAMPLES = r"""
- name: Rotate the keys of two service users that are older than 90 days
  keyturn.aws.access_key_rotate:
    region: us-east-1
    users:
      - ci-deployer
      - name: backup-agent
        max_age_days: 30
    store:
      type: file
      path: /etc/keyturn/credentials.vault.yml
    audit_log: /var/log/keyturn/audit.jsonl

- name: Rotate in a member account, secrets kept in the security account's Secrets Manager
  keyturn.aws.access_key_rotate:
    region: cn-north-1
    assume_role:
      role_arn: arn:aws-cn:iam::210987654321:role/keyturn-rotator
    users: [app-reader]
    store:
      type: secretsmanager
      prefix: keyturn/
"""

RETURN = r"""
selection:
  description:
    - With I(user_filter), what it selected (also in check mode); C(users) is what the task worked on.
  returned: when user_filter is given
  type: dict
  contains:
    filter:
      description: The filter, normalized.
      type: dict
    matched:
      description: Users the filter matched.
      type: list
      elements: str
    excluded:
      description: Users left out by I(exclude_groups) or I(exclude_tags), with the reason.
      type: dict
    listed:
      description: Users listed explicitly in I(users).
      type: list
      elements: str
    users:
      description: The union the task worked on (listed users first).
      type: list
      elements: str
users:
  description: One entry per user, in the order of I(users).
  returned: always
  type: list
  elements: dict
  contains:
    user_name:
      description: IAM user.
      type: str
    store_name:
      description: Name of the user's record in the store.
      type: str
    action:
      description: C(rotated), C(skipped) or C(failed) (in check mode, what a real run would do).
      type: str
    reason:
      description: Why the user was rotated, skipped or failed.
      type: str
    old_key_id:
      description: Access key ID that was current before the run.
      type: str
    new_key_id:
      description: Access key ID created by the run (never the secret).
      type: str
    plan:
      description: The steps taken (or, in check mode, to be taken).
      type: list
      elements: str
summary:
  description: Counts per action, and C(total).
  returned: always
  type: dict
  sample: {total: 3, rotated: 1, skipped: 2}
account_id:
  description: Account of the task's credentials.
  returned: always
  type: str
partition:
  description: Partition of the task's credentials.
  returned: always
  type: str
"""

from ansible_collections.keyturn.aws.plugins.module_utils._access_key_rotate import ARGUMENT_SPEC, run
from ansible_collections.keyturn.aws.plugins.module_utils._module import run_module


def main() -> None:
    run_module(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
