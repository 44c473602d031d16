# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Task set-up (_task.py): ``open_task`` runs its steps in order (options, connection, store, assume_role,
identity, audit log) and each step fails with its own clean message before the next one starts.  AWS is a
botocore Stubber; the store is the in-memory fake."""

from __future__ import annotations

import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from ansible_collections.keyturn.aws.plugins.module_utils import _task
from ansible_collections.keyturn.aws.plugins.module_utils._audit import AuditLog
from ansible_collections.keyturn.aws.plugins.module_utils._connection import AssumeRole, AwsConnection, ConnectionParams
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import (
    AwsAccessDenied,
    AwsAuthError,
    KeyturnError,
    PartitionError,
    ValidationError,
)
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import StoreError
from ansible_collections.keyturn.aws.plugins.module_utils._task import (
    TaskEnv,
    TaskOptions,
    check_identity,
    connect,
    open_audit,
    open_task,
    task_options,
)
from protocol_fakes import MemoryStore

ACCOUNT = "123456789012"
ARN = f"arn:aws:iam::{ACCOUNT}:user/keyturn-admin"
ROLE = "arn:aws:iam::210987654321:role/keyturn"
KEYS = dict(access_key="AKIDBASE", secret_key="base-secret")


@pytest.fixture(autouse=True)
def no_aws_environment(monkeypatch, tmp_path):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_URL", "EC2_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))


def params(**extra):
    values = dict(KEYS, region="us-east-1", store={"type": "file", "path": "store.yml"}, concurrency=None,
                  account_id=None, audit_log=None, lock_timeout=None)
    values.update(extra)
    return values


def base_conn(region="us-east-1", **extra):
    return AwsConnection(ConnectionParams(**dict(KEYS, region=region, **extra)))


def identity_response(arn=ARN, account=ACCOUNT):
    return {"UserId": "AIDAX", "Account": account, "Arn": arn}


class Stores:
    """A ctx.file_store_factory that hands out one in-memory store and records the order of events."""

    def __init__(self, log, store=None):
        self.log = log
        self.store = store or MemoryStore()
        self.opened = []

    def __call__(self, path, vault_id=None):
        self.log.append("store")
        self.opened.append(path)
        return self.store


@pytest.fixture
def log():
    return []


@pytest.fixture
def stubbed(monkeypatch, log):
    """The task's base connection is a real AwsConnection whose STS client is stubbed; ``connect`` is logged."""
    conn = base_conn()
    stub = Stubber(conn.client("sts"))
    stub.activate()

    def fake_connect(values, options):
        log.append("connect")
        assert isinstance(options, TaskOptions)
        return conn

    monkeypatch.setattr(_task, "connect", fake_connect)
    yield conn, stub
    stub.deactivate()


# -- step 1: options ---------------------------------------------------------------------------------

def test_task_options_defaults_come_from_the_spec():
    options = task_options({})
    assert options == TaskOptions(concurrency=10, account_id=None, audit_log=None, lock_timeout=300.0)
    assert options.concurrency == _task.TASK_SPEC["concurrency"]["default"]
    assert options.lock_timeout == _task.TASK_SPEC["lock_timeout"]["default"]


def test_task_options_keep_the_given_values():
    options = task_options({"concurrency": 64, "account_id": ACCOUNT, "audit_log": "/tmp/a.jsonl", "lock_timeout": 0})
    assert options == TaskOptions(concurrency=64, account_id=ACCOUNT, audit_log="/tmp/a.jsonl", lock_timeout=0.0)
    assert task_options({"concurrency": 1}).concurrency == 1


@pytest.mark.parametrize("values, message", [
    ({"concurrency": 0}, "concurrency must be between 1 and 64, got 0"),
    ({"concurrency": 65}, "concurrency must be between 1 and 64, got 65"),
    ({"account_id": "12345"}, "account_id must be a 12-digit AWS account ID, got '12345'"),
    ({"lock_timeout": -1}, "lock_timeout must be 0 or more seconds, got -1"),
    # the first bad option wins, in this order
    ({"concurrency": 0, "account_id": "1", "lock_timeout": -1}, "concurrency must be between 1 and 64, got 0"),
    ({"account_id": "1", "lock_timeout": -1}, "account_id must be a 12-digit AWS account ID, got '1'"),
])
def test_task_options_refuse_bad_values(values, message):
    with pytest.raises(ValidationError) as caught:
        task_options(values)
    assert caught.value.msg == message


