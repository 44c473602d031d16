# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``user_filter``: choose IAM users by path, tags and groups (access_key_rotate, _verify and _info).

A user is selected when it is under ``path_prefix``, has every tag of ``tags``,
is a member of at least one of ``groups`` (when given), is in none of
``exclude_groups`` and has none of ``exclude_tags``.  Tag values are
shell-style patterns (``*`` matches any value).  Users listed explicitly in
``users`` are always taken as well (the union): listing a user is explicit
intent, the filter only adds users.  Every IAM listing is paginated.
"""

from __future__ import annotations

import fnmatch
import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._connection import aws_call_errors
from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError, error_code, translate_aws_error
from ansible_collections.keyturn.aws.plugins.module_utils._iam_keys import call
from ansible_collections.keyturn.aws.plugins.module_utils._validate import check_user_name

USER_FILTER_KEYS = ("path_prefix", "tags", "groups", "exclude_groups", "exclude_tags")
USER_FILTER_OPTION: t.Dict[str, t.Any] = {"type": "dict", "options": {
    "path_prefix": {"type": "str", "default": "/"},
    "tags": {"type": "dict"},
    "groups": {"type": "list", "elements": "str"},
    "exclude_groups": {"type": "list", "elements": "str"},
    "exclude_tags": {"type": "dict"},
}}


def _names(value: t.Any, option: str) -> t.List[str]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise ValidationError(f"user_filter.{option} must be a list of IAM group names")
    return list(value)


def _tags(value: t.Any, option: str) -> t.Dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, t.Mapping) or not all(isinstance(k, str) and k for k in value):
        raise ValidationError(f"user_filter.{option} must be a dict of tag key to value (shell-style patterns; '*' matches any value)")
    out = {}
    for key, pattern in value.items():
        if not isinstance(pattern, (str, int, float, bool)) and pattern is not None:
            raise ValidationError(f"user_filter.{option}.{key} must be a string (a value or a shell-style pattern)")
        out[key] = "*" if pattern is None else str(pattern)
    return out


def parse_user_filter(value: t.Any) -> t.Optional[t.Dict[str, t.Any]]:
    """Validate ``user_filter`` (None when not given); raises ValidationError naming what is wrong."""
    if value is None:
        return None
    if not isinstance(value, t.Mapping):
        raise ValidationError("user_filter must be a dict with any of: " + ", ".join(USER_FILTER_KEYS))
    unknown = sorted(str(k) for k in set(value) - set(USER_FILTER_KEYS))
    if unknown:
        raise ValidationError(f"user_filter has unknown keys {unknown}; accepted: {', '.join(USER_FILTER_KEYS)}")
    path = value.get("path_prefix") or "/"
    if not isinstance(path, str) or not path.startswith("/"):
        raise ValidationError(f"user_filter.path_prefix must be an IAM path starting with '/', got {path!r}")
    return {"path_prefix": path, "tags": _tags(value.get("tags"), "tags"), "groups": _names(value.get("groups"), "groups"),
            "exclude_groups": _names(value.get("exclude_groups"), "exclude_groups"),
            "exclude_tags": _tags(value.get("exclude_tags"), "exclude_tags")}


def check_selection_input(params: t.Mapping[str, t.Any]) -> t.Optional[t.Dict[str, t.Any]]:
    """Before any AWS call: ``users`` or ``user_filter`` (or both) must be given."""
    spec = parse_user_filter(params.get("user_filter"))
    users = params.get("users")
    if spec is None and not users:
        raise ValidationError("give users (a non-empty list), user_filter (a dict), or both")
    if users is not None and not isinstance(users, list):
        raise ValidationError("users must be a list of IAM user names or dicts with a name key")
    return spec


def _group_members(iam: t.Any, group: str, account_id: str) -> t.Set[str]:
    members: t.Set[str] = set()
    try:
        for page in iam.get_paginator("get_group").paginate(GroupName=group):
            members.update(user["UserName"] for user in page["Users"])
    except aws_call_errors() as exc:
        if error_code(exc) == "NoSuchEntity":
            raise ValidationError(f"user_filter: IAM group {group} does not exist in account {account_id}")
        raise translate_aws_error(exc, f"listing the members of IAM group {group}")
    return members


def _user_tags(iam: t.Any, user: str) -> t.Dict[str, str]:
    tags: t.Dict[str, str] = {}
    marker = None
    while True:
        kwargs: t.Dict[str, t.Any] = {"UserName": user}
        if marker:
            kwargs["Marker"] = marker
        page = call(f"listing the tags of {user}", iam.list_user_tags, **kwargs)
        tags.update({tag["Key"]: tag.get("Value", "") for tag in page.get("Tags") or []})
        if not page.get("IsTruncated"):
            return tags
        marker = page.get("Marker")


def _has(tags: t.Mapping[str, str], key: str, pattern: str) -> bool:
    return key in tags and fnmatch.fnmatchcase(tags[key], pattern)


def select_users(task: t.Any, spec: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """Users of the task's account matching ``spec``: ``{"users": [names], "excluded": {name: why}}``."""
    iam = task.conn.client("iam")
    names: t.List[str] = []
    try:
        for page in iam.get_paginator("list_users").paginate(PathPrefix=spec["path_prefix"]):
            names.extend(user["UserName"] for user in page["Users"])
    except aws_call_errors() as exc:
        raise translate_aws_error(exc, f"listing the IAM users under {spec['path_prefix']}")
    excluded: t.Dict[str, str] = {}
    if spec["groups"]:
        members: t.Set[str] = set()
        for group in spec["groups"]:
            members |= _group_members(iam, group, task.account_id)
        names = [n for n in names if n in members]
    for group in spec["exclude_groups"]:
        members = _group_members(iam, group, task.account_id)
        for name in names:
            if name in members and name not in excluded:
                excluded[name] = f"member of excluded group {group}"
    names = [n for n in names if n not in excluded]
    if spec["tags"] or spec["exclude_tags"]:
        tags = dict(zip(names, task.map(lambda name: {"tags": _user_tags(iam, name)}, names)))
        kept = []
        for name in names:
            user_tags = tags[name]["tags"]
            hit = next((k for k, p in spec["exclude_tags"].items() if _has(user_tags, k, p)), None)
            if hit is not None:
                excluded[name] = f"has excluded tag {hit}={user_tags[hit]}"
            elif all(_has(user_tags, k, p) for k, p in spec["tags"].items()):
                kept.append(name)
        names = kept
    return {"users": sorted(names), "excluded": dict(sorted(excluded.items()))}


