# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two overlapping rotations of the same users, and a rotation under heavy throttling."""

from __future__ import annotations

import concurrent.futures
import os
import stat

import pytest

from estate import ROTATE, Estate, authenticates
from stores import STORE_TYPES
from tools.awsmock.client import AwsMock


def due_users(estate, names):
    originals = {}
    for name in names:
        estate.user(name)
        key = estate.iam.create_access_key(UserName=name)["AccessKey"]
        record = {"kind": "iam_user_key", "access_key_id": key["AccessKeyId"],
                  "secret_access_key": key["SecretAccessKey"], "user_name": name,
                  "account_id": estate.account_id, "partition": "aws"}
        estate.store.store.write_current(estate.name(name), record)
        estate.mock.age_key(key["AccessKeyId"], 100)
        originals[name] = record
    return originals


def assert_rotated_once(estate, originals):
    for name, original in originals.items():
        staged = estate.store.read(estate.name(name))
        current = staged.current
        assert authenticates(estate.mock.url, current["access_key_id"], current["secret_access_key"]), name
        assert staged.previous["access_key_id"] == original["access_key_id"], f"{name} was rotated twice"
        assert staged.pending is None
        assert estate.keys(name) == {current["access_key_id"]: "Active"}


@pytest.mark.parametrize("store_kind", STORE_TYPES)
def test_overlapping_runs(runner, awsmock, account_id, store_kind):
    estate = Estate(runner, awsmock, account_id, store_kind)
    names = [f"shared-{i}" for i in range(6)]
    originals = due_users(estate, names)
    data = estate.vars(users=names, verify_timeout=30)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda _i: runner.playbook(ROTATE, data), range(2)))
    rotated = []
    for run in runs:
        task = run.task("rotate")
        assert not task.get("failed"), task.get("msg")
        rotated += [u["user_name"] for u in task["users"] if u["action"] == "rotated"]
    assert sorted(rotated) == sorted(names), "each user must be rotated by exactly one of the two runs"
    assert_rotated_once(estate, originals)
    if store_kind == "file":
        assert stat.S_IMODE(os.stat(estate.store.option["path"]).st_mode) == 0o600


@pytest.fixture
def throttling_server():
    with AwsMock() as server:
        yield server


def test_rotation_under_throttling(runner, throttling_server, account_id):
    estate = Estate(runner, throttling_server, account_id, "secretsmanager")
    names = [f"busy-{i}" for i in range(5)]
    originals = due_users(estate, names)
    throttling_server.reset_stats()
    throttling_server.configure(throttle_rate=0.3, seed=7)
    try:
        result = runner.playbook(ROTATE, estate.vars(users=names, verify_timeout=60))
    finally:
        throttling_server.configure(throttle_rate=0)
    stats = throttling_server.stats()
    task = result.task("rotate")
    assert not task.get("failed"), task.get("msg")
    assert [u["action"] for u in task["users"]] == ["rotated"] * 5
    assert_rotated_once(estate, originals)
    # The run really was throttled, and got through by retrying: at least one in ten of its calls was refused
    # (the seeded draw refuses ~30%), and the run made more calls than it was answered.
    assert stats["throttled"] >= max(5, stats["total_calls"] // 10), stats
    assert stats["calls"].get("iam:CreateAccessKey", 0) >= 5, stats["calls"]
