# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The single-thread floor: keyturn's safe rotation protocol as a plain boto3 loop.

Per user, in order: ``ListAccessKeys``; record intent in the store; ``CreateAccessKey``;
store the new secret as pending; STS ``GetCallerIdentity`` with the new key until
``verify_successes`` consecutive successes (a refusal is retried every ``verify_interval``
seconds until ``verify_timeout``, as IAM propagation needs); promote it in the store;
``DeleteAccessKey`` of the old key.  The store is an append-only JSON-lines journal on
local disk, flushed and fsynced after each write (durable like keyturn's file store,
but neither encrypted nor shared).  One process, one thread, one IAM client; no
Ansible.  The consecutive successes are back to back: there is nothing to wait for.

Run by ``benchmarks.run`` as ``python -m benchmarks.floor SPEC.json``; prints one JSON
line with the outcome.
"""

from __future__ import annotations

import json
import os
import sys
import time
import typing as t

import botocore.config
import botocore.exceptions
import botocore.session

AUTH_ERRORS = ("InvalidClientTokenId", "SignatureDoesNotMatch", "AuthFailure", "UnrecognizedClientException")


class Journal:
    """Append-only JSON-lines store, fsynced after every record."""

    def __init__(self, path: str) -> None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self.handle = os.fdopen(fd, "a", encoding="utf-8")

    def write(self, record: t.Mapping[str, t.Any]) -> None:
        self.handle.write(json.dumps(record, sort_keys=True) + "\n")
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def close(self) -> None:
        self.handle.close()


class Floor:
    def __init__(self, spec: t.Mapping[str, t.Any]) -> None:
        self.spec = spec
        self.session = botocore.session.Session()
        self.config = botocore.config.Config(retries={"mode": "standard", "max_attempts": 3})
        self.iam = self._client("iam", spec["access_key_id"], spec["secret_access_key"])
        self.journal = Journal(spec["store_path"])

    def _client(self, service: str, key_id: str, secret: str) -> t.Any:
        return self.session.create_client(service, region_name=self.spec["region"], endpoint_url=self.spec["endpoint_url"],
                                          aws_access_key_id=key_id, aws_secret_access_key=secret, config=self.config)

    def verify(self, key_id: str, secret: str, user: str) -> bool:
        sts = self._client("sts", key_id, secret)
        deadline = time.monotonic() + float(self.spec["verify_timeout"])
        streak = 0
        while True:
            try:
                arn = sts.get_caller_identity()["Arn"]
            except botocore.exceptions.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in AUTH_ERRORS:
                    raise
                streak = 0
                if time.monotonic() + float(self.spec["verify_interval"]) > deadline:
                    return False
                time.sleep(float(self.spec["verify_interval"]))
                continue
            if not (arn.startswith(f"arn:aws:iam::{self.spec['account_id']}:user/") and arn.rsplit("/", 1)[-1] == user):
                return False
            streak += 1
            if streak >= int(self.spec["verify_successes"]):
                return True

    def rotate(self, user: str) -> str:
        old = [k["AccessKeyId"] for k in self.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]]
        self.journal.write({"name": user, "stage": "intent", "known_key_ids": old})
        new = self.iam.create_access_key(UserName=user)["AccessKey"]
        self.journal.write({"name": user, "stage": "pending", "access_key_id": new["AccessKeyId"],
                            "secret_access_key": new["SecretAccessKey"]})
        if not self.verify(new["AccessKeyId"], new["SecretAccessKey"], user):
            self.iam.delete_access_key(UserName=user, AccessKeyId=new["AccessKeyId"])
            self.journal.write({"name": user, "stage": "discard"})
            return "failed"
        self.journal.write({"name": user, "stage": "promote", "access_key_id": new["AccessKeyId"]})
        for key_id in old:
            self.iam.delete_access_key(UserName=user, AccessKeyId=key_id)
        return "rotated"


def main(argv: t.Sequence[str]) -> int:
    with open(argv[0], encoding="utf-8") as handle:
        spec = json.load(handle)
    floor = Floor(spec)
    counts: t.Dict[str, int] = {}
    started = time.perf_counter()
    try:
        for user in spec["users"]:
            outcome = floor.rotate(user)
            counts[outcome] = counts.get(outcome, 0) + 1
    finally:
        floor.journal.close()
    print(json.dumps({"counts": counts, "loop_seconds": time.perf_counter() - started}))
    return 0 if set(counts) == {"rotated"} else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
