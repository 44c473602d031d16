# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dual_account_rotation role through the keyturn.aws.dual_swap playbook, against awsmock (auth enforced)."""

from __future__ import annotations

import json

from pairs import sts_identity
from stores import StoreUnderTest, aws_client

POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]}
OTHER = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "*"}]}


def find_task(result, suffix):
    for play in result.data["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].endswith(suffix):
                return task["hosts"]["localhost"]
    raise AssertionError(f"no task ending in {suffix!r}: {result.stdout[-3000:]}{result.stderr[-3000:]}")


def report(result):
    return {entry["pair"]: entry for entry in find_task(result, "Report the pairs")["msg"]}


def assert_pair_state(awsmock, account_id, store, iam, active):
    """What the role reported, read back from the store and IAM: the pair record names ``active``; each
    member has exactly one key, Active, the one its store record holds, and it authenticates as that member."""
    record = store.current("pairs/web")
    assert (record["kind"], record["active"], sorted(record["users"])) == ("dual_pair", active, ["web-a", "web-b"])
    assert record["inactive"] == ({"web-a", "web-b"} - {active}).pop()
    for user in ("web-a", "web-b"):
        staged = store.read(f"{account_id}/{user}")
        assert staged.pending is None
        held = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]}
        assert held == {staged.current["access_key_id"]: "Active"}, (user, held)
        identity = sts_identity(awsmock.url, staged.current["access_key_id"], staged.current["secret_access_key"])
        assert identity == f"arn:aws:iam::{account_id}:user/{user}"


def test_role_over_pairs(runner, awsmock, account_id):
    admin = awsmock.bootstrap(account_id)
    iam = aws_client(awsmock.url, admin, "iam")
    for user, policy in (("web-a", POLICY), ("web-b", POLICY), ("etl-a", POLICY), ("etl-b", OTHER)):
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="app", PolicyDocument=json.dumps(policy))
    store = StoreUnderTest("file", runner.tmp, awsmock.url, admin)
    base = {
        "dual_account_rotation_aws": {"endpoint_url": awsmock.url, "region": "us-east-1",
                                      "access_key": admin["access_key_id"], "secret_key": admin["secret_access_key"]},
        "dual_account_rotation_store": store.option,
        "dual_account_rotation_verify_timeout": 20,
        "dual_account_rotation_pairs": [
            {"pair": "pairs/web", "users": ["web-a", "web-b"], "force": True},
            {"pair": "pairs/etl", "users": ["etl-a", "etl-b"]},
        ],
    }

    def keys():
        return {u: sorted(k["AccessKeyId"] for k in iam.list_access_keys(UserName=u)["AccessKeyMetadata"])
                for u in ("web-a", "web-b", "etl-a", "etl-b")}

    def state():
        return {n: store.read(n) for n in ("pairs/web", "pairs/etl", f"{account_id}/web-a", f"{account_id}/web-b")}, keys()

    # check mode: reports init for the good pair, the permissions difference for the other; changes nothing
    before = state()
    planned = runner.playbook("keyturn.aws.dual_swap", base, check=True)
    assert planned.rc != 0
    plan = report(planned)
    assert plan["pairs/web"]["step"] == "initialized" and plan["pairs/web"]["failed"] is False
    assert plan["pairs/etl"]["failed"] is True and "inline policy app differs" in plan["pairs/etl"]["msg"]
    assert "1 of 2 dual pairs failed: pairs/etl" in find_task(planned, "Fail when a pair failed")["msg"]
    assert state() == before

    # one failed pair never stops the other
    first = runner.playbook("keyturn.aws.dual_swap", base)
    assert first.rc != 0
    done = report(first)
    assert done["pairs/web"]["step"] == "initialized" and done["pairs/web"]["active_user"] == "web-a"
    assert done["pairs/etl"]["failed"] is True
    assert keys()["etl-a"] == [] and keys()["etl-b"] == []
    web_a = store.current(f"{account_id}/web-a")
    assert_pair_state(awsmock, account_id, store, iam, active="web-a")
    assert store.read("pairs/etl").empty and store.read(f"{account_id}/etl-a").empty

    # the good pair alone: a forced swap next
    base["dual_account_rotation_pairs"] = base["dual_account_rotation_pairs"][:1]
    second = runner.playbook("keyturn.aws.dual_swap", base)
    assert second.rc == 0
    swapped = report(second)["pairs/web"]
    assert (swapped["step"], swapped["active_user"], swapped["inactive_user"]) == ("swapped", "web-b", "web-a")
    assert swapped["next_step_after"]
    assert_pair_state(awsmock, account_id, store, iam, active="web-b")
    assert store.current(f"{account_id}/web-a") == web_a, "the swap must not touch the now-inactive member's key yet"

    # the swap task's arguments and results are hidden (no_log); no secret anywhere
    hidden = find_task(second, "Advance each dual pair one safe step")
    assert "web-b" not in json.dumps(hidden["results"]) and hidden["results"][0]["censored"]
    for run in (planned, first, second):
        for secret in (web_a["secret_access_key"], admin["secret_access_key"]):
            assert secret not in run.stdout and secret not in run.stderr
