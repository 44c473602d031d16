# -*- coding: utf-8 -*-
# Copyright: keyturn.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``type: ssm`` store: SSM Parameter Store SecureString parameters.

Scheme (as crash-safe as the other stores):

* ONE SecureString parameter per record, ``<prefix><name>`` (default prefix
  ``/keyturn/``), whose value is the JSON of every stage::

      {"format": 1, "current": {...}|null, "pending": {...}|null, "previous": {...}|null}

  Every change is one ``PutParameter`` with ``Overwrite=True``, which SSM applies
  atomically, so no torn state exists: a crash leaves either the old or the new
  value.  ``promote`` is therefore a single write (pending -> current, old
  current -> previous); a record whose stages all become empty is deleted.
* The tier follows the size: ``Standard`` up to 4096 characters, ``Advanced``
  up to 8192 (an advanced parameter stays advanced), larger is refused.
* Leases are ``String`` parameters ``<prefix><name>.lease`` holding
  ``{"owner", "expires"}``, created with ``Overwrite=False`` (atomic
  create-if-absent).  An expired lease is overwritten; afterwards the version
  right after the expired one tells who won a simultaneous takeover (SSM numbers
  versions), and a loser puts the winner's lease back and reports StoreLocked.

SSM has no conditional writes: changes to one record are serialised with
``lease()`` (the rotation engine always holds it).  Parameter names only allow
``A-Z a-z 0-9 _ . - /``, so record names with ``+ = @`` need another store or an
explicit record name.

