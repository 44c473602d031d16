# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make the repository importable as ``ansible_collections.keyturn.aws`` for pytest.

The collection lives at the repository root; pytest needs it under an
``ansible_collections/keyturn/aws`` path.  ``build/collections`` holds that
layout as a symlink (the Makefile creates the same one).
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, "build", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "keyturn", "aws")

if not os.path.lexists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    try:
        os.symlink(ROOT, LINK)
    except FileExistsError:  # another pytest worker won the race
        pass
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)


# -- skips in CI ---------------------------------------------------------------
# A skip hides a test that did not run.  Every skip is printed (pytest -rs in the Makefile); in CI
# (CI=true) a skip whose reason is not listed in tests/expected_skips.txt fails the session.
EXPECTED_SKIPS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "expected_skips.txt")
_SKIPPED: list = []


def expected_skip_reasons(path: str = EXPECTED_SKIPS) -> list:
    """The allow-list: one reason per line (matched as a substring of the skip reason); # comments."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = [line.split("#", 1)[0].strip() for line in handle]
    except FileNotFoundError:
        return []
    return [line for line in lines if line]


def unexpected_skips(skipped: list, allowed: list) -> list:
    """``(nodeid, reason)`` pairs whose reason matches no allowed reason."""
    return [(nodeid, reason) for nodeid, reason in skipped if not any(item in reason for item in allowed)]


def pytest_runtest_logreport(report):  # type: ignore[no-untyped-def]
    if report.skipped and not hasattr(report, "wasxfail"):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        _SKIPPED.append((report.nodeid, reason))


def pytest_sessionfinish(session, exitstatus):  # type: ignore[no-untyped-def]
    if hasattr(session.config, "workerinput") or os.environ.get("CI", "").lower() not in ("true", "1", "yes"):
        return
    unexpected = unexpected_skips(_SKIPPED, expected_skip_reasons())
    if unexpected:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_sep("=", "unexpected skips in CI (list expected ones in tests/expected_skips.txt)", red=True)
            for nodeid, reason in unexpected:
                reporter.write_line(f"{nodeid}: {reason}")
        session.exitstatus = 1
