# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_totp.py."""

from __future__ import annotations

import datetime
import hashlib
import json
import multiprocessing
import os
import stat
import time
from urllib.parse import quote

import pyotp
import pytest

from ansible_collections.keyturn.aws.plugins.module_utils import _totp
from ansible_collections.keyturn.aws.plugins.module_utils._totp import (
    CodeLedger,
    IssuedCode,
    TotpError,
    TotpSpec,
    code_at,
    hotp_code,
    issue_code,
    normalize_seed,
    parse_seed,
    remaining,
    time_step,
)

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "fixtures", "vectors")
# The published tables (RFC 6238 appendix B, RFC 4226 appendix D), typed from the RFCs: the fixture files
# must hold them.  (The files are the repository's own copies; nothing outside the repository is read.)
RFC6238_APPENDIX_B = {
    (59, "SHA1"): "94287082", (59, "SHA256"): "46119246", (59, "SHA512"): "90693936",
    (1111111109, "SHA1"): "07081804", (1111111109, "SHA256"): "68084774", (1111111109, "SHA512"): "25091201",
    (1111111111, "SHA1"): "14050471", (1111111111, "SHA256"): "67062674", (1111111111, "SHA512"): "99943326",
    (1234567890, "SHA1"): "89005924", (1234567890, "SHA256"): "91819424", (1234567890, "SHA512"): "93441116",
    (2000000000, "SHA1"): "69279037", (2000000000, "SHA256"): "90698825", (2000000000, "SHA512"): "38618901",
    (20000000000, "SHA1"): "65353130", (20000000000, "SHA256"): "77737706", (20000000000, "SHA512"): "47863826",
}
RFC4226_APPENDIX_D = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"]


def _load(name: str) -> dict:
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return json.load(handle)


RFC6238 = _load("rfc6238_totp.json")
RFC4226 = _load("rfc4226_hotp.json")
TOTP_VECTORS = RFC6238["vectors"]
HOTP_SEED = RFC4226["seed_base32"]
HOTP_VECTORS = RFC4226["vectors"]

# RFC 4226/6238 SHA1 secret "12345678901234567890" (160 bits)
SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
# A 320-bit seed like the ones AWS hands out (64 base32 characters)
AWS_SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def _uri(seed: str, *, digits=None, period=None, algorithm=None, label="Example:alice@example.com", issuer="Example"):
    query = ["secret=" + quote(seed.rstrip("="), safe="")]
    if issuer is not None:
        query.append("issuer=" + quote(issuer, safe=""))
    if algorithm is not None:
        query.append("algorithm=" + algorithm)
    if digits is not None:
        query.append("digits=%s" % digits)
    if period is not None:
        query.append("period=%s" % period)
    return "otpauth://totp/%s?%s" % (label, "&".join(query))


def _vector_id(v: dict) -> str:
    return "%s-%s-%sd-%s" % (v["time"], v["algorithm"], v["digits"], v["code"])


def _assert_no_secret(text: str, *seeds: str) -> None:
    for seed in seeds:
        for form in (seed, seed.lower(), seed.rstrip("="), seed.rstrip("=").lower()):
            if len(form) >= 8:
                assert form not in text


# ---------------------------------------------------------------------------
# Vectors
# ---------------------------------------------------------------------------


def test_vector_counts():
    assert len(TOTP_VECTORS) == 24
    assert len(HOTP_VECTORS) == 10


def test_fixtures_hold_the_published_rfc_tables():
    """Never skipped: the fixtures live in the repository (a fresh clone has them)."""
    eight_digit = {(v["time"], v["algorithm"]): v["code"] for v in TOTP_VECTORS if v["digits"] == 8}
    assert eight_digit == RFC6238_APPENDIX_B
    assert [v["code"] for v in sorted(HOTP_VECTORS, key=lambda v: v["counter"])] == RFC4226_APPENDIX_D
    assert HOTP_SEED.rstrip("=") == SEED


