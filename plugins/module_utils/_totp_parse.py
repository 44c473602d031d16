# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TOTP seeds for keyturn.aws: base32 normalisation, otpauth URIs, the option checks, :class:`TotpSpec`.

``normalize_seed`` / ``parse_seed`` turn a base32 seed or an
``otpauth://totp/...`` URI (as users paste them: lower case, grouped with
spaces or dashes, padding missing or doubled) into a validated
:class:`TotpSpec`, with error messages that never contain the seed.  Codes
are computed from a spec in ``_totp_codes.py``.

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

``repr()`` of :class:`TotpSpec` masks the seed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import typing
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from ansible_collections.keyturn.aws.plugins.module_utils._errors import TotpError
from ansible_collections.keyturn.aws.plugins.module_utils._validate import kind_of


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

_BASE32_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
_SEPARATORS = " -\t\r\n\v\f"
_MIN_SEED_CHARS = -(-MIN_SEED_BITS // 5)  # 23 base32 characters
_MAX_SEED_INPUT = 4096  # characters, separators and padding included


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
