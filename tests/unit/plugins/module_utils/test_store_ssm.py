# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SsmStore specifics (the shared contract is in test_stores.py)."""

from __future__ import annotations

import json
import typing as t

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from ansible_collections.keyturn.aws.plugins.module_utils import _store_ssm
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import EMPTY, StagedRecord, StoreError, StoreLocked
from ansible_collections.keyturn.aws.plugins.module_utils._store_ssm import SsmStore

REGION = "us-east-1"
NAME = "123456789012/alice"
PARAM = "/keyturn/" + NAME
OLD = {"access_key_id": "AKIAOLD", "secret_access_key": "old-secret-value-1"}
NEW = {"access_key_id": "AKIANEW", "secret_access_key": "new-secret-value-2"}


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> t.Iterator[t.Any]:
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield boto3.client("ssm", region_name=REGION)


@pytest.fixture
def store(client: t.Any) -> SsmStore:
    return SsmStore(client)


def calls_of(client: t.Any, operation: str) -> t.List[dict]:
    seen: t.List[dict] = []

    def hook(params: dict, **_kwargs: t.Any) -> None:
        seen.append(dict(params))

    client.meta.events.register("provide-client-params.ssm.%s" % operation, hook)
    return seen


def tier(client: t.Any, name: str = PARAM) -> str:
    found = client.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"]
    return found[0]["Tier"]


def test_store_ssm_one_securestring_parameter_per_record(store: SsmStore, client: t.Any) -> None:
    store.write_current(NAME, OLD)
    store.write_pending(NAME, NEW)
    parameter = client.get_parameter(Name=PARAM, WithDecryption=True)["Parameter"]
    assert parameter["Type"] == "SecureString"
    assert json.loads(parameter["Value"]) == {"format": 1, "current": OLD, "pending": NEW, "previous": None}
    raw = client.get_parameter(Name=PARAM, WithDecryption=False)["Parameter"]["Value"]
    assert raw != parameter["Value"]  # stored encrypted (moto only marks it, AWS really encrypts)
    assert tier(client) == "Standard"


def test_store_ssm_reads_decrypt(store: SsmStore, client: t.Any) -> None:
    gets = calls_of(client, "GetParameter")
    store.write_current(NAME, OLD)
    store.read(NAME)
    assert gets and all(call["WithDecryption"] is True for call in gets)


def test_store_ssm_each_change_is_one_put(store: SsmStore, client: t.Any) -> None:
    store.write_current(NAME, OLD)
    store.write_pending(NAME, NEW)
    puts = calls_of(client, "PutParameter")
    store.promote(NAME)
    assert len(puts) == 1 and puts[0]["Overwrite"] is True


