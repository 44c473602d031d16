# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input checks shared by the engines: each raises ValidationError saying what
was wrong and what is accepted, and never echoes a secret."""

from __future__ import annotations

import re
import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ACCESS_KEY_ID = re.compile(r"^(AKIA|ASIA)[A-Z0-9]{12,124}$")
_USER_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")


def check_account_id(value: t.Any, option: str = "account_id") -> str:
    text = str(value)
    if not _ACCOUNT_ID.match(text):
        raise ValidationError(f"{option} must be a 12-digit AWS account ID, got {text!r}")
    return text


def check_access_key_id(value: t.Any, option: str = "access_key_id") -> str:
    text = str(value)
    if not _ACCESS_KEY_ID.match(text):
        raise ValidationError(f"{option} must be an AWS access key ID (AKIA followed by 16 upper-case letters or digits), got {text!r}")
    if text.startswith("ASIA"):
        raise ValidationError(
            f"{option} {text} is a temporary (STS) credential; only long-term IAM user keys (AKIA...) can be rotated or stored"
        )
    return text


def check_user_name(value: t.Any, option: str = "user name") -> str:
    text = str(value)
    if not _USER_NAME.match(text):
        raise ValidationError(
            f"{option} {text!r} is not a valid IAM user name (1-64 characters: letters, digits and + = , . @ _ -)"
        )
    return text


def check_positive(value: t.Any, option: str, minimum: float = 0) -> t.Any:
    if value is None or value < minimum:
        raise ValidationError(f"{option} must be >= {minimum}, got {value!r}")
    return value


def kind_of(value: t.Any) -> str:
    """What ``value`` is, in YAML's words: never a Python class name (ansible-core 2.19 hands
    plugins _AnsibleTaggedStr, _AnsibleTaggedInt ... which mean nothing to a user)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, t.Mapping):
        return "a dict"
    if isinstance(value, (list, tuple, set, frozenset)):
        return "a list"
    return "a value of another kind"


def shown(value: t.Any, limit: int = 40) -> str:
    """A short, plain rendering of a (non-secret) user value for an error message."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (str, int, float)):
        text = repr(str(value)) if isinstance(value, str) else str(int(value) if isinstance(value, int) else float(value))
    else:
        return kind_of(value)
    return text if len(text) <= limit else text[:limit] + "..."


def check_int(value: t.Any, option: str, minimum: int, maximum: int, unit: str = "") -> int:
    """``value`` as an int in [minimum, maximum]: an int, or a string of digits (as Ansible's
    ``type: int`` accepts); never a boolean."""
    accepted = f"a whole number from {minimum} to {maximum}{' ' + unit if unit else ''}"
    number: t.Optional[int] = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = int(value)
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit() and value.strip().isascii():
        number = int(value.strip())
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    if number is None:
        raise ValidationError(f"{option} must be {accepted}, got {shown(value)}")
    if not minimum <= number <= maximum:
        raise ValidationError(f"{option} must be {accepted}, got {shown(number)}")
    return number


_TRUE = ("true", "yes", "on", "1", "y")
_FALSE = ("false", "no", "off", "0", "n")


def check_bool(value: t.Any, option: str) -> bool:
    """``value`` as a bool: a boolean, or one of the strings Ansible's ``type: bool`` accepts."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValidationError(f"{option} must be true or false, got {shown(value)}")


def check_choice(value: t.Any, option: str, choices: t.Sequence[str]) -> str:
    if not isinstance(value, str) or str(value) not in choices:
        raise ValidationError(f"{option} must be one of {', '.join(choices)}, got {shown(value)}")
    return str(value)
