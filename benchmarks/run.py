# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``make bench`` / ``python -m benchmarks.run``: keyturn.aws against the naive amazon.aws
playbook and the plain boto3 floor, side by side, on one local awsmock (moto) server.

Scenarios (each in its own fresh account on the same server):

* keyturn: ``keyturn.aws.access_key_rotate`` in one task over N due users, default
  settings (concurrency 10, two STS successes, file store).  The users are onboarded by a
  first rotation (they start without keys), then their keys are backdated so that the
  measured run rotates every one of them.  Also run at the ``--memory-users`` sizes to show
  how time and peak memory grow with the number of users;
* naive: ``amazon.aws.iam_access_key_info`` + ``iam_access_key`` present +
  ``iam_access_key`` absent for the old key, each looping over the users, with amazon.aws
  from the PyPI ``ansible`` package in its own virtualenv (build/bench-venv).  One module
  process per user and task, so it is measured on ``--naive-users`` users and extrapolated;
* floor: benchmarks/floor.py, the same safe protocol as a sequential boto3 loop;
* delay: keyturn with a simulated IAM propagation delay, at concurrency 1 and at the default.

Reported per scenario: wall time, time per user, AWS calls per rotated user (counted by the
server) and the peak RSS of the process tree (``wait4``'s ``ru_maxrss``: the largest single
process of the tree, e.g. the ansible worker that runs the rotation).  Targets are printed
with PASS/FAIL; they are not assertions: the exit code only says whether every run worked.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import typing as t

import boto3

from tools.awsmock.client import AwsMock

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(os.path.abspath(sys.executable))
BUILD = os.path.join(ROOT, "build")
COLLECTIONS = os.path.join(BUILD, "collections")
BENCH_VENV = os.path.join(BUILD, "bench-venv")
REQUIREMENTS = os.path.join(ROOT, "benchmarks", "requirements.txt")
CONSTRAINTS = os.path.join(ROOT, "requirements", "constraints.txt")
DEFAULT_OUTPUT = os.path.join("benchmarks", "results", "latest.json")
REGION = "us-east-1"
VAULT_PASSWORD = "keyturn-benchmark-vault-password"
AGE_DAYS = 120  # older than the default max_age_days (90): every key is due

SCENARIOS = ("keyturn", "floor", "naive", "delay", "stores")
STORE_KINDS = ("secretsmanager", "ssm")
TARGET_NAIVE_SPEEDUP = 50.0
TARGET_CALLS_PER_USER = 8.0
TARGET_DELAY_SPEEDUP = 10.0
TARGET_TIME_OVER_FLOOR = 1.0  # keyturn's wall time / the floor's
TARGET_CPU_OVER_FLOOR = 1.5  # keyturn's client CPU seconds per rotated user / the floor's
TARGET_LINEAR = 1.2  # per-user wall time at the largest size / at --users
TARGET_MEMORY_GROWTH = 1.5  # peak RSS at the largest size / at --users

KEYTURN_PLAY = """\
- name: keyturn.aws benchmark
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Rotate every due user in one task
      keyturn.aws.access_key_rotate:
        endpoint_url: "{{ bench_endpoint }}"
        region: "{{ bench_region }}"
        access_key: "{{ bench_admin.access_key_id }}"
        secret_key: "{{ bench_admin.secret_access_key }}"
        users: "{{ bench_users }}"
        store: "{{ bench_store }}"
        concurrency: "{{ bench_concurrency | default(omit) }}"
      register: bench_rotation
      ignore_errors: true

    - name: Report the outcome
      ansible.builtin.debug:
        msg: "BENCH_RESULT {{ {'summary': bench_rotation.summary | default({}), 'msg': bench_rotation.msg | default('')} | to_json | b64encode }}"
"""

NAIVE_PLAY = """\
- name: naive amazon.aws rotation
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/amazon.aws.aws:
      endpoint_url: "{{ bench_endpoint }}"
      region: "{{ bench_region }}"
      access_key: "{{ bench_admin.access_key_id }}"
      secret_key: "{{ bench_admin.secret_access_key }}"
  tasks:
    - name: List the current keys
      amazon.aws.iam_access_key_info:
        user_name: "{{ item }}"
      loop: "{{ bench_users }}"
      register: bench_before

    - name: Create a new key
      amazon.aws.iam_access_key:
        user_name: "{{ item }}"
        state: present
      loop: "{{ bench_users }}"
      register: bench_created
      no_log: true

    - name: Delete the old key
      amazon.aws.iam_access_key:
        user_name: "{{ item.item }}"
        id: "{{ item.access_keys[0].access_key_id }}"
        state: absent
      loop: "{{ bench_before.results }}"
      loop_control:
        label: "{{ item.item }}"
"""

