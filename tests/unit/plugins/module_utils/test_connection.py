# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection core (_connection.py): validation, client cache, partitions, identities, assume_role."""

from __future__ import annotations

import datetime

import botocore.exceptions
import pytest
from botocore.stub import Stubber

from ansible_collections.keyturn.aws.plugins.module_utils._connection import (
    AssumeRole,
    AwsConnection,
    ConnectionParams,
    aws_call_errors,
)
from ansible_collections.keyturn.aws.plugins.module_utils._errors import (
    AwsAccessDenied,
    AwsAuthError,
    KeyturnError,
    PartitionError,
    ValidationError,
)

ROLE = "arn:aws:iam::210987654321:role/keyturn"
KEYS = dict(access_key="AKIDBASE", secret_key="base-secret")


@pytest.fixture(autouse=True)
def no_aws_environment(monkeypatch, tmp_path):
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                 "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))


def conn(region="us-east-1", **extra):
    values = dict(KEYS, region=region)
    values.update(extra)
    return AwsConnection(ConnectionParams(**values))


@pytest.mark.parametrize("values, message", [
    (dict(access_key="A"), "access_key and secret_key must be given together"),
    (dict(secret_key="S"), "access_key and secret_key must be given together"),
    (dict(KEYS, profile="p"), "give either profile or access_key/secret_key, not both"),
    (dict(session_token="T"), "session_token needs access_key and secret_key"),
    (dict(endpoint_url="127.0.0.1:5000"), "endpoint_url must start with http:// or https://, got '127.0.0.1:5000'"),
    (dict(assume_role=AssumeRole("role/x")), "assume_role.role_arn must be an IAM role ARN"),
    (dict(assume_role=AssumeRole("arn:aws:iam::1:user/x")), "assume_role.role_arn must be an IAM role ARN"),
    (dict(assume_role=AssumeRole(ROLE, duration_seconds=899)), "assume_role.duration_seconds must be between 900 and 43200"),
    (dict(assume_role=AssumeRole(ROLE, duration_seconds=43201)), "assume_role.duration_seconds must be between 900 and 43200"),
])
def test_params_validation(values, message):
    with pytest.raises(ValidationError) as caught:
        ConnectionParams(**values).validate()
    assert caught.value.msg.startswith(message)


def test_valid_params_pass():
    ConnectionParams(**KEYS, session_token="T", endpoint_url="http://127.0.0.1:5000",
                     assume_role=AssumeRole(ROLE, external_id="x", duration_seconds=900)).validate()


def test_reprs_never_show_secrets():
    params = ConnectionParams(**KEYS, session_token="the-token", assume_role=AssumeRole(ROLE, external_id="the-external-id"))
    text = repr(params)
    assert "base-secret" not in text and "the-token" not in text and "the-external-id" not in text
    assert "AKIDBASE" in text and ROLE in text


def test_region_is_required():
    with pytest.raises(ValidationError) as caught:
        AwsConnection(ConnectionParams(**KEYS))
    assert caught.value.msg.startswith("region is required")


def test_unknown_profile_is_a_clear_error():
    # botocore looks the profile up when the first client is made
    with pytest.raises(KeyturnError) as caught:
        AwsConnection(ConnectionParams(profile="nowhere", region="us-east-1")).client("sts")
    assert caught.value.msg == "could not create the sts client: ProfileNotFound: The config profile (nowhere) could not be found"


def test_unknown_region_is_a_partition_error():
    with pytest.raises(PartitionError):
        conn(region="mars-north-1")


def test_clients_are_cached_per_service_region_and_retry_mode():
    connection = conn(endpoint_url="http://127.0.0.1:5000")
    sts = connection.client("sts")
    assert connection.client("sts") is sts
    assert connection.client("sts", "us-east-1") is sts
    assert connection.client("sts", "us-west-2") is not sts
    assert connection.client("sts", retries=False) is not sts
    assert sts.meta.endpoint_url == "http://127.0.0.1:5000"
    assert sts.meta.config.retries["mode"] == "adaptive"
    assert connection.client("iam", retries=False).meta.config.retries["total_max_attempts"] == 1
    assert "keyturn.aws/" in sts.meta.config.user_agent_extra


