#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: access_key_rollback
short_description: Make the previous access key of IAM users current again after a rotation
version_added: 0.1.0
description:
  - For each user in I(users), while the store's previous key still exists in IAM (Active during a
    I(retire_after) grace period of M(keyturn.aws.access_key_rotate), or Inactive after C(retire=deactivate)), makes
    it the current credential again.
  - The steps are in a safe order. The previous key is reactivated if it is Inactive and verified with STS (it must
    authenticate as the user, in the expected account and partition). Only then is the store record swapped back; the
    previous key becomes current and the rolled-back key becomes previous. Last, the rolled-back key is set Inactive
    (I(new_key=deactivate), the default, so it can be rolled forward by hand) or deleted (I(new_key=delete)).
  - If the previous key does not verify, nothing in the store changes, the current key is untouched, and a key
    reactivated for the check is set Inactive again.
  - Idempotent. A second run finds the user already rolled back and changes nothing (it only finishes retiring the
    rolled-back key if an earlier run stopped before that). A run interrupted between the store writes is finished by
    the next rollback or rotation run.
  - Fails a user, changing nothing, when there is no previous key in the store, when it no longer exists in IAM (it was
    retired), or when an interrupted rotation left a pending record (run M(keyturn.aws.access_key_rotate) first).
  - The restored key is the old one, so it is probably due. The next due run of M(keyturn.aws.access_key_rotate)
    issues a new key again; fix what made you roll back before that run.
author:
  - keyturn.aws developers (@keyturn)
options:
  users:
    description: IAM user names, or dicts with C(name) and optional C(store_name).
    type: list
    elements: raw
    required: true
  new_key:
    description: What happens to the rolled-back key (the one that was current) once the previous key is current again.
    type: str
    choices: [deactivate, delete]
    default: deactivate
  verify_successes:
    description: Consecutive successful STS C(GetCallerIdentity) calls with the previous key required before the swap.
    type: int
    default: 2
  verify_timeout:
    description: Seconds to wait for the previous key to work (a reactivated key may take a moment).
    type: int
    default: 60
extends_documentation_fragment:
  - keyturn.aws.connection
  - keyturn.aws.store
  - keyturn.aws.task
attributes:
  check_mode:
    support: full
    description: Reports the exact plan per user (what would be reactivated, swapped and retired); changes nothing.
  diff_mode:
    support: full
    description: Shows each user's keys before and the plan after.
notes:
  - Uses the same store leases as the other writers, so a rollback and a rotation of one user never run at once.
"""

EXAMPLES = r"""
- name: Roll back the last rotation of ci-deployer (the old key is still within its grace period)
  keyturn.aws.access_key_rollback:
    region: us-east-1
    users: [ci-deployer]
    store:
      type: file
      path: /etc/keyturn/credentials.vault.yml
    audit_log: /var/log/keyturn/audit.jsonl

- name: Roll back and delete the new key
  keyturn.aws.access_key_rollback:
    region: us-east-1
    users:
      - name: backup-agent
        store_name: prod/backup-agent
    new_key: delete
    store:
      type: secretsmanager
      prefix: keyturn/
"""

RETURN = r"""
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
      description: C(rolled_back), C(skipped) (already rolled back) or C(failed) (in check mode, what a real run would do).
      type: str
    reason:
      description: What was done, or why not.
      type: str
    restored_key_id:
      description: Access key ID that is current again.
      type: str
    rolled_back_key_id:
      description: Access key ID that was current before the rollback (now the previous key).
      type: str
    rolled_back_key_state:
      description: C(Inactive) or C(deleted), when this run retired the rolled-back key.
      type: str
      returned: when the rolled-back key was retired
    plan:
      description: The steps taken (or, in check mode, to be taken).
      type: list
      elements: str
summary:
  description: Counts per action, and C(total).
  returned: always
  type: dict
  sample: {total: 2, rolled_back: 1, skipped: 1}
account_id:
  description: Account of the task's credentials.
  returned: always
  type: str
account_alias:
  description:
    - The IAM alias of the account (C(ListAccountAliases), read once per task), as privileged-access managers
      name accounts. Null when the account has none or the identity may not read it.
  returned: always
  type: str
  sample: acme-production
partition:
  description: Partition of the task's credentials.
  returned: always
  type: str
"""

from ansible_collections.keyturn.aws.plugins.module_utils._access_key_rollback import ARGUMENT_SPEC, run
from ansible_collections.keyturn.aws.plugins.module_utils._module import run_module


def main() -> None:
    run_module(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
