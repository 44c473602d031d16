# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Local files done one way: atomic replacement and exclusive ``flock`` locks.

Used by the vault file store, the audit log, the AWS config/credentials file
writer and the TOTP ledger.  Callers word their own errors: these helpers
raise ``OSError`` (:class:`TempFileError` when the temporary file cannot even
be created, :class:`LockTimeout` when a lock is not free in time).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
import typing as t


class TempFileError(OSError):
    """The temporary file could not be created next to the target (``__cause__`` says why)."""


class LockTimeout(OSError):
    """An exclusive lock was not free within the time allowed."""


def fsync_directory(directory: str) -> None:
    """Best effort: make a rename in ``directory`` durable."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomic(path: str, data: t.Union[bytes, str], mode: int = 0o600, *, prefix: t.Optional[str] = None,
                 suffix: str = ".tmp", prepare: t.Optional[t.Callable[[int], None]] = None,
                 check: t.Optional[t.Callable[[str], None]] = None, sync_directory: bool = False) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never a torn one.

    The temporary file is created in the target's directory with ``mode`` set
    before a byte is written (``prepare(fd)`` may adjust it further, e.g. its
    owner), flushed and fsynced, ``check(temp_path)`` may still refuse it (by
    raising), then it is renamed over ``path``.  On any failure,
    a crash (KeyboardInterrupt) included, the temporary file is removed and the
    old file stays as it was.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if prefix is None:
        prefix = ".%s." % os.path.basename(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=directory)
    except OSError as exc:
        raise TempFileError(exc.errno, exc.strerror) from exc
    blob = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), mode)
            if prepare is not None:
                prepare(handle.fileno())
            handle.write(blob)
            handle.flush()
            os.fsync(handle.fileno())
        if check is not None:
            check(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if sync_directory:
        fsync_directory(directory)


@contextlib.contextmanager
def exclusive_lock(fd: int, timeout: t.Optional[float] = None, poll: float = 0.02) -> t.Iterator[None]:
    """Hold an exclusive ``flock`` on the open file ``fd`` for the block.

    Waits as long as it takes (``timeout`` None) or up to ``timeout`` seconds,
    then raises LockTimeout.  The lock is released when the block ends; the
    caller closes ``fd``.
    """
    if timeout is None:
        fcntl.flock(fd, fcntl.LOCK_EX)
    else:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeout("the lock was not free within %ss" % timeout) from None
                time.sleep(poll)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
