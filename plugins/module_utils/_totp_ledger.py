# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The TOTP code ledger of keyturn.aws: one code per (seed, time step) on this controller.

AWS rejects a code that was already used, so ``issue_code`` (``_totp_codes.py``)
claims every (seed, time step) it hands out in a :class:`CodeLedger` and waits
for the next window when the pair was claimed before.  The ledger file holds
neither a seed nor a code; it is locked and replaced with the collection's file
helpers (``_files.py``).
"""

from __future__ import annotations

import base64
import binascii
import errno
import hashlib
import hmac
import json
import os
import secrets
import time
import typing

from ansible_collections.keyturn.aws.plugins.module_utils._errors import TotpError
from ansible_collections.keyturn.aws.plugins.module_utils._files import exclusive_lock, write_atomic
from ansible_collections.keyturn.aws.plugins.module_utils._paths import require_parent, write_target
from ansible_collections.keyturn.aws.plugins.module_utils._totp_parse import TotpSpec


DEFAULT_LEDGER_PATH = os.path.join("~", ".ansible", "keyturn", "totp-ledger.json")
# Ledger entries are kept this many periods after their window closed.
LEDGER_KEEP_PERIODS = 4


class CodeLedger:
    """Remembers which (seed, time step) pairs were handed out on this controller.

    The ledger is a small JSON file shared by all processes of the controller
    user.  Every update happens under an exclusive ``flock`` on ``<path>.lock``
    and is written atomically (temp file + rename), mode 0600, in a directory
    created with mode 0700.  Seeds are identified by an HMAC-SHA256 keyed with
    a random per-ledger key kept in the file, so the file contains neither a
    seed nor a plain hash of one.  Entries are pruned a few periods after
    their window closed.
    """

    VERSION = 1

    def __init__(self, path: typing.Optional[str] = None, *, clock: typing.Callable[[], float] = time.time) -> None:
        # A symbolic link is written through (os.replace would turn the link into a file).
        self.path = write_target(path or DEFAULT_LEDGER_PATH)
        self.lock_path = self.path + ".lock"
        self._clock = clock
        self._is_default = self.path == write_target(DEFAULT_LEDGER_PATH)

    def __repr__(self) -> str:
        return "CodeLedger(path=%r)" % self.path

    def check_path(self) -> None:
        """Refuse a ledger whose folder does not exist (the file store's rule and message):
        only the default ledger's folder, ~/.ansible/keyturn, is created on first use."""
        if not self._is_default:
            require_parent(self.path, "TOTP ledger", TotpError)
        if os.path.isdir(self.path):
            raise TotpError("the TOTP ledger path %s is a directory; give the path of a file" % self.path)

    def _ensure_dir(self) -> None:
        self.check_path()
        directory = os.path.dirname(self.path)
        if os.path.isdir(directory):
            return
        try:
            os.makedirs(directory, mode=0o700)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise TotpError("cannot create the TOTP ledger directory %s: %s" % (directory, exc.strerror)) from None
        else:
            os.chmod(directory, 0o700)

    def _load(self) -> typing.Dict[str, typing.Any]:
        try:
            with open(self.path, "r", encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return {
                "version": self.VERSION,
                "key": base64.b64encode(secrets.token_bytes(32)).decode("ascii"),
                "entries": [],
            }
        except (OSError, ValueError) as exc:
            raise TotpError(
                "the TOTP ledger %s cannot be read (%s); remove it if it is damaged" % (self.path, type(exc).__name__)
            ) from None
        if (
            not isinstance(data, dict)
            or data.get("version") != self.VERSION
            or not isinstance(data.get("key"), str)
            or not isinstance(data.get("entries"), list)
        ):
            raise TotpError("the TOTP ledger %s has an unknown format; remove it if it is damaged" % self.path)
        return data

    def _save(self, data: typing.Dict[str, typing.Any]) -> None:
        write_atomic(self.path, json.dumps(data, sort_keys=True, separators=(",", ":")), 0o600, prefix=".totp-ledger.")

    @staticmethod
    def _fingerprint(key: str, spec: TotpSpec) -> str:
        material = "\x00".join((spec.secret, spec.algorithm, str(spec.digits), str(spec.period)))
        return hmac.new(base64.b64decode(key), material.encode("ascii"), hashlib.sha256).hexdigest()

    def claim(self, fingerprint_input: TotpSpec, step: int) -> bool:
        """Atomically record (seed, *step*); True if it had not been recorded before."""
        if not isinstance(fingerprint_input, TotpSpec):
            raise TotpError("CodeLedger.claim needs a TotpSpec")
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise TotpError("the time step must be a non-negative integer")
        spec = fingerprint_input
        self._ensure_dir()
        try:
            lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise TotpError("cannot open the TOTP ledger lock %s: %s" % (self.lock_path, exc.strerror)) from None
        try:
            with exclusive_lock(lock_fd):
                data = self._load()
                try:
                    fingerprint = self._fingerprint(data["key"], spec)
                except (binascii.Error, ValueError):
                    raise TotpError("the TOTP ledger %s has a damaged key; remove it" % self.path) from None
                # Prune relative to the earlier of "now" and the claimed window, so
                # an entry near the claimed step is never dropped.
                reference = min(self._clock(), step * spec.period)
                kept = []
                claimed = False
                for entry in data["entries"]:
                    if not isinstance(entry, dict):
                        continue
                    try:
                        expires = float(entry["expires"])
                        period = float(entry["period"])
                    except (KeyError, TypeError, ValueError):
                        continue
                    if expires + LEDGER_KEEP_PERIODS * period < reference:
                        continue  # prune
                    kept.append(entry)
                    if entry.get("fp") == fingerprint and entry.get("step") == step:
                        claimed = True
                if not claimed:
                    kept.append(
                        {"fp": fingerprint, "step": step, "period": spec.period, "expires": (step + 1) * spec.period}
                    )
                data["entries"] = kept
                try:
                    self._save(data)
                except OSError as exc:
                    raise TotpError("cannot write the TOTP ledger %s: %s" % (self.path, exc.strerror)) from None
                return not claimed
        finally:
            os.close(lock_fd)
