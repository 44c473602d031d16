# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IAM key calls and STS verification (_iam_keys.py) against Stubber-backed clients."""

from __future__ import annotations

import datetime

import botocore.exceptions
import pytest

from ansible_collections.keyturn.aws.plugins.module_utils._errors import AwsAccessDenied, AwsAuthError, AwsCallError
from ansible_collections.keyturn.aws.plugins.module_utils._iam_keys import (
    AmbiguousCreate,
    IamKey,
    call,
    confirm_refused,
    create_key,
    delete_key,
    is_user_arn,
    list_keys,
    parse_time,
    set_status,
    verify_key,
)
from protocol_fakes import ACCOUNT, NOW, FakeConnection, days_ago, key_id

USER = "alice"
K1, K2 = key_id(1), key_id(2)


class Clock:
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waits = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.mark.parametrize("text, expected", [
    (None, None),
    ("", None),
    ("not a time", None),
    ("2026-01-02T03:04:05Z", datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)),
    ("2026-01-02T03:04:05", datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)),
    ("2026-01-02T05:04:05+02:00", datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)),
])
def test_parse_time(text, expected):
    assert parse_time(text) == expected


def test_key_age():
    key = IamKey(K1, "Active", NOW - datetime.timedelta(days=3, hours=12))
    assert key.age_days(NOW) == 3.5
    assert 3.4 < key.age_days() < 3.6


def test_list_keys_makes_created_times_aware(aws):
    aws.list_keys(USER, (K1, "Active", days_ago(2)), (K2, "Inactive", days_ago(1)))
    keys = list_keys(aws.iam, USER)
    aws.done()
    assert [(k.access_key_id, k.status) for k in keys] == [(K1, "Active"), (K2, "Inactive")]
    assert all(k.created.tzinfo is not None for k in keys)


@pytest.mark.parametrize("code, status, error, text", [
    ("InvalidClientTokenId", 403, AwsAuthError, "AWS refused the credentials while listing the access keys of alice"),
    ("AccessDenied", 403, AwsAccessDenied, "access denied while listing the access keys of alice (AccessDenied: injected)"),
    ("NoSuchEntity", 404, AwsCallError, "AWS error while listing the access keys of alice (NoSuchEntity: injected)"),
])
def test_call_translates_aws_errors(aws, code, status, error, text):
    aws.iam_stub.add_client_error("list_access_keys", code, "injected", status)
    with pytest.raises(error) as caught:
        list_keys(aws.iam, USER)
    assert caught.value.msg.startswith(text) and caught.value.details["code"] == code


def test_call_translates_botocore_errors():
    def boom(**kwargs):
        raise botocore.exceptions.EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
    with pytest.raises(AwsCallError) as caught:
        call("doing it", boom)
    assert caught.value.msg.startswith("could not reach AWS while doing it (EndpointConnectionError:")


# -- CreateAccessKey without automatic retries -------------------------------------------

def test_create_retries_only_throttling(aws):
    aws.create_error(USER, "Throttling", 400).create_error(USER, "ThrottlingException", 400)
    aws.create(USER, K1, "secret-1")
    waits = []
    new = create_key(aws.iam, USER, sleep=waits.append)
    aws.done()
    assert new == {"access_key_id": K1, "secret_access_key": "secret-1", "created": NOW}
    assert waits == [0.2, 0.4]


def test_create_throttled_every_time_reports_the_throttling(aws):
    for _attempt in range(3):
        aws.create_error(USER, "Throttling", 400)
    with pytest.raises(AwsCallError) as caught:
        create_key(aws.iam, USER, attempts=3, sleep=lambda s: None)
    aws.done()
    assert "Throttling" in caught.value.msg


@pytest.mark.parametrize("code", ["InternalFailure", "ServiceUnavailable", "InternalError"])
def test_create_without_a_clear_answer_is_ambiguous(aws, code):
    aws.create_error(USER, code)
    with pytest.raises(AmbiguousCreate) as caught:
        create_key(aws.iam, USER)
    aws.done()
    assert caught.value.msg == f"no clear answer to CreateAccessKey for {USER} ({code})"


def test_a_lost_response_is_ambiguous():
    class LostResponse:
        def create_access_key(self, **kwargs):
            raise botocore.exceptions.ReadTimeoutError(endpoint_url="http://127.0.0.1:1")
    with pytest.raises(AmbiguousCreate) as caught:
        create_key(LostResponse(), USER)
    assert caught.value.msg == f"no clear answer to CreateAccessKey for {USER} (ReadTimeoutError)"


@pytest.mark.parametrize("code, error", [("LimitExceeded", AwsCallError), ("AccessDenied", AwsAccessDenied)])
def test_create_refused_is_a_clear_error(aws, code, error):
    aws.create_error(USER, code, 409)
    with pytest.raises(error) as caught:
        create_key(aws.iam, USER)
    assert f"creating an access key for {USER}" in caught.value.msg


def test_delete_of_a_missing_key_is_done(aws):
    aws.delete_error(USER, K1, "NoSuchEntity", 404)
    delete_key(aws.iam, USER, K1)
    aws.done()


def test_delete_refused_raises(aws):
    aws.delete_error(USER, K1, "AccessDenied", 403)
    with pytest.raises(AwsAccessDenied) as caught:
        delete_key(aws.iam, USER, K1)
    assert f"deleting access key {K1} of {USER}" in caught.value.msg


