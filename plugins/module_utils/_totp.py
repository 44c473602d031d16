# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TOTP core for keyturn.aws: seed parsing, code generation and one-use issuing.

Codes always come from :mod:`pyotp`.  This module adds what the lookup needs
around it:

* ``normalize_seed`` / ``parse_seed`` turn a base32 seed or an
  ``otpauth://totp/...`` URI (as users paste them: lower case, grouped with
  spaces or dashes, padding missing or doubled) into a validated
  :class:`TotpSpec`, with error messages that never contain the seed.
* ``issue_code`` waits for the next window when too little of the current one
  is left, and - with a :class:`CodeLedger` - never hands out the same
  (seed, time step) twice on this controller, because AWS rejects a code that
  was already used.

Accepted ranges (documented in the lookup plugin too):

* ``digits``: 6, 7 or 8 (RFC 4226/6238; AWS uses 6).
* ``period``: 15 to 120 seconds (AWS uses 30).  Below 15 s the
  ``min_remaining`` wait is meaningless; pyotp refuses more than 120 s
  (NIST SP 800-63B).
* ``algorithm``: SHA1 (default, what AWS uses), SHA256, SHA512, any case.
* Seeds must decode to at least 112 bits (14 bytes, 23 base32 characters),
  pyotp's NIST-derived floor, and at most 1024 bits; a degenerate seed (every
  byte the same, e.g. all ``A`` = all zeros) is refused.  AWS virtual MFA seeds
  are 320 bits.

Nothing in this module writes a seed or a code to a file, a log or an
exception message.  ``repr()`` of :class:`TotpSpec` and :class:`IssuedCode`
masks them.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import errno
import fcntl
import hashlib
import hmac
import json
import math
import os
import secrets
import time
import typing
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from ansible_collections.keyturn.aws.plugins.module_utils._paths import require_parent, write_target
from ansible_collections.keyturn.aws.plugins.module_utils._validate import kind_of

try:
    import pyotp

    HAS_PYOTP = True
except ImportError:  # pragma: no cover - exercised only without pyotp
    pyotp = None
    HAS_PYOTP = False

from ansible_collections.keyturn.aws.plugins.module_utils._errors import KeyturnError
from ansible_collections.keyturn.aws.plugins.module_utils._files import write_atomic


DEFAULT_DIGITS = 6
DEFAULT_PERIOD = 30
DEFAULT_ALGORITHM = "SHA1"
DIGITS_RANGE = (6, 8)
PERIOD_RANGE = (15, 120)
MIN_SEED_BITS = 112
# 1024 bits: four times a SHA512 block's key material and three times AWS's 320-bit seeds; a longer
# "seed" is a paste mistake (a whole file, a URI pasted twice ...).
MAX_SEED_BITS = 1024
ALGORITHMS = {
    "SHA1": hashlib.sha1,
    "SHA256": hashlib.sha256,
    "SHA512": hashlib.sha512,
}
DEFAULT_LEDGER_PATH = os.path.join("~", ".ansible", "keyturn", "totp-ledger.json")
# Ledger entries are kept this many periods after their window closed.
LEDGER_KEEP_PERIODS = 4

