# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible_collections.keyturn.aws.plugins.module_utils._credential_report import REMEDIATE_ARGUMENT_SPEC, run_remediate
from ansible_collections.keyturn.aws.plugins.plugin_utils._action import KeyturnAction


class ActionModule(KeyturnAction):
    ARGUMENT_SPEC = REMEDIATE_ARGUMENT_SPEC
    engine = staticmethod(run_remediate)
