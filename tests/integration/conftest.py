# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for integration tests: a real awsmock (moto) server on loopback and
real ``ansible-playbook`` runs against the installed collection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import typing as t
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the tests' helper modules (stores.py)

from tools.awsmock.client import AwsMock  # noqa: E402

COLLECTIONS = os.path.join(ROOT, "build", "collections")
BIN = os.path.dirname(sys.executable)
COUNTS_DIR = os.path.join(ROOT, "build", "test-counts")


def record_counts(**counts: int) -> None:
    """Add to the suite's safety counters (faults injected, runs, bad inputs ...); the totals are
    printed at the end of the run, also when tests run in several xdist workers."""
    os.makedirs(COUNTS_DIR, exist_ok=True)
    with open(os.path.join(COUNTS_DIR, f"{uuid.uuid4().hex}.json"), "w", encoding="utf-8") as handle:
        json.dump(counts, handle)


def pytest_sessionstart(session: t.Any) -> None:
    if not hasattr(session.config, "workerinput") and os.path.isdir(COUNTS_DIR):
        for name in os.listdir(COUNTS_DIR):
            os.unlink(os.path.join(COUNTS_DIR, name))


def pytest_terminal_summary(terminalreporter: t.Any) -> None:
    totals: t.Dict[str, int] = {}
    if os.path.isdir(COUNTS_DIR):
        for name in os.listdir(COUNTS_DIR):
            with open(os.path.join(COUNTS_DIR, name), encoding="utf-8") as handle:
                for key, value in json.load(handle).items():
                    totals[key] = totals.get(key, 0) + int(value)
    if totals:
        terminalreporter.write_sep("=", "keyturn.aws safety counters")
        for key in sorted(totals):
            terminalreporter.write_line(f"{key.replace('_', ' ')}: {totals[key]}")


@pytest.fixture(scope="session")
def awsmock() -> t.Iterator[AwsMock]:
    with AwsMock() as server:
        yield server


@pytest.fixture
def account_id() -> str:
    """A fresh 12-digit account per test, so tests never see each other's users."""
    return "1" + str(uuid.uuid4().int)[:11]


class PlaybookResult(t.NamedTuple):
    rc: int
    stdout: str
    stderr: str
    data: t.Optional[dict]

    def task(self, name: str, host: str = "localhost") -> dict:
        """The result of the task called ``name`` (json callback output)."""
        assert self.data is not None, self.stdout[-2000:] + self.stderr[-2000:]
        for play in self.data["plays"]:
            for task in play["tasks"]:
                if task["task"]["name"] == name:
                    return t.cast(dict, task["hosts"][host])
        raise AssertionError(f"no task named {name!r}")


class Runner:
    def __init__(self, tmp_path: t.Any) -> None:
        self.tmp = str(tmp_path)
        self.vault_password_file = os.path.join(self.tmp, "vault-pass")
        with open(self.vault_password_file, "w", encoding="utf-8") as handle:
            handle.write("integration-vault-password\n")

    def env(self, extra: t.Optional[t.Mapping[str, str]] = None, json_output: bool = True) -> t.Dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "EC2_", "ANSIBLE_"))}
        env.update(
            PATH=BIN + os.pathsep + env.get("PATH", ""),
            ANSIBLE_COLLECTIONS_PATH=COLLECTIONS,
            ANSIBLE_HOME=os.path.join(self.tmp, "ansible-home"),
            ANSIBLE_LOCAL_TEMP=os.path.join(self.tmp, "ansible-tmp"),
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_RETRY_FILES_ENABLED="0",
            ANSIBLE_DEPRECATION_WARNINGS="0",
            ANSIBLE_LOCALHOST_WARNING="0",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
            AWS_CONFIG_FILE=os.path.join(self.tmp, "no-aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.tmp, "no-aws-credentials"),
            AWS_EC2_METADATA_DISABLED="true",
            KEYTURN_AWS_TOTP_LEDGER_PATH=os.path.join(self.tmp, "totp-ledger.json"),
        )
        if json_output:
            env["ANSIBLE_STDOUT_CALLBACK"] = "keyturn_json"
            env["ANSIBLE_CALLBACK_PLUGINS"] = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback_plugins")
        if extra:
            env.update(extra)
        return env

    def write(self, name: str, text: str) -> str:
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path

    def command(self, playbook: str, extra_vars: t.Optional[t.Mapping[str, t.Any]] = None, *, check: bool = False,
                diff: bool = False, verbosity: int = 0, vault: bool = True, args: t.Sequence[str] = ()) -> t.List[str]:
        if "\n" in playbook:
            playbook = self.write(f"play-{uuid.uuid4().hex[:8]}.yml", playbook)
        cmd = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", playbook]
        if extra_vars:
            cmd += ["-e", "@" + self.write(f"vars-{uuid.uuid4().hex[:8]}.json", json.dumps(dict(extra_vars)))]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        if verbosity:
            cmd.append("-" + "v" * verbosity)
        if vault:
            cmd += ["--vault-password-file", self.vault_password_file]
        return cmd + list(args)

    def popen(self, playbook: str, extra_vars: t.Optional[t.Mapping[str, t.Any]] = None) -> subprocess.Popen:
        """Start ansible-playbook in its own process group (so a test can kill it mid-run)."""
        return subprocess.Popen(self.command(playbook, extra_vars), cwd=self.tmp, env=self.env(None, True),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def playbook(
        self,
        playbook: str,
        extra_vars: t.Optional[t.Mapping[str, t.Any]] = None,
        *,
        check: bool = False,
        diff: bool = False,
        verbosity: int = 0,
        json_output: bool = True,
        vault: bool = True,
        env: t.Optional[t.Mapping[str, str]] = None,
        args: t.Sequence[str] = (),
        timeout: float = 600,
    ) -> PlaybookResult:
        cmd = self.command(playbook, extra_vars, check=check, diff=diff, verbosity=verbosity, vault=vault, args=args)
        proc = subprocess.run(cmd, cwd=self.tmp, env=self.env(env, json_output), capture_output=True,
                              text=True, timeout=timeout, check=False)
        data = None
        if json_output:
            try:
                data = json.loads(proc.stdout[proc.stdout.index("{"):])
            except ValueError:
                data = None
        return PlaybookResult(proc.returncode, proc.stdout, proc.stderr, data)


@pytest.fixture
def runner(tmp_path: t.Any) -> Runner:
    return Runner(tmp_path)
