# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test-only callback: the keyturn.aws.totp lookup of this ansible-playbook run reads a fake clock."""

from __future__ import annotations

DOCUMENTATION = r"""
name: keyturn_fake_clock
type: aggregate
short_description: Fake clock for the totp lookup, for the integration tests
description:
  - With C(KEYTURN_TEST_FAKE_NOW) set (epoch seconds), the C(keyturn.aws.totp) lookup of this run reads a clock
    that starts there and only moves when the lookup sleeps (it never really sleeps). Each task's worker starts
    from that instant. Enabled only through C(ANSIBLE_CALLBACKS_ENABLED).
"""

import importlib
import os

from ansible.plugins.callback import CallbackBase


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "keyturn_fake_clock"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        now = os.environ.get("KEYTURN_TEST_FAKE_NOW")
        if now:
            # Loaded before the workers fork: the plugin loader reuses this module from sys.modules.
            lookup = importlib.import_module("ansible_collections.keyturn.aws.plugins.lookup.totp").LookupModule
            clock = FakeClock(float(now))
            lookup.clock = staticmethod(clock.time)
            lookup.sleep = staticmethod(clock.sleep)
