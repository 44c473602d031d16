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
  retire_after:
    description:
      - Seconds the old key stays Active after the cut-over (the moment the new key becomes current in the store), so
        that applications holding the old key keep working until they have the new one.
      - C(0) (default) retires the old key in the same run, right after the new key is verified and promoted.
      - With a grace period, the store record keeps the cut-over time, and every later run of this module over that
        user (due or not) retires the old key once the wait is over, judged by the I(retire_after),
        I(retire_when_idle) and I(retire) of that later run. Until then the result, check mode, diff, the audit log
        and the report show the pending retirement.
      - A due rotation never removes an old key that is still waiting; it is postponed (C(skipped), with a warning)
        until the old key is retired.
    type: int
    default: 0
  retire_when_idle:
    description:
      - In addition to I(retire_after), retire the old key only when IAM's last use of it (C(GetAccessKeyLastUsed))
        is older than this many seconds. C(0) (default) does not check the last use.
      - keyturn's own calls do not count as use. After the cut-over keyturn never signs with the old key, and the
        record keeps the last time keyturn itself signed with it (its verifications), so a last use that is
        keyturn's own (up to 2 minutes after it) is told apart. Calls of M(keyturn.aws.access_key_verify) are not
        recorded and count as use, which only keeps the key longer.
      - While the key is still in use it stays Active, and every run reports it (C(retirement) with the last use
        date, service and region).
      - AWS updates last-use data with a delay (AWS says it can take up to 4 hours to appear), so a key used a few
        minutes ago may still look idle. Choose I(retire_after) longer than that delay when you rely on this check.
    type: int
    default: 0
extends_documentation_fragment:
  - keyturn.aws.connection
  - keyturn.aws.user_filter
  - keyturn.aws.store
  - keyturn.aws.rotation
  - keyturn.aws.rotation.due
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
  - An unmanaged key is retired only after the new key is verified, when the user has room for a second key. With
    two keys and no key that is provably ours to remove, I(unmanaged_keys=delete) deletes the unmanaged key before
    creating the new one (the message then says so), and I(unmanaged_keys=deactivate) changes nothing and fails that
    user, since an Inactive key still counts toward the limit of two.
  - An Inactive key, including one that keyturn set Inactive during onboarding, is kept until a later rotation needs
    its slot; that rotation deletes it, whatever I(unmanaged_keys) says. Reactivate it before then if something
    still needs it, and import it with M(keyturn.aws.access_key_reconcile).
  - When the task's own credentials belong to one of the I(users), that user is rotated last and the task switches
    to the new key before the old one is retired.
  - M(keyturn.aws.access_key_rollback) makes the previous key current again while it still exists (for example
    during the I(retire_after) grace period).
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

- name: Rotate, but keep each old key Active for a day and until IAM has not seen it used for 4 hours
  keyturn.aws.access_key_rotate:
    region: us-east-1
    users: [ci-deployer]
    retire_after: 86400
    retire_when_idle: 14400
    store:
      type: file
      path: /etc/keyturn/credentials.vault.yml

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
account_alias:
  description:
    - The IAM alias of the account (C(ListAccountAliases), read once per task), as privileged-access managers
      name accounts. Null when the account has none or the identity may not read it.
  returned: always
  type: str
  sample: acme-production
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
    retirement:
      description:
        - The retirement of the replaced key, when there is one to retire (this run's old key or the store's previous
          key that is still alive).
      type: dict
      returned: when an old key was retired or is waiting to be retired
      contains:
        key_id:
          description: Access key ID of the old key.
          type: str
        state:
          description:
            - C(retired) (done by this run), C(ready) (check mode, would be retired), C(waiting) (I(retire_after) is not
              over) or C(in_use) (I(retire_when_idle), IAM saw it used recently).
          type: str
        reason:
          description: Why, in words.
          type: str
        cut_over:
          description: When the new key became current (ISO 8601, UTC).
          type: str
        retire_at:
          description: Earliest time a later run retires the key (waiting or in use).
          type: str
        last_used:
          description: IAM's last use of the old key (C(date), C(service), C(region), C(by_keyturn)), when checked.
          type: dict
    retired_key_id:
      description: Access key ID retired by this run (deleted or set Inactive), when there is one.
      type: str
      returned: when an old key was retired
    unmanaged_retired:
      description: Unmanaged keys retired after the new key was verified (C(key_id), C(action)).
      type: list
      elements: dict
      returned: when unmanaged keys were retired
    removed_key_ids:
      description: Keys removed before the new key was created, to make room under the 2-key limit.
      type: list
      elements: str
      returned: when keys were removed to make room
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
