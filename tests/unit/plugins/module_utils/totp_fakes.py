# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Seeds, a fake clock and checks shared by the TOTP unit tests (test_totp_parse/codes/ledger.py)."""

from __future__ import annotations

from urllib.parse import quote

# RFC 4226/6238 SHA1 secret "12345678901234567890" (160 bits)
SEED = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
# A 320-bit seed like the ones AWS hands out (64 base32 characters)
AWS_SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def otpauth_uri(seed: str, *, digits=None, period=None, algorithm=None, label="Example:alice@example.com", issuer="Example"):
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


def assert_no_secret(text: str, *seeds: str) -> None:
    for seed in seeds:
        for form in (seed, seed.lower(), seed.rstrip("="), seed.rstrip("=").lower()):
            if len(form) >= 8:
                assert form not in text


def no_sleep(seconds: float) -> None:  # pragma: no cover - must not be called
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
