# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one check of a file path that keyturn.aws writes: the file store, an AWS config
file (region_config), the TOTP ledger (totp lookup, virtual_mfa).

* :func:`write_target` follows symbolic links, so a write goes through to the
  link's target (an atomic ``os.replace`` on the link itself would turn it into a
  regular file);
* :func:`require_parent` refuses a path whose folder does not exist, with the same
  message everywhere: folders are never created silently (a typo would otherwise
  put secrets or settings where nobody looks for them).
"""

from __future__ import annotations

import os
import typing as t


class PathError(Exception):
    """A path that keyturn.aws refuses to write; the message says what to do."""


def write_target(path: str) -> str:
    """The absolute path a write of ``path`` lands on: ``~`` expanded, symbolic links followed
    (also a dangling one: the write creates its target)."""
    return os.path.realpath(os.path.abspath(os.path.expanduser(path)))


def missing_parent_message(path: str, what: str) -> t.Optional[str]:
    """The error message when the folder of ``path`` (already resolved) does not exist, else None."""
    directory = os.path.dirname(path)
    if os.path.isdir(directory):
        return None
    return "the directory of the %s %s does not exist: create %s first" % (what, path, directory)


def require_parent(path: str, what: str, error: t.Callable[[str], Exception] = PathError) -> str:
    """Raise ``error(message)`` when the folder of ``path`` does not exist; return the folder."""
    message = missing_parent_message(path, what)
    if message is not None:
        raise error(message)
    return os.path.dirname(path)
