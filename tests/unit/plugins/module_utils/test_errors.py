# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One error tree and one translator of botocore errors (_errors.py)."""

from __future__ import annotations

import botocore.exceptions
import pytest

from ansible_collections.keyturn.aws.plugins.module_utils import _store_secretsmanager, _stores
from ansible_collections.keyturn.aws.plugins.module_utils._access_key_info import all_users
from ansible_collections.keyturn.aws.plugins.module_utils._errors import (
    AwsAccessDenied,
    AwsAuthError,
    AwsCallError,
    KeyturnError,
    TotpError,
    describe_store_call_error,
    translate_aws_error,
)
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import StoreError, StoreLocked, aws_store_error

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETKEY"


def client_error(code, message=""):
    return botocore.exceptions.ClientError({"Error": {"Code": code, "Message": message}}, "AnyOperation")


def test_one_error_tree_with_the_old_import_paths():
    assert issubclass(StoreError, KeyturnError) and issubclass(StoreLocked, StoreError)
    assert issubclass(TotpError, KeyturnError)
    assert _stores.StoreError is StoreError and _stores.StoreLocked is StoreLocked
    assert _store_secretsmanager.aws_store_error is aws_store_error
    error = StoreError("the store is unreadable")
    assert (error.msg, str(error), error.details) == ("the store is unreadable", "the store is unreadable", {})
    assert TotpError("bad seed").msg == "bad seed"


@pytest.mark.parametrize("exc, cls, text", [
    (client_error("InvalidClientTokenId", "bad key"), AwsAuthError, "AWS refused the credentials while rotating (InvalidClientTokenId: bad key)"),
    (client_error("InvalidSignatureException"), AwsAuthError, "AWS refused the credentials while rotating"),
    (client_error("AccessDenied", "not allowed"), AwsAccessDenied, "access denied while rotating (AccessDenied: not allowed)"),
    (client_error("LimitExceeded", "too many"), AwsCallError, "AWS error while rotating (LimitExceeded: too many)"),
    (client_error(""), AwsCallError, "could not reach AWS while rotating (ClientError:"),
    (botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), AwsCallError,
     "could not reach AWS while rotating (EndpointConnectionError: Could not connect"),
])
def test_translate_aws_error(exc, cls, text):
    error = translate_aws_error(exc, "rotating")
    assert error.__class__ is cls and error.msg.startswith(text)


HINTS = {"ResourceNotFoundException": "the secret does not exist"}


@pytest.mark.parametrize("exc, text", [
    (client_error("ResourceNotFoundException", SECRET), "sm GetSecretValue on k/x failed: ResourceNotFoundException: the secret does not exist"),
    (client_error("AccessDeniedException", "user/bob may not"),
     "sm GetSecretValue on k/x failed: AccessDeniedException (user/bob may not): the store's AWS identity needs sm:GetSecretValue on k/x"),
    (client_error("TooManyUpdates", SECRET), "sm GetSecretValue on k/x failed: TooManyUpdates: AWS throttled the store's calls"),
    (client_error("ThrottlingException", SECRET), "sm GetSecretValue on k/x failed: ThrottlingException: AWS throttled the store's calls"),
    (client_error("ExpiredTokenException", SECRET), "sm GetSecretValue on k/x failed: ExpiredTokenException: the credentials used for the store"),
    (client_error("InvalidSignatureException", SECRET), "sm GetSecretValue on k/x failed: InvalidSignatureException: the credentials"),
    (client_error("ValidationException", "value " + SECRET + " too long"), "sm GetSecretValue on k/x failed: ValidationException"),
    (client_error("", SECRET), "sm GetSecretValue on k/x failed: UnknownError"),
    (botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
     'sm GetSecretValue on k/x failed: EndpointConnectionError: Could not connect to the endpoint URL: "http://127.0.0.1:1"'),
    (botocore.exceptions.ParamValidationError(report="SecretString " + SECRET), "sm GetSecretValue on k/x failed: ParamValidationError"),
])
def test_store_call_errors_never_quote_what_may_echo_a_secret(exc, text):
    msg = describe_store_call_error("sm", "GetSecretValue", "k/x", exc, HINTS)
    assert msg.startswith(text)
    assert SECRET not in msg
    error = aws_store_error("sm", "GetSecretValue", "k/x", exc, HINTS)
    assert isinstance(error, StoreError) and error.msg == msg


def test_listing_users_is_wrapped(aws):
    aws.iam_stub.add_client_error("list_users", "AccessDenied", "no iam:ListUsers", 403)
    with pytest.raises(AwsAccessDenied) as caught:
        all_users(aws.iam, "/team/")
    assert caught.value.msg == "access denied while listing the IAM users under /team/ (AccessDenied: no iam:ListUsers)"


def test_listing_users_follows_pages(aws):
    from protocol_fakes import days_ago

    def user(name):
        return {"UserName": name, "UserId": "AIDA" + "X" * 16, "Arn": f"arn:aws:iam::123456789012:user/{name}",
                "Path": "/", "CreateDate": days_ago(1)}
    aws.iam_stub.add_response("list_users", {"Users": [user("a")], "IsTruncated": True, "Marker": "m"},
                              {"PathPrefix": "/"})
    aws.iam_stub.add_response("list_users", {"Users": [user("b")], "IsTruncated": False},
                              {"PathPrefix": "/", "Marker": "m"})
    assert all_users(aws.iam, "/") == ["a", "b"]
    aws.done()
