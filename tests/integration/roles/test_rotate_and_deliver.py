# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The playbook keyturn.aws.rotate_and_deliver and the role keyturn.aws.deliver_access_keys through real
ansible-playbook runs against awsmock, with consumer hosts in an inventory (ansible_connection=local, each
delivering into a temporary file).

Headline: a consumer application keeps calling STS every 0.2 s with the key it re-reads from its delivered file,
through rotate -> deliver -> retire with a 5 s IAM propagation delay: no call fails, the old key ends deleted and
the application ends on the new key.  A failed delivery keeps the old key Active and fails the run naming the host
and the record; the next run, once the host is fixed, delivers and retires.  Every run's output (also at -vvv), the
audit log and the reports are scanned for every secret issued."""

from __future__ import annotations

import configparser
import glob
import json
import os
import sys

from conftest import record_counts
from consumer_app import Consumer
from estate import Estate, authenticates

PLAYBOOK = "keyturn.aws.rotate_and_deliver"


def onboard(estate, user):
    """The user with a managed key in the store (the key the consumers start with)."""
    estate.user(user)
    result = estate.rotate([user])
    assert result.rc == 0 and estate.store.current(estate.name(user)), result.stdout[-3000:]
    return dict(estate.store.current(estate.name(user)))


def inventory(runner, hosts):
    """A YAML inventory with the group consumers; ``hosts`` maps host name to its deliver_access_keys_items."""
    data = {"all": {"children": {"consumers": {"hosts": {
        name: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
               "deliver_access_keys_items": items}
        for name, items in hosts.items()}}}}}
    return runner.write("consumers.yml", json.dumps(data))


def play_vars(estate, users, **extra):
    return {
        "rotate_and_deliver_users": users,
        "rotate_and_deliver_store": estate.store.option,
        "rotate_and_deliver_aws": {"endpoint_url": estate.mock.url, "region": estate.region,
                                   "access_key": estate.admin["access_key_id"],
                                   "secret_key": estate.admin["secret_access_key"]},
        "rotate_and_deliver_audit_log": estate.audit_log,
        "rotate_and_deliver_verify_timeout": 60,
        **extra,
    }


def run(estate, inventory_path, users, verbosity=0, json_output=True, check=False, diff=False, **extra):
    return estate.runner.playbook(PLAYBOOK, play_vars(estate, users, **extra), args=["-i", inventory_path],
                                  verbosity=verbosity, json_output=json_output, check=check, diff=diff)


def task(result, name, host="localhost"):
    """A task's result by name, also for tasks of the role (named ``role : name`` by ansible)."""
    for play in result.data["plays"]:
        for entry in play["tasks"]:
            if entry["task"]["name"].split(" : ")[-1] == name and host in entry["hosts"]:
                return entry["hosts"][host]
    raise AssertionError(f"no task named {name!r} for {host}")


def ini_key(path, profile):
    parser = configparser.RawConfigParser()
    parser.read(path)
    return parser[profile]["aws_access_key_id"], parser[profile]["aws_secret_access_key"]


def env_key(path):
    values = dict(line.split("=", 1) for line in open(path, encoding="utf-8").read().splitlines() if "=" in line)
    return values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"]