@pytest.mark.parametrize("vector", TOTP_VECTORS, ids=_vector_id)
def test_rfc6238_bare_seed(vector):
    spec = parse_seed(
        vector["seed_base32"], digits=vector["digits"], period=vector["period"], algorithm=vector["algorithm"]
    )
    assert code_at(spec, vector["time"]) == vector["code"]


@pytest.mark.parametrize("vector", TOTP_VECTORS, ids=_vector_id)
def test_rfc6238_bare_seed_lowercase_algorithm_and_grouped_seed(vector):
    seed = vector["seed_base32"].rstrip("=").lower()
    grouped = " ".join(seed[i : i + 4] for i in range(0, len(seed), 4))
    spec = parse_seed(grouped, digits=vector["digits"], period=vector["period"], algorithm=vector["algorithm"].lower())
    assert code_at(spec, vector["time"]) == vector["code"]


@pytest.mark.parametrize("vector", TOTP_VECTORS, ids=_vector_id)
def test_rfc6238_otpauth_uri(vector):
    uri = _uri(vector["seed_base32"], digits=vector["digits"], period=vector["period"], algorithm=vector["algorithm"])
    spec = parse_seed(uri)
    assert spec.digits == vector["digits"]
    assert spec.period == vector["period"]
    assert spec.algorithm == vector["algorithm"]
    assert spec.issuer == "Example"
    assert spec.account == "alice@example.com"
    assert code_at(spec, vector["time"]) == vector["code"]


@pytest.mark.parametrize("vector", HOTP_VECTORS, ids=lambda v: "counter%d" % v["counter"])
def test_rfc4226_bare_seed(vector):
    spec = parse_seed(HOTP_SEED)
    assert hotp_code(spec, vector["counter"]) == vector["code"]
    assert code_at(spec, vector["counter"] * 30) == vector["code"]
    assert code_at(spec, vector["counter"] * 30 + 29.999) == vector["code"]
    assert time_step(spec, vector["counter"] * 30 + 29.5) == vector["counter"]


@pytest.mark.parametrize("vector", HOTP_VECTORS, ids=lambda v: "counter%d" % v["counter"])
def test_rfc4226_otpauth_uri(vector):
    spec = parse_seed(_uri(HOTP_SEED))
    assert hotp_code(spec, vector["counter"]) == vector["code"]
    assert code_at(spec, vector["counter"] * 30) == vector["code"]


def test_codes_come_from_pyotp():
    spec = parse_seed(AWS_SEED)
    reference = pyotp.TOTP(s=AWS_SEED, digits=6, interval=30)
    for when in (0, 29.9, 30, 1_700_000_000.5):
        assert code_at(spec, when) == reference.at(when)


# ---------------------------------------------------------------------------
# Normalization
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        SEED,
        SEED.lower(),
        "gezd gnbv gy3t qojq gezd gnbv gy3t qojq",
        "GEZD-GNBV-GY3T-QOJQ-GEZD-GNBV-GY3T-QOJQ",
        "  GEZDGNBVGY3T\tQOJQ\nGEZDGNBVGY3TQOJQ\r\n",
        SEED + "========",
        SEED + "=",
    ],
)
def test_normalize_160_bit(text):
    assert normalize_seed(text) == SEED


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA====",
        ),
        (
            "gezdgnbvgy3tqojqgezdgnbvgy3tqojqgezdgnbvgy3tqojqgeza==",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA====",
        ),
        (
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA==========",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA====",
        ),
    ],
)
def test_normalize_padding(text, expected):
    assert normalize_seed(text) == expected


def test_spec_normalizes_direct_construction():
    spec = TotpSpec(secret=SEED.lower(), algorithm="sha256")
    assert spec.secret == SEED
    assert spec.algorithm == "SHA256"
    assert spec.digits == 6 and spec.period == 30


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("====", "empty"),
        ("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1", "base32 alphabet A-Z and 2-7"),
        ("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1", "0, 1, 8 and 9"),
        ("GEZDGNBVGY3TQOJQGEZD.GNBVGY3TQOJQ", "punctuation"),
        ("GEZDGNBVGY3TQOJQGEZDÄGNBVGY3TQOJQ", "non-ASCII"),
        ("GEZDGNBV=GY3TQOJQGEZDGNBVGY3TQOJQ", "padding"),
        ("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQG", "not a valid base32 length"),
        ("GEZDGNBVGY3TQOJQ", "minimum is 112 bits"),
        ("GEZDGNBVGY3TQOJQGEZDG", "minimum is 112 bits"),
    ],
)
def test_normalize_errors(text, fragment):
    with pytest.raises(TotpError) as info:
        normalize_seed(text)
    assert fragment in str(info.value)
    _assert_no_secret(str(info.value), text.strip())


