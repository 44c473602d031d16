# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible_collections.keyturn.aws.plugins.module_utils._access_key_locate import ARGUMENT_SPEC, run
from ansible_collections.keyturn.aws.plugins.plugin_utils._action import KeyturnAction


class ActionModule(KeyturnAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    engine = staticmethod(run)
