# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Option specs and input normalisation shared by the access-key engines."""

from __future__ import annotations

import dataclasses
import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._rotation import Policy, Target
from ansible_collections.keyturn.aws.plugins.module_utils._validate import (
    check_bool,
    check_choice,
    check_int,
    check_user_name,
    kind_of,
    shown,
)

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
# 100 years: beyond it a date computation overflows, and no policy means it.
MAX_AGE_DAYS = 36500


def policy_from(params: t.Mapping[str, t.Any], **overrides: t.Any) -> Policy:
    values: t.Dict[str, t.Any] = {name: spec.get("default") for name, spec in ROTATION_SPEC.items()}  # the defaults live in the spec
    values.update({name: params.get(name) for name in ROTATION_SPEC if params.get(name) is not None})
    values.update(overrides)
    age = values.get("max_age_days", 90)
    if isinstance(age, int) and not isinstance(age, bool) and age < 0:
        raise ValidationError(f"max_age_days must be 0 or more (0 rotates every run), got {age}")
    values["max_age_days"] = check_int(age, "max_age_days", 0, MAX_AGE_DAYS, "days (0 rotates every run)")
    if not 1 <= values.get("verify_successes", 2) <= 10:
        raise ValidationError(f"verify_successes must be between 1 and 10, got {values.get('verify_successes')}")
    if not 0 <= values.get("verify_timeout", 60) <= 3600:
        raise ValidationError(f"verify_timeout must be between 0 and 3600 seconds, got {values.get('verify_timeout')}")
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
        retire_after=int(values.get("retire_after", 0)),
        retire_when_idle=int(values.get("retire_when_idle", 0)),
    )


def default_store_name(account_id: str, user: str) -> str:
    return f"{account_id}/{user}"


@dataclasses.dataclass(frozen=True)
class UserSpec:
    """One checked entry of ``users``: what a :class:`Target` is before the account is known."""

    user_name: str
    policy: Policy
    store_name: t.Optional[str] = None  # given in the entry; else <account_id>/<user_name> once the account is known


def parse_users(users: t.Any, params: t.Mapping[str, t.Any], **policy_overrides: t.Any) -> t.List[UserSpec]:
    """Check and normalise ``users`` (names or dicts with per-user overrides) and the rotation options, with no
    AWS call and no account id: run before anything else, so bad input fails first."""
    if not isinstance(users, list) or not users:
        raise ValidationError("users must be a non-empty list of IAM user names or dicts with a name key")
    base = policy_from(params, **policy_overrides)
    specs: t.List[UserSpec] = []
    seen_users: t.Set[str] = set()
    seen_names: t.Set[str] = set()
    for index, item in enumerate(users):
        spec = _user_spec(item, index)
        name = spec["name"]
        if name in seen_users:
            raise ValidationError(f"user {name} is listed twice in users; list each user once")
        seen_users.add(name)
        store_name = spec.get("store_name")
        if store_name is not None:
            _claim_store_name(seen_names, store_name)
        overrides = {k: spec[k] for k in USER_OVERRIDES if spec.get(k) is not None}
        policy = base if not overrides else policy_from({**params, **overrides}, **policy_overrides)
        specs.append(UserSpec(user_name=name, policy=policy, store_name=store_name))
    return specs


def parse_selection(params: t.Mapping[str, t.Any], **policy_overrides: t.Any) -> t.List[UserSpec]:
    """:func:`parse_users` for the engines that also take a ``user_filter``: the ``users`` entries (none when only
    a filter is given) and, in any case, the rotation options, checked before any AWS call."""
    if not params.get("users"):
        policy_from(params, **policy_overrides)
        return []
    return parse_users(params["users"], params, **policy_overrides)


def add_selected(specs: t.List[UserSpec], users: t.Sequence[t.Any], params: t.Mapping[str, t.Any],
                 **policy_overrides: t.Any) -> t.List[UserSpec]:
    """``specs`` (the checked ``users`` entries) and, after them, the users a ``user_filter`` added
    (``resolve_users`` returns the entries first, then the names it selected)."""
    added = list(users[len(specs):])
    return specs + parse_users(added, params, **policy_overrides) if added else list(specs)


def bind_targets(specs: t.Sequence[UserSpec], account_id: str) -> t.List[Target]:
    """The targets of ``specs`` in ``account_id``: default store names filled in, each used once."""
    seen_names: t.Set[str] = set()
    targets: t.List[Target] = []
    for spec in specs:
        store_name = spec.store_name or default_store_name(account_id, spec.user_name)
        _claim_store_name(seen_names, store_name)
        targets.append(Target(user_name=spec.user_name, store_name=store_name, policy=spec.policy))
    return targets


def _claim_store_name(seen: t.Set[str], store_name: str) -> None:
    if store_name in seen:
        raise ValidationError(f"store name {store_name} is used by two users")
    seen.add(store_name)


def _user_spec(item: t.Any, index: int) -> t.Dict[str, t.Any]:
    """One entry of ``users`` as a dict of checked, plain values (per-user options are checked
    like the top-level ones, and the messages name ``users[index].option``)."""
    where = f"users[{index}]"
    if isinstance(item, str):
        item = {"name": item}
    elif not isinstance(item, t.Mapping):
        raise ValidationError(
            f"{where} must be an IAM user name (a string; quote names that look like numbers, e.g. '123') or a dict "
            f"with a name key, got {kind_of(item)} ({shown(item)})"
        )
    unknown = set(item) - {"name", "store_name", *USER_OVERRIDES}
    if unknown:
        raise ValidationError(f"{where} has unknown keys {sorted(str(k) for k in unknown)}; accepted: name, store_name, "
                              + ", ".join(USER_OVERRIDES))
    name = item.get("name")
    if name is None or name == "":
        raise ValidationError(f"{where} has no name")
    if not isinstance(name, str):
        raise ValidationError(f"{where}.name must be an IAM user name (a string; quote names that look like numbers), "
                              f"got {kind_of(name)} ({shown(name)})")
    spec: t.Dict[str, t.Any] = {"name": check_user_name(str(name), where)}
    store_name = item.get("store_name")
    if store_name is not None:
        if not isinstance(store_name, str) or not store_name.strip():
            raise ValidationError(f"{where}.store_name must be a non-empty string, got {shown(store_name)}")
        spec["store_name"] = str(store_name)
    if item.get("max_age_days") is not None:
        spec["max_age_days"] = check_int(item["max_age_days"], f"{where}.max_age_days", 0, MAX_AGE_DAYS,
                                         "days (0 rotates every run)")
    if item.get("force") is not None:
        spec["force"] = check_bool(item["force"], f"{where}.force")
    if item.get("retire") is not None:
        spec["retire"] = check_choice(item["retire"], f"{where}.retire", RETIRE_CHOICES)
    if item.get("unmanaged_keys") is not None:
        spec["unmanaged_keys"] = check_choice(item["unmanaged_keys"], f"{where}.unmanaged_keys", UNMANAGED_CHOICES)
    return spec