# -- step 2: connection ------------------------------------------------------------------------------

def test_connect_sizes_the_pool_for_the_concurrency():
    conn = connect(params(), task_options({"concurrency": 7}))
    assert conn.region == "us-east-1" and conn.partition == "aws"
    assert conn.client("sts").meta.config.max_pool_connections == 7 * 2 + 4


@pytest.mark.parametrize("values, message", [
    ({"region": None}, "region is required: set the region option, module_defaults group/keyturn.aws.aws, or AWS_REGION"),
    ({"secret_key": None}, "access_key and secret_key must be given together"),
    ({"endpoint_url": "127.0.0.1:1"}, "endpoint_url must start with http:// or https://, got '127.0.0.1:1'"),
])
def test_connect_refuses_bad_connection_options(values, message):
    with pytest.raises(ValidationError) as caught:
        connect(params(**values), task_options({}))
    assert caught.value.msg.startswith(message)


# -- step 4: identity --------------------------------------------------------------------------------

def test_check_identity_returns_the_caller():
    conn = base_conn()
    with Stubber(conn.client("sts")) as stub:
        stub.add_response("get_caller_identity", identity_response(), {})
        assert check_identity(conn, ACCOUNT) == {"arn": ARN, "account": ACCOUNT, "user_id": "AIDAX"}
        stub.add_response("get_caller_identity", identity_response(), {})
        assert check_identity(conn, None)["account"] == ACCOUNT
        stub.assert_no_pending_responses()


def test_check_identity_refuses_credentials_of_another_partition():
    conn = base_conn()
    with Stubber(conn.client("sts")) as stub:
        stub.add_response("get_caller_identity", identity_response(arn=f"arn:aws-cn:iam::{ACCOUNT}:user/x"), {})
        with pytest.raises(PartitionError) as caught:
            check_identity(conn, None)
    assert caught.value.msg == ("the task's credentials belong to partition aws-cn but region us-east-1 is in aws; "
                                "credentials never work across partitions")


def test_check_identity_refuses_another_account():
    conn = base_conn()
    with Stubber(conn.client("sts")) as stub:
        stub.add_response("get_caller_identity", identity_response(), {})
        with pytest.raises(ValidationError) as caught:
            check_identity(conn, "999999999999")
    assert caught.value.msg == f"the credentials reach account {ACCOUNT}, but account_id is 999999999999"


def test_check_identity_translates_a_refusal():
    conn = base_conn()
    with Stubber(conn.client("sts")) as stub:
        stub.add_client_error("get_caller_identity", "InvalidClientTokenId", "bad token", 403)
        with pytest.raises(AwsAuthError) as caught:
            check_identity(conn, None)
    assert caught.value.msg.startswith(
        "AWS refused the credentials while checking the task's credentials with STS (InvalidClientTokenId")


# -- step 5: audit log -------------------------------------------------------------------------------

def test_open_audit_without_a_path_logs_nothing(tmp_path):
    audit = open_audit(None, RunContext(actor="alice", job_id="42"))
    assert isinstance(audit, AuditLog) and audit.path is None
    audit.event("nothing_written")
    assert list(tmp_path.iterdir()) == []


def test_open_audit_names_the_actor_and_job(tmp_path):
    path = tmp_path / "audit.jsonl"
    audit = open_audit(str(path), RunContext(actor="alice", job_id="42"))
    assert audit.common == {"actor": "alice", "job_id": "42"}
    audit.event("task_opened")
    assert '"actor": "alice"' in path.read_text() and '"job_id": "42"' in path.read_text()


