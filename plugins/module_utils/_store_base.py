# -*- coding: utf-8 -*-
# Copyright: keyturn.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one interface every secret store implements.

A store holds *named records* (plain JSON-serialisable dicts: user credentials,
dual-pair records, TOTP seeds ...).  Each name has up to three stages:

``pending``   written before a new credential is trusted (rotation step 3/4),
``current``   the credential consumers use,
``previous``  the credential that ``current`` replaced.

All mutating calls are crash-safe: after a crash at any point, ``read`` returns
a state from which the caller can finish or roll back (never a torn record).
Leases (``lease``) serialise work on one name across processes and hosts.
"""

from __future__ import annotations

import abc
import contextlib
import json
import os
import re
import socket
import time
import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._errors import KeyturnError, describe_store_call_error

STAGES = ("current", "pending", "previous")


class StoreError(KeyturnError):
    """A store could not be read or written.  The message never contains a secret."""


class StoreLocked(StoreError):
    """Another run holds the lease on this name."""


class LeaseTimeout(KeyturnError):
    """Another run held the lease on a name for longer than the task's lock_timeout."""


class StagedRecord(t.NamedTuple):
    current: t.Optional[dict]
    pending: t.Optional[dict]
    previous: t.Optional[dict]

    @property
    def empty(self) -> bool:
        return self.current is None and self.pending is None and self.previous is None


EMPTY = StagedRecord(None, None, None)


class Store(abc.ABC):
    """Abstract staged-record store.  One subclass per store ``type``."""

    kind: t.ClassVar[str] = ""
    # How a caller waits while the store serialises its changes (the file store's group commit); a task
    # sets it so that a user waiting there gives its concurrency slot to another.  AWS stores do not wait.
    waiting: t.Callable[[], t.ContextManager[None]] = contextlib.nullcontext

    @abc.abstractmethod
    def read(self, name: str) -> StagedRecord:
        """All stages of ``name`` (``EMPTY`` when the name is unknown)."""

    def read_current(self, name: str) -> t.Optional[dict]:
        """Only the current stage of ``name`` (None when the name is unknown or has no current record): what
        ``read(name).current`` returns, for readers that decide nothing from pending or previous (verification
        of one credential, lookups).  A store reached over AWS answers it with one call instead of one per stage."""
        return self.read(name).current

    @abc.abstractmethod
    def write_pending(self, name: str, record: dict) -> None:
        """Replace the pending stage of ``name``; current and previous are untouched."""

    @abc.abstractmethod
    def discard_pending(self, name: str) -> None:
        """Drop the pending stage (no-op when there is none)."""

    @abc.abstractmethod
    def promote(self, name: str, record: t.Optional[dict] = None) -> None:
        """pending -> current, old current -> previous.  Idempotent: calling it
        again after a crash mid-way completes the promotion without losing the old
        current.  Raises StoreError when there is nothing pending.  With
        ``record`` (the pending credential with fields learnt since it was
        written, e.g. its verified ARN), ``record`` is what becomes current, in
        the same step: no separate write of the pending stage first."""

    @abc.abstractmethod
    def write_current(self, name: str, record: dict, keep_previous: bool = True) -> None:
        """Set current directly (imports, pair records, seeds).  With
        ``keep_previous`` the replaced current becomes previous; without it
        previous is cleared.  Pending is untouched."""

    @abc.abstractmethod
    def delete(self, name: str) -> None:
        """Remove every stage of ``name`` (no-op when absent)."""

    @abc.abstractmethod
    def names(self) -> t.List[str]:
        """Every record name in the store (under its prefix), sorted."""

    @abc.abstractmethod
    def lease(self, name: str, owner: str, ttl: int) -> t.ContextManager[None]:
        """Context manager: exclusive lease on ``name`` for ``owner``.  Raises
        StoreLocked when another owner holds an unexpired lease; an expired lease
        (older than its ttl seconds) is taken over.  Leaving the block releases
        the lease unless another owner took it over meanwhile.  Not re-entrant:
        use one owner string per run and do not nest leases on one name."""

    def describe(self) -> str:
        """Human description for messages (type and location, never a secret)."""
        return self.kind

    def batched_releases(self) -> t.ContextManager[None]:
        """Context manager around many leased works (one task's users): a store may then give leases back
        lazily, together with its next write (the file store does); every lease is given back by the end of
        the block.  Default: nothing changes."""
        return contextlib.nullcontext()


# ---------------------------------------------------------------------------
# Helpers shared by the store implementations (pure functions, no I/O).

RECORD_NAME_MAX = 256
RECORD_NAME_CHARS = "A-Z a-z 0-9 / _ + = . @ -"
LEASE_SUFFIX = ".lease"
_NAME_RE = re.compile(r"^[A-Za-z0-9/_+=.@-]+$")
_BAD_CHAR_RE = re.compile(r"[^A-Za-z0-9/_+=.@-]")


