# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWX job slicing of keyturn.aws.rotate_accounts, as execution nodes run it: K ansible-runner
``transmit | worker | process`` pipelines at once, each with its own private data directory (a separate node),
over overlapping slices of the Organization's accounts, with an AWS (Secrets Manager) store in the management
account.  Every due user is rotated exactly once (CreateAccessKey counted at the server), and the slices' parts
merge into one estate report."""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

import yaml

from conftest import COLLECTIONS
from estate import authenticates
from organization import Organization
from stores import StoreUnderTest, aws_client

BIN = os.path.dirname(sys.executable)
LAYOUT = {"Production": ["prod-api"], "Production/Web": ["prod-web"], "Staging": ["staging-api"]}
ACCOUNTS = ["master", "prod-api", "prod-web", "staging-api"]
SLICES = [["master", "prod-api"], ["prod-api", "prod-web"], ["prod-web", "staging-api", "master"]]  # overlapping
USERS = ["svc-a", "svc-b"]


def due_users(org, store):
    """Per account, tagged users whose stored key is 120 days old; returns {(account, user): original record}."""
    originals = {}
    for account in ACCOUNTS:
        for user in USERS:
            org.user(account, user, {"keyturn": "rotate"})
            iam = aws_client(org.mock.url, org.admin, "iam") if account == "master" else org.member_client(account, "iam")
            key = iam.create_access_key(UserName=user)["AccessKey"]
            account_id = org.account_id_of(account)
            record = {"kind": "iam_user_key", "access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"],
                      "user_name": user, "account_id": account_id, "partition": "aws"}
            store.store.write_current(f"{account_id}/{user}", record)
            org.mock.age_key(key["AccessKeyId"], 120)
            originals[(account, user)] = record
    return originals


def private_data_dir(tmp, org, store, index, hosts, report_dir):
    pdd = os.path.join(tmp, f"slice-{index}")
    for sub in ("env", "inventory", "project"):
        os.makedirs(os.path.join(pdd, sub))
    envvars = {  # AWX's Amazon Web Services credential, and the EE's collection path
        "AWS_ACCESS_KEY_ID": org.admin["access_key_id"],
        "AWS_SECRET_ACCESS_KEY": org.admin["secret_access_key"],
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_HOME": os.path.join(tmp, f"ansible-home-{index}"),
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true",
        "AWS_CONFIG_FILE": os.path.join(tmp, "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(tmp, "no-credentials"),
        "PATH": BIN + os.pathsep + os.environ.get("PATH", ""),
    }
    extravars = {  # what AWX passes to every slice job of one sliced job: its own job id, the workflow's id
        "awx_job_id": 5000 + index,
        "awx_workflow_job_id": 4999,
        "awx_user_name": "secops-scheduler",
        "rotate_access_keys_store": store.option,
        "rotate_access_keys_aws": {"endpoint_url": org.mock.url},
        "rotate_access_keys_user_filter": {"tags": {"keyturn": "rotate"}},
        "rotate_access_keys_report_dir": report_dir,
        "rotate_access_keys_verify_successes": 1,
    }
    inventory = {"plugin": "keyturn.aws.accounts", "region": "us-east-1", "endpoint_url": org.mock.url,
                 "include_accounts": hosts}
    files = {"env/envvars": envvars, "env/extravars": extravars, "inventory/org.keyturn_accounts.yml": inventory,
             "env/settings": {"idle_timeout": 600, "job_timeout": 900}}
    for rel, data in files.items():
        with open(os.path.join(pdd, rel), "w", encoding="utf-8") as handle:
            yaml.safe_dump(data, handle)
    with open(os.path.join(pdd, "env", "cmdline"), "w", encoding="utf-8") as handle:
        handle.write("--forks 2")
    with open(os.path.join(pdd, "project", "rotate_accounts.yml"), "w", encoding="utf-8") as handle:
        handle.write("---\n- name: Rotate every account\n  ansible.builtin.import_playbook: keyturn.aws.rotate_accounts\n")
    return pdd


def start_pipeline(pdd, worker_dir):
    runner_bin = os.path.join(BIN, "ansible-runner")
    os.makedirs(worker_dir)
    transmit = subprocess.Popen([runner_bin, "transmit", pdd, "-p", "rotate_accounts.yml"], stdout=subprocess.PIPE)
    worker = subprocess.Popen([runner_bin, "worker", "--private-data-dir", worker_dir], stdin=transmit.stdout,
                              stdout=subprocess.PIPE)
    transmit.stdout.close()
    process = subprocess.Popen([runner_bin, "process", pdd], stdin=worker.stdout, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    worker.stdout.close()
    return transmit, worker, process


def artifacts(pdd):
    text, events = [], []
    for path in glob.glob(os.path.join(pdd, "artifacts", "**", "*"), recursive=True):
        if os.path.isfile(path) and os.path.basename(path) != "command":
            with open(path, encoding="utf-8", errors="replace") as handle:
                text.append(handle.read())
            if "job_events" in path:
                events.append(json.loads(text[-1]))
    return "\n".join(text), events


def test_overlapping_slices_rotate_each_due_user_once(runner, awsmock, account_id):
    org = Organization(awsmock, account_id, LAYOUT)
    store = StoreUnderTest("secretsmanager", runner.tmp, awsmock.url, org.admin)
    originals = due_users(org, store)
    report_dir = os.path.join(runner.tmp, "shared-reports")  # a share every execution node mounts
    before = awsmock.stats()["calls"].get("iam:CreateAccessKey", 0)

    pdds = [private_data_dir(runner.tmp, org, store, i, hosts, report_dir) for i, hosts in enumerate(SLICES)]
    pipelines = [start_pipeline(pdd, os.path.join(runner.tmp, f"node-{i}")) for i, pdd in enumerate(pdds)]
    outputs = []
    for transmit, worker, process in pipelines:
        out, err = process.communicate(timeout=900)
        worker.wait(60)
        transmit.wait(60)
        outputs.append(out[-3000:] + err[-2000:])
        assert process.returncode == 0 and worker.returncode == 0 and transmit.returncode == 0, outputs[-1]

    for pdd, output in zip(pdds, outputs):
        stats = [e for e in artifacts(pdd)[1] if e.get("event") == "playbook_on_stats"]
        assert stats, output
        assert not stats[-1]["event_data"].get("failures") and not stats[-1]["event_data"].get("dark"), output

    created = awsmock.stats()["calls"].get("iam:CreateAccessKey", 0) - before
    assert created == len(originals), f"{created} keys created for {len(originals)} due users"
    secrets = [org.admin["secret_access_key"]]
    for (account, user), original in originals.items():
        staged = store.read(f"{org.account_id_of(account)}/{user}")
        assert staged.previous["access_key_id"] == original["access_key_id"], f"{account}/{user} was rotated twice"
        assert staged.pending is None
        current = staged.current
        assert authenticates(awsmock.url, current["access_key_id"], current["secret_access_key"])
        assert org.keys(account, user) == {current["access_key_id"]: "Active"}
        secrets += [original["secret_access_key"], current["secret_access_key"]]

    names = [sec["Name"] for page in aws_client(awsmock.url, org.admin, "secretsmanager").get_paginator("list_secrets").paginate()
             for sec in page["SecretList"] if sec["Name"].startswith(store.option["prefix"])]
    assert len(names) >= len(originals) and not [n for n in names if n.endswith(".lease")], "a lease was left behind"

    parts = sorted(os.listdir(os.path.join(report_dir, "estate-rotation.parts", "4999")))
    assert parts == ["5000.json", "5001.json", "5002.json"]
    with open(os.path.join(report_dir, "estate-rotation.json"), encoding="utf-8") as handle:
        report = json.load(handle)
    assert sorted(t["name"] for t in report["targets"]) == sorted(ACCOUNTS)
    assert report["summary"]["rotated"] == len(originals) and not report["problems"]
    for target in report["targets"]:
        assert sorted(u["user_name"] for u in target["users"]) == USERS
        assert all(u["action"] == "rotated" for u in target["users"]), target

    for pdd in pdds:
        text, events = artifacts(pdd)
        assert any(e.get("event") == "playbook_on_stats" for e in events)
        for secret in secrets:
            assert secret not in text, "a secret reached the job events or artifacts"
    with open(os.path.join(report_dir, "estate-rotation.html"), encoding="utf-8") as handle:
        page = handle.read()
    for name in glob.glob(os.path.join(report_dir, "**", "*.json"), recursive=True):
        with open(name, encoding="utf-8") as handle:
            page += handle.read()
    assert not [s for s in secrets if s in page], "a secret reached a report"
