# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmarks of keyturn.aws (``python -m benchmarks.run``; see benchmarks/README.md)."""

from __future__ import annotations
