# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine of ``aws_credentials_file``: one profile of an AWS shared credentials file, or the AWS_* lines of an
env file, edited in place (other profiles, variables, comments and order kept).

Pure Python with no AWS SDK import: the module runs on consumer hosts that have no boto3.  Nothing here ever puts
a secret into a message; the diff masks every secret value.
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._aws_config_file import (
    read_section,
    remove_section,
    section_spans,
    set_keys,
    set_section,
)

FIELDS = ("access_key_id", "secret_access_key", "session_token")
INI_KEYS = {"access_key_id": "aws_access_key_id", "secret_access_key": "aws_secret_access_key",
            "session_token": "aws_session_token"}
ENV_KEYS = {"access_key_id": "AWS_ACCESS_KEY_ID", "secret_access_key": "AWS_SECRET_ACCESS_KEY",
            "session_token": "AWS_SESSION_TOKEN"}
SECRET_FIELDS = ("secret_access_key", "session_token")
MASK = "********"

# IAM: AccessKeyId is [\w]+ of 16 to 128 characters.  Secrets and session tokens are base64-like; anything that a
# shell, systemd, docker or an INI parser would read differently (space, quote, '#', ';', '$', '\', brackets,
# control characters) is refused rather than escaped.
_KEY_ID = re.compile(r"^[A-Za-z0-9_]{16,128}$")
_SECRET = re.compile(r"^[A-Za-z0-9/+=._-]+$")
_PROFILE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@+:/-]{0,127}$")
_ENV_LINE = re.compile(r"^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")
_SECRET_NAME = re.compile(r"secret|token|password|passwd|credential|private", re.IGNORECASE)


class CredentialsFileError(Exception):
    """Bad input or an unusable file: the message is for the user and never holds a secret."""


class Desired(t.NamedTuple):
    access_key_id: t.Optional[str]
    secret_access_key: t.Optional[str]
    session_token: t.Optional[str]


class Plan(t.NamedTuple):
    text: str  # the file after the change
    changed: bool
    previous_key_id: t.Optional[str]
    key_id: t.Optional[str]
    secret_changed: bool
    found: bool  # the profile (or the env lines) existed


def describe_char(char: str) -> str:
    names = {"\n": "a newline", "\r": "a carriage return", "\t": "a tab", " ": "a space", "[": "'['", "]": "']'"}
    if char in names:
        return names[char]
    if ord(char) < 32 or ord(char) == 127:
        return f"a control character (code {ord(char)})"
    return repr(char)


def _first_bad(value: str, allowed: t.Pattern[str]) -> str:
    for char in value:
        if not allowed.match(char):
            return describe_char(char)
    return "a character that is not allowed"


def validate(params: t.Mapping[str, t.Any]) -> Desired:
    """Check the options; returns what the file must hold.  Errors never quote a secret."""
    fmt = params.get("format") or "ini"
    profile = params.get("profile")
    if fmt == "ini":
        if not isinstance(profile, str) or not _PROFILE.match(profile):
            where = "is empty" if not profile else f"contains {_first_bad(str(profile), re.compile(r'[A-Za-z0-9_.@+:/-]'))}"
            raise CredentialsFileError(
                f"profile {profile!r} {where}: a profile name must start with a letter, digit or '_' and hold only "
                "letters, digits and . _ - @ + : / (at most 128 characters), so it cannot break or inject into the "
                "credentials file")
        if profile.lower().startswith("profile "):
            raise CredentialsFileError("profile must be the bare name: the credentials file has no 'profile ' prefix")
    elif profile not in (None, "default"):
        raise CredentialsFileError(f"profile {profile!r} has no meaning with format env (an env file holds one set of "
                                   "AWS_* variables); leave profile unset or use one env file per credential")
    if params.get("state", "present") == "absent":
        return Desired(None, None, None)
    key_id = params.get("access_key_id")
    secret = params.get("secret_access_key")
    if not key_id or not secret:
        missing = [name for name, value in (("access_key_id", key_id), ("secret_access_key", secret)) if not value]
        raise CredentialsFileError(f"state present needs {' and '.join(missing)}")
    if not _KEY_ID.match(str(key_id)):
        raise CredentialsFileError(
            f"access_key_id {str(key_id)!r} is not an access key ID: 16 to 128 letters, digits or '_' expected"
            if "\n" not in str(key_id) and len(str(key_id)) < 200 else
            "access_key_id is not an access key ID: 16 to 128 letters, digits or '_' expected")
    token = params.get("session_token") or None
    for name, value in (("secret_access_key", secret), ("session_token", token)):
        if value is not None and not _SECRET.match(str(value)):
            raise CredentialsFileError(
                f"{name} contains {_first_bad(str(value), re.compile(r'[A-Za-z0-9/+=._-]'))}; only letters, digits and "
                "/ + = . _ - are accepted, so the value cannot break or inject into the file (the value is not shown)")
    return Desired(str(key_id), str(secret), None if token is None else str(token))


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def read_env(text: str) -> t.Dict[str, str]:
    values: t.Dict[str, str] = {}
    for line in text.splitlines():
        match = _ENV_LINE.match(line)
        if match and not line.lstrip().startswith("#"):
            values.setdefault(match.group(2), _unquote(match.group(3)))
    return values


