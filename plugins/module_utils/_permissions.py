# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Identical-permissions check of a dual pair (DESIGN §3).

Two IAM users make a valid pair only when either can stand in for the other:
same groups, same attached managed policies, same inline policy documents
(compared as parsed JSON, URL-decoded as IAM returns them) and the same
permissions boundary.  :func:`compare` returns a readable list of what differs.
"""

from __future__ import annotations

import dataclasses
import json
import typing as t
import urllib.parse

from ansible_collections.keyturn.aws.plugins.module_utils._connection import aws_call_errors
from ansible_collections.keyturn.aws.plugins.module_utils._errors import AwsCallError, ValidationError, error_code, translate_aws_error
from ansible_collections.keyturn.aws.plugins.module_utils._iam_keys import paginate


@dataclasses.dataclass(frozen=True)
class UserPermissions:
    """Everything that decides what an IAM user may do (its own attachments)."""

    user_name: str
    groups: t.Tuple[str, ...] = ()
    managed_policies: t.Tuple[str, ...] = ()
    inline_policies: t.Mapping[str, t.Any] = dataclasses.field(default_factory=dict)
    permissions_boundary: t.Optional[str] = None
    arn: t.Optional[str] = None


def parse_policy_document(document: t.Any) -> t.Any:
    """A policy document as parsed JSON.  IAM returns inline documents
    URL-encoded; botocore usually decodes them already."""
    if isinstance(document, (dict, list)):
        return document
    text = str(document or "")
    for candidate in (text, urllib.parse.unquote(text)):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise ValidationError("an inline policy document returned by IAM is not valid JSON")


def _paginate(iam: t.Any, operation: str, key: str, doing: str, **kwargs: t.Any) -> t.List[t.Any]:
    try:
        return paginate(iam, operation, key, doing, **kwargs)
    except AwsCallError as exc:
        if exc.details.get("code") == "NoSuchEntity":
            raise ValidationError(f"IAM user {kwargs.get('UserName')} does not exist ({doing})")
        raise


def user_permissions(iam: t.Any, user: str) -> UserPermissions:
    """Read the groups, managed policies, inline policies and boundary of ``user``."""
    try:
        data = iam.get_user(UserName=user)["User"]
    except aws_call_errors() as exc:
        if error_code(exc) == "NoSuchEntity":
            raise ValidationError(f"IAM user {user} does not exist in the task's account")
        raise translate_aws_error(exc, f"reading IAM user {user}")
    boundary = (data.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn") or None
    groups = _paginate(iam, "list_groups_for_user", "Groups", f"listing the groups of {user}", UserName=user)
    managed = _paginate(iam, "list_attached_user_policies", "AttachedPolicies",
                        f"listing the managed policies attached to {user}", UserName=user)
    names = _paginate(iam, "list_user_policies", "PolicyNames", f"listing the inline policies of {user}", UserName=user)
    inline: t.Dict[str, t.Any] = {}
    for name in names:
        doing = f"reading inline policy {name} of {user}"
        try:
            document = iam.get_user_policy(UserName=user, PolicyName=name)["PolicyDocument"]
        except aws_call_errors() as exc:
            raise translate_aws_error(exc, doing)
        inline[str(name)] = parse_policy_document(document)
    return UserPermissions(
        user_name=user,
        groups=tuple(sorted(str(g["GroupName"]) for g in groups)),
        managed_policies=tuple(sorted(str(p["PolicyArn"]) for p in managed)),
        inline_policies=inline,
        permissions_boundary=str(boundary) if boundary else None,
        arn=data.get("Arn"),
    )


def _first_difference(left: t.Any, right: t.Any, path: str = "") -> str:
    """Where two parsed JSON documents first differ, e.g. ``Statement[0].Action``."""
    if isinstance(left, dict) and isinstance(right, dict):
        for key in sorted(set(left) | set(right), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in left or key not in right:
                return f"{where} is only in one document"
            if left[key] != right[key]:
                return _first_difference(left[key], right[key], where)
        return path or "the document"
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        for index, (one, other) in enumerate(zip(left, right)):
            if one != other:
                return _first_difference(one, other, f"{path}[{index}]")
    return f"{path or 'the document'}: {json.dumps(left, sort_keys=True)} vs {json.dumps(right, sort_keys=True)}"


def compare(first: UserPermissions, second: UserPermissions) -> t.List[str]:
    """What differs between the two users' permissions (empty when identical)."""
    a, b = first.user_name, second.user_name
    differences: t.List[str] = []

    def only(what: str, left: t.Iterable[str], right: t.Iterable[str]) -> None:
        left_set, right_set = set(left), set(right)
        for item in sorted(left_set - right_set):
            differences.append(f"{what} {item} applies to {a} only")
        for item in sorted(right_set - left_set):
            differences.append(f"{what} {item} applies to {b} only")

    only("group", first.groups, second.groups)
    only("managed policy", first.managed_policies, second.managed_policies)
    only("inline policy", first.inline_policies, second.inline_policies)
    for name in sorted(set(first.inline_policies) & set(second.inline_policies)):
        left, right = first.inline_policies[name], second.inline_policies[name]
        if left != right:
            differences.append(f"inline policy {name} differs between {a} and {b} ({_first_difference(left, right)})")
    if first.permissions_boundary != second.permissions_boundary:
        differences.append(f"permissions boundary differs: {a} has {first.permissions_boundary or 'none'}, "
                           f"{b} has {second.permissions_boundary or 'none'}")
    return differences


def summary(first: UserPermissions) -> t.Dict[str, t.Any]:
    """A small, secret-free description of one user's permissions for results."""
    return {
        "groups": list(first.groups),
        "managed_policies": list(first.managed_policies),
        "inline_policies": sorted(first.inline_policies),
        "permissions_boundary": first.permissions_boundary,
    }
