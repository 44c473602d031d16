# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Minimal, comment-preserving editing of AWS shared config and credentials files (INI sections).

Pure Python with no AWS SDK import: also used by modules that run on managed hosts."""

from __future__ import annotations

import os
import re
import tempfile
import typing as t

_SECTION = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*=")


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
    dropped = set(remove) - set(values)
    body = []
    remaining = dict(values)
    for line in lines[start + 1:end]:
        match = _KEY.match(line)
        key = match.group(1) if match else None
        if key in dropped:
            continue
        if key in remaining:
            line = f"{key} = {remaining.pop(key)}"
        elif key in values:
            continue  # a repeated key: the first one holds the value
        body.append(line)
    insert_at = len(body)
    while insert_at > 0 and not body[insert_at - 1].strip():
        insert_at -= 1
    body[insert_at:insert_at] = [f"{key} = {value}" for key, value in remaining.items()]
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


def write_atomic(path: str, text: str, mode: int = 0o600) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".keyturn-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
