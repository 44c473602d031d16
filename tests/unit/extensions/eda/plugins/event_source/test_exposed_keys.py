# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The keyturn.aws.exposed_keys event source: parsing (pure) and the SQS loop with a fake client."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os

import pytest

ROOT = os.path.dirname(os.path.abspath(__file__))
for _ in range(6):
    ROOT = os.path.dirname(ROOT)
PATH = os.path.join(ROOT, "extensions", "eda", "plugins", "event_source", "exposed_keys.py")
SPEC = importlib.util.spec_from_file_location("keyturn_exposed_keys", PATH)
source = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(source)

KEY = "AKIAIOSFODNN7EXAMPLE"
KEY2 = "AKIAI44QH8DHBEXAMPLE"


def health(code="AWS_RISK_CREDENTIALS_EXPOSED", keys=(KEY,), service="RISK", event_id="e-1"):
    return {
        "version": "0", "id": event_id, "detail-type": "AWS Health Event", "source": "aws.health",
        "account": "123456789012", "time": "2026-12-04T10:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {
            "eventArn": f"arn:aws:health:global::event/RISK/{code}/{code}_{event_id}",
            "service": service, "eventTypeCode": code, "eventTypeCategory": "issue",
            "startTime": "Fri, 4 Dec 2026 09:59:00 GMT",
            "eventDescription": [{"language": "en_US", "latestDescription": "exposed"}],
            "affectedEntities": [{"entityValue": k} for k in keys],
        },
    }


def guardduty(key=KEY2, user_type="IAMUser", user="ci-deployer", finding_id="f-1"):
    return {
        "version": "0", "id": "gd-envelope-1", "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
        "account": "123456789012", "time": "2026-12-04T11:00:00Z", "region": "us-east-1",
        "detail": {
            "schemaVersion": "2.0", "accountId": "123456789012", "id": finding_id,
            "type": "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
            "resource": {"resourceType": "AccessKey", "accessKeyDetails": {
                "accessKeyId": key, "principalId": "AIDAEXAMPLE", "userName": user, "userType": user_type}},
            "updatedAt": "2026-12-04T10:59:00Z",
        },
    }


def test_health_event_gives_one_event_per_key():
    parsed = source.parse_message(json.dumps(health(keys=[KEY, KEY2, "not-a-key", KEY])), "m-1", "2026-12-04T10:00:05Z")
    assert parsed.kind == "events"
    assert [e["keyturn"]["access_key_id"] for e in parsed.events] == [KEY, KEY2]
    event = parsed.events[0]["keyturn"]
    assert event == {
        "type": "exposed_key", "access_key_id": KEY, "account_id": "123456789012", "source": "aws.health",
        "event_type": "AWS_RISK_CREDENTIALS_EXPOSED", "event_time": "2026-12-04T10:00:00Z",
        "event_id": "arn:aws:health:global::event/RISK/AWS_RISK_CREDENTIALS_EXPOSED/AWS_RISK_CREDENTIALS_EXPOSED_e-1",
        "message_id": "m-1", "received_at": "2026-12-04T10:00:05Z",
    }
    assert "user_name" not in event  # Health events do not name the user


def test_organizational_view_names_the_affected_account():
    event = health()
    event["account"] = "999999999999"
    event["detail"]["affectedAccount"] = "123456789012"
    assert source.parse_message(json.dumps(event)).events[0]["keyturn"]["account_id"] == "123456789012"


@pytest.mark.parametrize("code", sorted(source.HEALTH_TYPES))
def test_every_risk_type_is_an_exposure(code):
    parsed = source.parse_message(json.dumps(health(code=code)))
    assert parsed.kind == "events" and parsed.events[0]["keyturn"]["event_type"] == code


def test_other_health_events_are_ignored_not_left():
    assert source.parse_message(json.dumps(health(code="AWS_EC2_INSTANCE_RETIREMENT", service="EC2"))).kind == "ignored"
    assert source.parse_message(json.dumps(health(code="AWS_RISK_SOMETHING_ELSE"))).kind == "ignored"
    assert source.parse_message(json.dumps(health(keys=["arn:aws:iam::123456789012:user/x"]))).kind == "ignored"


def test_guardduty_finding_names_key_and_user():
    parsed = source.parse_message(json.dumps(guardduty()), "m-2", "now")
    assert parsed.kind == "events"
    assert parsed.events[0]["keyturn"] == {
        "type": "exposed_key", "access_key_id": KEY2, "account_id": "123456789012", "user_name": "ci-deployer",
        "source": "aws.guardduty", "event_type": "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS",
        "event_time": "2026-12-04T11:00:00Z", "event_id": "f-1", "message_id": "m-2", "received_at": "now",
    }


def test_guardduty_session_credentials_are_ignored():
    assert source.parse_message(json.dumps(guardduty(user_type="AssumedRole"))).kind == "ignored"
    assert source.parse_message(json.dumps(guardduty(key="ASIAIOSFODNN7EXAMPLE"))).kind == "ignored"
    finding = guardduty()
    del finding["detail"]["resource"]["accessKeyDetails"]
    assert source.parse_message(json.dumps(finding)).kind == "ignored"


def test_sns_wrapped_event_is_unwrapped():
    body = json.dumps({"Type": "Notification", "MessageId": "sns-1", "Message": json.dumps(health())})
    parsed = source.parse_message(body)
    assert parsed.kind == "events" and parsed.events[0]["keyturn"]["access_key_id"] == KEY


