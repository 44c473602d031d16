# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start/stop the awsmock server in a subprocess and drive its control API."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import typing as t
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class AwsMock:
    """A running awsmock server on 127.0.0.1 (context manager)."""

    def __init__(self, propagation_delay: float = 0.0, log_path: t.Optional[str] = None) -> None:
        self.propagation_delay = propagation_delay
        self.log_path = log_path
        self.proc: t.Optional[subprocess.Popen] = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> "AwsMock":
        tmpdir = tempfile.mkdtemp(prefix="awsmock-")
        port_file = os.path.join(tmpdir, "port")
        log = open(self.log_path or os.path.join(tmpdir, "server.log"), "ab")
        env = dict(os.environ)
        env.pop("MOTO_ACCOUNT_ID", None)
        env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tools.awsmock.server", "--port", "0", "--port-file", port_file,
             "--propagation-delay", str(self.propagation_delay)],
            cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"awsmock exited with {self.proc.returncode}; see {log.name}")
            if os.path.exists(port_file):
                with open(port_file, encoding="utf-8") as handle:
                    self.port = int(handle.read())
                try:
                    self.control("health", method="GET")
                    return self
                except OSError:
                    pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("awsmock did not start in time")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def __enter__(self) -> "AwsMock":
        return self.start()

    def __exit__(self, *exc: t.Any) -> None:
        self.stop()

    # -- control API --------------------------------------------------------
    def control(self, path: str, body: t.Optional[dict] = None, method: str = "POST") -> t.Any:
        data = None if method == "GET" else json.dumps(body or {}).encode()
        request = urllib.request.Request(f"{self.url}/_keyturn/{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:  # loopback only
            return json.loads(response.read())

    def bootstrap(self, account_id: str, partition: str = "aws", user_name: str = "keyturn-admin") -> t.Dict[str, str]:
        return t.cast(t.Dict[str, str], self.control("bootstrap", {"account_id": account_id, "partition": partition, "user_name": user_name}))

    def configure(self, **settings: t.Any) -> t.Dict[str, t.Any]:
        return t.cast(t.Dict[str, t.Any], self.control("config", settings))

    def stats(self) -> t.Dict[str, t.Any]:
        return t.cast(t.Dict[str, t.Any], self.control("stats", method="GET"))

    def reset_stats(self) -> None:
        self.control("stats/reset")

    def faults(self, rules: t.Optional[t.List[t.Dict[str, t.Any]]] = None) -> t.Dict[str, t.Any]:
        """Set fault rules (``[]`` clears them and releases hanging calls); None only reads the state."""
        if rules is None:
            return t.cast(t.Dict[str, t.Any], self.control("faults", method="GET"))
        return t.cast(t.Dict[str, t.Any], self.control("faults", {"rules": rules}))

    def age_key(self, access_key_id: str, days: float) -> t.Dict[str, t.Any]:
        return t.cast(t.Dict[str, t.Any], self.control("key_status", {"access_key_id": access_key_id, "age_days": days}))

    def key_state(self, access_key_id: str) -> t.Dict[str, t.Any]:
        """Status, creation and last use of a key as the server holds them."""
        return t.cast(t.Dict[str, t.Any], self.control("key_status", {"access_key_id": access_key_id}))

    def set_last_used(self, access_key_id: str, days_ago: t.Optional[float], service: str = "s3",
                      region: str = "us-east-1") -> t.Dict[str, t.Any]:
        """Make IAM report the key's last use ``days_ago`` days back (None: never used)."""
        return t.cast(t.Dict[str, t.Any], self.control("key_status", {
            "access_key_id": access_key_id, "last_used_days_ago": days_ago, "service": service, "region": region}))

    def issued(self, account_id: t.Optional[str] = None) -> t.List[t.Dict[str, t.Any]]:
        """Every access key (``access_key_id``, ``user_name``, ``secret``) and virtual MFA seed (``secret``)
        the server handed out, optionally of one account: what a leak scan must look for."""
        return t.cast(t.List[t.Dict[str, t.Any]], self.control("issued", {"account_id": account_id})["issued"])

    def role_policy(self, account_id: str, role_name: str, partition: str = "aws",
                    policy: t.Optional[t.Mapping[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        """Put an inline policy (default: administrator) on an existing role, e.g. the
        OrganizationAccountAccessRole that Organizations' CreateAccount makes without one."""
        body: t.Dict[str, t.Any] = {"account_id": account_id, "role_name": role_name, "partition": partition}
        if policy is not None:
            body["policy"] = dict(policy)
        return t.cast(t.Dict[str, t.Any], self.control("role_policy", body))

    def set_root(self, account_id: str, partition: str = "aws", **facts: t.Any) -> t.Dict[str, t.Any]:
        """Root facts as GetAccountSummary, ListVirtualMFADevices and the credential report show them:
        ``access_keys`` (bool), ``mfa`` (``none``, ``virtual`` or ``hardware``), ``password_last_used_days_ago``."""
        return t.cast(t.Dict[str, t.Any], self.control("root", {"account_id": account_id, "partition": partition, **facts}))
