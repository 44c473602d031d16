# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_totp_codes.py: the RFC 6238/4226 vectors, time steps, issue_code."""

from __future__ import annotations

import datetime
import json
import os
import stat

import pyotp
import pytest

from ansible_collections.keyturn.aws.plugins.module_utils import _totp_codes
from ansible_collections.keyturn.aws.plugins.module_utils._errors import TotpError
from ansible_collections.keyturn.aws.plugins.module_utils._totp_codes import IssuedCode, code_at, hotp_code, issue_code, remaining, time_step
from ansible_collections.keyturn.aws.plugins.module_utils._totp_ledger import CodeLedger
from ansible_collections.keyturn.aws.plugins.module_utils._totp_parse import parse_seed
from totp_fakes import AWS_SEED, SEED, FakeClock, assert_no_secret, no_sleep, otpauth_uri

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


def _vector_id(v: dict) -> str:
    return "%s-%s-%sd-%s" % (v["time"], v["algorithm"], v["digits"], v["code"])


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
    uri = otpauth_uri(vector["seed_base32"], digits=vector["digits"], period=vector["period"], algorithm=vector["algorithm"])
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
    spec = parse_seed(otpauth_uri(HOTP_SEED))
    assert hotp_code(spec, vector["counter"]) == vector["code"]
    assert code_at(spec, vector["counter"] * 30) == vector["code"]


def test_codes_come_from_pyotp():
    spec = parse_seed(AWS_SEED)
    reference = pyotp.TOTP(s=AWS_SEED, digits=6, interval=30)
    for when in (0, 29.9, 30, 1_700_000_000.5):
        assert code_at(spec, when) == reference.at(when)


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
    monkeypatch.setattr(_totp_codes, "HAS_PYOTP", False)
    spec = parse_seed(SEED)
    with pytest.raises(TotpError, match="pyotp is required"):
        code_at(spec, 59)
    with pytest.raises(TotpError, match="pyotp is required"):
        issue_code(spec, unique=False, clock=lambda: 59.0, sleep=no_sleep)


# ---------------------------------------------------------------------------
# issue_code
# ---------------------------------------------------------------------------


def test_repr_hides_secret_and_code():
    spec = parse_seed(otpauth_uri(SEED))
    for text in (repr(spec), str(spec), "%s" % (spec,)):
        assert_no_secret(text, SEED)
        assert "hidden" in text
    issued = issue_code(spec, unique=False, min_remaining=0, clock=lambda: 59.0, sleep=no_sleep)
    assert issued.code == "287082"
    for text in (repr(issued), str(issued)):
        assert "287082" not in text
        assert "hidden" in text


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
    assert_no_secret(str(info.value), AWS_SEED)


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
        issue_code(spec, min_remaining=bad, ledger=ledger, clock=lambda: 0.0, sleep=no_sleep)


def test_issue_min_remaining_message_states_range(ledger):
    spec = parse_seed(AWS_SEED, period=15)
    with pytest.raises(TotpError, match=r"less than the period \(15 seconds\)"):
        issue_code(spec, min_remaining=15, ledger=ledger, clock=lambda: 0.0, sleep=no_sleep)


def test_issue_requires_spec():
    with pytest.raises(TotpError, match="TotpSpec"):
        issue_code(SEED, unique=False)  # type: ignore[arg-type]


def test_issue_default_ledger_path(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    spec = parse_seed(AWS_SEED)
    issue_code(spec, min_remaining=0, clock=lambda: 3.0, sleep=no_sleep)
    path = tmp_path / ".ansible" / "keyturn" / "totp-ledger.json"
    assert path.exists()
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700


def test_as_dict():
    spec = parse_seed(SEED, digits=8)
    issued = issue_code(spec, unique=False, min_remaining=0, clock=lambda: 59.0, sleep=no_sleep)
    assert issued.as_dict() == {
        "code": "94287082",
        "expires_at": "1970-01-01T00:01:00Z",
        "remaining": 1,
        "period": 30,
    }
    issued = issue_code(spec, unique=False, min_remaining=0, clock=lambda: 1111111109.0, sleep=no_sleep)
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
