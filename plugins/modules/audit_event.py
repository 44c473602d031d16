#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: audit_event
short_description: Append an event to the keyturn.aws audit log on the controller
version_added: 0.2.0
description:
  - Appends one JSON line to I(audit_log), in the format every keyturn.aws module writes (C(ts), C(event),
    C(actor), C(job_id) and the given I(fields)), under the same lock and with mode C(0600).
  - Runs on the controller (an action plugin), whatever host the task targets, so the events of many hosts land in
    one audit log. The role R(keyturn.aws.deliver_access_keys,ansible_collections.keyturn.aws.docsite.deliver_access_keys)
    uses it to record which key ID went to which host, file and profile.
  - A field whose name suggests a secret (secret, password, seed, token, code, unless it ends in C(_id), C(_name)
    or C(_type)) is refused, so that a mistake fails instead of leaking. Never put a secret into a field value.
  - Writing the audit log is the run's record, not managed state, so the task never reports a change.
author:
  - keyturn.aws developers (@keyturn)
options:
  audit_log:
    description: Path of the audit log on the controller. Its directory must exist.
    type: path
    required: true
  event:
    description: Name of the event, lower-case letters, digits and C(_).
    type: str
    required: true
  fields:
    description:
      - Fields of the event. Names are lower-case letters, digits and C(_). Values are strings, numbers, booleans
        or lists of those.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: Writes nothing in check mode.
  diff_mode:
    support: none
    description: An event is a record of the run, not a change of managed state.
notes:
  - Not part of the C(keyturn.aws.aws) action group; it takes no AWS connection options.
"""

EXAMPLES = r"""
- name: Record where a key was delivered
  keyturn.aws.audit_event:
    audit_log: /var/log/keyturn/audit.jsonl
    event: access_key_delivered
    fields:
      host: "{{ inventory_hostname }}"
      record: 123456789012/billing-app
      access_key_id: "{{ written.access_key_id }}"
      path: /home/billing/.aws/credentials
"""

RETURN = r"""
event:
  description: The event name.
  returned: always
  type: str
  sample: access_key_delivered
written:
  description: Whether the line was written (false in check mode).
  returned: always
  type: bool
"""

from ansible_collections.keyturn.aws.plugins.module_utils._audit_event import ARGUMENT_SPEC, run
from ansible_collections.keyturn.aws.plugins.module_utils._module import run_module


def main() -> None:
    run_module(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
