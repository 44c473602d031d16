# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Options of the modules that issue new access keys (rotate, dual swap, reconcile)."""

    # How a new key is issued, verified and the old one retired: access_key_rotate, dual_account_swap and
    # access_key_reconcile.
    DOCUMENTATION = r"""
options:
  retire:
    description:
      - What happens to the old key once the new one is verified and promoted.
      - C(delete) removes it; C(deactivate) sets it Inactive (it is deleted by a later rotation to make room).
    type: str
    choices: [delete, deactivate]
    default: delete
  unmanaged_keys:
    description:
      - What to do with an Active key of the user that the store does not know, when a new key is to be issued.
      - C(fail) (default) fails that user with a message saying how to onboard the key; the key is never deleted
        silently. C(deactivate) sets it Inactive; C(delete) deletes it.
    type: str
    choices: [fail, deactivate, delete]
    default: fail
  verify_successes:
    description:
      - Consecutive successful STS C(GetCallerIdentity) calls with the new key required before it is promoted
        (IAM is eventually consistent).
    type: int
    default: 2
  verify_timeout:
    description:
      - Seconds to wait for the new key to work. Past that, the new key is deleted and the old key kept.
    type: int
    default: 60
  confirm_retired:
    description: After retiring the old key, poll STS until it is refused (up to I(verify_timeout)) and report it.
    type: bool
    default: false
"""

    # When a key is due: access_key_rotate (dual_account_swap words both options for a pair in its own docs).
    DUE = r"""
options:
  max_age_days:
    description:
      - A key is due for rotation once it is this many days old (0 rotates on every run).
    type: int
    default: 90
  force:
    description: Rotate even when the key is not due.
    type: bool
    default: false
"""
