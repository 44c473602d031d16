# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests for plugins/module_utils/_totp_ledger.py: one code per (seed, time step) on this controller."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import stat
import time

import pyotp
import pytest

from ansible_collections.keyturn.aws.plugins.module_utils._errors import TotpError
from ansible_collections.keyturn.aws.plugins.module_utils._totp_codes import issue_code, time_step
from ansible_collections.keyturn.aws.plugins.module_utils._totp_ledger import CodeLedger
from ansible_collections.keyturn.aws.plugins.module_utils._totp_parse import parse_seed
from totp_fakes import AWS_SEED, SEED, FakeClock, assert_no_secret, no_sleep


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
    issued = issue_code(spec, ledger=ledger, min_remaining=0, clock=lambda: 1_700_000_000.0, sleep=no_sleep)
    with open(ledger.path, encoding="utf-8") as handle:
        content = handle.read()
    assert_no_secret(content, AWS_SEED)
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
# Paths
# ---------------------------------------------------------------------------


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
