# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action adapter: runs an engine on the controller.

Every keyturn.aws module has an action plugin built on :class:`KeyturnAction`.
It validates the task arguments against the module's own argument spec (so
errors read exactly as a module's would), gives the engine the run's vault
secrets and check/diff flags, turns :class:`KeyturnError` into a clean task
failure, and strips every ``no_log`` value from the result.
"""

from __future__ import annotations

import typing as t

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase

from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import KeyturnError
from ansible_collections.keyturn.aws.plugins.plugin_utils._store_file import file_store_factory

Engine = t.Callable[[t.Dict[str, t.Any], RunContext], t.Dict[str, t.Any]]


def _no_log_values(spec: t.Mapping[str, t.Any], params: t.Mapping[str, t.Any]) -> t.Set[str]:
    found: t.Set[str] = set()
    for name, opt in spec.items():
        value = params.get(name)
        if value is None:
            continue
        if opt.get("no_log"):
            if isinstance(value, (list, tuple)):
                found.update(str(v) for v in value if v not in (None, ""))
            elif isinstance(value, dict):
                found.update(str(v) for v in value.values() if v not in (None, ""))
            elif value != "":
                found.add(str(value))
        sub = opt.get("options")
        if sub:
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, dict):
                    found.update(_no_log_values(sub, item))
    return found


class KeyturnAction(ActionBase):
    """Base for keyturn.aws action plugins; subclasses set ARGUMENT_SPEC and ENGINE."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    ARGUMENT_SPEC: t.Dict[str, t.Any] = {}
    VALIDATOR_KWARGS: t.Dict[str, t.Any] = {}

    @staticmethod
    def engine(params: t.Dict[str, t.Any], ctx: RunContext) -> t.Dict[str, t.Any]:  # pragma: no cover
        raise NotImplementedError

    def run(self, tmp: t.Any = None, task_vars: t.Optional[t.Dict[str, t.Any]] = None) -> t.Dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        del tmp
        validator = ArgumentSpecValidator(self.ARGUMENT_SPEC, **self.VALIDATOR_KWARGS)
        validation = validator.validate(dict(self._task.args))
        secrets = _no_log_values(self.ARGUMENT_SPEC, validation.validated_parameters)
        if validation.error_messages:
            result.update(failed=True, msg="Invalid arguments: " + "; ".join(validation.error_messages))
            return t.cast(t.Dict[str, t.Any], remove_values(result, secrets))
        actor, job_id = RunContext.identify(task_vars)
        vault = getattr(self._loader, "_vault", None)
        vault_secrets = list(getattr(vault, "secrets", None) or [])
        ctx = RunContext(
            check_mode=bool(self._task.check_mode),
            diff=bool(self._task.diff),
            vault_secrets=vault_secrets,
            file_store_factory=file_store_factory(vault_secrets),
            on_controller=True,
            actor=actor,
            job_id=job_id,
        )
        try:
            outcome = type(self).engine(dict(validation.validated_parameters), ctx)
        except KeyturnError as exc:
            outcome = {"failed": True, "msg": exc.msg}
            if exc.details.get("code"):
                outcome["error_code"] = exc.details["code"]
        result.update(outcome)
        if ctx.warnings:
            result["warnings"] = list(ctx.warnings)
        return t.cast(t.Dict[str, t.Any], remove_values(result, secrets))
