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


class TotpError(KeyturnError):
    """Invalid TOTP input or a code could not be issued (the _totp_*.py helpers).

    Messages never contain a seed or a code.
    """


AUTH_ERROR_CODES = frozenset((
    "InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException", "InvalidAccessKeyId", "ExpiredToken",
    "ExpiredTokenException", "InvalidToken", "AuthFailure", "InvalidSignatureException",
))
ACCESS_DENIED_CODES = frozenset(("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"))
# AWS did nothing and asks to slow down: safe to retry any call.
THROTTLE_CODES = frozenset((
    "Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded", "TooManyRequestsException",
    "TooManyUpdates",
))
# A server-side failure: the request may or may not have been carried out.
SERVER_ERROR_CODES = frozenset(("InternalFailure", "ServiceUnavailable", "InternalError"))
# botocore errors whose text is safe to show (it never echoes request parameters).
SAFE_BOTOCORE_ERRORS = frozenset((
    "NoCredentialsError", "PartialCredentialsError", "NoRegionError", "EndpointConnectionError", "ConnectTimeoutError",
    "ReadTimeoutError", "SSLError", "ProxyConnectionError", "CredentialRetrievalError", "ProfileNotFound",
))


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str((response.get("Error") or {}).get("Code") or "")
    return ""


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str((response.get("Error") or {}).get("Message") or "")
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


def describe_store_call_error(
    service: str, operation: str, target: str, exc: BaseException, hints: t.Mapping[str, str]
) -> str:
    """The message for a failed AWS call of a store: service, operation, target, AWS error code, hint.

    Unlike :func:`translate_aws_error` the AWS message is only shown for
    access-denied errors (it names the principal and the action): the other
    messages of a store call can echo request parameters (a secret value).
    botocore errors likewise, unless their text is known to be safe.
    """
    if isinstance(getattr(exc, "response", None), dict):
        code = error_code(exc) or "UnknownError"
        msg = "%s %s on %s failed: %s" % (service, operation, target, code)
        if code in ACCESS_DENIED_CODES:
            aws_message = error_message(exc)
            if aws_message:
                msg += " (%s)" % aws_message
        hint = hints.get(code)
        if hint is None and code in ACCESS_DENIED_CODES:
            hint = "the store's AWS identity needs %s:%s on %s" % (service, operation, target)
        if hint is None and code in THROTTLE_CODES:
            hint = "AWS throttled the store's calls; retry later or raise botocore's retry settings"
        if hint is None and code in AUTH_ERROR_CODES:
            hint = "the credentials used for the store are invalid or expired (the store uses the base credentials, before assume_role)"
        if hint:
            msg += ": " + hint
        return msg
    kind = exc.__class__.__name__
    if kind in SAFE_BOTOCORE_ERRORS:
        return "%s %s on %s failed: %s: %s" % (service, operation, target, kind, exc)
    return "%s %s on %s failed: %s" % (service, operation, target, kind)
