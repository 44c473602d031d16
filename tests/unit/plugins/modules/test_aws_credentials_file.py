# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""aws_credentials_file: the engine (INI and env editing, validation, masking) and the module itself (writes,
idempotence, check mode, diff, mode/backup, refusals) run in-process on temporary files."""

from __future__ import annotations

import configparser
import json
import os
import stat

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.keyturn.aws.plugins.module_utils._aws_config_file import set_profile
from ansible_collections.keyturn.aws.plugins.module_utils._credentials_file import (
    CredentialsFileError,
    mask,
    plan,
    read_env,
    validate,
)
from ansible_collections.keyturn.aws.plugins.modules import aws_credentials_file

OLD_ID = "AKIAOLDOLDOLDOLDOLD1"
NEW_ID = "AKIANEWNEWNEWNEWNEW1"
OLD_SECRET = "old/Secret+Value=0000000000000000000000"
NEW_SECRET = "new/Secret+Value=1111111111111111111111"
OTHER_SECRET = "other/Secret+Value=2222222222222222222222"
FILE = f"""# managed by hand
[other]
aws_access_key_id = AKIAOTHEROTHEROTHER1
aws_secret_access_key = {OTHER_SECRET}

[app]
# the app's key
aws_access_key_id = {OLD_ID}
aws_secret_access_key = {OLD_SECRET}
aws_session_token = oldtoken
region = eu-west-1

