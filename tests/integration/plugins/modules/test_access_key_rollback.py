# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keyturn.aws.access_key_rollback through real ansible-playbook against awsmock (auth enforced)."""

from __future__ import annotations

import json

import pytest

from estate import PLAY_HEAD, Estate, authenticates, by_user
from stores import STORE_TYPES
from test_access_key_rotate_grace import onboard, rotate

ROLLBACK = PLAY_HEAD + """
    - name: rollback
      keyturn.aws.access_key_rollback:
        users: "{{ users }}"
        store: "{{ store }}"
        audit_log: "{{ audit_log }}"
        new_key: "{{ new_key | default(omit) }}"
        verify_timeout: 30
      register: rollback
      ignore_errors: true
"""


def rollback(estate, users, check=False, diff=False, **extra):
    return estate.runner.playbook(ROLLBACK, estate.vars(None, users=users, **extra), check=check, diff=diff)


@pytest.mark.parametrize("store_kind", STORE_TYPES)
def test_rollback_drill(runner, awsmock, account_id, store_kind):
    """Rotate with a grace period, roll back: the store's key is the old one again and authenticates."""
    estate = Estate(runner, awsmock, account_id, store_kind)
    old = onboard(estate, "payments")
    name = estate.name("payments")
    rotated = rotate(estate, ["payments"], retire_after=3600)
    assert by_user(rotated)["payments"]["action"] == "rotated"
    new = estate.store.current(name)
    assert estate.keys("payments") == {old["access_key_id"]: "Active", new["access_key_id"]: "Active"}

    plan = rollback(estate, ["payments"], check=True, diff=True)
    planned = by_user(plan, "rollback")["payments"]
    assert planned["action"] == "rolled_back" and plan.task("rollback")["changed"] is True, plan.task("rollback")
    assert planned["restored_key_id"] == old["access_key_id"] and planned["rolled_back_key_id"] == new["access_key_id"]
    assert any(f"deactivate the rolled-back key {new['access_key_id']}" == step for step in planned["plan"])
    assert plan.task("rollback")["diff"]["after"]["payments"]["plan"] == planned["plan"]
    assert estate.store.current(name)["access_key_id"] == new["access_key_id"]  # check mode changed nothing
    assert estate.keys("payments") == {old["access_key_id"]: "Active", new["access_key_id"]: "Active"}

    done = rollback(estate, ["payments"])
    item = by_user(done, "rollback")["payments"]
    assert item["action"] == "rolled_back" and item["plan"] == planned["plan"], item
    staged = estate.store.read(name)
    assert staged.current["access_key_id"] == old["access_key_id"]
    assert staged.previous["access_key_id"] == new["access_key_id"] and staged.pending is None
    assert authenticates(awsmock.url, staged.current["access_key_id"], staged.current["secret_access_key"])
    assert estate.keys("payments") == {old["access_key_id"]: "Active", new["access_key_id"]: "Inactive"}
    assert authenticates(awsmock.url, new["access_key_id"], new["secret_access_key"]) is None

    again = rollback(estate, ["payments"])
    assert again.task("rollback")["changed"] is False
    assert by_user(again, "rollback")["payments"]["action"] == "skipped"
    assert estate.store.current(name)["access_key_id"] == old["access_key_id"]

    # a verify run agrees, and the next rotation treats the rolled-back key as the previous one
    forced = rotate(estate, ["payments"], force=True)
    after = by_user(forced)["payments"]
    assert after["action"] == "rotated", after
    newest = estate.store.current(name)
    assert estate.keys("payments") == {newest["access_key_id"]: "Active"}

    with open(estate.audit_log, encoding="utf-8") as handle:
        events = [json.loads(line) for line in handle]
    rolled = [e for e in events if e["event"] == "access_key_rolled_back"]
    assert len(rolled) == 1 and rolled[0]["restored_key_id"] == old["access_key_id"]
    text = open(estate.audit_log, encoding="utf-8").read()
    for run in (rotated, plan, done, again, forced):
        for secret in (old["secret_access_key"], new["secret_access_key"], newest["secret_access_key"]):
            assert secret not in run.stdout and secret not in run.stderr and secret not in text


def test_rollback_reactivates_an_inactive_previous_key_and_deletes_the_new_one(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    old = onboard(estate, "batch")
    rotate(estate, ["batch"], retire="deactivate")
    new = estate.store.current(estate.name("batch"))
    assert estate.keys("batch") == {old["access_key_id"]: "Inactive", new["access_key_id"]: "Active"}
    done = rollback(estate, ["batch"], new_key="delete")
    item = by_user(done, "rollback")["batch"]
    assert item["action"] == "rolled_back", item
    assert item["plan"][0] == f"reactivate the previous key {old['access_key_id']}"
    assert item["rolled_back_key_state"] == "deleted"
    assert estate.keys("batch") == {old["access_key_id"]: "Active"}
    current = estate.store.current(estate.name("batch"))
    assert current["access_key_id"] == old["access_key_id"]
    assert authenticates(awsmock.url, current["access_key_id"], current["secret_access_key"])


def test_nothing_to_roll_back_changes_nothing(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    old = onboard(estate, "gone")
    rotate(estate, ["gone"])  # retire: delete, no grace: the previous key no longer exists
    new = estate.store.current(estate.name("gone"))
    estate.user("fresh")
    result = rollback(estate, ["gone", "fresh", {"name": "fresh2", "store_name": "x/fresh2"}])
    task = result.task("rollback")
    assert task["failed"] is True and "3 of 3 users failed" in task["msg"], task
    items = by_user(result, "rollback")
    assert old["access_key_id"] in items["gone"]["reason"] and "no longer exists" in items["gone"]["reason"]
    assert "nothing was changed" in items["gone"]["reason"]
    assert "no previous key" in items["fresh"]["reason"]
    assert estate.keys("gone") == {new["access_key_id"]: "Active"}
    assert estate.store.current(estate.name("gone"))["access_key_id"] == new["access_key_id"]

    bad = rollback(estate, [{"name": "gone", "max_age_days": 3}])
    assert bad.task("rollback")["failed"] is True and "unknown keys" in bad.task("rollback")["msg"]