Needed permissions (on ``arn:<partition>:ssm:<region>:<account>:parameter<prefix>*``):
``ssm:GetParameter``, ``ssm:PutParameter``, ``ssm:DeleteParameter``,
``ssm:GetParametersByPath``, plus ``kms:Decrypt`` / ``kms:Encrypt`` /
``kms:GenerateDataKey`` on the key (``kms_key_id`` or ``alias/aws/ssm``).
"""

from __future__ import annotations

import json
import re
import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._errors import error_code
from ansible_collections.keyturn.aws.plugins.module_utils._store_aws import HAS_BOTOCORE, AwsStore, _now
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import (
    EMPTY,
    STAGES,
    StagedRecord,
    StoreError,
    StoreLocked,
    lease_is_live,
    locked_error,
    normalize_record,
    validate_record_name,
)

try:
    from botocore.exceptions import BotoCoreError, ClientError
except ImportError:  # pragma: no cover - reported when the store is built
    pass

__all__ = ["HAS_BOTOCORE", "SsmStore"]

FORMAT = 1
STANDARD_MAX = 4096
ADVANCED_MAX = 8192
PARAMETER_NAME_MAX = 1011
_SSM_NAME_RE = re.compile(r"^[A-Za-z0-9_./-]+$")
_SSM_BAD_CHAR_RE = re.compile(r"[^A-Za-z0-9_./-]")

_HINTS = {
    "ParameterNotFound": "the parameter does not exist (or lives in another region: set store.region)",
    "InvalidKeyId": "store.kms_key_id is not a KMS key SSM can use (check the key id/ARN/alias and its region)",
    "KMSAccessDeniedException": "the store's identity may not use the parameter's KMS key (kms:Decrypt, kms:Encrypt, "
    "kms:GenerateDataKey)",
    "ParameterLimitExceeded": "the account reached its SSM parameter quota",
    "HierarchyLevelLimitExceededException": "the parameter name has too many '/' levels (at most 15): shorten "
    "store.prefix or the record name",
    "ParameterMaxVersionLimitExceeded": "the parameter reached SSM's 100-version limit and its oldest version is "
    "labelled; remove the label",
    "TooManyUpdates": "too many concurrent updates of the parameter; retry later",
    "ValidationException": "SSM rejected a request parameter",
    "InvalidAllowedPatternException": "SSM rejected a request parameter",
    "UnsupportedParameterType": "SSM rejected a request parameter",
    "HierarchyTypeMismatchException": "a parameter of another type already uses this name",
}


class SsmStore(AwsStore, kind="ssm", default_prefix="/keyturn/", name_max=PARAMETER_NAME_MAX, hints=_HINTS):
    """Staged records as SSM SecureString parameters (see module docstring)."""

    prefix_rules = (
        (lambda prefix: prefix.startswith("/") and prefix.endswith("/"),
         "store.prefix %r must start and end with '/' for an ssm store (e.g. /keyturn/)"),
        (lambda prefix: bool(_SSM_NAME_RE.match(prefix)) and "//" not in prefix,
         "store.prefix %r is not a valid SSM parameter path: use only A-Z a-z 0-9 _ . - / and no empty segment"),
        (lambda prefix: not prefix.lower().startswith(("/aws", "/ssm")),
         "store.prefix %r must not begin with 'aws' or 'ssm' (reserved by SSM)"),
    )

    # -- plumbing ----------------------------------------------------------

    def _param(self, name: str) -> str:
        validate_record_name(name)
        bad = sorted(set(_SSM_BAD_CHAR_RE.findall(name)))
        if bad:
            raise StoreError(
                "the record name %r contains %s, which SSM parameter names do not allow (only A-Z a-z 0-9 _ . - /): "
                "give the record another name, or use a file or secretsmanager store" % (name, ", ".join(repr(c) for c in bad))
            )
        return self.prefix + name

    _record_id = _param

    def _get(self, param: str, decrypt: bool = True) -> t.Optional[t.Tuple[int, dict]]:
        """(version, parsed JSON object) of ``param`` (may carry a ``:version`` selector), None when absent."""
        response, code = self._call("GetParameter", param, handle=("ParameterNotFound", "ParameterVersionNotFound"),
                                    Name=param, WithDecryption=decrypt)
        if code:
            return None
        parameter = response.get("Parameter") or {}
        try:
            doc = json.loads(parameter.get("Value") or "")
        except ValueError:
            raise StoreError("the parameter %s does not hold JSON: it is not a keyturn record" % param) from None
        if not isinstance(doc, dict):
            raise StoreError("the parameter %s does not hold a JSON object: it is not a keyturn record" % param)
        return int(parameter.get("Version") or 0), doc

    def _record_doc(self, param: str) -> t.Optional[dict]:
        got = self._get(param)
        if got is None:
            return None
        doc = got[1]
        fmt = doc.get("format")
        if fmt != FORMAT:
            if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt > FORMAT:
                raise StoreError("the parameter %s has format %d, written by a newer keyturn.aws; upgrade the collection"
                                 % (param, fmt))
            raise StoreError("the parameter %s is not a keyturn record ('format' must be %d)" % (param, FORMAT))
        for stage in STAGES:
            value = doc.get(stage)
            if value is not None and not isinstance(value, dict):
                raise StoreError("the parameter %s is malformed: its %s stage must be an object or null" % (param, stage))
            doc[stage] = value
        return doc

    def _put(self, param: str, value: str, secure: bool = True, overwrite: bool = True,
             handle: t.Iterable[str] = ()) -> t.Tuple[t.Any, str]:
        size = len(value)
        if size > ADVANCED_MAX:
            raise StoreError(
                "the record %s is %d characters as JSON (all stages together); an SSM parameter holds at most %d: "
                "use a secretsmanager or file store for records this large" % (param, size, ADVANCED_MAX)
            )
        kwargs: t.Dict[str, t.Any] = {
            "Name": param,
            "Value": value,
            "Type": "SecureString" if secure else "String",
            "Overwrite": overwrite,
            "Tier": "Standard" if size <= STANDARD_MAX else "Advanced",
        }
        if secure and self.kms_key_id:
            kwargs["KeyId"] = self.kms_key_id
        try:
            return self.client.put_parameter(**kwargs), ""
        except ClientError as exc:
            code = error_code(exc)
            message = str((exc.response.get("Error") or {}).get("Message") or "").lower()
            if code == "ValidationException" and kwargs["Tier"] == "Standard" and ("advanced" in message or "tier" in message):
                # An advanced parameter cannot go back to the standard tier: keep it advanced.
                kwargs["Tier"] = "Advanced"
                return self._call("PutParameter", param, handle=handle, **kwargs)
            if code in handle:
                return None, code
            raise self._error("PutParameter", param, exc) from None
        except BotoCoreError as exc:
            raise self._error("PutParameter", param, exc) from None

    def _save(self, param: str, doc: dict) -> None:
        if all(doc.get(stage) is None for stage in STAGES):
            self._call("DeleteParameter", param, handle=("ParameterNotFound",), Name=param)
            return
        body = {"format": FORMAT}
        body.update((stage, doc.get(stage)) for stage in STAGES)
        self._put(param, json.dumps(body, sort_keys=True, separators=(",", ":")))

    # -- Store API ---------------------------------------------------------

    def read(self, name: str) -> StagedRecord:
        doc = self._record_doc(self._param(name))
        if doc is None:
            return EMPTY
        return StagedRecord(doc["current"], doc["pending"], doc["previous"])

    def read_current(self, name: str) -> t.Optional[dict]:
        doc = self._record_doc(self._param(name))  # one GetParameter, checked as read() checks it
        return None if doc is None else doc["current"]

    def write_pending(self, name: str, record: dict) -> None:
        param = self._param(name)
        value = normalize_record(record)
        doc = self._record_doc(param) or {}
        doc["pending"] = value
        self._save(param, doc)

    def discard_pending(self, name: str) -> None:
        param = self._param(name)
        doc = self._record_doc(param)
        if doc is None or doc.get("pending") is None:
            return
        doc["pending"] = None
        self._save(param, doc)

    def promote(self, name: str, record: t.Optional[dict] = None) -> None:
        param = self._param(name)
        value = None if record is None else normalize_record(record)
        doc = self._record_doc(param)
        if doc is None or doc.get("pending") is None:
            raise StoreError("nothing is pending for %r in the %s: there is nothing to promote" % (name, self.describe()))
        doc["previous"] = doc.get("current")
        doc["current"] = doc["pending"] if value is None else value
        doc["pending"] = None
        self._save(param, doc)

    def write_current(self, name: str, record: dict, keep_previous: bool = True) -> None:
        param = self._param(name)
        value = normalize_record(record)
        doc = self._record_doc(param) or {}
        doc["previous"] = doc.get("current") if keep_previous else None
        doc["current"] = value
        self._save(param, doc)

    def delete(self, name: str) -> None:
        param = self._param(name)
        self._call("DeleteParameter", param, handle=("ParameterNotFound",), Name=param)

    def names(self) -> t.List[str]:
        path = self.prefix.rstrip("/") or "/"
        return self._list_names("GetParametersByPath", "Parameters", Path=path, Recursive=True, WithDecryption=False)

    # -- leases ------------------------------------------------------------

    def _acquire(self, name: str, lease_id: str, owner: str, ttl: int) -> None:
        for _attempt in range(5):
            body = json.dumps({"owner": owner, "expires": _now() + ttl}, sort_keys=True)
            _response, code = self._put(lease_id, body, secure=False, overwrite=False, handle=("ParameterAlreadyExists",))
            if not code:
                return
            held = self._get(lease_id, decrypt=False)
            if held is None:
                continue  # released in between: create it again
            seen_version, seen = held
            if lease_is_live(seen, owner, _now()):
                raise locked_error(name, self.describe(), seen)
            # Expired (or ours): overwrite it, then check that the version right after
            # the one we saw is ours -- the first writer after the expiry wins.
            body = json.dumps({"owner": owner, "expires": _now() + ttl}, sort_keys=True)
            response, _code = self._put(lease_id, body, secure=False, overwrite=True)
            written = int((response or {}).get("Version") or 0)
            if written == seen_version + 1:
                return
            first = self._get("%s:%d" % (lease_id, seen_version + 1), decrypt=False)
            if first is not None and first[1].get("owner") == owner:
                return
            if first is not None:
                # We lost the race and overwrote the winner's lease: put it back.
                self._put(lease_id, json.dumps(first[1], sort_keys=True), secure=False, overwrite=True)
                raise locked_error(name, self.describe(), first[1])
            raise StoreLocked(
                "the record %r in the %s was leased by another run at the same time; retry later" % (name, self.describe())
            )
        raise StoreLocked(
            "could not take the lease on %r in the %s: it changed hands repeatedly; retry later" % (name, self.describe())
        )

    def _release(self, lease_id: str, owner: str) -> None:
        held = self._get(lease_id, decrypt=False)
        if held is None or held[1].get("owner") != owner:
            return  # gone, or expired and taken over: not ours to drop
        self._call("DeleteParameter", lease_id, handle=("ParameterNotFound",), Name=lease_id)
