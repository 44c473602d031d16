# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""keyturn.aws.exposed_keys: an ansible-rulebook event source for exposed IAM access keys.

Self-contained on purpose (ansible-rulebook loads the file by path): boto3 and the
standard library only.  The parsing (:func:`parse_message`) is a pure function.
"""

from __future__ import annotations

import asyncio
import collections
import datetime
import functools
import json
import logging
import re
import typing as t

DOCUMENTATION = r"""
---
author:
  - keyturn.aws developers (@keyturn)
short_description: Exposed IAM access keys from AWS Health and GuardDuty, read from an SQS queue
description:
  - An ansible-rulebook event source plugin. It long-polls an SQS queue, the target of an EventBridge rule for
    AWS Health C(RISK) events and GuardDuty findings, and puts one normalised event per exposed access key on
    the rulebook's queue.
  - "AWS Health events of service C(RISK) with the type codes C(AWS_RISK_CREDENTIALS_EXPOSED),
    C(AWS_RISK_CREDENTIALS_EXPOSURE_SUSPECTED), C(AWS_RISK_CREDENTIALS_COMPROMISED),
    C(AWS_RISK_CREDENTIALS_COMPROMISE_SUSPECTED) and C(AWS_RISK_IAM_QUARANTINE) name the key in
    C(detail.affectedEntities[].entityValue)."
  - GuardDuty findings that carry C(resource.accessKeyDetails.accessKeyId) of an C(IAMUser) name the key and
    the user.
  - "Each event is C({keyturn: {type: exposed_key, access_key_id, account_id, user_name, source, event_type,
    event_time, event_id, message_id, received_at}}). C(user_name) is present when the message names the user
    (GuardDuty); C(event_id) is the AWS Health event ARN or the GuardDuty finding id, stable across updates."
  - A message is deleted from SQS only after its events were put on the rulebook's queue. A message that is an
    AWS event without an exposed IAM user key (for example a finding about a role session) is logged and
    deleted. A message that cannot be understood is logged and left in the queue, so the queue's redrive
    policy moves it to a dead-letter queue.
  - The same event id and key are emitted once per source run, however often SQS delivers the message.
  - SNS notifications (an SQS queue subscribed to an SNS topic) are unwrapped.
  - Credentials come from the options or, as in botocore, from the environment, a profile or an instance role.
    Blocking boto3 calls run in a thread executor.
options:
  queue_url:
    description:
      - URL of the SQS queue that receives the events.
    type: str
    required: true
  region:
    description:
      - AWS region of the queue. Defaults to the region in the queue URL, then to the environment.
    type: str
  endpoint_url:
    description:
      - URL to use instead of the default SQS endpoint (for example a VPC endpoint or a test server).
    type: str
  access_key:
    description:
      - AWS access key ID. Prefer the environment (C(AWS_ACCESS_KEY_ID)) or a profile.
    type: str
  secret_key:
    description:
      - AWS secret access key. Prefer the environment (C(AWS_SECRET_ACCESS_KEY)) or a profile.
    type: str
  session_token:
    description:
      - AWS session token for temporary credentials.
    type: str
  profile:
    description:
      - Named profile of the AWS config files.
    type: str
  aws:
    description:
      - The collection's connection options as one dict (for example the rulebook variable C(keyturn_aws)), with the
        keys C(region), C(endpoint_url), C(access_key), C(secret_key), C(session_token) and C(profile).
      - Options given directly take precedence. C(aws_ca_bundle) and C(validate_certs) apply too; C(assume_role) is
        accepted and not used (the queue is read with the base credentials, like the stores).
    type: dict
  wait_seconds:
    description:
      - SQS long-polling time per receive call (0 to 20).
    type: int
    default: 20
  max_messages:
    description:
      - Messages per receive call (1 to 10).
    type: int
    default: 10
  visibility_timeout:
    description:
      - Seconds a received message stays hidden from other consumers; unset uses the queue's setting.
    type: int
