# -*- coding: utf-8 -*-
# Copyright: keyturn.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``type: secretsmanager`` store: one AWS Secrets Manager secret per record.

* The secret is named ``<prefix><name>`` (default prefix ``keyturn/``); each
  version's ``SecretString`` is the record's JSON, so other consumers can read
  ``AWSCURRENT`` directly.
* Stages are the staging labels ``AWSPENDING`` / ``AWSCURRENT`` /
  ``AWSPREVIOUS``.  Reads always name the ``VersionStage`` explicitly.
* A record that has no current credential yet keeps a placeholder version
  (``{"keyturn_placeholder": true}``) under ``AWSCURRENT``: Secrets Manager
  labels the first version of a secret ``AWSCURRENT`` whatever is asked, and a
  pending credential must never look current.  Reads report the placeholder as
  ``None``.
* ``promote`` moves ``AWSCURRENT`` onto the pending version (Secrets Manager
  moves ``AWSPREVIOUS`` onto the old current itself), then drops ``AWSPENDING``.
  A crash between the two calls leaves one version labelled both current and
  pending; ``promote`` again finishes, ``discard_pending`` rolls back.
* ``write_current`` puts the new version under a private staging label and
  then moves ``AWSCURRENT`` onto it: the same label move as ``promote``, which
  behaves identically on AWS and on moto.
* Leases are separate secrets ``<prefix><name>.lease`` created with
  ``CreateSecret`` (atomic create-if-absent).  An expired lease is taken over by
  ``PutSecretValue`` with a ``ClientRequestToken`` derived from the expired
  version, so of two runs racing for the takeover exactly one wins.

Needed permissions (on ``arn:<partition>:secretsmanager:<region>:<account>:secret:<prefix>*``):
``secretsmanager:GetSecretValue``, ``PutSecretValue``, ``CreateSecret``,
``UpdateSecretVersionStage``, ``DeleteSecret``, ``ListSecrets`` (on ``*``), plus
``kms:Decrypt`` / ``kms:GenerateDataKey`` on ``kms_key_id`` when one is given.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import typing as t
import uuid

from ansible_collections.keyturn.aws.plugins.module_utils._store_aws import HAS_BOTOCORE, AwsStore, _now
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import (  # aws_store_error: also imported from here
    StagedRecord,
    StoreError,
    StoreLocked,
    aws_store_error,
    lease_is_live,
    locked_error,
    normalize_record,
    validate_record_name,
)

__all__ = ["HAS_BOTOCORE", "SecretsManagerStore", "aws_store_error"]

CURRENT = "AWSCURRENT"
PENDING = "AWSPENDING"
PREVIOUS = "AWSPREVIOUS"
STAGING = "KEYTURN_STAGING"  # private label: a new version before AWSCURRENT moves onto it
PLACEHOLDER = {"keyturn_placeholder": True}
PLACEHOLDER_JSON = json.dumps(PLACEHOLDER, sort_keys=True)
SECRET_NAME_MAX = 512
_PREFIX_RE = re.compile(r"^[A-Za-z0-9/_+=.@-]*$")
_CREATE_RETRIES = 10  # a force-deleted name can take a few seconds before it can be created again
_CREATE_RETRY_DELAY = 1.0


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


_HINTS = {
    "ResourceNotFoundException": "the secret does not exist (or lives in another region: set store.region)",
    "InvalidRequestException": "the secret is probably scheduled for deletion: restore it "
    "(aws secretsmanager restore-secret) or wait until it is gone",
    "DecryptionFailure": "KMS refused to decrypt the secret: the store's identity needs kms:Decrypt on the secret's key",
    "EncryptionFailure": "KMS refused to encrypt: check store.kms_key_id exists, is enabled and the store's identity "
    "may use it (kms:GenerateDataKey, kms:Decrypt)",
    "KMSAccessDeniedException": "the store's identity may not use the secret's KMS key (kms:Decrypt, kms:GenerateDataKey)",
    "LimitExceededException": "a Secrets Manager quota was reached (secrets per account, or versions per secret)",
    "InvalidParameterException": "Secrets Manager rejected a request parameter",
    "ValidationException": "Secrets Manager rejected a request parameter",
    "MalformedPolicyDocumentException": "Secrets Manager rejected a request parameter",
}


