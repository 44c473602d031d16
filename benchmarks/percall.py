# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client CPU of one AWS call: a plain boto3 client against keyturn's clients.

``python -m benchmarks.percall [--calls 400]``

Starts its own awsmock, then makes the same call ``--calls`` times in a row (after one warm-up call)
through each client and prints the CPU milliseconds and wall milliseconds per call: what keyturn's
connection layer (its retry mode, the keyed client that signs with another key) adds to botocore's own
per-request work, which the floor pays too.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import typing as t

import boto3

from benchmarks.profile import REGION, cpu  # puts build/collections on sys.path first
from ansible_collections.keyturn.aws.plugins.module_utils._connection import AwsConnection, ConnectionParams
from tools.awsmock.client import AwsMock


def per_call(call: t.Callable[[], t.Any], count: int) -> t.Tuple[float, float]:
    """(CPU ms, wall ms) per call over ``count`` calls, after one warm-up call."""
    call()
    started_cpu, started = cpu(), time.perf_counter()
    for _call in range(count):
        call()
    return 1000 * (cpu() - started_cpu) / count, 1000 * (time.perf_counter() - started) / count


def main(argv: t.Optional[t.Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.percall", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400, help="calls per client (default 400)")
    args = parser.parse_args(argv)
    if args.calls < 1:
        parser.error("--calls must be at least 1")
    os.environ.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true")
    with AwsMock() as mock:
        admin = mock.bootstrap("210000000077", user_name="bench-admin")
        key, secret = admin["access_key_id"], admin["secret_access_key"]

        def plain(service: str) -> t.Any:
            return boto3.client(service, region_name=REGION, endpoint_url=mock.url, aws_access_key_id=key,
                                aws_secret_access_key=secret)

        conn = AwsConnection(ConnectionParams(access_key=key, secret_key=secret, region=REGION, endpoint_url=mock.url))
        sts, iam = plain("sts"), plain("iam")
        cases = [
            ("GetCallerIdentity, plain boto3 client", sts.get_caller_identity),
            ("GetCallerIdentity, keyturn client (adaptive retries)", conn.client("sts").get_caller_identity),
            ("GetCallerIdentity, keyturn keyed client", conn.keyed_client("sts", key, secret).get_caller_identity),
            ("ListAccessKeys, plain boto3 client", lambda: iam.list_access_keys(UserName="bench-admin")),
            ("ListAccessKeys, keyturn client", lambda: conn.client("iam").list_access_keys(UserName="bench-admin")),
        ]
        print(f"{args.calls} calls each, after one warm-up call")
        for label, call in cases:
            cpu_ms, wall_ms = per_call(call, args.calls)
            print(f"{label:55s} {cpu_ms:6.2f} ms CPU  {wall_ms:6.2f} ms wall per call", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
