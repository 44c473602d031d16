# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record kinds and name -> credential resolution (_records.py), on the in-memory store."""

from __future__ import annotations

import pytest

from ansible_collections.keyturn.aws.plugins.module_utils._errors import KeyturnError
from ansible_collections.keyturn.aws.plugins.module_utils._records import PAIR_KIND, RECORD_KIND, resolve_credential

KEY = {"kind": RECORD_KIND, "access_key_id": "AKIA1", "secret_access_key": "s1", "user_name": "blue",
       "account_id": "123456789012", "partition": "aws", "arn": "not returned"}
PAIR = {"kind": PAIR_KIND, "users": ["blue", "green"], "active": "blue", "member_names": {"blue": "acct/blue"},
        "account_id": "123456789012", "partition": "aws"}


def test_a_user_record_resolves_to_its_credential(store):
    store.seed("acct/blue", current=KEY)
    assert resolve_credential(store, "acct/blue") == {
        "access_key_id": "AKIA1", "secret_access_key": "s1", "user_name": "blue", "account_id": "123456789012",
        "partition": "aws"}


def test_a_pair_resolves_to_its_active_member(store):
    store.seed("acct/blue", current={"access_key_id": "AKIA1", "secret_access_key": "s1"})
    store.seed("pairs/app", current=PAIR)
    assert resolve_credential(store, "pairs/app") == {
        "access_key_id": "AKIA1", "secret_access_key": "s1", "user_name": "blue", "account_id": "123456789012",
        "partition": "aws"}


@pytest.mark.parametrize("records, message", [
    ({}, "the memory has no current record named pairs/app"),
    ({"pairs/app": {"kind": "totp_seed"}}, "the record pairs/app in the memory is not an access-key credential (kind 'totp_seed')"),
    ({"pairs/app": dict(PAIR, active=None)}, "the dual pair pairs/app names no active member with a store record"),
    ({"pairs/app": PAIR}, "the active member blue of pair pairs/app: record acct/blue has no current record in the memory"),
    ({"pairs/app": PAIR, "acct/blue": PAIR}, "the active member blue of pair pairs/app: record acct/blue is a dual pair"),
    ({"pairs/app": PAIR, "acct/blue": dict(KEY, user_name="green")},
     "the record acct/blue of pair pairs/app holds the credential of green, not of the active member blue"),
])
def test_what_does_not_resolve(store, records, message):
    for name, record in records.items():
        store.seed(name, current=record)
    with pytest.raises(KeyturnError) as caught:
        resolve_credential(store, "pairs/app")
    assert caught.value.msg.startswith(message)
