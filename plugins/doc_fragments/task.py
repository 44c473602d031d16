# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Task options of the store-using modules that do not issue keys (verify)."""

    DOCUMENTATION = r"""
options:
  account_id:
    description: The 12-digit account the task's credentials (after I(assume_role)) must reach.
    type: str
  concurrency:
    description: Users processed in parallel in one task (1 to 64), sharing one client pool.
    type: int
    default: 10
  audit_log:
    description: Append a JSON line per event to this file (mode 0600). Never contains a secret.
    type: path
  lock_timeout:
    description: Seconds to wait for another run's lock on a record before failing that user.
    type: int
    default: 300
"""

    # keyturn.aws.task.parallel: modules that read many users at once without record locks (access_key_info,
    # credential_report_info, credential_report_remediate).
    PARALLEL = r"""
options:
  concurrency:
    description: Users read in parallel (1 to 64).
    type: int
    default: 10
  account_id:
    description: The 12-digit account the task's credentials (after I(assume_role)) must reach.
    type: str
"""
