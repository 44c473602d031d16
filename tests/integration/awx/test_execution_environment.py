# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The execution-environment definition builds a context with ansible-builder (no container build)."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_ansible_builder_create(tmp_path):
    builder = os.path.join(os.path.dirname(sys.executable), "ansible-builder")
    context = tmp_path / "context"
    proc = subprocess.run([builder, "create", "-f", os.path.join(ROOT, "execution-environment.yml"), "-c", str(context)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    containerfile = (context / "Containerfile") if (context / "Containerfile").exists() else (context / "Dockerfile")
    text = containerfile.read_text(encoding="utf-8")
    assert "ansible-core==2.19.14" in text
    with open(os.path.join(ROOT, "requirements", "runtime.txt"), encoding="utf-8") as handle:
        runtime = handle.read()
    copied = list(context.rglob("requirements.txt")) + list(context.rglob("runtime.txt"))
    assert copied, "the Python requirements were not copied into the build context"
    assert any("boto3" in path.read_text(encoding="utf-8") for path in copied)
    assert "boto3==" in runtime and "pyotp==" in runtime
