# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""region_config's config file writing (issue 18.1-2): profile names, botocore-parsable result,
symbolic links, missing folders.  No AWS call (validate: false)."""

from __future__ import annotations

import os

import botocore.configloader
import pytest

from ansible_collections.keyturn.aws.plugins.module_utils import _region_config
from ansible_collections.keyturn.aws.plugins.module_utils._aws_config_file import check_profile_name
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError

INJECTION = "x]\ncredential_process = /bin/sh -c 'touch /tmp/pwned'\n[profile y"


def run(config_file, profile=None, check=False, region="us-east-1"):
    params = {"region": region, "partition": None, "validate": False, "account_id": None,
              "config_file": str(config_file), "config_profile": profile}
    return _region_config.run(params, RunContext(check_mode=check, diff=True))


def profiles(path):
    return botocore.configloader.build_profile_map(botocore.configloader.raw_config_parse(str(path)))["profiles"]


@pytest.mark.parametrize("name", [INJECTION, "a b", "x]", "[x", "a=b", "a;b", "a#b", "", "'q'", "a\nb", "é"])
def test_bad_profile_names_are_refused_and_nothing_is_written(tmp_path, name):
    config = tmp_path / "config"
    config.write_text("[default]\nregion = eu-west-1\n")
    with pytest.raises(ValidationError, match="is not a valid AWS profile name"):
        run(config, name)
    assert config.read_text() == "[default]\nregion = eu-west-1\n"
    assert sorted(os.listdir(tmp_path)) == ["config"]


@pytest.mark.parametrize("name", ["default", "keyturn-us-east-1", "prod.eu", "ops@acme", "a+b", "team/ci", "x:y", "A_1"])
def test_accepted_profile_names_read_back_as_themselves(tmp_path, name):
    assert check_profile_name(name) == name
    config = tmp_path / "config"
    run(config, name)
    assert profiles(config)[name]["region"] == "us-east-1"


def test_duplicate_section_is_never_written(tmp_path):
    # a file botocore cannot parse stays as it is: the candidate is parsed before it replaces the file
    config = tmp_path / "config"
    text = "[profile keyturn-us-east-1]\nregion = eu-west-1\n\n[profile keyturn-us-east-1]\noutput = json\n"
    config.write_text(text)
    with pytest.raises(ValidationError, match="botocore could not parse the result"):
        run(config)
    assert config.read_text() == text
    assert sorted(os.listdir(tmp_path)) == ["config"]
    with pytest.raises(ValidationError, match="botocore could not parse the result"):
        run(config, check=True)  # check mode reports the same failure


def test_symlink_is_written_through_to_its_target(tmp_path):
    (tmp_path / "dotfiles").mkdir()
    target = tmp_path / "dotfiles" / "aws-config"
    target.write_text("[default]\nregion = eu-west-1\n")
    link = tmp_path / "config"
    link.symlink_to(target)
    result = run(link, "cn", region="cn-north-1")
    assert result["changed"] is True
    assert os.path.islink(link) and os.readlink(link) == str(target)
    assert profiles(target)["cn"]["region"] == "cn-north-1"
    assert profiles(target)["default"]["region"] == "eu-west-1"
    assert run(link, "cn", region="cn-north-1")["changed"] is False


def test_missing_folder_is_refused_with_the_file_store_message(tmp_path):
    config = tmp_path / "no-such-dir" / "config"
    with pytest.raises(ValidationError) as info:
        run(config)
    assert str(info.value) == (f"the directory of the config_file {config} does not exist: "
                               f"create {tmp_path / 'no-such-dir'} first")
    assert not os.path.exists(tmp_path / "no-such-dir")


def test_check_mode_writes_nothing(tmp_path):
    config = tmp_path / "config"
    result = run(config, "new", check=True)
    assert result["changed"] is True and "[profile new]" in result["diff"]["after"]
    assert os.listdir(tmp_path) == []


def test_config_profile_without_config_file_is_an_error():
    params = {"region": "us-east-1", "validate": False, "config_file": None, "config_profile": "x"}
    with pytest.raises(ValidationError, match="config_profile needs config_file"):
        _region_config.run(params, RunContext())
