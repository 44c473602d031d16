# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rotation protocol (DESIGN §2) step by step, with Stubber-backed IAM/STS and an in-memory store.

Each test lists the exact AWS calls the engine must make (any other call, or
other parameters, fails the test) and checks the store and the audit trail.
"""

from __future__ import annotations

import datetime
import socket

import pytest

from ansible_collections.keyturn.aws.plugins.module_utils._audit import isoformat
from ansible_collections.keyturn.aws.plugins.module_utils._rotation import (
    RECORD_KIND,
    Env,
    Policy,
    Target,
    Postponed,
    Retirement,
    UserFailed,
    UserRotation,
    judge_retirement,
)
from ansible_collections.keyturn.aws.plugins.module_utils._errors import KeyturnError
from ansible_collections.keyturn.aws.plugins.module_utils._iam_keys import IamKey
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import StagedRecord, lease_owner
from protocol_fakes import ACCOUNT, NOW, PARTITION, FakeConnection, days_ago, dead_pid, key_id, read_audit

USER = "alice"
NAME = f"{ACCOUNT}/{USER}"
K0, K1, K2, K3 = (key_id(n) for n in range(4))
RUN = "run-now"


def cred(kid, **extra):
    record = {"kind": RECORD_KIND, "access_key_id": kid, "secret_access_key": "secret-" + kid, "user_name": USER,
              "account_id": ACCOUNT, "partition": PARTITION}
    record.update(extra)
    return record


def intent(known, started=None, run_id="run-crashed"):
    return {"kind": RECORD_KIND, "intent": True, "run_id": run_id, "started": isoformat(started or days_ago(0.01)),
            "user_name": USER, "account_id": ACCOUNT, "partition": PARTITION, "known_key_ids": list(known)}


@pytest.fixture
def make(aws, store, audit, sleeper):
    def build(check_mode=False, lock_timeout=0, run_id=RUN, **policy):
        env = Env(conn=FakeConnection(aws), store=store, account_id=ACCOUNT, partition=PARTITION, run_id=run_id,
                  check_mode=check_mode, audit=audit, lock_timeout=lock_timeout, sleep=sleeper)
        return UserRotation(env, Target(USER, NAME, Policy(**policy)))
    return build


def stages(store):
    staged = store.read(NAME)
    return tuple((stage or {}).get("access_key_id") if stage else None for stage in staged)


def events(audit_path):
    return [line["event"] for line in read_audit(audit_path)]


# -- plan / due ------------------------------------------------------------------

def test_not_due_is_skipped_and_changes_nothing(make, aws, store, audit_path):
    store.seed(NAME, current=cred(K1))
    aws.list_keys(USER, (K1, "Active", days_ago(10)))
    result = make().run()
    aws.done()
    assert result["action"] == "skipped" and result["changed"] is False
    assert result["reason"] == "the key is 10 days old (max_age_days 90)"
    assert result["old_key_id"] == K1 and result["plan"] == []
    assert store.ops("write_pending", "promote", "discard_pending", "write_current") == []
    assert events(audit_path) == [] and store.leases == {}


def test_due_rotation_runs_every_step_in_order(make, aws, store, audit_path):
    store.seed(NAME, current=cred(K1))
    aws.list_keys(USER, (K1, "Active", days_ago(100))).create(USER, K2, "secret-new").delete(USER, K1)
    aws.identity(USER, times=2)
    result = make().run()
    aws.done()
    assert result["action"] == "rotated" and result["changed"] is True
    assert (result["old_key_id"], result["new_key_id"]) == (K1, K2)
    assert result["reason"] == "the key is 100 days old (max_age_days 90)"
    assert result["plan"] == ["create a new access key, store it as pending, verify it with STS",
                              "promote the new key to current in the store", f"delete the old key {K1}"]
    # intent before create, secret as pending right after, then the verified record promoted in one step
    assert store.ops("write_pending", "promote") == [("write_pending", NAME)] * 2 + [("promote", NAME)]
    assert stages(store) == (K2, None, K1)
    current = store.read(NAME).current
    assert current["secret_access_key"] == "secret-new"
    assert current["arn"] == f"arn:aws:iam::{ACCOUNT}:user/{USER}" and current["user_id"] == "AIDAALICE"
    assert "run_id" not in current and "intent" not in current
    # CreateAccessKey goes through the no-retry client; STS verifies with the new key
    assert ("iam", None, False) in aws.asked and ("sts", K2, True) in aws.asked
    assert events(audit_path) == ["access_key_rotated"]
    assert "secret" not in open(audit_path).read().replace("secret_", "")


def test_retire_deactivate_sets_the_old_key_inactive(make, aws, store):
    store.seed(NAME, current=cred(K1))
    aws.list_keys(USER, (K1, "Active", days_ago(100))).create(USER, K2, "s").set_status(USER, K1, "Inactive")
    aws.identity(USER, times=2)
    result = make(retire="deactivate").run()
    aws.done()
    assert result["plan"][-1] == f"deactivate the old key {K1}" and result["action"] == "rotated"
    assert stages(store) == (K2, None, K1)


@pytest.mark.parametrize("seed, listed, policy, reason", [
    (None, [], {}, "no stored credential"),
    ({"access_key_id": K1}, [], {}, "no stored credential"),
    (cred(K1), [(K0, "Active", days_ago(1))], {}, f"the stored key {K1} no longer exists in IAM"),
    (cred(K1), [(K1, "Inactive", days_ago(1))], {}, f"the stored key {K1} is Inactive in IAM"),
    (cred(K1), [(K1, "Active", days_ago(1))], {"force": True}, "forced"),
    (cred(K1), [(K1, "Active", days_ago(5))], {"max_age_days": 5}, "the key is 5 days old (max_age_days 5)"),
])
def test_due_reasons_in_check_mode(make, aws, store, audit_path, seed, listed, policy, reason):
    if seed is not None:
        store.seed(NAME, current=seed)
    aws.list_keys(USER, *listed)
    result = make(check_mode=True, unmanaged_keys="delete", **policy).run()
    aws.done()
    assert result["action"] == "rotated" and result["changed"] is True and result["new_key_id"] is None
    assert result["reason"] == reason
    assert store.ops("write_pending", "promote", "discard_pending", "lease") == []
    assert events(audit_path) == []


def test_due_when_invalid_checks_the_stored_credential(make, aws, store):
    store.seed(NAME, current=cred(K1))
    aws.list_keys(USER, (K1, "Active", days_ago(400))).identity(USER)
    result = make(due_when="invalid").run()
    aws.done()
    assert (result["action"], result["reason"]) == ("skipped", "the stored credential authenticates")
    assert ("sts", K1, True) in aws.asked


def test_due_when_invalid_and_refused_reconciles(make, aws, store):
    store.seed(NAME, current=cred(K1))
    aws.list_keys(USER, (K1, "Active", days_ago(1))).refused()
    result = make(due_when="invalid", check_mode=True).run()
    aws.done()
    assert result["action"] == "rotated"
    assert result["reason"].startswith("the stored credential does not authenticate: STS refused the key (InvalidClientTokenId)")


# -- make room (ranking) ----------------------------------------------------------

A, I = "Active", "Inactive"


PREV = "the store's previous key"
ROOM = "to make room under the 2-key limit"


@pytest.mark.parametrize("current, previous, listed, mode, before, later, planned", [
    # one key: nothing to remove
    (K1, None, [(K1, A)], "fail", [], [], []),
    # the store's previous key goes first, whatever its status
    (K1, K0, [(K0, A), (K1, A)], "fail", [(K0, "delete")], [], [f"delete key {K0} ({PREV}) {ROOM}"]),
    (K1, K0, [(K1, A), (K0, I)], "fail", [(K0, "delete")], [], [f"delete key {K0} ({PREV}) {ROOM}"]),
    # an Inactive key that is not current beats an Inactive current key
    (K1, None, [(K1, I), (K3, I)], "fail", [(K3, "delete")], [], [f"delete key {K3} (Inactive) {ROOM}"]),
    (K1, None, [(K1, A), (K3, I)], "fail", [(K3, "delete")], [], [f"delete key {K3} (Inactive) {ROOM}"]),
    # an Inactive current key is ours to remove when it is the only candidate; the unmanaged Active key is
    # retired only after the new key verifies (issue 11: it may be the key an application uses)
    (K1, None, [(K1, I), (K2, A)], "delete", [(K1, "delete")], [(K2, "delete")], [f"delete key {K1} (Inactive) {ROOM}"]),
    (None, None, [(K2, I), (K3, I)], "fail", [(K2, "delete")], [], [f"delete key {K2} (Inactive) {ROOM}"]),
    # unmanaged Active keys: with no other way under the limit, delete frees the slot before the create (the oldest: listed
    # keys are made older the later they are listed)
    (K1, None, [(K1, A), (K2, A)], "delete", [(K2, "delete")], [],
     [f"delete the unmanaged Active key {K2} before creating the new key (no other way under the 2-key limit)"]),
    (None, None, [(K2, A), (K3, A)], "delete", [(K3, "delete")], [(K2, "delete")],
     [f"delete the unmanaged Active key {K3} before creating the new key (no other way under the 2-key limit)"]),
    # deactivate keeps an unknown key in its slot until the new key verifies; an Inactive one makes room
    (K1, None, [(K3, I), (K2, A)], "deactivate", [(K3, "delete")], [(K2, "deactivate")], [f"delete key {K3} (Inactive) {ROOM}"]),
    # with room, an unmanaged Active key is never touched before the new key verifies
    (None, None, [(K2, A)], "delete", [], [(K2, "delete")], []),
])
def test_make_room_ranking(make, current, previous, listed, mode, before, later, planned):
    rotation = make(unmanaged_keys=mode)
    staged = StagedRecord(cred(current) if current else None, None, cred(previous) if previous else None)
    keys = [IamKey(kid, status, days_ago(30 + n)) for n, (kid, status) in enumerate(listed)]
    assert rotation._make_room(staged, keys) == (before, later)
    assert rotation.plan == planned


def test_make_room_passes_over_a_previous_key_in_its_grace_period(make):
    """A previous key still within retire_after (or in use) is never removed to make room: an Inactive key is
    taken instead, and with none the due rotation is postponed (the user's result says why)."""
    rotation = make()
    rotation.retirement = Retirement(K0, "waiting", f"the old key {K0} stays Active until later")
    staged = StagedRecord(cred(K1), None, cred(K0))
    assert rotation._make_room(staged, [IamKey(K0, A, days_ago(1)), IamKey(K3, I, days_ago(30))]) == ([(K3, "delete")], [])
    rotation = make()
    rotation.retirement = Retirement(K0, "in_use", f"the old key {K0} is still in use")
    rotation.result["reason"] = "forced"
    with pytest.raises(Postponed) as caught:
        rotation._make_room(staged, [IamKey(K0, A, days_ago(1)), IamKey(K1, A, days_ago(30))])
    assert caught.value.msg == (f"rotation due (forced) but postponed: the old key {K0} is still in use, and it fills "
                                "the second key slot; a run after its retirement rotates")
    assert rotation.result["retirement"]["state"] == "in_use" and rotation.plan == []


@pytest.mark.parametrize("listed, mode, message", [
    ([(K1, A), (K2, A)], "fail", f"{USER} has an Active access key {K2} that the store ({NAME}) does not know; "
                                 "it is never deleted silently"),
    ([(K1, A), (K2, A)], "deactivate", f"{USER} already has 2 access keys ({K1} (Active), {K2} (Active)) and "
                                       "unmanaged_keys: deactivate cannot make room: an Inactive key still counts "
                                       "toward the limit; nothing was changed"),
])
def test_make_room_refuses_what_is_not_provably_ours(make, listed, mode, message):
    rotation = make(unmanaged_keys=mode)
    keys = [IamKey(kid, status, days_ago(30)) for kid, status in listed]
    with pytest.raises(UserFailed) as caught:
        rotation._make_room(StagedRecord(cred(K1), None, None), keys)
    assert caught.value.msg.startswith(message)


def test_unmanaged_active_key_fails_the_user_without_any_change(make, aws, store, audit_path):
    store.seed(NAME, current=cred(K1))
    aws.list_keys(USER, (K1, "Active", days_ago(100)), (K2, "Active", days_ago(3)))
    result = make().run()
    aws.done()
    assert result["action"] == "failed" and "never deleted silently" in result["reason"]
    assert store.ops("write_pending") == [] and stages(store) == (K1, None, None)
    assert events(audit_path) == ["access_key_rotation_failed"]


def test_make_room_deletes_then_records_the_keys_it_knows(make, aws, store):
    store.seed(NAME, current=cred(K1), previous=cred(K0))
    aws.list_keys(USER, (K0, "Inactive", days_ago(200)), (K1, "Active", days_ago(100)))
    aws.delete(USER, K0).list_keys(USER, (K1, "Active", days_ago(100)))
    aws.create(USER, K2, "s").identity(USER, times=2).delete(USER, K1)
    pending_seen = []
    original = store.write_pending
    store.write_pending = lambda name, record: (pending_seen.append(dict(record)), original(name, record))[1]
    result = make().run()
    aws.done()
    assert result["action"] == "rotated"
    assert pending_seen[0]["intent"] is True and pending_seen[0]["known_key_ids"] == [K1]
    assert pending_seen[0]["run_id"] == RUN
    assert stages(store) == (K2, None, K1)


def test_unmanaged_key_deactivated_then_rotation(make, aws, store):
    """The stored key is gone from IAM; the user has an unknown Active key and an Inactive one. The Inactive key
    makes room, the new key is created and verified, and only then is the unknown key set Inactive. Check mode
    plans exactly what the real run does."""
    store.seed(NAME, current=cred(K1))
    listed = [(K3, "Inactive", days_ago(100)), (K2, "Active", days_ago(1))]
    aws.list_keys(USER, *listed)
    planned = make(check_mode=True, unmanaged_keys="deactivate").run()
    aws.done()
    aws.list_keys(USER, *listed).delete(USER, K3).list_keys(USER, (K2, "Active", days_ago(1)))
    aws.create(USER, K0, "s").identity(USER, times=2).set_status(USER, K2, "Inactive")
    result = make(unmanaged_keys="deactivate").run()
    aws.done()
    assert result["action"] == "rotated" and result["new_key_id"] == K0 and result["old_key_id"] is None
    assert result["reason"] == f"the stored key {K1} no longer exists in IAM"
    assert result["plan"] == planned["plan"] == [
        f"delete key {K3} (Inactive) to make room under the 2-key limit",
        "create a new access key, store it as pending, verify it with STS",
        "promote the new key to current in the store",
        f"deactivate the unmanaged Active key {K2} (after the new key is verified)"]
    assert result["removed_key_ids"] == [K3]
    assert result["unmanaged_retired"] == [{"key_id": K2, "action": "deactivate"}]
    assert stages(store) == (K0, None, K1)


# -- failures during the change -------------------------------------------------------

def test_unanswered_create_removes_the_unseen_key_and_the_intent(make, aws, store, audit_path):
    store.seed(NAME, current=cred(K1))
    aws.list_keys(USER, (K1, "Active", days_ago(100))).create_error(USER, "InternalFailure")
    aws.list_keys(USER, (K1, "Active", days_ago(100)), (K2, "Active", NOW)).delete(USER, K2)
    result = make().run()
    aws.done()
    assert result["action"] == "failed"
    assert result["reason"] == (f"no clear answer to CreateAccessKey for {USER} (InternalFailure); any key it created "
                                f"was removed; the stored key {K1} was kept")
    assert result["recovered_orphans"] == [K2]
    assert store.read(NAME) == StagedRecord(cred(K1), None, None)
    assert events(audit_path) == ["access_key_rotation_failed"]


def test_refused_create_leaves_the_intent_for_the_next_run(make, aws, store):
    store.seed(NAME, current=cred(K1))
    aws.list_keys(USER, (K1, "Active", days_ago(100))).create_error(USER, "LimitExceeded", 409)
    result = make().run()
    aws.done()
    assert result["action"] == "failed" and "LimitExceeded" in result["reason"]
    pending = store.read(NAME).pending
    assert pending["intent"] is True and pending["known_key_ids"] == [K1]


def test_store_failure_after_create_deletes_the_new_key(make, aws, store):
    store.seed(NAME, current=cred(K1))
    store.fail("write_pending", nth=2)  # the intent is written, the new secret is not
    aws.list_keys(USER, (K1, "Active", days_ago(100))).create(USER, K2, "s").delete(USER, K2)
    result = make().run()
    aws.done()
    assert result["action"] == "failed"
    assert result["reason"].startswith(f"could not store the new key (it was deleted again; the stored key {K1} was kept): "
                                       f"injected write_pending failure on {NAME}")
    assert store.read(NAME) == StagedRecord(cred(K1), None, None)


def test_store_failure_and_failed_cleanup_still_reports_the_store_error(make, aws, store):
    store.seed(NAME, current=cred(K1))
    store.fail("write_pending", nth=2)
    store.fail("discard_pending", nth=1)
    aws.list_keys(USER, (K1, "Active", days_ago(100))).create(USER, K2, "s").delete(USER, K2)
    result = make().run()
    aws.done()
    assert result["action"] == "failed" and "could not store the new key" in result["reason"]
    assert store.read(NAME).pending["intent"] is True  # the next run recovers from the intent


@pytest.mark.parametrize("stub, reason", [
    (lambda aws: aws.refused(), "STS refused the key (InvalidClientTokenId) after 1 attempt(s) within 0s"),
    (lambda aws: aws.identity("mallory"), f"the key authenticates as arn:aws:iam::{ACCOUNT}:user/mallory, not as {USER}"),
    (lambda aws: aws.identity(USER, account="210987654321"), "not as alice in account 123456789012 (aws)"),
    (lambda aws: aws.identity(USER, partition="aws-cn"), "not as alice in account 123456789012 (aws)"),
])
def test_new_key_that_does_not_verify_is_deleted(make, aws, store, audit_path, stub, reason):
    store.seed(NAME, current=cred(K1))
    aws.list_keys(USER, (K1, "Active", days_ago(100))).create(USER, K2, "s")
    stub(aws)
    aws.delete(USER, K2)
    result = make(verify_timeout=0).run()
    aws.done()
    assert result["action"] == "failed" and result["new_key_id"] is None
    assert result["reason"].startswith("the new key did not verify (") and reason in result["reason"]
    assert result["reason"].endswith(f"it was deleted; the stored key {K1} was kept")
    assert store.read(NAME) == StagedRecord(cred(K1), None, None)


def test_confirm_retired_reports_refusal(make, aws, store):
    store.seed(NAME, current=cred(K1))
    aws.list_keys(USER, (K1, "Active", days_ago(100))).create(USER, K2, "s").identity(USER, times=2)
    aws.delete(USER, K1).refused()
    result = make(confirm_retired=True).run()
    aws.done()
    assert result["old_key_refused"] is True and "warnings" not in result
    assert ("sts", K1, True) in aws.asked


def test_confirm_retired_warns_when_the_old_key_still_works(make, aws, store):
    store.seed(NAME, current=cred(K1))
    aws.list_keys(USER, (K1, "Active", days_ago(100))).create(USER, K2, "s").identity(USER, times=2)
    aws.set_status(USER, K1, "Inactive").identity(USER)
    result = make(confirm_retired=True, retire="deactivate", verify_timeout=0).run()
    aws.done()
    assert result["old_key_refused"] is False
    assert result["warnings"] == [f"the retired key {K1} still authenticated after 0s"]


def test_self_rotate_acts_with_the_stored_key_and_retires_with_the_new_one(make, aws, store):
    store.seed(NAME, current=cred(K1))
    aws.list_keys(USER, (K1, "Active", days_ago(100))).create(USER, K2, "s").identity(USER, times=2).delete(USER, K1)
    result = make(self_rotate=True).run()
    aws.done()
    assert result["action"] == "rotated"
    iam_identities = [who for service, who, _retries in aws.asked if service == "iam"]
    assert iam_identities[0] == K1 and iam_identities[-1] == K2  # list with the old key, delete it with the new one


def test_self_rotate_without_a_stored_credential_fails_clearly(make, aws, store):
    result = make(self_rotate=True).run()
    aws.done()
    assert result["action"] == "failed"
    assert result["reason"].startswith(f"self_rotate needs a stored credential for {USER} in {NAME}; there is none")


def test_unreadable_store_fails_the_user_cleanly(make, aws, store, audit_path):
    store.fail("read")
    result = make().run()
    aws.done()
    assert result["action"] == "failed" and result["reason"] == f"injected read failure on {NAME}"
    assert events(audit_path) == ["access_key_rotation_failed"]


# -- crash recovery (_recover) -------------------------------------------------------

def test_recover_finishes_a_promotion_and_retires_the_previous_key(make, aws, store, audit_path):
    new = cred(K2)
    store.seed(NAME, current=new, pending=dict(new), previous=cred(K1))  # one version labelled both
    aws.list_keys(USER, (K1, "Active", days_ago(100)), (K2, "Active", days_ago(0)))
    aws.list_keys(USER, (K1, "Active", days_ago(100)), (K2, "Active", days_ago(0))).delete(USER, K1)
    result = make().run()
    aws.done()
    assert result["plan"] == [f"finish promoting key {K2} (an interrupted run promoted it)",
                              f"retire the previous key {K1} (delete)"]
    assert result["action"] == "skipped" and result["changed"] is True
    assert store.ops("promote") == [("promote", NAME)]
    assert stages(store) == (K2, None, K1)
    assert events(audit_path) == ["access_key_retired"]


def test_recover_finish_promotion_in_check_mode_changes_nothing(make, aws, store, audit_path):
    new = cred(K2)
    store.seed(NAME, current=new, pending=dict(new), previous=cred(K1))  # one version labelled both
    aws.list_keys(USER, (K1, "Active", days_ago(100)), (K2, "Active", days_ago(0)))
    result = make(check_mode=True).run()
    aws.done()
    assert result["plan"] == [f"finish promoting key {K2} (an interrupted run promoted it)",
                              f"retire the previous key {K1} (delete)"]
    assert result["changed"] is True and store.ops("promote", "write_pending", "lease") == []
    assert events(audit_path) == []


@pytest.mark.parametrize("old_in_iam", [True, False])
def test_recover_verifies_and_promotes_a_pending_key(make, aws, store, audit_path, old_in_iam):
    store.seed(NAME, current=cred(K1), pending=cred(K2, run_id="run-crashed"))
    listed = [(K1, "Active", days_ago(100))] if old_in_iam else []
    aws.list_keys(USER, *listed, (K2, "Active", days_ago(0))).identity(USER, times=2)
    if old_in_iam:
        aws.delete(USER, K1)
    result = make().run()
    aws.done()
    assert (result["action"], result["reason"]) == ("rotated", "resumed an interrupted rotation")
    assert (result["old_key_id"], result["new_key_id"]) == (K1, K2)
    assert result["plan"] == [f"verify and promote key {K2} left pending by an interrupted run"]
    assert stages(store) == (K2, None, K1)
    assert "run_id" not in store.read(NAME).current
    assert events(audit_path) == ["access_key_rotated"]


def test_recover_pending_key_in_check_mode_reports_the_resume(make, aws, store):
    store.seed(NAME, current=cred(K1), pending=cred(K2, run_id="run-crashed"))
    aws.list_keys(USER, (K1, "Active", days_ago(100)), (K2, "Active", days_ago(0)))
    result = make(check_mode=True).run()
    aws.done()
    assert (result["action"], result["reason"], result["new_key_id"]) == ("rotated", "resume an interrupted rotation", K2)
    assert stages(store) == (K1, K2, None)


def test_recover_deletes_a_pending_key_that_does_not_verify(make, aws, store):
    store.seed(NAME, current=cred(K1), pending=cred(K2, run_id="run-crashed"))
    aws.list_keys(USER, (K1, "Active", days_ago(10)), (K2, "Active", days_ago(0))).refused().delete(USER, K2)
    aws.list_keys(USER, (K1, "Active", days_ago(10)))
    result = make(verify_timeout=0).run()
    aws.done()
    assert result["plan"] == [f"verify and promote key {K2} left pending by an interrupted run",
                              f"(key {K2} did not verify and was deleted)"]
    assert result["action"] == "skipped" and result["changed"] is True  # a key and a pending record were removed
    assert stages(store) == (K1, None, None)


def test_recover_removes_the_orphan_of_a_lost_create_response(make, aws, store, audit_path):
    started = days_ago(0.01)
    store.seed(NAME, current=cred(K1), pending=intent([K1], started))
    orphan_created = started + datetime.timedelta(seconds=2)
    aws.list_keys(USER, (K1, "Active", days_ago(100)), (K2, "Active", orphan_created)).delete(USER, K2)
    aws.list_keys(USER, (K1, "Active", days_ago(100))).create(USER, K3, "s").identity(USER, times=2).delete(USER, K1)
    result = make().run()
    aws.done()
    assert result["recovered_orphans"] == [K2]
    assert result["plan"][:2] == [f"delete orphan key {K2} created by an interrupted run",
                                  "drop the interrupted run's pending record"]
    assert result["action"] == "rotated" and stages(store) == (K3, None, K1)
    assert events(audit_path) == ["access_key_orphans_removed", "access_key_rotated"]
    assert read_audit(audit_path)[0]["removed"] == [K2]


@pytest.mark.parametrize("pending, listed, orphans", [
    # a key older than the intent (beyond clock skew) was not created by the crashed run
    (intent([K1], days_ago(0.01)), [(K3, "Inactive", days_ago(1))], []),
    # within the clock skew it was
    (intent([K1], days_ago(0.01)), [(K3, "Inactive", days_ago(0.01) - datetime.timedelta(minutes=4))], [K3]),
    # keys the crashed run had listed before creating are never orphans
    (intent([K1, K3], days_ago(0.01)), [(K3, "Inactive", days_ago(0))], []),
    # no (or an unreadable) start time: only the recorded pending key id counts
    (dict(intent([K1]), started="yesterday"), [(K3, "Inactive", days_ago(0))], []),
    (dict(intent([K1]), started=None, access_key_id=K3), [(K3, "Inactive", days_ago(0))], [K3]),
    # a pending key id with a secret whose key is gone or Inactive: nothing to verify, drop it
    (cred(K3, run_id="run-crashed", started=None), [], []),
    (cred(K3, run_id="run-crashed", started=None), [(K3, "Inactive", days_ago(0))], [K3]),
])
def test_recover_orphan_rules(make, aws, store, pending, listed, orphans):
    store.seed(NAME, current=cred(K1), pending=pending)
    aws.list_keys(USER, (K1, "Active", days_ago(10)), *listed)
    for kid in orphans:
        aws.delete(USER, kid)
    remaining = [key for key in listed if key[0] not in orphans]
    aws.list_keys(USER, (K1, "Active", days_ago(10)), *remaining)
    result = make().run()
    aws.done()
    assert result["recovered_orphans"] == orphans
    assert result["action"] == "skipped" and result["changed"] is True
    assert store.read(NAME).pending is None


def test_recover_orphans_in_check_mode_plans_on_the_cleaned_state(make, aws, store):
    started = days_ago(0.01)
    store.seed(NAME, current=cred(K1), pending=intent([K1], started))
    aws.list_keys(USER, (K1, "Active", days_ago(100)), (K2, "Active", started + datetime.timedelta(seconds=1)))
    result = make(check_mode=True).run()
    aws.done()
    assert result["recovered_orphans"] == [K2]
    # K2 is gone in the cleaned state, so no unmanaged-key failure and no make-room step
    assert result["action"] == "rotated" and result["plan"] == [
        f"delete orphan key {K2} created by an interrupted run", "drop the interrupted run's pending record",
        "create a new access key, store it as pending, verify it with STS",
        "promote the new key to current in the store", f"delete the old key {K1}"]
    assert store.read(NAME).pending["intent"] is True


def test_pending_of_this_run_is_not_recovered(make, aws, store):
    store.seed(NAME, current=cred(K1), pending=intent([K1], run_id=RUN))
    aws.list_keys(USER, (K1, "Active", days_ago(10)))
    result = make().run()
    aws.done()
    assert result["action"] == "skipped" and result["changed"] is False and "recovered_orphans" not in result


# -- finishing an interrupted retire (_finish_retire) ----------------------------------

@pytest.mark.parametrize("previous, listed, retire, call", [
    (None, [], "delete", None),                                      # nothing retired before
    (K1, [(K1, "Active")], "delete", None),                          # previous == current (bookkeeping only)
    (K0, [], "delete", None),                                        # already deleted
    (K0, [(K0, "Inactive")], "deactivate", None),                    # already deactivated
    (K0, [(K0, "Inactive")], "delete", ("delete", K0)),              # deactivated, policy now deletes
    (K0, [(K0, "Active")], "delete", ("delete", K0)),
    (K0, [(K0, "Active")], "deactivate", ("set_status", K0)),
])
def test_finish_retire_branches(make, aws, store, audit_path, previous, listed, retire, call):
    store.seed(NAME, current=cred(K1), previous=cred(previous) if previous else None)
    keys = [(kid, status, days_ago(50)) for kid, status in listed]
    if not any(kid == K1 for kid, _status in listed):
        keys.append((K1, "Active", days_ago(5)))
    aws.list_keys(USER, *keys)
    if call:
        getattr(aws, call[0])(USER, call[1])
    result = make(retire=retire).run()
    aws.done()
    assert result["action"] == "skipped"
    assert result["changed"] is bool(call)
    assert events(audit_path) == (["access_key_retired"] if call else [])
    if call:
        assert result["plan"] == [f"retire the previous key {K0} ({'delete' if retire == 'delete' else 'deactivate'})"]
        assert result["retired_key_id"] == K0 and result["retirement"]["state"] == "retired"
        assert read_audit(audit_path)[0]["retired_key_id"] == K0


def test_finish_retire_in_check_mode_only_plans(make, aws, store):
    store.seed(NAME, current=cred(K1), previous=cred(K0))
    aws.list_keys(USER, (K0, "Active", days_ago(50)), (K1, "Active", days_ago(5)))
    result = make(check_mode=True).run()
    aws.done()
    assert result["changed"] is True and result["plan"] == [f"retire the previous key {K0} (delete)"]
    assert result["retirement"]["state"] == "ready" and "retired_key_id" not in result


def test_a_previous_key_in_its_grace_period_is_only_reported_in_check_mode(make, aws, store, audit_path):
    """Check mode shows a pending retirement exactly as a real run would, and writes no audit event."""
    cut_over = NOW - datetime.timedelta(minutes=10)
    store.seed(NAME, current=cred(K1, retiring={"access_key_id": K0, "cut_over": isoformat(cut_over),
                                                "keyturn_last_used": None}), previous=cred(K0))
    aws.list_keys(USER, (K0, "Active", days_ago(50)), (K1, "Active", days_ago(0)))
    result = make(check_mode=True, retire_after=3600).run()
    aws.done()
    until = isoformat(cut_over + datetime.timedelta(seconds=3600))
    reason = f"the old key {K0} stays Active until {until} (retire_after 3600s after the cut-over at {isoformat(cut_over)})"
    assert result["plan"] == [f"keep the previous key {K0} Active: {reason}"]
    assert result["changed"] is False and result["action"] == "skipped"
    assert result["retirement"] == {"key_id": K0, "state": "waiting", "reason": reason, "cut_over": isoformat(cut_over),
                                    "retire_at": until, "last_used": None}
    assert events(audit_path) == [] and store.ops("lease", "write_pending", "promote") == []


def test_judging_retire_when_idle_without_the_last_use_is_a_programming_error():
    with pytest.raises(KeyturnError, match=f"the last use of {K0} is needed to judge retire_when_idle"):
        judge_retirement(K0, Policy(retire_when_idle=60), NOW, None, None, None)


# -- leases ------------------------------------------------------------------------

def test_the_lease_is_held_with_the_run_owner_and_released(make, aws, store):
    store.seed(NAME, current=cred(K1))
    seen = []
    aws.list_keys(USER, (K1, "Active", days_ago(1)))
    original = store.read
    store.read = lambda name: (seen.append(dict(store.leases.get(name) or {})), original(name))[1]
    make().run()
    assert seen[0]["owner"] == lease_owner(RUN)
    assert lease_owner(RUN).split(":") == [socket.gethostname(), str(__import__("os").getpid()), RUN]
    assert store.leases == {}


def test_a_live_lease_of_another_run_fails_the_user(make, aws, store):
    store.leases[NAME] = {"owner": "other-host:1:run-x", "expires": 1e12}
    result = make(lock_timeout=0).run()
    aws.done()
    assert result["action"] == "failed"
    assert result["reason"] == (f"another run holds the lock on {NAME} (waited 0s); try again when it has finished")
    assert store.leases[NAME]["owner"] == "other-host:1:run-x"


@pytest.mark.parametrize("lease", [
    {"owner": "other-host:1:run-x", "expires": 1.0},                              # expired
    {"owner": "%s:%d:run-x" % (socket.gethostname(), dead_pid()), "expires": 1e12},  # its process is gone
])
def test_a_dead_or_expired_lease_is_taken_over(make, aws, store, lease):
    store.leases[NAME] = lease
    store.seed(NAME, current=cred(K1))
    aws.list_keys(USER, (K1, "Active", days_ago(1)))
    result = make().run()
    aws.done()
    assert result["action"] == "skipped"
    assert store.leases == {}


def test_waiting_for_a_lease_retries_until_it_is_free(make, aws, store, sleeper):
    store.leases[NAME] = {"owner": "other-host:1:run-x", "expires": 1e12}
    store.seed(NAME, current=cred(K1))
    sleeper.hook = lambda: store.leases.pop(NAME, None) if len(sleeper.waits) == 2 else None
    aws.list_keys(USER, (K1, "Active", days_ago(1)))
    result = make(lock_timeout=60).run()
    aws.done()
    assert result["action"] == "skipped" and sleeper.waits == [1.0, 1.0]


def test_first_key_of_a_user_without_any_needs_no_retire(make, aws, store, audit_path):
    aws.list_keys(USER).create(USER, K2, "s").identity(USER, times=2)
    result = make().run()
    aws.done()
    assert (result["action"], result["old_key_id"], result["new_key_id"]) == ("rotated", None, K2)
    assert result["plan"] == ["create a new access key, store it as pending, verify it with STS",
                              "promote the new key to current in the store"]
    assert stages(store) == (K2, None, None)
    assert events(audit_path) == ["access_key_rotated"]


def test_an_inactive_current_key_removed_to_make_room_is_not_retired_again(make, aws, store):
    store.seed(NAME, current=cred(K1))
    aws.list_keys(USER, (K1, "Inactive", days_ago(10)), (K2, "Active", days_ago(3)))
    aws.delete(USER, K1).list_keys(USER, (K2, "Active", days_ago(3)))
    aws.create(USER, K3, "s").identity(USER, times=2).set_status(USER, K2, "Inactive")
    result = make(unmanaged_keys="deactivate").run()
    aws.done()
    assert (result["action"], result["old_key_id"], result["new_key_id"]) == ("rotated", K1, K3)
    assert result["plan"] == [f"delete key {K1} (Inactive) to make room under the 2-key limit",
                              "create a new access key, store it as pending, verify it with STS",
                              "promote the new key to current in the store",
                              f"deactivate the unmanaged Active key {K2} (after the new key is verified)"]
    assert "retired_key_id" not in result and result["removed_key_ids"] == [K1]


def test_a_failed_verification_says_exactly_what_was_removed_and_kept(make, aws, store, audit_path):
    """Issue 11: the message matches what happened. The Inactive stored key was deleted to make room (it is not
    "kept"), and the unknown Active key, retired only after a verified cut-over, is untouched."""
    store.seed(NAME, current=cred(K1))
    aws.list_keys(USER, (K1, "Inactive", days_ago(10)), (K2, "Active", days_ago(3)))
    aws.delete(USER, K1).list_keys(USER, (K2, "Active", days_ago(3)))
    aws.create(USER, K3, "s").refused().delete(USER, K3)
    result = make(unmanaged_keys="deactivate", verify_timeout=0).run()
    aws.done()
    assert result["action"] == "failed" and result["new_key_id"] is None
    assert result["reason"] == ("the new key did not verify (STS refused the key (InvalidClientTokenId) after 1 "
                                f"attempt(s) within 0s); it was deleted; key {K1} had been deleted to make room; the "
                                f"unmanaged key {K2} was left untouched")
    assert "unmanaged_retired" not in result
    assert store.read(NAME) == StagedRecord(cred(K1), None, None)
    assert events(audit_path) == ["access_key_rotation_failed"]


def test_a_failure_in_check_mode_writes_no_audit_event(make, aws, store, audit_path):
    store.seed(NAME, current=cred(K1))
    aws.list_keys(USER, (K1, "Active", days_ago(100)), (K2, "Active", days_ago(3)))
    result = make(check_mode=True).run()
    aws.done()
    assert result["action"] == "failed" and events(audit_path) == []


def test_waiting_lease_retries_only_the_taking_of_the_lease(store, sleeper):
    from ansible_collections.keyturn.aws.plugins.module_utils._store_base import LeaseTimeout, StoreLocked, waiting_lease

    store.leases[NAME] = {"owner": "other-host:1:run-x", "expires": 1e12}
    ticks = iter(range(100))
    with pytest.raises(LeaseTimeout) as caught:
        with waiting_lease(store, NAME, RUN, 60, 2.5, sleep=sleeper, clock=lambda: float(next(ticks))):
            raise AssertionError("never entered")
    assert caught.value.msg == f"another run holds the lock on {NAME} (waited 2.5s); try again when it has finished"
    assert sleeper.waits == [1.0, 1.0]
    del store.leases[NAME]
    with pytest.raises(StoreLocked):  # an error of the block is not a reason to wait
        with waiting_lease(store, NAME, RUN, 60, 30, what="pair x", sleep=sleeper):
            assert store.leases[NAME]["owner"] == lease_owner(RUN)
            raise StoreLocked("raised inside")
    assert sleeper.waits == [1.0, 1.0] and store.leases == {}
