# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Minimal, comment-preserving editing of an AWS shared config file profile."""

from __future__ import annotations

import os
import re
import typing as t

from ansible_collections.keyturn.aws.plugins.module_utils._files import write_atomic as _write_atomic

_SECTION = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.-]+)\s*=")


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


def write_atomic(path: str, text: str, mode: int = 0o600) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
    _write_atomic(path, text, mode, prefix=".keyturn-", suffix="")