[last]
aws_access_key_id = AKIALASTLASTLASTLAS1
aws_secret_access_key = lastsecret
"""


def params(**overrides):
    base = {"profile": "app", "format": "ini", "state": "present", "access_key_id": NEW_ID,
            "secret_access_key": NEW_SECRET, "session_token": None}
    base.update(overrides)
    return base


def parsed(text):
    parser = configparser.RawConfigParser()  # what botocore uses to read the file
    parser.read_string(text)
    return parser


# -- engine -------------------------------------------------------------------------------------------------------
def test_ini_sets_profile_keeps_everything_else_and_drops_stale_token():
    change = plan(FILE, params(), validate(params()))
    assert change.changed and change.previous_key_id == OLD_ID and change.key_id == NEW_ID and change.secret_changed
    ini = parsed(change.text)
    assert ini["app"]["aws_access_key_id"] == NEW_ID and ini["app"]["aws_secret_access_key"] == NEW_SECRET
    assert "aws_session_token" not in ini["app"] and ini["app"]["region"] == "eu-west-1"
    assert ini["other"]["aws_secret_access_key"] == OTHER_SECRET and ini["last"]["aws_access_key_id"] == "AKIALASTLASTLASTLAS1"
    assert ini.sections() == ["other", "app", "last"]
    assert change.text.startswith("# managed by hand\n") and "# the app's key\n" in change.text


def test_ini_same_credential_is_unchanged_and_not_rewritten():
    same = params(access_key_id=OLD_ID, secret_access_key=OLD_SECRET, session_token="oldtoken")
    change = plan(FILE, same, validate(same))
    assert not change.changed and change.text == FILE and not change.secret_changed


def test_ini_same_key_id_new_secret_is_a_change():
    change = plan(FILE, params(access_key_id=OLD_ID), validate(params(access_key_id=OLD_ID)))
    assert change.changed and change.secret_changed and change.key_id == change.previous_key_id == OLD_ID


def test_ini_new_profile_appended_and_new_file():
    change = plan(FILE, params(profile="fresh"), validate(params(profile="fresh")))
    assert parsed(change.text).sections() == ["other", "app", "last", "fresh"] and change.previous_key_id is None
    empty = plan("", params(profile="default"), validate(params(profile="default")))
    assert parsed(empty.text)["default"]["aws_access_key_id"] == NEW_ID and not empty.found


def test_ini_session_token_written_when_given():
    with_token = params(session_token="FwoGZXIvYXdzEBYaD+token/value==")
    ini = parsed(plan(FILE, with_token, validate(with_token)).text)
    assert ini["app"]["aws_session_token"] == "FwoGZXIvYXdzEBYaD+token/value=="


def test_ini_absent_removes_only_that_profile():
    gone = params(state="absent")
    change = plan(FILE, gone, validate(gone))
    ini = parsed(change.text)
    assert change.changed and change.previous_key_id == OLD_ID and change.key_id is None
    assert ini.sections() == ["other", "last"] and "# managed by hand" in change.text
    again = plan(change.text, gone, validate(gone))
    assert not again.changed


def test_ini_duplicate_profile_refused():
    with pytest.raises(CredentialsFileError, match=r"appears 2 times .*lines 6, 17"):
        plan(FILE + "\n[app]\naws_access_key_id = X\n", params(), validate(params()))


def test_env_file_kept_and_updated_in_place():
    text = "# unit env\nLOG_LEVEL=debug\nexport AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=\"%s\"\nAWS_SESSION_TOKEN=t\nTZ=UTC\n" % (
        OLD_ID, OLD_SECRET)
    env_params = params(format="env", profile="default")
    change = plan(text, env_params, validate(env_params))
    assert change.previous_key_id == OLD_ID and change.changed
    assert change.text == f"# unit env\nLOG_LEVEL=debug\nexport AWS_ACCESS_KEY_ID={NEW_ID}\nAWS_SECRET_ACCESS_KEY={NEW_SECRET}\nTZ=UTC\n"
    assert read_env(change.text) == {"LOG_LEVEL": "debug", "AWS_ACCESS_KEY_ID": NEW_ID, "AWS_SECRET_ACCESS_KEY": NEW_SECRET, "TZ": "UTC"}
    same = params(format="env", profile="default", access_key_id=OLD_ID, secret_access_key=OLD_SECRET, session_token="t")
    assert not plan(text, same, validate(same)).changed  # quoted value read as the same secret
    absent = params(format="env", profile="default", state="absent")
    assert plan(text, absent, validate(absent)).text == "# unit env\nLOG_LEVEL=debug\nTZ=UTC\n"


@pytest.mark.parametrize("profile, fragment", [
    ("app\n[evil", "a newline"), ("app]\n[evil", "']'"), ("a]b", "']'"), ("[x", "'['"), ("", "is empty"), ("two words", "a space"),
    ("semi;colon", "';'"), ("profile app", "a space"),
])
def test_bad_profile_names_refused(profile, fragment):
    with pytest.raises(CredentialsFileError, match=r"profile .*" + __import__("re").escape(fragment)):
        validate(params(profile=profile))


@pytest.mark.parametrize("field, value, fragment", [
    ("secret_access_key", NEW_SECRET + "\n[default]\naws_access_key_id=AKIAEVIL", "a newline"),
    ("secret_access_key", "abc def", "a space"),
    ("secret_access_key", "abc#def", "'#'"),
    ("secret_access_key", "abc$(id)", "'$'"),
    ("session_token", "tok\"en", "'\"'"),
    ("session_token", "tok\\en", "'\\\\\\\\'"),
])
def test_injecting_secret_values_refused_without_showing_them(field, value, fragment):
    with pytest.raises(CredentialsFileError) as caught:
        validate(params(**{field: value}))
    assert field in str(caught.value) and value not in str(caught.value)
    assert "not shown" in str(caught.value)


@pytest.mark.parametrize("value", ["AKIA\nX" + "A" * 20, "short", "AKIA-WITH-DASHES-0001", "A" * 129])
def test_bad_key_ids_refused(value):
    with pytest.raises(CredentialsFileError, match="access_key_id .*16 to 128 letters"):
        validate(params(access_key_id=value))


def test_present_needs_both_halves_and_env_has_no_profiles():
    with pytest.raises(CredentialsFileError, match="needs secret_access_key"):
        validate(params(secret_access_key=None))
    with pytest.raises(CredentialsFileError, match="no meaning with format env"):
        validate(params(format="env", profile="app"))


def test_mask_hides_every_secret_and_marks_the_new_one():
    after = plan(FILE, params(), validate(params())).text
    masked = mask(after, [NEW_SECRET])
    for secret in (NEW_SECRET, OTHER_SECRET, "lastsecret"):
        assert secret not in masked
    assert "aws_secret_access_key = ******** (changed)" in masked and masked.count("(changed)") == 1
    assert NEW_ID in masked and "region = eu-west-1" in masked
    assert "oldtoken" not in mask(FILE) and OLD_SECRET not in mask(FILE)


def test_config_file_profiles_unchanged_by_the_shared_helpers():
    text = "[default]\nregion = us-east-1\n\n[profile china]\nregion = cn-north-1\n"
    out = set_profile(text, "china", {"region": "cn-northwest-1", "sts_regional_endpoints": "regional"})
    assert out == "[default]\nregion = us-east-1\n\n[profile china]\nregion = cn-northwest-1\nsts_regional_endpoints = regional\n"


# -- the module -------------------------------------------------------------------------------------------------
def run_module(capsys, check=False, diff=False, **args):
    args = dict(args)
    if check:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    with patch_module_args(args), pytest.raises(SystemExit) as exited:
        aws_credentials_file.main()
    out = json.loads(capsys.readouterr().out)
    out["rc"] = exited.value.code
    return out


def module_args(path, **overrides):
    args = {"path": str(path), "profile": "app", "access_key_id": NEW_ID, "secret_access_key": NEW_SECRET}
    args.update(overrides)
    return args


def test_module_writes_atomically_with_mode_and_is_idempotent(tmp_path, capsys):
    path = tmp_path / "credentials"
    path.write_text(FILE)
    os.chmod(path, 0o644)
    first = run_module(capsys, **module_args(path, backup=True))
    assert first["rc"] == 0 and first["changed"] and first["previous_access_key_id"] == OLD_ID
    assert first["access_key_id"] == NEW_ID and first["key_changed"] and NEW_SECRET not in json.dumps(first)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert parsed(path.read_text())["app"]["aws_secret_access_key"] == NEW_SECRET
    assert open(first["backup_file"]).read() == FILE
    leftovers = [n for n in os.listdir(tmp_path) if n.startswith(".keyturn-")]
    assert leftovers == []
    inode = os.stat(path).st_ino
    second = run_module(capsys, **module_args(path))
    assert second["rc"] == 0 and not second["changed"] and os.stat(path).st_ino == inode
    assert "already holds key " + NEW_ID in second["msg"]


def test_module_check_mode_and_diff_change_nothing_and_mask(tmp_path, capsys):
    path = tmp_path / "credentials"
    path.write_text(FILE)
    result = run_module(capsys, check=True, diff=True, **module_args(path))
    assert result["changed"] and path.read_text() == FILE and "would write key " + NEW_ID in result["msg"]
    diff = result["diff"]
    assert OLD_ID in diff["before"] and NEW_ID in diff["after"]
    for secret in (NEW_SECRET, OLD_SECRET, OTHER_SECRET, "oldtoken"):
        assert secret not in json.dumps(result)
    assert "******** (changed)" in diff["after"]
    missing = tmp_path / "sub" / "credentials"
    planned = run_module(capsys, check=True, **module_args(missing))
    assert planned["changed"] and not (tmp_path / "sub").exists()


def test_module_creates_private_directory_and_env_file(tmp_path, capsys):
    path = tmp_path / "new" / "app.env"
    result = run_module(capsys, **module_args(path, format="env", profile="default", mode="0640"))
    assert result["changed"] and result["profile"] is None
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700 and stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert path.read_text() == f"AWS_ACCESS_KEY_ID={NEW_ID}\nAWS_SECRET_ACCESS_KEY={NEW_SECRET}\n"


def test_module_follows_symlink(tmp_path, capsys):
    real = tmp_path / "real-credentials"
    real.write_text(FILE)
    link = tmp_path / "credentials"
    link.symlink_to(real)
    result = run_module(capsys, **module_args(link))
    assert result["changed"] and os.path.islink(link) and result["path"] == str(real)
    assert parsed(real.read_text())["app"]["aws_access_key_id"] == NEW_ID


def test_module_refuses_bad_input_and_changes_nothing(tmp_path, capsys):
    path = tmp_path / "credentials"
    path.write_text(FILE)
    bad = run_module(capsys, **module_args(path, profile="app\n[default"))
    assert bad["rc"] == 1 and bad["failed"] and "a newline" in bad["msg"] and path.read_text() == FILE
    evil = NEW_SECRET + "\naws_access_key_id=AKIAEVILEVILEVILEVI1"
    bad = run_module(capsys, **module_args(path, secret_access_key=evil))
    assert bad["failed"] and "a newline" in bad["msg"] and evil not in json.dumps(bad) and path.read_text() == FILE
    bad = run_module(capsys, **module_args(path, mode="rwx-all"))
    assert bad["failed"] and "neither an octal mode" in bad["msg"]
    bad = run_module(capsys, **module_args(path, owner="no-such-user-keyturn"))
    assert bad["failed"] and "owner no-such-user-keyturn is not a user" in bad["msg"] and path.read_text() == FILE
    bad = run_module(capsys, **module_args(tmp_path))
    assert bad["failed"] and "is a directory" in bad["msg"]


def test_module_unwritable_directory_fails_cleanly(tmp_path, capsys):
    if os.geteuid() == 0:
        locked = "/proc/keyturn-no-such-dir/credentials"  # root can write anywhere else
    else:
        directory = tmp_path / "locked"
        directory.mkdir()
        os.chmod(directory, 0o500)
        locked = str(directory / "credentials")
    result = run_module(capsys, **module_args(locked))
    assert result["failed"] and locked.rsplit("/", 1)[0] in result["msg"] and NEW_SECRET not in json.dumps(result)


def test_module_absent(tmp_path, capsys):
    path = tmp_path / "credentials"
    path.write_text(FILE)
    result = run_module(capsys, path=str(path), profile="app", state="absent")
    assert result["changed"] and result["access_key_id"] is None and result["previous_access_key_id"] == OLD_ID
    assert parsed(path.read_text()).sections() == ["other", "last"]
    again = run_module(capsys, path=str(path), profile="app", state="absent")
    assert not again["changed"] and "holds no credential" in again["msg"]
    nothing = run_module(capsys, path=str(tmp_path / "none"), profile="app", state="absent")
    assert not nothing["changed"] and not (tmp_path / "none").exists()


def test_module_mode_forms(tmp_path, capsys):
    path = tmp_path / "credentials"
    run_module(capsys, **module_args(path, mode=0o640))  # an unquoted YAML 0640 arrives as this int
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    changed = run_module(capsys, **module_args(path, mode="u=rw,g=,o="))
    assert changed["changed"] and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    same = run_module(capsys, **module_args(path, mode="0600"))
    assert not same["changed"]
