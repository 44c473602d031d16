# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML report of a real rotation run, rendered by headless Chromium (Debian package ``chromium``).

Prerequisite: ``make chromium`` (or this test installs it with apt-get when it runs as root). The test skips only
when Chromium is missing and cannot be installed. The screenshot is kept at tests/output/report-screenshot.png.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import typing as t

import pytest

from rotate_fleet import ROOT_DIR, Fleet, users_of

SCREENSHOT = os.path.join(ROOT_DIR, "tests", "output", "report-screenshot.png")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def find_chromium() -> t.Optional[str]:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


def install_chromium() -> str:
    """Install Debian's chromium package (what ``make chromium`` does); returns why it could not."""
    if not shutil.which("apt-get"):
        return "apt-get is not available (not Debian-based)"
    if os.geteuid() != 0:
        return "installing packages needs root; run `make chromium` as root"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        try:
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"{' '.join(cmd)} failed: {exc}"
        if proc.returncode != 0:
            return f"{' '.join(cmd)} failed with {proc.returncode}: {proc.stderr.strip()[-300:]}"
    return "apt-get install chromium succeeded but no chromium binary was found"


@pytest.fixture(scope="session")
def chromium() -> str:
    if os.environ.get("KEYTURN_SKIP_BROWSER"):
        pytest.skip("SKIP_BROWSER=1: the browser test of the HTML reports was left out on request")
    path = find_chromium()
    if path is None:
        reason = install_chromium()
        path = find_chromium()
        if path is None:
            pytest.skip(f"headless Chromium is not installed and could not be installed: {reason}")
    return path


def run_chromium(binary: str, profile: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, HOME=profile)
    return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def png_size(path: str) -> t.Tuple[int, int]:
    with open(path, "rb") as handle:
        head = handle.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", "not a PNG file"
    return t.cast(t.Tuple[int, int], struct.unpack(">II", head[16:24]))


def test_html_report_renders_in_chromium(runner, awsmock, account_id, chromium, tmp_path):
    fleet = Fleet(runner, awsmock, account_id)
    fleet.onboard(fleet.main, "ci-deployer", age_days=12)
    fleet.onboard(fleet.main, "backup-agent", age_days=80)      # due soon
    legacy = fleet.onboard(fleet.main, "legacy-etl", age_days=130)  # overdue: rotated, old key kept Inactive
    stranger = fleet.main.iam.create_access_key(UserName=fleet.main.user("stranger"))["AccessKey"]["AccessKeyId"]
    awsmock.age_key(stranger, 120)                                # unmanaged and overdue: its rotation fails
    fleet.onboard(fleet.china, "cn-app", age_days=45)
    fleet.users = {"main": ["ci-deployer", "backup-agent", "legacy-etl", "stranger"], "china": ["cn-app"]}
    targets = [tg for tg in fleet.targets() if tg["name"] in ("main", "china")]
    result = fleet.runner.playbook("keyturn.aws.rotate", fleet.variables(
        rotate_access_keys_targets=targets, rotate_access_keys_retire="deactivate",
        rotate_access_keys_verify_successes=1, rotate_access_keys_report_name="nightly"))
    assert result.rc != 0  # stranger's unmanaged key fails its rotation, after the report is written
    (run,) = fleet.runs("nightly")
    assert run.endswith("-failed")  # kept and marked; no earlier good report to keep as the latest
    report = fleet.report(run)
    users = users_of(report)
    assert users["main/legacy-etl"]["action"] == "rotated" and users["main/stranger"]["action"] == "failed"
    page = os.path.join(fleet.report_dir, run + ".html")

    profile = str(tmp_path / "chromium-profile")
    shot = str(tmp_path / "report.png")
    shooting = run_chromium(chromium, profile, f"--screenshot={shot}", "--window-size=1280,900", f"file://{page}")
    assert os.path.exists(shot), shooting.stderr[-2000:]
    assert png_size(shot) == (1280, 900)
    assert os.path.getsize(shot) > 30_000, "the screenshot looks blank"
    os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)
    print(f"report screenshot: {SCREENSHOT}")

    dumped = run_chromium(chromium, profile, "--dump-dom", "--window-size=1280,900", f"file://{page}")
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    assert "Access key rotation report" in dom and "nightly" in dom
    for name in ("ci-deployer", "backup-agent", "legacy-etl", "stranger", "cn-app"):
        assert f">{name}<" in dom
    for user in users.values():
        for key in user["keys"]:
            assert key["access_key_id"] in dom
    assert legacy["access_key_id"] in dom and stranger in dom
    assert 'class="age age-overdue"' in dom and 'class="age age-due-soon"' in dom and 'class="age age-ok"' in dom
    assert 'class="key overdue active' in dom  # stranger's live, overdue key
    assert "<svg" in dom and dom.count('class="bar bar-') == 4
    assert "unmanaged" in dom and "failed" in dom and "aws-cn" in dom
    for secret in fleet.secrets() + [legacy["secret_access_key"]]:
        assert secret not in dom
    assert_pages_render(fleet, chromium, tmp_path, targets)


def assert_pages_render(fleet: Fleet, chromium: str, tmp_path: t.Any, targets: t.List[dict]) -> None:
    """The plan report of a check-mode run and the history index with its trend, in the browser."""
    plan = fleet.runner.playbook("keyturn.aws.rotate", fleet.variables(
        rotate_access_keys_targets=targets, rotate_access_keys_report_name="nightly"), check=True)
    assert plan.rc != 0  # the stranger's unmanaged key is still a problem in the plan
    runs = fleet.runs("nightly")
    assert len(runs) == 2 and runs[1].endswith("-plan"), runs
    profile = str(tmp_path / "chromium-profile-2")
    for page, shot_name in ((runs[1] + ".html", "plan-screenshot.png"), ("index.html", "index-screenshot.png")):
        shot = str(tmp_path / shot_name)
        shooting = run_chromium(chromium, profile, f"--screenshot={shot}", "--window-size=1280,900",
                                f"file://{os.path.join(fleet.report_dir, page)}")
        assert os.path.exists(shot), shooting.stderr[-2000:]
        assert png_size(shot) == (1280, 900) and os.path.getsize(shot) > 20_000, f"{page}: the screenshot looks blank"
        shutil.copyfile(shot, os.path.join(os.path.dirname(SCREENSHOT), shot_name))
    plan_dom = run_chromium(chromium, profile, "--dump-dom", f"file://{os.path.join(fleet.report_dir, runs[1] + '.html')}")
    assert "Plan only (check mode)" in plan_dom.stdout and "Planned action" in plan_dom.stdout
    index_dom = run_chromium(chromium, profile, "--dump-dom", f"file://{os.path.join(fleet.report_dir, 'index.html')}")
    dom = index_dom.stdout
    assert "keyturn.aws report history" in dom and ">nightly<" in dom
    assert f'href="{runs[0]}.html"' in dom and f'href="{runs[1]}.html"' in dom
    assert 'class="run run-failed"' in dom and 'class="run run-plan"' in dom
    assert dom.count('class="point-failed"') == 1  # the trend holds the real run only, not the plan
    for secret in fleet.secrets():
        assert secret not in dom and secret not in plan_dom.stdout
