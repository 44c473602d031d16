#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: access_key_info
short_description: Discover every IAM access key of an account, with age, last use and store coverage
version_added: 0.1.0
description:
  - Lists the access keys of the given users, or of every user of the account (paginated), with status,
    creation time, age, last use (date, service, region), whether the key is managed by the store, and whether it
    is due under I(max_age_days). Returns account summary counts.
  - With I(store), a key is C(managed) when it is a stage of the user's record C(<account_id>/<user_name>); without
    a store, C(managed) is null.
  - Read-only.
author:
  - keyturn.aws developers (@keyturn)
options:
  users:
    description:
      - IAM users to describe; default every user under I(path_prefix).
      - With I(user_filter), the listed users and the users the filter selects.
    type: list
    elements: str
  path_prefix:
    description:
      - IAM path prefix when listing every user.
      - Starts and ends with C(/) as IAM requires (for example C(/) or C(/division/team/)); anything else fails.
    type: str
    default: /
  max_age_days:
    description: A key older than this is reported as due.
    type: int
    default: 90
  last_used:
    description: Read each key's last use (one C(GetAccessKeyLastUsed) call per key).
    type: bool
    default: true
  allow_missing_store:
    description:
      - With a C(file) store, a store file that does not exist is an error (a wrong I(store.path)) unless this is
        true; then every user reads as having no stored credential. For a check before the first rotation creates
        the store (the C(rotate_access_keys) role does that).
    type: bool
    default: false
extends_documentation_fragment:
  - keyturn.aws.connection
  - keyturn.aws.store.optional
  - keyturn.aws.task.parallel
  - keyturn.aws.user_filter
  - keyturn.aws.attributes.read_only
"""

EXAMPLES = r"""
- name: Every key of the account, compared with the store
  keyturn.aws.access_key_info:
    region: us-east-1
    store:
      type: file
      path: /etc/keyturn/credentials.vault.yml
  register: discovery

- name: Keys nobody manages yet
  ansible.builtin.debug:
    msg: "{{ discovery.users | map(attribute='keys') | flatten | rejectattr('managed') | map(attribute='access_key_id') }}"
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
  description: One entry per user with its keys.
  returned: always
  type: list
  elements: dict
  contains:
    user_name:
      description: IAM user.
      type: str
    store_name:
      description: The user's record name (when a store is given).
      type: str
    keys:
      description: Keys with C(access_key_id), C(status), C(created), C(age_days), C(due), C(managed), C(last_used).
      type: list
      elements: dict
summary:
  description: Counts of users, keys, active, inactive, due, managed, unmanaged and never used keys.
  returned: always
  type: dict
"""

from ansible_collections.keyturn.aws.plugins.module_utils._access_key_info import ARGUMENT_SPEC, run
from ansible_collections.keyturn.aws.plugins.module_utils._module import run_module


def main() -> None:
    run_module(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
