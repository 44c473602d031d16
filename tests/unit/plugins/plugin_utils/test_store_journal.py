# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The file store's journal (``<path>.journal``): a task's commits appended, folded in once at the end.

What another process reads at any moment is the store file merged with the journal; a crash leaves a state
every reader merges the same way; an append cut short or a journal already folded in never counts.
"""

from __future__ import annotations

import binascii
import os
import shutil
import threading
import typing as t

import pytest

from ansible.parsing.vault import VaultLib

from ansible_collections.keyturn.aws.plugins.module_utils._store_base import StoreError
from ansible_collections.keyturn.aws.plugins.plugin_utils import _store_file
from ansible_collections.keyturn.aws.plugins.plugin_utils._store_file import FileStore, backup_paths, vault_secrets_from_password
from ansible_collections.keyturn.aws.plugins.plugin_utils._store_journal import entry_text, parse_entry, split_entries

PASSWORD = "journal test password"
SECRET = "journal-SECRET-value-never-shown"


def record(number: int) -> t.Dict[str, t.Any]:
    return {"access_key_id": f"AKIAJOURNAL{number:09d}", "secret_access_key": f"{SECRET}-{number}"}


@pytest.fixture
def secrets() -> list:
    return vault_secrets_from_password(PASSWORD)


@pytest.fixture
def path(tmp_path: t.Any) -> str:
    return str(tmp_path / "store.vault.yml")


def journal(path: str) -> str:
    return path + ".journal"


def fresh(path: str, secrets: list) -> FileStore:
    """Another process's view: a new FileStore with nothing cached."""
    return FileStore(path, secrets)


def salts(blob: bytes) -> t.List[bytes]:
    """The salt of every vault envelope in ``blob``."""
    found = []
    for entry in split_entries(blob)[0]:
        body = b"".join(entry.blob.splitlines()[1:])
        found.append(binascii.unhexlify(body).split(b"\n", 1)[0])
    return found


def test_store_journal_a_task_appends_and_folds_in_once(path: str, secrets: list) -> None:
    store = FileStore(path, secrets)
    store.write_current("acct/base", record(0))
    before = open(path, "rb").read()
    with store.batched_releases():
        for number in range(1, 4):
            with store.lease(f"acct/u{number}", "run-1", 300):
                store.write_pending(f"acct/u{number}", record(number))
                store.promote(f"acct/u{number}")
            # the store file itself is untouched, every change is in the journal, durable, and readable by others
            assert open(path, "rb").read() == before
            assert os.path.getsize(journal(path)) > 0
            assert fresh(path, secrets).read(f"acct/u{number}").current == record(number)
        assert SECRET.encode() not in open(journal(path), "rb").read()
        assert os.stat(journal(path)).st_mode & 0o777 == 0o600
    assert not os.path.exists(journal(path))
    assert open(path, "rb").read() != before
    other = fresh(path, secrets)
    assert [other.read(f"acct/u{n}").current for n in range(1, 4)] == [record(n) for n in range(1, 4)]
    assert all("lease" not in entry for entry in other._records().values())
    assert len(backup_paths(path)) == 1  # one backup per whole-file write (the first had no predecessor), none per append


def test_store_journal_every_envelope_has_its_own_salt(path: str, secrets: list) -> None:
    """The key of the next salt is derived ahead; each salt still serves exactly one encryption."""
    store = FileStore(path, secrets)
    store.write_current("acct/base", record(0))
    with store.batched_releases():
        for number in range(6):
            store.write_current(f"acct/u{number}", record(number))
        found = salts(open(journal(path), "rb").read())
        assert len(found) == 6 and len(set(found)) == 6
        ahead = store._next_key._ahead if store._next_key is not None else None
        assert ahead is None or ahead[1] not in found  # the salt prepared for the next commit is unused yet