class _Version(t.NamedTuple):
    version_id: str
    record: t.Optional[dict]  # None for the placeholder
    raw: dict  # the parsed JSON (also for the placeholder)


class SecretsManagerStore(AwsStore, kind="secretsmanager", default_prefix="keyturn/", name_max=SECRET_NAME_MAX, hints=_HINTS):
    """Staged records as AWS Secrets Manager secrets (see module docstring)."""

    prefix_rules = (
        (lambda prefix: bool(_PREFIX_RE.match(prefix)),
         "store.prefix %r is not a valid Secrets Manager name prefix: use only A-Z a-z 0-9 / _ + = . @ -"),
        (lambda prefix: not prefix.startswith("/"),
         "store.prefix %r must not start with '/' for a secretsmanager store (e.g. keyturn/)"),
    )

    # -- plumbing ----------------------------------------------------------

    def _secret_id(self, name: str) -> str:
        return self.prefix + validate_record_name(name)

    _record_id = _secret_id

    def _parse(self, secret_id: str, stage: str, response: dict) -> _Version:
        text = response.get("SecretString")
        if not isinstance(text, str):
            raise StoreError(
                "the secret %s (%s) holds no SecretString: it is not a keyturn record" % (secret_id, stage)
            )
        try:
            raw = json.loads(text)
        except ValueError:
            raise StoreError("the secret %s (%s) does not hold JSON: it is not a keyturn record" % (secret_id, stage)) from None
        if not isinstance(raw, dict):
            raise StoreError("the secret %s (%s) does not hold a JSON object: it is not a keyturn record" % (secret_id, stage))
        record = None if raw == PLACEHOLDER else raw
        return _Version(str(response["VersionId"]), record, raw)

    def _get(self, secret_id: str, stage: str) -> t.Optional[_Version]:
        """The version labelled ``stage`` (always an explicit VersionStage), None when absent."""
        response, code = self._call(
            "GetSecretValue", secret_id, handle=("ResourceNotFoundException",), SecretId=secret_id, VersionStage=stage
        )
        if code:
            return None
        return self._parse(secret_id, stage, response)

    def _create(self, secret_id: str, body: str) -> bool:
        """CreateSecret; False when it already exists.  Retries while a force-deleted
        secret of that name is still being removed."""
        kwargs: t.Dict[str, t.Any] = {"Name": secret_id, "SecretString": body}
        if self.kms_key_id:
            kwargs["KmsKeyId"] = self.kms_key_id
        for attempt in range(_CREATE_RETRIES):
            response, code = self._call(
                "CreateSecret",
                secret_id,
                handle=("ResourceExistsException", "InvalidRequestException"),
                **kwargs,
            )
            if not code:
                return True
            if code == "ResourceExistsException":
                return False
            if attempt + 1 < _CREATE_RETRIES:
                _sleep(_CREATE_RETRY_DELAY)
        raise StoreError(
            "secretsmanager CreateSecret on %s failed: InvalidRequestException: a secret of that name is scheduled for "
            "deletion; restore it (aws secretsmanager restore-secret) or wait until it is gone" % secret_id
        )

    def _put(self, secret_id: str, body: str, stages: t.Optional[t.List[str]] = None, token: t.Optional[str] = None,
             handle: t.Iterable[str] = ()) -> t.Tuple[t.Any, str]:
        kwargs: t.Dict[str, t.Any] = {"SecretId": secret_id, "SecretString": body}
        if stages is not None:
            kwargs["VersionStages"] = stages
        if token is not None:
            kwargs["ClientRequestToken"] = token
        return self._call("PutSecretValue", secret_id, handle=handle, **kwargs)

    def _move(self, secret_id: str, stage: str, to_version: t.Optional[str], from_version: t.Optional[str]) -> None:
        kwargs: t.Dict[str, t.Any] = {"SecretId": secret_id, "VersionStage": stage}
        if to_version:
            kwargs["MoveToVersionId"] = to_version
        if from_version:
            kwargs["RemoveFromVersionId"] = from_version
        self._call("UpdateSecretVersionStage", secret_id, **kwargs)

    def _remove_label(self, secret_id: str, stage: str, version_id: str) -> None:
        """Remove ``stage`` from ``version_id``; fine when it is not there (any more)."""
        _response, code = self._call(
            "UpdateSecretVersionStage",
            secret_id,
            handle=("InvalidParameterException", "ResourceNotFoundException"),
            SecretId=secret_id,
            VersionStage=stage,
            RemoveFromVersionId=version_id,
        )
        if code == "InvalidParameterException":
            holder = self._get(secret_id, stage)
            if holder is not None and holder.version_id == version_id:
                raise StoreError(
                    "secretsmanager UpdateSecretVersionStage on %s failed: could not remove %s from version %s"
                    % (secret_id, stage, version_id)
                )

    def _put_placeholder(self, secret_id: str) -> str:
        response, _code = self._put(secret_id, PLACEHOLDER_JSON, stages=[STAGING])
        return str(response["VersionId"])

    def _make_current(self, secret_id: str, version_id: str, current: t.Optional[_Version]) -> None:
        """Move AWSCURRENT onto ``version_id`` (AWS puts AWSPREVIOUS on the old current)."""
        if current is not None and current.version_id == version_id:
            return
        self._move(secret_id, CURRENT, version_id, current.version_id if current else None)

    # -- Store API ---------------------------------------------------------

    def read(self, name: str) -> StagedRecord:
        secret_id = self._secret_id(name)
        current = self._get(secret_id, CURRENT)
        pending = self._get(secret_id, PENDING)
        previous = self._get(secret_id, PREVIOUS) if current is not None else None
        return StagedRecord(
            current.record if current else None,
            pending.record if pending else None,
            previous.record if previous else None,
        )

    def read_current(self, name: str) -> t.Optional[dict]:
        current = self._get(self._secret_id(name), CURRENT)  # one GetSecretValue (AWSCURRENT); the placeholder is None
        return current.record if current else None

    def write_pending(self, name: str, record: dict) -> None:
        secret_id = self._secret_id(name)
        body = json.dumps(normalize_record(record), sort_keys=True)
        response, code = self._put(secret_id, body, stages=[PENDING], handle=("ResourceNotFoundException",))
        if code:
            # A new record: AWSCURRENT goes on a placeholder first, so the pending
            # credential is never the secret's first (auto-current) version.
            self._create(secret_id, PLACEHOLDER_JSON)
            response, code = self._put(secret_id, body, stages=[PENDING])
        stages = response.get("VersionStages") or []
        if CURRENT in stages:
            # The secret existed without any version: AWS made the pending version current too.
            version_id = str(response["VersionId"])
            placeholder = self._put_placeholder(secret_id)
            self._move(secret_id, CURRENT, placeholder, version_id)
            self._remove_label(secret_id, PREVIOUS, version_id)
            self._remove_label(secret_id, STAGING, placeholder)

    def discard_pending(self, name: str) -> None:
        secret_id = self._secret_id(name)
        pending = self._get(secret_id, PENDING)
        if pending is None:
            return
        current = self._get(secret_id, CURRENT)
        previous = self._get(secret_id, PREVIOUS)
        if current is not None and current.version_id == pending.version_id:
            # A promotion crashed half-way: roll AWSCURRENT back to the old current.
            if previous is not None and previous.version_id != pending.version_id:
                target = previous.version_id
            else:
                target = self._put_placeholder(secret_id)
            self._move(secret_id, CURRENT, target, pending.version_id)
            self._remove_label(secret_id, STAGING, target)
            previous = self._get(secret_id, PREVIOUS)
        if previous is not None and previous.version_id == pending.version_id:
            self._remove_label(secret_id, PREVIOUS, pending.version_id)
        self._remove_label(secret_id, PENDING, pending.version_id)

    def promote(self, name: str, record: t.Optional[dict] = None) -> None:
        secret_id = self._secret_id(name)
        pending = self._get(secret_id, PENDING)
        if pending is None:
            raise StoreError("nothing is pending for %r in the %s: there is nothing to promote" % (name, self.describe()))
        version_id = pending.version_id
        if record is not None:
            # The record that becomes current is a new version labelled AWSPENDING first (as write_pending
            # does), so a crash before the label moves leaves it pending, never half-current.
            body = json.dumps(normalize_record(record), sort_keys=True)
            response, _code = self._put(secret_id, body, stages=[PENDING])
            version_id = str(response["VersionId"])
        current = self._get(secret_id, CURRENT)
        self._make_current(secret_id, version_id, current)
        self._remove_label(secret_id, PENDING, version_id)

    def write_current(self, name: str, record: dict, keep_previous: bool = True) -> None:
        secret_id = self._secret_id(name)
        body = json.dumps(normalize_record(record), sort_keys=True)
        current = self._get(secret_id, CURRENT)
        if current is None and self._create(secret_id, body):
            return
        response, _code = self._put(secret_id, body, stages=[STAGING])
        version_id = str(response["VersionId"])
        if current is None:
            # A secret without any version: AWS labels the first one AWSCURRENT itself.
            current = self._get(secret_id, CURRENT)
        self._make_current(secret_id, version_id, current)
        self._remove_label(secret_id, STAGING, version_id)
        if not keep_previous and current is not None and current.version_id != version_id:
            self._remove_label(secret_id, PREVIOUS, current.version_id)

    def delete(self, name: str) -> None:
        secret_id = self._secret_id(name)
        self._call(
            "DeleteSecret",
            secret_id,
            handle=("ResourceNotFoundException",),
            SecretId=secret_id,
            ForceDeleteWithoutRecovery=True,
        )

    def names(self) -> t.List[str]:
        kwargs: t.Dict[str, t.Any] = {}
        if self.prefix:
            kwargs["Filters"] = [{"Key": "name", "Values": [self.prefix]}]
        return self._list_names("ListSecrets", "SecretList", skip=lambda secret: bool(secret.get("DeletedDate")), **kwargs)

    # -- leases ------------------------------------------------------------

    def _lease_body(self, owner: str, ttl: int) -> str:
        return json.dumps({"owner": owner, "expires": _now() + ttl}, sort_keys=True)

    def _acquire(self, name: str, lease_id: str, owner: str, ttl: int) -> None:
        for _attempt in range(5):
            if self._create(lease_id, self._lease_body(owner, ttl)):
                return
            held = self._get(lease_id, CURRENT)
            if held is None:
                continue  # released in between: try to create it again
            if lease_is_live(held.raw, owner, _now()):
                raise locked_error(name, self.describe(), held.raw)
            # Expired (or ours): take it over.  The token is derived from the version
            # we saw, so two runs taking over the same expired lease cannot both win:
            # the second PutSecretValue with that token and other data is refused.
            token = str(uuid.UUID(hashlib.sha256(("keyturn-lease:" + held.version_id).encode("utf-8")).hexdigest()[:32]))
            _response, code = self._put(
                lease_id,
                self._lease_body(owner, ttl),
                token=token,
                handle=("ResourceExistsException", "ResourceNotFoundException", "InvalidRequestException"),
            )
            if not code:
                return
            if code == "ResourceExistsException":
                winner = self._get(lease_id, CURRENT)
                raise locked_error(name, self.describe(), winner.raw if winner else held.raw)
            # released or being deleted in between: start over
        raise StoreLocked(
            "could not take the lease on %r in the %s: it changed hands repeatedly; retry later" % (name, self.describe())
        )

    def _release(self, lease_id: str, owner: str) -> None:
        held = self._get(lease_id, CURRENT)
        if held is None or held.raw.get("owner") != owner:
            return  # gone, or expired and taken over: not ours to drop
        self._call(
            "DeleteSecret",
            lease_id,
            handle=("ResourceNotFoundException",),
            SecretId=lease_id,
            ForceDeleteWithoutRecovery=True,
        )
