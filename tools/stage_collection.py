# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Copy the collection's files (tracked or new, not ignored) to DEST.

ansible-test needs the collection under ``ansible_collections/keyturn/aws``;
a copy (not a symlink) keeps its path checks happy and excludes build output.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys


def main(dest: str) -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    listing = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=root,
                             check=True, capture_output=True).stdout.decode().split("\0")
    if os.path.isdir(dest):
        shutil.rmtree(dest)
    for rel in filter(None, listing):
        src = os.path.join(root, rel)
        if not os.path.isfile(src) or rel.startswith(("build/", ".venv/")):
            continue
        target = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(src, target)
    # The copy sits inside this repository's work tree (build/ is ignored), so give it a
    # repository of its own: ansible-test lists the collection's files with git.
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
