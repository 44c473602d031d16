# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Crash-anywhere chaos: a rotation of many users under throttling is killed with SIGKILL at a
random instant -- the whole process tree, mid-call or between calls -- then a clean run must
restore the invariants.  Each trial is reproducible from its seed (the kill point is drawn as
"after the Nth AWS call of the run, plus a random delay", so where it lands in the code does
not depend on how fast the machine is; the delay puts it anywhere, not at a call boundary).

Invariants checked after the recovery run, for every user:
* the store's current key authenticates (STS) as that user of that account;
* every IAM key of the user is accounted for by the store (retire: delete leaves only current);
* the user was rotated exactly once (previous is the original key; at most one key was created
  by each of the two runs, counted from the keys awsmock issued);
* no pending record and no lease is left in the store.
The killed run's leases name a dead process of this host: the recovery runs with
``lock_timeout: 0``, so it fails if it had to wait for them instead of taking them over."""

from __future__ import annotations

import os
import random
import time
import typing as t

from estate import PLAY_HEAD, Estate, authenticates
from proctree import become_subreaper, kill_tree
from stores import aws_client
from test_overlap_throttle import due_users

TRIALS = int(os.environ.get("KEYTURN_CHAOS_TRIALS", "6"))
SEED = int(os.environ.get("KEYTURN_CHAOS_SEED", "18"))
THROTTLE = float(os.environ.get("KEYTURN_CHAOS_THROTTLE", "0.03"))
USERS = max(20, int(os.environ.get("KEYTURN_CHAOS_USERS", "20")))
MAX_JITTER = 0.4  # seconds after the Nth call: anywhere in the following call(s) or the code between them

ROTATE = PLAY_HEAD + """
    - name: rotate
      keyturn.aws.access_key_rotate:
        users: "{{ users }}"
        store: "{{ store }}"
        audit_log: "{{ audit_log }}"
        verify_timeout: 60
        verify_successes: 2
        lock_timeout: "{{ lock_timeout | default(300) }}"
      register: rotation
      ignore_errors: true
