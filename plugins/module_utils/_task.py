# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Task set-up shared by the store-using engines: connections, identity, store, audit."""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
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
from ansible_collections.keyturn.aws.plugins.module_utils._iam_keys import is_user_arn
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


@dataclasses.dataclass(frozen=True)
class TaskOptions:
    """The task options of TASK_SPEC, checked and with their defaults (no AWS call needed)."""

    concurrency: int
    account_id: t.Optional[str]
    audit_log: t.Optional[str]
    lock_timeout: float


def task_options(params: t.Mapping[str, t.Any]) -> TaskOptions:
    """Step 1 of :func:`open_task`: check the task options before any connection is made."""
    concurrency = int(params["concurrency"] if params.get("concurrency") is not None else TASK_SPEC["concurrency"]["default"])
    if not 1 <= concurrency <= 64:
        raise ValidationError(f"concurrency must be between 1 and 64, got {concurrency}")
    expected = params.get("account_id")
    if expected is not None:
        check_account_id(expected)
    lock_timeout = params.get("lock_timeout")
    seconds = float(TASK_SPEC["lock_timeout"]["default"] if lock_timeout is None else lock_timeout)
    if seconds < 0:
        raise ValidationError(f"lock_timeout must be 0 or more seconds, got {lock_timeout}")
    return TaskOptions(concurrency=concurrency, account_id=expected, audit_log=params.get("audit_log"),
                       lock_timeout=seconds)


def connect(params: t.Mapping[str, t.Any], options: TaskOptions) -> AwsConnection:
    """Step 2: the task's base connection (before ``assume_role``), with a pool for ``concurrency`` users."""
    return AwsConnection(connection_params(params), max_pool=options.concurrency * 2 + 4)


def check_identity(conn: AwsConnection, expected_account: t.Optional[str]) -> t.Dict[str, str]:
    """Step 4: who the task's credentials are (STS), in the region's partition and, when ``account_id`` is
    given, in that account."""
    identity = conn.caller_identity("checking the task's credentials with STS")
    partition = partition_of_arn(identity["arn"])
    if partition != conn.partition:
        where = f"region {conn.region} is in {conn.partition}"
        raise PartitionError(f"the task's credentials belong to partition {partition} but {where}; credentials never work across partitions")
    if expected_account and identity["account"] != expected_account:
        raise ValidationError(f"the credentials reach account {identity['account']}, but account_id is {expected_account}")
    return identity


def open_audit(path: t.Optional[str], ctx: RunContext) -> AuditLog:
    """Step 5: the task's audit log (``audit_log``; none when unset)."""
    try:
        return AuditLog(path, actor=ctx.actor, job_id=ctx.job_id)
    except OSError as exc:
        raise ValidationError(str(exc))


def open_task(params: t.Mapping[str, t.Any], ctx: RunContext, *, need_store: bool = True,
              store_must_exist: bool = False) -> TaskEnv:
    """Set up one task, each step failing cleanly before the next: task options, base connection,
    store (with the base identity), ``assume_role``, identity check (STS), audit log."""
    options = task_options(params)
    base = connect(params, options)
    store = open_store(params["store"], base, ctx, must_exist=store_must_exist) if need_store else None
    conn = base.assumed()
    identity = check_identity(conn, options.account_id)
    audit = open_audit(options.audit_log, ctx)
    return TaskEnv(ctx, base=base, conn=conn, store=store, identity=identity, audit=audit,
                   concurrency=options.concurrency, lock_timeout=options.lock_timeout)


class TaskEnv:
    """Connections, identity, store and audit log of one task (built by :func:`open_task`)."""

    def __init__(self, ctx: RunContext, *, base: AwsConnection, conn: AwsConnection, store: t.Optional[Store],
                 identity: t.Mapping[str, str], audit: AuditLog, concurrency: int, lock_timeout: float,
                 run_id: t.Optional[str] = None) -> None:
        self.concurrency = concurrency
        self._slots = threading.BoundedSemaphore(concurrency)
        self._holder = threading.local()  # .slot: this thread holds one of the slots
        self.ctx = ctx
        self.base = base
        self.store = store
        if store is not None:
            store.waiting = self.idle  # a user waiting for the store's commit holds no slot
        self.conn = conn
        self.identity = dict(identity)
        self.account_id = identity["account"]
        self.partition = partition_of_arn(identity["arn"])
        self.run_id = run_id or uuid.uuid4().hex
        self.audit = audit
        self.lock_timeout = lock_timeout

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
            self.require_store().read_current(name)
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


def is_task_user(env: Env, user: str) -> bool:
    """Whether ``user`` is the IAM user the task's own credentials belong to."""
    return is_user_arn(env.caller_arn, env.partition, env.account_id, user)


def map_caller_last(task: TaskEnv, items: t.Sequence[t.Any], is_caller: t.Callable[[t.Any], bool],
                    fn: t.Callable[[t.Any], t.Dict[str, t.Any]]) -> t.List[t.Dict[str, t.Any]]:
    """``task.map(fn, items)``, but the task's own IAM user goes last, alone: its new key replaces the one the
    task signs with, so no other user's calls may be in flight when the old key goes.  Results in input order."""
    others = [item for item in items if not is_caller(item)]
    done = {id(item): result for item, result in zip(others, task.map(fn, others))}
    for item in items:
        if is_caller(item):
            done[id(item)] = fn(item)
    return [done[id(item)] for item in items]


def task_result(task: TaskEnv, ctx: RunContext, workers: t.Sequence[t.Any], results: t.Sequence[t.Dict[str, t.Any]],
                verb: str, counted: t.Sequence[str]) -> t.Dict[str, t.Any]:
    """The result of a task that worked user by user (rotate, rollback): users, summary, account, the diff
    (each worker's ``user`` and ``before_keys``, each result's plan and action) and one message."""
    out: t.Dict[str, t.Any] = {
        "changed": any(r["changed"] for r in results),
        "users": list(results),
        "summary": summarize(results),
        "account_id": task.account_id, "account_alias": task.account_alias(),
        "partition": task.partition,
    }
    if ctx.diff:
        out["diff"] = {
            "before": {w.user: {"keys": w.before_keys} for w in workers},
            "after": {r["user_name"]: {"plan": r["plan"], "action": r["action"]} for r in results},
        }
    if any(r["action"] == "failed" for r in results):
        out.update(failed=True, msg=failure_message(results))
    else:
        counts = out["summary"]
        out["msg"] = f"{verb}: " + ", ".join(f"{counts.get(k, 0)} {k}" for k in counted)
    return out


def rotation_env(task: TaskEnv, check_mode: bool) -> Env:
    """What every rotation of one task shares (the rotation protocol's environment)."""
    return Env(conn=task.conn, store=task.require_store(), account_id=task.account_id, partition=task.partition,
               run_id=task.run_id, check_mode=check_mode, audit=task.audit, lock_timeout=task.lock_timeout,
               sleep=task.sleep, caller_arn=task.identity.get("arn"))
