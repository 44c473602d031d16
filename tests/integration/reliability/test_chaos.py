# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Crash-anywhere chaos suite (see chaos.py): KEYTURN_CHAOS_TRIALS trials (6 in ``make test``,
100 in ``make chaos``), spread over the store types, each reproducible from KEYTURN_CHAOS_SEED."""

from __future__ import annotations

import pytest

from chaos import TRIALS, Chaos
from conftest import record_counts
from stores import STORE_TYPES
from tools.awsmock.client import AwsMock


@pytest.fixture(scope="module")
def chaos():
    """A server of its own (throttling is global to a server); the counts go out at the end."""
    with AwsMock() as server:
        suite = Chaos(server)
        yield suite
        record_counts(**suite.counts)


@pytest.mark.parametrize("index", range(TRIALS))
def test_killed_anywhere_then_recovered(runner, chaos, index):
    chaos.trial(runner, STORE_TYPES[index % len(STORE_TYPES)], index)
