# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IAM access-key calls and STS verification used by every engine."""

from __future__ import annotations

import dataclasses
import datetime
import time
import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._audit import utcnow
from ansible_collections.keyturn.aws.plugins.module_utils._connection import AwsConnection, aws_call_errors
from ansible_collections.keyturn.aws.plugins.module_utils._errors import (
    AUTH_ERROR_CODES,
    SERVER_ERROR_CODES,
    THROTTLE_CODES,
    KeyturnError,
    error_code,
    translate_aws_error,
)


@dataclasses.dataclass(frozen=True)
class IamKey:
    access_key_id: str
    status: str
    created: datetime.datetime

    def age_days(self, now: t.Optional[datetime.datetime] = None) -> float:
        return ((now or utcnow()) - self.created).total_seconds() / 86400.0


def _aware(moment: datetime.datetime) -> datetime.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def parse_time(text: t.Optional[str]) -> t.Optional[datetime.datetime]:
    if not text:
        return None
    try:
        return _aware(datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00")))
    except ValueError:
        return None


def call(doing: str, fn: t.Callable[..., t.Any], **kwargs: t.Any) -> t.Any:
    try:
        return fn(**kwargs)
    except aws_call_errors() as exc:
        raise translate_aws_error(exc, doing)


def paginate(client: t.Any, operation: str, key: str, doing: str, **kwargs: t.Any) -> t.List[t.Any]:
    """Every item under ``key`` of every page of ``operation``; AWS errors become typed errors."""
    items: t.List[t.Any] = []
    try:
        for page in client.get_paginator(operation).paginate(**kwargs):
            items.extend(page.get(key) or [])
    except aws_call_errors() as exc:
        raise translate_aws_error(exc, doing)
    return items


def list_keys(iam: t.Any, user: str) -> t.List[IamKey]:
    data = call(f"listing the access keys of {user}", iam.list_access_keys, UserName=user)
    return [IamKey(k["AccessKeyId"], k["Status"], _aware(k["CreateDate"])) for k in data["AccessKeyMetadata"]]


class AmbiguousCreate(KeyturnError):
    """CreateAccessKey may or may not have created a key (no answer was received)."""


def create_key(iam_noretry: t.Any, user: str, attempts: int = 6, sleep: t.Callable[[float], None] = time.sleep) -> t.Dict[str, t.Any]:
    """CreateAccessKey through a client that never retries by itself.

    A lost response followed by an automatic retry would create a second key
    whose secret nobody saw.  Only a throttling answer (AWS did nothing) is
    retried: the connection's clients already do so (``_throttle_retry``), and
    these rounds cover any other client.  An error without a clear answer raises
    AmbiguousCreate so the caller can look for, and remove, the key the call may
    have created.
    """
    for attempt in range(attempts):
        try:
            data = iam_noretry.create_access_key(UserName=user)["AccessKey"]
        except aws_call_errors() as exc:
            code = error_code(exc)
            if code in THROTTLE_CODES and attempt + 1 < attempts:
                sleep(min(0.2 * 2 ** attempt, 5.0))
                continue
            if code and code not in SERVER_ERROR_CODES:
                raise translate_aws_error(exc, f"creating an access key for {user}")
            raise AmbiguousCreate(f"no clear answer to CreateAccessKey for {user} ({code or type(exc).__name__})")
        return {"access_key_id": data["AccessKeyId"], "secret_access_key": data["SecretAccessKey"],
                "created": _aware(data["CreateDate"])}
    raise AmbiguousCreate(f"CreateAccessKey for {user} was throttled {attempts} times")  # pragma: no cover


def delete_key(iam: t.Any, user: str, key_id: str) -> None:
    try:
        iam.delete_access_key(UserName=user, AccessKeyId=key_id)
    except aws_call_errors() as exc:
        if error_code(exc) == "NoSuchEntity":
            return
        raise translate_aws_error(exc, f"deleting access key {key_id} of {user}")


def last_used(iam: t.Any, key_id: str) -> t.Dict[str, t.Any]:
    """IAM's record of the key's last use: ``date`` (datetime or None: never used), ``service``, ``region``."""
    used = call(f"reading when access key {key_id} was last used", iam.get_access_key_last_used,
                AccessKeyId=key_id).get("AccessKeyLastUsed", {})
    date = used.get("LastUsedDate")
    return {
        "date": _aware(date) if isinstance(date, datetime.datetime) else parse_time(date),
        "service": used.get("ServiceName") if used.get("ServiceName") not in (None, "N/A") else None,
        "region": used.get("Region") if used.get("Region") not in (None, "N/A") else None,
    }


def set_status(iam: t.Any, user: str, key_id: str, status: str) -> None:
    call(f"setting access key {key_id} of {user} to {status}", iam.update_access_key,
         UserName=user, AccessKeyId=key_id, Status=status)


def is_user_arn(arn: t.Optional[str], partition: str, account_id: str, user: str) -> bool:
    """Whether ``arn`` is the IAM user ``user`` (under any path) of ``account_id`` in ``partition``.
    A plain string check: a regex compiled per user cost more than the rest of the comparison."""
    prefix = f"arn:{partition}:iam::{account_id}:user/"
    if not arn or not user or not arn.startswith(prefix):
        return False
    name = arn[len(prefix):]
    return ":" not in name and (name == user or name.endswith("/" + user))


@dataclasses.dataclass
class Verification:
    ok: bool
    reason: str
    arn: t.Optional[str] = None
    user_id: t.Optional[str] = None
    attempts: int = 0
    refused: bool = False


def verify_key(
    conn: AwsConnection,
    key_id: str,
    secret: str,
    *,
    partition: str,
    account_id: str,
    user: str,
    successes: int = 1,
    timeout: float = 0,
    interval: float = 1.0,
    sleep: t.Callable[[float], None] = time.sleep,
    clock: t.Callable[[], float] = time.monotonic,
) -> Verification:
    """STS GetCallerIdentity with the key until ``successes`` consecutive
    successes, retrying refusals (IAM propagation) until ``timeout`` seconds.
    The caller must be ``user`` in ``account_id`` and ``partition``."""
    sts = conn.keyed_client("sts", key_id, secret)
    deadline = clock() + timeout
    streak = attempts = 0
    last_reason = "not tried"
    while True:
        attempts += 1
        try:
            ident = sts.get_caller_identity()
        except aws_call_errors() as exc:
            code = error_code(exc)
            if code not in AUTH_ERROR_CODES:
                raise translate_aws_error(exc, f"verifying access key {key_id} of {user}")
            streak = 0
            last_reason = f"STS refused the key ({code})"
        else:
            if not is_user_arn(ident["Arn"], partition, account_id, user):
                return Verification(False, f"the key authenticates as {ident['Arn']}, not as {user} in account "
                                           f"{account_id} ({partition})", ident["Arn"], ident.get("UserId"), attempts)
            streak += 1
            if streak >= successes:
                return Verification(True, "authenticates", ident["Arn"], ident.get("UserId"), attempts)
            sleep(min(interval, 0.5))
            continue
        if clock() + interval > deadline:
            return Verification(False, f"{last_reason} after {attempts} attempt(s) within {timeout:g}s", None, None,
                                attempts, refused=True)
        sleep(interval)


def confirm_refused(conn: AwsConnection, key_id: str, secret: str, timeout: float, interval: float = 1.0,
                    sleep: t.Callable[[float], None] = time.sleep, clock: t.Callable[[], float] = time.monotonic) -> bool:
    """True once STS refuses the key (polling until ``timeout``)."""
    sts = conn.keyed_client("sts", key_id, secret)
    deadline = clock() + timeout
    while True:
        try:
            sts.get_caller_identity()
        except aws_call_errors() as exc:
            if error_code(exc) in AUTH_ERROR_CODES:
                return True
            raise translate_aws_error(exc, f"confirming that retired key {key_id} is refused")
        if clock() + interval > deadline:
            return False
        sleep(interval)


__all__ = ["AmbiguousCreate", "IamKey", "KeyturnError", "Verification", "call", "confirm_refused", "create_key", "delete_key",
           "is_user_arn", "last_used", "list_keys", "paginate", "parse_time", "set_status", "verify_key"]
