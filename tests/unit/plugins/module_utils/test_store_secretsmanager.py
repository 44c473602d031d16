# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SecretsManagerStore specifics (the shared contract is in test_stores.py)."""

from __future__ import annotations

import json
import typing as t

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError, ParamValidationError
from botocore.stub import Stubber
from moto import mock_aws

from ansible_collections.keyturn.aws.plugins.module_utils import _store_secretsmanager
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import EMPTY, StagedRecord, StoreError, StoreLocked
from ansible_collections.keyturn.aws.plugins.module_utils._store_secretsmanager import SecretsManagerStore

REGION = "us-east-1"
NAME = "123456789012/alice"
SID = "keyturn/" + NAME
OLD = {"access_key_id": "AKIAOLD", "secret_access_key": "old-secret-value-1"}
NEW = {"access_key_id": "AKIANEW", "secret_access_key": "new-secret-value-2"}
THIRD = {"access_key_id": "AKIATHIRD", "secret_access_key": "third-secret-value-3"}


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> t.Iterator[t.Any]:
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


@pytest.fixture
def store(client: t.Any) -> SecretsManagerStore:
    return SecretsManagerStore(client)


def calls_of(client: t.Any, operation: str) -> t.List[dict]:
    """Record the parameters of every ``operation`` call made through ``client``."""
    seen: t.List[dict] = []

    def hook(params: dict, **_kwargs: t.Any) -> None:
        seen.append(dict(params))

    client.meta.events.register("provide-client-params.secretsmanager.%s" % operation, hook)
    return seen


def stages(client: t.Any, secret_id: str = SID) -> t.Dict[str, t.List[str]]:
    return {k: sorted(v) for k, v in client.describe_secret(SecretId=secret_id)["VersionIdsToStages"].items() if v}


def test_store_sm_reads_always_name_the_version_stage(store: SecretsManagerStore, client: t.Any) -> None:
    gets = calls_of(client, "GetSecretValue")
    store.read(NAME)
    store.write_current(NAME, OLD)
    store.write_pending(NAME, NEW)
    store.read(NAME)
    store.promote(NAME)
    store.discard_pending(NAME)
    with store.lease(NAME, "a", 60):
        pass
    assert len(gets) > 5
    assert all(call.get("VersionStage") in ("AWSCURRENT", "AWSPENDING", "AWSPREVIOUS") for call in gets)
    assert all("VersionId" not in call for call in gets)


def test_store_sm_secret_layout(store: SecretsManagerStore, client: t.Any) -> None:
    store.write_current(NAME, OLD)
    # other consumers can read the record straight from AWSCURRENT
    value = client.get_secret_value(SecretId=SID, VersionStage="AWSCURRENT")["SecretString"]
    assert json.loads(value) == OLD
    store.write_pending(NAME, NEW)
    assert json.loads(client.get_secret_value(SecretId=SID, VersionStage="AWSPENDING")["SecretString"]) == NEW
    store.promote(NAME)
    assert sorted(sum(stages(client).values(), [])) == ["AWSCURRENT", "AWSPREVIOUS"]
    assert json.loads(client.get_secret_value(SecretId=SID, VersionStage="AWSPREVIOUS")["SecretString"]) == OLD


def test_store_sm_pending_only_record_is_never_current(store: SecretsManagerStore, client: t.Any) -> None:
    store.write_pending(NAME, NEW)
    assert store.read(NAME) == StagedRecord(None, NEW, None)
    current = client.get_secret_value(SecretId=SID, VersionStage="AWSCURRENT")
    assert json.loads(current["SecretString"]) == _store_secretsmanager.PLACEHOLDER
    assert "AWSPENDING" not in current["VersionStages"]


def test_store_sm_existing_secret_without_versions(store: SecretsManagerStore, client: t.Any) -> None:
    client.create_secret(Name=SID)  # created by hand, no value yet
    store.write_pending(NAME, NEW)
    assert store.read(NAME) == StagedRecord(None, NEW, None)
    store.promote(NAME)
    assert store.read(NAME) == StagedRecord(NEW, None, None)

    other = "123456789012/bob"
    client.create_secret(Name="keyturn/" + other)
    store.write_current(other, OLD)
    assert store.read(other) == StagedRecord(OLD, None, None)


