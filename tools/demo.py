# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``make demo``: a local AWS (awsmock on 127.0.0.1), a small realistic estate, and two runs of
``ansible-playbook keyturn.aws.demo`` (the second one must change nothing that is not due)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import typing as t

import boto3
import pyotp
import yaml
from ansible.parsing.vault import VaultLib, VaultSecret

from tools.awsmock.client import AwsMock

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build", "collections"))
from ansible_collections.keyturn.aws.plugins.plugin_utils._store_file import FileStore  # noqa: E402
OUT = os.path.join(ROOT, "demo-output")
VAULT_PASSWORD = "keyturn-demo-vault-password"
PROD, ANALYTICS, CHINA = "111111111111", "222222222222", "333333333333"


def client(mock: AwsMock, creds: t.Mapping[str, str], service: str, region: str = "us-east-1") -> t.Any:
    return boto3.client(service, region_name=region, endpoint_url=mock.url, aws_access_key_id=creds["access_key_id"],
                        aws_secret_access_key=creds["secret_access_key"])


def legacy_user(mock: AwsMock, iam: t.Any, name: str, age_days: int) -> t.Dict[str, str]:
    """A user with the kind of key every estate has: created long ago, known to nobody."""
    iam.create_user(UserName=name, Path="/service/")
    key = iam.create_access_key(UserName=name)["AccessKey"]
    mock.age_key(key["AccessKeyId"], age_days)
    return {"user_name": name, "access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}


def build_estate(mock: AwsMock) -> t.Dict[str, t.Any]:
    prod = mock.bootstrap(PROD, "aws", "security-automation")
    analytics = mock.bootstrap(ANALYTICS, "aws", "break-glass")
    china = mock.bootstrap(CHINA, "aws-cn", "security-automation")
    piam = client(mock, prod, "iam")
    onboarding = {PROD: [legacy_user(mock, piam, "ci-deployer", 140), legacy_user(mock, piam, "backup-agent", 30),
                         legacy_user(mock, piam, "reporting-etl", 95)]}
    aiam = client(mock, analytics, "iam")
    trust = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": f"arn:aws:iam::{PROD}:root"}}]}
    aiam.create_role(RoleName="keyturn-rotator", AssumeRolePolicyDocument=json.dumps(trust))
    aiam.put_role_policy(RoleName="keyturn-rotator", PolicyName="rotate-keys", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    onboarding[ANALYTICS] = [legacy_user(mock, aiam, "warehouse-loader", 200)]
    ciam = client(mock, china, "iam", "cn-north-1")
    onboarding[CHINA] = [legacy_user(mock, ciam, "cn-uploader", 120)]
    dual_pair(mock, piam)
    piam.create_user(UserName="breakglass-admin")
    return {"admins": {"aws": prod, "aws-cn": china}, "onboarding": onboarding,
            "root_seed": pyotp.random_base32(32)}


def dual_pair(mock: AwsMock, iam: t.Any) -> None:
    """app-blue / app-green: two users with identical permissions, onboarded 100 days ago with
    app-blue active, so its key is due now and the demo's first run swaps the pair."""
    iam.create_group(GroupName="payments-app")
    iam.put_group_policy(GroupName="payments-app", PolicyName="read-ledger", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}]}))
    store = FileStore(os.path.join(OUT, "credentials.vault.yml"), [("default", VaultSecret(VAULT_PASSWORD.encode()))])
    for user in ("app-blue", "app-green"):
        iam.create_user(UserName=user)
        iam.add_user_to_group(GroupName="payments-app", UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        mock.age_key(key["AccessKeyId"], 100)
        record = {"kind": "iam_user_key", "access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"],
                  "user_name": user, "account_id": PROD, "partition": "aws"}
        store.write_current(f"{PROD}/{user}", record)
    store.write_current("pairs/payments-app", {
        "kind": "dual_pair", "users": ["app-blue", "app-green"], "active": "app-blue", "inactive": "app-green",
        "swapped_at": None, "rotation_pending": False, "account_id": PROD, "partition": "aws",
        "member_names": {"app-blue": f"{PROD}/app-blue", "app-green": f"{PROD}/app-green"}})


def vault_dump(data: t.Any, path: str) -> None:
    vault = VaultLib([("default", VaultSecret(VAULT_PASSWORD.encode()))])
    with open(path, "wb") as handle:
        handle.write(vault.encrypt(yaml.safe_dump(data)))
    os.chmod(path, 0o600)