def validate_record_name(name: object) -> str:
    """Return ``name`` when it is a valid record name, else raise StoreError.

    Valid: 1..256 characters from ``[A-Za-z0-9/_+=.@-]``, no leading or trailing
    ``/``, no empty path segment (``//``), not ending in the reserved ``.lease``.
    """
    if not isinstance(name, str):
        raise StoreError("a store record name must be a string, got %s" % type(name).__name__)
    if not name:
        raise StoreError("a store record name must not be empty")
    if len(name) > RECORD_NAME_MAX:
        raise StoreError(
            "the store record name %r is %d characters long; at most %d are allowed" % (name, len(name), RECORD_NAME_MAX)
        )
    bad = sorted(set(_BAD_CHAR_RE.findall(name)))
    if bad:
        raise StoreError(
            "the store record name %r contains %s; allowed characters are %s"
            % (name, ", ".join(repr(c) for c in bad), RECORD_NAME_CHARS)
        )
    if name.startswith("/") or name.endswith("/"):
        raise StoreError("the store record name %r must not start or end with '/'" % name)
    if "//" in name:
        raise StoreError("the store record name %r must not contain an empty path segment ('//')" % name)
    if name.endswith(LEASE_SUFFIX):
        raise StoreError("the store record name %r must not end in %r (reserved for leases)" % (name, LEASE_SUFFIX))
    return name


def normalize_record(record: object) -> dict:
    """A plain-JSON deep copy of ``record`` (plain ``str``/``int``/``dict``/...).

    Raises StoreError when ``record`` is not a JSON-serialisable dict.  Tagged or
    subclassed values (Ansible data tagging) come back as the builtin types.
    """
    if not isinstance(record, dict):
        raise StoreError("a store record must be a dict, got %s" % type(record).__name__)
    try:
        return json.loads(json.dumps(record, sort_keys=True, allow_nan=False))
    except (TypeError, ValueError) as exc:
        # The json messages name a type (never a value), e.g. "Object of type set ...".
        raise StoreError("a store record must be JSON serialisable: %s" % exc.__class__.__name__) from None


def check_ttl(ttl: object) -> int:
    """A lease ttl: a non-negative integer number of seconds."""
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0:
        raise StoreError("a lease ttl must be a non-negative integer number of seconds, got %r" % (ttl,))
    return ttl


def check_owner(owner: object) -> str:
    """A lease owner: a non-empty string identifying one run (host, pid, run id ...)."""
    if not isinstance(owner, str) or not owner:
        raise StoreError("a lease owner must be a non-empty string")
    return owner


def lease_owner(run_id: str) -> str:
    """The lease owner of a run: ``<host>:<pid>:<run_id>``, so a lease left by a
    process that died on this host can be taken over at once (see lease_is_live)."""
    return "%s:%d:%s" % (socket.gethostname(), os.getpid(), run_id)


@contextlib.contextmanager
def waiting_lease(store: Store, name: str, run_id: str, ttl: int, timeout: float, what: t.Optional[str] = None,
                  sleep: t.Callable[[float], None] = time.sleep,
                  clock: t.Callable[[], float] = time.monotonic) -> t.Iterator[None]:
    """Hold the lease on ``name`` (owner ``lease_owner(run_id)``) for the block.

    While another live run holds it, try again every second for up to
    ``timeout`` seconds, then raise LeaseTimeout naming ``what`` (default: the
    name).  Only taking the lease is retried: errors of the block propagate.
    """
    owner = lease_owner(run_id)
    deadline = clock() + timeout
    with contextlib.ExitStack() as stack:
        while True:
            try:
                stack.enter_context(store.lease(name, owner, ttl))
                break
            except StoreLocked:
                if clock() >= deadline:
                    raise LeaseTimeout(f"another run holds the lock on {what or name} (waited {timeout:g}s); "
                                       "try again when it has finished") from None
                sleep(1.0)
        yield


def owner_is_dead(owner: object) -> bool:
    """True when ``owner`` names a process of this host that no longer exists."""
    if not isinstance(owner, str):
        return False
    parts = owner.split(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by someone else
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """A process that has exited but was not reaped yet (state Z) still answers ``kill(pid, 0)``: where no init
    reaps orphans (some containers), a crashed run's worker stays a zombie, and its lease must not wait for it."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return False
    # "pid (comm) state ...": comm may hold spaces or parentheses, the state follows the last ")".
    fields = stat[stat.rfind(")") + 1:].split()
    return bool(fields) and fields[0] == "Z"


def lease_is_live(lease: t.Optional[dict], owner: str, now: float) -> bool:
    """True when ``lease`` belongs to another owner, has not expired yet, and
    that owner is not a dead process of this host (a crashed run)."""
    if not isinstance(lease, dict):
        return False
    try:
        expires = float(lease.get("expires", 0))
    except (TypeError, ValueError):
        return False
    return lease.get("owner") != owner and expires > now and not owner_is_dead(lease.get("owner"))


def locked_error(name: str, where: str, lease: dict) -> StoreLocked:
    """The StoreLocked raised when another owner holds ``name``."""
    try:
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(lease.get("expires", 0))))
    except (TypeError, ValueError, OverflowError):
        expires = "an unknown time"
    return StoreLocked(
        "the record %r in the %s is leased by %r until %s: another run is working on it; "
        "retry later (a crashed run's lease expires by itself)" % (name, where, lease.get("owner"), expires)
    )


def aws_store_error(service: str, operation: str, target: str, exc: BaseException,
                    hints: t.Mapping[str, str]) -> StoreError:
    """The StoreError for a failed AWS call of a store (see ``_errors.describe_store_call_error``)."""
    return StoreError(describe_store_call_error(service, operation, target, exc, hints))