def test_minimum_seed_length_boundary():
    assert normalize_seed("B" + "A" * 22) == "B" + "A" * 22 + "="  # 115 bits -> 14 bytes
    with pytest.raises(TotpError, match="it decodes to 104 bits, the minimum is 112 bits"):
        normalize_seed("B" + "A" * 20)  # 105 bits -> 13 bytes
    with pytest.raises(TotpError, match="not a valid base32 length"):
        normalize_seed("B" + "A" * 21)


def test_non_string_seed():
    with pytest.raises(TotpError, match="must be a string"):
        normalize_seed(12345)  # type: ignore[arg-type]
    with pytest.raises(TotpError, match="must be a string"):
        parse_seed(None)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# otpauth URIs
# ---------------------------------------------------------------------------


def test_uri_defaults_and_label():
    spec = parse_seed("otpauth://totp/Amazon%20Web%20Services:root-account-mfa-device@123456789012?secret=" + AWS_SEED)
    assert spec.issuer == "Amazon Web Services"
    assert spec.account == "root-account-mfa-device@123456789012"
    assert (spec.digits, spec.period, spec.algorithm) == (6, 30, "SHA1")
    assert spec.label == "Amazon Web Services:root-account-mfa-device@123456789012"


def test_uri_issuer_in_param_only():
    spec = parse_seed("otpauth://totp/alice%40example.com?secret=" + SEED + "&issuer=ACME%20Co")
    assert spec.issuer == "ACME Co"
    assert spec.account == "alice@example.com"


def test_uri_issuer_in_label_and_param():
    spec = parse_seed("otpauth://totp/ACME%20Co:john.doe@email.com?secret=" + SEED + "&issuer=ACME%20Co")
    assert spec.issuer == "ACME Co"
    assert spec.account == "john.doe@email.com"


def test_uri_issuer_mismatch():
    with pytest.raises(TotpError, match="different issuer"):
        parse_seed("otpauth://totp/ACME:john?secret=" + SEED + "&issuer=Other")


def test_uri_encoded_colon_and_space_after_colon():
    spec = parse_seed("otpauth://totp/ACME%3A%20john%20doe?secret=" + SEED)
    assert spec.issuer == "ACME"
    assert spec.account == "john doe"


def test_uri_no_label():
    spec = parse_seed("otpauth://totp/?secret=" + SEED)
    assert spec.issuer is None and spec.account is None and spec.label is None


def test_uri_lowercase_secret_with_spaces_and_padding():
    spec = parse_seed("otpauth://totp/x?secret=gezd+gnbv+gy3t+qojq+gezd+gnbv+gy3t+qojq%3D%3D&algorithm=sha1")
    assert spec.secret == SEED


def test_uri_keyword_overrides():
    uri = _uri(SEED, digits=8, period=60, algorithm="SHA256")
    assert parse_seed(uri).digits == 8
    spec = parse_seed(uri, digits=6, period=30, algorithm="sha512")
    assert (spec.digits, spec.period, spec.algorithm) == (6, 30, "SHA512")
    spec = parse_seed(uri, digits=None, period=None, algorithm=None)
    assert (spec.digits, spec.period, spec.algorithm) == (8, 60, "SHA256")


