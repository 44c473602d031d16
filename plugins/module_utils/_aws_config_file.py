# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Minimal, comment-preserving editing of an AWS shared config file profile."""

from __future__ import annotations

import os
import re
import tempfile
import typing as t

try:
    import botocore.configloader
    import botocore.exceptions

    HAS_BOTOCORE = True
except ImportError:  # pragma: no cover - reported by the connection core
    HAS_BOTOCORE = False

from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError
from ansible_collections.keyturn.aws.plugins.module_utils._files import write_atomic as _write_atomic

# What the AWS CLI and botocore read back as one profile name: no whitespace (botocore splits
# "[profile a b]" into words and drops the section), no brackets or newlines (they would end the
# section and start another: an injected credential_process), no quotes, '=', ';' or '#'.
PROFILE_NAME = re.compile(r"^[A-Za-z0-9_.@+:/-]{1,128}$")
PROFILE_NAME_ACCEPTED = "1-128 characters: letters, digits and _ . - + @ : /"

_SECTION = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*=")


def check_profile_name(profile: t.Any, option: str = "config_profile") -> str:
    """``profile`` as a plain str when it is a name the AWS CLI and botocore read back as itself."""
    text = str(profile)
    if not PROFILE_NAME.match(text):
        raise ValidationError(
            f"{option} {text!r} is not a valid AWS profile name ({PROFILE_NAME_ACCEPTED}; no spaces, brackets, "
            "quotes, '=', '#', ';' or line breaks)"
        )
    return text


def section_name(profile: str) -> str:
    return "default" if profile == "default" else f"profile {profile}"


def set_profile(text: str, profile: str, values: t.Mapping[str, str]) -> str:
    """Return ``text`` with ``values`` set in the profile's section (created at
    the end when missing); other sections, keys and comments are kept."""
    lines = text.splitlines()
    wanted = section_name(profile)
    start = end = None
    for index, line in enumerate(lines):
        match = _SECTION.match(line)
        if match:
            if start is not None and end is None:
                end = index
            if match.group(1) == wanted:
                start = index
    if start is None:
        if lines and lines[-1].strip():
            lines.append("")
        lines.append(f"[{wanted}]")
        lines.extend(f"{key} = {value}" for key, value in values.items())
        return "\n".join(lines) + "\n"
    end = len(lines) if end is None else end
    body = lines[start + 1:end]
    remaining = dict(values)
    for index, line in enumerate(body):
        match = _KEY.match(line)
        if match and match.group(1) in remaining:
            key = match.group(1)
            body[index] = f"{key} = {remaining.pop(key)}"
    insert_at = len(body)
    while insert_at > 0 and not body[insert_at - 1].strip():
        insert_at -= 1
    body[insert_at:insert_at] = [f"{key} = {value}" for key, value in remaining.items()]
    new_lines = lines[:start + 1] + body + lines[end:]
    return "\n".join(new_lines) + "\n"


def read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


def check_parses(path: str, profile: str, values: t.Mapping[str, str], shown: t.Optional[str] = None) -> None:
    """Raise ValidationError unless botocore's own config parser reads ``path`` and finds
    ``values`` in ``profile`` (the candidate file is checked before it replaces the real one)."""
    if not HAS_BOTOCORE:  # pragma: no cover - the connection core reports it first
        raise ValidationError("botocore is required on the controller to check an AWS config file")
    shown = shown or path
    try:
        parsed = botocore.configloader.raw_config_parse(path)
    except botocore.exceptions.ConfigParseError as exc:
        cause = str(exc.kwargs.get("error") or exc).splitlines()[0]
        raise ValidationError(
            f"refusing to write config_file {shown}: botocore could not parse the result ({cause}); "
            "fix the file first (every section once, [default] or [profile NAME])"
        ) from None
    found = botocore.configloader.build_profile_map(parsed)["profiles"].get(profile) or {}
    wrong = sorted(key for key, value in values.items() if found.get(key) != value)
    if wrong:
        raise ValidationError(
            f"refusing to write config_file {shown}: botocore would not read {', '.join(wrong)} of profile {profile} "
            "from the result; check the file for a duplicate or malformed section"
        )


def write_atomic(path: str, text: str, mode: int = 0o600,
                 check: t.Optional[t.Callable[[str], None]] = None) -> None:
    """Replace ``path`` with ``text`` atomically; ``check(temp_path)`` may refuse the candidate
    before it replaces the file.  The folder must exist (see _paths.require_parent)."""
    _write_atomic(path, text, mode, prefix=".keyturn-", suffix="", check=check)


def check_text_parses(text: str, profile: str, values: t.Mapping[str, str], shown: str) -> None:
    """:func:`check_parses` for text not written anywhere yet (check mode): a private temp file."""
    fd, tmp = tempfile.mkstemp(prefix=".keyturn-check-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        check_parses(tmp, profile, values, shown=shown)
    finally:
        os.unlink(tmp)
