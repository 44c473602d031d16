# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for the keyturn.aws.totp lookup (loaded through ansible's plugin loader,
so its documented options, env/ini/vars sources and defaults are the real ones)."""

from __future__ import annotations

import datetime
import json
import os
import sys
import typing as t
from urllib.parse import quote

import pyotp
import pytest
from ansible.errors import AnsibleLookupError
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader, lookup_loader
from ansible.template import Templar

from ansible_collections.keyturn.aws.plugins.module_utils import _totp_seed
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyturn.aws.plugins.plugin_utils._store_file import (
    FileStore,
    file_store_factory,
    vault_secrets_from_password,
)

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "..", "fixtures", "vectors")
COLLECTIONS = os.path.abspath(os.path.join(HERE, "..", "..", "..", "..", "build", "collections"))
PASSWORD = "unit-vault-password"
AWS_SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
T0 = 1_700_000_020.0  # 10 s into a 30 s window: 20 s left


def _vectors(name: str) -> dict:
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return t.cast(dict, json.load(handle))


RFC6238 = _vectors("rfc6238_totp.json")["vectors"]
RFC4226 = _vectors("rfc4226_hotp.json")


class FakeTime:
    """A clock that only moves when the lookup sleeps."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.sleeps: t.List[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(scope="module", autouse=True)
