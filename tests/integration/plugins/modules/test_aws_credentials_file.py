# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""aws_credentials_file through real ansible-playbook runs (the module runs as a remote module on a host with
ansible_connection=local): write, idempotence, check mode and diff, bad input, and no secret in any output, also
at -vvv with the default callback.  Secrets reach the play through a vars file, never the play's text."""

from __future__ import annotations

import configparser
import os

from conftest import record_counts

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEBYaDHqa0AP+example/token=="
OLD_SECRET = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"

PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: write
      keyturn.aws.aws_credentials_file:
        path: "{{ path }}"
        profile: "{{ profile | default('app') }}"
        format: "{{ fmt | default('ini') }}"
        access_key_id: "{{ key_id }}"
        secret_access_key: "{{ secret }}"
        session_token: "{{ token | default(omit) }}"
        backup: true
      register: written
      ignore_errors: "{{ tolerate | default(false) }}"
"""


def creds(path, profile):
    parser = configparser.RawConfigParser()
    parser.read(path)
    return dict(parser[profile])


def test_write_idempotence_check_and_diff(runner):
    path = os.path.join(runner.tmp, "home", ".aws", "credentials")
    os.makedirs(os.path.dirname(path))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f"[other]\naws_access_key_id = AKIAOTHEROTHEROTHER1\naws_secret_access_key = {OLD_SECRET}\n")
    args = {"path": path, "key_id": "AKIAIOSFODNN7EXAMPLE", "secret": SECRET, "token": TOKEN}

    planned = runner.playbook(PLAY, args, check=True, diff=True)
    assert planned.rc == 0 and planned.task("write")["changed"] and "app" not in creds_sections(path)
    diff = planned.task("write")["diff"]
    assert "AKIAIOSFODNN7EXAMPLE" in diff["after"] and "******** (changed)" in diff["after"]

    first = runner.playbook(PLAY, args)
    result = first.task("write")
    assert first.rc == 0 and result["changed"] and result["access_key_id"] == "AKIAIOSFODNN7EXAMPLE"
    assert creds(path, "app") == {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": SECRET,
                                  "aws_session_token": TOKEN}
    assert creds(path, "other")["aws_secret_access_key"] == OLD_SECRET and oct(os.stat(path).st_mode & 0o777) == "0o600"

    second = runner.playbook(PLAY, args, diff=True)
    assert second.rc == 0 and not second.task("write")["changed"]

    verbose = runner.playbook(PLAY, dict(args, key_id="AKIAI44QH8DHBEXAMPLE", secret=OLD_SECRET), diff=True,
                              verbosity=3, json_output=False)
    assert verbose.rc == 0 and "AKIAI44QH8DHBEXAMPLE" in verbose.stdout
    outputs = {"check": planned.stdout + planned.stderr, "first": first.stdout + first.stderr,
               "second": second.stdout + second.stderr, "-vvv": verbose.stdout + verbose.stderr}
    for where, text in outputs.items():
        for secret in (SECRET, TOKEN, OLD_SECRET):
            assert secret not in text, f"a secret appeared in the {where} output"
    record_counts(leak_scan_secrets_searched=3)


def creds_sections(path):
    parser = configparser.RawConfigParser()
    parser.read(path)
    return parser.sections()


def test_bad_input_is_refused_cleanly_and_changes_nothing(runner):
    path = os.path.join(runner.tmp, "credentials")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("[app]\naws_access_key_id = AKIAOLDOLDOLDOLDOLD1\n")
    before = open(path, encoding="utf-8").read()
    cases = [
        ({"profile": "app]\n[default"}, "profile 'app]\\n[default' contains ']'"),
        ({"secret": SECRET + "\naws_access_key_id = AKIAEVILEVILEVILEVI1"}, "secret_access_key contains a newline"),
        ({"key_id": "not a key"}, "access_key_id 'not a key' is not an access key ID"),
        ({"fmt": "env", "profile": "app"}, "profile 'app' has no meaning with format env"),
    ]
    for overrides, message in cases:
        args = {"path": path, "key_id": "AKIAIOSFODNN7EXAMPLE", "secret": SECRET, "tolerate": True, **overrides}
        result = runner.playbook(PLAY, args)
        task = result.task("write")
        assert task["failed"] and message in task["msg"], task["msg"]
        assert "Traceback" not in result.stdout + result.stderr and SECRET not in result.stdout + result.stderr
        assert open(path, encoding="utf-8").read() == before
    record_counts(bad_inputs=len(cases))
