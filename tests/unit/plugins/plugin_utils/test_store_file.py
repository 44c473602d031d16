# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""FileStore specifics: vault, permissions, locking, atomicity, error messages.

The behaviour every store shares is tested once for all in test_stores.py.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import stat
import subprocess
import sys
import tempfile
import typing as t

import pytest
import yaml

from ansible.parsing.vault import VaultLib

from ansible_collections.keyturn.aws.plugins.plugin_utils import _store_file
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import EMPTY, StagedRecord, StoreError, StoreLocked
from ansible_collections.keyturn.aws.plugins.plugin_utils._store_file import FileStore, vault_secrets_from_password

PASSWORD = "correct horse battery staple"
NAME = "123456789012/alice"
RECORD = {"access_key_id": "AKIAEXAMPLEEXAMPLE01", "secret_access_key": "s3cr3t-VALUE-never-shown"}
SECRET = RECORD["secret_access_key"]


@pytest.fixture
def secrets() -> list:
    return vault_secrets_from_password(PASSWORD)


@pytest.fixture
def path(tmp_path: t.Any) -> str:
    return str(tmp_path / "secrets.yml")


def decrypt(path: str, password: str = PASSWORD) -> dict:
    with open(path, "rb") as fh:
        return yaml.safe_load(VaultLib(vault_secrets_from_password(password)).decrypt(fh.read()))


def on_disk(path: str, secrets: list) -> dict:
    """The records as another process reads them: the store file merged with its journal (leases included)."""
    return FileStore(path, secrets)._records()


def mode(path: str) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def assert_no_secret(exc: BaseException) -> None:
    assert SECRET not in str(exc)
    assert PASSWORD not in str(exc)


def test_store_file_format_on_disk(path: str, secrets: list) -> None:
    store = FileStore(path, secrets)
    store.write_current(NAME, RECORD)
    with open(path, "rb") as fh:
        raw = fh.read()
    assert raw.startswith(b"$ANSIBLE_VAULT;1.1;AES256")
    assert SECRET.encode() not in raw
    document = decrypt(path)
    assert isinstance(document.pop("generation"), str)  # which journal entries apply (see _store_journal)
    assert document == {
        "format": 1,
        "records": {NAME: {"current": RECORD, "pending": None, "previous": None}},
    }


def test_store_file_readable_by_ansible_vault_cli(path: str, secrets: list, tmp_path: t.Any) -> None:
    FileStore(path, secrets).write_current(NAME, RECORD)
    password_file = tmp_path / "vault-pass"
    password_file.write_text(PASSWORD + "\n")
    cli = os.path.join(os.path.dirname(sys.executable), "ansible-vault")
    out = subprocess.run(
        [cli, "view", "--vault-password-file", str(password_file), path],
        check=True,
        capture_output=True,
        text=True,
        env=dict(os.environ, ANSIBLE_NOCOLOR="1"),
    ).stdout
    assert yaml.safe_load(out)["records"][NAME]["current"] == RECORD


def test_store_file_loaded_values_are_plain_types(path: str, secrets: list) -> None:
    store = FileStore(path, secrets)
    store.write_current(NAME, {"key": "value", "nested": {"list": ["a", 1]}})
    got = store.read(NAME).current
    assert got.__class__ is dict
    assert got["key"].__class__ is str
    assert got["nested"].__class__ is dict and got["nested"]["list"].__class__ is list
    assert all(k.__class__ is str for k in got)


def test_store_file_tagged_input_is_stored_plain(path: str, secrets: list) -> None:
    from ansible._internal._datatag._tags import TrustedAsTemplate

    tagged = TrustedAsTemplate().tag("tagged-value")
    assert tagged.__class__ is not str
    store = FileStore(path, secrets)
    store.write_pending(NAME, {"v": tagged})
    got = store.read(NAME).pending
    assert got == {"v": "tagged-value"} and got["v"].__class__ is str


