# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The estate: accounts of an AWS Organization, read with the collection's connection core.

:func:`discover` walks the organization (every Organizations call paginated) into
plain, JSON-serialisable data (so an inventory cache can hold it);
:func:`select` applies the filters and builds one host per account.  Both are
pure of Ansible; the inventory plugin ``keyturn.aws.accounts`` adapts them.
"""

from __future__ import annotations

import fnmatch
import re
import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._connection import AwsConnection, aws_call_errors
from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError, error_code, translate_aws_error
from ansible_collections.keyturn.aws.plugins.module_utils._partitions import resolve

DEFAULT_ROLE_NAME = "OrganizationAccountAccessRole"
HOSTNAME_CHOICES = ("name", "id")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_GROUP_UNSAFE = re.compile(r"[^A-Za-z0-9_]+")
_OU_ID = re.compile(r"^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$")


def _all(client: t.Any, operation: str, key: str, **kwargs: t.Any) -> t.List[t.Dict[str, t.Any]]:
    """Every item of a paginated Organizations call."""
    return list(client.get_paginator(operation).paginate(**kwargs).build_full_result().get(key) or [])


def discover(conn: AwsConnection) -> t.Dict[str, t.Any]:
    """Read the organization: the caller's account, the management account, every OU (with its
    path) and every account (with its parent OU and tags)."""
    doing = "reading the AWS Organization"
    caller = conn.caller_identity("identifying the inventory's own account (STS GetCallerIdentity)")
    client = conn.client("organizations")
    try:
        try:
            organization = client.describe_organization()["Organization"]
        except aws_call_errors() as exc:
            if error_code(exc) == "AWSOrganizationsNotInUseException":
                raise ValidationError(f"account {caller['account']} is not in an AWS Organization; the keyturn.aws.accounts "
                                      "inventory needs the management account or a delegated administrator")
            raise
        ous: t.Dict[str, t.Dict[str, t.Any]] = {}
        accounts: t.List[t.Dict[str, t.Any]] = []
        pending: t.List[str] = []
        for root in _all(client, "list_roots", "Roots"):
            ous[root["Id"]] = {"id": root["Id"], "name": root.get("Name") or "Root", "path": root.get("Name") or "Root",
                               "parent": None, "ancestors": [root["Id"]]}
            pending.append(root["Id"])
        while pending:
            parent = pending.pop(0)
            for ou in _all(client, "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent):
                ous[ou["Id"]] = {"id": ou["Id"], "name": ou.get("Name") or ou["Id"],
                                 "path": f"{ous[parent]['path']}/{ou.get('Name') or ou['Id']}",
                                 "parent": parent, "ancestors": ous[parent]["ancestors"] + [ou["Id"]]}
                pending.append(ou["Id"])
            for account in _all(client, "list_accounts_for_parent", "Accounts", ParentId=parent):
                tags = _all(client, "list_tags_for_resource", "Tags", ResourceId=account["Id"])
                accounts.append({"id": account["Id"], "name": account.get("Name") or account["Id"],
                                 "status": account.get("Status") or account.get("State") or "",
                                 "parent": parent, "tags": {tag["Key"]: tag.get("Value", "") for tag in tags}})
    except aws_call_errors() as exc:
        raise translate_aws_error(exc, doing)
    accounts.sort(key=lambda a: a["id"])
    return {"caller_account": caller["account"], "management_account": organization.get("MasterAccountId"),
            "organization_id": organization.get("Id"), "region": conn.region, "partition": conn.partition,
            "ous": ous, "accounts": accounts}


def safe_hostname(value: str) -> str:
    return _UNSAFE.sub("_", value).strip("_") or "account"


def group_name(prefix: str, value: str) -> str:
    return prefix + _GROUP_UNSAFE.sub("_", value).strip("_").lower()


def _matches(account: t.Mapping[str, t.Any], patterns: t.Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(account["id"], p) or fnmatch.fnmatchcase(account["name"], p) for p in patterns)


def _string_list(value: t.Any, option: str) -> t.List[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, (str, int)) and str(v) for v in value):
        raise ValidationError(f"{option} must be a list of strings")
    return [str(v) for v in value]


def select(data: t.Mapping[str, t.Any], options: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """The hosts and groups of the inventory: ``{"hosts": {name: vars}, "groups": {name: {"hosts": [...],
    "children": [...]}}}`` for the ACTIVE accounts that pass the filters."""
    ous = data["ous"]
    wanted_ous = _string_list(options.get("organizational_units"), "organizational_units")
    for ou_id in wanted_ous:
        if not _OU_ID.match(ou_id):
            raise ValidationError(f"organizational_units: {ou_id!r} is not an OU id (ou-xxxx-xxxxxxxx) or a root id (r-xxxx)")
        if ou_id not in ous:
            known = ", ".join(f"{o['id']} ({o['path']})" for o in ous.values())
            raise ValidationError(f"organizational_units: {ou_id} is not in organization {data.get('organization_id')}; "
                                  f"its OUs are: {known}")
    include = _string_list(options.get("include_accounts"), "include_accounts")
    exclude = _string_list(options.get("exclude_accounts"), "exclude_accounts")
    wanted_tags = options.get("account_tags") or {}
    if not isinstance(wanted_tags, t.Mapping):
        raise ValidationError("account_tags must be a dict of tag key to value (glob patterns allowed)")
    hostnames = options.get("hostnames") or "name"
    if hostnames not in HOSTNAME_CHOICES:
        raise ValidationError(f"hostnames must be one of {', '.join(HOSTNAME_CHOICES)}, got {hostnames!r}")
    role_name = str(options.get("role_name") or DEFAULT_ROLE_NAME).strip("/")
    info = resolve(str(data["region"]))
    chosen = []
    for account in data["accounts"]:
        if str(account.get("status")).upper() != "ACTIVE":
            continue
        if account["id"] == data.get("management_account") and not options.get("include_management_account", True):
            continue
        if wanted_ous and not set(ous[account["parent"]]["ancestors"]) & set(wanted_ous):
            continue
        if include and not _matches(account, include):
            continue
        if exclude and _matches(account, exclude):
            continue
        tags = account.get("tags") or {}
        if any(key not in tags or not fnmatch.fnmatchcase(str(tags[key]), str(value)) for key, value in wanted_tags.items()):
            continue
        chosen.append(account)
    names: t.Dict[str, int] = {}
    for account in chosen:
        base = account["id"] if hostnames == "id" else safe_hostname(account["name"])
        names[base] = names.get(base, 0) + 1
    hosts: t.Dict[str, t.Dict[str, t.Any]] = {}
    groups: t.Dict[str, t.Dict[str, t.List[str]]] = {}

    def group(name: str) -> t.Dict[str, t.List[str]]:
        return groups.setdefault(name, {"hosts": [], "children": []})

    for account in chosen:
        base = account["id"] if hostnames == "id" else safe_hostname(account["name"])
        host = base if names[base] == 1 else f"{base}_{account['id']}"
        parent = ous[account["parent"]]
        hostvars: t.Dict[str, t.Any] = {
            "ansible_connection": "local",
            "keyturn_account_id": account["id"],
            "keyturn_account_name": account["name"],
            "keyturn_partition": info.partition,
            "keyturn_region": info.region,
            "keyturn_ou_id": parent["id"],
            "keyturn_ou_path": parent["path"],
            "keyturn_account_tags": dict(account.get("tags") or {}),
            "keyturn_management_account": account["id"] == data.get("management_account"),
        }
        if account["id"] != data.get("caller_account"):
            role: t.Dict[str, t.Any] = {"role_arn": info.arn("iam", account["id"], f"role/{role_name}"),
                                        "session_name": str(options.get("role_session_name") or "keyturn-aws")}
            if options.get("external_id"):
                role["external_id"] = str(options["external_id"])
            hostvars["keyturn_assume_role"] = role
        hosts[host] = hostvars
        group(group_name("partition_", info.partition))["hosts"].append(host)
        ancestors = [ous[a] for a in parent["ancestors"] if ous[a]["parent"] is not None]
        if ancestors:
            group(group_name("ou_", ancestors[-1]["path"].split("/", 1)[1]))["hosts"].append(host)
        for upper, lower in zip(ancestors, ancestors[1:]):
            children = group(group_name("ou_", upper["path"].split("/", 1)[1]))["children"]
            child = group_name("ou_", lower["path"].split("/", 1)[1])
            group(child)
            if child not in children:
                children.append(child)
    return {"hosts": hosts, "groups": groups}
