# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What an engine needs to know about the run it is part of."""

from __future__ import annotations

import dataclasses
import getpass
import os
import typing as t


@dataclasses.dataclass
class RunContext:
    """Passed by the adapters (action plugin, module, lookup) to every engine.

    ``file_store_factory(path, vault_id)`` builds the vault file store bound to
    the controller's loaded vault secrets; it is ``None`` on a managed node,
    where vault secrets never go.
    """

    check_mode: bool = False
    diff: bool = False
    vault_secrets: t.Optional[list] = None
    file_store_factory: t.Optional[t.Callable[[str, t.Optional[str]], t.Any]] = None
    on_controller: bool = True
    actor: str = ""
    job_id: t.Optional[str] = None
    warnings: t.List[str] = dataclasses.field(default_factory=list)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    @staticmethod
    def identify(task_vars: t.Optional[t.Mapping[str, t.Any]] = None) -> t.Tuple[str, t.Optional[str]]:
        """Who runs this (AWX user when present) and the AWX job id, if any."""
        task_vars = task_vars or {}
        job_id = task_vars.get("awx_job_id") or task_vars.get("tower_job_id") or os.environ.get("JOB_ID")
        actor = task_vars.get("awx_user_name") or task_vars.get("tower_user_name")
        if not actor:
            try:
                actor = getpass.getuser()
            except Exception:  # no passwd entry in some containers
                actor = str(os.getuid())
        return str(actor), (str(job_id) if job_id else None)