def set_env(text: str, values: t.Mapping[str, str], remove: t.Iterable[str] = ()) -> str:
    """``values`` set (in place, first occurrence; new ones appended), ``remove`` and repeats dropped."""
    def name_of(line: str) -> t.Optional[str]:
        match = _ENV_LINE.match(line)
        return match.group(2) if match else None

    def render(line: t.Optional[str], name: str, value: str) -> str:
        match = _ENV_LINE.match(line) if line is not None else None
        return f"{match.group(1) if match else ''}{name}={value}"  # keeps an "export " of the line

    lines = set_keys(text.splitlines(), values, remove, name_of, render)
    return "\n".join(lines) + "\n" if lines else ""


def plan(text: str, params: t.Mapping[str, t.Any], desired: Desired) -> Plan:
    """What the file becomes.  ``changed`` is false when it already holds exactly the wanted values."""
    fmt = params.get("format") or "ini"
    keys = INI_KEYS if fmt == "ini" else ENV_KEYS
    if fmt == "ini":
        profile = str(params.get("profile") or "default")
        spans = section_spans(text.splitlines(), profile)
        if len(spans) > 1:
            lines = ", ".join(str(start + 1) for start, _end in spans)
            raise CredentialsFileError(f"profile {profile} appears {len(spans)} times in the file (lines {lines}); AWS "
                                       "SDKs refuse such a file: merge the sections by hand first")
        existing = read_section(text, profile)
        found = existing is not None
        existing = existing or {}
    else:
        env = read_env(text)
        existing = {name: value for name, value in env.items() if name in ENV_KEYS.values()}
        found = bool(existing)
    before = {field: existing.get(keys[field]) or None for field in FIELDS}
    if desired.access_key_id is None:  # absent
        if fmt == "ini":
            new_text = remove_section(text, str(params.get("profile") or "default")) if found else text
        else:
            new_text = set_env(text, {}, remove=ENV_KEYS.values()) if found else text
        return Plan(new_text, new_text != text, before["access_key_id"], None, False, found)
    wanted = {keys["access_key_id"]: desired.access_key_id, keys["secret_access_key"]: desired.secret_access_key}
    if desired.session_token:
        wanted[keys["session_token"]] = desired.session_token
    remove = [] if desired.session_token else [keys["session_token"]]  # a stale token would break the new key
    if fmt == "ini":
        new_text = set_section(text, str(params.get("profile") or "default"), wanted, remove)
    else:
        new_text = set_env(text, wanted, remove)
    same = before == {"access_key_id": desired.access_key_id, "secret_access_key": desired.secret_access_key,
                      "session_token": desired.session_token}
    if same:
        new_text = text  # never rewrite a file that already holds the credential (formatting kept as it is)
    secret_changed = (before["secret_access_key"], before["session_token"]) != (desired.secret_access_key,
                                                                                desired.session_token)
    return Plan(new_text, not same, before["access_key_id"], desired.access_key_id, secret_changed and not same, found)


def mask(text: str, new_secrets: t.Iterable[t.Optional[str]] = ()) -> str:
    """``text`` with the value of every secret-looking key replaced by a mask (for diffs); a value that is one of
    ``new_secrets`` is marked as changed, so a diff still shows that the secret was replaced."""
    fresh = {value for value in new_secrets if value}
    out = []
    for line in text.splitlines():
        match = _ENV_LINE.match(line)
        if match and not line.lstrip().startswith(("#", ";", "[")) and _SECRET_NAME.search(match.group(2)):
            sep = " = " if re.match(r"^\s*[A-Za-z0-9_.-]+\s+=", line) else "="
            label = f"{MASK} (changed)" if _unquote(match.group(3)) in fresh else MASK
            line = f"{match.group(1)}{match.group(2)}{sep}{label}"
        out.append(line)
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")
