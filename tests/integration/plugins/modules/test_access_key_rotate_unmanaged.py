# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Never take away a working key before its replacement works: unmanaged keys (retired last, or removed first only
when there is no room, and the message says so), plans that agree with outcomes, and a task that rotates its own
IAM user (issue 11 item 6, issue 18 item 7)."""

from __future__ import annotations

import pytest

from estate import Estate, authenticates, by_user
from stores import aws_client
from test_access_key_rotate_grace import rotate


def outside_key(estate, user):
    key = estate.iam.create_access_key(UserName=user)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


@pytest.mark.parametrize("mode", ["deactivate", "delete"])
def test_unmanaged_key_is_retired_only_after_the_new_key_works(runner, awsmock, account_id, mode):
    estate = Estate(runner, awsmock, account_id)
    estate.user("legacy")
    outside, outside_secret = outside_key(estate, "legacy")
    awsmock.configure(propagation_delay=60)  # longer than verify_timeout: the new key never verifies
    try:
        slow = rotate(estate, ["legacy"], unmanaged=mode, verify_timeout=3)
    finally:
        awsmock.configure(propagation_delay=0)
    item = by_user(slow)["legacy"]
    assert item["action"] == "failed" and "did not verify" in item["reason"], item
    assert f"the unmanaged key {outside} was left untouched" in item["reason"]
    assert "there was no stored key" in item["reason"] and "kept" not in item["reason"]
    assert estate.keys("legacy") == {outside: "Active"}
    assert authenticates(awsmock.url, outside, outside_secret)  # the user still has a working key
    assert estate.store.read(estate.name("legacy")).pending is None

    done = rotate(estate, ["legacy"], unmanaged=mode)
    item = by_user(done)["legacy"]
    assert item["action"] == "rotated", item
    steps = item["plan"]
    assert steps.index("promote the new key to current in the store") < steps.index(
        f"{mode} the unmanaged Active key {outside} (after the new key is verified)")
    assert item["unmanaged_retired"] == [{"key_id": outside, "action": mode}]
    new = estate.store.current(estate.name("legacy"))
    expected = {new["access_key_id"]: "Active"}
    if mode == "deactivate":
        expected[outside] = "Inactive"
    assert estate.keys("legacy") == expected


def test_no_room_delete_says_what_was_removed(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    estate.user("full")
    rotate(estate, ["full"])
    stored = estate.store.current(estate.name("full"))
    outside = outside_key(estate, "full")[0]
    awsmock.configure(propagation_delay=60)
    try:
        slow = rotate(estate, ["full"], unmanaged="delete", force=True, verify_timeout=3)
    finally:
        awsmock.configure(propagation_delay=0)
    item = by_user(slow)["full"]
    assert item["action"] == "failed", item
    assert f"key {outside} had been deleted to make room" in item["reason"]
    assert f"the stored key {stored['access_key_id']} was kept" in item["reason"]
    assert estate.keys("full") == {stored["access_key_id"]: "Active"}
    assert authenticates(awsmock.url, stored["access_key_id"], stored["secret_access_key"])


def test_no_room_deactivate_plan_and_outcome_agree(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    estate.user("crowded")
    rotate(estate, ["crowded"])
    stored = estate.store.current(estate.name("crowded"))
    outside = outside_key(estate, "crowded")[0]
    plan = rotate(estate, ["crowded"], unmanaged="deactivate", force=True, check=True)
    real = rotate(estate, ["crowded"], unmanaged="deactivate", force=True)
    planned, done = by_user(plan)["crowded"], by_user(real)["crowded"]
    assert planned["action"] == done["action"] == "failed"
    assert planned["reason"] == done["reason"]
    assert "cannot make room" in done["reason"] and "nothing was changed" in done["reason"]
    assert "unmanaged_keys: delete" in done["reason"] and "import_credentials" in done["reason"]
    assert not any("deactivate" in step for step in done["plan"])
    assert estate.keys("crowded") == {stored["access_key_id"]: "Active", outside: "Active"}

    # the documented resolution: set it Inactive yourself; the next rotation deletes it to make room
    estate.iam.update_access_key(UserName="crowded", AccessKeyId=outside, Status="Inactive")
    fixed = by_user(rotate(estate, ["crowded"], force=True))["crowded"]
    assert fixed["action"] == "rotated" and f"delete key {outside} (Inactive) to make room under the 2-key limit" in fixed["plan"]
    assert outside not in estate.keys("crowded")


def test_task_rotates_its_own_user_among_others(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    admin_user = "keyturn-admin"
    others = [estate.user("app-one"), estate.user("app-two")]
    result = rotate(estate, [admin_user] + others, unmanaged="delete")
    task = result.task("rotate")
    assert not task.get("failed"), task
    items = by_user(result)
    for user in [admin_user] + others:
        assert items[user]["action"] == "rotated", items[user]
        current = estate.store.current(estate.name(user))
        assert authenticates(awsmock.url, current["access_key_id"], current["secret_access_key"])
    assert items[admin_user]["task_key_switched"] is True
    assert items[admin_user]["unmanaged_retired"] == [{"key_id": estate.admin["access_key_id"], "action": "delete"}]
    assert authenticates(awsmock.url, estate.admin["access_key_id"], estate.admin["secret_access_key"]) is None
    admin_now = estate.store.current(estate.name(admin_user))
    creds = {"access_key_id": admin_now["access_key_id"], "secret_access_key": admin_now["secret_access_key"]}
    estate.iam = aws_client(awsmock.url, creds, "iam")  # the old admin key is gone: read IAM with the new one
    assert estate.keys(admin_user) == {admin_now["access_key_id"]: "Active"}

    # the task goes on with the stored key of its own user: the next run with it works
    again = rotate(estate, [admin_user] + others, task_creds=creds, force=True)
    assert not again.task("rotate").get("failed"), again.task("rotate")
    newest = estate.store.current(estate.name(admin_user))
    assert newest["access_key_id"] != admin_now["access_key_id"]
    assert authenticates(awsmock.url, newest["access_key_id"], newest["secret_access_key"])
    assert authenticates(awsmock.url, admin_now["access_key_id"], admin_now["secret_access_key"]) is None
    estate.iam = aws_client(awsmock.url, {k: newest[k] for k in ("access_key_id", "secret_access_key")}, "iam")
    assert estate.keys(admin_user) == {newest["access_key_id"]: "Active"}
    for secret in (estate.admin["secret_access_key"], admin_now["secret_access_key"], newest["secret_access_key"]):
        assert secret not in result.stdout + result.stderr + again.stdout + again.stderr
