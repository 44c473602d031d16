# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keyturn.aws.access_key_rotate through real ansible-playbook against awsmock (auth enforced)."""

from __future__ import annotations

import json

import pytest

from estate import Estate, authenticates, by_user
from stores import STORE_TYPES


@pytest.mark.parametrize("store_kind", STORE_TYPES)
def test_rotation_lifecycle(runner, awsmock, account_id, store_kind):
    estate = Estate(runner, awsmock, account_id, store_kind)
    users = [estate.user("app-one"), estate.user("app-two")]

    first = estate.rotate(users)
    assert first.rc == 0 and not first.task("rotate").get("failed"), first.task("rotate")
    results = by_user(first)
    for user in users:
        assert results[user]["action"] == "rotated" and results[user]["reason"] == "no stored credential"
        current = estate.store.current(estate.name(user))
        assert current["access_key_id"] == results[user]["new_key_id"]
        ident = authenticates(awsmock.url, current["access_key_id"], current["secret_access_key"])
        assert ident["Arn"] == f"arn:aws:iam::{account_id}:user/{user}"
        assert estate.keys(user) == {current["access_key_id"]: "Active"}

    second = estate.rotate(users)
    assert second.task("rotate")["changed"] is False
    assert {r["action"] for r in second.task("rotate")["users"]} == {"skipped"}

    old = estate.store.current(estate.name("app-one"))
    awsmock.age_key(old["access_key_id"], 100)
    before_store = estate.store.read(estate.name("app-one"))
    planned = estate.rotate(users, check=True, diff=True)
    plan = by_user(planned)
    assert plan["app-one"]["action"] == "rotated" and plan["app-two"]["action"] == "skipped"
    assert "100 days old" in plan["app-one"]["reason"]
    assert planned.task("rotate")["changed"] is True
    assert "diff" in planned.task("rotate")
    assert estate.store.read(estate.name("app-one")) == before_store
    assert estate.keys("app-one") == {old["access_key_id"]: "Active"}

    real = estate.rotate(users)
    done = by_user(real)
    assert done["app-one"]["action"] == "rotated" and done["app-two"]["action"] == "skipped"
    assert done["app-one"]["plan"] == plan["app-one"]["plan"]
    assert done["app-one"]["old_key_id"] == old["access_key_id"]
    new = estate.store.current(estate.name("app-one"))
    assert new["access_key_id"] == done["app-one"]["new_key_id"] != old["access_key_id"]
    assert authenticates(awsmock.url, new["access_key_id"], new["secret_access_key"])
    assert authenticates(awsmock.url, old["access_key_id"], old["secret_access_key"]) is None
    assert estate.keys("app-one") == {new["access_key_id"]: "Active"}
    assert estate.store.read(estate.name("app-one")).previous["access_key_id"] == old["access_key_id"]
    assert estate.store.read(estate.name("app-one")).pending is None

    with open(estate.audit_log, encoding="utf-8") as handle:
        events = [json.loads(line) for line in handle]
    assert [e["user_name"] for e in events if e["event"] == "access_key_rotated"] == ["app-one", "app-two", "app-one"] or \
        sorted(e["user_name"] for e in events if e["event"] == "access_key_rotated") == ["app-one", "app-one", "app-two"]
    audit_text = open(estate.audit_log, encoding="utf-8").read()
    for run in (first, second, planned, real):
        for secret in (old["secret_access_key"], new["secret_access_key"]):
            assert secret not in run.stdout and secret not in run.stderr and secret not in audit_text


