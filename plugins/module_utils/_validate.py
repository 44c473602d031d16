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
