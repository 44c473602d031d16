# -*- coding: utf-8 -*-
# Copyright: keyturn.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the stores reached over AWS share (``type: secretsmanager`` and ``type: ssm``).

:class:`AwsStore` holds the constructor checks (botocore present, a client,
``kms_key_id``), ``describe``, the one ``_call`` wrapper that turns botocore
errors into :class:`StoreError` (through ``_errors``), the listing of record
names from a paginated API, and the lease skeleton: subclasses only say how a
lease is taken (``_acquire``) and given back (``_release``) with their
service's atomic create-if-absent.
"""

from __future__ import annotations

import contextlib
import re
import time
import typing as t

try:
    from botocore.exceptions import BotoCoreError, ClientError

    HAS_BOTOCORE = True
except ImportError:  # pragma: no cover - reported when the store is built
    HAS_BOTOCORE = False

from ansible_collections.keyturn.aws.plugins.module_utils._errors import error_code
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import LEASE_SUFFIX, Store, StoreError, aws_store_error, check_owner, check_ttl


def _now() -> float:
    return time.time()


def snake(operation: str) -> str:
    """``GetSecretValue`` -> ``get_secret_value`` (the boto3 method name)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


PrefixRule = t.Tuple[t.Callable[[str], bool], str]  # (is the prefix valid, message with %r for the prefix)


class AwsStore(Store):
    """Base of the stores whose records live in an AWS service.

    A subclass names its service in the class statement, e.g.
    ``class SsmStore(AwsStore, kind="ssm", default_prefix="/keyturn/", name_max=1011, hints=HINTS)``,
    and lists its ``prefix_rules``.
    """

    service: t.ClassVar[str] = ""  # the boto3 service name, also used in messages
    default_prefix: t.ClassVar[str] = ""
    name_max: t.ClassVar[int] = 0  # the longest record (secret, parameter) name the service takes
    hints: t.ClassVar[t.Mapping[str, str]] = {}  # AWS error code -> what to do about it
    prefix_rules: t.ClassVar[t.Sequence[PrefixRule]] = ()  # checked in order; the first also rejects a non-string

    def __init_subclass__(cls, kind: str = "", default_prefix: str = "", name_max: int = 0,
                          hints: t.Optional[t.Mapping[str, str]] = None, **kwargs: t.Any) -> None:
        super().__init_subclass__(**kwargs)
        if kind:
            cls.kind = cls.service = kind
            cls.default_prefix = default_prefix
            cls.name_max = name_max
            cls.hints = hints or {}

    def __init__(self, client: t.Any, prefix: t.Optional[str] = None, kms_key_id: t.Optional[str] = None) -> None:
        if not HAS_BOTOCORE:
            raise StoreError("the %s store needs the boto3 and botocore Python libraries" % self.kind)
        if client is None:
            raise StoreError("the %s store needs a boto3 %s client" % (self.kind, self.service))
        if prefix is None:
            prefix = self.default_prefix
        self._check_prefix(prefix)
        if kms_key_id is not None and (not isinstance(kms_key_id, str) or not kms_key_id):
            raise StoreError("store.kms_key_id must be a non-empty string")
        self.client = client
        self.prefix = prefix
        self.kms_key_id = kms_key_id

    def _check_prefix(self, prefix: t.Any) -> None:
        """Raise StoreError when ``prefix`` cannot prefix this service's names (``prefix_rules``, then the length)."""
        for valid, message in self.prefix_rules:
            if not isinstance(prefix, str) or not valid(prefix):
                raise StoreError(message % (prefix,))
        longest = self.name_max - 256 - len(LEASE_SUFFIX)  # room for record names up to 256 characters and a lease
        if not isinstance(prefix, str) or len(prefix) > longest:
            raise StoreError("store.prefix is too long for a store of type %s (at most %d characters)" % (self.kind, longest))

    def describe(self) -> str:
        region = getattr(getattr(self.client, "meta", None), "region_name", None)
        where = " in %s" % region if region else ""
        return "%s store %s*%s" % (self.kind, self.prefix, where)

    # -- plumbing ----------------------------------------------------------

    def _error(self, operation: str, target: str, exc: BaseException) -> StoreError:
        return aws_store_error(self.service, operation, target, exc, self.hints)

    def _call(self, operation: str, target: str, handle: t.Iterable[str] = (), **kwargs: t.Any) -> t.Tuple[t.Any, str]:
        """(response, '') or (None, code) for a handled error code; any other error raises StoreError."""
        try:
            return getattr(self.client, snake(operation))(**kwargs), ""
        except ClientError as exc:
            code = error_code(exc)
            if code in handle:
                return None, code
            raise self._error(operation, target, exc) from None
        except BotoCoreError as exc:
            raise self._error(operation, target, exc) from None

    def _list_names(self, operation: str, items: str, skip: t.Callable[[dict], bool] = lambda item: False,
                    **kwargs: t.Any) -> t.List[str]:
        """Record names (prefix removed, leases left out) of every item of a paginated listing."""
        found = set()
        try:
            for page in self.client.get_paginator(snake(operation)).paginate(**kwargs):
                for item in page.get(items, []):
                    full = item.get("Name") or ""
                    if skip(item) or not full.startswith(self.prefix):
                        continue
                    name = full[len(self.prefix):]
                    if name and not name.endswith(LEASE_SUFFIX):
                        found.add(name)
        except (ClientError, BotoCoreError) as exc:
            raise self._error(operation, self.prefix + "*", exc) from None
        return sorted(found)

    # -- leases ------------------------------------------------------------

    def _record_id(self, name: str) -> str:
        """The service's name of record ``name`` (validated)."""
        raise NotImplementedError

    def _acquire(self, name: str, lease_id: str, owner: str, ttl: int) -> None:
        raise NotImplementedError

    def _release(self, lease_id: str, owner: str) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def lease(self, name: str, owner: str, ttl: int) -> t.Iterator[None]:
        lease_id = self._record_id(name) + LEASE_SUFFIX
        check_owner(owner)
        check_ttl(ttl)
        self._acquire(name, lease_id, owner, ttl)
        try:
            yield
        except BaseException:
            with contextlib.suppress(StoreError):
                self._release(lease_id, owner)
            raise
        self._release(lease_id, owner)