def test_store_journal_left_by_a_crash_is_merged_then_folded_in(path: str, secrets: list, tmp_path: t.Any) -> None:
    store = FileStore(path, secrets)
    store.write_current("acct/a", record(1))
    crashed = str(tmp_path / "crashed")
    os.mkdir(crashed)
    with store.batched_releases():
        with store.lease("acct/a", "run-1", 300):
            store.write_pending("acct/a", record(2))
            # a copy of what is on disk at this moment: a run killed here
            shutil.copy(path, os.path.join(crashed, "store.vault.yml"))
            shutil.copy(journal(path), os.path.join(crashed, "store.vault.yml.journal"))
    left = os.path.join(crashed, "store.vault.yml")
    reader = fresh(left, secrets)
    assert reader.read("acct/a").pending == record(2)
    assert reader._records()["acct/a"]["lease"]["owner"] == "run-1"
    fresh(left, secrets).write_current("acct/b", record(3))  # any later write folds the journal in
    assert not os.path.exists(left + ".journal")
    merged = fresh(left, secrets)
    assert merged.read("acct/a").pending == record(2) and merged.read("acct/b").current == record(3)


def test_store_journal_an_append_cut_short_is_ignored_and_cut_off(path: str, secrets: list) -> None:
    store = FileStore(path, secrets)
    store.write_current("acct/base", record(0))
    with store.batched_releases():
        store.write_current("acct/a", record(1))
        good = os.path.getsize(journal(path))
        with open(journal(path), "rb") as fh:
            whole = fh.read()
        with open(journal(path), "ab") as fh:
            fh.write(whole[: len(whole) // 2])  # a crash in the middle of the next append
        assert fresh(path, secrets).read("acct/a").current == record(1)
        store.write_current("acct/b", record(2))
        blob = open(journal(path), "rb").read()
        assert blob[:good] == whole and len(split_entries(blob)[0]) == 2  # the torn bytes are gone
        assert fresh(path, secrets).read("acct/b").current == record(2)


def test_store_journal_of_an_earlier_generation_is_ignored(path: str, secrets: list, tmp_path: t.Any) -> None:
    """A journal already folded into the store file (a crash between the two steps) never applies again."""
    store = FileStore(path, secrets)
    store.write_current("acct/a", record(1))
    with store.batched_releases():
        store.write_current("acct/a", record(2))
        saved = open(journal(path), "rb").read()
    fresh(path, secrets).write_current("acct/a", record(3))
    with open(journal(path), "wb") as fh:
        fh.write(saved)  # the old journal is back next to a newer store file
    assert fresh(path, secrets).read("acct/a").current == record(3)
    with store.batched_releases():
        store.write_current("acct/b", record(4))
        blob = open(journal(path), "rb").read()
        assert len(split_entries(blob)[0]) == 1  # the stale entries were cut off before the append
    other = fresh(path, secrets)
    assert other.read("acct/a").current == record(3) and other.read("acct/b").current == record(4)


@pytest.mark.parametrize("damage", ["middle", "junk"])
def test_store_journal_damage_is_a_clear_error(path: str, secrets: list, damage: str) -> None:
    store = FileStore(path, secrets)
    store.write_current("acct/base", record(0))
    with store.batched_releases():
        store.write_current("acct/a", record(1))
        store.write_current("acct/b", record(2))
        blob = open(journal(path), "rb").read()
        if damage == "middle":
            first, second = split_entries(blob)[0]
            lines = first.blob.splitlines()
            lines[2] = b"0" * len(lines[2])
            blob = b"\n".join(lines) + b"\n" + second.blob
        else:
            blob = b"not a vault envelope\n" + blob
        with open(journal(path), "wb") as fh:
            fh.write(blob)
        with pytest.raises(StoreError) as info:
            fresh(path, secrets).read("acct/a")
        assert "journal" in str(info.value) and "damaged" in str(info.value)
        assert SECRET not in str(info.value) and PASSWORD not in str(info.value)
        with open(journal(path), "wb"):
            pass  # emptied, so that the block can end


def test_store_journal_reader_reads_again_when_the_store_file_is_replaced(
        path: str, secrets: list, monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader that read the store file just before a task folded its journal in (and removed it) reads again:
    it never returns the old file without the journal's changes."""
    store = FileStore(path, secrets)
    store.write_current("acct/a", record(1))
    with store.batched_releases():
        store.write_current("acct/a", record(2))
        reader = fresh(path, secrets)
        real_merge = reader._merge_journal
        calls = []

        def merge_after_the_fold(*args: t.Any) -> t.Any:
            if not calls:
                calls.append(1)
                with store._locked():  # the task's end: whole file written, journal removed
                    store._write(store._load())
            return real_merge(*args)

        monkeypatch.setattr(reader, "_merge_journal", merge_after_the_fold)
        assert reader.read("acct/a").current == record(2)


def test_store_journal_entries_round_trip() -> None:
    generation, changes = parse_entry(entry_text("g1", {"acct/a": {"current": None}, "acct/b": None}))
    assert generation == "g1" and changes == {"acct/a": {"current": None}, "acct/b": None}
    with pytest.raises(ValueError):
        parse_entry('{"format": 1, "records": {}}')
    entries, junk = split_entries(b"")
    assert entries == [] and junk is False


def test_store_journal_concurrent_threads_lose_nothing(path: str, secrets: list) -> None:
    store = FileStore(path, secrets)
    store.write_current("acct/base", record(0))
    with store.batched_releases():
        def work(number: int) -> None:
            with store.lease(f"acct/t{number}", "run-1", 300):
                store.write_pending(f"acct/t{number}", record(number))
                store.promote(f"acct/t{number}")

        threads = [threading.Thread(target=work, args=(n,)) for n in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        mid = fresh(path, secrets)
        assert [mid.read(f"acct/t{n}").current for n in range(12)] == [record(n) for n in range(12)]
    assert not os.path.exists(journal(path))
    text = VaultLib(secrets).decrypt(open(path, "rb").read()).decode()
    assert all(f"acct/t{n}" in text for n in range(12)) and '"lease"' not in text


def test_store_journal_not_used_outside_a_task(path: str, secrets: list, monkeypatch: pytest.MonkeyPatch) -> None:
    """Single changes (other modules, lookups' writers) write the whole file as before: no journal, no key ahead."""
    derived = []
    monkeypatch.setattr(_store_file._NextKey, "prepare", lambda self, password: derived.append(1))
    store = FileStore(path, secrets)
    store.write_current("acct/a", record(1))
    store.write_current("acct/a", record(2))
    assert not os.path.exists(journal(path)) and derived == []


@pytest.mark.parametrize("visible", [1, 5, 20])
def test_store_journal_an_append_being_written_hides_nothing_before_it(path: str, secrets: list, visible: int) -> None:
    """A reader that sees only the first bytes of an append still being written reads every entry before it."""
    store = FileStore(path, secrets)
    store.write_current("acct/base", record(0))
    with store.batched_releases():
        store.write_current("acct/a", record(1))
        blob = open(journal(path), "rb").read()
        with open(journal(path), "ab") as fh:
            fh.write(blob[:visible])  # "$", "$ANSI", "$ANSIBLE_VAULT;1.1;A"
        assert fresh(path, secrets).read("acct/a").current == record(1)
        with open(journal(path), "r+b") as fh:
            fh.truncate(len(blob))


def test_store_journal_append_does_not_trust_an_older_cached_view(path: str, secrets: list,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A reader thread of the same process may leave an older view of the journal in the cache right before
    an append; the append reads the journal again under the lock instead of refusing or cutting anything off."""
    store = FileStore(path, secrets)
    store.write_current("acct/base", record(0))
    with store.batched_releases():
        store.write_current("acct/a", record(1))
        older = store._merged
        store.write_current("acct/b", record(2))
        real_append = store._append

        def after_a_slow_reader(view: t.Any, records: dict, changed: t.Any) -> None:
            store._merged = older  # what a slow reader thread would leave behind, after the commit read
            real_append(view, records, changed)

        monkeypatch.setattr(store, "_append", after_a_slow_reader)
        store.write_current("acct/c", record(3))
        other = fresh(path, secrets)
        assert [other.read(f"acct/{n}").current for n in "abc"] == [record(1), record(2), record(3)]
