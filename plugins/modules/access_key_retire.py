#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: access_key_retire
short_description: Deactivate one IAM access key now and delete it after a delay
version_added: 0.2.0
description:
  - Takes one key out of service by its ID, for example an exposed key that was already replaced, or an unmanaged
    key found in an incident.
  - I(state=inactive) sets the key Inactive. I(state=absent) deletes it once it has been Inactive for I(delete_after)
    seconds; an Active key is deactivated first, and later runs delete it when the time has come (C(deferred) until
    then). I(delete_after=0) deletes at once.
  - IAM keeps no deactivation time, so it is recorded as the user tag C(keyturn:inactive-since:<access key id>) and
    removed with the key. A key found Inactive without that tag gets it now, so the delay starts then.
  - With I(store), a key that a record names as its current credential is refused (its consumers use it - rotate it
    first with M(keyturn.aws.access_key_rotate)) unless I(force).
author:
  - keyturn.aws developers (@keyturn)
options:
  access_key_id:
    description: The access key ID (C(AKIA...)).
    type: str
    required: true
  user_name:
    description: The owning IAM user; found with C(GetAccessKeyLastUsed) when omitted.
    type: str
  state:
    description: C(inactive) deactivates; C(absent) deactivates and deletes after I(delete_after) seconds.
    type: str
    choices: [inactive, absent]
    default: inactive
  delete_after:
    description: With I(state=absent), seconds the key stays Inactive before it is deleted (0 to 31536000).
    type: int
    default: 0
  force:
    description: Retire the key even when a store record names it as its current credential.
    type: bool
    default: false
  reason:
    description: Why (for the audit line), for example the incident's event id.
    type: str
  account_id:
    description: The 12-digit account the task's credentials (after I(assume_role)) must reach.
    type: str
  audit_log:
    description: Append a JSON line per change to this file (mode 0600). Never contains a secret.
    type: path
extends_documentation_fragment:
  - keyturn.aws.connection
  - keyturn.aws.store.optional
attributes:
  check_mode:
    support: full
    description: Reports what a real run would do (RV(action), RV(delete_at)); changes nothing.
  diff_mode:
    support: none
    description: The result shows the status before and after.
notes:
  - Needs C(iam:GetAccessKeyLastUsed), C(iam:ListAccessKeys), C(iam:UpdateAccessKey), C(iam:DeleteAccessKey),
    C(iam:ListUserTags), C(iam:TagUser) and C(iam:UntagUser).
seealso:
  - module: keyturn.aws.access_key_locate
  - module: keyturn.aws.access_key_rotate
"""

EXAMPLES = r"""
- name: Deactivate an exposed key now, delete it a day later (run again after that)
  keyturn.aws.access_key_retire:
    region: us-east-1
    access_key_id: AKIAIOSFODNN7EXAMPLE
    state: absent
    delete_after: 86400
    reason: exposed on a public repository
    audit_log: /var/log/keyturn/audit.jsonl
"""

RETURN = r"""
action:
  description:
    - C(deactivated), C(deleted), C(deferred) (Inactive, deleted from RV(delete_at)) or C(none). In check mode,
      what a real run would do.
  returned: always
  type: str
access_key_id:
  description: The key.
  returned: always
  type: str
user_name:
  description: The owning IAM user.
  returned: always
  type: str
status_before:
  description: C(Active) or C(Inactive) before the run (null when the key does not exist).
  returned: always
  type: str
status:
  description: C(Active), C(Inactive) or C(Deleted) after the run.
  returned: always
  type: str
inactive_since:
  description: Since when the key is Inactive (ISO 8601, UTC).
  returned: always
  type: str
delete_at:
  description: With I(state=absent), from when the key is deleted (ISO 8601, UTC).
  returned: always
  type: str
account_id:
  description: Account of the task's credentials.
  returned: always
  type: str
partition:
  description: Partition of the task's credentials.
  returned: always
  type: str
"""

from ansible_collections.keyturn.aws.plugins.module_utils._access_key_retire import ARGUMENT_SPEC, run
from ansible_collections.keyturn.aws.plugins.module_utils._module import run_module


def main() -> None:
    run_module(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
