# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Engine of keyturn.aws.audit_event: one event appended to the controller's audit log (the same JSON-line
format, lock and refusal of secret-looking fields as every keyturn.aws writer)."""

from __future__ import annotations

import re
import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._audit import AuditLog
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError

ARGUMENT_SPEC: t.Dict[str, t.Any] = {
    "audit_log": {"type": "path", "required": True},
    "event": {"type": "str", "required": True},
    "fields": {"type": "dict", "default": {}},
}
_EVENT = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_FIELD = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
RESERVED = ("ts", "event", "actor", "job_id")
SCALARS = (str, int, float, bool, type(None))


def _plain(name: str, value: t.Any) -> t.Any:
    if isinstance(value, SCALARS):
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(item, SCALARS) for item in value):
        return list(value)
    raise ValidationError(f"audit field {name} must be a string, number, boolean or a list of those, "
                          f"not a {type(value).__name__ if not isinstance(value, dict) else 'mapping'}")


def run(params: t.Dict[str, t.Any], ctx: RunContext) -> t.Dict[str, t.Any]:
    event = str(params["event"])
    if not _EVENT.match(event):
        raise ValidationError(f"event {event!r} must be lower-case letters, digits and '_' (starting with a letter)")
    fields: t.Dict[str, t.Any] = {}
    for name, value in (params.get("fields") or {}).items():
        if not _FIELD.match(str(name)) or name in RESERVED:
            raise ValidationError(f"audit field name {name!r} must be lower-case letters, digits and '_' and not one "
                                  f"of {', '.join(RESERVED)}")
        fields[str(name)] = _plain(str(name), value)
    if ctx.check_mode:
        return {"changed": False, "event": event, "written": False, "msg": f"check mode: {event} not written"}
    try:
        audit = AuditLog(params["audit_log"], actor=ctx.actor, job_id=ctx.job_id)
        audit.event(event, **fields)
    except ValueError as exc:  # a secret-looking field name
        raise ValidationError(str(exc)) from None
    except OSError as exc:
        raise ValidationError(f"cannot write the audit log {params['audit_log']}: {exc.strerror or exc}") from None
    # The audit log is the run's record, not managed state: appending to it is never a change.
    return {"changed": False, "event": event, "written": True, "msg": f"{event} written to {params['audit_log']}"}