EMPTY_PLAY = """\
- name: startup cost of ansible-playbook
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Nothing
      ansible.builtin.debug:
        msg: started
"""


class BenchError(Exception):
    """A benchmark run did not work (not a missed target)."""


@dataclasses.dataclass
class Measured:
    wall: float
    max_rss_kib: int
    cpu: float
    rc: int
    log: str

    def tail(self, lines: int = 40) -> str:
        with open(self.log, encoding="utf-8", errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])

    def text(self) -> str:
        with open(self.log, encoding="utf-8", errors="replace") as handle:
            return handle.read()


def measure(cmd: t.Sequence[str], env: t.Mapping[str, str], cwd: str, log: str, timeout: float) -> Measured:
    """Run ``cmd``; wall time and the peak RSS of its process tree (``wait4``)."""
    with open(log, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        timer = threading.Timer(timeout, _kill_group, (proc.pid,))
        timer.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode < 0:
        raise BenchError(f"{cmd[0]} was killed (signal {-proc.returncode}; timeout {timeout:g}s?); log: {log}")
    return Measured(wall, int(usage.ru_maxrss), usage.ru_utime + usage.ru_stime, proc.returncode, log)


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def file_sha(*paths: str) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()


def ensure_bench_venv() -> str:
    """build/bench-venv with the pinned PyPI ``ansible`` (amazon.aws); reused while the pins hold."""
    python = os.path.join(BENCH_VENV, "bin", "python")
    stamp = os.path.join(BENCH_VENV, ".keyturn-bench-stamp")
    want = file_sha(REQUIREMENTS, CONSTRAINTS)
    if os.path.exists(python) and os.path.exists(stamp):
        with open(stamp, encoding="utf-8") as handle:
            if handle.read().strip() == want:
                return BENCH_VENV
    print(f"creating {os.path.relpath(BENCH_VENV, ROOT)} (ansible from PyPI for amazon.aws) ...", flush=True)
    if os.path.isdir(BENCH_VENV):
        shutil.rmtree(BENCH_VENV)
    subprocess.run([sys.executable, "-m", "venv", BENCH_VENV], check=True)
    subprocess.run([python, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", REQUIREMENTS,
                    "-c", CONSTRAINTS], check=True)
    with open(stamp, "w", encoding="utf-8") as handle:
        handle.write(want + "\n")
    return BENCH_VENV


def version_of(python: str, code: str) -> str:
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    return proc.stdout.strip() or "unknown"


class Bench:
    """One benchmark run: a work directory, the awsmock server and the scenarios."""

    def __init__(self, args: argparse.Namespace, mock: AwsMock, work: str) -> None:
        self.args = args
        self.mock = mock
        self.work = work
        self.vault_file = self.path("vault-password")
        with open(self.vault_file, "w", encoding="utf-8") as handle:
            handle.write(VAULT_PASSWORD + "\n")
        os.chmod(self.vault_file, 0o600)
        self.keyturn_play = self.write("keyturn.yml", KEYTURN_PLAY)
        self.naive_play = self.write("naive.yml", NAIVE_PLAY)
        self.empty_play = self.write("empty.yml", EMPTY_PLAY)
        self.next_account = 210000000001

    # -- helpers ------------------------------------------------------------
    def path(self, *parts: str) -> str:
        return os.path.join(self.work, *parts)

    def write(self, name: str, text: str) -> str:
        path = self.path(name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path

    def account(self) -> t.Tuple[str, t.Dict[str, str], t.Any]:
        account_id = str(self.next_account)
        self.next_account += 1
        admin = self.mock.bootstrap(account_id, user_name="bench-admin")
        return account_id, admin, self.client(admin, "iam")

    def client(self, creds: t.Mapping[str, str], service: str) -> t.Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.mock.url,
                            aws_access_key_id=creds["access_key_id"], aws_secret_access_key=creds["secret_access_key"])

    @staticmethod
    def users(iam: t.Any, count: int, with_keys: bool) -> t.Tuple[t.List[str], t.Set[str]]:
        names = [f"svc-{index:04d}" for index in range(count)]
        old: t.Set[str] = set()
        for name in names:
            iam.create_user(UserName=name, Path="/bench/")
            if with_keys:
                old.add(iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"])
        return names, old

    @staticmethod
    def keys(iam: t.Any, names: t.Sequence[str]) -> t.Dict[str, t.List[str]]:
        return {name: [k["AccessKeyId"] for k in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]] for name in names}

    def check_rotated(self, iam: t.Any, names: t.Sequence[str], old: t.Set[str], label: str, expected: int) -> None:
        """``expected`` users end with exactly one key, and not an old one."""
        bad = {name: ids for name, ids in self.keys(iam, names).items() if len(ids) != 1 or ids[0] in old}
        if len(names) - len(bad) != expected:
            sample = ", ".join(f"{n}: {ids}" for n, ids in list(bad.items())[:3])
            raise BenchError(f"{label}: {len(names) - len(bad)} users were rotated cleanly, {expected} reported ({sample})")

    def env(self, venv_bin: str, collections: str) -> t.Dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EC2_", "ANSIBLE_"))}
        env.update(
            PATH=venv_bin + os.pathsep + env.get("PATH", ""),
            ANSIBLE_COLLECTIONS_PATH=collections,
            ANSIBLE_HOME=self.path("ansible-home"),
            ANSIBLE_LOCAL_TEMP=self.path("ansible-tmp"),
            ANSIBLE_PYTHON_INTERPRETER=os.path.join(venv_bin, "python"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_RETRY_FILES_ENABLED="0",
            ANSIBLE_DEPRECATION_WARNINGS="0",
            ANSIBLE_LOCALHOST_WARNING="0",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
            AWS_CONFIG_FILE=self.path("no-aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=self.path("no-aws-credentials"),
            AWS_EC2_METADATA_DISABLED="true",
        )
        return env

    def playbook(self, label: str, venv_bin: str, collections: str, play: str, extra: t.Mapping[str, t.Any],
                 timeout: float) -> Measured:
        vars_file = self.write(f"{label}-vars.json", json.dumps(dict(extra)))
        cmd = [os.path.join(venv_bin, "ansible-playbook"), "-i", "localhost,", "-c", "local", play,
               "-e", "@" + vars_file, "--vault-password-file", self.vault_file]
        run = measure(cmd, self.env(venv_bin, collections), self.work, self.path(f"{label}.log"), timeout)
        if run.rc != 0:
            raise BenchError(f"{label}: ansible-playbook exited {run.rc}; log {run.log}:\n{run.tail()}")
        return run

    def server_cpu(self) -> float:
        return process_cpu(self.mock.proc.pid) if self.mock.proc is not None else 0.0

    def calls(self) -> t.Dict[str, t.Any]:
        stats = self.mock.stats()
        return {"total": int(stats["total_calls"]), "by_action": dict(sorted(stats["calls"].items()))}

    # -- scenarios ------------------------------------------------------------
    def startup(self, venv_bin: str, collections: str, label: str) -> float:
        """Wall time of a one-task playbook: ansible-playbook's fixed cost."""
        return self.playbook(label, venv_bin, collections, self.empty_play, {}, timeout=300).wall

    def keyturn_estate(self, label: str, count: int, store_kind: str = "file") -> t.Dict[str, t.Any]:
        """``count`` users onboarded into a fresh store by a first rotation (file: a vault file in the work
        directory; secretsmanager / ssm: a fresh prefix on the same server, reached with the admin key)."""
        account_id, admin, iam = self.account()
        names, _old = self.users(iam, count, with_keys=False)
        if store_kind == "file":
            store: t.Dict[str, t.Any] = {"type": "file", "path": self.path(f"{label}-store.vault.yml")}
        else:
            store = {"type": store_kind, "prefix": f"/bench/{label}/" if store_kind == "ssm" else f"bench/{label}/"}
        estate = {"label": label, "account_id": account_id, "admin": admin, "iam": iam, "users": names,
                  "store": store, "runs": 0}
        onboarding = self.keyturn_run(estate, label + "-onboard", measure_calls=False)
        estate["onboarding"] = onboarding
        return estate

    def keyturn_run(self, estate: t.Dict[str, t.Any], label: str, concurrency: t.Optional[int] = None,
                    measure_calls: bool = True) -> t.Dict[str, t.Any]:
        names: t.List[str] = estate["users"]
        old: t.Set[str] = set()
        if estate["runs"]:  # make every user due again: backdate the current keys
            for ids in self.keys(estate["iam"], names).values():
                for key_id in ids:
                    self.mock.age_key(key_id, AGE_DAYS)
                    old.add(key_id)
        estate["runs"] += 1
        extra: t.Dict[str, t.Any] = {"bench_endpoint": self.mock.url, "bench_region": REGION, "bench_admin": estate["admin"],
                                     "bench_users": names, "bench_store": estate["store"]}
        if concurrency is not None:
            extra["bench_concurrency"] = concurrency
        self.mock.reset_stats()
        server_cpu = self.server_cpu()
        run = self.playbook(label, BIN, self.args.collections, self.keyturn_play, extra, timeout=300 + 15 * len(names))
        server_cpu = self.server_cpu() - server_cpu
        calls = self.calls()
        match = re.search(r"BENCH_RESULT ([A-Za-z0-9+/=]+)", run.text())
        if not match:
            raise BenchError(f"{label}: no result in the output; log {run.log}:\n{run.tail()}")
        outcome = json.loads(base64.b64decode(match.group(1)))
        rotated = int((outcome.get("summary") or {}).get("rotated") or 0)
        if not rotated:
            raise BenchError(f"{label}: nothing was rotated: {outcome.get('msg')}")
        self.check_rotated(estate["iam"], names, old, label, rotated)
        out = self.result(label, "keyturn", len(names), run, calls if measure_calls else None, server_cpu,
                          rotated=rotated, concurrency=concurrency or 10, store=estate["store"]["type"])
        if rotated != len(names):  # reported, not fatal: a failure under load is a result too
            out["failure"] = str(outcome.get("msg"))[:1000]
            print(f"WARNING: {label}: {len(names) - rotated} of {len(names)} users failed: {out['failure'][:300]}", flush=True)
        return out

    @staticmethod
    def result(label: str, kind: str, users: int, run: Measured, calls: t.Optional[t.Dict[str, t.Any]],
               server_cpu: float, rotated: t.Optional[int] = None, **extra: t.Any) -> t.Dict[str, t.Any]:
        rotated = users if rotated is None else rotated
        out: t.Dict[str, t.Any] = {
            "label": label, "kind": kind, "users": users, "rotated": rotated, "wall_s": round(run.wall, 3),
            "per_user_ms": round(1000 * run.wall / users, 1), "peak_rss_mib": round(run.max_rss_kib / 1024, 1),
            "client_cpu_s": round(run.cpu, 2), "server_cpu_s": round(server_cpu, 2),
            "client_cpu_ms_per_user": round(1000 * run.cpu / max(rotated, 1), 1),
        }
        if calls is not None:
            out["aws_calls"] = calls["total"]
            out["calls_per_user"] = round(calls["total"] / rotated, 2)
            out["calls_by_action"] = calls["by_action"]
        out.update(extra)
        return out

    def naive(self, count: int, startup: float, extrapolate_to: int) -> t.Dict[str, t.Any]:
        _account_id, admin, iam = self.account()
        names, old = self.users(iam, count, with_keys=True)
        bench_venv_bin = os.path.join(BENCH_VENV, "bin")
        extra = {"bench_endpoint": self.mock.url, "bench_region": REGION, "bench_admin": admin, "bench_users": names}
        self.mock.reset_stats()
        server_cpu = self.server_cpu()
        run = self.playbook("naive", bench_venv_bin, self.path("no-collections"), self.naive_play, extra,
                            timeout=300 + 30 * count)
        server_cpu = self.server_cpu() - server_cpu
        calls = self.calls()
        self.check_rotated(iam, names, old, "naive", count)
        out = self.result("naive", "naive", count, run, calls, server_cpu)
        per_user = max(run.wall - startup, 0.0) / count
        out.update(startup_s=round(startup, 3), per_user_ms=round(1000 * per_user, 1),
                   extrapolated_to=extrapolate_to, extrapolated=count != extrapolate_to,
                   wall_at_target_s=round(startup + per_user * extrapolate_to, 3),
                   note=(f"measured on {count} users; wall at {extrapolate_to} users = startup {startup:.2f} s + "
                         f"{extrapolate_to} x per-user time (one module process per user and task)")
                   if count != extrapolate_to else "measured")
        return out

    def floor(self, count: int, label: str = "floor") -> t.Dict[str, t.Any]:
        account_id, admin, iam = self.account()
        names, old = self.users(iam, count, with_keys=True)
        spec = {"account_id": account_id, "endpoint_url": self.mock.url, "region": REGION, "access_key_id": admin["access_key_id"],
                "secret_access_key": admin["secret_access_key"], "users": names, "store_path": self.path(f"{label}-store.jsonl"),
                "verify_successes": 2, "verify_timeout": 60, "verify_interval": 1.0}
        spec_file = self.write(f"{label}-spec.json", json.dumps(spec))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EC2_"))}
        env.update(PYTHONPATH=ROOT + os.pathsep + env.get("PYTHONPATH", ""), AWS_CONFIG_FILE=self.path("no-aws-config"),
                   AWS_SHARED_CREDENTIALS_FILE=self.path("no-aws-credentials"), AWS_EC2_METADATA_DISABLED="true")
        self.mock.reset_stats()
        server_cpu = self.server_cpu()
        run = measure([sys.executable, "-m", "benchmarks.floor", spec_file], env, ROOT, self.path(f"{label}.log"),
                      timeout=300 + 10 * count)
        server_cpu = self.server_cpu() - server_cpu
        calls = self.calls()
        if run.rc != 0:
            raise BenchError(f"floor: exited {run.rc}; log {run.log}:\n{run.tail()}")
        self.check_rotated(iam, names, old, label, count)
        return self.result(label, "floor", count, run, calls, server_cpu)


ROUND_FIELDS = ("wall_s", "client_cpu_s", "server_cpu_s", "peak_rss_mib", "calls_per_user")


def median_round(rounds: t.Sequence[t.Dict[str, t.Any]], label: str) -> t.Dict[str, t.Any]:
    """One row for several rounds of the same scenario: the round of median wall time, with the median of
    each figure (wall, client CPU, server CPU, peak RSS, calls) and every round's wall and CPU listed."""
    ordered = sorted(rounds, key=lambda row: row["wall_s"])
    row = dict(ordered[(len(ordered) - 1) // 2])
    for field in ROUND_FIELDS:
        values = [r[field] for r in rounds if r.get(field) is not None]
        if values:
            row[field] = round(statistics.median(values), 3)
    row["label"] = label
    row["per_user_ms"] = round(1000 * row["wall_s"] / row["users"], 1)
    row["client_cpu_ms_per_user"] = round(1000 * row["client_cpu_s"] / max(row["rotated"], 1), 1)
    row["rounds"] = [{"wall_s": r["wall_s"], "client_cpu_s": r["client_cpu_s"], "server_cpu_s": r["server_cpu_s"]}
                     for r in rounds]
    failures = [r["failure"] for r in rounds if r.get("failure")]
    if failures:
        row["failure"] = failures[0]
        row["rotated"] = min(r["rotated"] for r in rounds)
    return row


def step(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def ratio(numerator: t.Optional[float], denominator: t.Optional[float]) -> t.Optional[float]:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 2)


def target(name: str, value: t.Optional[float], goal: float, at_least: bool, unit: str = "") -> t.Dict[str, t.Any]:
    if value is None:
        verdict = "SKIPPED"
    else:
        verdict = "PASS" if (value >= goal if at_least else value <= goal) else "FAIL"
    return {"name": name, "value": value, "goal": f"{'>=' if at_least else '<='} {goal:g}{unit}", "verdict": verdict}


def machine() -> t.Dict[str, t.Any]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "platform": platform.platform(),
            "python": platform.python_version(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "server": "awsmock (moto server mode) on 127.0.0.1, same machine"}


def table(rows: t.Sequence[t.Dict[str, t.Any]]) -> str:
    head = ("scenario", "users", "wall s", "per user ms", "calls/user", "peak RSS MiB", "CPU s client", "CPU ms/user",
            "CPU s server")
    lines = [head]
    for row in rows:
        lines.append((row["label"], str(row["users"]), f"{row['wall_s']:.2f}", f"{row['per_user_ms']:.1f}",
                      f"{row['calls_per_user']:.2f}" if "calls_per_user" in row else "-", f"{row['peak_rss_mib']:.1f}",
                      f"{row['client_cpu_s']:.2f}", f"{row.get('client_cpu_ms_per_user', 0):.1f}", f"{row['server_cpu_s']:.1f}"))
        if row.get("extrapolated"):
            lines.append((f"naive (extrapolated to {row['extrapolated_to']})", str(row["extrapolated_to"]),
                          f"{row['wall_at_target_s']:.2f}", f"{row['per_user_ms']:.1f}", "", "", "", "", ""))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for index, line in enumerate(lines):
        cells = [line[0].ljust(widths[0])] + [cell.rjust(widths[i]) for i, cell in enumerate(line) if i]
        out.append(" | ".join(cells))
        if index == 0:
            out.append("-+-".join("-" * w for w in widths))
    return "\n".join(out)


def parse_args(argv: t.Optional[t.Sequence[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200, help="users rotated by keyturn and the floor (default 200)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 20 users, naive on 5, memory at 40, delay run on 5 users, AWS stores on 20")
    parser.add_argument("--naive-users", type=int, default=20, help="users the naive playbook is measured on (default 20)")
    parser.add_argument("--memory-users", default="1000",
                        help="extra keyturn sizes for time/memory growth, comma-separated (default 1000)")
    parser.add_argument("--store-users", type=int, default=200,
                        help="users of the secretsmanager and ssm store runs (default 200)")
    parser.add_argument("--delay", type=float, default=5.0, help="simulated IAM propagation delay in seconds (default 5)")
    parser.add_argument("--delay-users", type=int, default=20, help="users of the propagation-delay runs (default 20)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="keyturn and floor runs at --users, alternating (keyturn, floor, keyturn, ...); "
                             "the targets use the median round (default 3)")
    parser.add_argument("--only", default=",".join(SCENARIOS),
                        help=f"comma-separated subset of {','.join(SCENARIOS)} (default all; targets without data are SKIPPED)")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help=f"results JSON (default {DEFAULT_OUTPUT})")
    parser.add_argument("--collections", default=COLLECTIONS,
                        help="ANSIBLE_COLLECTIONS_PATH of the keyturn runs (default build/collections), e.g. to compare a change")
    parser.add_argument("--keep-work", action="store_true", help="keep the work directory (logs, stores)")
    args = parser.parse_args(argv)
    if args.quick:
        args.users = 20 if args.users == 200 else args.users
        args.naive_users = min(args.naive_users, 5)
        args.memory_users = "40"
        args.delay_users = min(args.delay_users, 5)
        args.store_users = min(args.store_users, 20)
    args.naive_users = max(1, min(args.naive_users, args.users))
    args.only = {x.strip() for x in args.only.split(",") if x.strip()}
    if not args.only or args.only - set(SCENARIOS):
        parser.error(f"--only takes names from {','.join(SCENARIOS)}")
    args.memory_sizes = sorted({int(x) for x in str(args.memory_users).split(",") if x.strip() and int(x) != args.users})
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.users < 1 or args.delay_users < 1 or args.store_users < 1 or any(size < 1 for size in args.memory_sizes):
        parser.error("user counts must be positive")
    return args


def run_all(args: argparse.Namespace, work: str) -> t.Dict[str, t.Any]:
    results: t.Dict[str, t.Any] = {
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {"collections": args.collections, "users": args.users, "rounds": args.rounds,
                     "naive_users": args.naive_users, "memory_sizes": args.memory_sizes,
                     "delay_s": args.delay, "delay_users": args.delay_users, "store_users": args.store_users,
                     "quick": args.quick,
                     "keyturn": "access_key_rotate defaults: concurrency 10, verify_successes 2, file store"},
        "versions": {
            "ansible-core": version_of(sys.executable, "import ansible.release as r; print(r.__version__)"),
            "boto3": boto3.__version__,
            "moto": version_of(sys.executable, "import moto; print(moto.__version__)"),
        },
    }
    if "naive" in args.only:
        ensure_bench_venv()
        results["versions"]["amazon.aws"] = version_of(
            os.path.join(BENCH_VENV, "bin", "python"),
            "import importlib.util, json, os; "
            "path = list(importlib.util.find_spec('ansible_collections.amazon.aws').submodule_search_locations)[0]; "
            "print(json.load(open(os.path.join(path, 'MANIFEST.json')))['collection_info']['version'])")
    rows: t.List[t.Dict[str, t.Any]] = []
    main: t.Dict[str, t.Any] = {}
    floor: t.Dict[str, t.Any] = {}
    naive: t.Dict[str, t.Any] = {}
    delay: t.Dict[str, t.Any] = {}
    stores: t.Dict[str, t.Dict[str, t.Any]] = {}
    with AwsMock(log_path=os.path.join(work, "awsmock.log")) as mock:
        bench = Bench(args, mock, work)
        step(f"awsmock on {mock.url}; work directory {work}")
        results["startup_s"] = {"keyturn_venv": round(bench.startup(BIN, args.collections, "startup-keyturn"), 3)}

        # keyturn and the floor at --users in alternating rounds: a change in the machine's load during the
        # run (other tenants, the server's growing state) falls on both alike; the median round counts.
        estate = None
        if "keyturn" in args.only:
            step(f"keyturn: onboarding {args.users} users (first rotation)")
            estate = bench.keyturn_estate("keyturn", args.users)
        keyturn_rounds: t.List[t.Dict[str, t.Any]] = []
        floor_rounds: t.List[t.Dict[str, t.Any]] = []
        for number in range(1, args.rounds + 1):
            if estate is not None:
                step(f"keyturn: round {number} of {args.rounds}, {args.users} due users")
                keyturn_rounds.append(bench.keyturn_run(estate, f"keyturn-round{number}"))
            if "floor" in args.only:
                step(f"floor: round {number} of {args.rounds}, plain boto3 loop over {args.users} users")
                floor_rounds.append(bench.floor(args.users, f"floor-round{number}"))
        if estate is not None:
            main = median_round(keyturn_rounds, "keyturn")
            main.update(onboarding_wall_s=estate["onboarding"]["wall_s"], growth=True)
            rows.append(main)
            for size in args.memory_sizes:
                step(f"keyturn at {size} users (time and memory growth)")
                small = bench.keyturn_estate(f"keyturn-{size}", size)
                row = bench.keyturn_run(small, f"keyturn-{size}")
                row.update(onboarding_wall_s=small["onboarding"]["wall_s"], growth=True)
                rows.append(row)
        if floor_rounds:
            floor = median_round(floor_rounds, "floor")
            rows.append(floor)

        if "naive" in args.only:
            startup_naive = bench.startup(os.path.join(BENCH_VENV, "bin"), bench.path("no-collections"), "startup-naive")
            results["startup_s"]["naive_venv"] = round(startup_naive, 3)
            step(f"naive: amazon.aws playbook over {args.naive_users} users")
            naive = bench.naive(args.naive_users, startup_naive, args.users)
            rows.append(naive)

        if "delay" in args.only:
            step(f"delay: {args.delay:g} s propagation delay, {args.delay_users} users, default concurrency then concurrency 1")
            slow = bench.keyturn_estate("delay", args.delay_users)
            mock.configure(propagation_delay=args.delay)
            try:
                fast = bench.keyturn_run(slow, "delay-default")
                serial = bench.keyturn_run(slow, "delay-concurrency-1", concurrency=1)
            finally:
                mock.configure(propagation_delay=0)
            fast["label"], serial["label"] = f"delay {args.delay:g}s, concurrency 10", f"delay {args.delay:g}s, concurrency 1"
            rows += [fast, serial]
            delay = {"speedup": ratio(serial["wall_s"], fast["wall_s"])}

        if "stores" in args.only:
            for kind in STORE_KINDS:
                step(f"{kind} store: onboarding {args.store_users} users, then the measured rotation")
                aws_estate = bench.keyturn_estate(kind, args.store_users, store_kind=kind)
                row = bench.keyturn_run(aws_estate, kind)
                row.update(label=f"keyturn, {kind} store", onboarding_wall_s=aws_estate["onboarding"]["wall_s"])
                rows.append(row)
                stores[kind] = row
        step("done")

    results["scenarios"] = rows
    sizes = sorted((r for r in rows if r.get("growth") and r["users"] >= args.users), key=lambda r: r["users"])
    results["growth"] = [{"users": r["users"], "wall_s": r["wall_s"], "per_user_ms": r["per_user_ms"],
                          "peak_rss_mib": r["peak_rss_mib"]} for r in sizes]
    results["ratios"] = {
        "keyturn_speedup_vs_naive": ratio(naive.get("wall_at_target_s"), main.get("wall_s")),
        "keyturn_time_over_floor": ratio(main.get("wall_s"), floor.get("wall_s")),
        "delay_speedup_default_vs_concurrency_1": delay.get("speedup"),
        "peak_rss_growth": ratio(sizes[-1]["peak_rss_mib"], sizes[0]["peak_rss_mib"]) if len(sizes) > 1 else None,
        "per_user_time_growth": ratio(sizes[-1]["per_user_ms"], sizes[0]["per_user_ms"]) if len(sizes) > 1 else None,
        "client_cpu_per_user_over_floor": ratio(main.get("client_cpu_ms_per_user"), floor.get("client_cpu_ms_per_user")),
        # each round's keyturn against the floor run right after it
        "time_over_floor_by_round": [ratio(k["wall_s"], f["wall_s"]) for k, f in zip(keyturn_rounds, floor_rounds)],
        "cpu_over_floor_by_round": [ratio(k["client_cpu_s"] / max(k["rotated"], 1), f["client_cpu_s"] / max(f["rotated"], 1))
                                    for k, f in zip(keyturn_rounds, floor_rounds)],
    }
    results["stores"] = {kind: {"users": row["users"], "wall_s": row["wall_s"], "calls_per_user": row.get("calls_per_user"),
                                "client_cpu_ms_per_user": row["client_cpu_ms_per_user"]} for kind, row in stores.items()}
    growth_label = f"{sizes[0]['users']} -> {sizes[-1]['users']} users" if len(sizes) > 1 else "no larger size run"
    results["targets"] = [
        target(f"keyturn >= {TARGET_NAIVE_SPEEDUP:g}x faster than the naive playbook at {args.users} users",
               results["ratios"]["keyturn_speedup_vs_naive"], TARGET_NAIVE_SPEEDUP, True, "x"),
        target(f"<= {TARGET_CALLS_PER_USER:g} AWS calls per rotated user", main.get("calls_per_user"),
               TARGET_CALLS_PER_USER, False),
        target(f"with {args.delay:g} s propagation delay, default concurrency >= {TARGET_DELAY_SPEEDUP:g}x faster than concurrency 1",
               delay.get("speedup"), TARGET_DELAY_SPEEDUP, True, "x"),
        target(f"keyturn wall time <= {TARGET_TIME_OVER_FLOOR:g}x the sequential boto3 floor's at {args.users} users",
               results["ratios"]["keyturn_time_over_floor"], TARGET_TIME_OVER_FLOOR, False, "x"),
        target(f"keyturn client CPU per rotated user <= {TARGET_CPU_OVER_FLOOR:g}x the floor's",
               results["ratios"]["client_cpu_per_user_over_floor"], TARGET_CPU_OVER_FLOOR, False, "x"),
        target(f"linear time: per-user wall time {growth_label} grows <= {TARGET_LINEAR:g}x",
               results["ratios"]["per_user_time_growth"], TARGET_LINEAR, False, "x"),
        target(f"peak memory growth {growth_label} <= {TARGET_MEMORY_GROWTH:g}x",
               results["ratios"]["peak_rss_growth"], TARGET_MEMORY_GROWTH, False, "x"),
    ]

    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return results


def report(results: t.Mapping[str, t.Any]) -> str:
    ratios = results["ratios"]
    lines = ["", table(results["scenarios"]), ""]
    lines.append(f"ansible-playbook startup (one debug task): {results['startup_s']}")
    for row in results["scenarios"]:
        if len(row.get("rounds") or ()) > 1:
            each = "; ".join(f"{r['wall_s']:.2f} s wall, {r['client_cpu_s']:.2f} s CPU" for r in row["rounds"])
            lines.append(f"{row['label']} rounds (median used): {each}")
    growth = "; ".join(f"{g['users']} users: {g['wall_s']:.2f} s, {g['per_user_ms']:.1f} ms/user, {g['peak_rss_mib']:.1f} MiB"
                       for g in results["growth"])
    lines.append(f"growth (keyturn): {growth}")
    for row in results["scenarios"]:
        if row.get("extrapolated"):
            lines.append(f"naive: {row['note']}")
        if row.get("failure"):
            lines.append(f"FAILED USERS in {row['label']}: {row['users'] - row['rotated']} of {row['users']}: {row['failure'][:300]}")
    for kind, row in results.get("stores", {}).items():
        lines.append(f"{kind} store: {row['users']} users in {row['wall_s']:.2f} s, {row['calls_per_user']} AWS calls per user "
                     f"(store calls included), {row['client_cpu_ms_per_user']} ms client CPU per user")
    lines.append(f"ratios: {json.dumps(ratios)}")
    lines.append("")
    lines.append("targets:")
    for item in results["targets"]:
        value = "n/a" if item["value"] is None else f"{item['value']:g}"
        lines.append(f"  [{item['verdict']}] {item['name']}: {value} (goal {item['goal']})")
    machine_info = results["machine"]
    lines.append("")
    lines.append(f"machine: {machine_info['cpus']} CPUs ({machine_info['cpu_model']}), {machine_info['platform']}, "
                 f"load {machine_info['load_average_at_start']} -> {machine_info['load_average_at_end']}; "
                 f"{machine_info['server']}. Compare ratios, not absolute times.")
    return "\n".join(lines)


def main(argv: t.Optional[t.Sequence[str]] = None) -> int:
    args = parse_args(argv)
    args.collections = os.path.abspath(args.collections)
    if not os.path.isdir(os.path.join(args.collections, "ansible_collections", "keyturn", "aws")):
        print(f"keyturn.aws is not installed under {args.collections}: run `make collection` first", file=sys.stderr)
        return 2
    if not os.path.exists(os.path.join(BIN, "ansible-playbook")):
        print(f"no ansible-playbook next to {sys.executable}: run with the project's venv (make bench)", file=sys.stderr)
        return 2
    os.makedirs(BUILD, exist_ok=True)
    work = tempfile.mkdtemp(prefix="bench-", dir=BUILD)
    try:
        results = run_all(args, work)
    except (BenchError, subprocess.CalledProcessError) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        print(f"work directory kept: {work}", file=sys.stderr)
        return 1
    print(report(results))
    output = os.path.join(ROOT, args.output) if not os.path.isabs(args.output) else args.output
    os.makedirs(os.path.dirname(output), exist_ok=True)
    with open(output + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2, sort_keys=False)
        handle.write("\n")
    os.replace(output + ".tmp", output)
    print(f"\nresults: {os.path.relpath(output, ROOT)}")
    if args.keep_work:
        print(f"work directory: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
