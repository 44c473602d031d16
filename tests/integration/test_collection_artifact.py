# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The README's install path: build the collection artifact, install it, use it by FQCN (no checkout involved)."""

from __future__ import annotations

import os
import subprocess
import tarfile

from conftest import BIN, ROOT


def run(*cmd: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), env=env, capture_output=True, text=True, timeout=300, check=False)


def test_built_artifact_installs_and_documents_itself(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(HOME=str(tmp_path), ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"),
               ANSIBLE_PYTHON_INTERPRETER=os.path.join(BIN, "python"), PATH=BIN + os.pathsep + env.get("PATH", ""))
    built = run(os.path.join(BIN, "ansible-galaxy"), "collection", "build", ROOT, "--output-path", str(tmp_path),
                env=env)
    assert built.returncode == 0, built.stderr
    (artifact,) = [p for p in os.listdir(tmp_path) if p.endswith(".tar.gz")]
    with tarfile.open(tmp_path / artifact) as tar:
        names = tar.getnames()
    assert "plugins/modules/access_key_rotate.py" in names and "roles/rotate_access_keys/tasks/main.yml" in names
    assert not [n for n in names if n.startswith((".venv", "build/", "demo-output", "tests/output"))]
    installed = run(os.path.join(BIN, "ansible-galaxy"), "collection", "install", str(tmp_path / artifact), "-p",
                    str(tmp_path / "collections"), env=env)
    assert installed.returncode == 0, installed.stderr
    assert os.path.isfile(tmp_path / "collections/ansible_collections/keyturn/aws/MANIFEST.json")
    doc = run(os.path.join(BIN, "ansible-doc"), "keyturn.aws.access_key_rotate", env=env)
    assert doc.returncode == 0 and "retire" in doc.stdout, doc.stderr
    role_doc = run(os.path.join(BIN, "ansible-doc"), "-t", "role", "keyturn.aws.rotate_access_keys", env=env)
    assert role_doc.returncode == 0 and "rotate_access_keys_report_keep" in role_doc.stdout, role_doc.stderr
