# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``python -m benchmarks.estate``: the whole estate under AWS-like limits.

An Organization on a local awsmock server (auth enforced) with ``--accounts`` member accounts of ``--users``
due users each (tagged, keys 120 days old, records in a Secrets Manager store of the management account).
The server adds ``--latency`` seconds to every call, refuses new keys for ``--propagation`` seconds and gives
every account a token bucket of ``--iam-rate`` IAM and ``--sts-rate`` STS calls per second (Throttling
beyond, as AWS answers).  ``keyturn.aws.rotate_accounts`` (inventory ``keyturn.aws.accounts``, users by
``user_filter``) then rotates every user, in each scenario on a fresh server:

* ``forks1``: one ansible-playbook, ``-f 1`` (one account after the other);
* ``forks10``: one ansible-playbook, ``-f 10``;
* ``slices4``: four ansible-playbook processes at once over four slices of the accounts (``-f 10`` each), as
  AWX job slicing runs them, merging one estate report.

Reported per scenario: wall time, AWS calls per user (server count), throttled calls, peak RSS (``wait4``),
and the ratio of the wall time to the rate-limit bound: the largest account's IAM (or STS) calls divided by
its allowed rate, every account in parallel.  Targets (printed, not asserted): forks10 at least 10x faster
than forks1 and within 1.5x of the bound.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import sys
import tempfile
import time
import typing as t

import boto3

from benchmarks.run import REGION, measure, process_cpu
from tools.awsmock.client import AwsMock

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(os.path.abspath(sys.executable))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
sys.path.insert(0, COLLECTIONS)
ROLE = "OrganizationAccountAccessRole"


def client(url: str, creds: t.Mapping[str, str], service: str) -> t.Any:
    return boto3.client(service, region_name=REGION, endpoint_url=url, aws_access_key_id=creds["access_key_id"],
                        aws_secret_access_key=creds["secret_access_key"], aws_session_token=creds.get("session_token"))


def build_estate(mock: AwsMock, accounts: int, users: int) -> t.Dict[str, t.Any]:
    """The Organization, its members' due users and their store records; returns what the runs need."""
    from ansible_collections.keyturn.aws.plugins.module_utils._store_secretsmanager import SecretsManagerStore

    admin = mock.bootstrap("100000000001")
    org = client(mock.url, admin, "organizations")
    org.create_organization(FeatureSet="ALL")
    prefix = "bench/"
    store = SecretsManagerStore(client(mock.url, admin, "secretsmanager"), prefix=prefix)
    names = []
    for index in range(accounts):
        status = org.create_account(AccountName=f"member-{index:02d}", Email=f"m{index}@example.com")
        account_id = status["CreateAccountStatus"]["AccountId"]
        mock.role_policy(account_id, ROLE)
        names.append((f"member-{index:02d}", account_id))

    def onboard(member: t.Tuple[str, str]) -> None:
        _name, account_id = member
        sts = client(mock.url, admin, "sts")
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE}", RoleSessionName="bench")["Credentials"]
        iam = client(mock.url, {"access_key_id": creds["AccessKeyId"], "secret_access_key": creds["SecretAccessKey"],
                                "session_token": creds["SessionToken"]}, "iam")
        for number in range(users):
            user = f"svc-{number:03d}"
            iam.create_user(UserName=user, Tags=[{"Key": "keyturn", "Value": "rotate"}])
            key = iam.create_access_key(UserName=user)["AccessKey"]
            store.write_current(f"{account_id}/{user}", {
                "kind": "iam_user_key", "access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"],
                "user_name": user, "account_id": account_id, "partition": "aws"})
            mock.age_key(key["AccessKeyId"], 120)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(onboard, names))
    return {"admin": admin, "members": names, "store": {"type": "secretsmanager", "prefix": prefix, "region": REGION}}