def test_store_file_vault_id_selects_encrypting_secret(path: str) -> None:
    secrets = vault_secrets_from_password("first-pass", "first") + vault_secrets_from_password("second-pass", "second")
    FileStore(path, secrets, vault_id="second").write_current(NAME, RECORD)
    with open(path, "rb") as fh:
        assert fh.readline().strip() == b"$ANSIBLE_VAULT;1.2;AES256;second"
    assert decrypt(path, "second-pass")["records"][NAME]["current"] == RECORD
    # without vault_id the first secret encrypts (as ansible-vault encrypt does)
    other = path + ".2"
    FileStore(other, secrets).write_current(NAME, RECORD)
    with open(other, "rb") as fh:
        assert fh.readline().strip() == b"$ANSIBLE_VAULT;1.2;AES256;first"
    # any loaded secret decrypts
    assert FileStore(other, vault_secrets_from_password("first-pass", "x")).read(NAME).current == RECORD


def test_store_file_unknown_vault_id(path: str, secrets: list) -> None:
    with pytest.raises(StoreError) as info:
        FileStore(path, secrets, vault_id="prod").write_current(NAME, RECORD)
    assert "vault id 'prod'" in str(info.value) and "default" in str(info.value)
    assert_no_secret(info.value)
    assert not os.path.exists(path)


def test_store_file_mode_0600_new_file(path: str, secrets: list) -> None:
    old_umask = os.umask(0o022)
    try:
        FileStore(path, secrets).write_pending(NAME, RECORD)
    finally:
        os.umask(old_umask)
    assert mode(path) == 0o600
    assert mode(path + ".lock") == 0o600


def test_store_file_mode_0600_when_existing_file_was_0644(path: str, secrets: list) -> None:
    store = FileStore(path, secrets)
    store.write_current(NAME, RECORD)
    os.chmod(path, 0o644)
    store.write_pending(NAME, RECORD)
    assert mode(path) == 0o600
    # also a vault file created by other tools (ansible-vault encrypt, umask 022)
    with open(path, "wb") as fh:
        fh.write(VaultLib(secrets).encrypt(yaml.safe_dump({"format": 1, "records": {}})))
    os.chmod(path, 0o644)
    store.write_current(NAME, RECORD)
    assert mode(path) == 0o600
    assert store.read(NAME).current == RECORD


def test_store_file_symlink_is_kept(tmp_path: t.Any, secrets: list) -> None:
    real = tmp_path / "real.yml"
    link = tmp_path / "link.yml"
    link.symlink_to(real)
    FileStore(str(link), secrets).write_current(NAME, RECORD)
    assert link.is_symlink()
    assert FileStore(str(real), secrets).read(NAME).current == RECORD


def test_store_file_missing_file_is_empty_store(path: str, secrets: list) -> None:
    store = FileStore(path, secrets)
    assert store.read(NAME) == EMPTY
    assert store.names() == []
    store.delete(NAME)
    store.discard_pending(NAME)
    assert not os.path.exists(path)  # no-ops write nothing


def test_store_file_empty_file_is_empty_store(path: str, secrets: list) -> None:
    open(path, "wb").close()
    store = FileStore(path, secrets)
    assert store.read(NAME) == EMPTY
    store.write_current(NAME, RECORD)
    assert store.read(NAME).current == RECORD


def test_store_file_missing_parent_directory(tmp_path: t.Any, secrets: list) -> None:
    store = FileStore(str(tmp_path / "nope" / "secrets.yml"), secrets)
    assert store.read(NAME) == EMPTY
    with pytest.raises(StoreError) as info:
        store.write_current(NAME, RECORD)
    assert "does not exist" in str(info.value) and str(tmp_path / "nope") in str(info.value)
    assert_no_secret(info.value)


