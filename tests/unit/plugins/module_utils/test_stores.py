# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The store contract (every store type passes the same suite) and the factory."""

from __future__ import annotations

import typing as t

import boto3
import pytest
from moto import mock_aws

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.keyturn.aws.plugins.module_utils._store_base import (
    EMPTY,
    StagedRecord,
    Store,
    StoreError,
    StoreLocked,
)
from ansible_collections.keyturn.aws.plugins.plugin_utils._store_file import FileStore, vault_secrets_from_password
from ansible_collections.keyturn.aws.plugins.plugin_utils._store_file import file_store_factory as file_factory
from ansible_collections.keyturn.aws.plugins.module_utils._store_secretsmanager import SecretsManagerStore
from ansible_collections.keyturn.aws.plugins.module_utils._store_ssm import SsmStore
from ansible_collections.keyturn.aws.plugins.module_utils._stores import (
    STORE_SPEC,
    build_store,
    default_record_name,
    validate_record_name,
)

REGION = "us-east-1"
NAME = "123456789012/alice"
OLD = {"access_key_id": "AKIAOLDOLDOLDOLD0001", "secret_access_key": "old-secret-value-1"}
NEW = {"access_key_id": "AKIANEWNEWNEWNEW0002", "secret_access_key": "new-secret-value-2"}
THIRD = {"access_key_id": "AKIATHIRDTHIRDTH0003", "secret_access_key": "third-secret-value-3"}
SECRET_VALUES = ("old-secret-value-1", "new-secret-value-2", "third-secret-value-3")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture(params=["file", "secretsmanager", "ssm"])
def store(request: pytest.FixtureRequest, tmp_path: t.Any, aws_env: None) -> t.Iterator[Store]:
    if request.param == "file":
        yield FileStore(str(tmp_path / "secrets.yml"), vault_secrets_from_password("correct horse"))
        return
    with mock_aws():
        if request.param == "secretsmanager":
            yield SecretsManagerStore(boto3.client("secretsmanager", region_name=REGION))
        else:
            yield SsmStore(boto3.client("ssm", region_name=REGION))


