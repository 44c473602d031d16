# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Task set-up shared by the store-using engines: connections, identity, store, audit."""

from __future__ import annotations

import concurrent.futures
import contextlib
import threading
import time
import typing as t
import uuid

from ansible_collections.keyturn.aws.plugins.module_utils._audit import AuditLog
from ansible_collections.keyturn.aws.plugins.module_utils._connection import AwsConnection, aws_call_errors
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import KeyturnError, PartitionError, ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._options import connection_params
from ansible_collections.keyturn.aws.plugins.module_utils._partitions import partition_of_arn
from ansible_collections.keyturn.aws.plugins.module_utils._rotation import Env
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import Store, StoreError
from ansible_collections.keyturn.aws.plugins.module_utils._stores import STORE_SPEC, build_store
from ansible_collections.keyturn.aws.plugins.module_utils._validate import check_account_id

# Users that may wait for IAM propagation at once, each on its own thread without a slot.
MAX_WAITING = 256

STORE_OPTION: t.Dict[str, t.Any] = {"type": "dict", "required": True, "options": STORE_SPEC}

TASK_SPEC: t.Dict[str, t.Dict[str, t.Any]] = {
    "account_id": {"type": "str"},
    "store": STORE_OPTION,
    "concurrency": {"type": "int", "default": 10},
    "audit_log": {"type": "path"},
    "lock_timeout": {"type": "int", "default": 300},
}


def open_store(spec: t.Mapping[str, t.Any], base: t.Optional[AwsConnection], ctx: RunContext,
               must_exist: bool = False) -> Store:
    """The task's store; AWS stores use the base identity (before assume_role).  ``must_exist``
    (readers): a file store whose file does not exist is an error, not an empty store."""
    factory = base.client_factory() if base is not None else None
    try:
        store = build_store(dict(spec), client_factory=factory, file_store_factory=ctx.file_store_factory)
        check_exists = getattr(store, "check_exists", None)  # the file store's; AWS stores have no file
        if must_exist and check_exists is not None:
            check_exists()
        return store
    except StoreError as exc:
        raise ValidationError(str(exc))


