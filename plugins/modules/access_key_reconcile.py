#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: access_key_reconcile
short_description: Replace lost or invalid stored IAM access keys using a privileged identity
version_added: 0.1.0
description:
  - For each user whose stored credential is missing or does not authenticate (or with I(force)), uses the task's
    privileged identity to issue a fresh key. It makes room under the 2-key limit with the same safety rules as
    M(keyturn.aws.access_key_rotate), stores the new key, verifies it, and retires the broken one.
  - Users whose stored credential works are left alone, so the module is idempotent.
  - With I(import_credentials), onboards a key that already exists instead. The key is verified to
    authenticate as the user and then stored as current; no key is created or deleted.
author:
  - keyturn.aws developers (@keyturn)
options:
  users:
    description: IAM user names, or dicts with C(name) and optional C(store_name), C(force), C(retire), C(unmanaged_keys).
    type: list
    elements: raw
    required: true
  import_credentials:
    description:
      - Existing keys to onboard into the store (for users listed in I(users)). Each must authenticate as its user.
    type: list
    elements: dict
    suboptions:
      user_name:
        description: IAM user the key belongs to.
        type: str
        required: true
      access_key_id:
        description: Access key ID.
        type: str
        required: true
      secret_access_key:
        description: Secret access key. Never logged.
        type: str
        required: true
  force:
    description: Issue a new key even when the stored credential works.
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
    description: Reports which users would be repaired and how; changes nothing.
  diff_mode:
    support: none
    description: The plan is in each result.
"""

EXAMPLES = r"""
- name: Repair users whose stored secret was lost or corrupted
  keyturn.aws.access_key_reconcile:
    region: us-east-1
    users: [ci-deployer, backup-agent]
    store:
      type: file
      path: /etc/keyturn/credentials.vault.yml

- name: Onboard a key that is in use today, without replacing it
  keyturn.aws.access_key_reconcile:
    region: us-east-1
    users: [legacy-app]
    import_credentials:
      - user_name: legacy-app
        access_key_id: "{{ legacy_app_key_id }}"
        secret_access_key: "{{ legacy_app_secret }}"
    store:
      type: file
      path: /etc/keyturn/credentials.vault.yml
"""

RETURN = r"""
account_alias:
  description:
    - The IAM alias of the account (C(ListAccountAliases), read once per task), as privileged-access managers
      name accounts. Null when the account has none or the identity may not read it.
  returned: always
  type: str
  sample: acme-production
users:
  description: One entry per user, in the order of I(users).
  returned: always
  type: list
  elements: dict
  contains:
    user_name:
      description: IAM user.
      type: str
    action:
      description: C(reconciled), C(imported), C(skipped) or C(failed).
      type: str
    reason:
      description: Why.
      type: str
    old_key_id:
      description: The stored key ID before the run.
      type: str
    new_key_id:
      description: The key ID stored by the run (never the secret).
      type: str
    plan:
      description: Steps taken (or planned in check mode).
      type: list
      elements: str
summary:
  description: Counts per action.
  returned: always
  type: dict
"""

from ansible_collections.keyturn.aws.plugins.module_utils._access_key_reconcile import ARGUMENT_SPEC, run
from ansible_collections.keyturn.aws.plugins.module_utils._module import run_module


def main() -> None:
    run_module(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
