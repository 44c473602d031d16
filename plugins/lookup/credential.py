# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: credential
short_description: Current AWS credential from a keyturn.aws store (for a dual pair, the active member's)
version_added: 0.1.0
description:
  - Returns the current credential stored under each term, as written by M(keyturn.aws.access_key_rotate),
    M(keyturn.aws.dual_account_swap) and the other keyturn.aws modules.
  - A term that names a dual pair (a record written by M(keyturn.aws.dual_account_swap)) returns the credential of
    the pair's active member, so consumers always get the member that is not being rotated.
  - The secret is part of the returned value (that is what the lookup is for) but it is never displayed, and error
    messages never contain it. Use C(no_log) on tasks that pass it on.
author:
  - keyturn.aws developers (@keyturn)
options:
  _terms:
    description: Store names of user credential records (default C(<account_id>/<user_name>)) or of dual pairs.
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - keyturn.aws.connection
  - keyturn.aws.connection.plugins
  - keyturn.aws.store.plugins
notes:
  - A C(file) store is decrypted with the run's vault secrets; C(secretsmanager) and C(ssm) stores are read with the
    connection options (which can also come from environment variables and C(keyturn_aws_*) variables).
  - Returns one dict per term; use C(query) or C(wantlist=true) for several terms.
  - An unknown keyword option is an error that names it; with a C(file) store, a store file that does not exist is an
    error (check I(store.path)).
seealso:
  - module: keyturn.aws.dual_account_swap
  - module: keyturn.aws.access_key_rotate
"""

EXAMPLES = r"""
- name: Run the AWS CLI as the active member of a dual pair
  ansible.builtin.command: aws s3 ls
  environment:
    AWS_ACCESS_KEY_ID: "{{ cred.access_key_id }}"
    AWS_SECRET_ACCESS_KEY: "{{ cred.secret_access_key }}"
    AWS_DEFAULT_REGION: us-east-1
  vars:
    cred: "{{ lookup('keyturn.aws.credential', 'apps/billing-reader', store={'type': 'file', 'path': '/etc/keyturn/creds.vault.yml'}) }}"
  no_log: true
  changed_when: false

- name: Which user and key are current (never print the secret)
  ansible.builtin.debug:
    msg: "{{ cred.user_name }} in {{ cred.account_id }} ({{ cred.partition }}) uses {{ cred.access_key_id }}"
  vars:
    keyturn_aws_store:
      type: secretsmanager
      prefix: keyturn/
    keyturn_aws_region: us-east-1
    cred: "{{ lookup('keyturn.aws.credential', '123456789012/ci-deployer') }}"
"""

RETURN = r"""
_raw:
  description: One credential per term.
  type: list
  elements: dict
  contains:
    access_key_id:
      description: Access key ID.
      type: str
    secret_access_key:
      description: Secret access key. Never displayed by the lookup; protect it with C(no_log).
      type: str
    user_name:
      description: IAM user the key belongs to (for a pair, the active member).
      type: str
    account_id:
      description: Account of the user.
      type: str
    partition:
      description: Partition of the account (C(aws), C(aws-cn) or C(aws-us-gov)).
      type: str
"""

import typing as t

from ansible.errors import AnsibleLookupError

from ansible_collections.keyturn.aws.plugins.module_utils._errors import KeyturnError
from ansible_collections.keyturn.aws.plugins.module_utils._records import resolve_credential as resolve
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import StoreError
from ansible_collections.keyturn.aws.plugins.plugin_utils._lookup import KeyturnLookup


class LookupModule(KeyturnLookup):
    def run(self, terms: t.List[t.Any], variables: t.Optional[t.Dict[str, t.Any]] = None,
            **kwargs: t.Any) -> t.List[t.Dict[str, t.Any]]:
        try:
            ctx = self.keyturn_setup(variables, kwargs)
            if not terms:
                raise AnsibleLookupError("keyturn.aws.credential needs at least one store name")
            store = self.keyturn_store(ctx)
            return [resolve(store, str(term)) for term in terms]
        except AnsibleLookupError:
            raise
        except (KeyturnError, StoreError) as exc:
            raise self.keyturn_error(exc)
