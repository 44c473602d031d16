# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Action attributes shared by several keyturn.aws modules (as community.general's attributes fragment)."""

    # keyturn.aws.attributes.read_only: modules that change nothing (access_key_info, access_key_verify,
    # credential_report_info).
    READ_ONLY = r"""
attributes:
  check_mode:
    support: full
    description: Read-only in any mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
"""
