# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The keyturn.aws.credential lookup through ansible's plugin loader: keywords, store checks,
and a missing file store (issue 18.5-6)."""

from __future__ import annotations

import os
import sys
import typing as t

import pytest
from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader, lookup_loader
from ansible.template import Templar

from ansible_collections.keyturn.aws.plugins.plugin_utils._store_file import FileStore, vault_secrets_from_password

COLLECTIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "build", "collections"))

PASSWORD = "unit-vault-password"
RECORD = {"kind": "iam_user_key", "access_key_id": "AKIAEXAMPLEEXAMPLE01", "secret_access_key": "hush-hush-secret",
          "user_name": "alice", "account_id": "123456789012", "partition": "aws"}


@pytest.fixture(scope="module", autouse=True)
def plugin_loader() -> None:
    """Install ansible's collection loader as ansible-playbook does (see test_totp.py's twin)."""
    init_plugin_loader([COLLECTIONS])
    for name in ("ansible_collections.keyturn.aws", "ansible_collections.keyturn", "ansible_collections"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__file__", None) is None and not hasattr(module, "_collection_meta"):
            del sys.modules[name]


@pytest.fixture
def lookup() -> t.Any:
    loader = DataLoader()
    loader.set_vault_secrets(vault_secrets_from_password(PASSWORD))
    return lookup_loader.get("keyturn.aws.credential", loader=loader, templar=Templar(loader=loader))


@pytest.fixture
def store(tmp_path: t.Any) -> t.Dict[str, str]:
    return {"type": "file", "path": str(tmp_path / "store.vault.yml")}


def error(lookup: t.Any, terms: t.List[str], **kwargs: t.Any) -> str:
    with pytest.raises(AnsibleLookupError) as info:
        lookup.run(terms, {}, **kwargs)
    assert RECORD["secret_access_key"] not in str(info.value)
    return str(info.value)


def test_reads_the_current_credential(lookup: t.Any, store: dict) -> None:
    FileStore(store["path"], vault_secrets_from_password(PASSWORD)).write_current("acct/alice", RECORD)
    assert lookup.run(["acct/alice"], {}, store=store)[0]["access_key_id"] == RECORD["access_key_id"]


def test_unknown_keyword_is_an_error(lookup: t.Any, store: dict) -> None:
    FileStore(store["path"], vault_secrets_from_password(PASSWORD)).write_current("acct/alice", RECORD)
    message = error(lookup, ["acct/alice"], store=store, regoin="us-east-1")
    assert "unknown option(s) regoin; accepted:" in message and "region" in message and "store" in message


def test_aliases_are_accepted(lookup: t.Any, store: dict) -> None:
    FileStore(store["path"], vault_secrets_from_password(PASSWORD)).write_current("acct/alice", RECORD)
    assert lookup.run(["acct/alice"], {}, store=store, aws_region="us-east-1")[0]["user_name"] == "alice"


def test_bad_store_type(lookup: t.Any) -> None:
    message = error(lookup, ["acct/alice"], store={"type": "vaultx", "prefix": "x/"})
    assert "invalid store type 'vaultx'; accepted: file, secretsmanager, ssm" in message
    assert "region" not in message


def test_missing_store_file(lookup: t.Any, store: dict) -> None:
    message = error(lookup, ["acct/alice"], store=store)
    assert f"the file store {store['path']} does not exist" in message
