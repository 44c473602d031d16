# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lookup adapter: the same options, connection and stores as the modules.

Lookups declare the shared options through the ``keyturn.aws.connection.plugins``
and ``keyturn.aws.store.plugins`` doc fragments (so they can also come from
environment variables and play variables); this base reads them through the
same option adapter the modules use.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.keyturn.aws.plugins.module_utils._connection import AwsConnection
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import KeyturnError
from ansible_collections.keyturn.aws.plugins.module_utils._options import CONNECTION_OPTION_NAMES, connection_params
from ansible_collections.keyturn.aws.plugins.module_utils._store_base import Store, StoreError
from ansible_collections.keyturn.aws.plugins.module_utils._stores import check_spec
from ansible_collections.keyturn.aws.plugins.module_utils._task import open_store
from ansible_collections.keyturn.aws.plugins.plugin_utils._store_file import file_store_factory


class KeyturnLookup(LookupBase):
    """Base for keyturn.aws lookups."""

    def keyturn_setup(self, variables: t.Optional[t.Mapping[str, t.Any]], kwargs: t.Mapping[str, t.Any]) -> RunContext:
        self._check_keywords(kwargs)
        self.set_options(var_options=self._option_variables(variables), direct=dict(kwargs))
        vault = getattr(self._loader, "_vault", None)
        secrets = list(getattr(vault, "secrets", None) or [])
        actor, job_id = RunContext.identify(variables)
        return RunContext(vault_secrets=secrets, file_store_factory=file_store_factory(secrets),
                          on_controller=True, actor=actor, job_id=job_id)

    def _check_keywords(self, kwargs: t.Mapping[str, t.Any]) -> None:
        """A keyword the lookup does not know is a mistake (``min_remainig=25`` would otherwise be
        ignored and the code handed out with the default): name it and list the accepted ones."""
        accepted: t.Set[str] = set()
        for name, definition in self.option_definitions.items():
            if not name.startswith("_"):
                accepted.add(name)
                accepted.update(definition.get("aliases") or [])
        unknown = sorted(str(key) for key in kwargs if key not in accepted)
        if unknown:
            raise AnsibleLookupError(
                f"{self.ansible_name or 'this lookup'}: unknown option(s) {', '.join(unknown)}; accepted: "
                + ", ".join(sorted(accepted))
            )

    def _option_variables(self, variables: t.Optional[t.Mapping[str, t.Any]]) -> t.Dict[str, t.Any]:
        """The variables, with those that set options templated: a lookup receives them raw, so
        ``keyturn_aws_region: "{{ region }}"`` would otherwise arrive as the template text."""
        resolved = dict(variables or {})
        names = {entry["name"] for definition in self.option_definitions.values() for entry in definition.get("vars") or []}
        for name in names & set(resolved):
            resolved[name] = self._templar.template(resolved[name])
        return resolved

    def keyturn_connection(self, region: t.Optional[str] = None) -> AwsConnection:
        values = {name: self.get_option(name) for name in CONNECTION_OPTION_NAMES}
        if not values.get("region") and region:
            values["region"] = region
        return AwsConnection(connection_params(values))

    def keyturn_store(self, ctx: RunContext) -> Store:
        spec = self.get_option("store")
        if not spec:
            raise AnsibleLookupError("store is required: pass store=dict(type=file, path=...) or set keyturn_aws_store")
        try:
            values = check_spec(spec)  # a bad store option is reported before any connection option
        except StoreError as exc:
            raise AnsibleLookupError(str(exc)) from None
        base = None
        if values["type"] != "file":
            base = self.keyturn_connection(values.get("region"))
        return open_store(spec, base, ctx, must_exist=True)  # lookups only read: a missing file is a wrong path

    @staticmethod
    def keyturn_error(exc: Exception) -> AnsibleLookupError:
        """A clean lookup failure; the message of our errors never holds a secret."""
        if isinstance(exc, KeyturnError):
            return AnsibleLookupError(exc.msg)
        if isinstance(exc, StoreError):
            return AnsibleLookupError(str(exc))
        return AnsibleLookupError(f"{type(exc).__name__}: {exc}")