def test_store_sm_half_promoted_state(store: SecretsManagerStore, client: t.Any) -> None:
    store.write_current(NAME, OLD)
    store.write_pending(NAME, NEW)
    pending = client.get_secret_value(SecretId=SID, VersionStage="AWSPENDING")["VersionId"]
    current = client.get_secret_value(SecretId=SID, VersionStage="AWSCURRENT")["VersionId"]
    client.update_secret_version_stage(
        SecretId=SID, VersionStage="AWSCURRENT", MoveToVersionId=pending, RemoveFromVersionId=current
    )
    assert store.read(NAME) == StagedRecord(NEW, NEW, OLD)
    store.promote(NAME)
    assert store.read(NAME) == StagedRecord(NEW, None, OLD)
    with pytest.raises(StoreError, match="nothing is pending"):
        store.promote(NAME)
    assert stages(client) == {pending: ["AWSCURRENT"], current: ["AWSPREVIOUS"]}


def test_store_sm_write_current_after_promote(store: SecretsManagerStore, client: t.Any) -> None:
    """write_current moves the AWSCURRENT label itself: correct on AWS and on moto."""
    store.write_current(NAME, OLD)
    store.write_pending(NAME, NEW)
    store.promote(NAME)
    third = {"seed": "third-secret"}
    store.write_current(NAME, third)
    assert store.read(NAME) == StagedRecord(third, None, NEW)
    labels = sum(stages(client).values(), [])
    assert labels.count("AWSCURRENT") == 1 and labels.count("AWSPREVIOUS") == 1
    assert "KEYTURN_STAGING" not in labels


def test_store_sm_kms_key_and_prefix(client: t.Any) -> None:
    creates = calls_of(client, "CreateSecret")
    store = SecretsManagerStore(client, prefix="security/creds/", kms_key_id="alias/aws/secretsmanager")
    store.write_pending(NAME, NEW)
    store.write_current("other", OLD)
    assert [c["Name"] for c in creates] == ["security/creds/" + NAME, "security/creds/other"]
    assert all(c["KmsKeyId"] == "alias/aws/secretsmanager" for c in creates)
    assert store.names() == [NAME, "other"]
    assert "security/creds/" in store.describe() and REGION in store.describe()


def test_store_sm_names_filters_prefix_and_paginates(store: SecretsManagerStore, client: t.Any) -> None:
    for i in range(105):
        client.create_secret(Name="keyturn/acct/user%03d" % i, SecretString="{}")
    client.create_secret(Name="keyturn-other/x", SecretString="{}")
    client.create_secret(Name="unrelated/keyturn/x", SecretString="{}")
    client.create_secret(Name="keyturn/acct/user000.lease", SecretString="{}")
    lists = calls_of(client, "ListSecrets")
    names = store.names()
    assert names == ["acct/user%03d" % i for i in range(105)]
    assert len(lists) >= 2  # paginated
    assert lists[0]["Filters"] == [{"Key": "name", "Values": ["keyturn/"]}]


def test_store_sm_delete_is_immediate(store: SecretsManagerStore, client: t.Any) -> None:
    deletes = calls_of(client, "DeleteSecret")
    store.write_current(NAME, OLD)
    store.delete(NAME)
    assert deletes == [{"SecretId": SID, "ForceDeleteWithoutRecovery": True}]
    assert store.names() == []
    store.write_current(NAME, NEW)
    assert store.read(NAME) == StagedRecord(NEW, None, None)


def test_store_sm_lease_is_a_separate_secret(store: SecretsManagerStore, client: t.Any) -> None:
    with store.lease(NAME, "run-1", 60):
        body = json.loads(client.get_secret_value(SecretId=SID + ".lease", VersionStage="AWSCURRENT")["SecretString"])
        assert body["owner"] == "run-1" and body["expires"] > 0
        assert store.read(NAME) == EMPTY
    assert client.list_secrets()["SecretList"] == []


