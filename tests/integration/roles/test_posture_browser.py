# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML posture report of a real audit run (with a remediation plan), rendered by headless Chromium, as
tests/integration/roles/test_report_browser.py does for the rotation report.  The screenshot is kept at
tests/output/posture-screenshot.png."""

from __future__ import annotations

import os
import shutil

import pytest

from posture_estate import PostureEstate
from rotate_fleet import ROOT_DIR
from test_report_browser import find_chromium, install_chromium, png_size, run_chromium

SCREENSHOT = os.path.join(ROOT_DIR, "tests", "output", "posture-screenshot.png")


@pytest.fixture(scope="session")
def browser() -> str:
    path = find_chromium()
    if path is None:
        reason = install_chromium()
        path = find_chromium()
        if path is None:
            pytest.skip(f"headless Chromium is not installed and could not be installed: {reason}")
    return path


def test_posture_report_renders_in_chromium(runner, awsmock, account_id, browser, tmp_path):
    chromium = browser
    estate = PostureEstate(runner, awsmock, account_id, partitions=("aws", "aws-us-gov"))
    result = runner.playbook("keyturn.aws.audit", estate.variables(
        audit_credentials_remediate=["unused_keys", "extra_active_keys"], audit_credentials_report_name="nightly"),
        check=True)
    assert result.rc == 0, result.stdout[-4000:] + result.stderr[-2000:]
    report = estate.report("nightly-plan")
    page = os.path.join(estate.report_dir, "nightly-plan.html")

    profile = str(tmp_path / "chromium-profile")
    shot = str(tmp_path / "posture.png")
    shooting = run_chromium(chromium, profile, f"--screenshot={shot}", "--window-size=1280,1400", f"file://{page}")
    assert os.path.exists(shot), shooting.stderr[-2000:]
    assert png_size(shot) == (1280, 1400)
    assert os.path.getsize(shot) > 30_000, "the screenshot looks blank"
    os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)
    print(f"posture screenshot: {SCREENSHOT}")

    dumped = run_chromium(chromium, profile, "--dump-dom", "--window-size=1280,1400", f"file://{page}")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    assert "Credential posture report (plan, check mode)" in dom and "Plan only (check mode)" in dom
    for control in ("CIS 1.4", "CIS 1.5", "CIS 1.6", "CIS 1.12", "CIS 1.13", "CIS 1.14", "keyturn.unmanaged",
                    "keyturn.store_drift"):
        assert f">{control}<" in dom
    for target in report["targets"]:
        assert target["account_id"] in dom
        for action in target["plan"]:
            assert f"<code>{action['access_key_id']}</code>" in dom
    assert "<code>old-key</code>" in dom and "<code>&lt;root_account&gt;</code>" in dom and "aws-us-gov" in dom
    assert 'class="badge badge-bad">fail' in dom and 'class="badge badge-good">pass' in dom
    assert "Planned remediation (check mode)" in dom and "IAM credential report of" in dom
    assert "<script" not in dom
    for secret in estate.issued:
        assert secret not in dom