_BASE32_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
_SEPARATORS = " -\t\r\n\v\f"
_MIN_SEED_CHARS = -(-MIN_SEED_BITS // 5)  # 23 base32 characters
_MAX_SEED_INPUT = 4096  # characters, separators and padding included


class TotpError(KeyturnError):
    """Invalid TOTP input or a code could not be issued.

    Messages never contain a seed or a code.
    """


def _require_pyotp() -> None:
    if not HAS_PYOTP:
        raise TotpError(
            "the Python library pyotp is required for TOTP codes; install it on the "
            "Ansible controller (pip install pyotp)"
        )


# ---------------------------------------------------------------------------
# Seeds
# ---------------------------------------------------------------------------


def _describe_bad_char(char: str) -> str:
    if char in "0189":
        return "the digits 0, 1, 8 and 9 are not base32 (O, I and B are often misread as 0, 1 and 8)"
    if char == "=":
        return "'=' padding may only appear at the end"
    if ord(char) > 127:
        return "it contains non-ASCII characters"
    if char.isspace() or not char.isprintable():
        return "it contains whitespace or control characters other than spaces, tabs and newlines"
    return "it contains punctuation or symbols"


def normalize_seed(text: str) -> str:
    """Return *text* as canonical base32: upper case, no separators, ``=`` padded.

    Spaces, dashes, tabs and newlines are removed, letters are upper-cased and
    any trailing ``=`` padding (missing, partial or excessive) is replaced by
    the correct amount.  Raises :class:`TotpError` (without echoing the seed)
    when the seed is empty, contains characters outside the base32 alphabet,
    has an impossible length, or decodes to fewer than 112 bits.
    """
    if not isinstance(text, str):
        raise TotpError("the TOTP seed must be a string, got %s" % kind_of(text))
    if len(text) > _MAX_SEED_INPUT:  # before any work on it: a pasted file is not a seed
        raise TotpError(
            "the TOTP seed is too long: %d characters, a seed has at most %d base32 characters (%d bits)"
            % (len(text), MAX_SEED_BITS // 5, MAX_SEED_BITS)
        )
    compact = "".join(ch for ch in text if ch not in _SEPARATORS).upper()
    body = compact.rstrip("=")
    if not body:
        raise TotpError("the TOTP seed is empty")
    for position, char in enumerate(body, start=1):
        if char not in _BASE32_ALPHABET:
            raise TotpError(
                "the TOTP seed contains characters outside the base32 alphabet A-Z and 2-7: "
                "%s (first at character %d after removing spaces and dashes)" % (_describe_bad_char(char), position)
            )
    if len(body) % 8 in (1, 3, 6):
        raise TotpError(
            "the TOTP seed has %d base32 characters, which is not a valid base32 length "
            "(characters may be missing or extra)" % len(body)
        )
    padded = body + "=" * (-len(body) % 8)
    try:
        decoded = base64.b32decode(padded)
    except (binascii.Error, ValueError):
        raise TotpError("the TOTP seed is not decodable as base32") from None
    bits = len(decoded) * 8
    if bits < MIN_SEED_BITS:
        raise TotpError(
            "the TOTP seed is too short: it decodes to %d bits, the minimum is %d bits "
            "(%d base32 characters); AWS MFA seeds are 320 bits" % (bits, MIN_SEED_BITS, _MIN_SEED_CHARS)
        )
    if bits > MAX_SEED_BITS:
        raise TotpError(
            "the TOTP seed is too long: it decodes to %d bits, the maximum is %d bits (%d base32 characters); "
            "AWS MFA seeds are 320 bits (64 characters): check that only the seed was pasted"
            % (bits, MAX_SEED_BITS, MAX_SEED_BITS // 5)
        )
    if len(set(decoded)) == 1:
        raise TotpError(
            "the TOTP seed is degenerate: every byte of it is the same (for example all 'A', which is all zeros); "
            "a real seed is random: copy it again from the MFA enrolment"
        )
    return padded


def _to_int(value: typing.Any, name: str, accepted: str) -> int:
    if isinstance(value, bool):
        raise TotpError("%s must be an integer (%s), got a boolean" % (name, accepted))
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.isascii() and stripped.isdigit():
            return int(stripped)
        raise TotpError("%s must be an integer (%s)" % (name, accepted))
    raise TotpError("%s must be an integer (%s), got %s" % (name, accepted, kind_of(value)))


def _check_digits(value: typing.Any) -> int:
    accepted = "6, 7 or 8"
    digits = _to_int(value, "digits", accepted)
    if not DIGITS_RANGE[0] <= digits <= DIGITS_RANGE[1]:
        raise TotpError("digits must be %s, got %d" % (accepted, digits))
    return digits


def _check_period(value: typing.Any) -> int:
    accepted = "%d to %d seconds" % PERIOD_RANGE
    period = _to_int(value, "period", accepted)
    if not PERIOD_RANGE[0] <= period <= PERIOD_RANGE[1]:
        raise TotpError("period must be %s, got %d" % (accepted, period))
    return period


def _check_algorithm(value: typing.Any) -> str:
    accepted = "SHA1, SHA256 or SHA512"
    if not isinstance(value, str):
        raise TotpError("algorithm must be %s, got %s" % (accepted, kind_of(value)))
    name = value.strip().upper()
    if name not in ALGORITHMS:
        raise TotpError("algorithm must be %s (any case)" % accepted)
    return name


@dataclass(frozen=True)
class TotpSpec:
    """A validated TOTP configuration.  ``repr()`` never shows the secret."""

    secret: str = field(repr=False)
    digits: int = DEFAULT_DIGITS
    period: int = DEFAULT_PERIOD
    algorithm: str = DEFAULT_ALGORITHM
    issuer: typing.Optional[str] = None
    account: typing.Optional[str] = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "secret", normalize_seed(self.secret))
        object.__setattr__(self, "digits", _check_digits(self.digits))
        object.__setattr__(self, "period", _check_period(self.period))
        object.__setattr__(self, "algorithm", _check_algorithm(self.algorithm))

    def __repr__(self) -> str:
        return "TotpSpec(secret=<hidden>, digits=%d, period=%d, algorithm=%r, issuer=%r, account=%r)" % (
            self.digits,
            self.period,
            self.algorithm,
            self.issuer,
            self.account,
        )

    __str__ = __repr__

    @property
    def label(self) -> typing.Optional[str]:
        """``issuer:account`` (or whichever part is known), safe for logs."""
        parts = [p for p in (self.issuer, self.account) if p]
        return ":".join(parts) if parts else None


def _split_label(raw_path: str) -> typing.Tuple[typing.Optional[str], typing.Optional[str]]:
    label = raw_path[1:] if raw_path.startswith("/") else raw_path
    if not label:
        return None, None
    # Split on a literal colon before unquoting; fall back to an encoded colon
    # (the Key URI Format allows both as the issuer separator).
    if ":" in label:
        issuer_raw, account_raw = label.split(":", 1)
        issuer, account = unquote(issuer_raw), unquote(account_raw)
    else:
        decoded = unquote(label)
        if ":" in decoded:
            issuer, account = decoded.split(":", 1)
        else:
            issuer, account = "", decoded
    issuer = issuer.strip()
    account = account.strip()
    return issuer or None, account or None


def _parse_uri(value: str) -> typing.Dict[str, typing.Any]:
    try:
        parts = urlsplit(value)
    except ValueError:
        raise TotpError("the TOTP seed looks like a URI but cannot be parsed; expected otpauth://totp/...") from None
    scheme = parts.scheme.lower()
    if scheme != "otpauth":
        shown = scheme if scheme.isalnum() and len(scheme) <= 16 else "unknown"
        raise TotpError("unsupported URI scheme '%s' for a TOTP seed; expected otpauth://totp/..." % shown)
    kind = parts.netloc.lower()
    if kind == "hotp":
        raise TotpError(
            "otpauth://hotp URIs (counter-based HOTP) are not supported; AWS MFA uses time-based otpauth://totp"
        )
    if kind != "totp":
        raise TotpError("unsupported otpauth type; expected otpauth://totp/...")
    issuer, account = _split_label(parts.path)
    result: typing.Dict[str, typing.Any] = {"issuer": issuer, "account": account}
    seen = set()
    for key, val in parse_qsl(parts.query, keep_blank_values=True):
        key = key.lower()
        if key in ("secret", "issuer", "algorithm", "digits", "period", "encoder"):
            if key in seen:
                raise TotpError("the otpauth URI has more than one '%s' parameter" % key)
            seen.add(key)
        if key == "secret":
            result["secret"] = val
        elif key == "issuer":
            val = val.strip()
            if val:
                if issuer is not None and issuer != val:
                    raise TotpError("the otpauth URI names a different issuer in its label and its issuer parameter")
                result["issuer"] = val
        elif key == "algorithm":
            result["algorithm"] = val
        elif key == "digits":
            result["digits"] = val
        elif key == "period":
            result["period"] = val
        elif key == "encoder" and val:
            raise TotpError("otpauth URIs with an encoder parameter (e.g. Steam) are not supported")
    if not result.get("secret", "").strip():
        raise TotpError("the otpauth URI has no secret parameter")
    return result


def _prefix(exc: TotpError, prefix: str) -> TotpError:
    return TotpError("%s: %s" % (prefix, exc))


def parse_seed(
    value: str,
    *,
    digits: typing.Optional[int] = None,
    period: typing.Optional[int] = None,
    algorithm: typing.Optional[str] = None,
) -> TotpSpec:
    """Parse a base32 seed or an ``otpauth://totp/...`` URI into a :class:`TotpSpec`.

    Keyword options override values from the URI when they are not None.
    """
    if not isinstance(value, str):
        raise TotpError("the TOTP seed must be a string, got %s" % kind_of(value))
    text = value.strip()
    if ":" in text:  # a base32 seed never contains ':', so this is meant as a URI
        fields = _parse_uri(text)
        try:
            secret = normalize_seed(fields["secret"])
        except TotpError as exc:
            raise _prefix(exc, "otpauth URI secret") from None
        uri_values = {}
        for name, check in (("digits", _check_digits), ("period", _check_period), ("algorithm", _check_algorithm)):
            if fields.get(name) is not None and not str(fields[name]).strip():
                raise TotpError("the otpauth URI has an empty %s= parameter: give a value or leave the parameter out" % name)
            if fields.get(name) is not None:
                try:
                    uri_values[name] = check(fields[name])
                except TotpError as exc:
                    raise _prefix(exc, "otpauth URI") from None
        issuer = fields["issuer"]
        account = fields["account"]
    else:
        secret = normalize_seed(text)
        uri_values = {}
        issuer = account = None
    return TotpSpec(
        secret=secret,
        digits=digits if digits is not None else uri_values.get("digits", DEFAULT_DIGITS),
        period=period if period is not None else uri_values.get("period", DEFAULT_PERIOD),
        algorithm=algorithm if algorithm is not None else uri_values.get("algorithm", DEFAULT_ALGORITHM),
        issuer=issuer,
        account=account,
    )


# ---------------------------------------------------------------------------
# Codes
# ---------------------------------------------------------------------------


def _totp(spec: TotpSpec) -> typing.Any:
    _require_pyotp()
    return pyotp.TOTP(s=spec.secret, digits=spec.digits, digest=ALGORITHMS[spec.algorithm], interval=spec.period)


def _check_time(for_time: typing.Any) -> float:
    if isinstance(for_time, bool) or not isinstance(for_time, (int, float)):
        raise TotpError("the time must be a number of seconds since the Unix epoch")
    if for_time < 0:
        raise TotpError("the time must not be before the Unix epoch")
    return for_time


def code_at(spec: TotpSpec, for_time: float) -> str:
    """The TOTP code of *spec* at Unix time *for_time* (computed by pyotp)."""
    for_time = _check_time(for_time)
    try:
        return _totp(spec).at(for_time)
    except ValueError:
        raise TotpError("pyotp could not compute a code for this time") from None


def hotp_code(spec: TotpSpec, counter: int) -> str:
    """The HOTP code of *spec* for *counter* (RFC 4226, computed by pyotp).

    For TOTP, ``code_at(spec, t) == hotp_code(spec, time_step(spec, t))``.
    """
    _require_pyotp()
    if isinstance(counter, bool) or not isinstance(counter, int) or counter < 0:
        raise TotpError("the HOTP counter must be a non-negative integer")
    try:
        return pyotp.HOTP(s=spec.secret, digits=spec.digits, digest=ALGORITHMS[spec.algorithm]).at(counter)
    except ValueError:
        raise TotpError("pyotp could not compute a code for this counter") from None


def time_step(spec: TotpSpec, t: float) -> int:
    """The RFC 6238 time step (counter) at Unix time *t*."""
    return int(_check_time(t) // spec.period)


def remaining(spec: TotpSpec, t: float) -> float:
    """Seconds left in the window containing Unix time *t* (0 < result <= period)."""
    return spec.period - (_check_time(t) % spec.period)


# ---------------------------------------------------------------------------
# Ledger
# ---------------------------------------------------------------------------


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
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
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
            os.close(lock_fd)  # releases the flock


# ---------------------------------------------------------------------------
# Issuing
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedCode:
    """A code handed out by :func:`issue_code`.  ``repr()`` never shows the code."""

    code: str = field(repr=False)
    step: int
    expires_at: datetime.datetime
    remaining: float
    period: int
    waited: float = 0.0

    def __repr__(self) -> str:
        return "IssuedCode(code=<hidden>, step=%d, expires_at=%s, remaining=%.1f, period=%d, waited=%.1f)" % (
            self.step,
            self.expires_at.isoformat(),
            self.remaining,
            self.period,
            self.waited,
        )

    __str__ = __repr__

    def as_dict(self) -> typing.Dict[str, typing.Any]:
        """``{code, expires_at (ISO 8601 UTC, 'Z'), remaining (whole seconds), period}``."""
        return {
            "code": self.code,
            "expires_at": self.expires_at.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "remaining": int(self.remaining),
            "period": self.period,
        }


def _check_seconds(value: typing.Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise TotpError("%s must be a number of seconds" % name)
    return float(value)


def issue_code(
    spec: TotpSpec,
    *,
    min_remaining: float = 5,
    unique: bool = True,
    ledger: typing.Optional[CodeLedger] = None,
    clock: typing.Callable[[], float] = time.time,
    sleep: typing.Callable[[float], typing.Any] = time.sleep,
    max_wait: typing.Optional[float] = None,
) -> IssuedCode:
    """Return a code with at least *min_remaining* seconds of validity left.

    When fewer than *min_remaining* seconds remain in the current window, wait
    for the next one.  When *unique* is true, claim the (seed, step) pair in
    *ledger* (the default ledger file if None) and wait for the next window if
    it was already handed out.  Waiting longer than *max_wait* seconds
    (default ``2 * period + min_remaining``) raises :class:`TotpError`.
    """
    if not isinstance(spec, TotpSpec):
        raise TotpError("issue_code needs a TotpSpec (see parse_seed)")
    min_remaining = _check_seconds(min_remaining, "min_remaining")
    if not 0 <= min_remaining < spec.period:
        raise TotpError(
            "min_remaining must be at least 0 and less than the period (%d seconds), got %g"
            % (spec.period, min_remaining)
        )
    if max_wait is None:
        max_wait = 2 * spec.period + min_remaining
    max_wait = _check_seconds(max_wait, "max_wait")
    if max_wait < 0:
        raise TotpError("max_wait must not be negative")
    if unique and ledger is None:
        ledger = CodeLedger()
    _require_pyotp()

    start = clock()
    waited = 0.0
    while True:
        now = clock()
        step = time_step(spec, now)
        window_end = (step + 1) * spec.period
        left = window_end - now
        if left >= min_remaining and (not unique or ledger.claim(spec, step)):  # type: ignore[union-attr]
            return IssuedCode(
                code=code_at(spec, step * spec.period),
                step=step,
                expires_at=datetime.datetime.fromtimestamp(window_end, tz=datetime.timezone.utc),
                remaining=left,
                period=spec.period,
                waited=waited,
            )
        if left >= min_remaining:
            reason = "every code of the windows within max_wait was already issued on this controller"
        else:
            reason = "the windows within max_wait have less than min_remaining seconds left"
        if (now - start) + left > max_wait:
            raise TotpError("no TOTP code could be issued within max_wait (%g seconds): %s" % (max_wait, reason))
        sleep(left)
        waited += left
