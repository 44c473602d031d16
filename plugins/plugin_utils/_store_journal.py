# -*- coding: utf-8 -*-
# Copyright: keyturn.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The file store's journal: ``<path>.journal``, the changes of a running task appended to the store.

While one task rotates many users (``batched_releases``), each group commit appends the records it changed
to the journal instead of re-encrypting and rewriting the whole store: one Ansible Vault envelope per commit
(its own fresh salt, like every vault encryption), the whole entry (all stages, and the lease while leased)
of each changed record, JSON::

    {"journal": 1, "generation": "<the store file's generation>", "records": {"<name>": {...} | null}}

An append is durable (fsync) before the change is reported done, as a rewrite was.  At the end of the task
the store file is written once with every change (a new ``generation``) and the journal is removed; any
later write does the same.  Readers merge the journal's entries of the store file's generation, in order;
the entries of another generation are the remains of a journal already folded into the store file (a crash
between the two steps) and are ignored.  A last entry that does not decrypt is an append cut short by a
crash: it was never reported done, so it is ignored, and the next append cuts it off.
"""

from __future__ import annotations

import json
import re
import typing as t

JOURNAL_SUFFIX = ".journal"
JOURNAL_FORMAT = 1
# An entry starts at a line that starts with "$" (its "$ANSIBLE_VAULT;" header; the hex lines of an envelope
# never hold a "$"): even the first byte of an append still being written is told apart from the entry before.
_ENTRY_START = re.compile(rb"(?m)^\$")


class JournalEntry(t.NamedTuple):
    start: int
    end: int
    blob: bytes


def split_entries(data: bytes) -> t.Tuple[t.List[JournalEntry], bool]:
    """The vault envelopes in ``data`` (journal bytes read from an entry boundary), and whether anything
    precedes the first one (damage: the journal is only ever appended whole envelopes)."""
    starts = [m.start() for m in _ENTRY_START.finditer(data)]
    junk = bool(data[:starts[0]].strip()) if starts else bool(data.strip())
    bounds = starts + [len(data)]
    return [JournalEntry(bounds[i], bounds[i + 1], data[bounds[i]:bounds[i + 1]]) for i in range(len(starts))], junk


def entry_text(generation: str, changes: t.Mapping[str, t.Optional[dict]]) -> str:
    """The plaintext of one journal entry."""
    return json.dumps({"journal": JOURNAL_FORMAT, "generation": generation, "records": dict(changes)}, sort_keys=True)


def parse_entry(text: str) -> t.Tuple[t.Optional[str], t.Dict[str, t.Any]]:
    """(generation, changed entries by name) of a decrypted entry; ValueError when it is not one."""
    doc = json.loads(text)
    if not isinstance(doc, dict) or doc.get("journal") != JOURNAL_FORMAT or not isinstance(doc.get("records"), dict):
        raise ValueError("not a keyturn journal entry")
    generation = doc.get("generation")
    return (generation if isinstance(generation, str) else None), doc["records"]
