# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures over the protocol fakes (protocol_fakes.py)."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.keyturn.aws.plugins.module_utils._audit import AuditLog
from ansible_collections.keyturn.aws.plugins.module_utils._totp_ledger import CodeLedger
from protocol_fakes import Aws, MemoryStore, Sleeper


@pytest.fixture
def aws() -> t.Iterator[Aws]:
    fake = Aws()
    yield fake


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def sleeper() -> Sleeper:
    return Sleeper()


@pytest.fixture
def audit_path(tmp_path) -> str:
    return str(tmp_path / "audit.jsonl")


@pytest.fixture
def audit(audit_path) -> AuditLog:
    return AuditLog(audit_path, actor="tester")


@pytest.fixture
def ledger(tmp_path) -> CodeLedger:
    """A TOTP code ledger in a fresh folder (test_totp_codes.py, test_totp_ledger.py)."""
    (tmp_path / "keyturn").mkdir(mode=0o700)
    return CodeLedger(str(tmp_path / "keyturn" / "totp-ledger.json"))
