# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module adapter: runs an engine inside AnsibleModule.

keyturn.aws tasks normally run through the action plugin of the same name on
the controller (one process for the whole task, and the file store can use the
run's vault secrets).  This adapter serves direct module execution, where the
file store is not available because vault secrets never leave the controller.
"""

from __future__ import annotations

import typing as t

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import KeyturnError

Engine = t.Callable[[t.Dict[str, t.Any], RunContext], t.Dict[str, t.Any]]


def run_module(argument_spec: t.Dict[str, t.Any], engine: Engine, **module_kwargs: t.Any) -> None:
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **module_kwargs)
    actor, job_id = RunContext.identify()
    ctx = RunContext(check_mode=module.check_mode, diff=module._diff, vault_secrets=None,
                     on_controller=False, actor=actor, job_id=job_id)
    try:
        result = engine(dict(module.params), ctx)
    except KeyturnError as exc:
        for warning in ctx.warnings:
            module.warn(warning)
        module.fail_json(msg=exc.msg, **_safe_details(exc))
    for warning in ctx.warnings:
        module.warn(warning)
    if result.pop("failed", False):
        msg = result.pop("msg", "failed")
        module.fail_json(msg=msg, **result)
    module.exit_json(**result)


def _safe_details(exc: KeyturnError) -> t.Dict[str, t.Any]:
    return {k: v for k, v in exc.details.items() if k in ("code", "diff_summary", "users", "summary")}