@pytest.mark.parametrize("body", [
    "", "not json", "[1, 2]", "null", json.dumps({"hello": "world"}), json.dumps({"source": "aws.health"}),
    json.dumps({"source": "aws.s3", "detail": {}}), b"\xff\xfe", None, 42,
    json.dumps({"Type": "Notification", "Message": "{broken"}),
    json.dumps({**health(), "detail": {**health()["detail"], "eventArn": None}, "id": None}),
])
def test_junk_is_unknown_and_never_raises(body):
    parsed = source.parse_message(body)
    assert parsed.kind == "unknown" and parsed.events == [] and parsed.reason


def test_duplicates_are_emitted_once():
    dedup = source.Deduplicator(limit=3)
    first = source.parse_message(json.dumps(health(keys=[KEY, KEY2]))).events
    assert len(dedup.fresh(first)) == 2
    again = source.parse_message(json.dumps(health(keys=[KEY, KEY2]))).events  # SQS delivered it again
    assert dedup.fresh(again) == []
    update = source.parse_message(json.dumps(health(keys=[KEY], event_id="e-1"))).events
    assert dedup.fresh(update) == []  # same Health event (eventArn), same key
    other = source.parse_message(json.dumps(health(keys=[KEY], event_id="e-2"))).events
    assert len(dedup.fresh(other)) == 1
    for index in range(5):  # the memory is bounded
        dedup.fresh(source.parse_message(json.dumps(guardduty(finding_id=f"f-{index}"))).events)
    assert len(dedup._seen) == 3


class FakeSqs:
    """receive_message hands out the given batches, then cancels the loop; records deletes and the order."""

    def __init__(self, batches, log):
        self.batches = list(batches)
        self.log = log
        self.deleted = []

    def receive_message(self, **kwargs):
        assert kwargs["QueueUrl"] == "https://queue"
        if not self.batches:
            raise asyncio.CancelledError()
        return {"Messages": self.batches.pop(0)}

    def delete_message(self, QueueUrl, ReceiptHandle):
        self.deleted.append(ReceiptHandle)
        self.log.append(("delete", ReceiptHandle))


class RecordingQueue:
    def __init__(self, log):
        self.log = log
        self.items = []

    async def put(self, item):
        self.items.append(item)
        self.log.append(("put", item["keyturn"]["access_key_id"]))


def run_source(batches, monkeypatch):
    log = []
    fake = FakeSqs(batches, log)
    monkeypatch.setattr(source, "sqs_client", lambda args: fake)
    queue = RecordingQueue(log)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(source.main(queue, {"queue_url": "https://queue", "wait_seconds": 0}))
    return fake, queue, log


def test_loop_puts_before_deleting_leaves_unknown_and_deduplicates(monkeypatch):
    message = {"MessageId": "m1", "ReceiptHandle": "r1", "Body": json.dumps(health())}
    duplicate = {"MessageId": "m1", "ReceiptHandle": "r2", "Body": json.dumps(health())}
    junk = {"MessageId": "m2", "ReceiptHandle": "r3", "Body": "junk"}
    ignored = {"MessageId": "m3", "ReceiptHandle": "r4", "Body": json.dumps(guardduty(user_type="AssumedRole"))}
    finding = {"MessageId": "m4", "ReceiptHandle": "r5", "Body": json.dumps(guardduty())}
    fake, queue, log = run_source([[message, junk], [duplicate, ignored, finding]], monkeypatch)
    assert [i["keyturn"]["access_key_id"] for i in queue.items] == [KEY, KEY2]
    assert log[:2] == [("put", KEY), ("delete", "r1")]  # handed on first, deleted after
    assert log.index(("put", KEY2)) < log.index(("delete", "r5"))
    assert fake.deleted == ["r1", "r2", "r4", "r5"]  # the junk (r3) stays for the redrive policy


@pytest.mark.parametrize("args, message", [
    ({}, "queue_url is required"),
    ({"queue_url": "https://queue", "wait_seconds": 30}, "wait_seconds must be from 0 to 20"),
    ({"queue_url": "https://queue", "max_messages": "many"}, "max_messages must be a whole number"),
])
def test_bad_options_are_clear(args, message):
    with pytest.raises(ValueError, match=message):
        asyncio.run(source.main(RecordingQueue([]), args))


def test_client_options(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAENVIRONMENT00000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x" * 40)
    client = source.sqs_client({"queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/q"})
    assert client.meta.region_name == "eu-west-1"
    client = source.sqs_client({"queue_url": "http://127.0.0.1:1/q",
                                "aws": {"region": "us-west-2", "endpoint_url": "http://127.0.0.1:1"}})
    assert client.meta.region_name == "us-west-2" and client.meta.endpoint_url == "http://127.0.0.1:1"
    with pytest.raises(ValueError, match="unknown keys in aws: colour"):
        source.sqs_client({"queue_url": "q", "aws": {"colour": "red"}})


def test_documentation_lists_every_option():
    import yaml

    doc = yaml.safe_load(source.DOCUMENTATION)
    assert set(doc["options"]) == {"queue_url", "region", "endpoint_url", "access_key", "secret_key", "session_token",
                                   "profile", "aws", "wait_seconds", "max_messages", "visibility_timeout"}
    assert doc["options"]["queue_url"]["required"] is True
    assert yaml.safe_load(source.EXAMPLES)[0]["sources"][0]["keyturn.aws.exposed_keys"]["queue_url"]
