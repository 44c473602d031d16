# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A consumer application for the zero-downtime tests: a background process that, every ``interval`` seconds,
re-reads its AWS shared credentials file (``AWS_SHARED_CREDENTIALS_FILE``, profile ``AWS_PROFILE``) and calls STS
GetCallerIdentity with what it found, counting successes and failures per key ID.  Its counters go to a JSON file
(rewritten atomically after every call); it stops when the stop file appears.

Run as ``python consumer_app.py ENDPOINT STATS_FILE STOP_FILE [INTERVAL]``; :class:`Consumer` drives it from a test.
"""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
import time
import typing as t


def read_credentials(path: str, profile: str) -> t.Tuple[t.Optional[str], t.Optional[str]]:
    parser = configparser.RawConfigParser()  # what botocore reads the file with
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_string(handle.read())
        section = parser[profile]
        return section.get("aws_access_key_id"), section.get("aws_secret_access_key")
    except (OSError, KeyError, configparser.Error):
        return None, None


def main(endpoint: str, stats_file: str, stop_file: str, interval: float = 0.2) -> None:
    import boto3  # imported here so that the test process does not need it to drive the app
    import botocore.config

    path = os.environ["AWS_SHARED_CREDENTIALS_FILE"]
    profile = os.environ.get("AWS_PROFILE", "default")
    config = botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=10)
    clients: t.Dict[t.Tuple[str, str], t.Any] = {}
    stats: t.Dict[str, t.Any] = {"calls": 0, "ok": 0, "failed": 0, "by_key": {}, "errors": [], "last_key": None,
                                 "last_ok_key": None}
    while not os.path.exists(stop_file):
        key_id, secret = read_credentials(path, profile)
        stats["calls"] += 1
        entry = stats["by_key"].setdefault(str(key_id), {"ok": 0, "failed": 0})
        try:
            if not key_id or not secret:
                raise RuntimeError("no credential in the file")
            client = clients.get((key_id, secret))
            if client is None:
                client = boto3.client("sts", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id=key_id,
                                      aws_secret_access_key=secret, config=config)
                clients[(key_id, secret)] = client
            client.get_caller_identity()
            stats["ok"] += 1
            entry["ok"] += 1
            stats["last_ok_key"] = key_id
        except Exception as exc:  # every failure counts, whatever it is
            stats["failed"] += 1
            entry["failed"] += 1
            stats["errors"].append(f"{key_id}: {type(exc).__name__}: {str(exc)[:200]}")
        stats["last_key"] = key_id
        tmp = stats_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(stats, handle)
        os.replace(tmp, stats_file)
        time.sleep(interval)


class Consumer:
    """Start the app on a credentials file; ``stats()`` reads its counters; ``stop()`` ends it."""

    def __init__(self, tmp: str, endpoint: str, credentials_file: str, profile: str, name: str = "consumer") -> None:
        self.stats_file = os.path.join(tmp, f"{name}-stats.json")
        self.stop_file = os.path.join(tmp, f"{name}-stop")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_SHARED_CREDENTIALS_FILE=credentials_file, AWS_PROFILE=profile,
                   AWS_CONFIG_FILE=os.path.join(tmp, "no-aws-config"), AWS_EC2_METADATA_DISABLED="true")
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), endpoint, self.stats_file, self.stop_file],
                                     env=env, stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, f"{name}.log"), "w"))

    def stats(self) -> t.Dict[str, t.Any]:
        try:
            with open(self.stats_file, encoding="utf-8") as handle:
                return t.cast(t.Dict[str, t.Any], json.load(handle))
        except (OSError, ValueError):
            return {"calls": 0, "ok": 0, "failed": 0, "by_key": {}, "errors": [], "last_key": None, "last_ok_key": None}

    def wait_calls(self, count: int, timeout: float = 60) -> t.Dict[str, t.Any]:
        """Wait until the app has made ``count`` more calls (a readiness wait, not a timing assertion)."""
        start = self.stats()["calls"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "the consumer app died"
            stats = self.stats()
            if stats["calls"] >= start + count:
                return stats
            time.sleep(0.1)
        raise AssertionError(f"the consumer app made no {count} calls in {timeout} s")

    def stop(self) -> t.Dict[str, t.Any]:
        with open(self.stop_file, "w", encoding="utf-8"):
            pass
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.stats()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]) if len(sys.argv) > 4 else 0.2)