def test_uri_digits_string_option_accepted():
    assert parse_seed(SEED, digits="8", period="60").digits == 8  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "uri, fragment",
    [
        ("otpauth://totp/Example:alice?issuer=Example", "no secret"),
        ("otpauth://totp/Example:alice?secret=&issuer=Example", "no secret"),
        ("otpauth://hotp/Example:alice?secret=%s&counter=0" % SEED, "hotp"),
        ("otpauth://foo/Example:alice?secret=%s" % SEED, "otpauth type"),
        ("https://example.com/?secret=%s" % SEED, "unsupported URI scheme 'https'"),
        ("otpauth://totp/x?secret=%s&algorithm=MD5" % SEED, "SHA1, SHA256 or SHA512"),
        ("otpauth://totp/x?secret=%s&digits=9" % SEED, "digits must be 6, 7 or 8"),
        ("otpauth://totp/x?secret=%s&digits=5" % SEED, "digits must be 6, 7 or 8"),
        ("otpauth://totp/x?secret=%s&digits=six" % SEED, "digits must be an integer"),
        ("otpauth://totp/x?secret=%s&period=0" % SEED, "period must be 15 to 120 seconds"),
        ("otpauth://totp/x?secret=%s&period=300" % SEED, "period must be 15 to 120 seconds"),
        ("otpauth://totp/x?secret=%s&period=30s" % SEED, "period must be an integer"),
        ("otpauth://totp/x?secret=%s&secret=%s" % (SEED, SEED), "more than one 'secret'"),
        ("otpauth://totp/x?secret=%s&encoder=steam" % SEED, "encoder"),
        ("otpauth://totp/x?secret=GEZDGNBVGY3TQOJ1GEZDGNBVGY3TQOJQ", "otpauth URI secret: "),
        ("otpauth://totp/x?secret=GEZDGNBVGY3TQOJQ", "minimum is 112 bits"),
    ],
)
def test_uri_errors(uri, fragment):
    with pytest.raises(TotpError) as info:
        parse_seed(uri)
    message = str(info.value)
    assert fragment in message
    _assert_no_secret(message, SEED, "GEZDGNBVGY3TQOJ1GEZDGNBVGY3TQOJQ", "GEZDGNBVGY3TQOJQGEZD")
    assert "secret=" not in message


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"digits": 10}, "digits must be 6, 7 or 8"),
        ({"digits": True}, "boolean"),
        ({"period": 0}, "period must be 15 to 120 seconds"),
        ({"period": 121}, "period must be 15 to 120 seconds"),
        ({"period": 14}, "period must be 15 to 120 seconds"),
        ({"algorithm": "md5"}, "SHA1, SHA256 or SHA512"),
        ({"algorithm": 1}, "SHA1, SHA256 or SHA512"),
    ],
)
def test_option_errors(kwargs, fragment):
    with pytest.raises(TotpError) as info:
        parse_seed(SEED, **kwargs)
    assert fragment in str(info.value)
    _assert_no_secret(str(info.value), SEED)