def test_store_ssm_crash_during_promote_leaves_old_state(store: SsmStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.write_current(NAME, OLD)
    store.write_pending(NAME, NEW)
    stub = Stubber(store.client)
    stub.add_response(
        "get_parameter",
        {"Parameter": {"Name": PARAM, "Type": "SecureString", "Version": 2,
                       "Value": json.dumps({"format": 1, "current": OLD, "pending": NEW, "previous": None})}},
    )
    stub.add_client_error("put_parameter", "InternalServerError", "boom", http_status_code=500)
    with stub, pytest.raises(StoreError, match="InternalServerError"):
        store.promote(NAME)
    assert store.read(NAME) == StagedRecord(OLD, NEW, None)
    store.promote(NAME)
    assert store.read(NAME) == StagedRecord(NEW, None, OLD)


def test_store_ssm_discarding_the_only_stage_deletes_the_parameter(store: SsmStore, client: t.Any) -> None:
    store.write_pending(NAME, NEW)
    store.discard_pending(NAME)
    assert store.read(NAME) == EMPTY
    assert client.get_parameters_by_path(Path="/keyturn", Recursive=True)["Parameters"] == []


def test_store_ssm_advanced_tier_for_large_records(store: SsmStore, client: t.Any) -> None:
    big = {"blob": "x" * 5000}
    store.write_current(NAME, big)
    assert tier(client) == "Advanced"
    assert store.read(NAME).current == big
    # shrinking again stays readable (an advanced parameter may stay advanced)
    store.write_current(NAME, OLD, keep_previous=False)
    assert store.read(NAME) == StagedRecord(OLD, None, None)


def test_store_ssm_downgrade_refusal_retries_advanced(store: SsmStore, client: t.Any) -> None:
    stub = Stubber(client)
    stub.add_response("get_parameter", {"Parameter": {"Name": PARAM, "Type": "SecureString", "Version": 1,
                                                      "Value": json.dumps({"format": 1, "current": OLD})}})
    stub.add_client_error(
        "put_parameter", "ValidationException",
        "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter "
        "tier to the standard-parameter tier.",
    )
    stub.add_response("put_parameter", {"Version": 2, "Tier": "Advanced"})
    puts = calls_of(client, "PutParameter")
    with stub:
        store.write_current(NAME, NEW)
    assert [p["Tier"] for p in puts] == ["Standard", "Advanced"]


def test_store_ssm_too_large_record(store: SsmStore) -> None:
    with pytest.raises(StoreError) as info:
        store.write_current(NAME, {"blob": "secret-" + "y" * 9000})
    assert "at most 8192" in str(info.value) and "secret-yyy" not in str(info.value)
    assert store.read(NAME) == EMPTY


def test_store_ssm_kms_key(client: t.Any) -> None:
    puts = calls_of(client, "PutParameter")
    store = SsmStore(client, prefix="/sec/", kms_key_id="alias/aws/ssm")
    store.write_current(NAME, OLD)
    with store.lease(NAME, "a", 60):
        pass
    record_puts = [p for p in puts if not p["Name"].endswith(".lease")]
    lease_puts = [p for p in puts if p["Name"].endswith(".lease")]
    assert record_puts[0]["KeyId"] == "alias/aws/ssm" and record_puts[0]["Name"] == "/sec/" + NAME
    assert lease_puts[0]["Type"] == "String" and "KeyId" not in lease_puts[0] and lease_puts[0]["Overwrite"] is False


def test_store_ssm_names_paginates_and_skips_leases(store: SsmStore, client: t.Any) -> None:
    wanted = ["acct/user%02d" % i for i in range(23)]
    for name in wanted:
        store.write_current(name, OLD)
    client.put_parameter(Name="/keyturnish/x", Value="x", Type="String")
    client.put_parameter(Name="/other/keyturn/x", Value="x", Type="String")
    with store.lease("acct/user00", "a", 60):
        calls = calls_of(client, "GetParametersByPath")
        assert store.names() == wanted
    assert len(calls) >= 3  # SSM returns at most 10 per page
    assert calls[0]["Path"] == "/keyturn" and calls[0]["Recursive"] is True


def test_store_ssm_lease_parameter(store: SsmStore, client: t.Any) -> None:
    with store.lease(NAME, "run-1", 60):
        body = json.loads(client.get_parameter(Name=PARAM + ".lease")["Parameter"]["Value"])
        assert body["owner"] == "run-1"
    with pytest.raises(client.exceptions.ParameterNotFound):
        client.get_parameter(Name=PARAM + ".lease")


def test_store_ssm_lease_takeover_race_has_one_winner(
    store: SsmStore, client: t.Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lease = PARAM + ".lease"
    client.put_parameter(Name=lease, Value=json.dumps({"owner": "dead", "expires": 1}), Type="String")
    stale = store._get(lease, decrypt=False)
    with store.lease(NAME, "winner", 60):
        real_get = store._get
        served: t.List[bool] = []

        def stale_get(param: str, decrypt: bool = True) -> t.Any:
            if param == lease and not served:
                served.append(True)
                return stale
            return real_get(param, decrypt)

        monkeypatch.setattr(store, "_get", stale_get)
        with pytest.raises(StoreLocked) as info:
            with store.lease(NAME, "loser", 60):
                pytest.fail("both runs took over the expired lease")
        assert "winner" in str(info.value)
        monkeypatch.undo()
        # the loser put the winner's lease back
        assert json.loads(client.get_parameter(Name=lease)["Parameter"]["Value"])["owner"] == "winner"
    with pytest.raises(client.exceptions.ParameterNotFound):
        client.get_parameter(Name=lease)


@pytest.mark.parametrize("name", ["x+y", "a=b", "user@example.com"])
def test_store_ssm_rejects_names_ssm_cannot_hold(store: SsmStore, name: str) -> None:
    with pytest.raises(StoreError) as info:
        store.write_current(name, OLD)
    assert "SSM parameter names do not allow" in str(info.value)


@pytest.mark.parametrize("prefix", ["keyturn/", "/keyturn", "/a b/", "/aws/x/", "/ssm/", "/a//b/"])
def test_store_ssm_bad_prefix(client: t.Any, prefix: str) -> None:
    with pytest.raises(StoreError, match="prefix"):
        SsmStore(client, prefix=prefix)


def test_store_ssm_foreign_parameter_is_reported(store: SsmStore, client: t.Any) -> None:
    client.put_parameter(Name=PARAM, Value="hunter2-plain", Type="SecureString")
    with pytest.raises(StoreError) as info:
        store.read(NAME)
    assert "not a keyturn record" in str(info.value) and "hunter2" not in str(info.value)
    client.put_parameter(Name=PARAM, Value=json.dumps({"format": 1, "current": "hunter2"}), Type="SecureString",
                         Overwrite=True)
    with pytest.raises(StoreError) as info:
        store.read(NAME)
    assert "current stage" in str(info.value) and "hunter2" not in str(info.value)
    client.put_parameter(Name=PARAM, Value=json.dumps({"format": 9}), Type="SecureString", Overwrite=True)
    with pytest.raises(StoreError, match="newer keyturn.aws"):
        store.read(NAME)


def test_store_ssm_access_denied_names_the_permission(store: SsmStore) -> None:
    stub = Stubber(store.client)
    stub.add_client_error("get_parameter", "AccessDeniedException",
                          "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: ssm:GetParameter")
    with stub, pytest.raises(StoreError) as info:
        store.read(NAME)
    assert "AccessDeniedException" in str(info.value) and "ssm:GetParameter" in str(info.value)
    assert PARAM in str(info.value)


def test_store_ssm_error_messages_never_echo_values(store: SsmStore) -> None:
    stub = Stubber(store.client)
    stub.add_client_error("get_parameter", "ParameterNotFound", "not found")
    stub.add_client_error("put_parameter", "ValidationException",
                          "1 validation error detected: Value 'new-secret-value-2' at 'value' failed")
    with stub, pytest.raises(StoreError) as info:
        store.write_pending(NAME, NEW)
    assert "ValidationException" in str(info.value) and "new-secret-value-2" not in str(info.value)


def test_store_ssm_describe(store: SsmStore) -> None:
    assert store.describe() == "ssm store /keyturn/* in us-east-1"
    assert _store_ssm.STANDARD_MAX == 4096 and _store_ssm.ADVANCED_MAX == 8192


@pytest.mark.parametrize("prefix, message", [
    (5, "store.prefix 5 must start and end with '/' for an ssm store"),
    ("keyturn/", "store.prefix 'keyturn/' must start and end with '/' for an ssm store"),
    ("/a b/", "store.prefix '/a b/' is not a valid SSM parameter path"),
    ("/a//b/", "store.prefix '/a//b/' is not a valid SSM parameter path"),
    ("/SSM/x/", "store.prefix '/SSM/x/' must not begin with 'aws' or 'ssm'"),
    ("/" + "x" * 750 + "/", r"store.prefix is too long for a store of type ssm \(at most 749 characters\)"),
])
def test_store_ssm_prefix_rules_say_which_rule(client: t.Any, prefix: t.Any, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        SsmStore(client, prefix=prefix)


def test_store_ssm_longest_prefix_is_accepted(client: t.Any) -> None:
    assert SsmStore(client, prefix="/" + "x" * 747 + "/").prefix.endswith("x/")


# -- read_current: one GetParameter ------------------------------------------------


def _parameter(doc: t.Any) -> dict:
    return {"Parameter": {"Name": PARAM, "Type": "SecureString", "Value": json.dumps(doc), "Version": 3}}


CURRENT_PARAM = {"Name": PARAM, "WithDecryption": True}


def test_store_ssm_read_current_is_one_call(store: SsmStore) -> None:
    gets = calls_of(store.client, "GetParameter")
    stub = Stubber(store.client)
    stub.add_response("get_parameter", _parameter({"format": 1, "current": OLD, "pending": NEW, "previous": None}),
                      CURRENT_PARAM)
    with stub:
        assert store.read_current(NAME) == OLD
    stub.assert_no_pending_responses()
    assert gets == [CURRENT_PARAM]


def test_store_ssm_read_current_of_a_pending_only_record_is_none(store: SsmStore) -> None:
    stub = Stubber(store.client)
    stub.add_response("get_parameter", _parameter({"format": 1, "current": None, "pending": NEW, "previous": None}),
                      CURRENT_PARAM)
    with stub:
        assert store.read_current(NAME) is None
    stub.assert_no_pending_responses()


def test_store_ssm_read_current_of_a_missing_parameter_is_none(store: SsmStore) -> None:
    stub = Stubber(store.client)
    stub.add_client_error("get_parameter", "ParameterNotFound", "not found", expected_params=CURRENT_PARAM)
    with stub:
        assert store.read_current(NAME) is None
    stub.assert_no_pending_responses()


def test_store_ssm_read_current_checks_the_record_as_read(store: SsmStore) -> None:
    for doc in ({"format": 9}, {"format": 1, "current": "hunter2"}, {"format": 1, "current": OLD, "pending": ["x"]}):
        errors = []
        for read in (store.read_current, store.read):
            stub = Stubber(store.client)
            stub.add_response("get_parameter", _parameter(doc), CURRENT_PARAM)
            with stub, pytest.raises(StoreError) as info:
                read(NAME)
            errors.append(str(info.value))
        assert errors[0] == errors[1] and "hunter2" not in errors[0]


def test_store_ssm_read_current_matches_read_on_moto(store: SsmStore, client: t.Any) -> None:
    gets = calls_of(client, "GetParameter")
    store.write_current(NAME, OLD)
    store.write_pending(NAME, NEW)
    for state in (StagedRecord(OLD, NEW, None), None):
        if state is None:
            store.promote(NAME)
            state = StagedRecord(NEW, None, OLD)
        assert store.read(NAME) == state
        del gets[:]
        assert store.read_current(NAME) == state.current
        assert gets == [CURRENT_PARAM]
    client.delete_parameter(Name=PARAM)
    del gets[:]
    assert store.read_current(NAME) is None and gets == [CURRENT_PARAM]
    assert store.read(NAME) == EMPTY