"""


def user_names() -> t.List[str]:
    return [f"chaos-{i:02d}" for i in range(USERS)]


def leases_left(estate: Estate) -> t.List[str]:
    """Every lease present in the store, whatever its owner or expiry."""
    kind, store = estate.store.kind, estate.store.store
    if kind == "file":
        return sorted(name for name, entry in store._load().items() if isinstance(entry, dict) and entry.get("lease"))
    prefix = estate.store.option["prefix"]
    if kind == "ssm":
        pages = aws_client(estate.mock.url, estate.admin, "ssm").get_paginator("get_parameters_by_path").paginate(
            Path=prefix.rstrip("/"), Recursive=True)
        names = [p["Name"] for page in pages for p in page["Parameters"]]
    else:
        pages = aws_client(estate.mock.url, estate.admin, "secretsmanager").get_paginator("list_secrets").paginate(
            Filters=[{"Key": "name", "Values": [prefix]}])
        names = [s["Name"] for page in pages for s in page["SecretList"]]
    return sorted(n for n in names if n.startswith(prefix) and n.endswith(".lease"))


class Chaos:
    """Runs trials against one awsmock server (throttling is global to a server)."""

    def __init__(self, server: t.Any) -> None:
        self.server = server
        self.expected_calls: t.Dict[str, int] = {}
        self.counts: t.Dict[str, int] = {}
        become_subreaper()

    def count(self, **values: int) -> None:
        for key, value in values.items():
            self.counts[key] = self.counts.get(key, 0) + int(value)

    def calls_of_clean_run(self, runner: t.Any, kind: str) -> int:
        """AWS calls of a clean (unthrottled) rotation of USERS users with this store type."""
        if kind not in self.expected_calls:
            estate = Estate(runner, self.server, f"4{random.Random(kind).randrange(10 ** 11):011d}", kind)
            due_users(estate, user_names())
            before = self.server.stats()["total_calls"]
            result = runner.playbook(ROTATE, estate.vars(users=user_names()))
            assert [u["action"] for u in result.task("rotate")["users"]] == ["rotated"] * USERS, result.stdout[-3000:]
            self.expected_calls[kind] = self.server.stats()["total_calls"] - before
        return self.expected_calls[kind]

    def trial(self, runner: t.Any, kind: str, index: int) -> None:
        rng = random.Random(f"{SEED}:{index}")
        expected = self.calls_of_clean_run(runner, kind)
        estate = Estate(runner, self.server, f"5{index:05d}{rng.randrange(10 ** 6):06d}", kind)
        names = user_names()
        originals = {name: record["access_key_id"] for name, record in due_users(estate, names).items()}
        data = estate.vars(users=names)
        target, jitter = rng.randint(1, expected), rng.uniform(0, MAX_JITTER)
        where = f"trial {index} (seed {SEED}, {kind}, kill after call {target}/{expected} + {jitter:.3f}s)"

        # 1. The run, killed at the drawn instant with its whole process tree.
        self.server.configure(throttle_rate=THROTTLE, seed=rng.randrange(2 ** 31))
        base = self.server.stats()
        proc = runner.popen(ROTATE, data)
        while proc.poll() is None and self.server.stats()["total_calls"] - base["total_calls"] < target:
            time.sleep(0.005)
        time.sleep(jitter)
        killed = proc.poll() is None
        if killed:
            self.count(chaos_processes_killed=len(kill_tree(proc)))
        self.server.configure(throttle_rate=0)
        self.count(chaos_trials=1, chaos_runs_killed=int(killed), chaos_runs_finished_before_the_kill=int(not killed))

        # 2. Right after the crash: every stored current key still works.
        after_kill = {name: estate.store.read(estate.name(name)) for name in names}
        for name in names:
            self.check_current(estate, name, after_kill[name].current, where + " (after the kill)")
        leases = leases_left(estate)
        self.count(chaos_leases_left_by_killed_runs=len(leases),
                   chaos_pending_records_left_by_killed_runs=sum(s.pending is not None for s in after_kill.values()),
                   chaos_orphan_keys_left_by_killed_runs=sum(
                       len(set(estate.keys(n)) - {(s.current or {}).get("access_key_id"), (s.previous or {}).get("access_key_id")})
                       for n, s in after_kill.items()))

        # 3. A clean run, throttled as well; lock_timeout 0: the dead run's leases must be taken over at once.
        self.server.configure(throttle_rate=THROTTLE)
        recovery = runner.playbook(ROTATE, dict(data, lock_timeout=0))
        self.server.configure(throttle_rate=0)
        self.count(chaos_throttled_answers=self.server.stats()["throttled"] - base["throttled"])
        task = recovery.task("rotate")
        results = {u["user_name"]: u for u in task.get("users", [])}
        assert sorted(results) == sorted(names), f"{where}: recovery run: {task.get('msg')}"
        failed = {n: u["reason"] for n, u in results.items() if u["action"] == "failed"}
        assert not failed, f"{where}: the recovery run failed users: {failed}"

        # 4. The invariants.
        issued: t.Dict[str, t.List[str]] = {}
        for item in self.server.issued(estate.account_id):
            issued.setdefault(item.get("user_name") or "", []).append(item["access_key_id"])
        for name in names:
            staged = estate.store.read(estate.name(name))
            current = self.check_current(estate, name, staged.current, where)
            assert staged.pending is None, f"{where}: {name}: a pending record survived the recovery run"
            assert current["access_key_id"] != originals[name], f"{where}: {name} was never rotated"
            assert (staged.previous or {}).get("access_key_id") == originals[name], \
                f"{where}: {name} was rotated twice (previous is not the original key)"
            assert estate.keys(name) == {current["access_key_id"]: "Active"}, \
                f"{where}: {name}: IAM holds keys the store does not account for: {estate.keys(name)}"
            created = [k for k in issued.get(name, []) if k != originals[name]]
            assert current["access_key_id"] in created and len(created) <= 2, \
                f"{where}: {name}: {len(created)} keys were created for one rotation"
            if (after_kill[name].previous or {}).get("access_key_id") == originals[name]:  # the killed run had promoted
                assert current["access_key_id"] == after_kill[name].current["access_key_id"], \
                    f"{where}: {name} was rotated again after a finished rotation ({results[name]['action']})"
            self.count(chaos_users_checked=1, chaos_keys_created=len(created))
        assert leases_left(estate) == [], f"{where}: leases left behind: {leases_left(estate)}"

    @staticmethod
    def check_current(estate: Estate, name: str, current: t.Optional[dict], where: str) -> dict:
        assert current is not None, f"{where}: the store lost {name}'s credential"
        ident = authenticates(estate.mock.url, current["access_key_id"], current["secret_access_key"])
        assert ident is not None, f"{where}: {name}'s stored current key does not authenticate"
        assert ident["Arn"] == f"arn:aws:iam::{estate.account_id}:user/{name}", f"{where}: {name}: {ident['Arn']}"
        return current
