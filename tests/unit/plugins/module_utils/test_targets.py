# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rotation policy from options (_targets.py): defaults come from the one spec, and per-user options are checked
like the top-level ones (issue 18.4): the message names the option and what is accepted, never a Python type name."""

from __future__ import annotations

import pytest
from ansible.module_utils._internal._datatag import AnsibleTagHelper

from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._targets import MAX_AGE_DAYS, policy_from, targets_from

try:
    from ansible._internal._datatag._tags import Origin
except ImportError:  # pragma: no cover - older ansible-core without data tagging
    Origin = None

ACCOUNT = "123456789012"


def tagged(value):
    """The value as ansible-core 2.19 hands it to a plugin: wrapped in an _AnsibleTagged* type."""
    if Origin is None:  # pragma: no cover
        return value
    return AnsibleTagHelper.tag(value, [Origin(path="/play.yml", line_num=3)])


def error(users, **params):
    with pytest.raises(ValidationError) as info:
        targets_from(users, params, ACCOUNT)
    message = str(info.value)
    assert "_Ansible" not in message and "Tagged" not in message and "'str'" not in message and "'int'" not in message
    return message


@pytest.mark.parametrize("users, expected", [
    ([{"name": "a", "max_age_days": tagged("x")}], "users[0].max_age_days must be a whole number from 0 to 36500 days"),
    ([{"name": "a", "max_age_days": 10 ** 30}], "users[0].max_age_days must be a whole number from 0 to 36500"),
    ([{"name": "a", "max_age_days": -1}], "users[0].max_age_days must be a whole number from 0"),
    ([{"name": "a", "max_age_days": [3]}], "got a list"),
    ([tagged(123)], "users[0] must be an IAM user name (a string; quote names that look like numbers"),
    ([None], "got null"),
    (["ok", [1, 2]], "users[1] must be an IAM user name"),
    ([{"name": tagged(123)}], "users[0].name must be an IAM user name (a string"),
    ([{"name": "a", "force": "maybe"}], "users[0].force must be true or false, got 'maybe'"),
    ([{"name": "a", "retire": 1}], "users[0].retire must be one of delete, deactivate, got 1"),
    ([{"name": "a", "unmanaged_keys": "ignore"}], "users[0].unmanaged_keys must be one of fail, deactivate, delete"),
    ([{"name": "a", "store_name": 5}], "users[0].store_name must be a non-empty string"),
])
def test_bad_per_user_options(users, expected):
    assert expected in error(users)


def test_huge_top_level_max_age_days_is_refused():
    # dual_account_swap used to fail with "Python int too large to convert to C int"
    with pytest.raises(ValidationError, match="max_age_days must be a whole number from 0 to 36500"):
        policy_from({"max_age_days": 10 ** 30})
    with pytest.raises(ValidationError, match="max_age_days must be 0 or more"):
        policy_from({"max_age_days": -1})
    assert policy_from({"max_age_days": MAX_AGE_DAYS}).max_age_days == MAX_AGE_DAYS


def test_good_per_user_options_are_normalised():
    bob_spec = {"name": tagged("bob"), "max_age_days": tagged("7"), "force": "yes", "retire": "deactivate",
                "store_name": "x/bob"}
    targets = targets_from([tagged("alice"), bob_spec], {"max_age_days": 90}, ACCOUNT)
    alice, bob = targets
    assert (alice.user_name, alice.store_name, alice.policy.max_age_days) == ("alice", f"{ACCOUNT}/alice", 90)
    assert (bob.store_name, bob.policy.max_age_days, bob.policy.force, bob.policy.retire) == ("x/bob", 7, True, "deactivate")
    assert type(bob.user_name).__name__ == "str"  # plain, no data tags


def test_the_values_under_test_are_tagged_like_in_a_play():
    if Origin is not None:
        assert type(tagged(123)).__name__ == "_AnsibleTaggedInt"
        assert type(tagged("x")).__name__ == "_AnsibleTaggedStr"


from ansible_collections.keyturn.aws.plugins.module_utils._rotation import Policy
from ansible_collections.keyturn.aws.plugins.module_utils._targets import ROTATION_SPEC


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
