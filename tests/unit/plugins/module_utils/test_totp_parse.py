# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_totp_parse.py: seeds, otpauth URIs, the option checks, TotpSpec."""

from __future__ import annotations

import pytest

from ansible_collections.keyturn.aws.plugins.module_utils._errors import TotpError
from ansible_collections.keyturn.aws.plugins.module_utils._totp_parse import TotpSpec, normalize_seed, parse_seed
from totp_fakes import AWS_SEED, SEED, assert_no_secret, otpauth_uri


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
    assert_no_secret(str(info.value), text.strip())


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


def test_wrong_types_are_named_in_yaml_words():
    with pytest.raises(TotpError) as info:
        normalize_seed(12345)  # type: ignore[arg-type]
    assert str(info.value) == "the TOTP seed must be a string, got a number"
    with pytest.raises(TotpError, match="digits must be an integer .*, got a list"):
        parse_seed(SEED, digits=[6])  # type: ignore[arg-type]
    with pytest.raises(TotpError, match="algorithm must be SHA1, SHA256 or SHA512, got a number"):
        parse_seed(SEED, algorithm=1)  # type: ignore[arg-type]


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
    uri = otpauth_uri(SEED, digits=8, period=60, algorithm="SHA256")
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
    assert_no_secret(message, SEED, "GEZDGNBVGY3TQOJ1GEZDGNBVGY3TQOJQ", "GEZDGNBVGY3TQOJQGEZD")
    assert "secret=" not in message


@pytest.mark.parametrize("param", ["digits", "period", "algorithm"])
def test_empty_uri_parameter_is_refused(param):
    with pytest.raises(TotpError, match="the otpauth URI has an empty %s= parameter" % param):
        parse_seed("otpauth://totp/Example:a?secret=%s&%s=" % (AWS_SEED, param))
    with pytest.raises(TotpError, match="empty %s=" % param):
        parse_seed("otpauth://totp/Example:a?secret=%s&%s=%%20" % (AWS_SEED, param))


# ---------------------------------------------------------------------------
# Options (digits, period, algorithm)
# ---------------------------------------------------------------------------


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
    assert_no_secret(str(info.value), SEED)


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