def _entry_name(item: t.Any) -> t.Optional[str]:
    if isinstance(item, str):
        return item
    if isinstance(item, t.Mapping) and isinstance(item.get("name"), str):
        return str(item["name"])
    return None


def resolve_users(task: t.Any, params: t.Mapping[str, t.Any], spec: t.Optional[t.Mapping[str, t.Any]]
                  ) -> t.Tuple[t.List[t.Any], t.Optional[t.Dict[str, t.Any]]]:
    """``users`` plus the users ``spec`` selects (explicit entries first, each user once), and the
    selection to report (None without a filter)."""
    users = list(params.get("users") or [])
    if spec is None:
        return users, None
    chosen = select_users(task, spec)
    listed = [name for name in (_entry_name(item) for item in users) if name]
    added = [name for name in chosen["users"] if name not in listed]
    for name in added:
        check_user_name(name, "a user selected by user_filter")
    selection = {"filter": dict(spec), "matched": chosen["users"], "excluded": chosen["excluded"],
                 "listed": listed, "users": listed + added}
    return users + added, selection


def nobody(task: t.Any, selection: t.Optional[t.Dict[str, t.Any]], summary: t.Dict[str, int]) -> t.Dict[str, t.Any]:
    """The result of a task whose filter selected no user: nothing to do, said plainly."""
    return {"changed": False, "users": [], "summary": summary, "account_id": task.account_id, "account_alias": task.account_alias(),
            "partition": task.partition, "selection": selection,
            "msg": f"no user of account {task.account_id} matches user_filter; nothing to do"}
