# -*- coding: utf-8 -*-
# Copyright: keyturn.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``store`` option: its argument spec, validation, and the store factory.

``build_store(spec, client_factory=..., file_store_factory=...)`` turns the task's
``store`` dict into a :class:`Store`:

* ``type: file`` (default) -> :class:`FileStore` at ``path`` (required),
  encrypted with the run's vault secrets (``vault_id`` picks the encrypting one),
  keeping ``backups`` previous versions (default 3);
* ``type: secretsmanager`` -> :class:`SecretsManagerStore` (``prefix``
  default ``keyturn/``);
* ``type: ssm`` -> :class:`SsmStore` (``prefix`` default ``/keyturn/``).

AWS stores get their client from ``client_factory(service_name, region)``; the
caller builds it from the base credentials (before ``assume_role``) and uses
the task's region when ``region`` is None.
"""

from __future__ import annotations

import typing as t
from collections.abc import Mapping

from ansible_collections.keyturn.aws.plugins.module_utils._store_base import (
    RECORD_NAME_MAX,
    Store,
    StoreError,
    StoreLocked,
    validate_record_name,
)
from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._store_secretsmanager import SecretsManagerStore
from ansible_collections.keyturn.aws.plugins.module_utils._store_ssm import SsmStore
from ansible_collections.keyturn.aws.plugins.module_utils._validate import check_int, kind_of

__all__ = [
    "STORE_SPEC",
    "STORE_TYPES",
    "RECORD_NAME_MAX",
    "Store",
    "StoreError",
    "StoreLocked",
    "build_store",
    "check_spec",
    "default_record_name",
    "validate_record_name",
]

STORE_TYPES = ("file", "secretsmanager", "ssm")

# ``options`` of the ``store`` option (type: dict) of every module and lookup.
STORE_SPEC: t.Dict[str, t.Dict[str, t.Any]] = {
    "type": {"type": "str", "choices": list(STORE_TYPES), "default": "file"},
    "path": {"type": "str"},
    "vault_id": {"type": "str"},
    "prefix": {"type": "str"},
    "region": {"type": "str"},
    "kms_key_id": {"type": "str"},
    "backups": {"type": "int"},
}
# store.backups: how many previous versions of a file store are kept (0 disables).
DEFAULT_BACKUPS = 3
MAX_BACKUPS = 100

# Which options apply to which store type.
_APPLIES = {
    "path": ("file",),
    "vault_id": ("file",),
    "prefix": ("secretsmanager", "ssm"),
    "region": ("secretsmanager", "ssm"),
    "kms_key_id": ("secretsmanager", "ssm"),
    "backups": ("file",),
}
_SERVICE = {"secretsmanager": "secretsmanager", "ssm": "ssm"}


def default_record_name(account_id: str, user_name: str) -> str:
    """The default store name of a credential: ``<account_id>/<user_name>``."""
    if not isinstance(account_id, str) or not account_id:
        raise StoreError("cannot build a default record name: the account id is empty")
    if not isinstance(user_name, str) or not user_name:
        raise StoreError("cannot build a default record name: the user name is empty")
    name = "%s/%s" % (account_id, user_name)
    try:
        return validate_record_name(name)
    except StoreError as exc:
        raise StoreError("%s; set an explicit record name for this credential" % exc) from None


def check_spec(spec: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, t.Any]:
    if spec is None:
        spec = {}
    if not isinstance(spec, Mapping):
        raise StoreError("the store option must be a dict (e.g. {type: file, path: ...}), got %s" % kind_of(spec))
    unknown = sorted(str(k) for k in spec if k not in STORE_SPEC)
    if unknown:
        raise StoreError(
            "unknown store option(s) %s; accepted: %s" % (", ".join(unknown), ", ".join(sorted(STORE_SPEC)))
        )
    values: t.Dict[str, t.Any] = {}
    for key in STORE_SPEC:
        value = spec.get(key)
        if value is None:
            continue
        if key == "backups":
            try:
                values[key] = check_int(value, "store.backups", 0, MAX_BACKUPS, "(0 keeps no backup)")
            except ValidationError as exc:
                raise StoreError(str(exc)) from None
            continue
        if not isinstance(value, str):
            raise StoreError("store.%s must be a string, got %s" % (key, kind_of(value)))
        if not value.strip():
            raise StoreError("store.%s must not be empty" % key)
        values[key] = str(value)  # plain str (no data-tagging wrapper)
    kind = values.get("type", STORE_SPEC["type"]["default"])
    if kind not in STORE_TYPES:
        raise StoreError("invalid store type %r; accepted: %s" % (kind, ", ".join(STORE_TYPES)))
    values["type"] = kind
    for key, kinds in _APPLIES.items():
        if key in values and kind not in kinds:
            raise StoreError(
                "store.%s does not apply to a %s store (it is for %s stores)" % (key, kind, " and ".join(kinds))
            )
    if kind == "file" and "path" not in values:
        raise StoreError(
            "store.path is required for a file store: the path of the vault-encrypted YAML file that holds the "
            "secrets (e.g. store: {type: file, path: ~/.keyturn/secrets.yml})"
        )
    return values


def build_store(
    spec: t.Optional[t.Mapping[str, t.Any]],
    *,
    client_factory: t.Optional[t.Callable[[str, t.Optional[str]], t.Any]] = None,
    file_store_factory: t.Optional[t.Callable[[str, t.Optional[str]], Store]] = None,
) -> Store:
    """Validate the ``store`` dict and build its store.

    ``client_factory(service_name, region)`` returns a boto3 client (``region``
    None means the task's region).  ``file_store_factory(path, vault_id)``
    builds the vault file store; only the controller has one (the FileStore in
    plugin_utils, bound to the run's vault secrets).  Raises StoreError with a
    specific message.
    """
    values = check_spec(spec)
    kind = values["type"]
    if kind == "file":
        if file_store_factory is None:
            raise StoreError(
                "the file store is encrypted with the run's vault secrets, which exist only on the controller; "
                "run keyturn.aws tasks through their action plugins (the default) or use a secretsmanager/ssm store"
            )
        if "backups" in values:  # factories of tests and older callers take (path, vault_id)
            return file_store_factory(values["path"], values.get("vault_id"), backups=values["backups"])
        return file_store_factory(values["path"], values.get("vault_id"))
    if client_factory is None:
        raise StoreError("a %s store needs AWS access, but no AWS client factory was given" % kind)
    client = client_factory(_SERVICE[kind], values.get("region"))
    if kind == "secretsmanager":
        return SecretsManagerStore(client, prefix=values.get("prefix", "keyturn/"), kms_key_id=values.get("kms_key_id"))
    return SsmStore(client, prefix=values.get("prefix", "/keyturn/"), kms_key_id=values.get("kms_key_id"))