def run_scenario(name: str, args: argparse.Namespace, work: str) -> t.Dict[str, t.Any]:
    with AwsMock(log_path=os.path.join(work, f"{name}-server.log")) as mock:
        started = time.perf_counter()
        estate = build_estate(mock, args.accounts, args.users)
        setup = time.perf_counter() - started
        mock.configure(latency=args.latency, propagation_delay=args.propagation,
                       rate_limits={"iam": args.iam_rate, "sts": args.sts_rate})
        mock.reset_stats()
        members = [member[0] for member in estate["members"]]
        slices = [members] if name != "slices4" else [members[i::4] for i in range(4)]
        forks = 1 if name == "forks1" else 10
        extra = {"rotate_access_keys_store": estate["store"], "rotate_access_keys_aws": {"endpoint_url": mock.url},
                 "rotate_access_keys_user_filter": {"tags": {"keyturn": "rotate"}},
                 "rotate_access_keys_report_dir": os.path.join(work, f"{name}-reports"),
                 "awx_workflow_job_id": 1}
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_"))}
        env.update(PATH=BIN + os.pathsep + env.get("PATH", ""), ANSIBLE_COLLECTIONS_PATH=COLLECTIONS,
                   ANSIBLE_HOME=os.path.join(work, "ansible-home"), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                   ANSIBLE_INVENTORY_UNPARSED_FAILED="true", AWS_ACCESS_KEY_ID=estate["admin"]["access_key_id"],
                   AWS_SECRET_ACCESS_KEY=estate["admin"]["secret_access_key"], AWS_EC2_METADATA_DISABLED="true",
                   AWS_CONFIG_FILE=os.path.join(work, "none"), AWS_SHARED_CREDENTIALS_FILE=os.path.join(work, "none"))
        commands = []
        for index, hosts in enumerate(slices):
            inventory = os.path.join(work, f"{name}-{index}.keyturn_accounts.yml")
            with open(inventory, "w", encoding="utf-8") as handle:
                json.dump({"plugin": "keyturn.aws.accounts", "region": REGION, "endpoint_url": mock.url,
                           "include_management_account": False, "include_accounts": hosts}, handle)
            variables = os.path.join(work, f"{name}-{index}.json")
            with open(variables, "w", encoding="utf-8") as handle:
                json.dump({**extra, "awx_job_id": 100 + index}, handle)
            commands.append([os.path.join(BIN, "ansible-playbook"), "-i", inventory, "keyturn.aws.rotate_accounts",
                             "-f", str(forks), "-e", "@" + variables])
        server_cpu = process_cpu(mock.proc.pid) if mock.proc is not None else 0.0
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(len(commands)) as pool:
            runs = list(pool.map(lambda item: measure(item[1], env, work, os.path.join(work, f"{name}-{item[0]}.log"),
                                                      args.timeout), enumerate(commands)))
        wall = time.perf_counter() - started
        server_cpu = (process_cpu(mock.proc.pid) if mock.proc is not None else 0.0) - server_cpu
        stats = mock.stats()
    failed = [r.log for r in runs if r.rc != 0]
    # A throttled call is counted in ``calls`` too, but it created nothing.
    created = stats["calls"].get("iam:CreateAccessKey", 0) - stats.get("throttled_calls", {}).get("iam:CreateAccessKey", 0)
    total_users = args.accounts * args.users
    per_account = [c for a, c in stats["account_calls"].items() if a in {member[1] for member in estate["members"]}]
    bound = max(max(c.get("iam", 0) / args.iam_rate, c.get("sts", 0) / args.sts_rate) for c in per_account)
    return {"scenario": name, "wall_seconds": round(wall, 1), "setup_seconds": round(setup, 1), "failed_runs": failed,
            "users": total_users, "keys_created": created, "aws_calls": stats["total_calls"],
            "calls_per_user": round(stats["total_calls"] / total_users, 1), "throttled": stats["throttled"],
            "calls_per_user_by_action": {name: round(count / total_users, 2) for name, count in
                                         sorted(stats["calls"].items(), key=lambda item: -item[1])},
            "peak_rss_mb": round(max(r.max_rss_kib for r in runs) / 1024, 1),
            # CPU seconds of the playbook process trees and of the test server during the run: both share this
            # machine's cores, so (client + server) / cores is a floor for the wall time here.
            "client_cpu_s": round(sum(r.cpu for r in runs), 1), "server_cpu_s": round(server_cpu, 1),
            "cpu_bound_s": round((sum(r.cpu for r in runs) + server_cpu) / (os.cpu_count() or 1), 1),
            "bound_seconds": round(bound, 1), "ratio_to_bound": round(wall / bound, 2) if bound else None}


def main(argv: t.Optional[t.Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--propagation", type=float, default=5.0)
    parser.add_argument("--iam-rate", type=float, default=20.0)
    parser.add_argument("--sts-rate", type=float, default=20.0)
    parser.add_argument("--scenarios", default="forks1,forks10,slices4")
    parser.add_argument("--timeout", type=float, default=7200)
    parser.add_argument("--output", default=os.path.join("benchmarks", "results", "estate.json"))
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-estate-", dir=os.path.join(ROOT, "build")) as work:
        for name in args.scenarios.split(","):
            result = run_scenario(name, args, work)
            results.append(result)
            print(json.dumps(result), flush=True)
            if result["failed_runs"] or result["keys_created"] != result["users"]:
                print(f"{name}: a run failed or not every user was rotated once", file=sys.stderr)
                return 1
    by_name = {r["scenario"]: r for r in results}
    if "forks1" in by_name and "forks10" in by_name:
        speedup = by_name["forks1"]["wall_seconds"] / by_name["forks10"]["wall_seconds"]
        print(f"forks10 vs forks1: {speedup:.1f}x ({'PASS' if speedup >= 10 else 'FAIL'} target >= 10x)")
    for result in results:
        if result["scenario"] != "forks1" and result["ratio_to_bound"] is not None:
            ok = result["ratio_to_bound"] <= 1.5
            print(f"{result['scenario']}: {result['ratio_to_bound']}x the rate-limit bound ({'PASS' if ok else 'FAIL'} target <= 1.5x)")
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as handle:
        json.dump({"settings": vars(args), "results": results}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
