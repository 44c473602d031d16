# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Option specs and input normalisation shared by the access-key engines."""

from __future__ import annotations

import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._rotation import Policy, Target
from ansible_collections.keyturn.aws.plugins.module_utils._validate import check_user_name

RETIRE_CHOICES = ["delete", "deactivate"]
UNMANAGED_CHOICES = ["fail", "deactivate", "delete"]

ROTATION_SPEC: t.Dict[str, t.Dict[str, t.Any]] = {
    "max_age_days": {"type": "int", "default": 90},
    "force": {"type": "bool", "default": False},
    "retire": {"type": "str", "default": "delete", "choices": RETIRE_CHOICES},
    "unmanaged_keys": {"type": "str", "default": "fail", "choices": UNMANAGED_CHOICES},
    "verify_successes": {"type": "int", "default": 2},
    "verify_timeout": {"type": "int", "default": 60},
    "confirm_retired": {"type": "bool", "default": False},
}

USER_OVERRIDES = ("max_age_days", "force", "retire", "unmanaged_keys")


def policy_from(params: t.Mapping[str, t.Any], **overrides: t.Any) -> Policy:
    values: t.Dict[str, t.Any] = {name: spec.get("default") for name, spec in ROTATION_SPEC.items()}  # the defaults live in the spec
    values.update({name: params.get(name) for name in ROTATION_SPEC if params.get(name) is not None})
    values.update(overrides)
    if values["max_age_days"] < 0:
        raise ValidationError(f"max_age_days must be 0 or more (0 rotates every run), got {values['max_age_days']}")
    if not 1 <= values["verify_successes"] <= 10:
        raise ValidationError(f"verify_successes must be between 1 and 10, got {values['verify_successes']}")
    if not 0 <= values["verify_timeout"] <= 3600:
        raise ValidationError(f"verify_timeout must be between 0 and 3600 seconds, got {values['verify_timeout']}")
    return Policy(
        max_age_days=int(values["max_age_days"]),
        force=bool(values["force"]),
        retire=str(values["retire"]),
        unmanaged_keys=str(values["unmanaged_keys"]),
        self_rotate=bool(values.get("self_rotate", False)),
        verify_successes=int(values["verify_successes"]),
        verify_timeout=float(values["verify_timeout"]),
        confirm_retired=bool(values["confirm_retired"]),
        due_when=str(values.get("due_when", "age")),
    )


def default_store_name(account_id: str, user: str) -> str:
    return f"{account_id}/{user}"


def targets_from(users: t.Any, params: t.Mapping[str, t.Any], account_id: str, **policy_overrides: t.Any) -> t.List[Target]:
    """Normalise ``users`` (names or dicts with per-user overrides) into targets."""
    if not isinstance(users, list) or not users:
        raise ValidationError("users must be a non-empty list of IAM user names or dicts with a name key")
    base = policy_from(params, **policy_overrides)
    targets: t.List[Target] = []
    seen_users: t.Set[str] = set()
    seen_names: t.Set[str] = set()
    for index, item in enumerate(users):
        if isinstance(item, str):
            spec: t.Dict[str, t.Any] = {"name": item}
        elif isinstance(item, t.Mapping):
            spec = dict(item)
        else:
            raise ValidationError(f"users[{index}] must be a user name or a dict, got {type(item).__name__}")
        unknown = set(spec) - {"name", "store_name", *USER_OVERRIDES}
        if unknown:
            raise ValidationError(f"users[{index}] has unknown keys {sorted(unknown)}; accepted: name, store_name, "
                                  + ", ".join(USER_OVERRIDES))
        if not spec.get("name"):
            raise ValidationError(f"users[{index}] has no name")
        name = check_user_name(spec["name"], f"users[{index}]")
        if name in seen_users:
            raise ValidationError(f"user {name} is listed twice in users; list each user once")
        seen_users.add(name)
        store_name = str(spec.get("store_name") or default_store_name(account_id, name))
        if store_name in seen_names:
            raise ValidationError(f"store name {store_name} is used by two users")
        seen_names.add(store_name)
        overrides = {k: spec[k] for k in USER_OVERRIDES if spec.get(k) is not None}
        if "retire" in overrides and overrides["retire"] not in RETIRE_CHOICES:
            raise ValidationError(f"users[{index}].retire must be one of {RETIRE_CHOICES}")
        if "unmanaged_keys" in overrides and overrides["unmanaged_keys"] not in UNMANAGED_CHOICES:
            raise ValidationError(f"users[{index}].unmanaged_keys must be one of {UNMANAGED_CHOICES}")
        policy = base if not overrides else policy_from({**params, **overrides}, **policy_overrides)
        targets.append(Target(user_name=name, store_name=store_name, policy=policy))
    return targets
