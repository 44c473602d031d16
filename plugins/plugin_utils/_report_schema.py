# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run report's contract: its schema and the projection that keeps every report secret-free.

Pure functions, no Ansible and no I/O.  :func:`sanitize_report` projects any
report-shaped data onto :data:`REPORT_SCHEMA`: only whitelisted fields survive,
so a secret that slipped into the input (a ``secret_access_key``, a session
token, a target's connection options) can never reach a report; free text is
also scrubbed of anything shaped like a secret access key.  :func:`project` and
:func:`scrub` serve the posture and incident reports the same way.
"""

from __future__ import annotations

import json
import math
import re
import typing as t

FORMAT = "keyturn.aws.report/1"
KINDS = ("rotation", "verification", "discovery", "reconciliation")
TITLES = {
    "rotation": "Access key rotation report",
    "verification": "Access key verification report",
    "discovery": "Access key discovery report",
    "reconciliation": "Access key reconciliation report",
}
AGE_CLASSES = ("ok", "due_soon", "overdue")
CLASS_LABELS = {"ok": "ok", "due_soon": "due soon", "overdue": "overdue"}
REDACTED = "[redacted]"
# A secret access key: 40 characters of base64 alphabet, not part of a longer token.
_SECRET_SHAPE = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")

# -- the schema: the only fields a report can hold --------------------------------------------------------------------
# Types: "str" (identifiers), "text" (free text, scrubbed), "int", "float", "bool", a dict (nested schema),
# or a one-element list (list of that type).
Schema = t.Dict[str, t.Any]

LAST_USED_SCHEMA: Schema = {"date": "str", "service": "str", "region": "str", "by_keyturn": "bool"}
KEY_SCHEMA: Schema = {
    "access_key_id": "str",
    "status": "str",
    "created": "str",
    "age_days": "float",
    "age_class": "str",
    "current": "bool",
    "managed": "bool",
    "last_used": LAST_USED_SCHEMA,
}
BEFORE_SCHEMA: Schema = {"status": "str", "access_key_id": "str", "age_days": "float"}
# The replaced key's deferred retirement (access_key_rotate retire_after / retire_when_idle).
RETIREMENT_SCHEMA: Schema = {"key_id": "str", "state": "str", "reason": "text", "cut_over": "str", "retire_at": "str",
                             "last_used": {**LAST_USED_SCHEMA, "by_keyturn": "bool"}}
USER_SCHEMA: Schema = {
    "user_name": "str",
    "store_name": "str",
    "max_age_days": "int",
    "action": "str",
    "reason": "text",
    "plan": ["text"],
    "old_key_id": "str",
    "new_key_id": "str",
    "status": "str",
    "valid": "bool",
    "verify_reason": "text",
    "access_key_id": "str",
    "age_days": "float",
    "age_class": "str",
    "due": "bool",
    "drift": ["text"],
    "before": BEFORE_SCHEMA,
    "keys": [KEY_SCHEMA],
    "retirement": RETIREMENT_SCHEMA,
    "retired_key_id": "str",
}
TARGET_SUMMARY_KEYS = ("users", "keys", "active_keys", "ok", "due_soon", "overdue", "rotated", "reconciled",
                       "imported", "skipped", "failed", "valid", "invalid", "missing", "error", "drift", "attention",
                       "retired", "retirement_pending")
SUMMARY_KEYS = ("targets", "accounts", "errors") + TARGET_SUMMARY_KEYS
TARGET_SCHEMA: Schema = {
    "name": "text",
    "account_id": "str",
    "account_alias": "str",
    "partition": "str",
    "region": "str",
    "role_arn": "str",
    "max_age_days": "int",
    "error": "text",
    "summary": {k: "int" for k in TARGET_SUMMARY_KEYS},
    "users": [USER_SCHEMA],
}
BUCKET_SCHEMA: Schema = {"label": "str", "min": "int", "max": "int", "count": "int", "age_class": "str"}
REPORT_SCHEMA: Schema = {
    "format": "str",
    "kind": "str",
    "name": "text",
    "title": "text",
    "headline": "text",
    "generated_at": "str",
    "check_mode": "bool",
    "policy": {"max_age_days": "int", "due_soon_days": "int"},
    "summary": {k: "int" for k in SUMMARY_KEYS},
    "age_buckets": [BUCKET_SCHEMA],
    "problems": ["text"],
    "targets": [TARGET_SCHEMA],
}


def scrub(text: str) -> str:
    """Free text with anything shaped like a secret access key replaced."""
    return _SECRET_SHAPE.sub(REDACTED, text)


def coerce(kind: str, value: t.Any) -> t.Any:
    if value is None:
        return None
    if kind == "bool":
        return value if isinstance(value, bool) else None
    if kind in ("int", "float"):
        if isinstance(value, bool):
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(number):
            return None
        return int(number) if kind == "int" else round(number, 1)
    if isinstance(value, (dict, list, tuple, set)):
        return None
    text = str(value)
    return scrub(text) if kind == "text" else text


def project(schema: t.Any, value: t.Any) -> t.Any:
    """``value`` reduced to what ``schema`` allows (unknown keys dropped, types coerced)."""
    if isinstance(schema, dict):
        if not isinstance(value, t.Mapping):
            return None
        out: t.Dict[str, t.Any] = {}
        for key, sub in schema.items():
            if key in value:
                out[key] = project(sub, value[key])
        return out
    if isinstance(schema, list):
        if not isinstance(value, (list, tuple)):
            return []
        items = [project(schema[0], item) for item in value]
        return [item for item in items if item is not None]
    return coerce(schema, value)


def sanitize_report(data: t.Mapping[str, t.Any]) -> t.Dict[str, t.Any]:
    """Any report-shaped mapping projected onto the report schema."""
    return t.cast(t.Dict[str, t.Any], project(REPORT_SCHEMA, data) or {})


def render_json(report: t.Mapping[str, t.Any]) -> str:
    """The report as stable, indented JSON (sanitized again on the way out)."""
    return json.dumps(sanitize_report(report), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
