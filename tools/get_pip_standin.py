# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in for the get-pip script ansible-test downloads (its host is unreachable here).

ansible-test runs ``python get_pip.py [--no-setuptools] [--no-wheel] pip==X ...``;
this bootstraps pip with ensurepip, then installs the same requirements from
the package registry.
"""

from __future__ import annotations

import subprocess
import sys


def main() -> int:
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    subprocess.check_call([sys.executable, "-m", "ensurepip"])
    if args:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", *args])
    return 0


if __name__ == "__main__":
    sys.exit(main())
