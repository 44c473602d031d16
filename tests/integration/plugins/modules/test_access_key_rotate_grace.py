# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Zero-downtime rotation through real ansible-playbook against awsmock: retire_after (deferred retirement),
retire_when_idle (IAM's last use, keyturn's own use excluded), and the unmanaged-key / own-user defects."""

from __future__ import annotations

import datetime
import json
import time

from estate import PLAY_HEAD, Estate, authenticates, by_user

GRACE_ROTATE = PLAY_HEAD + """
    - name: rotate
      keyturn.aws.access_key_rotate:
        users: "{{ users }}"
        store: "{{ store }}"
        audit_log: "{{ audit_log }}"
        verify_timeout: "{{ verify_timeout | default(30) }}"
        verify_successes: 2
        unmanaged_keys: "{{ unmanaged | default('fail') }}"
        force: "{{ force | default(false) }}"
        retire: "{{ retire | default('delete') }}"
        retire_after: "{{ retire_after | default(omit) }}"
        retire_when_idle: "{{ retire_when_idle | default(omit) }}"
      register: rotation
      ignore_errors: true
"""


def rotate(estate, users, check=False, diff=False, task_creds=None, **extra):
    return estate.runner.playbook(GRACE_ROTATE, estate.vars(task_creds, users=users, **extra), check=check, diff=diff)


def audit_events(estate):
    with open(estate.audit_log, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def parse(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def onboard(estate, user):
    estate.user(user)
    first = rotate(estate, [user])
    assert by_user(first)[user]["action"] == "rotated", first.task("rotate")
    old = estate.store.current(estate.name(user))
    estate.mock.age_key(old["access_key_id"], 100)
    return old


def backdate_own_use(estate, user, days):
    """keyturn's own last use of the stored key happened ``days`` ago (as if it was issued back then)."""
    name = estate.name(user)
    record = dict(estate.store.current(name))
    record["keyturn_used"] = (datetime.datetime.now(datetime.timezone.utc)
                              - datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    estate.store.store.write_current(name, record, keep_previous=False)


def test_retire_after_keeps_old_key_until_a_later_run(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    old = onboard(estate, "consumer-app")
    name = estate.name("consumer-app")

    rotated = rotate(estate, ["consumer-app"], retire_after=2)
    item = by_user(rotated)["consumer-app"]
    assert item["action"] == "rotated", item
    new = estate.store.current(name)
    assert item["new_key_id"] == new["access_key_id"] and item["old_key_id"] == old["access_key_id"]
    assert item["retirement"]["state"] == "waiting" and item["retirement"]["key_id"] == old["access_key_id"]
    assert "retired_key_id" not in item
    assert any("keep the old key" in step and "retire_after" in step for step in item["plan"])
    assert estate.keys("consumer-app") == {old["access_key_id"]: "Active", new["access_key_id"]: "Active"}
    assert authenticates(awsmock.url, old["access_key_id"], old["secret_access_key"])  # consumers keep working
    record = estate.store.current(name)
    assert record["retiring"]["access_key_id"] == old["access_key_id"]
    cut_over = parse(record["retiring"]["cut_over"])
    assert "pending retirement" in rotated.task("rotate")["msg"]

    # A later run judges by its own policy: with a longer grace it keeps waiting; check mode and diff say so.
    longer = rotate(estate, ["consumer-app"], retire_after=3600, check=True, diff=True)
    task = longer.task("rotate")
    planned = by_user(longer)["consumer-app"]
    assert task["changed"] is False and planned["action"] == "skipped"
    assert planned["retirement"]["state"] == "waiting"
    assert any(f"keep the previous key {old['access_key_id']} Active" in step for step in planned["plan"])
    assert task["diff"]["after"]["consumer-app"]["plan"] == planned["plan"]
    assert estate.keys("consumer-app") == {old["access_key_id"]: "Active", new["access_key_id"]: "Active"}

    # Past the wait (real clock; nothing asserts how long anything took), a run that is not due retires it.
    while datetime.datetime.now(datetime.timezone.utc) < cut_over + datetime.timedelta(seconds=3):
        time.sleep(0.5)
    plan = rotate(estate, ["consumer-app"], retire_after=2, check=True)
    assert by_user(plan)["consumer-app"]["retirement"]["state"] == "ready"
    assert plan.task("rotate")["changed"] is True
    assert estate.keys("consumer-app") == {old["access_key_id"]: "Active", new["access_key_id"]: "Active"}
    later = rotate(estate, ["consumer-app"], retire_after=2)
    done = by_user(later)["consumer-app"]
    assert done["action"] == "skipped" and later.task("rotate")["changed"] is True
    assert done["retired_key_id"] == old["access_key_id"] and done["retirement"]["state"] == "retired"
    assert estate.keys("consumer-app") == {new["access_key_id"]: "Active"}
    assert authenticates(awsmock.url, old["access_key_id"], old["secret_access_key"]) is None
    assert authenticates(awsmock.url, new["access_key_id"], new["secret_access_key"])
    again = rotate(estate, ["consumer-app"], retire_after=2)
    assert again.task("rotate")["changed"] is False

    events = audit_events(estate)
    pending = [e for e in events if e["event"] == "access_key_retirement_pending"]
    assert pending and pending[0]["key_id"] == old["access_key_id"] and pending[0]["state"] == "waiting"
    assert [e["retired_key_id"] for e in events if e["event"] == "access_key_retired"] == [old["access_key_id"]]
    text = open(estate.audit_log, encoding="utf-8").read()
    for run in (rotated, longer, plan, later, again):
        for secret in (old["secret_access_key"], new["secret_access_key"]):
            assert secret not in run.stdout and secret not in run.stderr and secret not in text


def test_due_rotation_waits_for_the_previous_key(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    old = onboard(estate, "busy-app")
    rotate(estate, ["busy-app"], retire_after=3600)
    middle = estate.store.current(estate.name("busy-app"))
    forced = rotate(estate, ["busy-app"], retire_after=3600, force=True)
    item = by_user(forced)["busy-app"]
    assert item["action"] == "skipped" and "postponed" in item["reason"], item
    assert old["access_key_id"] in item["reason"]
    assert forced.task("rotate").get("failed") is not True
    assert estate.keys("busy-app") == {old["access_key_id"]: "Active", middle["access_key_id"]: "Active"}
    assert estate.store.current(estate.name("busy-app"))["access_key_id"] == middle["access_key_id"]
    # once the later run's policy lets the old key go, the due rotation makes room with it and proceeds
    now = rotate(estate, ["busy-app"], retire_after=0, force=True)
    done = by_user(now)["busy-app"]
    assert done["action"] == "rotated", done
    newest = estate.store.current(estate.name("busy-app"))
    assert estate.keys("busy-app") == {newest["access_key_id"]: "Active"}


def test_retire_when_idle_keeps_a_key_in_use_and_retires_an_idle_one(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    old = onboard(estate, "reader")
    name = estate.name("reader")
    backdate_own_use(estate, "reader", 3)
    # an application uses the old key: IAM records the use (s3 in eu-west-1, as AWS would report it)
    awsmock.set_last_used(old["access_key_id"], 0.001, service="s3", region="eu-west-1")
    rotated = rotate(estate, ["reader"], retire_when_idle=3600)
    item = by_user(rotated)["reader"]
    assert item["action"] == "rotated", item
    new = estate.store.current(name)
    assert item["retirement"]["state"] == "in_use", item
    assert item["retirement"]["last_used"]["service"] == "s3"
    assert item["retirement"]["last_used"]["region"] == "eu-west-1"
    assert item["retirement"]["last_used"]["date"] and item["retirement"]["last_used"]["by_keyturn"] is False
    assert "still in use" in item["retirement"]["reason"]
    assert estate.keys("reader") == {old["access_key_id"]: "Active", new["access_key_id"]: "Active"}

    # every run says so while it stays in use
    again = rotate(estate, ["reader"], retire_when_idle=3600)
    still = by_user(again)["reader"]
    assert still["action"] == "skipped" and still["retirement"]["state"] == "in_use"
    assert again.task("rotate")["changed"] is False
    assert estate.keys("reader")[old["access_key_id"]] == "Active"

    # IAM now reports the last use two days back: idle for longer than retire_when_idle, so it is retired
    awsmock.set_last_used(old["access_key_id"], 2, service="s3", region="eu-west-1")
    idle = rotate(estate, ["reader"], retire_when_idle=3600)
    done = by_user(idle)["reader"]
    assert done["retired_key_id"] == old["access_key_id"] and done["retirement"]["state"] == "retired", done
    assert "idle since" in done["retirement"]["reason"]
    assert estate.keys("reader") == {new["access_key_id"]: "Active"}


def test_keyturns_own_use_is_not_use(runner, awsmock, account_id):
    """The old key was last used by keyturn's own verification when it was issued: that is not an application
    using it, so retire_when_idle retires it at once."""
    estate = Estate(runner, awsmock, account_id)
    old = onboard(estate, "quiet-app")
    state = awsmock.key_state(old["access_key_id"])
    assert state["last_used"], state  # the verification at issue time is what IAM shows
    recorded = estate.store.current(estate.name("quiet-app"))["keyturn_used"]
    assert parse(recorded) >= parse(state["last_used"] if state["last_used"].endswith(("Z", "+00:00"))
                                    else state["last_used"] + "+00:00").replace(microsecond=0)
    rotated = rotate(estate, ["quiet-app"], retire_when_idle=86400)
    item = by_user(rotated)["quiet-app"]
    assert item["action"] == "rotated", item
    assert item["retirement"]["state"] == "retired", item
    assert item["retirement"]["last_used"]["by_keyturn"] is True
    new = estate.store.current(estate.name("quiet-app"))
    assert estate.keys("quiet-app") == {new["access_key_id"]: "Active"}

    # the same key, used by an application after keyturn verified it, is kept
    other = onboard(estate, "busy-app")
    backdate_own_use(estate, "busy-app", 1)  # keyturn verified it a day ago ...
    assert authenticates(awsmock.url, other["access_key_id"], other["secret_access_key"])  # ... an app uses it now
    kept = by_user(rotate(estate, ["busy-app"], retire_when_idle=86400))["busy-app"]
    assert kept["retirement"]["state"] == "in_use" and kept["retirement"]["last_used"]["by_keyturn"] is False, kept
    assert estate.keys("busy-app")[other["access_key_id"]] == "Active"


def test_bad_grace_values_are_refused(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    estate.user("app")
    for option, value in (("retire_after", -1), ("retire_when_idle", 10 ** 12)):
        result = rotate(estate, ["app"], **{option: value})
        task = result.task("rotate")
        assert task["failed"] is True and option in task["msg"] and "seconds" in task["msg"], task
    assert estate.keys("app") == {}
