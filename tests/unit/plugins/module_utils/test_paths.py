# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one path check shared by the file store, region_config's config_file and the TOTP ledger."""

from __future__ import annotations

import os

import pytest

from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._paths import PathError, require_parent, write_target
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import StoreError
from ansible_collections.keyturn.aws.plugins.plugin_utils._store_file import FileStore, vault_secrets_from_password


def test_write_target_follows_links(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real / "config")  # dangling: the write creates the target
    assert write_target(str(tmp_path / "link")) == str(real / "config")


def test_missing_parent_message_is_the_file_store_message(tmp_path):
    path = str(tmp_path / "missing" / "f.yml")
    with pytest.raises(PathError) as ours:
        require_parent(path, "file store")
    store = FileStore(path, vault_secrets_from_password("pw"))
    with pytest.raises(StoreError) as stores:
        store.write_current("a/b", {"x": 1})
    assert str(ours.value) == str(stores.value)
    assert str(ours.value) == f"the directory of the file store {path} does not exist: create {tmp_path / 'missing'} first"
    assert not os.path.exists(tmp_path / "missing")


def test_require_parent_raises_the_callers_error(tmp_path):
    with pytest.raises(ValidationError, match="the directory of the config_file"):
        require_parent(str(tmp_path / "no" / "config"), "config_file", ValidationError)
    assert require_parent(str(tmp_path / "config"), "config_file", ValidationError) == str(tmp_path)
