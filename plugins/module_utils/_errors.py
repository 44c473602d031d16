# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors shared by every keyturn.aws module and lookup.

Each error carries a message meant for the person running the task: what went
wrong and what is accepted or how to fix it.  Messages never contain secrets.
Adapters (action plugins, modules, lookups) turn these into clean task
failures; anything else is a bug and may show a traceback.
"""

from __future__ import annotations

import typing as t


class KeyturnError(Exception):
    """Base class: a failure to report to the user as ``msg``."""

    def __init__(self, msg: str, **details: t.Any) -> None:
        super().__init__(msg)
        self.msg = msg
        self.details = details


class ValidationError(KeyturnError):
    """The task's input is wrong.  Raised before anything changes."""


class PartitionError(ValidationError):
    """Region or partition unknown, or credentials from another partition."""


class AwsAuthError(KeyturnError):
    """AWS refused the credentials (invalid, inactive, expired, wrong partition)."""


class AwsAccessDenied(KeyturnError):
    """The credentials authenticate but lack a permission."""


class AwsCallError(KeyturnError):
    """Any other AWS API failure."""


AUTH_ERROR_CODES = frozenset(
    (
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidToken",
        "AuthFailure",
    )
)
ACCESS_DENIED_CODES = frozenset(("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"))


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str((response.get("Error") or {}).get("Code") or "")
    return ""


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Message", ""))
    return str(exc)


def is_auth_error(exc: BaseException) -> bool:
    return error_code(exc) in AUTH_ERROR_CODES


def translate_aws_error(exc: BaseException, doing: str) -> KeyturnError:
    """Turn a botocore exception into the matching typed error.

    ``doing`` says what we were doing ("rotating alice's key").  AWS error
    messages never contain secret keys, so quoting them is safe.
    """
    code = error_code(exc)
    message = error_message(exc)
    if code in AUTH_ERROR_CODES:
        return AwsAuthError(
            f"AWS refused the credentials while {doing} ({code}: {message}). Check that the access key exists, "
            "is Active, and belongs to the partition of the region in use (aws, aws-cn and aws-us-gov keys "
            "never work across partitions).",
            code=code,
        )
    if code in ACCESS_DENIED_CODES:
        return AwsAccessDenied(f"access denied while {doing} ({code}: {message})", code=code)
    if code:
        return AwsCallError(f"AWS error while {doing} ({code}: {message})", code=code)
    name = type(exc).__name__
    return AwsCallError(f"could not reach AWS while {doing} ({name}: {exc})", code=name)
