# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A throttled call is retried beyond botocore's budget (_throttle_retry.py), through real botocore clients."""

from __future__ import annotations

import http.server
import threading
import types

import botocore.exceptions
import pytest

from ansible_collections.keyturn.aws.plugins.module_utils import _throttle_retry
from ansible_collections.keyturn.aws.plugins.module_utils._connection import AwsConnection, ConnectionParams
from ansible_collections.keyturn.aws.plugins.module_utils._errors import THROTTLE_CODES
from ansible_collections.keyturn.aws.plugins.module_utils._throttle_retry import (
    MAX_DELAY,
    THROTTLE_ATTEMPTS,
    is_throttled,
    throttle_delay,
)


def answer(code=None, status=400):
    parsed = {"Error": {"Code": code, "Message": "m"}} if code else {"ResponseMetadata": {}}
    return (types.SimpleNamespace(status_code=status if code else 200), parsed)


# -- the decision ----------------------------------------------------------------------------

@pytest.mark.parametrize("code", sorted(THROTTLE_CODES))
def test_every_throttling_code_is_retried(code):
    assert is_throttled(answer(code))
    assert throttle_delay(5, answer(code), rand=lambda: 0.5) == 8.0


def test_http_429_is_throttling_whatever_the_code():
    assert is_throttled(answer("SlowDownPlease", status=429))


@pytest.mark.parametrize("code", ["AccessDenied", "InvalidClientTokenId", "InternalError", "ServiceUnavailable",
                                  "NoSuchEntity", "ResourceNotFoundException"])
def test_other_errors_are_left_to_botocore(code):
    assert not is_throttled(answer(code))
    assert throttle_delay(1, answer(code)) is None


def test_success_no_answer_and_odd_shapes_are_not_throttling():
    assert throttle_delay(1, answer()) is None
    assert throttle_delay(1, None) is None
    assert not is_throttled("Throttling")
    assert not is_throttled((None, "Throttling"))
    assert not is_throttled((None, {"Error": "Throttling"}))


def test_back_off_is_full_jitter_exponential_capped():
    assert throttle_delay(1, answer("Throttling"), rand=lambda: 1.0) == 1.0
    assert throttle_delay(3, answer("Throttling"), rand=lambda: 1.0) == 4.0
    assert throttle_delay(4, answer("Throttling"), rand=lambda: 0.25) == 2.0
    assert throttle_delay(12, answer("Throttling"), rand=lambda: 1.0) == MAX_DELAY
    assert throttle_delay(2, answer("Throttling"), rand=lambda: 0.0) == 0.0


def test_it_stops_after_throttle_attempts_in_all():
    assert throttle_delay(THROTTLE_ATTEMPTS - 1, answer("Throttling")) is not None
    assert throttle_delay(THROTTLE_ATTEMPTS, answer("Throttling")) is None


# -- through a real botocore client, against a local HTTP server -------------------------------

IDENTITY = (
    '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
    "<Arn>arn:aws:iam::123456789012:user/alice</Arn><UserId>AIDAALICE</UserId><Account>123456789012</Account>"
    "</GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
)
CREATED = (
    '<CreateAccessKeyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CreateAccessKeyResult><AccessKey>'
    "<UserName>alice</UserName><AccessKeyId>AKIANEWKEY0000000001</AccessKeyId><Status>Active</Status>"
    "<SecretAccessKey>new-secret</SecretAccessKey><CreateDate>2026-12-05T00:00:00Z</CreateDate></AccessKey>"
    "</CreateAccessKeyResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></CreateAccessKeyResponse>"
)


def error_body(code):
    return ('<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>m</Message></Error>'
            '<RequestId>r</RequestId></ErrorResponse>' % code)


class FakeAws(http.server.ThreadingHTTPServer):
    """Answers ``errors`` (status, code) in turn, then ``success`` for good."""

    def __init__(self, errors, success):
        super().__init__(("127.0.0.1", 0), Handler)
        self.errors = list(errors)
        self.success = success
        self.requests = 0


class Handler(http.server.BaseHTTPRequestHandler):
    server: FakeAws

    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests += 1
        if self.server.errors:
            status, code = self.server.errors.pop(0)
            body = error_body(code)
        else:
            status, body = 200, self.server.success
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_aws(monkeypatch):
    monkeypatch.setattr(_throttle_retry, "MAX_DELAY", 0.0)  # no real waiting in unit tests
    servers = []

    def start(errors, success=IDENTITY):
        server = FakeAws(errors, success)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def connection(server):
    # max_attempts=0: botocore itself never retries, so every retry seen here is the throttle handler's.
    params = ConnectionParams(access_key="AKIDBASE", secret_key="base-secret", region="us-east-1",
                              endpoint_url="http://127.0.0.1:%d" % server.server_address[1])
    return AwsConnection(params, retry_mode="standard", max_attempts=0)


def test_a_call_throttled_ten_times_gets_through(fake_aws):
    server = fake_aws([(400, "Throttling")] * 10)
    assert connection(server).client("sts").get_caller_identity()["Account"] == "123456789012"
    assert server.requests == 11


def test_a_call_throttled_for_good_fails_with_the_throttling_after_every_attempt(fake_aws):
    server = fake_aws([(400, "Throttling")] * 50)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        connection(server).client("sts").get_caller_identity()
    assert caught.value.response["Error"]["Code"] == "Throttling"
    assert server.requests == THROTTLE_ATTEMPTS


@pytest.mark.parametrize("status, code", [(500, "InternalError"), (403, "AccessDenied"), (503, "ServiceUnavailable")])
def test_other_errors_are_not_retried_by_it(fake_aws, status, code):
    server = fake_aws([(status, code)] * 3)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        connection(server).client("sts").get_caller_identity()
    assert caught.value.response["Error"]["Code"] == code
    assert server.requests == 1


def test_the_client_without_retries_still_retries_throttling_and_nothing_else(fake_aws):
    server = fake_aws([(400, "Throttling"), (429, "TooManyRequestsException")], success=CREATED)
    iam = connection(server).client("iam", retries=False)
    assert iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"] == "AKIANEWKEY0000000001"
    assert server.requests == 3
    failing = fake_aws([(500, "InternalError"), (400, "Throttling")], success=CREATED)
    with pytest.raises(botocore.exceptions.ClientError):
        connection(failing).client("iam", retries=False).create_access_key(UserName="alice")
    assert failing.requests == 1  # a call without a clear answer is never sent twice
