# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``make aws``: only the local test AWS (moto on 127.0.0.1, authentication enforced), to try the example playbooks.

It bootstraps an administrator in account 111111111111 (``aws``), creates two service users, and writes into
``build/local-aws/`` (mode 0600, nothing printed that is secret):

* ``env.sh``: ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` of that administrator, ``ANSIBLE_COLLECTIONS_PATH``
  and ``ANSIBLE_PYTHON_INTERPRETER`` for this checkout;
* ``vars.yml``: variables for ``keyturn.aws.rotate`` / ``verify`` / ``discover`` pointing at the server
  (``rotate_access_keys_aws.endpoint_url``), a file store and a report directory in ``build/local-aws/``;
* ``vault-password``: the vault password of that store.

The server runs until Ctrl-C.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import typing as t

import boto3
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from tools.awsmock.client import AwsMock  # noqa: E402

ACCOUNT = "111111111111"
USERS = ("ci-deployer", "backup-agent")


def write_private(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def prepare(mock: AwsMock, out: str) -> t.Dict[str, str]:
    admin = mock.bootstrap(ACCOUNT, "aws", "keyturn-admin")
    iam = boto3.client("iam", endpoint_url=mock.url, region_name="us-east-1",
                       aws_access_key_id=admin["access_key_id"], aws_secret_access_key=admin["secret_access_key"])
    for user in USERS:
        iam.create_user(UserName=user)
    os.makedirs(out, mode=0o700, exist_ok=True)
    bin_dir = os.path.dirname(sys.executable)
    write_private(os.path.join(out, "env.sh"), "".join(f"export {k}={v}\n" for k, v in {
        "AWS_ACCESS_KEY_ID": admin["access_key_id"], "AWS_SECRET_ACCESS_KEY": admin["secret_access_key"],
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.path.join(out, "no-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(out, "no-aws-credentials"),
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, "build", "collections"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "PATH": f"{bin_dir}:$PATH"}.items()))
    write_private(os.path.join(out, "vault-password"), secrets.token_urlsafe(24) + "\n")
    variables = {
        "rotate_access_keys_aws": {"endpoint_url": mock.url},
        "rotate_access_keys_store": {"type": "file", "path": os.path.join(out, "credentials.vault.yml")},
        "rotate_access_keys_targets": [{"name": "local", "account_id": ACCOUNT, "region": "us-east-1",
                                        "users": list(USERS)}],
        "rotate_access_keys_report_dir": os.path.join(out, "reports"),
        "rotate_access_keys_audit_log": os.path.join(out, "audit.jsonl"),
        "rotate_access_keys_verify_timeout": 10,
    }
    write_private(os.path.join(out, "vars.yml"), "---\n" + yaml.safe_dump(variables, sort_keys=False))
    return admin


def main() -> int:
    out = os.path.join(ROOT, "build", "local-aws")
    with AwsMock() as mock:
        prepare(mock, out)
        print(f"local AWS (moto, authentication enforced) listening on {mock.url}; account {ACCOUNT}, "
              f"users {', '.join(USERS)} (no keys yet)")
        print("In another shell:")
        print(f"  source {out}/env.sh")
        print(f"  ansible-playbook -i localhost, keyturn.aws.rotate -e @{out}/vars.yml "
              f"--vault-password-file {out}/vault-password")
        print(f"  ansible-playbook -i localhost, keyturn.aws.rotate -e @{out}/vars.yml "
              f"--vault-password-file {out}/vault-password --check     # the plan")
        print(f"Reports: {out}/reports/index.html.  Ctrl-C stops the server (its state is in memory only).",
              flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
