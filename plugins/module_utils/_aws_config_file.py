# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Minimal, comment-preserving editing of AWS shared config and credentials files (INI sections).

Pure Python with no AWS SDK import: also used by modules that run on managed hosts."""

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


def section_spans(lines: t.Sequence[str], section: str) -> t.List[t.Tuple[int, int]]:
    """(header index, end index exclusive) of every section called ``section``."""
    spans: t.List[t.Tuple[int, int]] = []
    start = None
    for index, line in enumerate(lines):
        match = _SECTION.match(line)
        if match:
            if start is not None:
                spans.append((start, index))
                start = None
            if match.group(1) == section:
                start = index
    if start is not None:
        spans.append((start, len(lines)))
    return spans


def read_section(text: str, section: str) -> t.Optional[t.Dict[str, str]]:
    """The keys of the first section called ``section`` (None when there is none)."""
    lines = text.splitlines()
    spans = section_spans(lines, section)
    if not spans:
        return None
    start, end = spans[0]
    values: t.Dict[str, str] = {}
    for line in lines[start + 1:end]:
        match = _KEY.match(line)
        if match:
            values.setdefault(match.group(1), line.split("=", 1)[1].strip())
    return values


def set_keys(lines: t.Sequence[str], values: t.Mapping[str, str], remove: t.Iterable[str],
             key_of: t.Callable[[str], t.Optional[str]],
             render: t.Callable[[t.Optional[str], str, str], str]) -> t.List[str]:
    """``lines`` (of one INI section or an env file) with ``values`` set and the keys in ``remove`` dropped.

    A key's first line is rewritten in place (``render(line, key, value)``), its repeats and the removed keys are
    dropped, other lines are kept in order, and keys not found are appended (``render(None, key, value)``) before the
    trailing blank lines. ``key_of`` gives the key of a line, None for a comment or anything else.
    """
    dropped = set(remove) - set(values)
    remaining = dict(values)
    kept: t.List[str] = []
    for line in lines:
        key = key_of(line)
        if key in dropped:
            continue
        if key is not None and key in remaining:
            line = render(line, key, remaining.pop(key))
        elif key in values:
            continue  # a repeated key: the first one holds the value
        kept.append(line)
    insert_at = len(kept)
    while insert_at > 0 and not kept[insert_at - 1].strip():
        insert_at -= 1
    kept[insert_at:insert_at] = [render(None, key, value) for key, value in remaining.items()]
    return kept


def set_section(text: str, section: str, values: t.Mapping[str, str], remove: t.Iterable[str] = ()) -> str:
    """Return ``text`` with ``values`` set in the first section called ``section`` (created at the end when
    missing) and the keys in ``remove`` dropped from it; other sections, keys, comments and order are kept."""
    lines = text.splitlines()
    spans = section_spans(lines, section)
    if not spans:
        if lines and lines[-1].strip():
            lines.append("")
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {value}" for key, value in values.items())
        return "\n".join(lines) + "\n"
    start, end = spans[0]

    def key_of(line: str) -> t.Optional[str]:
        match = _KEY.match(line)
        return match.group(1) if match else None

    body = set_keys(lines[start + 1:end], values, remove, key_of, lambda line, key, value: f"{key} = {value}")
    new_lines = lines[:start + 1] + body + lines[end:]
    return "\n".join(new_lines) + "\n"


def remove_section(text: str, section: str) -> str:
    """Return ``text`` without the sections called ``section`` (header through its last key; comments that follow
    its last key stay, as they usually introduce the next section)."""
    lines = text.splitlines()
    for start, end in reversed(section_spans(lines, section)):
        last = start
        for index in range(start + 1, end):
            if _KEY.match(lines[index]):
                last = index
        stop = last + 1
        if stop < len(lines) and not lines[stop].strip():
            stop += 1  # the blank line that separated it
        del lines[start:stop]
        if start > 0 and start == len(lines) and not lines[start - 1].strip():
            del lines[start - 1]
    return "\n".join(lines) + "\n" if lines else ""


def set_profile(text: str, profile: str, values: t.Mapping[str, str]) -> str:
    """Return ``text`` with ``values`` set in the config-file profile's section (created at the end when
    missing); other sections, keys and comments are kept."""
    return set_section(text, section_name(profile), values)


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
