# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Profile one rotation of N due users in-process (no ansible-playbook around it).

``python -m benchmarks.profile --users 200 [--store file|secretsmanager|ssm] [--top 30]``

Starts its own awsmock, onboards N users by a first rotation (not profiled), backdates their keys,
then runs ``keyturn.aws.access_key_rotate``'s engine exactly as its action plugin does (argument
validation, engine, no_log scrubbing of the result) under cProfile, and prints the process's CPU
seconds for the measured rotation, the AWS calls it made and the top of the profile (cumulative and
own time).  Threads: cProfile sees the calling thread only unless ``--all-threads`` (the default)
installs the profiler in every worker thread through ``threading.setprofile``; the statistics of all
threads are merged.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import shutil
import sys
import tempfile
import threading
import time
import typing as t

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build", "collections"))

import boto3  # noqa: E402

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator  # noqa: E402
from ansible.module_utils.common.parameters import remove_values  # noqa: E402

from ansible_collections.keyturn.aws.plugins.module_utils._access_key_rotate import ARGUMENT_SPEC, run  # noqa: E402
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext  # noqa: E402
from ansible_collections.keyturn.aws.plugins.plugin_utils._action import _no_log_values  # noqa: E402
from ansible_collections.keyturn.aws.plugins.plugin_utils._store_file import (  # noqa: E402
    file_store_factory,
    vault_secrets_from_password,
)
from benchmarks.run import REGION  # noqa: E402
from tools.awsmock.client import AwsMock  # noqa: E402


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rotate(params: t.Dict[str, t.Any], ctx: RunContext) -> t.Dict[str, t.Any]:
    """What the action plugin does around the engine."""
    validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(params)
    if validation.error_messages:
        raise SystemExit(f"bad arguments: {validation.error_messages}")
    secrets = _no_log_values(ARGUMENT_SPEC, validation.validated_parameters)
    return t.cast(t.Dict[str, t.Any], remove_values(run(dict(validation.validated_parameters), ctx), secrets))


def main(argv: t.Optional[t.Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--store", choices=("file", "secretsmanager", "ssm"), default="file")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=10, help="the task's concurrency (1: no thread contention in the profile)")
    parser.add_argument("--no-profile", action="store_true", help="measure CPU and calls only")
    parser.add_argument("--sort", default="cumulative,tottime")
    parser.add_argument("--main-thread-only", action="store_true", help="profile the calling thread only")
    parser.add_argument("--output", help="also dump the raw profile here (pstats format)")
    parser.add_argument("--wall-clock", action="store_true",
                        help="time functions by the wall clock (default: each thread's own CPU time, so that a thread "
                             "waiting for a lock, the GIL, a sleep or the network adds nothing)")
    args = parser.parse_args(argv)

    work = tempfile.mkdtemp(prefix="bench-profile-", dir=os.path.join(ROOT, "build"))
    with AwsMock(log_path=os.path.join(work, "awsmock.log")) as mock:
        admin = mock.bootstrap("210000000099", user_name="bench-admin")
        iam = boto3.client("iam", region_name=REGION, endpoint_url=mock.url, aws_access_key_id=admin["access_key_id"],
                           aws_secret_access_key=admin["secret_access_key"])
        names = [f"svc-{index:04d}" for index in range(args.users)]
        for name in names:
            iam.create_user(UserName=name, Path="/bench/")
        store: t.Dict[str, t.Any] = {"type": args.store}
        if args.store == "file":
            store["path"] = os.path.join(work, "store.vault.yml")
        else:
            store["prefix"] = "bench/" if args.store == "secretsmanager" else "/bench/"
        params = {"endpoint_url": mock.url, "region": REGION, "access_key": admin["access_key_id"],
                  "secret_key": admin["secret_access_key"], "users": names, "store": store, "concurrency": 10}
        secrets = vault_secrets_from_password("keyturn-benchmark-vault-password")

        def context() -> RunContext:
            return RunContext(vault_secrets=secrets, file_store_factory=file_store_factory(secrets), actor="bench")

        first = rotate(dict(params), context())
        if first.get("summary", {}).get("rotated") != args.users:
            raise SystemExit(f"onboarding failed: {first.get('msg')}")
        for name in names:
            for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
                mock.age_key(key["AccessKeyId"], 120)
        mock.reset_stats()
        params["concurrency"] = args.concurrency

        timer = time.perf_counter if args.wall_clock else time.thread_time
        profiler = cProfile.Profile(timer)
        profiles = [profiler]
        lock = threading.Lock()

        def per_thread(*_: t.Any) -> None:  # installed in each new thread: its own profiler
            sys.setprofile(None)
            own = cProfile.Profile(timer)
            with lock:
                profiles.append(own)
            own.enable()

        started_cpu, started = cpu(), time.perf_counter()
        if not args.main_thread_only and not args.no_profile:
            threading.setprofile(per_thread)
        if not args.no_profile:
            profiler.enable()
        try:
            out = rotate(dict(params), context())
        finally:
            profiler.disable()
            threading.setprofile(None)
        wall, used = time.perf_counter() - started, cpu() - started_cpu
        for prof in profiles[1:]:
            prof.disable()
        stats = mock.stats()
    shutil.rmtree(work, ignore_errors=True)

    rotated = out.get("summary", {}).get("rotated")
    how = "not profiled" if args.no_profile else "profiled: cProfile adds overhead"
    print(f"users {args.users}, store {args.store}, concurrency {args.concurrency}: rotated {rotated}; wall {wall:.2f} s, "
          f"CPU {used:.2f} s = {1000 * used / args.users:.1f} ms/user ({how})")
    print(f"AWS calls: {stats['total_calls']} ({stats['total_calls'] / args.users:.2f}/user): {dict(sorted(stats['calls'].items()))}")
    if args.no_profile:
        return 0 if rotated == args.users else 1
    merged = pstats.Stats(profiles[0])
    for prof in profiles[1:]:
        try:
            merged.add(prof)
        except TypeError:  # a thread that never ran a profiled call
            continue
    if args.output:
        merged.dump_stats(args.output)
    for key in args.sort.split(","):
        buf = io.StringIO()
        merged.stream = buf
        merged.strip_dirs().sort_stats(key).print_stats(args.top)
        text = buf.getvalue()
        print(text[text.find("   ncalls"):] if "   ncalls" in text else text)
    return 0 if rotated == args.users else 1


if __name__ == "__main__":
    sys.exit(main())