def plugin_loader() -> None:
    """Install ansible's collection loader, as ansible-playbook (and ansible-test units) do.

    When other tests imported the collection as a plain namespace package first, its
    package modules lack the collection metadata the loader needs: drop those package
    entries (never a module with code) so the loader re-creates them.
    """
    init_plugin_loader([COLLECTIONS])
    for name in ("ansible_collections.keyturn.aws", "ansible_collections.keyturn", "ansible_collections"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__file__", None) is None and not hasattr(module, "_collection_meta"):
            del sys.modules[name]


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime(T0)


@pytest.fixture
def store_option(tmp_path: t.Any) -> t.Dict[str, str]:
    return {"type": "file", "path": str(tmp_path / "store.vault.yml")}


@pytest.fixture
def make_lookup(tmp_path: t.Any, fake_time: FakeTime) -> t.Callable[[], t.Any]:
    def make() -> t.Any:
        loader = DataLoader()
        loader.set_vault_secrets(vault_secrets_from_password(PASSWORD))
        lookup = lookup_loader.get("keyturn.aws.totp", loader=loader, templar=Templar(loader=loader))
        lookup.clock = fake_time.clock
        lookup.sleep = fake_time.sleep
        return lookup

    return make


@pytest.fixture
def lookup(make_lookup: t.Callable[[], t.Any]) -> t.Any:
    return make_lookup()


@pytest.fixture
def ledger(tmp_path: t.Any) -> str:
    (tmp_path / "ledger").mkdir(mode=0o700)
    return str(tmp_path / "ledger" / "totp-ledger.json")


def store_seed(store_option: t.Mapping[str, str], name: str, seed: str, **params: t.Any) -> dict:
    """Write a seed with the totp_seed engine (the module's own code path)."""
    ctx = RunContext(file_store_factory=file_store_factory(vault_secrets_from_password(PASSWORD)))
    args = {"name": name, "seed": seed, "state": "present", "store": dict(store_option),
            "digits": None, "period": None, "algorithm": None, "audit_log": None}
    args.update(params)
    return _totp_seed.run(args, ctx)


def uri(seed: str, **query: t.Any) -> str:
    extra = "".join(f"&{key}={quote(str(value))}" for key, value in query.items())
    return f"otpauth://totp/Example:alice@example.com?secret={seed}&issuer=Example{extra}"


# ---------------------------------------------------------------------------
# RFC vectors through the lookup, inline and stored


@pytest.mark.parametrize("vector", RFC6238, ids=lambda v: f"{v['time']}-{v['algorithm']}-{v['digits']}")
def test_rfc6238_vectors_inline(lookup: t.Any, fake_time: FakeTime, vector: dict) -> None:
    fake_time.now = float(vector["time"])
    got = lookup.run([], {}, seed=vector["seed_base32"], digits=vector["digits"], period=vector["period"],
                     algorithm=vector["algorithm"], min_remaining=0, unique=False)
    assert got == [vector["code"]]
    assert fake_time.sleeps == []


@pytest.mark.parametrize("vector", RFC6238, ids=lambda v: f"{v['time']}-{v['algorithm']}-{v['digits']}")
def test_rfc6238_vectors_stored(lookup: t.Any, fake_time: FakeTime, store_option: dict, vector: dict) -> None:
    store_seed(store_option, "acct/vector", vector["seed_base32"], digits=vector["digits"],
               period=vector["period"], algorithm=vector["algorithm"])
    fake_time.now = float(vector["time"])
    got = lookup.run(["acct/vector"], {}, store=store_option, min_remaining=0, unique=False)
    assert got == [vector["code"]]


@pytest.mark.parametrize("vector", RFC4226["vectors"], ids=lambda v: f"counter-{v['counter']}")
def test_rfc4226_vectors_inline_and_stored(lookup: t.Any, fake_time: FakeTime, store_option: dict, vector: dict) -> None:
    # TOTP is HOTP of the time step: at t = counter * 30 the code is HOTP(counter).
    seed = RFC4226["seed_base32"]
    fake_time.now = float(vector["counter"] * 30)
    inline = lookup.run([], {}, seed=seed, min_remaining=0, unique=False)
    store_seed(store_option, "acct/hotp", seed)
    stored = lookup.run(["acct/hotp"], {}, store=store_option, min_remaining=0, unique=False)
    assert inline == stored == [vector["code"]]


def test_uri_parameters_are_used_and_options_override_them(lookup: t.Any, fake_time: FakeTime) -> None:
    seed = AWS_SEED.lower()
    text = uri(seed, digits=8, period=60, algorithm="SHA256")
    reference = pyotp.TOTP(AWS_SEED, digits=8, interval=60, digest="sha256")
    assert lookup.run([], {}, seed=text, min_remaining=0, unique=False) == [reference.at(T0)]
    overridden = lookup.run([], {}, seed=text, digits=6, period=30, algorithm="sha1", min_remaining=0, unique=False)
    assert overridden == [pyotp.TOTP(AWS_SEED).at(T0)]


def test_seed_normalization(lookup: t.Any) -> None:
    grouped = " ".join(AWS_SEED[i:i + 4].lower() for i in range(0, len(AWS_SEED), 4))
    dashed = "-".join(AWS_SEED[i:i + 8] for i in range(0, len(AWS_SEED), 8)) + "===="
    codes = {lookup.run([], {}, seed=s, min_remaining=0, unique=False)[0] for s in (AWS_SEED, grouped, dashed)}
    assert codes == {pyotp.TOTP(AWS_SEED).at(T0)}


def test_several_terms_one_code_each(lookup: t.Any, store_option: dict) -> None:
    other = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
    store_seed(store_option, "acct/one", AWS_SEED)
    store_seed(store_option, "acct/two", other)
    got = lookup.run(["acct/one", "acct/two"], {}, store=store_option, min_remaining=0, unique=False)
    assert got == [pyotp.TOTP(AWS_SEED).at(T0), pyotp.TOTP(other).at(T0)]


# ---------------------------------------------------------------------------
# output, min_remaining, unique


def test_output_dict(lookup: t.Any, fake_time: FakeTime) -> None:
    (got,) = lookup.run([], {}, seed=AWS_SEED, output="dict", min_remaining=0, unique=False)
    window_end = (int(T0) // 30 + 1) * 30
    assert got == {
        "code": pyotp.TOTP(AWS_SEED).at(T0),
        "expires_at": datetime.datetime.fromtimestamp(window_end, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "remaining": int(window_end - T0),
        "period": 30,
    }
    assert isinstance(got["code"], str) and len(got["code"]) == 6


def test_min_remaining_waits_for_the_next_window(lookup: t.Any, fake_time: FakeTime) -> None:
    window_end = (int(T0) // 30 + 1) * 30
    fake_time.now = window_end - 3.0  # 3 s left, 5 wanted by default
    (got,) = lookup.run([], {}, seed=AWS_SEED, output="dict", unique=False)
    assert fake_time.sleeps == [3.0]
    assert got["code"] == pyotp.TOTP(AWS_SEED).at(window_end)
    assert got["remaining"] == 30
    # with enough time left there is no wait
    fake_time.sleeps.clear()
    fake_time.now = window_end + 10.0
    lookup.run([], {}, seed=AWS_SEED, unique=False, min_remaining=20)
    assert fake_time.sleeps == []


def test_min_remaining_must_be_below_the_period(lookup: t.Any) -> None:
    with pytest.raises(AnsibleLookupError, match="min_remaining must be at least 0 and less than the period"):
        lookup.run([], {}, seed=AWS_SEED, min_remaining=30, unique=False)


def test_unique_second_call_in_the_window_waits(lookup: t.Any, fake_time: FakeTime, ledger: str) -> None:
    first = lookup.run([], {}, seed=AWS_SEED, output="dict", ledger_path=ledger)[0]
    second = lookup.run([], {}, seed=AWS_SEED, output="dict", ledger_path=ledger)[0]
    assert fake_time.sleeps == [20.0]
    assert first["code"] == pyotp.TOTP(AWS_SEED).at(T0)
    assert second["code"] == pyotp.TOTP(AWS_SEED).at(T0 + 30)
    assert first["expires_at"] != second["expires_at"]
    assert AWS_SEED not in open(ledger, encoding="utf-8").read()


def test_unique_across_lookup_instances_and_names(
    make_lookup: t.Callable[[], t.Any], fake_time: FakeTime, ledger: str, store_option: dict
) -> None:
    # the same seed stored under a name and given inline is the same device: one code per window
    store_seed(store_option, "acct/root-mfa", AWS_SEED)
    first = make_lookup().run(["acct/root-mfa"], {}, store=store_option, ledger_path=ledger)
    second = make_lookup().run([], {}, seed=AWS_SEED, ledger_path=ledger)
    assert first == [pyotp.TOTP(AWS_SEED).at(T0)]
    assert second == [pyotp.TOTP(AWS_SEED).at(T0 + 30)]


def test_unique_false_gives_the_same_code(lookup: t.Any, fake_time: FakeTime, ledger: str) -> None:
    codes = [lookup.run([], {}, seed=AWS_SEED, unique=False, ledger_path=ledger)[0] for _i in range(2)]
    assert codes[0] == codes[1] and fake_time.sleeps == []
    assert not os.path.exists(ledger)


def test_default_ledger_path_is_documented_default(lookup: t.Any) -> None:
    lookup.set_options(var_options={}, direct={})
    assert lookup.get_option("ledger_path") == os.path.expanduser("~/.ansible/keyturn/totp-ledger.json")
    assert lookup.get_option("min_remaining") == 5
    assert lookup.get_option("unique") is True
    assert lookup.get_option("output") == "code"


# ---------------------------------------------------------------------------
# options from variables and the environment


def test_options_from_vars(lookup: t.Any, fake_time: FakeTime, store_option: dict) -> None:
    store_seed(store_option, "acct/root-mfa", AWS_SEED)
    variables = {"keyturn_aws_store": store_option, "keyturn_aws_totp_output": "dict",
                 "keyturn_aws_totp_unique": False, "keyturn_aws_totp_min_remaining": 0,
                 "keyturn_aws_totp_digits": 8}
    (got,) = lookup.run(["acct/root-mfa"], variables)
    assert got["code"] == pyotp.TOTP(AWS_SEED, digits=8).at(T0)


def test_options_from_env(lookup: t.Any, fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch, tmp_path: t.Any) -> None:
    ledger = str(tmp_path / "env-ledger.json")
    monkeypatch.setenv("KEYTURN_AWS_TOTP_LEDGER_PATH", ledger)
    monkeypatch.setenv("KEYTURN_AWS_TOTP_MIN_REMAINING", "25")
    monkeypatch.setenv("KEYTURN_AWS_TOTP_OUTPUT", "dict")
    (got,) = lookup.run([], {}, seed=AWS_SEED)
    assert fake_time.sleeps == [20.0] and got["remaining"] == 30
    assert os.path.exists(ledger)


# ---------------------------------------------------------------------------
# audit


def test_audit_line_per_code_without_code_or_seed(
    lookup: t.Any, fake_time: FakeTime, store_option: dict, tmp_path: t.Any, ledger: str
) -> None:
    audit = str(tmp_path / "audit.jsonl")
    store_seed(store_option, "acct/root-mfa", AWS_SEED)
    codes = lookup.run(["acct/root-mfa"], {"awx_job_id": 42, "awx_user_name": "alice"}, store=store_option,
                       audit_log=audit, ledger_path=ledger)
    codes += lookup.run([], {}, seed=AWS_SEED.lower(), audit_log=audit, ledger_path=ledger)
    with open(audit, encoding="utf-8") as handle:
        text = handle.read()
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["seed_name"] for line in lines] == ["acct/root-mfa", "inline"]
    assert lines[0]["actor"] == "alice" and lines[0]["job_id"] == "42"
    assert lines[0]["event"] == "totp_code_issued" and lines[1]["waited"] == 20.0
    for secret in codes + [AWS_SEED, AWS_SEED.lower(), AWS_SEED[:16]]:
        assert secret not in text


def test_audit_log_directory_must_exist(lookup: t.Any, tmp_path: t.Any) -> None:
    with pytest.raises(AnsibleLookupError, match="audit_log: audit_log directory"):
        lookup.run([], {}, seed=AWS_SEED, unique=False, audit_log=str(tmp_path / "missing" / "audit.jsonl"))


def test_unwritable_audit_log_fails_the_lookup(lookup: t.Any, tmp_path: t.Any) -> None:
    audit = tmp_path / "audit.jsonl"
    audit.mkdir()  # a directory where the file should be
    with pytest.raises(AnsibleLookupError, match="could not write the audit log"):
        lookup.run([], {}, seed=AWS_SEED, unique=False, audit_log=str(audit))


# ---------------------------------------------------------------------------
# errors: clear, and never the seed


def _error(lookup: t.Any, terms: t.List[t.Any], **kwargs: t.Any) -> str:
    with pytest.raises(AnsibleLookupError) as info:
        lookup.run(terms, {}, unique=False, min_remaining=0, **kwargs)
    return str(info.value)


@pytest.mark.parametrize(
    "seed, expected",
    [
        ("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PX1", "the digits 0, 1, 8 and 9 are not base32"),
        ("JBSWY3DPEHPK3PXP", "too short"),
        ("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP!", "punctuation"),
        ("otpauth://hotp/x?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&counter=1", "hotp URIs"),
        ("otpauth://totp/x?issuer=y", "no secret parameter"),
        ("https://example.com/?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "unsupported URI scheme 'https'"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&period=5", "period must be 15 to 120 seconds"),
        ("otpauth://totp/x?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&algorithm=MD5", "algorithm must be SHA1"),
        ("", "empty"),
    ],
)
def test_bad_inline_seed(lookup: t.Any, seed: str, expected: str) -> None:
    message = _error(lookup, [], seed=seed)
    assert message.startswith("seed: ") and expected in message
    assert "JBSWY3DPEHPK3PXP" not in message


@pytest.mark.parametrize("option, value, expected", [("digits", 9, "digits must be 6, 7 or 8"),
                                                     ("period", 121, "period must be 15 to 120 seconds"),
                                                     ("algorithm", "md5", "algorithm must be SHA1")])
def test_out_of_range_options(lookup: t.Any, option: str, value: t.Any, expected: str) -> None:
    message = _error(lookup, [], seed=AWS_SEED, **{option: value})
    assert expected in message and AWS_SEED not in message


def test_terms_and_seed_together(lookup: t.Any) -> None:
    assert "not both" in _error(lookup, ["acct/x"], seed=AWS_SEED)


def test_nothing_given(lookup: t.Any) -> None:
    assert "no seed given" in _error(lookup, [])


def test_stored_seed_needs_a_store(lookup: t.Any) -> None:
    assert "store is required" in _error(lookup, ["acct/root-mfa"])


def test_unknown_name(lookup: t.Any, store_option: dict) -> None:
    store_seed(store_option, "acct/other", AWS_SEED)  # the store file exists, the name does not
    message = _error(lookup, ["acct/missing"], store=store_option)
    assert "no TOTP seed is stored under 'acct/missing'" in message and "totp_seed" in message


def test_bad_name(lookup: t.Any, store_option: dict) -> None:
    assert "must not start or end with '/'" in _error(lookup, ["/acct"], store=store_option)


def test_record_of_another_kind(lookup: t.Any, store_option: dict) -> None:
    store = FileStore(store_option["path"], vault_secrets_from_password(PASSWORD))
    store.write_current("acct/alice", {"kind": "iam_user_key", "access_key_id": "AKIAEXAMPLE",
                                       "secret_access_key": "hush-hush"})
    message = _error(lookup, ["acct/alice"], store=store_option)
    assert "is a iam_user_key record, not a TOTP seed" in message and "hush-hush" not in message


def test_damaged_stored_seed(lookup: t.Any, store_option: dict) -> None:
    store = FileStore(store_option["path"], vault_secrets_from_password(PASSWORD))
    store.write_current("acct/bad", {"kind": "totp_seed", "seed": "JBSWY3DPEHPK3PX0JBSWY3DPEHPK3PXP"})
    message = _error(lookup, ["acct/bad"], store=store_option)
    assert "the TOTP seed stored under 'acct/bad'" in message and "JBSWY3DP" not in message


def test_wrong_vault_password(store_option: dict, tmp_path: t.Any) -> None:
    store_seed(store_option, "acct/root-mfa", AWS_SEED)
    loader = DataLoader()
    loader.set_vault_secrets(vault_secrets_from_password("another-password"))
    lookup = lookup_loader.get("keyturn.aws.totp", loader=loader, templar=Templar(loader=loader))
    with pytest.raises(AnsibleLookupError) as info:
        lookup.run(["acct/root-mfa"], {}, store=store_option, unique=False)
    assert AWS_SEED not in str(info.value)


# ---------------------------------------------------------------------------
# the totp_seed engine (the records the lookup reads)


def test_totp_seed_idempotent_and_absent(store_option: dict) -> None:
    first = store_seed(store_option, "acct/root-mfa", AWS_SEED)
    assert first["changed"] is True and first["digits"] == 6 and "seed" not in first
    again = store_seed(store_option, "acct/root-mfa", " ".join(AWS_SEED.lower()[i:i + 4] for i in range(0, 64, 4)))
    assert again["changed"] is False
    other = store_seed(store_option, "acct/root-mfa", AWS_SEED, period=60)
    assert other["changed"] is True and other["period"] == 60
    record = FileStore(store_option["path"], vault_secrets_from_password(PASSWORD)).read("acct/root-mfa").current
    assert record["kind"] == "totp_seed" and record["seed"] == AWS_SEED and record["period"] == 60
    assert record["created"].endswith("Z") and record["updated"].endswith("Z") and "issuer" not in record
    gone = store_seed(store_option, "acct/root-mfa", None, state="absent")
    assert gone["changed"] is True
    assert store_seed(store_option, "acct/root-mfa", None, state="absent")["changed"] is False


def test_totp_seed_check_mode_and_diff(store_option: dict) -> None:
    ctx = RunContext(check_mode=True, diff=True,
                     file_store_factory=file_store_factory(vault_secrets_from_password(PASSWORD)))
    args = {"name": "acct/root-mfa", "seed": uri(AWS_SEED), "state": "present", "store": dict(store_option),
            "digits": None, "period": None, "algorithm": None, "audit_log": None}
    result = _totp_seed.run(args, ctx)
    assert result["changed"] is True and result["msg"].endswith("would be stored")
    assert result["diff"]["before"] == {"name": "acct/root-mfa", "state": "absent"}
    assert result["diff"]["after"]["issuer"] == "Example" and result["diff"]["after"]["seed"] == "(hidden)"
    assert AWS_SEED not in json.dumps(result)
    assert not os.path.exists(store_option["path"])


def test_totp_seed_errors(store_option: dict) -> None:
    with pytest.raises(ValidationError, match="seed is required with state=present"):
        store_seed(store_option, "acct/root-mfa", None)
    with pytest.raises(ValidationError) as info:
        store_seed(store_option, "acct/root-mfa", AWS_SEED[:-1] + "0")
    assert "base32" in info.value.msg and AWS_SEED[:20] not in info.value.msg
    with pytest.raises(ValidationError, match="name: "):
        store_seed(store_option, "bad name", AWS_SEED)
    store = FileStore(store_option["path"], vault_secrets_from_password(PASSWORD))
    store.write_current("acct/alice", {"kind": "iam_user_key", "access_key_id": "AKIAEXAMPLE"})
    with pytest.raises(ValidationError, match="holds a iam_user_key record"):
        store_seed(store_option, "acct/alice", AWS_SEED)
    with pytest.raises(ValidationError, match="holds a iam_user_key record"):
        store_seed(store_option, "acct/alice", None, state="absent")


def test_totp_seed_leaves_virtual_mfa_seeds_alone(store_option: dict) -> None:
    store = FileStore(store_option["path"], vault_secrets_from_password(PASSWORD))
    spec = _totp_seed.TotpSpec(secret=AWS_SEED)
    record = _totp_seed.seed_record(spec, source="virtual_mfa", serial_number="arn:aws:iam::123456789012:mfa/bob")
    store.write_current("acct/mfa/bob", record)
    assert store_seed(store_option, "acct/mfa/bob", AWS_SEED)["changed"] is False
    with pytest.raises(ValidationError, match="use keyturn.aws.virtual_mfa"):
        store_seed(store_option, "acct/mfa/bob", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
    with pytest.raises(ValidationError, match="use keyturn.aws.virtual_mfa"):
        store_seed(store_option, "acct/mfa/bob", None, state="absent")


# -- issue 18.5 / 18.6: unknown keywords, store type, missing store file -----------------------------


def test_unknown_keyword_is_an_error_that_names_it(lookup: t.Any, ledger: str) -> None:
    # min_remainig=25 used to be ignored: the code came back with the default 5 s margin
    with pytest.raises(AnsibleLookupError) as info:
        lookup.run([], {}, seed=AWS_SEED, min_remainig=25, ledger_path=ledger)
    message = str(info.value)
    assert "unknown option(s) min_remainig" in message and "min_remaining" in message.split("accepted:")[1]
    assert AWS_SEED not in message
    assert not os.path.exists(ledger)  # no code was handed out


def test_bad_store_type_is_reported_as_such(lookup: t.Any) -> None:
    # it used to say "region is required": the connection was built before the store was checked
    message = _error(lookup, ["acct/x"], store={"type": "vaultx"})
    assert "invalid store type 'vaultx'; accepted: file, secretsmanager, ssm" in message


def test_missing_store_file_says_so(lookup: t.Any, store_option: dict) -> None:
    message = _error(lookup, ["acct/root-mfa"], store=store_option)
    assert f"the file store {store_option['path']} does not exist" in message
    assert "no TOTP seed is stored" not in message
