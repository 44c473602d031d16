# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""access_key_info's path_prefix is an IAM path (issue 18.8): a prefix without its slashes
used to match no user at all, silently."""

from __future__ import annotations

import pytest

from ansible_collections.keyturn.aws.plugins.module_utils import _access_key_info
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError


@pytest.mark.parametrize("prefix", ["home/", "/home", "home", "", "/a b/", "/é/", "/" + "a" * 511 + "/"])
def test_bad_path_prefix(prefix):
    with pytest.raises(ValidationError, match="path_prefix must be an IAM path that starts and ends with '/'"):
        _access_key_info.check_path_prefix(prefix)


@pytest.mark.parametrize("prefix", ["/", "/division/", "/division_abc/subdivision_xyz/", "/" + "a" * 510 + "/"])
def test_good_path_prefix(prefix):
    assert _access_key_info.check_path_prefix(prefix) == prefix


def test_run_refuses_before_any_aws_call(monkeypatch):
    def no_task(*_args, **_kwargs):
        raise AssertionError("TaskEnv must not be built for bad input")

    monkeypatch.setattr(_access_key_info, "open_task", no_task)
    with pytest.raises(ValidationError, match="got 'home/'"):
        _access_key_info.run({"path_prefix": "home/", "max_age_days": 90}, RunContext())
