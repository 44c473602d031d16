# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the run report's tests (data in report_steps.py)."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.keyturn.aws.plugins.plugin_utils import _report
from report_steps import NOW, rotation_steps


@pytest.fixture
def report() -> t.Dict[str, t.Any]:
    return _report.build_report(rotation_steps(), kind="rotation", name="nightly", generated_at=NOW)
