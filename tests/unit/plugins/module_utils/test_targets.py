# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rotation policy from options (_targets.py): defaults come from the one spec, and per-user options are checked
like the top-level ones (issue 18.4): the message names the option and what is accepted, never a Python type name."""

from __future__ import annotations

import pytest
from ansible.module_utils._internal._datatag import AnsibleTagHelper

from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._targets import (
    MAX_AGE_DAYS,
    UserSpec,
    add_selected,
    bind_targets,
    parse_selection,
    parse_users,
    policy_from,
)

try:
    from ansible._internal._datatag._tags import Origin
except ImportError:  # pragma: no cover - older ansible-core without data tagging
    Origin = None

ACCOUNT = "123456789012"


def targets_from(users, params, account_id):
    """Check ``users`` (no account needed), then bind them to the account, as the engines do."""
    return bind_targets(parse_users(users, params), account_id)


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


# -- the split: parse_users (no account, no AWS) then bind_targets (the account) -------------------------

def test_parse_users_needs_no_account():
    specs = parse_users(["alice", {"name": "bob", "store_name": "x/bob", "max_age_days": 7}], {"max_age_days": 90},
                        self_rotate=True)
    assert [(s.user_name, s.store_name, s.policy.max_age_days, s.policy.self_rotate) for s in specs] == [
        ("alice", None, 90, True), ("bob", "x/bob", 7, True)]
    assert all(isinstance(spec, UserSpec) for spec in specs)


@pytest.mark.parametrize("users, message", [
    ([], "users must be a non-empty list of IAM user names or dicts with a name key"),
    (None, "users must be a non-empty list of IAM user names or dicts with a name key"),
    ("alice", "users must be a non-empty list of IAM user names or dicts with a name key"),
    (["alice", "bob", "alice"], "user alice is listed twice in users; list each user once"),
    ([{"name": "a", "store_name": "s"}, {"name": "b", "store_name": "s"}], "store name s is used by two users"),
    ([{"name": "a", "colour": "red"}], "users[0] has unknown keys ['colour']; accepted: name, store_name, max_age_days, "
                                       "force, retire, unmanaged_keys"),
    ([{"max_age_days": 3}], "users[0] has no name"),
    (["bad name!"], "users[0] 'bad name!' is not a valid IAM user name (1-64 characters"),
])
def test_parse_users_refuses_bad_entries(users, message):
    with pytest.raises(ValidationError) as caught:
        parse_users(users, {})
    assert caught.value.msg.startswith(message)


def test_parse_users_checks_the_options_first():
    with pytest.raises(ValidationError, match="verify_successes must be between 1 and 10, got 0"):
        parse_users(["bad name!"], {"verify_successes": 0})


def test_the_first_bad_entry_wins_in_list_order():
    with pytest.raises(ValidationError, match="store name s is used by two users"):
        parse_users([{"name": "a", "store_name": "s"}, {"name": "b", "store_name": "s"}, 5], {})
    with pytest.raises(ValidationError, match=r"users\[1\] must be an IAM user name"):
        parse_users([{"name": "a", "store_name": "s"}, 5, {"name": "b", "store_name": "s"}], {})


def test_an_explicit_store_name_like_a_default_is_not_a_clash_before_the_account_is_known():
    # the former validation pass bound the users to account 000000000000 and refused this input
    users = ["alice", {"name": "bob", "store_name": "000000000000/alice"}]
    assert [t.store_name for t in bind_targets(parse_users(users, {}), ACCOUNT)] == [f"{ACCOUNT}/alice", "000000000000/alice"]


def test_bind_targets_fills_default_store_names_and_refuses_a_clash():
    specs = parse_users(["alice", {"name": "bob", "store_name": f"{ACCOUNT}/alice"}], {})
    with pytest.raises(ValidationError) as caught:
        bind_targets(specs, ACCOUNT)
    assert caught.value.msg == f"store name {ACCOUNT}/alice is used by two users"
    targets = bind_targets(specs, "210987654321")
    assert [(t.user_name, t.store_name) for t in targets] == [("alice", "210987654321/alice"), ("bob", f"{ACCOUNT}/alice")]
    assert targets[0].policy is specs[0].policy


def test_bind_targets_binds_the_same_specs_to_any_account():
    specs = parse_users(["alice"], {})
    assert bind_targets(specs, ACCOUNT)[0].store_name == f"{ACCOUNT}/alice"
    assert bind_targets(specs, "210987654321")[0].store_name == "210987654321/alice"


def test_parse_selection_without_users_still_checks_the_options():
    assert parse_selection({"users": None, "user_filter": {"tags": {"team": "x"}}}) == []
    assert parse_selection({"users": []}) == []
    with pytest.raises(ValidationError) as caught:
        parse_selection({"users": None, "max_age_days": -1})
    assert caught.value.msg == "max_age_days must be 0 or more (0 rotates every run), got -1"


def test_parse_selection_with_users_parses_them():
    specs = parse_selection({"users": ["alice", {"name": "bob", "force": True}]}, self_rotate=True)
    assert [(s.user_name, s.policy.force, s.policy.self_rotate) for s in specs] == [("alice", False, True), ("bob", True, True)]
    with pytest.raises(ValidationError, match="listed twice"):
        parse_selection({"users": ["a", "a"]})


def test_add_selected_appends_the_users_a_filter_chose():
    listed = parse_users([{"name": "alice", "store_name": "s/alice", "force": True}], {"max_age_days": 30})
    specs = add_selected(listed, [{"name": "alice", "store_name": "s/alice", "force": True}, "bob", "carol"],
                         {"max_age_days": 30})
    assert specs[0] is listed[0]
    assert [(s.user_name, s.store_name, s.policy.max_age_days, s.policy.force) for s in specs] == [
        ("alice", "s/alice", 30, True), ("bob", None, 30, False), ("carol", None, 30, False)]
    assert add_selected(listed, [listed[0]], {}) == listed
    assert add_selected([], ["bob"], {}, self_rotate=True)[0].policy.self_rotate is True
    assert add_selected([], [], {}) == []