def audit_events(estate):
    with open(estate.audit_log, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def scan(estate, secrets, *results):
    """No secret in any output, the audit log or a report."""
    assert len(secrets) >= 3, "the scan needs real secrets to look for"
    texts = {"audit log": open(estate.audit_log, encoding="utf-8").read()}
    for index, result in enumerate(results):
        texts[f"run {index} stdout"] = result.stdout
        texts[f"run {index} stderr"] = result.stderr
    for path in glob.glob(os.path.join(estate.runner.tmp, "**", "*.html"), recursive=True):
        texts[path] = open(path, encoding="utf-8").read()
    for where, text in texts.items():
        for secret in secrets:
            assert secret not in text, f"a secret appeared in {where}"
    record_counts(leak_scan_secrets_searched=len(secrets))


def test_consumer_never_fails_through_rotate_deliver_retire(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    old = onboard(estate, "billing-app")
    other = onboard(estate, "report-app")
    name, other_name = estate.name("billing-app"), estate.name("report-app")
    app_file = os.path.join(runner.tmp, "app-host", ".aws", "credentials")
    env_file = os.path.join(runner.tmp, "worker-host", "billing.env")
    os.makedirs(os.path.dirname(app_file))
    with open(app_file, "w", encoding="utf-8") as handle:  # a hand-kept profile the delivery must leave alone
        handle.write("# kept by hand\n[legacy]\naws_access_key_id = AKIALEGACYLEGACY0001\naws_secret_access_key = keep/me\n")
    inv = inventory(runner, {
        "app-host": [{"name": name, "path": app_file, "profile": "billing"},
                     {"name": other_name, "path": app_file, "profile": "reports"}],
        "worker-host": [{"name": name, "path": env_file, "format": "env", "mode": "0640"}],
    })
    users = ["billing-app", "report-app"]

    # First run: nothing is due, the consumers get the current keys, nothing is retired.
    first = run(estate, inv, users)
    assert first.rc == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert ini_key(app_file, "billing") == (old["access_key_id"], old["secret_access_key"])
    assert ini_key(app_file, "reports")[0] == other["access_key_id"] and ini_key(app_file, "legacy")[1] == "keep/me"
    assert env_key(env_file) == (old["access_key_id"], old["secret_access_key"])
    assert oct(os.stat(env_file).st_mode & 0o777) == "0o640" and oct(os.stat(app_file).st_mode & 0o777) == "0o600"
    delivered = task(first, "Record what was delivered", "app-host")
    assert not delivered.get("failed")
    again = run(estate, inv, users)  # idempotent: nothing due, files already hold the keys
    assert again.rc == 0 and not task(again, "Write the credentials into the consumers' files", "app-host")["changed"]

    consumer = Consumer(runner.tmp, awsmock.url, app_file, "billing")
    try:
        consumer.wait_calls(5)
        awsmock.configure(propagation_delay=5)
        rotated = run(estate, inv, users, verbosity=3, json_output=False, rotate_and_deliver_force=True,
                      rotate_and_deliver_grace=3600)
        assert rotated.rc == 0, rotated.stdout[-6000:] + rotated.stderr[-2000:]
        new = estate.store.current(name)
        assert new["access_key_id"] != old["access_key_id"]
        stats = consumer.wait_calls(10)  # calls made with the delivered file after the run
    finally:
        awsmock.configure(propagation_delay=0)
        stats = consumer.stop()
    assert stats["failed"] == 0, stats["errors"][:5]
    assert stats["by_key"][old["access_key_id"]]["ok"] > 0 and stats["by_key"][new["access_key_id"]]["ok"] > 0
    assert stats["last_ok_key"] == new["access_key_id"]
    # The old keys are deleted (retired by play 3), the new ones are the only keys and authenticate.
    assert estate.keys("billing-app") == {new["access_key_id"]: "Active"}
    other_new = estate.store.current(other_name)
    assert estate.keys("report-app") == {other_new["access_key_id"]: "Active"}
    assert authenticates(awsmock.url, new["access_key_id"], new["secret_access_key"])
    assert authenticates(awsmock.url, old["access_key_id"], old["secret_access_key"]) is None
    assert env_key(env_file) == (new["access_key_id"], new["secret_access_key"])
    assert ini_key(app_file, "reports") == (other_new["access_key_id"], other_new["secret_access_key"])
    assert ini_key(app_file, "legacy")[1] == "keep/me"
    events = audit_events(estate)
    deliveries = [e for e in events if e["event"] == "access_key_delivered" and e.get("changed") in (True, "True")]
    where = {(e["host"], e["record"], e["access_key_id"], e["path"]) for e in deliveries}
    assert ("app-host", name, new["access_key_id"], app_file) in where
    assert ("worker-host", name, new["access_key_id"], env_file) in where
    assert any(e["access_key_id"] == new["access_key_id"] and e["previous_access_key_id"] == old["access_key_id"]
               for e in deliveries)
    secrets = {old["secret_access_key"], new["secret_access_key"], other["secret_access_key"],
               other_new["secret_access_key"], estate.admin["secret_access_key"]}
    scan(estate, secrets, first, again, rotated)
    record_counts(consumer_calls=stats["calls"], consumer_failed_calls=stats["failed"])


def test_failed_delivery_keeps_old_key_and_names_host_and_record(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    old = onboard(estate, "etl-app")
    name = estate.name("etl-app")
    good = os.path.join(runner.tmp, "good-host", "credentials")
    blocker = os.path.join(runner.tmp, "not-a-directory")
    with open(blocker, "w", encoding="utf-8") as handle:
        handle.write("a file where the delivery needs a directory\n")
    bad = os.path.join(blocker, "credentials")
    hosts = {"good-host": [{"name": name, "path": good}], "bad-host": [{"name": name, "path": bad, "profile": "etl"}]}
    inv = inventory(runner, hosts)

    failed = run(estate, inv, ["etl-app"], verbosity=3, json_output=False, rotate_and_deliver_force=True,
                 rotate_and_deliver_grace=3600)
    assert failed.rc != 0
    new = estate.store.current(name)
    assert new["access_key_id"] != old["access_key_id"]
    assert "bad-host did not receive " + name in failed.stdout, failed.stdout[-5000:]
    assert "delivery failed on bad-host" in failed.stdout and "not-a-directory" in failed.stdout
    # The old key stays Active (a consumer still holds it); the good host has the new key.
    assert estate.keys("etl-app") == {old["access_key_id"]: "Active", new["access_key_id"]: "Active"}
    assert authenticates(awsmock.url, old["access_key_id"], old["secret_access_key"])
    assert ini_key(good, "default") == (new["access_key_id"], new["secret_access_key"])

    # Check mode of the next run: would deliver to the fixed host and retire, changes nothing.
    hosts["bad-host"][0]["path"] = os.path.join(runner.tmp, "bad-host-fixed", "credentials")
    inv = inventory(runner, hosts)
    planned = run(estate, inv, ["etl-app"], check=True, diff=True)
    assert planned.rc == 0, planned.stdout[-4000:]
    write = task(planned, "Write the credentials into the consumers' files", "bad-host")
    assert write["changed"] and not os.path.exists(hosts["bad-host"][0]["path"])
    assert estate.keys("etl-app") == {old["access_key_id"]: "Active", new["access_key_id"]: "Active"}

    # The host is fixed: the next run (nothing due) delivers and retires the old key.
    fixed = run(estate, inv, ["etl-app"])
    assert fixed.rc == 0, fixed.stdout[-4000:]
    assert ini_key(hosts["bad-host"][0]["path"], "etl") == (new["access_key_id"], new["secret_access_key"])
    assert estate.keys("etl-app") == {new["access_key_id"]: "Active"}
    retire = {u["user_name"]: u for u in task(fixed, "Retire the old keys of the users every consumer now has the new key of")["users"]}
    assert retire["etl-app"]["retired_key_id"] == old["access_key_id"]
    scan(estate, {old["secret_access_key"], new["secret_access_key"], estate.admin["secret_access_key"]},
         failed, planned, fixed)


def test_unknown_record_fails_the_host_naming_it_and_keeps_the_old_key(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    old = onboard(estate, "queue-app")
    good = os.path.join(runner.tmp, "good", "credentials")
    missing = f"{account_id}/no-such-app"
    inv = inventory(runner, {"good-host": [{"name": estate.name("queue-app"), "path": good}],
                             "typo-host": [{"name": missing, "path": os.path.join(runner.tmp, "typo", "credentials")}]})
    result = run(estate, inv, ["queue-app"], rotate_and_deliver_force=True, rotate_and_deliver_grace=3600)
    assert result.rc != 0
    failure = task(result, "Name the records that cannot be read", "typo-host")
    assert failure["failed"] and missing in json.dumps(failure) and "no current record" in json.dumps(failure), failure
    assert "typo-host did not receive " + missing in task(result, "Fail when a delivery or a rotation failed (the old keys concerned stay Active)")["msg"]
    new = estate.store.current(estate.name("queue-app"))
    # queue-app's only consumer got its key, so its old key is retired; the typo'd record never blocks another's.
    assert estate.keys("queue-app") == {new["access_key_id"]: "Active"} and new["access_key_id"] != old["access_key_id"]
    assert ini_key(good, "default") == (new["access_key_id"], new["secret_access_key"])


FAKE_SERVICE_MODULE = '''#!/usr/bin/python
# A stand-in service manager for a test host without one: records each restart in $KEYTURN_FAKE_SERVICE_LOG.
import os
from ansible.module_utils.basic import AnsibleModule
module = AnsibleModule(argument_spec={"name": {"type": "str", "required": True}, "state": {"type": "str"}},
                       supports_check_mode=True)
if module.params["name"] == "__facts__":  # makes itself the host's service manager
    module.exit_json(changed=False, ansible_facts={"service_mgr": "ansible.legacy.keyturn_fake_service"})
if not module.check_mode:
    with open(os.environ["KEYTURN_FAKE_SERVICE_LOG"], "a") as handle:
        handle.write(module.params["name"] + " " + str(module.params["state"]) + "\\n")
module.exit_json(changed=True)
'''

ROLE_PLAY = """
- hosts: consumers
  gather_facts: false
  tasks:
    - name: Use the stand-in service manager
      keyturn_fake_service:
        name: __facts__
    - name: Deliver
      ansible.builtin.include_role:
        name: keyturn.aws.deliver_access_keys
      vars:
        deliver_access_keys_store: "{{ store }}"
        deliver_access_keys_audit_log: "{{ audit_log }}"
    - name: Show what was delivered
      ansible.builtin.debug:
        var: deliver_access_keys_delivered
"""


def test_role_restarts_only_for_changed_files_and_records_the_fact(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    cred = onboard(estate, "api-app")
    library = os.path.join(runner.tmp, "library")
    os.makedirs(library)
    with open(os.path.join(library, "keyturn_fake_service.py"), "w", encoding="utf-8") as handle:
        handle.write(FAKE_SERVICE_MODULE)
    restarts = os.path.join(runner.tmp, "restarts.log")
    path = os.path.join(runner.tmp, "api", "credentials")
    env_path = os.path.join(runner.tmp, "api", "api.env")
    inv = inventory(runner, {"api-host": [
        {"name": estate.name("api-app"), "path": path, "profile": "api", "restart": ["api", "api-worker"]},
        {"name": estate.name("api-app"), "path": env_path, "format": "env", "restart": ["api-env"]}]})
    env = {"ANSIBLE_LIBRARY": library, "KEYTURN_FAKE_SERVICE_LOG": restarts}

    def deliver():
        return runner.playbook(ROLE_PLAY, estate.vars(), args=["-i", inv], env=env)

    first = deliver()
    assert first.rc == 0, first.stdout[-4000:]
    assert open(restarts, encoding="utf-8").read().split("\n")[:-1] == ["api restarted", "api-worker restarted",
                                                                        "api-env restarted"]
    facts = task(first, "Show what was delivered", "api-host")["deliver_access_keys_delivered"]
    assert [(f["name"], f["access_key_id"], f["path"], f["changed"], f["restarted"]) for f in facts] == [
        (estate.name("api-app"), cred["access_key_id"], path, True, ["api", "api-worker"]),
        (estate.name("api-app"), cred["access_key_id"], env_path, True, ["api-env"])]
    assert facts[0]["user_name"] == "api-app" and facts[0]["account_id"] == account_id

    # Unchanged files: no restart.  Then only the env file drifts: only its service restarts.
    second = deliver()
    assert second.rc == 0 and open(restarts, encoding="utf-8").read().count("\n") == 3
    with open(env_path, "w", encoding="utf-8") as handle:
        handle.write("AWS_ACCESS_KEY_ID=AKIASTALESTALESTALE1\nAWS_SECRET_ACCESS_KEY=stale\n")
    third = deliver()
    assert third.rc == 0 and open(restarts, encoding="utf-8").read().split("\n")[3:] == ["api-env restarted", ""]
    events = [e for e in audit_events(estate) if e["event"] == "access_key_delivered"]
    assert len(events) == 6 and {e["host"] for e in events} == {"api-host"}
    assert [e.get("previous_access_key_id") for e in events][-1] == "AKIASTALESTALESTALE1"
    scan(estate, {cred["secret_access_key"], estate.admin["secret_access_key"], "stale"}, first, second, third)


PAIR_PLAY = """
- hosts: consumers
  gather_facts: false
  roles:
    - role: keyturn.aws.deliver_access_keys
      vars:
        deliver_access_keys_store: "{{ store }}"
"""


def test_role_delivers_the_active_member_of_a_dual_pair(runner, awsmock, account_id):
    from pairs import Pair, sts_identity

    pair = Pair(runner, awsmock, account_id)
    assert pair.run().rc == 0
    path = os.path.join(runner.tmp, "pair-host", "credentials")
    inv = inventory(runner, {"pair-host": [{"name": pair.name, "path": path, "profile": "reader"}]})
    delivered = runner.playbook(PAIR_PLAY, {"store": pair.store.option}, args=["-i", inv])
    assert delivered.rc == 0, delivered.stdout[-3000:]
    active, cred = pair.active_works()
    assert ini_key(path, "reader") == (cred["access_key_id"], cred["secret_access_key"])
    swapped = pair.run(force=True)
    assert swapped.rc == 0 and pair.record()["active"] != active
    again = runner.playbook(PAIR_PLAY, {"store": pair.store.option}, args=["-i", inv])
    assert again.rc == 0
    new_active, new_cred = pair.active_works()
    key_id, secret = ini_key(path, "reader")
    assert key_id == new_cred["access_key_id"] and sts_identity(awsmock.url, key_id, secret) == pair.arn(new_active)
