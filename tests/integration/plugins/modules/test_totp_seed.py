# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keyturn.aws.totp_seed through real ansible-playbook: validated, idempotent, check mode and
diff without the seed, absent; a file store needs no AWS access at all."""

from __future__ import annotations

import typing as t

from stores import StoreUnderTest

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
GROUPED = " ".join(SEED.lower()[i:i + 4] for i in range(0, len(SEED), 4))
URI = f"otpauth://totp/Amazon%20Web%20Services:root@123456789012?secret={SEED}&issuer=Amazon%20Web%20Services"
NAME = "123456789012/root-mfa"

LIFECYCLE = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/keyturn.aws.aws: "{{ connection }}"
  tasks:
    - name: planned
      keyturn.aws.totp_seed: {name: "{{ name }}", seed: "{{ uri }}", store: "{{ store }}"}
      check_mode: true
      diff: true
    - name: stored
      keyturn.aws.totp_seed: {name: "{{ name }}", seed: "{{ uri }}", store: "{{ store }}", audit_log: "{{ audit }}"}
      diff: true
    - name: again
      keyturn.aws.totp_seed: {name: "{{ name }}", seed: "{{ uri }}", store: "{{ store }}"}
    - name: grouped base32 has no labels
      keyturn.aws.totp_seed: {name: "{{ name }}", seed: "{{ grouped }}", store: "{{ store }}"}
    - name: grouped again
      keyturn.aws.totp_seed: {name: "{{ name }}", seed: "{{ grouped | upper }}", store: "{{ store }}"}
    - name: new period
      keyturn.aws.totp_seed: {name: "{{ name }}", seed: "{{ grouped }}", period: 60, store: "{{ store }}"}
      diff: true
    - name: bad seed
      keyturn.aws.totp_seed: {name: "{{ name }}", seed: "{{ grouped }}8", store: "{{ store }}"}
      ignore_errors: true
    - name: no seed
      keyturn.aws.totp_seed: {name: "{{ name }}", store: "{{ store }}"}
      ignore_errors: true
    - name: remove planned
      keyturn.aws.totp_seed: {name: "{{ name }}", state: absent, store: "{{ store }}"}
      check_mode: true
    - name: after planned removal
      ansible.builtin.set_fact:
        code: "{{ lookup('keyturn.aws.totp', name, store=store, unique=false) }}"
      no_log: true
    - name: removed
      keyturn.aws.totp_seed: {name: "{{ name }}", state: absent, store: "{{ store }}", audit_log: "{{ audit }}"}
    - name: removed again
      keyturn.aws.totp_seed: {name: "{{ name }}", state: absent, store: "{{ store }}"}
"""


# The lifecycle in two runs, so that the test reads the stored record back in between.
STORING, REMOVING = LIFECYCLE.split("    - name: remove planned\n")
REMOVING = STORING[:STORING.index("  tasks:\n") + len("  tasks:\n")] + "    - name: remove planned\n" + REMOVING


def stored_seed(store: t.Any) -> t.Dict[str, t.Any]:
    staged = store.read(NAME)
    assert staged.current is not None and staged.pending is None
    return t.cast(t.Dict[str, t.Any], staged.current)