def test_open_audit_refuses_a_missing_directory(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(ValidationError) as caught:
        open_audit(str(missing / "audit.jsonl"), RunContext())
    assert caught.value.msg == f"audit_log directory {missing} does not exist"


# -- open_task: the steps in order -------------------------------------------------------------------

def test_open_task_builds_the_task(stubbed, log, tmp_path):
    conn, stub = stubbed
    stub.add_response("get_caller_identity", identity_response(), {})
    stores = Stores(log)
    ctx = RunContext(file_store_factory=stores, actor="alice")
    task = open_task(params(account_id=ACCOUNT, audit_log=str(tmp_path / "a.jsonl"), lock_timeout=5), ctx)
    stub.assert_no_pending_responses()
    assert log == ["connect", "store"] and stores.opened == ["store.yml"]
    assert isinstance(task, TaskEnv)
    assert task.base is conn and task.conn is conn  # no assume_role: the base connection does the work
    assert task.store is stores.store and task.require_store() is stores.store
    assert (task.account_id, task.partition, task.identity["arn"]) == (ACCOUNT, "aws", ARN)
    assert (task.concurrency, task.lock_timeout, task.ctx) == (10, 5.0, ctx)
    assert task.audit.path == str(tmp_path / "a.jsonl") and task.audit.common == {"actor": "alice"}
    assert len(task.run_id) == 32 and int(task.run_id, 16) >= 0


def test_open_task_without_a_store(stubbed, log):
    _conn, stub = stubbed
    stub.add_response("get_caller_identity", identity_response(), {})
    task = open_task(params(store=None), RunContext(file_store_factory=Stores(log)), need_store=False)
    assert task.store is None and log == ["connect"]
    with pytest.raises(KeyturnError) as caught:
        task.require_store()
    assert caught.value.msg == "this task needs the store option"


def test_bad_options_fail_before_any_connection(monkeypatch):
    def no_connection(*_args):
        raise AssertionError("no connection may be made for bad options")

    monkeypatch.setattr(_task, "connect", no_connection)
    for values, message in (({"concurrency": 0}, "concurrency must be between 1 and 64"),
                            ({"account_id": "12"}, "account_id must be a 12-digit AWS account ID"),
                            ({"lock_timeout": -5}, "lock_timeout must be 0 or more seconds, got -5")):
        with pytest.raises(ValidationError, match=message):
            open_task(params(**values), RunContext())


def test_a_bad_connection_option_fails_before_the_store_is_opened(log):
    with pytest.raises(ValidationError, match="region is required"):
        open_task(params(region=None), RunContext(file_store_factory=Stores(log)))
    assert log == []


def test_a_bad_store_fails_before_any_aws_call(stubbed, log):
    _conn, stub = stubbed  # no STS response is stubbed: a call would fail the test with another error
    with pytest.raises(ValidationError) as caught:
        open_task(params(store={"type": "vaultx"}), RunContext(file_store_factory=Stores(log)))
    assert "vaultx" in caught.value.msg and log == ["connect"]
    stub.assert_no_pending_responses()


def test_a_missing_store_file_fails_for_readers(stubbed, log):
    class Missing(MemoryStore):
        def check_exists(self):
            raise StoreError("the store file store.yml does not exist")

    _conn, stub = stubbed
    stores = Stores(log, Missing())
    with pytest.raises(ValidationError) as caught:
        open_task(params(), RunContext(file_store_factory=stores), store_must_exist=True)
    assert caught.value.msg == "the store file store.yml does not exist"
    stub.add_response("get_caller_identity", identity_response(), {})
    assert open_task(params(), RunContext(file_store_factory=stores)).store is stores.store  # writers may create it


def test_the_file_store_needs_the_controller(stubbed):
    with pytest.raises(ValidationError, match="exist only on the controller"):
        open_task(params(), RunContext(file_store_factory=None))


def test_refused_credentials_fail_after_the_store_and_before_the_audit_log(stubbed, log, tmp_path):
    _conn, stub = stubbed
    stub.add_client_error("get_caller_identity", "InvalidClientTokenId", "bad token", 403)
    with pytest.raises(AwsAuthError, match="checking the task's credentials with STS"):
        open_task(params(audit_log=str(tmp_path / "nope" / "a.jsonl")), RunContext(file_store_factory=Stores(log)))
    assert log == ["connect", "store"]


@pytest.mark.parametrize("arn, expected, error, message", [
    (f"arn:aws-us-gov:iam::{ACCOUNT}:user/x", None, PartitionError,
     "the task's credentials belong to partition aws-us-gov but region us-east-1 is in aws"),
    (ARN, "999999999999", ValidationError, f"the credentials reach account {ACCOUNT}, but account_id is 999999999999"),
])
def test_identity_failures_of_the_task(stubbed, log, arn, expected, error, message):
    _conn, stub = stubbed
    stub.add_response("get_caller_identity", identity_response(arn=arn), {})
    with pytest.raises(error) as caught:
        open_task(params(account_id=expected), RunContext(file_store_factory=Stores(log)))
    assert caught.value.msg.startswith(message)


def test_a_missing_audit_directory_fails_last(stubbed, log, tmp_path):
    _conn, stub = stubbed
    stub.add_response("get_caller_identity", identity_response(), {})
    with pytest.raises(ValidationError) as caught:
        open_task(params(audit_log=str(tmp_path / "nope" / "a.jsonl")), RunContext(file_store_factory=Stores(log)))
    assert caught.value.msg == f"audit_log directory {tmp_path / 'nope'} does not exist"
    stub.assert_no_pending_responses()  # the identity was checked first


# -- assume_role: the store uses the base identity, the work the role's -------------------------------

def role_params(**extra):
    return params(assume_role={"role_arn": ROLE, "session_name": "keyturn"}, **extra)


@pytest.fixture
def role_conn(monkeypatch, log):
    conn = AwsConnection(ConnectionParams(**dict(KEYS, region="us-east-1", assume_role=AssumeRole(ROLE, session_name="keyturn"))))
    stub = Stubber(conn.client("sts"))
    stub.activate()
    monkeypatch.setattr(_task, "connect", lambda values, options: log.append("connect") or conn)
    yield conn, stub
    stub.deactivate()


def test_the_assumed_role_does_the_work(role_conn, log):
    conn, stub = role_conn
    stub.add_response("assume_role", {"Credentials": {
        "AccessKeyId": "ASIAASSUMEDKEY000", "SecretAccessKey": "assumed-secret", "SessionToken": "assumed-token",
        "Expiration": "2030-01-01T00:00:00Z"}}, {"RoleArn": ROLE, "RoleSessionName": "keyturn", "DurationSeconds": 3600})
    role_arn = "arn:aws:sts::210987654321:assumed-role/keyturn/keyturn"
    asked = []

    def answer(request_signer, **_kwargs):  # STS of the assumed connection (its client is built after the role is assumed)
        asked.append(request_signer._credentials.access_key)
        return AWSResponse("https://sts.amazonaws.com/", 200, {}, None), identity_response(arn=role_arn, account="210987654321")

    conn._botocore.register("before-call.sts.GetCallerIdentity", answer)
    task = open_task(role_params(), RunContext(file_store_factory=Stores(log)))
    stub.assert_no_pending_responses()
    assert task.base is conn and task.conn is not conn
    assert task.conn.client("sts")._request_signer._credentials.access_key == "ASIAASSUMEDKEY000"
    assert (task.account_id, task.identity["arn"]) == ("210987654321", role_arn)
    assert asked == ["ASIAASSUMEDKEY000"]  # the identity checked is the role's, not the base credentials'
    assert log == ["connect", "store"]


def test_a_refused_role_fails_after_the_store_and_before_the_identity_check(role_conn, log):
    _conn, stub = role_conn
    stub.add_client_error("assume_role", "AccessDenied", "not allowed", 403)
    with pytest.raises(AwsAccessDenied) as caught:
        open_task(role_params(), RunContext(file_store_factory=Stores(log)))
    assert caught.value.msg == f"access denied while assuming role {ROLE} (AccessDenied: not allowed)"
    assert log == ["connect", "store"]
    stub.assert_no_pending_responses()


# -- TaskEnv is a plain holder -----------------------------------------------------------------------

def test_task_env_holds_what_it_is_given(store):
    conn = base_conn()
    audit = AuditLog(None)
    task = TaskEnv(RunContext(), base=conn, conn=conn, store=store, identity={"arn": ARN, "account": ACCOUNT},
                   audit=audit, concurrency=3, lock_timeout=0.0, run_id="run-1")
    assert (task.account_id, task.partition, task.run_id, task.concurrency) == (ACCOUNT, "aws", "run-1", 3)
    assert task.store is store and task.audit is audit and task.lock_timeout == 0.0
    assert task.map(lambda n: {"n": n * 2}, [1, 2, 3]) == [{"n": 2}, {"n": 4}, {"n": 6}]


def test_preflight_store_turns_a_store_failure_into_a_clean_error(store):
    conn = base_conn()
    task = TaskEnv(RunContext(), base=conn, conn=conn, store=store, identity={"arn": ARN, "account": ACCOUNT},
                   audit=AuditLog(None), concurrency=1, lock_timeout=0.0)
    task.preflight_store(f"{ACCOUNT}/alice")
    store.fail("read")
    with pytest.raises(ValidationError) as caught:
        task.preflight_store(f"{ACCOUNT}/alice")
    assert caught.value.msg == f"injected read failure on {ACCOUNT}/alice"