def run_demo(mock: AwsMock, estate: t.Dict[str, t.Any], run: int) -> t.Dict[str, t.Any]:
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"),
        ANSIBLE_HOME=os.path.join(OUT, ".ansible"),
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        AWS_CONFIG_FILE=os.path.join(OUT, "aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=os.path.join(OUT, "no-aws-credentials"),
        AWS_EC2_METADATA_DISABLED="true",
        PATH=os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", ""),
    )
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "keyturn.aws.demo",
           "-i", "localhost,", "-c", "local",
           "--vault-password-file", os.path.join(OUT, "vault-password"),
           "-e", "@" + os.path.join(OUT, "demo-vars.yml"),
           "-e", "@" + os.path.join(OUT, "secrets.vault.yml"),
           "-e", f"demo_run={run}"]
    print(f"\n=== keyturn.aws.demo, run {run}: {' '.join(cmd[1:2])} ===", flush=True)
    proc = subprocess.run(cmd, cwd=OUT, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"demo run {run} failed (exit {proc.returncode})")
    with open(os.path.join(OUT, f"summary-run{run}.json"), encoding="utf-8") as handle:
        return t.cast(t.Dict[str, t.Any], json.load(handle))


def rotating_run(reports: str) -> str:
    """The HTML page of the newest run in the history that rotated keys (the first demo run)."""
    for name in sorted(os.listdir(reports), reverse=True):
        if name.startswith("rotation-") and name.endswith(".json"):
            with open(os.path.join(reports, name), encoding="utf-8") as handle:
                if json.load(handle)["summary"].get("rotated"):
                    return name[:-5] + ".html"
    return "rotation.html"


def main() -> int:
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT, mode=0o700)
    with open(os.path.join(OUT, "vault-password"), "w", encoding="utf-8") as handle:
        handle.write(VAULT_PASSWORD + "\n")
    os.chmod(os.path.join(OUT, "vault-password"), 0o600)
    with AwsMock(log_path=os.path.join(OUT, "awsmock.log")) as mock:
        print(f"local AWS (moto) listening on {mock.url}")
        estate = build_estate(mock)
        demo_vars = {
            "demo_endpoint": mock.url,
            "demo_output": OUT,
            "demo_accounts": {"production": PROD, "analytics": ANALYTICS, "china": CHINA},
            "demo_users": {acct: [u["user_name"] for u in users] for acct, users in estate["onboarding"].items()},
        }
        with open(os.path.join(OUT, "demo-vars.yml"), "w", encoding="utf-8") as handle:
            yaml.safe_dump(demo_vars, handle)
        vault_dump({"demo_admins": estate["admins"], "demo_onboarding": estate["onboarding"],
                    "demo_root_seed": estate["root_seed"]},
                   os.path.join(OUT, "secrets.vault.yml"))
        first = run_demo(mock, estate, 1)
        second = run_demo(mock, estate, 2)
        calls = mock.stats()["total_calls"]
    print("\n=== keyturn.aws demo summary ===")
    for label, summary in (("run 1", first), ("run 2", second)):
        print(f"{label}: " + ", ".join(f"{k}={v}" for k, v in summary["counts"].items()))
    print("(records_changed counts users and store records; the play recap's changed= counts tasks)")
    print(f"AWS calls served by the local server: {calls}")
    print(f"store (vault-encrypted): {os.path.join(OUT, 'credentials.vault.yml')}")
    print(f"audit log:               {os.path.join(OUT, 'audit.jsonl')}")
    print(f"dual pair payments-app:  run 1 {first['dual']}, run 2 {second['dual']} (active now {second['active']})")
    print(f"TOTP code for the root account seed: fetched through the lookup, expires {first['totp_expires_at']} "
          "(codes are never displayed)")
    reports = os.path.join(OUT, "reports")
    print(f"report history:          {os.path.join(reports, 'index.html')}")
    print(f"the run that rotated:    {os.path.join(reports, rotating_run(reports))}")
    print(f"latest good report:      {os.path.join(reports, 'rotation.html')}")
    if second["counts"].get("records_changed", 0):
        print("second run changed something that was not due")
        return 1
    print("second run: nothing changed (idempotent)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
