# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""access_key_verify, access_key_reconcile and access_key_info through real ansible-playbook."""

from __future__ import annotations

from estate import Estate, authenticates, by_user

VERIFY = """
    - name: verify
      keyturn.aws.access_key_verify:
        users: "{{ users }}"
        store: "{{ store }}"
"""

RECONCILE = """
    - name: reconcile
      keyturn.aws.access_key_reconcile:
        users: "{{ users }}"
        store: "{{ store }}"
        import_credentials: "{{ imports | default(omit) }}"
      ignore_errors: true
"""

INFO = """
    - name: info
      keyturn.aws.access_key_info:
        store: "{{ store }}"
        max_age_days: 30
"""


def test_verify_reports_valid_invalid_and_drift(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    users = ["good", "broken", "drifted", "unknown"]
    for user in users:
        estate.user(user)
    estate.rotate(users[:3])
    # corrupt the stored secret of "broken"; give "drifted" an extra key the store does not know
    staged = estate.store.read(estate.name("broken"))
    estate.store.store.write_current(estate.name("broken"), dict(staged.current, secret_access_key="x" * 40),
                                     keep_previous=False)
    extra = estate.iam.create_access_key(UserName="drifted")["AccessKey"]["AccessKeyId"]
    before = {u: estate.keys(u) for u in users}
    result = estate.play(VERIFY, users=users)
    assert result.rc == 0, result.stdout[-3000:]
    items = by_user(result, "verify")
    assert items["good"]["status"] == "valid" and items["good"]["valid"] and items["good"]["drift"] == []
    assert items["broken"]["status"] == "invalid" and not items["broken"]["valid"]
    assert "SignatureDoesNotMatch" in items["broken"]["reason"]
    assert items["drifted"]["status"] == "valid"
    assert any(extra in d for d in items["drifted"]["drift"])
    assert items["unknown"]["status"] == "missing"
    assert items["good"]["key_age_days"] < 1 and items["good"]["due"] is False
    assert result.task("verify")["changed"] is False
    assert result.task("verify")["summary"] == {"total": 4, "valid": 2, "invalid": 1, "missing": 1, "drift": 1}
    assert {u: estate.keys(u) for u in users} == before


def test_reconcile_repairs_corrupted_secret_and_imports(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    for user in ("healthy", "corrupted", "legacy"):
        estate.user(user)
    estate.rotate(["healthy", "corrupted"])
    healthy = estate.store.current(estate.name("healthy"))
    staged = estate.store.read(estate.name("corrupted"))
    broken_id = staged.current["access_key_id"]
    estate.store.store.write_current(estate.name("corrupted"), dict(staged.current, secret_access_key="y" * 40),
                                     keep_previous=False)
    legacy = estate.iam.create_access_key(UserName="legacy")["AccessKey"]
    imports = [{"user_name": "legacy", "access_key_id": legacy["AccessKeyId"],
                "secret_access_key": legacy["SecretAccessKey"]}]
    users = ["healthy", "corrupted", "legacy"]

    planned = estate.play(RECONCILE, check=True, users=users, imports=imports)
    plan = by_user(planned, "reconcile")
    assert plan["corrupted"]["action"] == "reconciled" and plan["healthy"]["action"] == "skipped"
    assert plan["legacy"]["action"] == "imported"
    assert estate.store.current(estate.name("corrupted"))["secret_access_key"] == "y" * 40
    assert estate.store.current(estate.name("legacy")) is None

    result = estate.play(RECONCILE, users=users, imports=imports)
    items = by_user(result, "reconcile")
    assert items["healthy"]["action"] == "skipped" and items["healthy"]["changed"] is False
    assert items["corrupted"]["action"] == "reconciled", items["corrupted"]
    repaired = estate.store.current(estate.name("corrupted"))
    assert authenticates(awsmock.url, repaired["access_key_id"], repaired["secret_access_key"])
    assert broken_id not in estate.keys("corrupted")
    assert items["legacy"]["action"] == "imported"
    assert estate.store.current(estate.name("legacy"))["access_key_id"] == legacy["AccessKeyId"]
    assert estate.keys("legacy") == {legacy["AccessKeyId"]: "Active"}
    assert estate.store.current(estate.name("healthy")) == healthy
    assert legacy["SecretAccessKey"] not in result.stdout + result.stderr

    again = estate.play(RECONCILE, users=users, imports=imports)
    assert again.task("reconcile")["changed"] is False
    assert {r["action"] for r in again.task("reconcile")["users"]} == {"skipped"}

    estate.iam.delete_access_key(UserName="legacy", AccessKeyId=legacy["AccessKeyId"])
    stale = estate.play(RECONCILE, users=["healthy"], imports=[dict(imports[0], user_name="healthy")])
    assert by_user(stale, "reconcile")["healthy"]["action"] == "skipped"  # store already works: import not needed
    assert "already holds a working credential" in by_user(stale, "reconcile")["healthy"]["reason"]

    estate.store.store.write_current(estate.name("healthy"), dict(healthy, secret_access_key="z" * 40),
                                     keep_previous=False)
    wrong = [{"user_name": "healthy", "access_key_id": legacy["AccessKeyId"],
              "secret_access_key": legacy["SecretAccessKey"]}]
    refused = estate.play(RECONCILE, users=["healthy"], imports=wrong)
    item = by_user(refused, "reconcile")["healthy"]
    assert item["action"] == "failed" and "does not authenticate as healthy" in item["reason"]
    assert estate.store.current(estate.name("healthy"))["secret_access_key"] == "z" * 40


def test_info_lists_keys_with_last_used(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    for user in ("managed", "stranger", "keyless"):
        estate.user(user)
    estate.rotate(["managed"])
    stored = estate.store.current(estate.name("managed"))
    authenticates(awsmock.url, stored["access_key_id"], stored["secret_access_key"])  # a use to report
    stranger = estate.iam.create_access_key(UserName="stranger")["AccessKey"]["AccessKeyId"]
    awsmock.age_key(stranger, 45)
    result = estate.play(INFO)
    assert result.rc == 0, result.stdout[-3000:]
    info = result.task("info")
    users = {u["user_name"]: u for u in info["users"]}
    assert set(users) == {"keyturn-admin", "managed", "stranger", "keyless"}
    managed_key = users["managed"]["keys"][0]
    assert managed_key["access_key_id"] == stored["access_key_id"] and managed_key["managed"] is True
    assert managed_key["last_used"]["date"] is not None and managed_key["last_used"]["service"] == "sts"
    stranger_key = users["stranger"]["keys"][0]
    assert stranger_key["managed"] is False and stranger_key["due"] is True and stranger_key["age_days"] >= 45
    assert stranger_key["last_used"]["date"] is None
    assert users["keyless"]["keys"] == []
    summary = info["summary"]
    assert summary["users"] == 4 and summary["users_without_keys"] == 1
    assert summary["due"] == 1 and summary["managed"] == 1 and summary["unmanaged"] == 2
    assert info["changed"] is False