def test_unknown_active_key_blocks_user(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    estate.user("legacy")
    outside = estate.iam.create_access_key(UserName="legacy")["AccessKey"]["AccessKeyId"]
    estate.user("fresh")
    result = estate.rotate(["legacy", "fresh"])
    task = result.task("rotate")
    assert task["failed"] is True
    results = by_user(result)
    assert results["legacy"]["action"] == "failed"
    assert outside in results["legacy"]["reason"] and "unmanaged_keys: deactivate" in results["legacy"]["reason"]
    assert results["fresh"]["action"] == "rotated"  # one failed user never stops the others
    assert "1 of 2 users failed" in task["msg"]
    assert estate.keys("legacy") == {outside: "Active"}
    assert estate.store.read(estate.name("legacy")).empty

    onboard = estate.rotate(["legacy"], unmanaged="deactivate")
    assert by_user(onboard)["legacy"]["action"] == "rotated", onboard.task("rotate")
    keys = estate.keys("legacy")
    assert keys[outside] == "Inactive" and len(keys) == 2


def test_two_keys_one_stored_one_inactive(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    estate.user("busy")
    estate.rotate(["busy"])
    stored = estate.store.current(estate.name("busy"))
    spare = estate.iam.create_access_key(UserName="busy")["AccessKey"]["AccessKeyId"]
    estate.iam.update_access_key(UserName="busy", AccessKeyId=spare, Status="Inactive")
    awsmock.age_key(stored["access_key_id"], 120)
    result = estate.rotate(["busy"])
    item = by_user(result)["busy"]
    assert item["action"] == "rotated", item
    assert any(spare in step and "make room" in step for step in item["plan"])
    new = estate.store.current(estate.name("busy"))
    assert estate.keys("busy") == {new["access_key_id"]: "Active"}


def test_self_rotate_with_own_key_only(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    own_keys = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
        "iam:ListAccessKeys", "iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:UpdateAccessKey", "iam:GetUser"]}]}
    estate.user("selfie", own_keys)
    estate.rotate(["selfie"])  # privileged onboarding
    # the task identity may only call STS: every IAM call must use the user's own key
    estate.user("observer", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["sts:GetCallerIdentity"], "Resource": "*"}]})
    observer = estate.iam.create_access_key(UserName="observer")["AccessKey"]
    creds = {"access_key_id": observer["AccessKeyId"], "secret_access_key": observer["SecretAccessKey"]}
    old = estate.store.current(estate.name("selfie"))
    awsmock.age_key(old["access_key_id"], 91)
    denied = estate.rotate(["selfie"], task_creds=creds)
    assert by_user(denied)["selfie"]["action"] == "failed"
    assert "access denied" in by_user(denied)["selfie"]["reason"].lower()
    result = estate.rotate(["selfie"], task_creds=creds, self_rotate=True)
    item = by_user(result)["selfie"]
    assert item["action"] == "rotated", item
    new = estate.store.current(estate.name("selfie"))
    assert authenticates(awsmock.url, new["access_key_id"], new["secret_access_key"])
    assert authenticates(awsmock.url, old["access_key_id"], old["secret_access_key"]) is None


def test_no_secret_at_vvv(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    estate.user("quiet")
    first = estate.rotate(["quiet"], verbosity=3, json_output=False)
    old = estate.store.current(estate.name("quiet"))
    awsmock.age_key(old["access_key_id"], 100)
    second = estate.rotate(["quiet"], verbosity=3, json_output=False)
    assert "rotation: 1 rotated" in second.stdout
    new = estate.store.current(estate.name("quiet"))
    registered = estate.rotate(["quiet"])
    audit_text = open(estate.audit_log, encoding="utf-8").read()
    for secret in (old["secret_access_key"], new["secret_access_key"], estate.admin["secret_access_key"]):
        for run in (first, second, registered):
            assert secret not in run.stdout
            assert secret not in run.stderr
        assert secret not in audit_text
    assert new["access_key_id"] in second.stdout  # key ids are shown, secrets are not


def test_propagation_delay_wait_and_rollback(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    estate.user("slow")
    estate.rotate(["slow"])
    old = estate.store.current(estate.name("slow"))
    awsmock.configure(propagation_delay=3)
    try:
        waited = estate.rotate(["slow"], force=True, verify_timeout=30)
        item = by_user(waited)["slow"]
        assert item["action"] == "rotated", item
        middle = estate.store.current(estate.name("slow"))
        assert middle["access_key_id"] == item["new_key_id"]
        awsmock.configure(propagation_delay=60)
        too_slow = estate.rotate(["slow"], force=True, verify_timeout=3)
    finally:
        awsmock.configure(propagation_delay=0)
    failed = by_user(too_slow)["slow"]
    assert failed["action"] == "failed" and "did not verify" in failed["reason"]
    assert f"the stored key {middle['access_key_id']} was kept" in failed["reason"]
    assert estate.store.current(estate.name("slow"))["access_key_id"] == middle["access_key_id"]
    assert estate.store.read(estate.name("slow")).pending is None
    assert estate.keys("slow") == {middle["access_key_id"]: "Active"}
    assert authenticates(awsmock.url, middle["access_key_id"], middle["secret_access_key"])
    assert old["access_key_id"] not in estate.keys("slow")


@pytest.mark.parametrize("region,partition", [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")])
def test_rotation_in_other_partitions(runner, awsmock, account_id, region, partition):
    estate = Estate(runner, awsmock, account_id, "file", region, partition)
    estate.user("far-away")
    first = estate.rotate(["far-away"])
    assert by_user(first)["far-away"]["action"] == "rotated", first.task("rotate")
    old = estate.store.current(estate.name("far-away"))
    assert old["partition"] == partition
    assert old["arn"] == f"arn:{partition}:iam::{account_id}:user/far-away"
    awsmock.age_key(old["access_key_id"], 100)
    second = estate.rotate(["far-away"])
    assert by_user(second)["far-away"]["action"] == "rotated"
    new = estate.store.current(estate.name("far-away"))
    ident = authenticates(awsmock.url, new["access_key_id"], new["secret_access_key"], region)
    assert ident["Arn"] == f"arn:{partition}:iam::{account_id}:user/far-away"
    assert authenticates(awsmock.url, old["access_key_id"], old["secret_access_key"], region) is None
