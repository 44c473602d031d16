# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Atomic replacement and exclusive locks (_files.py)."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.keyturn.aws.plugins.module_utils._files import (
    LockTimeout,
    TempFileError,
    exclusive_lock,
    write_atomic,
)


def test_write_atomic_replaces_with_the_mode_set_before_writing(tmp_path):
    target = tmp_path / "creds"
    target.write_text("old")
    modes = []
    write_atomic(str(target), "new text", 0o640, prepare=lambda fd: modes.append(stat.S_IMODE(os.fstat(fd).st_mode)),
                 sync_directory=True)
    assert target.read_text() == "new text" and modes == [0o640]
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    write_atomic(str(target), b"\x00bytes")
    assert target.read_bytes() == b"\x00bytes" and stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["creds"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path, monkeypatch):
    target = tmp_path / "creds"
    target.write_text("old")

    def crash(*args):
        raise KeyboardInterrupt("killed")
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(str(target), "new")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["creds"]


def test_a_missing_directory_is_a_temp_file_error(tmp_path):
    with pytest.raises(TempFileError) as caught:
        write_atomic(str(tmp_path / "missing" / "creds"), "x")
    assert isinstance(caught.value.__cause__, FileNotFoundError) and caught.value.strerror


def test_exclusive_lock_waits_at_most_its_timeout(tmp_path):
    path = str(tmp_path / "lock")
    first = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    second = os.open(path, os.O_RDWR)
    try:
        with exclusive_lock(first):
            with pytest.raises(LockTimeout):
                with exclusive_lock(second, timeout=0.05, poll=0.01):
                    raise AssertionError("the lock is held")
        with exclusive_lock(second, timeout=0):
            pass
    finally:
        os.close(first)
        os.close(second)
