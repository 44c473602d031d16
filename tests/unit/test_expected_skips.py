# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CI skip policy of tests/conftest.py: a skip whose reason is not in tests/expected_skips.txt fails CI."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def policy():
    spec = importlib.util.spec_from_file_location("keyturn_tests_root_conftest", os.path.join(TESTS, "conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_only_listed_reasons_pass():
    module = policy()
    skipped = [("a::x", "Skipped: root ignores directory permissions"), ("b::y", "Skipped: shared vectors not available")]
    assert module.unexpected_skips(skipped, ["root ignores directory permissions"]) == [skipped[1]]
    assert module.unexpected_skips(skipped, []) == skipped


def test_every_listed_reason_is_a_skip_in_the_tests():
    """The allow-list names real skips only (a stale entry would hide a new skip with the same words)."""
    sources = ""
    for folder, _dirs, files in os.walk(TESTS):
        sources += "".join(open(os.path.join(folder, f), encoding="utf-8").read() for f in files if f.endswith(".py"))
    reasons = policy().expected_skip_reasons()
    assert reasons
    for reason in reasons:
        assert reason in sources, reason


def test_a_skip_fails_the_session_in_ci(tmp_path):
    """Through pytest itself: an unlisted skip fails with CI=true, passes without it."""
    text = open(os.path.join(TESTS, "conftest.py"), encoding="utf-8").read()
    hooks = text[text.index("# -- skips in CI"):].replace("EXPECTED_SKIPS = os.path", "EXPECTED_SKIPS = '/nonexistent' or os.path")
    (tmp_path / "conftest.py").write_text("import os\n\n" + hooks)  # the policy only (no collection link)
    (tmp_path / "test_it.py").write_text("import pytest\n\ndef test_x():\n    pytest.skip('no such thing here')\n")
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", str(tmp_path)]
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    assert subprocess.run(base, env=env, capture_output=True, check=False, cwd=tmp_path).returncode == 0
    failed = subprocess.run(base, env=dict(env, CI="true"), capture_output=True, text=True, check=False, cwd=tmp_path)
    assert failed.returncode == 1 and "no such thing here" in failed.stdout
