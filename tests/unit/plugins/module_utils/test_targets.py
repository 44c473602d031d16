# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rotation policy from options (_targets.py): defaults come from the one spec."""

from __future__ import annotations

import pytest

from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._rotation import Policy
from ansible_collections.keyturn.aws.plugins.module_utils._targets import ROTATION_SPEC, policy_from


def test_the_spec_defaults_are_the_policy_defaults():
    assert policy_from({}) == Policy()
    assert {name: getattr(Policy(), name) for name in ROTATION_SPEC} == {
        name: spec["default"] for name, spec in ROTATION_SPEC.items()}


def test_options_and_overrides_win_over_defaults():
    policy = policy_from({"max_age_days": 30, "retire": "deactivate", "force": None}, self_rotate=True)
    assert (policy.max_age_days, policy.retire, policy.force, policy.self_rotate) == (30, "deactivate", False, True)


@pytest.mark.parametrize("params, message", [
    ({"max_age_days": -1}, "max_age_days must be 0 or more (0 rotates every run), got -1"),
    ({"verify_successes": 11}, "verify_successes must be between 1 and 10, got 11"),
    ({"verify_timeout": 3601}, "verify_timeout must be between 0 and 3600 seconds, got 3601"),
])
def test_ranges(params, message):
    with pytest.raises(ValidationError) as caught:
        policy_from(params)
    assert caught.value.msg == message