@pytest.mark.parametrize("region, iam_region, partition, iam_endpoint", [
    ("us-west-2", "us-east-1", "aws", "https://iam.amazonaws.com"),
    ("cn-northwest-1", "cn-north-1", "aws-cn", "https://iam.cn-north-1.amazonaws.com.cn"),
    ("us-gov-east-1", "us-gov-west-1", "aws-us-gov", "https://iam.us-gov.amazonaws.com"),
])
def test_iam_is_signed_for_the_partitions_iam_region(region, iam_region, partition, iam_endpoint):
    connection = conn(region=region)
    assert (connection.region, connection.partition) == (region, partition)
    iam = connection.client("iam")
    assert (iam._request_signer._region_name, iam.meta.endpoint_url) == (iam_region, iam_endpoint)
    assert connection.client("sts")._request_signer._region_name == region


def test_clients_never_cross_partitions():
    with pytest.raises(PartitionError) as caught:
        conn().client("sts", "cn-north-1")
    assert caught.value.msg == ("region cn-north-1 is in partition aws-cn, but this connection is for aws: "
                                "credentials never work across partitions")


def test_tls_settings_reach_the_client(tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    assert conn(validate_certs=False).client("sts").meta.endpoint_url.startswith("https://")
    assert conn(validate_certs=False).client("sts")._endpoint.http_session._verify is False
    assert conn(aws_ca_bundle=str(bundle)).client("sts")._endpoint.http_session._verify == str(bundle)


def test_unknown_service_is_a_clean_error():
    with pytest.raises(KeyturnError) as caught:
        conn().client("no-such-service")
    assert caught.value.msg.startswith("could not create the no-such-service client: UnknownServiceError")


def test_with_credentials_shares_the_session_and_drops_profile_and_role():
    base = conn(endpoint_url="http://127.0.0.1:5000", assume_role=AssumeRole(ROLE))
    other = base.with_credentials("AKIDOTHER", "other-secret", "tok")
    assert other._botocore is base._botocore
    assert other.params.assume_role is None and other.params.profile is None
    assert other.params.endpoint_url == "http://127.0.0.1:5000"
    credentials = other.client("sts")._request_signer._credentials
    assert (credentials.access_key, credentials.secret_key, credentials.token) == ("AKIDOTHER", "other-secret", "tok")
    assert base.client("sts")._request_signer._credentials.access_key == "AKIDBASE"


def test_assumed_without_a_role_is_the_same_connection():
    connection = conn()
    assert connection.assumed() is connection


def test_assumed_calls_sts_with_the_role_options():
    connection = conn(assume_role=AssumeRole(ROLE, external_id="ext", session_name="keyturn-test", duration_seconds=1800))
    with Stubber(connection.client("sts")) as stub:
        stub.add_response("assume_role", {"Credentials": {
            "AccessKeyId": "ASIAASSUMEDKEY000", "SecretAccessKey": "assumed-secret", "SessionToken": "assumed-token",
            "Expiration": datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc)}},
            {"RoleArn": ROLE, "RoleSessionName": "keyturn-test", "DurationSeconds": 1800, "ExternalId": "ext"})
        assumed = connection.assumed()
        stub.assert_no_pending_responses()
    credentials = assumed.client("sts")._request_signer._credentials
    assert (credentials.access_key, credentials.token) == ("ASIAASSUMEDKEY000", "assumed-token")
    assert assumed.params.assume_role is None


def test_assumed_role_in_another_partition_is_refused():
    connection = conn(region="cn-north-1", assume_role=AssumeRole(ROLE))
    with pytest.raises(PartitionError) as caught:
        connection.assumed()
    assert "roles can only be assumed within one partition" in caught.value.msg


