# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keyturn.aws.rotate as AWX / Automation Controller runs it: ansible-runner with a private data
directory laid out as AWX writes it (env/envvars, env/extravars, env/passwords, env/cmdline,
inventory, project), directly and through the transmit | worker | process pipeline."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import pytest
import yaml

from estate import Estate, authenticates
from conftest import COLLECTIONS

BIN = os.path.dirname(sys.executable)
VAULT_PASSWORD = "awx-vault-credential-password"


def private_data_dir(tmp, estate, user):
    pdd = os.path.join(tmp, "awx-job")
    for sub in ("env", "inventory", "project"):
        os.makedirs(os.path.join(pdd, sub), exist_ok=True)
    envvars = {  # what AWX's "Amazon Web Services" credential injects, plus the collection path of the EE
        "AWS_ACCESS_KEY_ID": estate.admin["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": estate.admin["secret_access_key"],
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_HOME": os.path.join(tmp, "awx-ansible-home"),
        "AWS_CONFIG_FILE": os.path.join(tmp, "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(tmp, "no-credentials"),
        "PATH": BIN + os.pathsep + os.environ.get("PATH", ""),
    }
    extravars = {
        "awx_job_id": 4242,
        "awx_user_name": "secops-scheduler",
        "rotate_access_keys_targets": [{"name": "production", "account_id": estate.account_id,
                                        "region": "us-east-1", "users": [user]}],
        "rotate_access_keys_store": estate.store.option,
        "rotate_access_keys_aws": {"endpoint_url": estate.mock.url},
        "rotate_access_keys_audit_log": os.path.join(tmp, "awx-audit.jsonl"),
        "rotate_access_keys_report_dir": os.path.join(tmp, "awx-reports"),
    }
    files = {
        "env/envvars": envvars,
        "env/extravars": extravars,
        # AWX's vault credential: ansible-playbook asks, ansible-runner answers
        "env/passwords": {r"^Vault password:\s*?$": VAULT_PASSWORD},
        "env/settings": {"idle_timeout": 300, "job_timeout": 600, "pexpect_timeout": 5},
    }
    for rel, data in files.items():
        with open(os.path.join(pdd, rel), "w", encoding="utf-8") as handle:
            yaml.safe_dump(data, handle)
    with open(os.path.join(pdd, "env", "cmdline"), "w", encoding="utf-8") as handle:
        handle.write("--ask-vault-pass")
    with open(os.path.join(pdd, "inventory", "hosts"), "w", encoding="utf-8") as handle:
        handle.write(f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    with open(os.path.join(pdd, "project", "rotate.yml"), "w", encoding="utf-8") as handle:
        handle.write("---\n- name: Scheduled rotation\n  ansible.builtin.import_playbook: keyturn.aws.rotate\n")
    return pdd


def job_events(pdd):
    events = []
    for path in sorted(glob.glob(os.path.join(pdd, "artifacts", "**", "job_events", "*.json"), recursive=True)):
        with open(path, encoding="utf-8") as handle:
            events.append(json.load(handle))
    return events


def all_artifacts_text(pdd):
    """What AWX stores and shows of a job: its events and its stdout/stderr.  (ansible-runner's
    ``command`` artifact holds the environment AWX itself injected, credentials included.)"""
    text = []
    for path in glob.glob(os.path.join(pdd, "artifacts", "**", "*"), recursive=True):
        if os.path.isfile(path) and os.path.basename(path) != "command":
            with open(path, encoding="utf-8", errors="replace") as handle:
                text.append(handle.read())
    return "\n".join(text)


def prepare(runner, awsmock, account_id, user):
    """An estate whose vault store is encrypted with the AWX vault credential's password."""
    with open(runner.vault_password_file, "w", encoding="utf-8") as handle:
        handle.write(VAULT_PASSWORD + "\n")
    estate = Estate(runner, awsmock, account_id)
    from ansible_collections.keyturn.aws.plugins.plugin_utils._store_file import FileStore, vault_secrets_from_password
    estate.store.store = FileStore(estate.store.option["path"], vault_secrets_from_password(VAULT_PASSWORD))
    estate.user(user)
    estate.rotate([user])
    old = estate.store.current(estate.name(user))
    awsmock.age_key(old["access_key_id"], 120)
    return estate, old


def check_rotated(estate, user, old, pdd):
    new = estate.store.current(estate.name(user))
    assert new["access_key_id"] != old["access_key_id"]
    assert authenticates(estate.mock.url, new["access_key_id"], new["secret_access_key"])
    assert authenticates(estate.mock.url, old["access_key_id"], old["secret_access_key"]) is None
    events = job_events(pdd)
    stats = [e for e in events if e.get("event") == "playbook_on_stats"]
    assert stats, "no playbook_on_stats event"
    data = stats[-1]["event_data"]
    assert not data.get("failures") and not data.get("dark"), data
    assert any(e.get("event") == "runner_on_ok" for e in events)
    text = all_artifacts_text(pdd)
    for secret in (old["secret_access_key"], new["secret_access_key"], estate.admin["secret_access_key"], VAULT_PASSWORD):
        assert secret not in text, "a secret reached the job events or artifacts"
    with open(os.path.join(os.path.dirname(estate.store.option["path"]), "awx-audit.jsonl"), encoding="utf-8") as handle:
        audit = [json.loads(line) for line in handle]
    assert any(e.get("job_id") == "4242" and e.get("actor") == "secops-scheduler" for e in audit), audit


def test_ansible_runner_run(runner, awsmock, account_id):
    estate, old = prepare(runner, awsmock, account_id, "awx-direct")
    pdd = private_data_dir(runner.tmp, estate, "awx-direct")
    proc = subprocess.run([os.path.join(BIN, "ansible-runner"), "run", pdd, "-p", "rotate.yml"],
                          capture_output=True, text=True, check=False, timeout=600)
    status = glob.glob(os.path.join(pdd, "artifacts", "*", "status"))
    assert status and open(status[0], encoding="utf-8").read().strip() == "successful", proc.stdout[-4000:]
    check_rotated(estate, "awx-direct", old, pdd)


def test_transmit_worker_process(runner, awsmock, account_id):
    estate, old = prepare(runner, awsmock, account_id, "awx-receptor")
    pdd = private_data_dir(runner.tmp, estate, "awx-receptor")
    worker_dir = os.path.join(runner.tmp, "worker")
    os.makedirs(worker_dir)
    runner_bin = os.path.join(BIN, "ansible-runner")
    transmit = subprocess.Popen([runner_bin, "transmit", pdd, "-p", "rotate.yml"], stdout=subprocess.PIPE)
    worker = subprocess.Popen([runner_bin, "worker", "--private-data-dir", worker_dir], stdin=transmit.stdout,
                              stdout=subprocess.PIPE)
    transmit.stdout.close()
    process = subprocess.run([runner_bin, "process", pdd], stdin=worker.stdout, capture_output=True, text=True,
                             check=False, timeout=600)
    worker.wait(60)
    transmit.wait(60)
    assert worker.returncode == 0 and transmit.returncode == 0, process.stderr[-3000:]
    assert process.returncode == 0, process.stdout[-4000:] + process.stderr[-2000:]
    check_rotated(estate, "awx-receptor", old, pdd)


@pytest.fixture(autouse=True)
def _needs_rotate_playbook():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert os.path.exists(os.path.join(root, "playbooks", "rotate.yml"))
