# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: accounts
short_description: One inventory host per ACTIVE account of an AWS Organization
version_added: 0.1.0
description:
  - Reads an AWS Organization with the credentials of its management account (or of a delegated administrator)
    and makes one host per ACTIVE account, ready for the keyturn.aws modules, roles and playbooks such as
    C(keyturn.aws.rotate_accounts).
  - Every host gets C(ansible_connection=local) (the work runs on the controller) and the variables
    C(keyturn_account_id), C(keyturn_account_name), C(keyturn_partition), C(keyturn_region), C(keyturn_ou_id),
    C(keyturn_ou_path) (OU names from the root, for example C(Root/Production/Web)), C(keyturn_account_tags),
    C(keyturn_management_account) and C(keyturn_assume_role).
  - C(keyturn_assume_role) is a dict for the modules' I(assume_role) option (C(role_arn) built for the partition of
    I(region), C(session_name), and C(external_id) when set). It is absent for the account the inventory's own
    credentials are in, whose work needs no role.
  - Groups are C(partition_<partition>) (for example C(partition_aws_us_gov)) and one C(ou_<path>) group per OU
    (for example C(ou_production_web)), a child of its parent OU's group, so C(ou_production) holds every account
    below that OU. Accounts directly under the root are in no OU group.
  - The configuration file name must end with C(keyturn_accounts.yml) or C(keyturn_accounts.yaml).
  - Every Organizations call is paginated. Errors (an unknown OU, credentials that are refused, an account that is not
    in an organization) fail the inventory source with a message saying what was wrong.
author:
  - keyturn.aws developers (@keyturn)
options:
  plugin:
    description: Token that ensures this is a configuration file for this plugin.
    type: str
    required: true
    choices: [keyturn.aws.accounts]
  role_name:
    description:
      - Name (optionally with a path, C(path/name)) of the role to assume in each member account.
    type: str
    default: OrganizationAccountAccessRole
  role_session_name:
    description: Role session name put into C(keyturn_assume_role) (appears in CloudTrail).
    type: str
    default: keyturn-aws
  external_id:
    description:
      - External ID the member accounts' role trust policies require; put into C(keyturn_assume_role).
      - Like every inventory variable it is shown by C(ansible-inventory --list); AWS documents external IDs as
        guards against the confused deputy problem, not as secrets. The modules never display it.
    type: str
  organizational_units:
    description:
      - Only accounts in these OUs (OU ids C(ou-...) or a root id C(r-...)), at any depth below them.
    type: list
    elements: str
    default: []
  include_accounts:
    description: Only accounts whose id or name matches one of these shell-style patterns (C(prod-*), C(1234*)).
    type: list
    elements: str
    default: []
  exclude_accounts:
    description: Leave out accounts whose id or name matches one of these shell-style patterns.
    type: list
    elements: str
    default: []
  account_tags:
    description: Only accounts that have every one of these tags; values are shell-style patterns (C(*) matches any value).
    type: dict
    default: {}
  include_management_account:
    description: Include the organization's management account (only ACTIVE accounts are ever included).
    type: bool
    default: true
  hostnames:
    description:
      - C(name) names hosts after the account name made safe (characters other than letters, digits, C(.), C(_) and
        C(-) become C(_); two accounts with the same safe name get C(_<account id>) appended);
        C(id) names them after the account id.
    type: str
    default: name
    choices: [name, id]
extends_documentation_fragment:
  - keyturn.aws.connection.inventory
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
notes:
  - The inventory's credentials need C(organizations:DescribeOrganization), C(organizations:ListRoots),
    C(organizations:ListOrganizationalUnitsForParent), C(organizations:ListAccountsForParent),
    C(organizations:ListTagsForResource) and C(sts:GetCallerIdentity).
  - The playbooks' credentials (the same ones, usually) need C(sts:AssumeRole) on I(role_name) in every member account.
seealso:
  - module: keyturn.aws.access_key_rotate
"""

EXAMPLES = r"""
# prod.keyturn_accounts.yml
plugin: keyturn.aws.accounts
region: us-east-1
organizational_units: [ou-ab12-prod0001]
exclude_accounts: [sandbox-*]
account_tags:
  keyturn: managed
keyed_groups:
  - key: keyturn_account_tags.team | default('none')
    prefix: team

# govcloud.keyturn_accounts.yml: the GovCloud organization, hosts named by account id
# plugin: keyturn.aws.accounts
# profile: govcloud-management
# region: us-gov-west-1
# hostnames: id
# role_name: SecurityAuditRotation
# external_id: rotation-2025
# cache: true
# cache_plugin: ansible.builtin.jsonfile
# cache_connection: /var/cache/keyturn-inventory
"""

import typing as t

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.keyturn.aws.plugins.module_utils._connection import AwsConnection
from ansible_collections.keyturn.aws.plugins.module_utils._errors import KeyturnError
from ansible_collections.keyturn.aws.plugins.module_utils._options import CONNECTION_OPTION_NAMES, connection_params
from ansible_collections.keyturn.aws.plugins.module_utils._organizations import discover, select

SELECT_OPTIONS = ("organizational_units", "include_accounts", "exclude_accounts", "account_tags",
                  "include_management_account", "hostnames", "role_name", "role_session_name", "external_id")


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """keyturn.aws.accounts: the accounts of an AWS Organization as hosts."""

    NAME = "keyturn.aws.accounts"

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(("keyturn_accounts.yml", "keyturn_accounts.yaml"))

    def parse(self, inventory: t.Any, loader: t.Any, path: str, cache: bool = True) -> None:
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        update_cache = self.get_option("cache") and not cache
        data = None
        if use_cache:
            try:
                data = self._cache[cache_key]
            except KeyError:
                update_cache = True
        try:
            if data is None:
                values = {name: self.get_option(name) for name in CONNECTION_OPTION_NAMES}
                data = discover(AwsConnection(connection_params(values)).assumed())
            if update_cache:
                self._cache[cache_key] = data
            found = select(data, {name: self.get_option(name) for name in SELECT_OPTIONS})
        except KeyturnError as exc:
            raise AnsibleParserError(f"keyturn.aws.accounts ({path}): {exc.msg}") from None
        self._populate(found)

    def _populate(self, found: t.Mapping[str, t.Any]) -> None:
        strict = self.get_option("strict")
        for group, members in found["groups"].items():
            self.inventory.add_group(group)
        for group, members in found["groups"].items():
            for child in members["children"]:
                self.inventory.add_child(group, child)
        for host, hostvars in found["hosts"].items():
            self.inventory.add_host(host)
            for name, value in hostvars.items():
                self.inventory.set_variable(host, name, value)
            for group, members in found["groups"].items():
                if host in members["hosts"]:
                    self.inventory.add_child(group, host)
            self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)