def crash_mid_promote(store: Store, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Leave ``name`` as a promotion that crashed half-way would."""
    if isinstance(store, SecretsManagerStore):
        # First half of promote done by hand: AWSCURRENT moved, AWSPENDING not yet removed.
        sid = store.prefix + name
        pending = store.client.get_secret_value(SecretId=sid, VersionStage="AWSPENDING")["VersionId"]
        current = store.client.get_secret_value(SecretId=sid, VersionStage="AWSCURRENT")["VersionId"]
        store.client.update_secret_version_stage(
            SecretId=sid, VersionStage="AWSCURRENT", MoveToVersionId=pending, RemoveFromVersionId=current
        )
        return
    with monkeypatch.context() as patch:
        if isinstance(store, FileStore):
            import os

            def boom(*_args: t.Any, **_kwargs: t.Any) -> None:
                raise KeyboardInterrupt("crash")

            patch.setattr(os, "replace", boom)
        else:

            def boom(*_args: t.Any, **_kwargs: t.Any) -> None:
                raise KeyboardInterrupt("crash")

            patch.setattr(store.client, "put_parameter", boom)
        with pytest.raises(KeyboardInterrupt):
            store.promote(name)


# -- the contract -------------------------------------------------------------


def test_store_empty_read(store: Store) -> None:
    assert store.read(NAME) == EMPTY
    assert store.read(NAME).empty
    assert store.names() == []


def test_store_write_pending_then_read(store: Store) -> None:
    store.write_pending(NAME, NEW)
    assert store.read(NAME) == StagedRecord(None, NEW, None)
    assert store.names() == [NAME]
    # replacing pending leaves the other stages alone
    store.write_current(NAME, OLD)
    store.write_pending(NAME, THIRD)
    record = store.read(NAME)
    assert record.current == OLD and record.pending == THIRD


def test_store_promote_moves_current_to_previous(store: Store) -> None:
    store.write_current(NAME, OLD)
    store.write_pending(NAME, NEW)
    assert store.read(NAME) == StagedRecord(OLD, NEW, None)
    store.promote(NAME)
    assert store.read(NAME) == StagedRecord(NEW, None, OLD)
    store.write_pending(NAME, THIRD)
    store.promote(NAME)
    assert store.read(NAME) == StagedRecord(THIRD, None, NEW)


def test_store_promote_with_the_verified_record_in_one_step(store: Store) -> None:
    store.write_current(NAME, OLD)
    store.write_pending(NAME, NEW)
    verified = dict(NEW, arn="arn:aws:iam::123456789012:user/alice")
    store.promote(NAME, verified)
    assert store.read(NAME) == StagedRecord(verified, None, OLD)
    with pytest.raises(StoreError, match="nothing is pending"):
        store.promote(NAME, THIRD)  # a record alone is not a pending credential
    assert store.read(NAME) == StagedRecord(verified, None, OLD)


def test_store_promote_first_credential(store: Store) -> None:
    store.write_pending(NAME, NEW)
    store.promote(NAME)
    assert store.read(NAME) == StagedRecord(NEW, None, None)


def test_store_promote_without_pending_fails(store: Store) -> None:
    with pytest.raises(StoreError, match="nothing is pending"):
        store.promote(NAME)
    store.write_current(NAME, OLD)
    with pytest.raises(StoreError, match="nothing is pending"):
        store.promote(NAME)
    assert store.read(NAME) == StagedRecord(OLD, None, None)


def test_store_promote_idempotent_after_crash(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.write_current(NAME, OLD)
    store.write_pending(NAME, NEW)
    crash_mid_promote(store, NAME, monkeypatch)
    mid = store.read(NAME)
    # never torn: the new credential is still known and the old one not lost
    assert mid.pending == NEW
    assert OLD in (mid.current, mid.previous)
    store.promote(NAME)
    assert store.read(NAME) == StagedRecord(NEW, None, OLD)


def test_store_discard_after_crashed_promote_rolls_back(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    store.write_current(NAME, OLD)
    store.write_pending(NAME, NEW)
    crash_mid_promote(store, NAME, monkeypatch)
    store.discard_pending(NAME)
    record = store.read(NAME)
    assert record.current == OLD and record.pending is None
    assert record.previous != NEW


def test_store_discard_pending(store: Store) -> None:
    store.discard_pending(NAME)  # no-op on an unknown name
    assert store.read(NAME) == EMPTY
    store.write_current(NAME, OLD)
    store.write_pending(NAME, NEW)
    store.discard_pending(NAME)
    assert store.read(NAME) == StagedRecord(OLD, None, None)
    store.discard_pending(NAME)  # no-op without pending
    assert store.read(NAME) == StagedRecord(OLD, None, None)


def test_store_discard_only_pending_leaves_empty(store: Store) -> None:
    store.write_pending(NAME, NEW)
    store.discard_pending(NAME)
    assert store.read(NAME) == EMPTY


def test_store_write_current_keep_previous(store: Store) -> None:
    store.write_current(NAME, OLD)
    assert store.read(NAME) == StagedRecord(OLD, None, None)
    store.write_current(NAME, NEW)
    assert store.read(NAME) == StagedRecord(NEW, None, OLD)
    store.write_current(NAME, THIRD, keep_previous=True)
    assert store.read(NAME) == StagedRecord(THIRD, None, NEW)


def test_store_write_current_without_previous(store: Store) -> None:
    store.write_current(NAME, OLD)
    store.write_current(NAME, NEW, keep_previous=False)
    assert store.read(NAME) == StagedRecord(NEW, None, None)
    store.write_current(NAME, THIRD)
    store.write_current(NAME, OLD, keep_previous=False)
    assert store.read(NAME) == StagedRecord(OLD, None, None)


def test_store_write_current_keeps_pending(store: Store) -> None:
    store.write_current(NAME, OLD)
    store.write_pending(NAME, NEW)
    store.write_current(NAME, THIRD)
    assert store.read(NAME) == StagedRecord(THIRD, NEW, OLD)


def test_store_delete(store: Store) -> None:
    store.delete(NAME)  # no-op when absent
    store.write_current(NAME, OLD)
    store.write_pending(NAME, NEW)
    store.write_current("123456789012/bob", THIRD)
    store.delete(NAME)
    assert store.read(NAME) == EMPTY
    assert store.names() == ["123456789012/bob"]
    assert store.read("123456789012/bob").current == THIRD
    store.write_pending(NAME, NEW)  # the name can be used again right away
    assert store.read(NAME) == StagedRecord(None, NEW, None)


def test_store_names(store: Store) -> None:
    wanted = ["123456789012/zed", "111111111111/alice", "123456789012/alice", "pair/prod-deployer"]
    for name in wanted:
        store.write_current(name, OLD)
    with store.lease("123456789012/zed", "owner-a", 60):
        assert store.names() == sorted(wanted)  # the lease is not a record


def test_store_records_come_back_as_plain_json(store: Store) -> None:
    record = {"s": "x", "i": 3, "f": 1.5, "b": True, "n": None, "l": [1, "two"], "d": {"k": "v"}, "u": "é"}
    store.write_current(NAME, record)
    got = store.read(NAME).current
    assert got == record
    assert got.__class__ is dict and got["s"].__class__ is str and got["l"].__class__ is list and got["d"].__class__ is dict


def test_store_rejects_bad_input(store: Store) -> None:
    for bad in ("", "/lead", "trail/", "a//b", "semi;colon", "x" * 257, "name.lease"):
        with pytest.raises(StoreError):
            store.read(bad)
        with pytest.raises(StoreError):
            store.write_pending(bad, NEW)
    with pytest.raises(StoreError, match="dict"):
        store.write_pending(NAME, ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(StoreError, match="JSON"):
        store.write_current(NAME, {"x": {1, 2}})
    assert store.read(NAME) == EMPTY


def test_store_lease_exclusive(store: Store) -> None:
    with store.lease(NAME, "owner-a", 60):
        with pytest.raises(StoreLocked) as info:
            with store.lease(NAME, "owner-b", 60):
                pytest.fail("two owners held the lease")
        assert "owner-a" in str(info.value)
        # the holder can keep working on the record
        store.write_pending(NAME, NEW)
        store.promote(NAME)
    with store.lease(NAME, "owner-b", 60):
        pass
    assert store.read(NAME) == StagedRecord(NEW, None, None)


def test_store_lease_released_on_error(store: Store) -> None:
    with pytest.raises(RuntimeError):
        with store.lease(NAME, "owner-a", 60):
            raise RuntimeError("boom")
    with store.lease(NAME, "owner-b", 60):
        pass


def test_store_lease_takeover_after_expiry(store: Store) -> None:
    stale = store.lease(NAME, "crashed-run", 0)
    stale.__enter__()  # never released: the run "crashed"
    with store.lease(NAME, "owner-b", 60):
        with pytest.raises(StoreLocked):
            with store.lease(NAME, "owner-c", 60):
                pass
        # the crashed run coming back must not drop b's lease
        stale.__exit__(None, None, None)
        with pytest.raises(StoreLocked):
            with store.lease(NAME, "owner-c", 60):
                pass
    with store.lease(NAME, "owner-c", 60):
        pass


def test_store_lease_bad_arguments(store: Store) -> None:
    with pytest.raises(StoreError):
        with store.lease(NAME, "", 60):
            pass
    with pytest.raises(StoreError):
        with store.lease(NAME, "a", -1):
            pass


def test_store_describe_has_no_secret(store: Store) -> None:
    store.write_current(NAME, OLD)
    text = store.describe()
    assert store.kind in text
    assert not any(value in text for value in SECRET_VALUES)


# -- record names ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["123456789012/alice", "a", "pair/prod_deployer", "x+y=z@example.com", "a.b-c", "1/2/3", "n" * 256],
)
def test_store_valid_record_names(name: str) -> None:
    assert validate_record_name(name) == name


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "must not be empty"),
        (None, "must be a string"),
        ("/alice", "start or end with '/'"),
        ("alice/", "start or end with '/'"),
        ("a//b", "empty path segment"),
        ("a b", "' '"),
        ("a,b", "','"),
        ("n" * 257, "at most 256"),
        ("123/alice.lease", "reserved for leases"),
    ],
)
def test_store_invalid_record_names(name: t.Any, message: str) -> None:
    with pytest.raises(StoreError) as info:
        validate_record_name(name)
    assert message in str(info.value)


def test_store_default_record_name() -> None:
    assert default_record_name("123456789012", "alice") == "123456789012/alice"
    with pytest.raises(StoreError, match="explicit record name"):
        default_record_name("123456789012", "a,b")
    with pytest.raises(StoreError, match="account id"):
        default_record_name("", "alice")
    with pytest.raises(StoreError, match="user name"):
        default_record_name("123456789012", "")


# -- the factory ------------------------------------------------------------------


class FakeFactory:
    def __init__(self) -> None:
        self.calls: t.List[t.Tuple[str, t.Optional[str]]] = []

    def __call__(self, service: str, region: t.Optional[str]) -> t.Any:
        self.calls.append((service, region))
        return boto3.client(service, region_name=region or REGION)


def test_store_spec_is_a_valid_argument_spec() -> None:
    validator = ArgumentSpecValidator({"store": {"type": "dict", "options": STORE_SPEC}})
    result = validator.validate({"store": {"path": "/tmp/x.yml"}})
    assert result.error_messages == []
    assert result.validated_parameters["store"]["type"] == "file"
    result = validator.validate({"store": {"type": "vault"}})
    assert result.error_messages


def test_store_factory_builds_file_store(tmp_path: t.Any) -> None:
    secrets = vault_secrets_from_password("pw")
    store = build_store({"type": "file", "path": str(tmp_path / "s.yml"), "vault_id": "default"},
                        client_factory=None, file_store_factory=file_factory(secrets))
    assert isinstance(store, FileStore) and store.kind == "file" and store.vault_id == "default"
    # defaults after argument-spec validation (None values) are fine too
    spec = {key: None for key in STORE_SPEC}
    spec.update(type="file", path=str(tmp_path / "s.yml"))
    assert isinstance(build_store(spec, client_factory=None, file_store_factory=file_factory(secrets)), FileStore)


def test_store_factory_builds_aws_stores(aws_env: None) -> None:
    factory = FakeFactory()
    with mock_aws():
        sm = build_store({"type": "secretsmanager", "region": "eu-west-1", "kms_key_id": "alias/keyturn"},
                         client_factory=factory)
        ssm = build_store({"type": "ssm", "prefix": "/security/keys/"}, client_factory=factory)
    assert isinstance(sm, SecretsManagerStore) and sm.prefix == "keyturn/" and sm.kms_key_id == "alias/keyturn"
    assert isinstance(ssm, SsmStore) and ssm.prefix == "/security/keys/" and ssm.kms_key_id is None
    assert factory.calls == [("secretsmanager", "eu-west-1"), ("ssm", None)]
    assert "eu-west-1" in sm.describe()


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"type": "vault"}, "invalid store type 'vault'; accepted: file, secretsmanager, ssm"),
        ({}, "store.path is required for a file store"),
        (None, "store.path is required for a file store"),
        ({"type": "file"}, "store.path is required"),
        ({"type": "file", "path": ""}, "store.path must not be empty"),
        ({"type": "file", "path": 3}, "store.path must be a string"),
        ({"type": "file", "path": "/x", "prefix": "keyturn/"}, "store.prefix does not apply to a file store"),
        ({"type": "file", "path": "/x", "region": "us-east-1"}, "store.region does not apply to a file store"),
        ({"type": "file", "path": "/x", "kms_key_id": "k"}, "store.kms_key_id does not apply to a file store"),
        ({"type": "ssm", "path": "/x"}, "store.path does not apply to a ssm store"),
        ({"type": "secretsmanager", "vault_id": "prod"}, "store.vault_id does not apply to a secretsmanager store"),
        ({"type": "file", "path": "/x", "bucket": "b"}, "unknown store option(s) bucket; accepted:"),
        ("file", "the store option must be a dict"),
        ({"type": "ssm", "prefix": "keyturn/"}, "must start and end with '/'"),
        ({"type": "ssm", "prefix": "/aws/keys/"}, "reserved by SSM"),
        ({"type": "secretsmanager", "prefix": "bad prefix/"}, "not a valid Secrets Manager name prefix"),
    ],
)
def test_store_factory_rejects_bad_specs(spec: t.Any, message: str, aws_env: None) -> None:
    with mock_aws():
        with pytest.raises(StoreError) as info:
            build_store(spec, client_factory=FakeFactory())
    assert message in str(info.value)


def test_store_factory_aws_store_needs_client_factory() -> None:
    with pytest.raises(StoreError, match="no AWS client factory"):
        build_store({"type": "ssm"}, client_factory=None)


def test_build_store_file_needs_the_controller(tmp_path: t.Any) -> None:
    with pytest.raises(StoreError, match="only on the controller"):
        build_store({"type": "file", "path": str(tmp_path / "s.yml")}, client_factory=None)


@pytest.mark.parametrize("spec, message", [
    ({"type": "file", "path": "/x", "backups": -1}, "store.backups must be a whole number from 0 to 100"),
    ({"type": "file", "path": "/x", "backups": "many"}, "store.backups must be a whole number from 0 to 100 (0 keeps no backup), got 'many'"),
    ({"type": "file", "path": "/x", "backups": 101}, "got 101"),
    ({"type": "file", "path": "/x", "backups": True}, "store.backups must be a whole number"),
    ({"type": "ssm", "backups": 2}, "store.backups does not apply to a ssm store"),
    ({"type": "file", "path": 3}, "store.path must be a string, got a number"),
])
def test_store_backups_option_is_checked(spec: t.Any, message: str) -> None:
    with pytest.raises(StoreError) as info:
        build_store(spec, client_factory=FakeFactory(), file_store_factory=file_factory(vault_secrets_from_password("pw")))
    assert message in str(info.value) and "int" not in str(info.value).replace("point", "")


def test_store_backups_reaches_the_file_store(tmp_path: t.Any) -> None:
    secrets = vault_secrets_from_password("pw")
    path = str(tmp_path / "s.yml")
    assert build_store({"type": "file", "path": path}, file_store_factory=file_factory(secrets)).backups == 3
    assert build_store({"type": "file", "path": path, "backups": "0"}, file_store_factory=file_factory(secrets)).backups == 0
    assert build_store({"type": "file", "path": path, "backups": 7}, file_store_factory=file_factory(secrets)).backups == 7


# -- read_current: the current stage alone, as read().current -------------------


def test_store_read_current_is_read_current_in_every_state(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def same() -> t.Optional[dict]:
        current = store.read_current(NAME)
        assert current == store.read(NAME).current
        return current

    assert same() is None  # unknown name
    store.write_pending(NAME, NEW)
    assert same() is None  # a pending credential is never current
    store.promote(NAME)
    assert same() == NEW  # the first credential
    store.write_pending(NAME, THIRD)
    assert same() == NEW  # current, pending and (after the next promote) previous
    store.promote(NAME)
    assert same() == THIRD
    store.write_pending(NAME, OLD)
    crash_mid_promote(store, NAME, monkeypatch)
    assert same() == store.read(NAME).current  # a half-done promotion reads the same both ways
    store.discard_pending(NAME)
    assert same() == THIRD
    store.delete(NAME)
    assert same() is None  # deleted


def test_store_read_current_returns_plain_json_copies(store: Store) -> None:
    record = {"s": "x", "l": [1, "two"], "d": {"k": "v"}}
    store.write_current(NAME, record)
    got = store.read_current(NAME)
    assert got == record and got.__class__ is dict and got["d"].__class__ is dict
    got["d"]["k"] = "changed"
    assert store.read_current(NAME) == record  # the caller's changes do not reach the store


def test_store_read_current_rejects_bad_names(store: Store) -> None:
    for bad in ("", "/lead", "a//b", "semi;colon", "x" * 257, "name.lease"):
        with pytest.raises(StoreError) as current_error:
            store.read_current(bad)
        with pytest.raises(StoreError) as read_error:
            store.read(bad)
        assert str(current_error.value) == str(read_error.value)
