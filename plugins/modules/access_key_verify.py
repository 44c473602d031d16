#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: access_key_verify
short_description: Verify that stored IAM access keys authenticate as the expected users
version_added: 0.1.0
description:
  - For each user, checks that the store's current credential authenticates with STS as that user, in the
    expected account and partition, and reports the key's age.
  - Reports drift. That covers a stored key missing or Inactive in IAM, keys the store does not know, and a
    pending record left by an interrupted rotation.
  - Never changes anything in AWS or the store.
author:
  - keyturn.aws developers (@keyturn)
options:
  users:
    description:
      - IAM user names, or dicts with C(name) and optional C(store_name).
      - Optional when I(user_filter) is given; the task then works on the union of both.
    type: list
    elements: raw
  max_age_days:
    description: Report a key as due when it is this many days old.
    type: int
    default: 90
  fail_on_invalid:
    description: Fail the task when any stored credential is missing or does not authenticate.
    type: bool
    default: false
  allow_missing_store:
    description:
      - With a C(file) store, a store file that does not exist is an error (a wrong I(store.path)) unless this is
        true; then every user reads as having no stored credential. For a check before the first rotation creates
        the store (the C(rotate_access_keys) role does that).
    type: bool
    default: false
extends_documentation_fragment:
  - keyturn.aws.connection
  - keyturn.aws.user_filter
  - keyturn.aws.store
  - keyturn.aws.task
  - keyturn.aws.attributes.read_only
"""

EXAMPLES = r"""
- name: Verify the stored keys of the CI users
  keyturn.aws.access_key_verify:
    region: us-east-1
    users: [ci-deployer, backup-agent]
    store:
      type: file
      path: /etc/keyturn/credentials.vault.yml
  register: verification

- name: Show users whose stored key does not work
  ansible.builtin.debug:
    msg: "{{ verification.users | rejectattr('valid') | map(attribute='user_name') | list }}"
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
    verified_at:
      description:
        - When keyturn signed with the stored key to verify it (UTC). IAM records that call as the key's last use
          (service C(sts)); reports show such a last use as keyturn's own verification, not as use by others.
      type: str
      returned: when the stored key was verified
    user_name:
      description: IAM user.
      type: str
    store_name:
      description: Record name in the store.
      type: str
    status:
      description: C(valid), C(invalid), C(missing) (no stored credential) or C(error) (store unreadable).
      type: str
    valid:
      description: Whether the stored credential authenticates as the user.
      type: bool
    reason:
      description: Why it is (not) valid.
      type: str
    access_key_id:
      description: The stored current key ID.
      type: str
    key_age_days:
      description: Age of the stored key in days.
      type: float
    due:
      description: Whether the key is older than I(max_age_days).
      type: bool
    drift:
      description: Differences between the store and IAM.
      type: list
      elements: str
    keys:
      description: The user's keys in IAM (ID, status, created, age).
      type: list
      elements: dict
summary:
  description: Counts per status, C(total) and C(drift).
  returned: always
  type: dict
"""

from ansible_collections.keyturn.aws.plugins.module_utils._access_key_verify import ARGUMENT_SPEC, run
from ansible_collections.keyturn.aws.plugins.module_utils._module import run_module


def main() -> None:
    run_module(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