def test_store_sm_lease_takeover_race_has_one_winner(
    store: SecretsManagerStore, client: t.Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    lease_id = SID + ".lease"
    client.create_secret(Name=lease_id, SecretString=json.dumps({"owner": "dead", "expires": 1}))
    stale = store._get(lease_id, "AWSCURRENT")
    with store.lease(NAME, "winner", 60):
        # a second run that saw the same expired lease before the winner took it over
        real_get = store._get
        served: t.List[bool] = []

        def stale_get(secret_id: str, stage: str) -> t.Any:
            if secret_id == lease_id and not served:
                served.append(True)
                return stale
            return real_get(secret_id, stage)

        monkeypatch.setattr(store, "_get", stale_get)
        with pytest.raises(StoreLocked) as info:
            with store.lease(NAME, "loser", 60):
                pytest.fail("both runs took over the expired lease")
        assert "winner" in str(info.value)
        monkeypatch.undo()
        body = json.loads(client.get_secret_value(SecretId=lease_id, VersionStage="AWSCURRENT")["SecretString"])
        assert body["owner"] == "winner"


def test_store_sm_create_retries_while_name_is_being_deleted(
    store: SecretsManagerStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    stub = Stubber(store.client)
    for _attempt in range(2):
        stub.add_client_error("create_secret", "InvalidRequestException", "scheduled for deletion")
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:x"
    stub.add_response("create_secret", {"ARN": arn, "Name": SID + ".lease", "VersionId": "v" * 32})
    sleeps: t.List[float] = []
    monkeypatch.setattr(_store_secretsmanager, "_sleep", sleeps.append)
    with stub:
        assert store._create(SID + ".lease", "{}") is True
    assert len(sleeps) == 2


def test_store_sm_access_denied_names_the_permission(store: SecretsManagerStore) -> None:
    stub = Stubber(store.client)
    stub.add_client_error(
        "put_secret_value",
        "AccessDeniedException",
        "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: secretsmanager:PutSecretValue",
    )
    with stub, pytest.raises(StoreError) as info:
        store.write_pending(NAME, NEW)
    message = str(info.value)
    assert "AccessDeniedException" in message
    assert "secretsmanager:PutSecretValue" in message and SID in message
    assert "new-secret-value-2" not in message


def test_store_sm_error_messages_never_echo_values(store: SecretsManagerStore) -> None:
    stub = Stubber(store.client)
    stub.add_client_error(
        "put_secret_value", "ValidationException", "Value '{\"secret_access_key\": \"new-secret-value-2\"}' is invalid"
    )
    with stub, pytest.raises(StoreError) as info:
        store.write_pending(NAME, NEW)
    assert "ValidationException" in str(info.value)
    assert "new-secret-value-2" not in str(info.value)
    stub = Stubber(store.client)
    stub.add_client_error("get_secret_value", "DecryptionFailure", "KMS said no")
    with stub, pytest.raises(StoreError, match="kms:Decrypt"):
        store.read(NAME)


def test_store_sm_botocore_errors(store: SecretsManagerStore, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(**_kwargs: t.Any) -> t.NoReturn:
        raise EndpointConnectionError(endpoint_url="https://secretsmanager.us-east-1.amazonaws.com")

    monkeypatch.setattr(store.client, "get_secret_value", offline)
    with pytest.raises(StoreError, match="EndpointConnectionError"):
        store.read(NAME)

    def invalid(**_kwargs: t.Any) -> t.NoReturn:
        raise ParamValidationError(report="Invalid type for parameter SecretString, value: new-secret-value-2")

    monkeypatch.setattr(store.client, "put_secret_value", invalid)
    with pytest.raises(StoreError) as info:
        store.write_pending(NAME, NEW)
    assert "ParamValidationError" in str(info.value) and "new-secret-value-2" not in str(info.value)


def test_store_sm_foreign_secret_is_reported(store: SecretsManagerStore, client: t.Any) -> None:
    client.create_secret(Name=SID, SecretString="plain text password")
    with pytest.raises(StoreError) as info:
        store.read(NAME)
    assert "not a keyturn record" in str(info.value) and "plain text password" not in str(info.value)
    client.create_secret(Name="keyturn/bin", SecretBinary=b"\x00\x01")
    with pytest.raises(StoreError, match="no SecretString"):
        store.read("bin")


@pytest.mark.parametrize("prefix", ["/keyturn/", "has space/", "x" * 300])
def test_store_sm_bad_prefix(client: t.Any, prefix: str) -> None:
    with pytest.raises(StoreError, match="prefix"):
        SecretsManagerStore(client, prefix=prefix)


def test_store_sm_needs_a_client() -> None:
    with pytest.raises(StoreError, match="client"):
        SecretsManagerStore(None)


@pytest.mark.parametrize("prefix, message", [
    (7, "store.prefix 7 is not a valid Secrets Manager name prefix"),
    ("has space/", "store.prefix 'has space/' is not a valid Secrets Manager name prefix"),
    ("/keyturn/", "store.prefix '/keyturn/' must not start with '/' for a secretsmanager store"),
    ("x" * 251, r"store.prefix is too long for a store of type secretsmanager \(at most 250 characters\)"),
])
def test_store_sm_prefix_rules_say_which_rule(client: t.Any, prefix: t.Any, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        SecretsManagerStore(client, prefix=prefix)


def test_store_sm_longest_prefix_is_accepted(client: t.Any) -> None:
    assert SecretsManagerStore(client, prefix="x" * 250).prefix == "x" * 250


# -- read_current: one GetSecretValue (AWSCURRENT) ---------------------------------


def _secret_value(record: t.Any, version: str = "a" * 32) -> dict:
    return {"ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + SID, "Name": SID, "VersionId": version,
            "SecretString": json.dumps(record, sort_keys=True), "VersionStages": ["AWSCURRENT"]}


CURRENT_ONLY = {"SecretId": SID, "VersionStage": "AWSCURRENT"}


def test_store_sm_read_current_is_one_call(store: SecretsManagerStore) -> None:
    gets = calls_of(store.client, "GetSecretValue")
    stub = Stubber(store.client)
    stub.add_response("get_secret_value", _secret_value(OLD), CURRENT_ONLY)
    with stub:
        assert store.read_current(NAME) == OLD
    stub.assert_no_pending_responses()
    assert gets == [CURRENT_ONLY]


def test_store_sm_read_current_of_a_pending_only_record_is_none(store: SecretsManagerStore) -> None:
    stub = Stubber(store.client)
    stub.add_response("get_secret_value", _secret_value(_store_secretsmanager.PLACEHOLDER), CURRENT_ONLY)
    with stub:
        assert store.read_current(NAME) is None  # the placeholder under AWSCURRENT is no credential
    stub.assert_no_pending_responses()


def test_store_sm_read_current_of_an_absent_secret_is_none(store: SecretsManagerStore) -> None:
    stub = Stubber(store.client)
    stub.add_client_error("get_secret_value", "ResourceNotFoundException", "Secrets Manager can't find the secret",
                          expected_params=CURRENT_ONLY)
    with stub:
        assert store.read_current(NAME) is None
    stub.assert_no_pending_responses()


def test_store_sm_read_current_of_a_deleted_secret_fails_as_read(store: SecretsManagerStore) -> None:
    errors = []
    for read in (store.read_current, store.read):
        stub = Stubber(store.client)
        stub.add_client_error("get_secret_value", "InvalidRequestException",
                              "You can't perform this operation on the secret because it was marked for deletion.",
                              expected_params=CURRENT_ONLY)
        with stub, pytest.raises(StoreError) as info:
            read(NAME)
        stub.assert_no_pending_responses()
        errors.append(str(info.value))
    assert errors[0] == errors[1] and "scheduled for deletion" in errors[0]


def test_store_sm_read_current_matches_read_on_moto(store: SecretsManagerStore, client: t.Any) -> None:
    gets = calls_of(client, "GetSecretValue")

    def check(state: StagedRecord) -> None:
        assert store.read(NAME) == state
        del gets[:]
        assert store.read_current(NAME) == state.current
        assert gets == [CURRENT_ONLY]

    store.write_pending(NAME, NEW)
    check(StagedRecord(None, NEW, None))
    store.promote(NAME)
    check(StagedRecord(NEW, None, None))
    store.write_pending(NAME, THIRD)
    store.promote(NAME)
    check(StagedRecord(THIRD, None, NEW))
    store.write_pending(NAME, OLD)
    check(StagedRecord(THIRD, OLD, NEW))
    client.delete_secret(SecretId=SID, RecoveryWindowInDays=7)  # scheduled for deletion, not gone
    with pytest.raises(StoreError) as current_error:
        store.read_current(NAME)
    with pytest.raises(StoreError) as read_error:
        store.read(NAME)
    assert str(current_error.value) == str(read_error.value)
    store.delete(NAME)
    del gets[:]
    assert store.read_current(NAME) is None and gets == [CURRENT_ONLY]
    assert store.read(NAME) == EMPTY