def test_store_file_unwritable_directory(path: str, secrets: list, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(*_args: t.Any, **_kwargs: t.Any) -> t.NoReturn:
        raise PermissionError(13, "Permission denied")

    store = FileStore(path, secrets)
    with monkeypatch.context() as patch:
        patch.setattr(tempfile, "mkstemp", denied)
        with pytest.raises(StoreError) as info:
            store.write_current(NAME, RECORD)
    assert "not writable" in str(info.value)
    assert_no_secret(info.value)
    with monkeypatch.context() as patch:
        patch.setattr(_store_file.os, "open", denied)
        with pytest.raises(StoreError) as info:
            store.write_current(NAME, RECORD)
    assert "lock file" in str(info.value) and "permission denied" in str(info.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_store_file_unwritable_directory_for_real(tmp_path: t.Any, secrets: list) -> None:
    directory = tmp_path / "ro"
    directory.mkdir()
    directory.chmod(0o500)
    try:
        with pytest.raises(StoreError, match="permission denied|not writable"):
            FileStore(str(directory / "s.yml"), secrets).write_current(NAME, RECORD)
    finally:
        directory.chmod(0o700)


def test_store_file_crash_during_replace_keeps_previous_file(path: str, secrets: list, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileStore(path, secrets)
    store.write_current(NAME, RECORD)
    with open(path, "rb") as fh:
        before = fh.read()

    def crash(*_args: t.Any, **_kwargs: t.Any) -> t.NoReturn:
        raise OSError(5, "Input/output error")

    with monkeypatch.context() as patch:
        patch.setattr(_store_file.os, "replace", crash)
        with pytest.raises(StoreError) as info:
            store.write_pending(NAME, {"secret_access_key": "pending-secret-value"})
    assert "pending-secret-value" not in str(info.value)
    with open(path, "rb") as fh:
        assert fh.read() == before
    assert store.read(NAME) == StagedRecord(RECORD, None, None)
    leftovers = [n for n in os.listdir(os.path.dirname(path)) if n.endswith(".tmp")]
    assert leftovers == []


def test_store_file_crash_during_write_keeps_previous_file(path: str, secrets: list, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileStore(path, secrets)
    store.write_current(NAME, RECORD)
    with open(path, "rb") as fh:
        before = fh.read()

    def crash(_fd: int) -> t.NoReturn:
        raise KeyboardInterrupt("killed mid-write")

    with monkeypatch.context() as patch:
        patch.setattr(_store_file.os, "fsync", crash)
        with pytest.raises(KeyboardInterrupt):
            store.write_pending(NAME, RECORD)
    with open(path, "rb") as fh:
        assert fh.read() == before
    assert [n for n in os.listdir(os.path.dirname(path)) if n.endswith(".tmp")] == []
    # the lock was released: the next write goes through
    store.write_pending(NAME, RECORD)
    assert store.read(NAME).pending == RECORD


def _writer(path: str, worker: int, count: int) -> None:
    store = FileStore(path, vault_secrets_from_password(PASSWORD))
    for i in range(count):
        store.write_current("worker%d/user%02d" % (worker, i), {"worker": worker, "i": i})


def test_store_file_concurrent_writers_lose_nothing(path: str, secrets: list) -> None:
    workers, count = 4, 20
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(path, w, count)) for w in range(workers)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    store = FileStore(path, secrets)
    names = store.names()
    assert len(names) == workers * count
    assert names == sorted("worker%d/user%02d" % (w, i) for w in range(workers) for i in range(count))
    assert store.read("worker3/user19").current == {"worker": 3, "i": 19}
    assert mode(path) == 0o600


def test_store_file_lock_timeout(path: str, secrets: list) -> None:
    import fcntl

    store = FileStore(path, secrets, lock_timeout=0.2)
    fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(StoreError, match="timed out"):
            store.write_current(NAME, RECORD)
    finally:
        os.close(fd)
    store.write_current(NAME, RECORD)


def test_store_file_wrong_password(path: str, secrets: list) -> None:
    FileStore(path, secrets).write_current(NAME, RECORD)
    store = FileStore(path, vault_secrets_from_password("wrong password", "prod"))
    for call in (lambda: store.read(NAME), store.names, lambda: store.write_pending(NAME, RECORD)):
        with pytest.raises(StoreError) as info:
            call()
        assert str(info.value).startswith("could not decrypt %s with the run's vault secrets" % path)
        assert "prod" in str(info.value)
        assert_no_secret(info.value)
        assert "wrong password" not in str(info.value)
    assert decrypt(path)["records"][NAME]["current"] == RECORD  # untouched


@pytest.mark.parametrize("secrets_value", [None, [], [("default", None)]])
def test_store_file_missing_vault_secret(path: str, secrets: list, secrets_value: t.Any) -> None:
    expected = (
        "the file store %s needs the run's vault secret: run ansible-playbook with --vault-id or "
        "--vault-password-file, or attach a vault credential in AWX" % path
    )
    store = FileStore(path, secrets_value)
    with pytest.raises(StoreError) as info:
        store.write_pending(NAME, RECORD)
    assert str(info.value) == expected
    assert not os.path.exists(path)
    FileStore(path, secrets).write_current(NAME, RECORD)
    with pytest.raises(StoreError) as info:
        store.read(NAME)
    assert str(info.value) == expected


def test_store_file_not_vault_encrypted(path: str, secrets: list) -> None:
    with open(path, "w") as fh:
        yaml.safe_dump({"format": 1, "records": {NAME: {"current": RECORD}}}, fh)
    with pytest.raises(StoreError) as info:
        FileStore(path, secrets).read(NAME)
    assert "is not an Ansible Vault encrypted file" in str(info.value)
    assert_no_secret(info.value)
    with pytest.raises(StoreError):
        FileStore(path, secrets).write_current(NAME, RECORD)
    with open(path) as fh:
        assert SECRET in fh.read()  # not overwritten


@pytest.mark.parametrize(
    "content",
    [
        b"$ANSIBLE_VAULT;1.1;AES256\nnot-hex-at-all\n",
        b"$ANSIBLE_VAULT;1.1;AES256\n",
        b"$ANSIBLE_VAULT;1.1;AES256\n6162636465666768\n",
        b"$ANSIBLE_VAULT;1.1;ROT13\n616263\n",
    ],
)
def test_store_file_corrupt_vault_file(path: str, secrets: list, content: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(content)
    with pytest.raises(StoreError) as info:
        FileStore(path, secrets).read(NAME)
    assert path in str(info.value)
    assert_no_secret(info.value)


def test_store_file_truncated_vault_file(path: str, secrets: list) -> None:
    FileStore(path, secrets).write_current(NAME, RECORD)
    with open(path, "rb") as fh:
        data = fh.read()
    with open(path, "wb") as fh:
        fh.write(data[: len(data) // 2])
    with pytest.raises(StoreError) as info:
        FileStore(path, secrets).read(NAME)
    assert_no_secret(info.value)


@pytest.mark.parametrize(
    "plaintext, message",
    [
        ("key: [unclosed %s" % SECRET, "not valid YAML (line 1)"),
        ("- %s\n" % SECRET, "expected a mapping"),
        ("format: 2\nrecords: {}\n", "newer keyturn.aws"),
        ("format: 1\nrecords: [%s]\n" % SECRET, "'records' must be a mapping"),
        ("format: 1\nrecords:\n  a: %s\n" % SECRET, "must be a mapping of stages"),
        ("format: 1\nrecords:\n  a: {current: %s}\n" % SECRET, "current stage of 'a' must be a mapping"),
        ("format: 1\nrecords:\n  a: {current: {d: 2024-01-01}}\n", "not plain JSON data"),
        ("records: {}\n", "'format' must be 1"),
    ],
)
def test_store_file_wrong_structure(path: str, secrets: list, plaintext: str, message: str) -> None:
    with open(path, "wb") as fh:
        fh.write(VaultLib(secrets).encrypt(plaintext))
    with pytest.raises(StoreError) as info:
        FileStore(path, secrets).read(NAME)
    assert message in str(info.value)
    assert_no_secret(info.value)


def test_store_file_path_is_a_directory(tmp_path: t.Any, secrets: list) -> None:
    with pytest.raises(StoreError, match="is a directory"):
        FileStore(str(tmp_path), secrets).read(NAME)


def test_store_file_constructor_checks(secrets: list) -> None:
    with pytest.raises(StoreError, match="needs a path"):
        FileStore("", secrets)
    with pytest.raises(StoreError, match="vault_id"):
        FileStore("/tmp/x.yml", secrets, vault_id="")
    with pytest.raises(StoreError):
        vault_secrets_from_password("")


def test_store_file_expands_user(monkeypatch: pytest.MonkeyPatch, tmp_path: t.Any, secrets: list) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    store = FileStore("~/s.yml", secrets)
    assert store.path == os.path.realpath(str(tmp_path / "s.yml"))
    assert str(tmp_path) in store.describe()


def test_store_file_lease_is_kept_in_the_file(path: str, secrets: list, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileStore(path, secrets)
    monkeypatch.setattr(_store_file, "_now", lambda: 1000.0)
    with store.lease(NAME, "run-1", 30):
        assert decrypt(path)["records"][NAME]["lease"] == {"owner": "run-1", "expires": 1030.0}
        assert store.names() == []  # a lease alone is not a record
        monkeypatch.setattr(_store_file, "_now", lambda: 1029.0)
        with pytest.raises(StoreLocked):
            with store.lease(NAME, "run-2", 30):
                pass
        monkeypatch.setattr(_store_file, "_now", lambda: 1031.0)
        with store.lease(NAME, "run-2", 30):  # expired: taken over
            assert decrypt(path)["records"][NAME]["lease"]["owner"] == "run-2"
    # run-2 released its lease, run-1's release found it was not its own any more
    assert decrypt(path)["records"] == {}
    store.write_current(NAME, RECORD)
    with store.lease(NAME, "run-3", 30):
        store.delete(NAME)
        assert decrypt(path)["records"][NAME]["lease"]["owner"] == "run-3"
    assert decrypt(path)["records"] == {}


def test_store_file_threads_group_commit_lose_nothing(path: str, secrets: list) -> None:
    """Threads of one process share a store: their changes are committed together, none is lost,
    and a change that fails (a lease held by someone else) fails only its own caller."""
    import concurrent.futures

    store = FileStore(path, secrets)
    other = FileStore(path, secrets)
    with other.lease("acct/busy", "someone-else", 300):

        def work(index: int) -> str:
            store.write_current(f"acct/user{index}", {"n": index})
            try:
                with store.lease("acct/busy", f"me-{index}", 300):
                    return "leased"
            except StoreLocked:
                return "locked"

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(work, range(40)))
    assert outcomes == ["locked"] * 40
    fresh = FileStore(path, secrets)
    assert {name for name in fresh.names() if name.startswith("acct/user")} == {f"acct/user{i}" for i in range(40)}
    assert all(fresh.read(f"acct/user{i}").current == {"n": i} for i in range(40))


def test_store_file_batched_releases_ride_the_next_commit(path: str, secrets: list, monkeypatch: pytest.MonkeyPatch) -> None:
    """Within batched_releases a lease given back costs no commit of its own: it stays on disk (held a little
    longer, never shorter) until the next change is written, and every one is gone when the block ends."""
    store = FileStore(path, secrets)
    store.write_current("acct/z", RECORD)  # the store file exists: the block's commits go to the journal
    commits = []
    real_write, real_append = store._write, store._append
    monkeypatch.setattr(store, "_write", lambda records: (commits.append("write"), real_write(records)))
    monkeypatch.setattr(store, "_append", lambda view, records, changed: (commits.append("append"), real_append(view, records, changed)))
    with store.batched_releases():
        with store.lease("acct/a", "run-1", 300):
            store.write_pending("acct/a", RECORD)
        assert on_disk(path, secrets)["acct/a"]["lease"]["owner"] == "run-1"  # not released yet
        assert commits == ["append", "append"]  # lease, pending: no commit for the release
        other = FileStore(path, secrets)
        with pytest.raises(StoreLocked):  # another process still sees it held
            with other.lease("acct/a", "run-2", 300):
                pass
        with store.lease("acct/b", "run-1", 300):  # this commit carries acct/a's release
            assert "lease" not in on_disk(path, secrets)["acct/a"]
        assert len(commits) == 3
    assert commits == ["append"] * 3 + ["write"]  # the block's end wrote acct/b's release and folded the journal in
    assert not os.path.exists(path + ".journal")
    records = decrypt(path)["records"]
    assert "lease" not in records["acct/a"] and "acct/b" not in records
    assert FileStore(path, secrets).read("acct/a").pending == RECORD
    # an error inside a leased block gives the lease back at once, batching or not
    with store.batched_releases():
        with pytest.raises(RuntimeError):
            with store.lease("acct/c", "run-1", 300):
                raise RuntimeError("boom")
        assert "acct/c" not in on_disk(path, secrets)


def test_store_file_one_thread_never_waits_for_changes_to_batch(
        path: str, secrets: list, monkeypatch: pytest.MonkeyPatch) -> None:
    """The commit linger is only for changes that meet; a lazily released lease riding along is not one."""
    waits = []
    monkeypatch.setattr(_store_file.time, "sleep", waits.append)
    store = FileStore(path, secrets)
    with store.batched_releases():
        for index in range(5):
            with store.lease(f"acct/u{index}", "run-1", 300):
                store.write_pending(f"acct/u{index}", RECORD)
    assert waits == []
    assert all(FileStore(path, secrets).read(f"acct/u{i}").pending == RECORD for i in range(5))


def test_store_file_writes_one_record_per_line_and_reuses_unchanged_lines(path: str, secrets: list,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    store = FileStore(path, secrets)
    for index in range(3):
        store.write_current(f"acct/u{index}", {"n": index})
    with open(path, "rb") as fh:
        text = VaultLib(secrets).decrypt(fh.read()).decode()
    assert text.splitlines()[1:4] == [f'"acct/u{i}": {{"current": {{"n": {i}}}, "pending": null, "previous": null}}'
                                      + ("," if i < 2 else "") for i in range(3)]
    expected = {f"acct/u{i}": {"current": {"n": i}, "pending": None, "previous": None} for i in range(3)}
    document = yaml.safe_load(text)
    assert isinstance(document.pop("generation"), str)  # a new one at every write of the whole file
    assert document == {"format": 1, "records": expected}
    dumped = []
    real_dumps = _store_file.json.dumps
    monkeypatch.setattr(_store_file.json, "dumps", lambda value, **kw: (dumped.append(value), real_dumps(value, **kw))[1])
    store.write_pending("acct/u1", {"n": 10})
    entries = [v for v in dumped if isinstance(v, dict) and "current" in v]  # normalize_record dumps the record too
    assert entries == [{"current": {"n": 1}, "pending": {"n": 10}, "previous": None}]  # only the changed record
    store.delete("acct/u0")
    assert sorted(decrypt(path)["records"]) == ["acct/u1", "acct/u2"]
    assert FileStore(path, secrets).read("acct/u1") == StagedRecord({"n": 1}, {"n": 10}, None)


def test_store_file_read_returns_independent_copies(path: str, secrets: list) -> None:
    store = FileStore(path, secrets)
    store.write_current("acct/u", {"nested": {"a": 1}})
    first = store.read("acct/u")
    first.current["nested"]["a"] = 2
    assert store.read("acct/u").current == {"nested": {"a": 1}}


# -- issue 18.10: backups, and a damaged store is never overwritten --------------------------------


def _backups(path: str) -> t.List[str]:
    return _store_file.backup_paths(path)


def test_backups_keep_the_previous_versions(path: str, secrets: list) -> None:
    store = FileStore(path, secrets, backups=3)
    store.write_current(NAME, dict(RECORD, access_key_id="AKIAEXAMPLEEXAMPLE00"))
    assert _backups(path) == []  # nothing to keep before the first version
    versions = []
    for number in range(1, 6):
        with open(path, "rb") as fh:
            versions.append(fh.read())
        store.write_current(NAME, dict(RECORD, access_key_id="AKIAEXAMPLEEXAMPL%03d" % number))
    kept = _backups(path)
    assert len(kept) == 3
    # the newest three previous versions, oldest first, byte for byte (still vault-encrypted, same mode)
    assert [open(p, "rb").read() for p in kept] == versions[-3:]
    for backup in kept:
        assert mode(backup) == 0o600 and os.path.dirname(backup) == os.path.dirname(path)
        assert re.match(r"^secrets\.yml\.\d{8}T\d{6}\.\d{6}Z\.bak$", os.path.basename(backup))
        assert SECRET.encode() not in open(backup, "rb").read()
    assert decrypt(kept[-1])["records"][NAME]["current"]["access_key_id"] == "AKIAEXAMPLEEXAMPL004"


def test_backup_restored_by_copying_it_back(path: str, secrets: list) -> None:
    store = FileStore(path, secrets)
    store.write_current(NAME, RECORD)
    store.write_current(NAME, dict(RECORD, access_key_id="AKIAEXAMPLEEXAMPLE99"))
    backup = _backups(path)[-1]
    # the README's recipe: copy to a new name, then rename over the store
    subprocess.run(["sh", "-c", 'cp -p "$1" "$2.restore" && mv "$2.restore" "$2"', "sh", backup, path], check=True)
    assert FileStore(path, secrets).read(NAME).current == RECORD
    assert decrypt(backup)["records"][NAME]["current"] == RECORD  # the backup itself is unchanged


def test_backups_zero_keeps_none(path: str, secrets: list) -> None:
    store = FileStore(path, secrets, backups=0)
    for _write in range(3):
        store.write_current(NAME, RECORD)
    assert _backups(path) == []


def test_backups_are_not_listed_as_other_files(path: str, secrets: list, tmp_path: t.Any) -> None:
    other = tmp_path / "secrets.yml.notes.bak"
    other.write_text("mine")
    store = FileStore(path, secrets, backups=1)
    for _write in range(3):
        store.write_current(NAME, RECORD)
    assert len(_backups(path)) == 1 and other.read_text() == "mine"


@pytest.mark.parametrize("content", [
    b"$ANSIBLE_VAULT;1.1;AES256\nnot-hex-at-all\n",  # damaged envelope
    b"plain: text\n",  # not a vault file
])
def test_damaged_store_is_never_overwritten(path: str, secrets: list, content: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(content)
    store = FileStore(path, secrets)
    with pytest.raises(StoreError):
        store.write_current(NAME, RECORD)
    with pytest.raises(StoreError):
        store.write_pending(NAME, RECORD)
    assert open(path, "rb").read() == content
    assert _backups(path) == []


def test_store_that_does_not_decrypt_or_parse_is_never_overwritten(path: str, secrets: list) -> None:
    FileStore(path, vault_secrets_from_password("another password")).write_current(NAME, RECORD)
    foreign = open(path, "rb").read()
    with pytest.raises(StoreError, match="could not decrypt"):
        FileStore(path, secrets).write_current(NAME, RECORD)
    assert open(path, "rb").read() == foreign
    not_yaml = VaultLib(secrets).encrypt("format: [1\n")
    with open(path, "wb") as fh:
        fh.write(not_yaml)
    with pytest.raises(StoreError, match="not valid YAML"):
        FileStore(path, secrets).write_current(NAME, RECORD)
    assert open(path, "rb").read() == not_yaml


def test_check_exists_for_readers(path: str, secrets: list) -> None:
    store = FileStore(path, secrets)
    with pytest.raises(StoreError, match="the file store .* does not exist: check store.path"):
        store.check_exists()
    store.write_current(NAME, RECORD)
    store.check_exists()