class TaskEnv:
    """Connections, identity, store and audit log of one task."""

    def __init__(self, params: t.Mapping[str, t.Any], ctx: RunContext, *, need_store: bool = True,
                 store_must_exist: bool = False) -> None:
        concurrency = int(params["concurrency"] if params.get("concurrency") is not None else TASK_SPEC["concurrency"]["default"])
        if not 1 <= concurrency <= 64:
            raise ValidationError(f"concurrency must be between 1 and 64, got {concurrency}")
        self.concurrency = concurrency
        self._slots = threading.BoundedSemaphore(concurrency)
        self._holder = threading.local()  # .slot: this thread holds one of the slots
        expected = params.get("account_id")
        if expected is not None:
            check_account_id(expected)
        self.ctx = ctx
        self.base = AwsConnection(connection_params(params), max_pool=concurrency * 2 + 4)
        self.store: t.Optional[Store] = (open_store(params["store"], self.base, ctx, must_exist=store_must_exist)
                                         if need_store else None)
        if self.store is not None and hasattr(self.store, "waiting"):
            self.store.waiting = self.idle  # the file store: a user waiting for its commit holds no slot
        self.conn = self.base.assumed()
        identity = self.conn.caller_identity("checking the task's credentials with STS")
        partition = partition_of_arn(identity["arn"])
        if partition != self.conn.partition:
            raise PartitionError(
                f"the task's credentials belong to partition {partition} but region {self.conn.region} is in "
                f"{self.conn.partition}; credentials never work across partitions"
            )
        if expected and identity["account"] != expected:
            raise ValidationError(f"the credentials reach account {identity['account']}, but account_id is {expected}")
        self.identity = identity
        self.account_id = identity["account"]
        self.partition = partition
        self.run_id = uuid.uuid4().hex
        try:
            self.audit = AuditLog(params.get("audit_log"), actor=ctx.actor, job_id=ctx.job_id)
        except OSError as exc:
            raise ValidationError(str(exc))
        lock_timeout = params.get("lock_timeout")
        self.lock_timeout = float(TASK_SPEC["lock_timeout"]["default"] if lock_timeout is None else lock_timeout)
        if self.lock_timeout < 0:
            raise ValidationError(f"lock_timeout must be 0 or more seconds, got {lock_timeout}")

    def account_alias(self) -> t.Optional[str]:
        """The account's IAM alias (``ListAccountAliases``, read once per task), as privileged-access managers
        name accounts; None when it has none or the identity may not read it."""
        if not hasattr(self, "_alias"):
            try:
                aliases = self.conn.client("iam").list_account_aliases().get("AccountAliases") or []
            except aws_call_errors():
                aliases = []
            self._alias: t.Optional[str] = str(aliases[0]) if aliases else None
        return self._alias

    def require_store(self) -> Store:
        if self.store is None:
            raise KeyturnError("this task needs the store option")
        return self.store

    def preflight_store(self, name: str) -> None:
        """Read one record before anything changes in AWS: a missing vault
        secret or an unreadable store fails the task here, cleanly."""
        try:
            self.require_store().read(name)
        except StoreError as exc:
            raise ValidationError(str(exc))

    @contextlib.contextmanager
    def idle(self) -> t.Iterator[None]:
        """The calling user waits (for IAM propagation, for the store's commit): its ``concurrency`` slot goes
        to another user meanwhile, and is taken back before the user goes on."""
        if not getattr(self._holder, "slot", False) or getattr(self._holder, "idle", False):
            yield
            return
        self._holder.idle = True
        self._slots.release()
        try:
            yield
        finally:
            self._slots.acquire()
            self._holder.idle = False

    def sleep(self, seconds: float) -> None:
        """Wait (e.g. for IAM propagation) without holding one of the task's ``concurrency`` slots."""
        with self.idle():
            time.sleep(seconds)

    def map(self, fn: t.Callable[[t.Any], t.Dict[str, t.Any]], items: t.Sequence[t.Any]) -> t.List[t.Dict[str, t.Any]]:
        """Run ``fn`` over ``items``, results in input order.  At most ``concurrency``
        users work at once; a user waiting in :meth:`sleep` gives its slot to another,
        so up to MAX_WAITING users wait for IAM propagation at the same time.
        ``concurrency: 1`` is strictly one user after the other."""
        if self.concurrency == 1 or len(items) <= 1:
            return [fn(item) for item in items]

        def slotted(item: t.Any) -> t.Dict[str, t.Any]:
            with self._slots:
                self._holder.slot = True
                try:
                    return fn(item)
                finally:
                    self._holder.slot = False

        workers = min(len(items), max(self.concurrency, MAX_WAITING))
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(slotted, items))


def summarize(results: t.Sequence[t.Mapping[str, t.Any]], key: str = "action") -> t.Dict[str, int]:
    counts: t.Dict[str, int] = {"total": len(results)}
    for item in results:
        value = str(item.get(key))
        counts[value] = counts.get(value, 0) + 1
    return counts


def failure_message(results: t.Sequence[t.Mapping[str, t.Any]], what: str = "users") -> str:
    failed = [r for r in results if r.get("action") == "failed"]
    details = "; ".join(f"{r.get('user_name') or r.get('store_name')}: {r.get('reason')}" for r in failed[:10])
    more = f" (and {len(failed) - 10} more)" if len(failed) > 10 else ""
    return f"{len(failed)} of {len(results)} {what} failed: {details}{more}"


def rotation_env(task: TaskEnv, check_mode: bool) -> Env:
    """What every rotation of one task shares (the rotation protocol's environment)."""
    return Env(conn=task.conn, store=task.require_store(), account_id=task.account_id, partition=task.partition,
               run_id=task.run_id, check_mode=check_mode, audit=task.audit, lock_timeout=task.lock_timeout,
               sleep=task.sleep, caller_arn=task.identity.get("arn"))