def test_assume_role_refusal_is_translated():
    connection = conn(assume_role=AssumeRole(ROLE))
    with Stubber(connection.client("sts")) as stub:
        stub.add_client_error("assume_role", "AccessDenied", "not allowed", 403)
        with pytest.raises(AwsAccessDenied) as caught:
            connection.assumed()
    assert caught.value.msg == f"access denied while assuming role {ROLE} (AccessDenied: not allowed)"


def test_caller_identity():
    connection = conn()
    with Stubber(connection.client("sts")) as stub:
        stub.add_response("get_caller_identity", {"UserId": "AIDAX", "Account": "123456789012",
                                                  "Arn": "arn:aws:iam::123456789012:user/alice"})
        stub.add_client_error("get_caller_identity", "InvalidClientTokenId", "bad", 403)
        assert connection.caller_identity() == {"arn": "arn:aws:iam::123456789012:user/alice",
                                                "account": "123456789012", "user_id": "AIDAX"}
        with pytest.raises(AwsAuthError) as caught:
            connection.caller_identity("checking the task's credentials")
    assert caught.value.msg.startswith("AWS refused the credentials while checking the task's credentials (InvalidClientTokenId")


def test_client_factory_uses_this_identity():
    connection = conn()
    factory = connection.client_factory()
    assert factory("secretsmanager", None) is connection.client("secretsmanager")
    assert factory("ssm", "us-west-2") is connection.client("ssm", "us-west-2")


def test_aws_call_errors():
    assert aws_call_errors() == (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError)


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_kwargs):
        yield self.body


IDENTITY_XML = (b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
                b'<Arn>arn:aws:iam::123456789012:user/alice</Arn><UserId>AIDAALICE</UserId><Account>123456789012</Account>'
                b'</GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>'
                b'</GetCallerIdentityResponse>')


def signed_key_ids(client):
    """Answer every request of ``client`` locally; the access key id each one was signed with."""
    import botocore.awsrequest

    seen = []

    def answer(request, **_kwargs):
        auth = request.headers.get("Authorization", b"")
        auth = auth.decode() if isinstance(auth, bytes) else auth
        seen.append(auth.split("Credential=", 1)[1].split("/", 1)[0] if "Credential=" in auth else None)
        return botocore.awsrequest.AWSResponse(request.url, 200, {}, _Raw(IDENTITY_XML))

    client.meta.events.register("before-send", answer)
    return seen


def test_keyed_clients_share_one_botocore_client_and_sign_each_call_with_its_own_key():
    import threading

    c = conn(region="us-east-1", **KEYS)
    first = c.keyed_client("sts", "AKIDFIRST", "first-secret")
    second = c.keyed_client("sts", "AKIDSECOND", "second-secret")
    assert first._client is second._client  # one botocore client for every key
    seen = signed_key_ids(first._client)
    first.get_caller_identity()
    second.get_caller_identity()
    first.get_caller_identity()
    assert seen == ["AKIDFIRST", "AKIDSECOND", "AKIDFIRST"]
    # other threads sign with their own key at the same time
    errors = []

    def worker(index):
        try:
            for _attempt in range(20):
                c.keyed_client("sts", f"AKIDTHREAD{index}", "s").get_caller_identity()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(set(seen[3:])) == [f"AKIDTHREAD{i}" for i in range(4)] and len(seen) == 3 + 80
    # the connection's own clients still sign with the base key
    assert c.client("sts") is not first._client


def test_a_keyed_client_called_without_its_wrapper_never_signs_with_the_base_key():
    c = conn(region="us-east-1", **KEYS)
    keyed = c.keyed_client("sts", "AKIDNEW", "new-secret")
    seen = signed_key_ids(keyed._client)
    keyed._client.get_caller_identity()  # bypassing the wrapper: no key set for this thread
    keyed.get_caller_identity()
    assert seen[0] not in ("AKIDBASE", "AKIDNEW") and seen[1] == "AKIDNEW"


def test_keyed_clients_never_cross_partitions():
    with pytest.raises(PartitionError):
        conn(region="us-east-1", **KEYS).keyed_client("sts", "AKIDNEW", "s", region="cn-north-1")
