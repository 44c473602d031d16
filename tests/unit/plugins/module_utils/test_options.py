# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._options import connection_params

ENV = {"AWS_ACCESS_KEY_ID": "AKIAENVENVENVENVENV1", "AWS_SECRET_ACCESS_KEY": "env-secret"}


def test_env_keys_used_without_explicit_credentials():
    params = connection_params({"region": "us-east-1"}, ENV)
    assert params.access_key == "AKIAENVENVENVENVENV1" and params.secret_key == "env-secret"


def test_legacy_env_names():
    params = connection_params({}, {"EC2_ACCESS_KEY": "AKIALEGACYLEGACY0001", "AWS_SECRET_KEY": "s"})
    assert params.access_key == "AKIALEGACYLEGACY0001" and params.secret_key == "s"


def test_explicit_profile_wins_over_env_keys():
    params = connection_params({"profile": "china"}, ENV)
    assert params.profile == "china" and params.access_key is None and params.secret_key is None


def test_explicit_keys_win_over_env():
    params = connection_params({"access_key": "AKIATASKTASKTASKTAS1", "secret_key": "task"}, ENV)
    assert params.access_key == "AKIATASKTASKTASKTAS1" and params.secret_key == "task"


def test_half_explicit_keys_are_an_error():
    with pytest.raises(ValidationError, match="together"):
        connection_params({"access_key": "AKIATASKTASKTASKTAS1"}, {})


def test_repr_hides_secrets():
    params = connection_params({"access_key": "AKIATASKTASKTASKTAS1", "secret_key": "hush",
                                "assume_role": {"role_arn": "arn:aws:iam::123456789012:role/r", "external_id": "ext"}}, {})
    assert "hush" not in repr(params) and "ext" not in repr(params)


def test_assume_role_checks():
    with pytest.raises(ValidationError, match="unknown keys"):
        connection_params({"assume_role": {"role_arn": "arn:aws:iam::123456789012:role/r", "bogus": 1}}, {})
    with pytest.raises(ValidationError, match="duration_seconds"):
        connection_params({"assume_role": {"role_arn": "arn:aws:iam::123456789012:role/r", "duration_seconds": 60}}, {})


@pytest.mark.parametrize("empty", ["", "   "])
def test_empty_endpoint_url_is_an_error_not_the_aws_endpoint(empty):
    # issue 18.3: "" used to fall back silently to the real AWS endpoints
    with pytest.raises(ValidationError, match="endpoint_url is empty") as info:
        connection_params({"region": "us-east-1", "endpoint_url": empty}, {})
    assert "leave the option out" in str(info.value)


def test_unset_endpoint_url_uses_aws():
    assert connection_params({"region": "us-east-1", "endpoint_url": None}, {}).endpoint_url is None
