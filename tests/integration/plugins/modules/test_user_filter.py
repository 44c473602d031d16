# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""user_filter on access_key_rotate, access_key_verify and access_key_info (real ansible-playbook, awsmock)."""

from __future__ import annotations

import pytest

from estate import Estate, by_user

SELECT = """
    - name: rotate
      keyturn.aws.access_key_rotate:
        users: "{{ users | default(omit) }}"
        user_filter: "{{ user_filter }}"
        store: "{{ store }}"
        verify_successes: 1
      register: rotation
      ignore_errors: true
    - name: verify
      keyturn.aws.access_key_verify:
        users: "{{ users | default(omit) }}"
        user_filter: "{{ user_filter }}"
        store: "{{ store }}"
        allow_missing_store: true  # a bad filter fails the rotation before it creates the store
      register: verification
      ignore_errors: true
    - name: info
      keyturn.aws.access_key_info:
        user_filter: "{{ user_filter }}"
        store: "{{ store }}"
        allow_missing_store: true
      register: discovery
      ignore_errors: true
"""


@pytest.fixture
def estate(runner, awsmock, account_id):
    estate = Estate(runner, awsmock, account_id)
    for name, path, tags, groups in [
        ("app-a", "/apps/", {"keyturn": "rotate", "team": "pay"}, []),
        ("app-b", "/apps/", {"keyturn": "rotate", "team": "web"}, ["deployers"]),
        ("app-exempt", "/apps/", {"keyturn": "rotate"}, ["exempt"]),
        ("app-untagged", "/apps/", {}, []),
        ("human", "/people/", {"keyturn": "rotate"}, []),
        ("app-frozen", "/apps/", {"keyturn": "rotate", "frozen": "yes"}, []),
    ]:
        estate.iam.create_user(UserName=name, Path=path, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        for group in groups:
            try:
                estate.iam.create_group(GroupName=group)
            except estate.iam.exceptions.EntityAlreadyExistsException:
                pass
            estate.iam.add_user_to_group(GroupName=group, UserName=name)
    estate.iam.create_group(GroupName="deployers-empty")
    return estate


FILTER = {"path_prefix": "/apps/", "tags": {"keyturn": "rot*"}, "exclude_groups": ["exempt"], "exclude_tags": {"frozen": "*"}}


def test_filter_selects_in_check_mode_then_rotates_only_the_selection(estate):
    result = estate.play(SELECT, check=True, user_filter=FILTER)
    assert result.rc == 0, result.stdout[-3000:]
    plan = result.task("rotate")
    assert plan["selection"]["users"] == ["app-a", "app-b"]
    assert plan["selection"]["excluded"] == {"app-exempt": "member of excluded group exempt",
                                             "app-frozen": "has excluded tag frozen=yes"}
    assert sorted(u["user_name"] for u in plan["users"]) == ["app-a", "app-b"]
    assert all(not estate.keys(u) for u in ("app-a", "app-b")), "check mode changed IAM"

    result = estate.play(SELECT, user_filter=FILTER)
    assert result.rc == 0, result.stdout[-3000:]
    assert {u: r["action"] for u, r in by_user(result).items()} == {"app-a": "rotated", "app-b": "rotated"}
    assert "users" in result.task("verify"), result.task("verify")
    assert {u: r["status"] for u, r in by_user(result, "verify").items()} == {"app-a": "valid", "app-b": "valid"}
    assert sorted(by_user(result, "info")) == ["app-a", "app-b"]
    for untouched in ("app-exempt", "app-untagged", "human", "app-frozen"):
        assert estate.keys(untouched) == {}, untouched


def test_groups_and_union_with_listed_users(estate):
    result = estate.play(SELECT, check=True, user_filter={"groups": ["deployers", "deployers-empty"]},
                         users=["human", {"name": "app-exempt", "max_age_days": 30}])
    assert result.rc == 0, result.stdout[-3000:]
    selection = result.task("rotate")["selection"]
    assert selection["matched"] == ["app-b"]
    assert selection["users"] == ["human", "app-exempt", "app-b"]
    assert sorted(by_user(result)) == ["app-b", "app-exempt", "human"]


def test_filter_matching_nobody_does_nothing(estate):
    result = estate.play(SELECT, user_filter={"tags": {"keyturn": "never"}})
    assert result.rc == 0, result.stdout[-3000:]
    rotation = result.task("rotate")
    assert rotation["users"] == [] and not rotation["changed"] and "matches user_filter" in rotation["msg"]


@pytest.mark.parametrize("user_filter, expected", [
    ({"tag": {"keyturn": "rotate"}}, "user_filter.tag"),
    ({"groups": ["no-such-group"]}, "IAM group no-such-group does not exist"),
    ({"path_prefix": "apps/"}, "user_filter.path_prefix must be an IAM path starting with '/'"),
])
def test_bad_user_filter_fails_clearly_and_changes_nothing(estate, user_filter, expected):
    result = estate.play(SELECT, user_filter=user_filter)
    for task in ("rotate", "verify", "info"):
        outcome = result.task(task)
        assert outcome.get("failed"), outcome
        assert expected in outcome["msg"], outcome["msg"]
        assert "Traceback" not in outcome["msg"]
    assert all(estate.keys(u) == {} for u in ("app-a", "app-b", "human"))


def test_neither_users_nor_filter(estate):
    result = estate.play("""
    - name: rotate
      keyturn.aws.access_key_rotate:
        store: "{{ store }}"
      register: rotation
      ignore_errors: true
""")
    assert "give users (a non-empty list), user_filter (a dict), or both" in result.task("rotate")["msg"]