"""

EXAMPLES = r"""
- name: Respond to exposed access keys
  hosts: localhost
  sources:
    - keyturn.aws.exposed_keys:
        queue_url: https://sqs.us-east-1.amazonaws.com/123456789012/keyturn-exposed-keys
        region: us-east-1
  rules:
    - name: Replace an exposed key
      condition: event.keyturn.type == "exposed_key"
      action:
        run_playbook:
          name: keyturn.aws.respond_exposed_key
          extra_vars:
            access_key_id: "{{ event.keyturn.access_key_id }}"
"""

LOG = logging.getLogger(__name__)

HEALTH_TYPES = frozenset((
    "AWS_RISK_CREDENTIALS_EXPOSED",
    "AWS_RISK_CREDENTIALS_EXPOSURE_SUSPECTED",
    "AWS_RISK_CREDENTIALS_COMPROMISED",
    "AWS_RISK_CREDENTIALS_COMPROMISE_SUSPECTED",
    "AWS_RISK_IAM_QUARANTINE",
))
# Long-term IAM user access key ids (AKIA...); temporary credentials (ASIA...) belong to sessions, not users.
ACCESS_KEY_ID = re.compile(r"^AKIA[A-Z0-9]{12,124}$")
ACCOUNT_ID = re.compile(r"^\d{12}$")
CONNECTION_KEYS = ("region", "endpoint_url", "access_key", "secret_key", "session_token", "profile")
SEEN_LIMIT = 10000


class Parsed(t.NamedTuple):
    """What a message is: ``kind`` is ``events`` (emit them), ``ignored`` (an AWS event that names no
    exposed IAM user key: delete it) or ``unknown`` (not understood: leave it to the redrive policy)."""

    kind: str
    events: t.List[t.Dict[str, t.Any]]
    reason: str


def _text(value: t.Any) -> t.Optional[str]:
    return value if isinstance(value, str) and value else None


def _account(*candidates: t.Any) -> t.Optional[str]:
    for value in candidates:
        if isinstance(value, str) and ACCOUNT_ID.match(value):
            return value
    return None


def _unwrap(body: t.Any) -> t.Any:
    """The EventBridge event inside an SQS body (JSON text, possibly an SNS notification)."""
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except ValueError:
            return None
    if isinstance(body, dict) and body.get("Type") == "Notification" and isinstance(body.get("Message"), str):
        try:
            return json.loads(body["Message"])
        except ValueError:
            return None
    return body


def _event(key_id: str, account: t.Optional[str], user: t.Optional[str], source: str, event_type: t.Optional[str],
           event_time: t.Optional[str], event_id: str, message_id: t.Optional[str], received_at: str) -> t.Dict[str, t.Any]:
    data: t.Dict[str, t.Any] = {
        "type": "exposed_key", "access_key_id": key_id, "account_id": account, "source": source,
        "event_type": event_type, "event_time": event_time, "event_id": event_id, "message_id": message_id,
        "received_at": received_at,
    }
    if user:
        data["user_name"] = user
    return {"keyturn": data}


def _health(event: t.Mapping[str, t.Any], detail: t.Mapping[str, t.Any], message_id: t.Optional[str],
            received_at: str) -> Parsed:
    code = _text(detail.get("eventTypeCode"))
    if detail.get("service") != "RISK" or code not in HEALTH_TYPES:
        return Parsed("ignored", [], f"AWS Health event {code or '(no type code)'} of service "
                                     f"{detail.get('service')!r} is not about exposed credentials")
    entities = detail.get("affectedEntities")
    keys: t.List[str] = []
    for entity in entities if isinstance(entities, list) else []:
        value = entity.get("entityValue") if isinstance(entity, dict) else None
        if isinstance(value, str) and ACCESS_KEY_ID.match(value.strip()) and value.strip() not in keys:
            keys.append(value.strip())
    if not keys:
        return Parsed("ignored", [], f"AWS Health event {code} names no IAM user access key in affectedEntities")
    event_id = _text(detail.get("eventArn")) or _text(event.get("id"))
    if not event_id:
        return Parsed("unknown", [], f"AWS Health event {code} has neither an eventArn nor an id")
    # An organizational view's event comes from the management (or delegated) account: the key's account is affectedAccount.
    account = _account(detail.get("affectedAccount"), event.get("account"))
    when = _text(event.get("time")) or _text(detail.get("startTime"))
    return Parsed("events", [_event(key, account, None, "aws.health", code, when, event_id, message_id, received_at)
                             for key in keys], "")


def _guardduty(event: t.Mapping[str, t.Any], detail: t.Mapping[str, t.Any], message_id: t.Optional[str],
               received_at: str) -> Parsed:
    finding_type = _text(detail.get("type"))
    resource = detail.get("resource") if isinstance(detail.get("resource"), dict) else {}
    details = resource.get("accessKeyDetails") if isinstance(resource.get("accessKeyDetails"), dict) else {}
    key_id = _text(details.get("accessKeyId"))
    if not key_id:
        return Parsed("ignored", [], f"GuardDuty finding {finding_type or ''} carries no access key")
    if details.get("userType") not in (None, "IAMUser") or not ACCESS_KEY_ID.match(key_id):
        return Parsed("ignored", [], f"GuardDuty finding {finding_type or ''} is about {details.get('userType') or 'a'} "
                                     "session credentials, not an IAM user's access key")
    event_id = _text(detail.get("id")) or _text(event.get("id"))
    if not event_id:
        return Parsed("unknown", [], "GuardDuty finding has no id")
    account = _account(detail.get("accountId"), event.get("account"))
    when = _text(event.get("time")) or _text(detail.get("updatedAt")) or _text(detail.get("createdAt"))
    user = _text(details.get("userName"))
    return Parsed("events", [_event(key_id, account, user, "aws.guardduty", finding_type, when, event_id, message_id,
                                    received_at)], "")


def parse_message(body: t.Any, message_id: t.Optional[str] = None, received_at: t.Optional[str] = None) -> Parsed:
    """Normalised exposed-key events from one SQS message body (pure; never raises for bad input)."""
    if received_at is None:
        received_at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    event = _unwrap(body)
    if not isinstance(event, dict):
        return Parsed("unknown", [], "the message body is not a JSON object")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return Parsed("unknown", [], "the message is not an EventBridge event (no detail object)")
    source = event.get("source")
    if source == "aws.health":
        return _health(event, detail, message_id, received_at)
    if source == "aws.guardduty":
        return _guardduty(event, detail, message_id, received_at)
    return Parsed("unknown", [], f"events from source {source!r} are not handled (aws.health and aws.guardduty are)")


class Deduplicator:
    """Remembers the last ``limit`` (event id, key) pairs emitted."""

    def __init__(self, limit: int = SEEN_LIMIT) -> None:
        self.limit = limit
        self._seen: "collections.OrderedDict[t.Tuple[str, str], None]" = collections.OrderedDict()

    def fresh(self, events: t.Sequence[t.Mapping[str, t.Any]]) -> t.List[t.Mapping[str, t.Any]]:
        out = []
        for item in events:
            mark = (str(item["keyturn"]["event_id"]), str(item["keyturn"]["access_key_id"]))
            if mark in self._seen:
                self._seen.move_to_end(mark)
                continue
            self._seen[mark] = None
            out.append(item)
            while len(self._seen) > self.limit:
                self._seen.popitem(last=False)
        return out


def _setting(args: t.Mapping[str, t.Any], name: str) -> t.Any:
    value = args.get(name)
    if value in (None, ""):
        nested = args.get("aws")
        if isinstance(nested, dict):
            value = nested.get(name)
    return None if value in (None, "") else value


def _int_option(args: t.Mapping[str, t.Any], name: str, default: t.Optional[int], low: int, high: int) -> t.Optional[int]:
    value = args.get(name, default)
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"keyturn.aws.exposed_keys: {name} must be a whole number from {low} to {high}, got {value!r}")
    if not low <= number <= high:
        raise ValueError(f"keyturn.aws.exposed_keys: {name} must be from {low} to {high}, got {number}")
    return number


def sqs_client(args: t.Mapping[str, t.Any]) -> t.Any:
    """A boto3 SQS client from the connection options (environment and profiles as in botocore)."""
    import boto3  # only the running source needs it; the parser is importable without

    nested = args.get("aws")
    if nested is not None and not isinstance(nested, dict):
        raise ValueError("keyturn.aws.exposed_keys: aws must be a dict of connection options")
    unknown = sorted(set(nested or {}) - set(CONNECTION_KEYS) - {"aws_ca_bundle", "validate_certs", "assume_role"})
    if unknown:
        raise ValueError(f"keyturn.aws.exposed_keys: unknown keys in aws: {', '.join(unknown)}; accepted: "
                         + ", ".join(CONNECTION_KEYS))
    queue_url = args.get("queue_url")
    region = _setting(args, "region")
    if not region and isinstance(queue_url, str):
        match = re.match(r"^https://sqs\.([a-z0-9-]+)\.amazonaws\.com", queue_url)
        region = match.group(1) if match else None
    session = boto3.session.Session(profile_name=_setting(args, "profile"))
    kwargs: t.Dict[str, t.Any] = {"region_name": region, "endpoint_url": _setting(args, "endpoint_url")}
    if (nested or {}).get("validate_certs") is False:
        kwargs["verify"] = False
    elif (nested or {}).get("aws_ca_bundle"):
        kwargs["verify"] = str(nested["aws_ca_bundle"])
    if _setting(args, "access_key") or _setting(args, "secret_key"):
        kwargs.update(aws_access_key_id=_setting(args, "access_key"), aws_secret_access_key=_setting(args, "secret_key"),
                      aws_session_token=_setting(args, "session_token"))
    return session.client("sqs", **{k: v for k, v in kwargs.items() if v is not None})


async def main(queue: t.Any, args: t.Dict[str, t.Any]) -> None:
    """Long-poll the SQS queue and put normalised exposed-key events on ``queue``."""
    queue_url = args.get("queue_url")
    if not isinstance(queue_url, str) or not queue_url:
        raise ValueError("keyturn.aws.exposed_keys: queue_url is required (the URL of the SQS queue)")
    wait = _int_option(args, "wait_seconds", 20, 0, 20)
    batch = _int_option(args, "max_messages", 10, 1, 10)
    hidden = _int_option(args, "visibility_timeout", None, 0, 43200)
    loop = asyncio.get_running_loop()
    client = await loop.run_in_executor(None, sqs_client, args)
    dedup = Deduplicator()
    receive = {"QueueUrl": queue_url, "WaitTimeSeconds": wait, "MaxNumberOfMessages": batch}
    if hidden is not None:
        receive["VisibilityTimeout"] = hidden
    LOG.info("keyturn.aws.exposed_keys: polling %s", queue_url)
    while True:
        try:
            response = await loop.run_in_executor(None, functools.partial(client.receive_message, **receive))
        except Exception as exc:  # network or AWS error: log it (never a secret) and poll again
            LOG.error("keyturn.aws.exposed_keys: receiving from %s failed: %s", queue_url, exc)
            await asyncio.sleep(5)
            continue
        for message in response.get("Messages") or []:
            message_id = message.get("MessageId")
            parsed = parse_message(message.get("Body"), message_id)
            if parsed.kind == "unknown":
                LOG.warning("keyturn.aws.exposed_keys: message %s left in the queue for its redrive policy: %s",
                            message_id, parsed.reason)
                continue
            if parsed.kind == "ignored":
                LOG.info("keyturn.aws.exposed_keys: message %s deleted, nothing to do: %s", message_id, parsed.reason)
            for item in dedup.fresh(parsed.events):
                await queue.put(item)
                LOG.info("keyturn.aws.exposed_keys: exposed key %s (%s, event %s)", item["keyturn"]["access_key_id"],
                         item["keyturn"]["source"], item["keyturn"]["event_id"])
            try:
                await loop.run_in_executor(None, functools.partial(
                    client.delete_message, QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"]))
            except Exception as exc:  # the message comes back; its events are emitted once anyway
                LOG.error("keyturn.aws.exposed_keys: deleting message %s failed: %s", message_id, exc)
        await asyncio.sleep(0)


if __name__ == "__main__":  # pragma: no cover - manual run: print the events of a queue
    import sys

    class _PrintQueue:
        async def put(self, event: t.Any) -> None:
            print(json.dumps(event))

    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(_PrintQueue(), {"queue_url": sys.argv[1]}))
