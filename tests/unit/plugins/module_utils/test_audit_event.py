# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.keyturn.aws.plugins.module_utils._audit_event import run
from ansible_collections.keyturn.aws.plugins.module_utils._context import RunContext
from ansible_collections.keyturn.aws.plugins.module_utils._errors import ValidationError


def ctx(check_mode=False):
    return RunContext(check_mode=check_mode, actor="tester", job_id="42")


def test_event_appended_with_actor_job_and_fields(tmp_path):
    log = str(tmp_path / "audit.jsonl")
    fields = {"host": "app1", "record": "111111111111/app", "access_key_id": "AKIANEWNEWNEWNEWNEW1", "changed": True,
              "restarted": ["api", "worker"]}
    out = run({"audit_log": log, "event": "access_key_delivered", "fields": fields}, ctx())
    run({"audit_log": log, "event": "access_key_delivered", "fields": {"host": "app2"}}, ctx())
    assert out["written"] and not out["changed"]
    lines = [json.loads(line) for line in open(log, encoding="utf-8")]
    assert len(lines) == 2 and lines[0]["actor"] == "tester" and lines[0]["job_id"] == "42"
    assert {k: lines[0][k] for k in fields} == fields and lines[1]["host"] == "app2"
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600


def test_check_mode_writes_nothing(tmp_path):
    log = tmp_path / "audit.jsonl"
    out = run({"audit_log": str(log), "event": "access_key_delivered", "fields": {"host": "a"}}, ctx(check_mode=True))
    assert not out["written"] and not log.exists()


@pytest.mark.parametrize("event, fields, message", [
    ("Bad Event", {}, "event 'Bad Event' must be"),
    ("ok_event", {"secret_access_key": "x"}, "looks like a secret"),
    ("ok_event", {"session_token": "x"}, "looks like a secret"),
    ("ok_event", {"Bad-Name": 1}, "audit field name 'Bad-Name'"),
    ("ok_event", {"actor": "someone"}, "not one of ts, event, actor, job_id"),
    ("ok_event", {"nested": {"a": 1}}, "audit field nested must be a string, number, boolean or a list of those, not a mapping"),
])
def test_bad_events_refused_and_nothing_written(tmp_path, event, fields, message):
    log = tmp_path / "audit.jsonl"
    with pytest.raises(ValidationError, match=message.replace("(", r"\(")):
        run({"audit_log": str(log), "event": event, "fields": fields}, ctx())
    assert not log.exists()


def test_missing_directory_is_a_clean_error(tmp_path):
    with pytest.raises(ValidationError, match="audit_log directory .* does not exist"):
        run({"audit_log": str(tmp_path / "nope" / "audit.jsonl"), "event": "e", "fields": {}}, ctx())