def test_totp_seed_lifecycle_file_store_without_aws(runner: t.Any) -> None:
    # no connection options and no AWS credentials anywhere: a file store needs no AWS call
    store = StoreUnderTest("file", runner.tmp, "http://unused", {})
    audit = f"{runner.tmp}/audit.jsonl"
    variables = {"name": NAME, "uri": URI, "grouped": GROUPED, "store": store.option, "connection": {}, "audit": audit}
    result = runner.playbook(STORING, variables)
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]
    record = stored_seed(store)  # the seed normalized, the labels of the plain base32 seed (none), period 60
    assert (record["kind"], record["seed"], record["digits"], record["period"], record["algorithm"]) == \
        ("totp_seed", SEED, 6, 60, "SHA1")
    assert "issuer" not in record and "account" not in record
    stored_then = result
    result = runner.playbook(REMOVING, variables)
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]

    planned = stored_then.task("planned")
    assert planned["changed"] is True and "would be stored" in planned["msg"]
    assert planned["diff"]["before"] == {"name": NAME, "state": "absent"}
    assert planned["diff"]["after"]["seed"] == "(hidden)"
    assert planned["diff"]["after"]["issuer"] == "Amazon Web Services"

    stored = stored_then.task("stored")
    assert stored["changed"] is True
    assert (stored["digits"], stored["period"], stored["algorithm"]) == (6, 30, "SHA1")
    assert stored["issuer"] == "Amazon Web Services" and stored["account"] == "root@123456789012"
    assert stored_then.task("again")["changed"] is False
    assert stored_then.task("grouped base32 has no labels")["changed"] is True
    assert stored_then.task("grouped again")["changed"] is False
    new_period = stored_then.task("new period")
    assert new_period["changed"] is True and new_period["period"] == 60
    assert new_period["diff"]["before"]["period"] == 30 and new_period["diff"]["after"]["period"] == 60
    assert new_period["diff"]["after"]["seed"] == "(hidden, replaced)"

    bad = stored_then.task("bad seed")
    assert bad["failed"] is True and "not base32" in bad["msg"]
    assert "seed is required with state=present" in stored_then.task("no seed")["msg"]
    assert result.task("remove planned")["changed"] is True
    assert "censored" in result.task("after planned removal")  # the seed was still there
    assert result.task("removed")["changed"] is True
    assert result.task("removed again")["changed"] is False
    assert store.read(NAME).empty

    for secret in (SEED, SEED.lower(), GROUPED, SEED[:16]):
        for run in (stored_then, result):
            assert secret not in run.stdout and secret not in run.stderr
    with open(audit, encoding="utf-8") as handle:
        events = handle.read()
    assert events.count("totp_seed_stored") == 1 and events.count("totp_seed_removed") == 1
    assert SEED not in events


AWS_STORE = """
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/keyturn.aws.aws: "{{ connection }}"
  tasks:
    - name: stored
      keyturn.aws.totp_seed: {name: "{{ name }}", seed: "{{ uri }}", store: "{{ store }}"}
    - name: again
      keyturn.aws.totp_seed: {name: "{{ name }}", seed: "{{ grouped }}", store: "{{ store }}"}
    - name: removed
      keyturn.aws.totp_seed: {name: "{{ name }}", state: absent, store: "{{ store }}"}
"""


def test_totp_seed_in_an_aws_store(runner: t.Any, awsmock: t.Any, account_id: str) -> None:
    admin = awsmock.bootstrap(account_id)
    store = StoreUnderTest("ssm", runner.tmp, awsmock.url, admin)
    connection = {"endpoint_url": awsmock.url, "region": "us-east-1", "access_key": admin["access_key_id"],
                  "secret_key": admin["secret_access_key"]}
    grouped_uri = URI.replace(SEED, GROUPED.replace(" ", "-"))
    result = runner.playbook(AWS_STORE, {"name": NAME, "uri": URI, "grouped": grouped_uri, "store": store.option,
                                         "connection": connection})
    assert result.rc == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.task("stored")["changed"] is True
    assert result.task("again")["changed"] is False
    assert result.task("removed")["changed"] is True
    assert store.read(NAME).empty
    # read back from the store itself: stored, and the grouped seed found it unchanged
    kept = runner.playbook(AWS_STORE[:AWS_STORE.index("    - name: removed\n")], {
        "name": NAME, "uri": URI, "grouped": grouped_uri, "store": store.option, "connection": connection})
    assert kept.rc == 0 and kept.task("again")["changed"] is False
    record = stored_seed(store)
    assert (record["seed"], record["period"], record["issuer"], record["account"]) == \
        (SEED, 30, "Amazon Web Services", "root@123456789012")
    assert SEED not in result.stdout
