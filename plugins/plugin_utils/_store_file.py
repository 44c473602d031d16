# -*- coding: utf-8 -*-
# Copyright: keyturn.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``type: file`` store: one Ansible-Vault-encrypted YAML file.

Decrypted content::

    format: 1
    records:
      123456789012/alice:
        current: {...} | null
        pending: {...} | null
        previous: {...} | null
        lease: {owner: ..., expires: <epoch seconds>}   # only while leased

The file is encrypted and decrypted with the run's own vault secrets (the
``(vault_id, VaultSecret)`` list the controller loaded from ``--vault-id``,
``--vault-password-file`` or an AWX vault credential) through ansible's own
vault code.  Every change is a read-modify-write under an exclusive ``flock`` on
the sibling ``<path>.lock`` (so writers in separate processes never lose each
other's updates) and lands atomically: temp file in the same directory, fsync,
``os.replace``; the file always ends up mode 0600.  Readers never lock: they see
either the old or the new file, never a torn one.  Before each replace the old
version is kept as ``<path>.<UTC timestamp>.bak`` (``store.backups``, default 3;
see keep_backup), and a file that does not decrypt or parse is never replaced
(every commit reads the file first and stops on any error).

This runs on the controller only (it needs the vault secrets).
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import json
import os
import re
import threading
import time
import typing as t
import uuid

try:
    import yaml

    HAS_YAML = True
    _LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    _DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
except ImportError:  # pragma: no cover - reported when the store is built
    HAS_YAML = False

# The file store runs on the controller only (the vault secrets live there), so it
# lives in plugin_utils and uses ansible's own vault implementation.
from ansible.errors import AnsibleError
from ansible.parsing.vault import (
    AnsibleVaultFormatError,
    VaultAES256,
    VaultLib,
    VaultSecret,
    is_encrypted,
    match_encrypt_secret,
)

HAS_VAULT = True

from ansible_collections.keyturn.aws.plugins.module_utils._files import (
    LockTimeout,
    TempFileError,
    exclusive_lock,
    fsync_directory,
    write_atomic,
)
from ansible_collections.keyturn.aws.plugins.module_utils._paths import require_parent, write_target
from ansible_collections.keyturn.aws.plugins.module_utils._stores import DEFAULT_BACKUPS
from ansible_collections.keyturn.aws.plugins.plugin_utils._store_journal import (
    JOURNAL_SUFFIX,
    entry_text,
    parse_entry,
    split_entries,
)
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import (
    EMPTY,
    STAGES,
    StagedRecord,
    Store,
    StoreError,
    check_owner,
    check_ttl,
    lease_is_live,
    locked_error,
    normalize_record,
    validate_record_name,
)

FORMAT = 1
FILE_MODE = 0o600
# While many users of one task share the store (batched_releases) and their changes do meet, the thread that
# commits first waits as long as the last commit took (at least COMMIT_LINGER, at most MAX_LINGER), so that more
# changes share one encryption (one PBKDF2 key derivation, one journal append): 200 users commit about 45 times
# with 50 ms, 80 times with 25 ms.  A user waiting for a commit gives its concurrency slot away, so the wait
# costs the task little time; a lone change (nothing met) is written at once.
COMMIT_LINGER = 0.05
MAX_LINGER = 0.1
NEEDS_SECRET = (
    "the file store %s needs the run's vault secret: run ansible-playbook with --vault-id "
    "or --vault-password-file, or attach a vault credential in AWX"
)


def _now() -> float:
    return time.time()


def vault_secrets_from_password(password: str, vault_id: str = "default") -> t.List[t.Tuple[str, t.Any]]:
    """A vault secrets list (as ``DataLoader._vault.secrets`` holds it) for one password."""
    if not HAS_VAULT:
        raise StoreError("the file store needs ansible-core's vault support (ansible.parsing.vault)")
    if not isinstance(password, str) or not password:
        raise StoreError("a vault password must be a non-empty string")
    return [(vault_id, VaultSecret(password.encode("utf-8")))]


class _NextKey:
    """The vault key of the next encryption, derived ahead of time on a background thread.

    Ansible Vault derives its AES and HMAC keys with PBKDF2 (10 000 rounds) from the password and a fresh
    random salt at every encryption; the salt is never reused.  The derivation does not depend on what is
    encrypted, so while one commit is written the key of the next commit's (new, random) salt is derived by
    ansible's own code (``VaultAES256._gen_key_initctr``, which keeps the keys it derived by salt) on a thread:
    the derivation releases the GIL and leaves the commit path.  ``VaultLib.encrypt(salt=...)`` then finds
    the key.  Each salt serves exactly one encryption.  Without that cache (another ansible-core), or with
    ``VAULT_ENCRYPT_SALT`` configured, nothing is derived ahead and ansible derives as usual."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ahead: t.Optional[t.Tuple[bytes, bytes, threading.Thread]] = None  # (password, salt, deriving)

    @staticmethod
    def usable() -> bool:
        derive = getattr(VaultAES256, "_gen_key_initctr", None)
        if derive is None or not hasattr(derive, "cache_info"):
            return False
        try:
            from ansible import constants as C  # pylint: disable=import-outside-toplevel
            return not C.config.get_config_value("VAULT_ENCRYPT_SALT")
        except Exception:  # pylint: disable=broad-except  # no config: derive as usual
            return False

    def take(self, password: bytes) -> t.Optional[bytes]:
        """The salt derived ahead for ``password`` (its key ready once this returns), or None."""
        with self._lock:
            ahead, self._ahead = self._ahead, None
        if ahead is None:
            return None
        ahead[2].join()
        return ahead[1] if ahead[0] == password else None

    def prepare(self, password: bytes) -> None:
        """Start deriving the key of a new random salt for ``password``."""
        salt = os.urandom(32)
        worker = threading.Thread(target=VaultAES256._gen_key_initctr, args=(password, salt),
                                  name="keyturn-vault-key", daemon=True)
        with self._lock:
            if self._ahead is not None:
                return
            self._ahead = (password, salt, worker)
        worker.start()


def _parse(text: str) -> t.Any:
    """The decrypted document: JSON (what this store writes, a subset of YAML) or any YAML (hand-edited)."""
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return yaml.load(text, Loader=_LOADER)  # nosec B506 - CSafeLoader/SafeLoader
    except yaml.YAMLError:
        if _LOADER is yaml.SafeLoader:
            raise
    return yaml.safe_load(text)  # libyaml failed: raise the pure-Python parser's error (its line numbers)


class _Merged(t.NamedTuple):
    """The store file (``snapshot`` identity) merged with its journal as read up to byte ``end``."""

    snapshot: t.Any
    journal: t.Tuple[int, int, int, int]
    end: int
    records: dict
    stale: bool  # the journal holds entries of an earlier generation (to be cut off by the next append)


class _View(t.NamedTuple):
    """One read of the store: the store file (identity, generation), its journal as merged, and the records."""

    snapshot: t.Any
    generation: t.Optional[str]
    journal: t.Optional[_Merged]
    records: dict


class _Ticket:
    """One queued change of one record: ``change(entry)`` edits a private copy of the entry (all stages, plus
    ``lease`` while leased) and returns whether it changed anything."""

    __slots__ = ("name", "change", "done", "error")

    def __init__(self, name: t.Optional[str], change: t.Callable[[dict], bool]) -> None:
        self.name = name
        self.change = change
        self.done = False
        self.error: t.Optional[BaseException] = None


def _blank() -> dict:
    return {stage: None for stage in STAGES}


def _is_empty(entry: dict) -> bool:
    return all(entry.get(s) is None for s in STAGES) and "lease" not in entry


def _yaml_line(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return " (line %d)" % (mark.line + 1)
    return ""


class FileStore(Store):
    """Staged records in an Ansible-Vault-encrypted YAML file (see module docstring)."""

    kind: t.ClassVar[str] = "file"

    def __init__(
        self,
        path: str,
        vault_secrets: t.Optional[list],
        vault_id: t.Optional[str] = None,
        lock_timeout: float = 60.0,
        backups: int = DEFAULT_BACKUPS,
    ) -> None:
        if not HAS_YAML:
            raise StoreError("the file store needs the PyYAML Python library on the controller")
        if not HAS_VAULT:
            raise StoreError("the file store needs ansible-core's vault support (ansible.parsing.vault)")
        if not isinstance(path, str) or not path:
            raise StoreError("the file store needs a path (store.path)")
        if vault_id is not None and (not isinstance(vault_id, str) or not vault_id):
            raise StoreError("store.vault_id must be a non-empty string")
        self.path = write_target(path)
        self.lock_path = self.path + ".lock"
        self.vault_id = vault_id
        self.lock_timeout = lock_timeout
        if isinstance(backups, bool) or not isinstance(backups, int) or backups < 0:
            raise StoreError("store.backups must be a whole number, 0 or more (0 keeps no backup)")
        self.backups = backups
        self._vault_secrets = list(vault_secrets or [])
        # Decrypted content of the file as last read or written, keyed by the file's identity.  Copy on
        # write: a cached entry (record) is never edited, a change replaces it with an edited copy.
        self.journal_path = self.path + JOURNAL_SUFFIX
        self._cache_lock = threading.Lock()
        # (identity, generation, records) of the store file; and the store file merged with its journal.
        self._cache: t.Optional[t.Tuple[t.Tuple[int, int, int, int], t.Optional[str], dict]] = None
        self._merged: t.Optional[_Merged] = None
        # The JSON text of each entry as last written, kept while the entry (object) is the same: a
        # commit serialises only the records its changes replaced.
        self._texts: t.Dict[str, t.Tuple[dict, str]] = {}
        # Group commit: changes queued by this process's threads are written together.
        self._queue_lock = threading.Lock()
        self._commit_lock = threading.Lock()
        self._queue: t.List[_Ticket] = []
        # Lease releases that ride on the next commit instead of paying one (see batched_releases).
        self._batching = 0
        self._deferred: t.List[_Ticket] = []
        self._peak_batch = 0  # the largest batch committed within the current batched_releases block
        self._last_commit = 0.0  # seconds the last commit took
        self._next_key = _NextKey() if _NextKey.usable() else None

    def describe(self) -> str:
        return "file store %s" % self.path

    def check_exists(self) -> None:
        """For readers (verify, info, lookups): a file store that does not exist is a mistake
        (a wrong store.path), not an empty store.  Only the modules that write create it."""
        if not os.path.exists(self.path):
            raise StoreError(
                "the file store %s does not exist: check store.path (a file store is created by the modules that "
                "write to it: access_key_rotate, access_key_reconcile, dual_account_swap, totp_seed, virtual_mfa)"
                % self.path
            )

    # -- vault -------------------------------------------------------------

    def _secrets(self) -> t.List[t.Tuple[str, t.Any]]:
        usable = []
        for item in self._vault_secrets:
            try:
                vid, secret = item
            except (TypeError, ValueError):
                continue
            if secret is None:
                continue
            try:
                has_bytes = bool(secret.bytes)
            except Exception:  # pylint: disable=broad-except  # a secret that cannot load is unusable
                has_bytes = False
            if has_bytes:
                usable.append((vid, secret))
        if not usable:
            raise StoreError(NEEDS_SECRET % self.path)
        return usable

    def _encrypt(self, plaintext: str) -> bytes:
        secrets = self._secrets()
        try:
            match = match_encrypt_secret(secrets, self.vault_id)
        except AnsibleError:
            match = None
        if not match:
            raise StoreError(
                "the file store %s should be encrypted with vault id %r, but the run has no vault secret with that id "
                "(loaded vault ids: %s): add --vault-id %s@<source> or fix store.vault_id"
                % (self.path, self.vault_id, ", ".join(sorted({str(v) for v, _s in secrets})), self.vault_id)
            )
        vid, secret = match
        ahead = self._next_key if self._batching else None  # a task's run of commits: derive the next key ahead
        try:
            salt = ahead.take(secret.bytes) if ahead is not None else None
            blob = VaultLib(secrets).encrypt(plaintext, secret=secret, vault_id=vid, salt=salt)
            if ahead is not None:
                ahead.prepare(secret.bytes)
            return blob
        except AnsibleError:
            raise StoreError("could not encrypt the file store %s with the vault secret %r" % (self.path, vid)) from None

    def _decrypt(self, data: bytes) -> bytes:
        secrets = self._secrets()
        try:
            return VaultLib(secrets).decrypt(data)
        except AnsibleVaultFormatError:
            raise StoreError(
                "the file store %s is damaged: its vault envelope is not valid (restore it from a backup)" % self.path
            ) from None
        except AnsibleError:
            raise StoreError(
                "could not decrypt %s with the run's vault secrets (vault ids tried: %s): wrong vault password, "
                "or the file was encrypted with another vault id"
                % (self.path, ", ".join(sorted({str(v) for v, _s in secrets})))
            ) from None
        except (ValueError, IndexError, TypeError):
            raise StoreError(
                "the file store %s is damaged: its vault envelope is not valid (restore it from a backup)" % self.path
            ) from None

    # -- file content ------------------------------------------------------

    def _load(self) -> dict:
        """All records: a fresh top-level dict (its entries are shared: never edit one in place, replace it);
        ``{}`` when the file does not exist."""
        return dict(self._records())

    def _records(self) -> dict:
        """All records, read-only (the cached mapping itself when nothing changed)."""
        return self._read().records

    def _read(self) -> "_View":
        """The store file merged with its journal (see _store_journal).  A store file replaced while it is
        read (a task folding its journal in) is read again, so a reader never sees the file without the
        changes it was replaced with."""
        for _attempt in range(10):
            ident, generation, records = self._snapshot()
            if generation is None:
                return _View(ident, None, None, records)  # written without a generation: no journal applies
            merged = self._merge_journal(ident, generation, records)
            if self._snapshot_ident() == ident:
                return _View(ident, generation, merged, records if merged is None else merged.records)
        raise StoreError("the file store %s kept changing while it was read; try again" % self.path)

    def _snapshot_ident(self) -> t.Optional[t.Tuple[int, int, int, int]]:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)

    def _snapshot(self) -> t.Tuple[t.Optional[t.Tuple[int, int, int, int]], t.Optional[str], dict]:
        """(identity, generation, records) of the store file itself (cached while the file is the same)."""
        try:
            with open(self.path, "rb") as fh:
                st = os.fstat(fh.fileno())
                ident = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
                with self._cache_lock:
                    if self._cache is not None and self._cache[0] == ident:
                        return self._cache
                data = fh.read()
        except FileNotFoundError:
            return None, None, {}
        except IsADirectoryError:
            raise StoreError("the file store path %s is a directory; store.path must name a file" % self.path) from None
        except PermissionError:
            raise StoreError("cannot read the file store %s: permission denied" % self.path) from None
        except OSError as exc:
            raise StoreError("cannot read the file store %s: %s" % (self.path, exc.strerror or exc.__class__.__name__)) from None
        if not data.strip():
            return ident, None, {}  # an empty file (e.g. created with touch) is an empty store
        if not is_encrypted(data):
            raise StoreError(
                "%s is not an Ansible Vault encrypted file; the file store only uses vault-encrypted YAML "
                "(encrypt it with ansible-vault encrypt, or point store.path at a new file)" % self.path
            )
        plaintext = self._decrypt(data)
        try:
            text = bytes(plaintext).decode("utf-8")
        except UnicodeDecodeError:
            raise StoreError("the file store %s decrypted, but its content is not UTF-8 text" % self.path) from None
        try:
            doc = _parse(text)
        except yaml.YAMLError as exc:
            # The YAML error text quotes the document: report the line only.
            raise StoreError(
                "the file store %s decrypted, but its content is not valid YAML%s" % (self.path, _yaml_line(exc))
            ) from None
        records = self._records_of(doc)
        generation = doc.get("generation") if isinstance(doc, dict) and isinstance(doc.get("generation"), str) else None
        with self._cache_lock:
            self._cache = (ident, generation, records)
        return self._cache

    def _merge_journal(self, ident: t.Any, generation: str, records: dict) -> t.Optional["_Merged"]:
        """The store file's records with its journal's entries applied (None: there is no journal)."""
        try:
            with open(self.journal_path, "rb") as fh:
                st = os.fstat(fh.fileno())
                jident = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
                with self._cache_lock:
                    known = self._merged
                if known is not None and known.snapshot == ident and known.journal == jident:
                    return known
                start, base, stale = 0, records, False
                if known is not None and known.snapshot == ident and known.journal[:2] == jident[:2] \
                        and known.end <= st.st_size:
                    start, base, stale = known.end, known.records, known.stale  # only what was appended since
                fh.seek(start)
                data = fh.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError("cannot read the journal %s: %s" % (self.journal_path, exc.strerror or exc.__class__.__name__)) from None
        entries, junk = split_entries(data)
        if junk:
            raise StoreError("the journal %s of the file store is damaged (restore the store from a backup)" % self.journal_path)
        merged = dict(base)
        end = start
        for index, entry in enumerate(entries):
            try:
                entry_generation, changes = parse_entry(bytes(self._decrypt(entry.blob)).decode("utf-8"))
            except (StoreError, ValueError):
                if index == len(entries) - 1:
                    break  # an append cut short by a crash: it was never reported done
                raise StoreError("the journal %s of the file store is damaged (restore the store from a backup)"
                                 % self.journal_path) from None
            end = start + entry.end
            if entry_generation != generation:
                stale = True  # already folded into the store file
                continue
            for name, value in self._records_of({"format": FORMAT, "records": {
                    n: v for n, v in changes.items() if v is not None}}).items():
                merged[name] = value
            for name in [n for n, v in changes.items() if v is None]:
                merged.pop(name, None)
        result = _Merged(ident, jident, end, merged, stale)
        with self._cache_lock:
            self._merged = result
        return result

    def _records_of(self, doc: t.Any) -> dict:
        where = "the file store %s" % self.path
        if doc is None:
            return {}
        if not isinstance(doc, dict):
            raise StoreError("%s does not hold a keyturn store: expected a mapping with 'format' and 'records'" % where)
        fmt = doc.get("format")
        if fmt != FORMAT:
            if isinstance(fmt, int) and not isinstance(fmt, bool) and fmt > FORMAT:
                raise StoreError("%s has format %d, written by a newer keyturn.aws; upgrade the collection" % (where, fmt))
            raise StoreError("%s does not hold a keyturn store: 'format' must be %d" % (where, FORMAT))
        records = doc.get("records")
        if records is None:
            return {}
        if not isinstance(records, dict):
            raise StoreError("%s is malformed: 'records' must be a mapping" % where)
        result: dict = {}
        for name, entry in records.items():
            if not isinstance(name, str):
                raise StoreError("%s is malformed: a record name is not a string" % where)
            if not isinstance(entry, dict):
                raise StoreError("%s is malformed: the record %r must be a mapping of stages" % (where, name))
            clean = dict(entry)
            for stage in STAGES:
                value = clean.get(stage)
                if value is not None and not isinstance(value, dict):
                    raise StoreError("%s is malformed: the %s stage of %r must be a mapping or null" % (where, stage, name))
                clean[stage] = value
            lease = clean.get("lease")
            if lease is not None and not (isinstance(lease, dict) and isinstance(lease.get("owner"), str)):
                raise StoreError("%s is malformed: the lease of %r must be a mapping with owner and expires" % (where, name))
            if lease is None:
                clean.pop("lease", None)
            result[name] = clean
        # One JSON round trip: every value is a builtin str/int/float/bool/None/list/dict.
        try:
            return normalize_record(result)
        except StoreError:
            raise StoreError("%s is malformed: it holds values that are not plain JSON data (dates, sets ...)" % where) from None

    def _dump(self, records: dict, generation: str) -> bytes:
        """The encrypted document.  YAML in its JSON form (valid YAML, and written by the C JSON encoder),
        one record per line, sorted by name; only the records replaced since the last write are serialised."""
        texts = self._texts
        lines = []
        for name in sorted(records):
            entry = records[name]
            known = texts.get(name)
            if known is None or known[0] is not entry:
                known = (entry, "%s: %s" % (json.dumps(name), json.dumps(entry, sort_keys=True)))
                texts[name] = known
            lines.append(known[1])
        for name in [n for n in texts if n not in records]:
            del texts[name]
        head = '{"format": %d, "generation": %s, "records": {' % (FORMAT, json.dumps(generation))
        text = '%s\n%s\n}}\n' % (head, ",\n".join(lines)) if lines else head + '}}\n'
        return self._encrypt(text)

    # -- locking and atomic writes ----------------------------------------

    def _check_directory(self) -> str:
        return require_parent(self.path, "file store", StoreError)

    @contextlib.contextmanager
    def _locked(self) -> t.Iterator[None]:
        directory = self._check_directory()
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self.lock_path, flags, FILE_MODE)
        except PermissionError:
            raise StoreError(
                "cannot create the lock file %s: permission denied (the directory %s must be writable by the "
                "user running Ansible)" % (self.lock_path, directory)
            ) from None
        except OSError as exc:
            raise StoreError(
                "cannot open the lock file %s: %s" % (self.lock_path, exc.strerror or exc.__class__.__name__)
            ) from None
        try:
            with exclusive_lock(fd, timeout=self.lock_timeout):
                yield
        except LockTimeout:
            raise StoreError(
                "timed out after %ss waiting for the lock %s (another process is writing the file store)"
                % (self.lock_timeout, self.lock_path)
            ) from None
        finally:
            os.close(fd)

    def _write(self, records: dict) -> None:
        """Atomically replace the file with ``records`` (caller holds the lock), under a new generation:
        a journal left next to it no longer applies and is removed."""
        generation = uuid.uuid4().hex
        blob = self._dump(records, generation)
        directory = self._check_directory()
        try:
            # The version being replaced is kept as a backup just before the rename (store.backups).
            write_atomic(self.path, blob, FILE_MODE, prepare=self._keep_owner, sync_directory=True,
                         check=lambda _tmp: keep_backup(self.path, self.backups))
            st = os.stat(self.path)
            with self._cache_lock:
                self._cache = ((st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size), generation, records)
                self._merged = None
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.journal_path)
        except TempFileError as exc:
            if isinstance(exc.__cause__, PermissionError):
                raise StoreError(
                    "cannot write the file store %s: the directory %s is not writable" % (self.path, directory)
                ) from None
            raise StoreError(
                "cannot write the file store %s: %s" % (self.path, exc.strerror or exc.__class__.__name__)
            ) from None
        except OSError as exc:
            raise StoreError(
                "cannot write the file store %s: %s" % (self.path, exc.strerror or exc.__class__.__name__)
            ) from None

    def _append(self, view: "_View", records: dict, changed: t.Iterable[str]) -> None:
        """Append the entries of the ``changed`` records to the journal; ``view`` is what the caller read under
        the lock it still holds, ``records`` the records after its changes.  Durable before it returns."""
        ident, generation, known = view.snapshot, view.generation, view.journal
        if generation is None:
            self._write(records)  # a store file without a generation (none yet, or hand-made): no journal applies
            return
        blob = self._encrypt(entry_text(generation, {name: records.get(name) for name in changed}))
        flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
        try:
            fd = os.open(self.journal_path, flags, FILE_MODE)
            try:
                st = os.fstat(fd)
                created = st.st_size == 0
                keep = 0
                if not created:
                    # Under the lock, the journal is the one just read: cut off an append a crash cut short,
                    # or the whole journal when it is a stale one (already folded into the store file).
                    if known is None or known.snapshot != ident or \
                            known.journal != (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size):
                        raise StoreError("the journal %s changed while the file store was locked; try again" % self.journal_path)
                    keep = 0 if known.stale else known.end
                    if keep != st.st_size:
                        os.ftruncate(fd, keep)
                if keep == 0:
                    self._keep_owner(fd)
                os.lseek(fd, keep, os.SEEK_SET)
                view = memoryview(blob if blob.endswith(b"\n") else blob + b"\n")
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
                st = os.fstat(fd)
            finally:
                os.close(fd)
            if created:
                fsync_directory(os.path.dirname(self.journal_path))
        except OSError as exc:
            raise StoreError(
                "cannot write the journal %s of the file store: %s" % (self.journal_path, exc.strerror or exc.__class__.__name__)
            ) from None
        with self._cache_lock:
            self._merged = _Merged(ident, (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size), st.st_size, records, False)

    def _keep_owner(self, fd: int) -> None:
        """Best effort: keep the owner/group of the file being replaced (e.g. when run as root)."""
        try:
            st = os.stat(self.path)
        except OSError:
            return
        if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
            with contextlib.suppress(OSError):
                os.fchown(fd, st.st_uid, st.st_gid)

    def _mutate(self, name: t.Optional[str], change: t.Callable[[dict], bool]) -> None:
        """Read-modify-write of the record ``name`` under the lock; ``change`` edits a copy of its entry in
        place and returns whether anything changed (nothing is written otherwise).  Changes that this
        process's threads queue meanwhile are applied in order and written together (group commit: one
        encryption, one backup, one rename); each call returns once its change is on disk."""
        ticket = _Ticket(name, change)
        with self._queue_lock:
            self._queue.append(ticket)
        with self.waiting(), self._commit_lock:
            if not ticket.done:
                if self._batching and self._peak_batch > 1:
                    time.sleep(min(max(COMMIT_LINGER, self._last_commit), MAX_LINGER))
                with self._queue_lock:
                    self._peak_batch = max(self._peak_batch, len(self._queue))  # changes that met (releases aside)
                    batch, self._queue = self._deferred + self._queue, []
                    self._deferred = []
                self._commit(batch)
        if ticket.error is not None:
            raise ticket.error

    def _commit(self, batch: t.List[_Ticket]) -> None:
        started = time.monotonic()
        try:
            with self._locked():
                view = self._read()  # under the lock: exactly what is on disk until the lock is given back
                records = dict(view.records)
                changed: t.List[str] = []
                for ticket in batch:
                    if ticket.name is None:
                        continue
                    old = records.get(ticket.name)
                    entry = _blank() if old is None else dict(old)
                    try:
                        if not ticket.change(entry):
                            continue
                    except Exception as exc:  # pylint: disable=broad-except  # handed to the caller
                        ticket.error = exc
                        continue
                    if _is_empty(entry):
                        records.pop(ticket.name, None)
                    else:
                        records[ticket.name] = entry
                    changed.append(ticket.name)
                if changed and self._batching:
                    self._append(view, records, dict.fromkeys(changed))  # a task's commit: to the journal
                elif changed or (not self._batching and os.path.exists(self.journal_path)):
                    self._write(records)  # the whole file, with any journal folded in
        except StoreError as exc:
            for ticket in batch:
                if ticket.error is None:
                    ticket.error = exc
        finally:
            self._last_commit = time.monotonic() - started
            for ticket in batch:
                ticket.done = True

    @contextlib.contextmanager
    def batched_releases(self) -> t.Iterator[None]:
        """Within the block, a lease given back normally (not on an error) does not pay a commit of its own:
        its release is applied with the next commit of any thread, and the ones left are written when the
        block ends.  The lease is held a little longer, never shorter; a crash leaves it as a crash inside
        the leased work would (a dead owner's lease is taken over at once on this host, else it expires)."""
        with self._queue_lock:
            self._batching += 1
            if self._batching == 1:
                self._peak_batch = 0
        try:
            yield
        finally:
            with self._queue_lock:
                self._batching -= 1
                last = not self._batching
            if last:  # the leases left, and the journal folded into the store file: one write
                self._mutate(None, lambda entry: False)

    def _release_later(self, name: str, change: t.Callable[[dict], bool]) -> bool:
        """Queue a lease release for the next commit when batching; False when it must be written now."""
        with self._queue_lock:
            if not self._batching:
                return False
            self._deferred.append(_Ticket(name, change))
            return True

    # -- Store API ---------------------------------------------------------

    def read(self, name: str) -> StagedRecord:
        validate_record_name(name)
        entry = self._records().get(name)
        if not entry:
            return EMPTY
        return StagedRecord(copy.deepcopy(entry.get("current")), copy.deepcopy(entry.get("pending")),
                            copy.deepcopy(entry.get("previous")))

    def write_pending(self, name: str, record: dict) -> None:
        validate_record_name(name)
        value = normalize_record(record)

        def change(entry: dict) -> bool:
            entry["pending"] = value
            return True

        self._mutate(name, change)

    def discard_pending(self, name: str) -> None:
        validate_record_name(name)

        def change(entry: dict) -> bool:
            if entry.get("pending") is None:
                return False
            entry["pending"] = None
            return True

        self._mutate(name, change)

    def promote(self, name: str, record: t.Optional[dict] = None) -> None:
        validate_record_name(name)
        value = None if record is None else normalize_record(record)

        def change(entry: dict) -> bool:
            if entry.get("pending") is None:
                raise StoreError("nothing is pending for %r in the %s: there is nothing to promote" % (name, self.describe()))
            entry["previous"] = entry.get("current")
            entry["current"] = entry["pending"] if value is None else value
            entry["pending"] = None
            return True

        self._mutate(name, change)

    def write_current(self, name: str, record: dict, keep_previous: bool = True) -> None:
        validate_record_name(name)
        value = normalize_record(record)

        def change(entry: dict) -> bool:
            entry["previous"] = entry.get("current") if keep_previous else None
            entry["current"] = value
            return True

        self._mutate(name, change)

    def delete(self, name: str) -> None:
        validate_record_name(name)

        def change(entry: dict) -> bool:
            if all(entry.get(s) is None for s in STAGES):
                return False
            for stage in STAGES:
                entry[stage] = None
            return True  # a held lease stays until its owner releases it

        self._mutate(name, change)

    def names(self) -> t.List[str]:
        records = self._records()
        return sorted(name for name, entry in records.items() if any(entry.get(s) is not None for s in STAGES))

    @contextlib.contextmanager
    def lease(self, name: str, owner: str, ttl: int) -> t.Iterator[None]:
        validate_record_name(name)
        check_owner(owner)
        check_ttl(ttl)

        def acquire(entry: dict) -> bool:
            now = _now()
            held = entry.get("lease")
            if lease_is_live(held, owner, now):
                raise locked_error(name, self.describe(), held)
            entry["lease"] = {"owner": owner, "expires": now + ttl}
            return True

        def release(entry: dict) -> bool:
            if (entry.get("lease") or {}).get("owner") != owner:
                return False  # expired and taken over by another owner: not ours to drop
            del entry["lease"]
            return True

        self._mutate(name, acquire)
        try:
            yield
        except BaseException:
            with contextlib.suppress(StoreError):
                self._mutate(name, release)
            raise
        if not self._release_later(name, release):
            self._mutate(name, release)


def file_store_factory(vault_secrets: t.Optional[list]) -> t.Callable[..., FileStore]:
    """``factory(path, vault_id, backups=3)`` bound to the run's vault secrets (for ``build_store``)."""

    def factory(path: str, vault_id: t.Optional[str] = None, backups: int = DEFAULT_BACKUPS) -> FileStore:
        return FileStore(path, vault_secrets, vault_id=vault_id, backups=backups)

    return factory


# -- backups ---------------------------------------------------------------
# Before each commit the version being replaced is kept as ``<path>.<UTC timestamp>.bak``
# (for example ``secrets.yml.20250131T120000.123456Z.bak``): a hard link to the old file, so it
# costs no copy and has the same mode, owner and folder; only the newest ``backups`` are kept.
# Restoring one is copying it back (see the README, "Restoring a file store backup").

BACKUP_STAMP = "%Y%m%dT%H%M%S.%fZ"
_BACKUP_NAME = re.compile(r"^\d{8}T\d{6}\.\d{6}Z\.bak$")


def backup_paths(path: str) -> t.List[str]:
    """The backups of the file store at ``path``, oldest first."""
    directory, base = os.path.split(path)
    prefix = base + "."
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return [os.path.join(directory, n) for n in sorted(n for n in names
                                                       if n.startswith(prefix) and _BACKUP_NAME.match(n[len(prefix):]))]


def keep_backup(path: str, keep: int) -> None:
    """Keep the current version of ``path`` (about to be replaced) as a backup, then drop all
    but the newest ``keep``.  Nothing happens when ``keep`` is 0 or the file does not exist yet."""
    if keep <= 0 or not os.path.isfile(path):
        return
    for _attempt in range(5):
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime(BACKUP_STAMP)
        target = "%s.%s.bak" % (path, stamp)
        try:
            os.link(path, target)
            break
        except FileExistsError:
            continue  # same microsecond: take a new timestamp
        except OSError:  # no hard links here (some network or FUSE file systems): copy it
            _copy_backup(path, target)
            break
    else:  # pragma: no cover - five backups in one microsecond
        raise StoreError("cannot keep a backup of the file store %s: the backup names are taken" % path)
    for old in backup_paths(path)[:-keep]:
        with contextlib.suppress(OSError):
            os.unlink(old)


def _copy_backup(path: str, target: str) -> None:
    try:
        with open(path, "rb") as src:
            write_atomic(target, src.read(), FILE_MODE, suffix=".bak.tmp")
    except OSError as exc:
        raise StoreError(
            "cannot keep a backup of the file store %s (set store.backups: 0 to keep none): %s"
            % (path, exc.strerror or exc.__class__.__name__)
        ) from None