@pytest.mark.parametrize(
    "bad", ["GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ8", "GEZDGNBVGY3TQOJQ", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQG"]
)
def test_errors_never_contain_seed(bad):
    for value in (bad, bad.lower(), "otpauth://totp/x?secret=" + bad, "otpauth://totp/x?secret=" + bad.lower()):
        with pytest.raises(TotpError) as info:
            parse_seed(value)
        for text in (str(info.value), repr(info.value)):
            assert bad not in text
            assert bad.lower() not in text
        assert info.value.__cause__ is None


def test_repr_hides_secret_and_code():
    spec = parse_seed(_uri(SEED))
    for text in (repr(spec), str(spec), "%s" % (spec,)):
        _assert_no_secret(text, SEED)
        assert "hidden" in text
    issued = issue_code(spec, unique=False, min_remaining=0, clock=lambda: 59.0, sleep=_no_sleep)
    assert issued.code == "287082"
    for text in (repr(issued), str(issued)):
        assert "287082" not in text
        assert "hidden" in text


# ---------------------------------------------------------------------------
# Time helpers
# ---------------------------------------------------------------------------


def test_time_step_and_remaining():
    spec = parse_seed(SEED)
    assert time_step(spec, 0) == 0
    assert time_step(spec, 29.99) == 0
    assert time_step(spec, 30) == 1
    assert remaining(spec, 0) == 30
    assert remaining(spec, 25) == 5
    assert remaining(spec, 59.5) == pytest.approx(0.5)
    spec60 = parse_seed(SEED, period=60)
    assert time_step(spec60, 119) == 1
    assert remaining(spec60, 119) == 1


def test_negative_time_rejected():
    spec = parse_seed(SEED)
    with pytest.raises(TotpError, match="Unix epoch"):
        code_at(spec, -1)


def test_pyotp_missing(monkeypatch):
    monkeypatch.setattr(_totp, "HAS_PYOTP", False)
    spec = parse_seed(SEED)
    with pytest.raises(TotpError, match="pyotp is required"):
        code_at(spec, 59)
    with pytest.raises(TotpError, match="pyotp is required"):
        issue_code(spec, unique=False, clock=lambda: 59.0, sleep=_no_sleep)


# ---------------------------------------------------------------------------
# issue_code
# ---------------------------------------------------------------------------


def _no_sleep(seconds: float) -> None:  # pragma: no cover - must not be called
    raise AssertionError("unexpected sleep(%r)" % seconds)


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now
        self.sleeps: list = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def ledger(tmp_path):
    (tmp_path / "keyturn").mkdir(mode=0o700)
    return CodeLedger(str(tmp_path / "keyturn" / "totp-ledger.json"))


def test_issue_no_wait_when_enough_time(ledger):
    spec = parse_seed(AWS_SEED)
    clock = FakeClock(1_700_000_010.0)
    left = remaining(spec, clock.now)
    assert left > 5
    issued = issue_code(spec, ledger=ledger, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == []
    assert issued.waited == 0
    step = time_step(spec, clock.now)
    assert issued.step == step
    assert issued.code == pyotp.TOTP(s=AWS_SEED, interval=30).at(clock.now)
    assert issued.remaining == pytest.approx(left)
    assert issued.period == 30
    assert issued.expires_at == datetime.datetime.fromtimestamp((step + 1) * 30, tz=datetime.timezone.utc)
    assert issued.expires_at.tzinfo is not None and issued.expires_at.utcoffset() == datetime.timedelta(0)


def test_issue_waits_for_next_window_when_too_little_left(ledger):
    spec = parse_seed(AWS_SEED)
    start = 56_666_666 * 30 + 27.5  # 2.5 s left in the window
    clock = FakeClock(start)
    issued = issue_code(spec, min_remaining=5, ledger=ledger, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == [pytest.approx(2.5)]
    assert issued.waited == pytest.approx(2.5)
    assert issued.step == 56_666_667
    assert issued.remaining == pytest.approx(30)
    expected = pyotp.TOTP(s=AWS_SEED, digits=6, interval=30).at(56_666_667 * 30)
    assert issued.code == expected
    assert issued.code != pyotp.TOTP(s=AWS_SEED, digits=6, interval=30).at(start)


def test_issue_min_remaining_zero_never_waits():
    spec = parse_seed(AWS_SEED)
    clock = FakeClock(29.999)
    issued = issue_code(spec, min_remaining=0, unique=False, clock=clock, sleep=clock.sleep)
    assert issued.step == 0 and clock.sleeps == []


def test_issue_unique_second_claim_waits_for_next_window(ledger):
    spec = parse_seed(AWS_SEED)
    clock = FakeClock(1_000_000 * 30 + 3.0)
    first = issue_code(spec, ledger=ledger, clock=clock, sleep=clock.sleep)
    assert first.waited == 0 and first.step == 1_000_000
    second = issue_code(spec, ledger=ledger, clock=clock, sleep=clock.sleep)
    assert second.step == 1_000_001
    assert second.waited == pytest.approx(27.0)
    assert second.code == pyotp.TOTP(s=AWS_SEED, interval=30).at(1_000_001 * 30)
    assert second.code != first.code


def test_issue_unique_across_ledger_instances(tmp_path):
    path = str(tmp_path / "ledger.json")
    spec = parse_seed(AWS_SEED)
    clock = FakeClock(1_000_000 * 30 + 3.0)
    issue_code(spec, ledger=CodeLedger(path), clock=clock, sleep=clock.sleep)
    second = issue_code(spec, ledger=CodeLedger(path), clock=clock, sleep=clock.sleep)
    assert second.step == 1_000_001


def test_issue_not_unique_reuses_window(ledger):
    spec = parse_seed(AWS_SEED)
    clock = FakeClock(1_000_000 * 30 + 3.0)
    first = issue_code(spec, unique=False, clock=clock, sleep=clock.sleep)
    second = issue_code(spec, unique=False, clock=clock, sleep=clock.sleep)
    assert first.code == second.code and clock.sleeps == []


def test_issue_different_seeds_do_not_collide(ledger):
    clock = FakeClock(1_000_000 * 30 + 3.0)
    issue_code(parse_seed(AWS_SEED), ledger=ledger, clock=clock, sleep=clock.sleep)
    other = issue_code(parse_seed(SEED), ledger=ledger, clock=clock, sleep=clock.sleep)
    assert other.waited == 0


def test_issue_gives_up_after_max_wait(ledger):
    spec = parse_seed(AWS_SEED)
    base = 1_000_000
    for step in range(base, base + 4):
        assert ledger.claim(spec, step)
    clock = FakeClock(base * 30 + 3.0)
    with pytest.raises(TotpError, match="max_wait") as info:
        issue_code(spec, ledger=ledger, clock=clock, sleep=clock.sleep)
    # default max_wait = 2 * 30 + 5 = 65 s: waited 27 + 30, the next wait would exceed it
    assert sum(clock.sleeps) == pytest.approx(57)
    _assert_no_secret(str(info.value), AWS_SEED)


def test_issue_max_wait_zero(ledger):
    spec = parse_seed(AWS_SEED)
    clock = FakeClock(27.0)
    with pytest.raises(TotpError, match="min_remaining"):
        issue_code(spec, ledger=ledger, clock=clock, sleep=clock.sleep, max_wait=0)
    assert clock.sleeps == []


@pytest.mark.parametrize("bad", [-1, 30, 31, "5", True, float("nan")])
def test_issue_min_remaining_validation(bad, ledger):
    spec = parse_seed(AWS_SEED)
    with pytest.raises(TotpError, match="min_remaining"):
        issue_code(spec, min_remaining=bad, ledger=ledger, clock=lambda: 0.0, sleep=_no_sleep)


def test_issue_min_remaining_message_states_range(ledger):
    spec = parse_seed(AWS_SEED, period=15)
    with pytest.raises(TotpError, match=r"less than the period \(15 seconds\)"):
        issue_code(spec, min_remaining=15, ledger=ledger, clock=lambda: 0.0, sleep=_no_sleep)


def test_issue_requires_spec():
    with pytest.raises(TotpError, match="TotpSpec"):
        issue_code(SEED, unique=False)  # type: ignore[arg-type]


def test_issue_default_ledger_path(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    spec = parse_seed(AWS_SEED)
    issue_code(spec, min_remaining=0, clock=lambda: 3.0, sleep=_no_sleep)
    path = tmp_path / ".ansible" / "keyturn" / "totp-ledger.json"
    assert path.exists()
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


def test_as_dict():
    spec = parse_seed(SEED, digits=8)
    issued = issue_code(spec, unique=False, min_remaining=0, clock=lambda: 59.0, sleep=_no_sleep)
    assert issued.as_dict() == {
        "code": "94287082",
        "expires_at": "1970-01-01T00:01:00Z",
        "remaining": 1,
        "period": 30,
    }
    issued = issue_code(spec, unique=False, min_remaining=0, clock=lambda: 1111111109.0, sleep=_no_sleep)
    assert issued.as_dict()["expires_at"] == "2005-03-18T01:58:30Z"
    assert issued.as_dict()["code"] == "07081804"


def test_issued_code_is_dataclass_fields():
    issued = IssuedCode(
        code="123456",
        step=1,
        expires_at=datetime.datetime(1970, 1, 1, 0, 1, tzinfo=datetime.timezone.utc),
        remaining=12.7,
        period=30,
        waited=0.0,
    )
    assert issued.as_dict()["remaining"] == 12
    assert "123456" not in repr(issued)


# ---------------------------------------------------------------------------
# CodeLedger
# ---------------------------------------------------------------------------


def test_ledger_claim_once(ledger):
    spec = parse_seed(SEED)
    step = time_step(spec, time.time())
    assert ledger.claim(spec, step) is True
    assert ledger.claim(spec, step) is False
    assert ledger.claim(spec, step + 1) is True
    # normalization: the same seed written differently is the same seed
    assert ledger.claim(parse_seed(SEED.lower()), step) is False
    # a different period/digits/algorithm is a different code sequence
    assert ledger.claim(parse_seed(SEED, digits=8), step) is True


def test_ledger_file_modes(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))  # only the default ledger's folder is created
    path = tmp_path / ".ansible" / "keyturn" / "totp-ledger.json"
    ledger = CodeLedger(str(path))
    old = os.umask(0)
    try:
        assert ledger.claim(parse_seed(SEED), 5)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(str(path) + ".lock").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    # rewritten files keep 0600 even if someone loosened it
    os.chmod(path, 0o644)
    assert ledger.claim(parse_seed(SEED), 6)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    leftovers = [n for n in os.listdir(path.parent) if n.endswith(".tmp")]
    assert leftovers == []


def test_ledger_contains_no_seed_nor_plain_hash(ledger):
    spec = parse_seed(AWS_SEED.lower())
    issued = issue_code(spec, ledger=ledger, min_remaining=0, clock=lambda: 1_700_000_000.0, sleep=_no_sleep)
    with open(ledger.path, encoding="utf-8") as handle:
        content = handle.read()
    _assert_no_secret(content, AWS_SEED)
    assert issued.code not in content
    raw = pyotp.TOTP(s=AWS_SEED).byte_secret()
    for material in (AWS_SEED, AWS_SEED.lower(), spec.secret, raw):
        data = material.encode() if isinstance(material, str) else material
        for algo in ("sha1", "sha256", "sha512"):
            assert hashlib.new(algo, data).hexdigest() not in content
    data = json.loads(content)
    assert len(data["entries"]) == 1
    assert len(data["entries"][0]["fp"]) == 64


def test_ledger_keys_differ_between_ledgers(tmp_path):
    spec = parse_seed(SEED)
    fps = []
    for name in ("a.json", "b.json"):
        ledger = CodeLedger(str(tmp_path / name))
        ledger.claim(spec, 1)
        with open(ledger.path, encoding="utf-8") as handle:
            fps.append(json.load(handle)["entries"][0]["fp"])
    assert fps[0] != fps[1]


def test_ledger_prunes_old_entries(tmp_path):
    clock = FakeClock(1000 * 30.0)
    ledger = CodeLedger(str(tmp_path / "ledger.json"), clock=clock)
    spec = parse_seed(SEED)
    assert ledger.claim(spec, 1000)
    clock.now += 3 * 30
    assert ledger.claim(spec, 1003)
    assert ledger.claim(spec, 1000) is False  # still remembered
    clock.now += 10 * 30
    assert ledger.claim(spec, 1013)
    with open(ledger.path, encoding="utf-8") as handle:
        steps = sorted(e["step"] for e in json.load(handle)["entries"])
    assert steps == [1013]


def test_ledger_damaged_file(tmp_path):
    path = tmp_path / "ledger.json"
    path.write_text("{not json")
    with pytest.raises(TotpError, match="cannot be read"):
        CodeLedger(str(path)).claim(parse_seed(SEED), 1)
    path.write_text(json.dumps({"version": 99}))
    with pytest.raises(TotpError, match="unknown format"):
        CodeLedger(str(path)).claim(parse_seed(SEED), 1)


def test_ledger_rejects_bad_arguments(ledger):
    with pytest.raises(TotpError):
        ledger.claim(SEED, 1)  # type: ignore[arg-type]
    with pytest.raises(TotpError):
        ledger.claim(parse_seed(SEED), -1)


def _claim_in_child(path, step, barrier, results):
    spec = parse_seed(SEED)
    barrier.wait()
    results.put(CodeLedger(path).claim(spec, step))


def test_ledger_across_processes(tmp_path):
    ctx = multiprocessing.get_context("fork")
    path = str(tmp_path / "ledger.json")
    step = time_step(parse_seed(SEED), time.time())
    workers = 6
    barrier = ctx.Barrier(workers)
    results = ctx.Queue()
    procs = [ctx.Process(target=_claim_in_child, args=(path, step, barrier, results)) for dummy in range(workers)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=30) for dummy in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    assert sorted(outcomes) == [False] * (workers - 1) + [True]
    # and the parent sees the claim too
    assert CodeLedger(path).claim(parse_seed(SEED), step) is False


# ---------------------------------------------------------------------------
# Issue 18.8 and 18.2: degenerate and over-long seeds, empty URI parameters, ledger paths
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", ["A" * 64, "a" * 32, "7" * 64, "AAAA AAAA AAAA AAAA AAAA AAAA AAAA AAAA"])
def test_degenerate_seed_is_refused(seed):
    with pytest.raises(TotpError, match="the TOTP seed is degenerate") as info:
        parse_seed(seed)
    assert seed not in str(info.value)


def test_degenerate_seed_in_a_uri_is_refused():
    with pytest.raises(TotpError, match="otpauth URI secret: the TOTP seed is degenerate"):
        parse_seed("otpauth://totp/x?secret=" + "A" * 32)


@pytest.mark.parametrize("seed, expected", [
    ("A" * 5000, "too long: 5000 characters"),
    ((AWS_SEED * 4)[:208], "too long: it decodes to 1040 bits, the maximum is 1024 bits"),
])
def test_overlong_seed_is_refused(seed, expected):
    with pytest.raises(TotpError, match=expected) as info:
        normalize_seed(seed)
    assert AWS_SEED not in str(info.value)


def test_longest_accepted_seed():
    seed = (AWS_SEED * 4)[:200]  # 1000 bits -> 125 bytes
    assert normalize_seed(seed).rstrip("=") == seed


@pytest.mark.parametrize("param", ["digits", "period", "algorithm"])
def test_empty_uri_parameter_is_refused(param):
    with pytest.raises(TotpError, match="the otpauth URI has an empty %s= parameter" % param):
        parse_seed("otpauth://totp/Example:a?secret=%s&%s=" % (AWS_SEED, param))
    with pytest.raises(TotpError, match="empty %s=" % param):
        parse_seed("otpauth://totp/Example:a?secret=%s&%s=%%20" % (AWS_SEED, param))


def test_ledger_with_a_missing_folder_is_refused(tmp_path):
    path = tmp_path / "missing" / "ledger.json"
    ledger = CodeLedger(str(path))
    with pytest.raises(TotpError) as info:
        ledger.claim(parse_seed(SEED), 5)
    assert str(info.value) == f"the directory of the TOTP ledger {path} does not exist: create {path.parent} first"
    assert not os.path.exists(path.parent)
    with pytest.raises(TotpError, match="does not exist"):
        ledger.check_path()


def test_ledger_symlink_is_written_through(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "ledger.json"
    link = tmp_path / "ledger.json"
    link.symlink_to(target)
    ledger = CodeLedger(str(link))
    assert ledger.claim(parse_seed(SEED), 5) is True
    assert os.path.islink(link) and target.exists()
    assert CodeLedger(str(link)).claim(parse_seed(SEED), 5) is False


def test_ledger_path_that_is_a_directory_is_refused(tmp_path):
    with pytest.raises(TotpError, match="is a directory"):
        CodeLedger(str(tmp_path)).check_path()


def test_wrong_types_are_named_in_yaml_words():
    with pytest.raises(TotpError) as info:
        normalize_seed(12345)  # type: ignore[arg-type]
    assert str(info.value) == "the TOTP seed must be a string, got a number"
    with pytest.raises(TotpError, match="digits must be an integer .*, got a list"):
        parse_seed(SEED, digits=[6])  # type: ignore[arg-type]
    with pytest.raises(TotpError, match="algorithm must be SHA1, SHA256 or SHA512, got a number"):
        parse_seed(SEED, algorithm=1)  # type: ignore[arg-type]
