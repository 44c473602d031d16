# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kinds of store records and how a name resolves to a credential.

One place for what the rotation engine writes (``iam_user_key``), what
dual_account_swap writes (``dual_pair``) and how a reader (the ``credential``
lookup) follows a pair to its active member.
"""

from __future__ import annotations

import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._errors import KeyturnError
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import Store, validate_record_name

RECORD_KIND = "iam_user_key"  # an IAM user's access key (written by the rotation protocol)
PAIR_KIND = "dual_pair"  # a dual pair: its members and which one is active
CREDENTIAL_FIELDS = ("access_key_id", "secret_access_key", "user_name", "account_id", "partition")


def _credential_of(store: Store, name: str, what: str, record: t.Optional[dict] = None) -> t.Dict[str, t.Any]:
    """The credential fields of record ``name`` (``record``: its current stage when the caller has read it already)."""
    if record is None:
        record = store.read_current(name)
    if record is None:
        raise KeyturnError(f"{what} {name} has no current record in the {store.describe()}")
    if record.get("kind") == PAIR_KIND:
        raise KeyturnError(f"{what} {name} is a dual pair, not a credential")
    if not record.get("access_key_id") or not record.get("secret_access_key"):
        raise KeyturnError(f"{what} {name} in the {store.describe()} is not an access-key credential "
                           f"(kind {record.get('kind')!r})")
    return {field: record.get(field) for field in CREDENTIAL_FIELDS}


def resolve_credential(store: Store, term: str) -> t.Dict[str, t.Any]:
    """The credential named by ``term``: a user record, or a pair's active member."""
    name = validate_record_name(term)
    record = store.read_current(name)
    if record is None:
        raise KeyturnError(f"the {store.describe()} has no current record named {name}")
    if record.get("kind") != PAIR_KIND:
        return _credential_of(store, name, "the record", record)
    active = record.get("active")
    member = (record.get("member_names") or {}).get(active) if active else None
    if not member:
        raise KeyturnError(f"the dual pair {name} names no active member with a store record; run "
                           "keyturn.aws.dual_account_swap to initialize it")
    credential = _credential_of(store, str(member), f"the active member {active} of pair {name}: record")
    if credential.get("user_name") and credential["user_name"] != active:
        raise KeyturnError(f"the record {member} of pair {name} holds the credential of {credential['user_name']}, "
                           f"not of the active member {active}")
    credential["user_name"] = credential.get("user_name") or active
    credential["account_id"] = credential.get("account_id") or record.get("account_id")
    credential["partition"] = credential.get("partition") or record.get("partition")
    return credential