def test_set_status(aws):
    aws.set_status(USER, K1, "Inactive")
    set_status(aws.iam, USER, K1, "Inactive")
    aws.done()


@pytest.mark.parametrize("arn, matches", [
    (f"arn:aws:iam::{ACCOUNT}:user/alice", True),
    (f"arn:aws:iam::{ACCOUNT}:user/team/dev/alice", True),
    (f"arn:aws:iam::{ACCOUNT}:user/alice2", False),
    (f"arn:aws:iam::{ACCOUNT}:user/team/alice/bob", False),
    (f"arn:aws-cn:iam::{ACCOUNT}:user/alice", False),
    ("arn:aws:iam::210987654321:user/alice", False),
    (f"arn:aws:sts::{ACCOUNT}:assumed-role/alice/x", False),
    (f"arn:aws:iam::{ACCOUNT}:user/x:y/alice", False),
    (f"arn:aws:iam::{ACCOUNT}:user/", False),
    (f"arn:aws:iam::{ACCOUNT}:user/xalice", False),
    (f"arn:aws:iam::{ACCOUNT}:role/alice", False),
    (f"arn:aws:iam::{ACCOUNT}:user/alice/", False),
    ("", False),
    (None, False),
])
def test_is_user_arn(arn, matches):
    assert is_user_arn(arn, "aws", ACCOUNT, USER) is matches


# -- verification quorum -------------------------------------------------------------------

OK, NO = "ok", "refused"


@pytest.mark.parametrize("answers, successes, timeout, ok, attempts, waits", [
    ([OK], 1, 0, True, 1, []),
    ([OK, OK], 2, 0, True, 2, [0.5]),
    ([OK, OK, OK], 3, 0, True, 3, [0.5, 0.5]),
    # IAM propagation: refusals are retried within the time budget
    ([NO, NO, OK, OK], 2, 10, True, 4, [1.0, 1.0, 0.5]),
    # the successes must be consecutive: a refusal starts the count again
    ([OK, NO, OK, OK], 2, 10, True, 4, [0.5, 1.0, 0.5]),
    # the budget runs out: attempts at 0, 1, 2 and 3 seconds
    ([NO, NO, NO, NO], 1, 3, False, 4, [1.0, 1.0, 1.0]),
    ([NO], 2, 0, False, 1, []),
    ([OK, NO], 2, 0.5, False, 2, [0.5]),
])
def test_verify_quorum(aws, answers, successes, timeout, ok, attempts, waits):
    for answer in answers:
        aws.identity(USER) if answer == OK else aws.refused()
    clock = Clock()
    result = verify_key(FakeConnection(aws), K1, "s", partition="aws", account_id=ACCOUNT, user=USER,
                        successes=successes, timeout=timeout, interval=1.0, sleep=clock.sleep, clock=clock)
    aws.done()
    assert (result.ok, result.attempts, clock.waits) == (ok, attempts, waits)
    assert result.refused is (not ok)
    if ok:
        assert result.arn == f"arn:aws:iam::{ACCOUNT}:user/{USER}" and result.reason == "authenticates"
    else:
        assert result.reason == f"STS refused the key (InvalidClientTokenId) after {attempts} attempt(s) within {timeout:g}s"
    assert ("sts", K1, True) in aws.asked


def test_verify_stops_at_the_wrong_identity(aws):
    aws.identity("bob")
    result = verify_key(FakeConnection(aws), K1, "s", partition="aws", account_id=ACCOUNT, user=USER, successes=3,
                        timeout=60)
    aws.done()
    assert not result.ok and not result.refused and result.attempts == 1
    assert result.reason == f"the key authenticates as arn:aws:iam::{ACCOUNT}:user/bob, not as {USER} in account {ACCOUNT} (aws)"


def test_verify_raises_on_other_errors(aws):
    aws.sts_stub.add_client_error("get_caller_identity", "AccessDenied", "no", 403)
    with pytest.raises(AwsAccessDenied) as caught:
        verify_key(FakeConnection(aws), K1, "s", partition="aws", account_id=ACCOUNT, user=USER, timeout=60)
    assert f"verifying access key {K1} of {USER}" in caught.value.msg


@pytest.mark.parametrize("answers, timeout, refused, waits", [
    ([NO], 5, True, []),
    ([OK, OK, NO], 5, True, [1.0, 1.0]),
    ([OK, OK, OK], 2, False, [1.0, 1.0]),
])
def test_confirm_refused(aws, answers, timeout, refused, waits):
    for answer in answers:
        aws.identity(USER) if answer == OK else aws.refused("InvalidClientTokenId")
    clock = Clock()
    assert confirm_refused(FakeConnection(aws), K1, "s", timeout=timeout, sleep=clock.sleep, clock=clock) is refused
    aws.done()
    assert clock.waits == waits


def test_confirm_refused_raises_on_other_errors(aws):
    aws.sts_stub.add_client_error("get_caller_identity", "InternalError", "x", 500)
    with pytest.raises(AwsCallError) as caught:
        confirm_refused(FakeConnection(aws), K1, "s", timeout=0)
    assert f"confirming that retired key {K1} is refused" in caught.value.msg
