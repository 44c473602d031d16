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
