# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Audit events: one JSON line per event, appended under a lock, mode 0600.

An event never carries a secret: fields whose names suggest one are refused,
so a programming mistake fails loudly instead of leaking.
"""

from __future__ import annotations

import datetime
import json
import os
import threading
import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._files import exclusive_lock

FORBIDDEN = ("secret", "password", "seed", "token", "code")
_LOCK = threading.Lock()


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def isoformat(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class AuditLog:
    """Appends events to ``path`` (no-op when path is empty)."""

    def __init__(self, path: t.Optional[str], **common: t.Any) -> None:
        self.path = os.path.expanduser(path) if path else None
        self.common = {k: v for k, v in common.items() if v is not None}
        if self.path:
            directory = os.path.dirname(os.path.abspath(self.path))
            if not os.path.isdir(directory):
                raise OSError(f"audit_log directory {directory} does not exist")

    def event(self, event: str, **fields: t.Any) -> None:
        if not self.path:
            return
        for name in fields:
            lowered = name.lower()
            if any(word in lowered for word in FORBIDDEN) and not lowered.endswith(("_id", "_name", "_type")):
                raise ValueError(f"audit field {name!r} looks like a secret and is refused")
        record = {"ts": isoformat(utcnow()), "event": event}
        record.update(self.common)
        record.update({k: v for k, v in fields.items() if v is not None})
        line = json.dumps(record, sort_keys=True, default=str) + "\n"
        with _LOCK:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                with exclusive_lock(fd):
                    os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
