# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every plugin's documented options are the options its code accepts.

The documentation is what ansible-doc resolves (doc fragments included), the
code side is each module's ARGUMENT_SPEC and, for the lookups, the shared
connection spec of _options.py: names, types, defaults, aliases, choices,
required, elements and suboptions must agree, and the lookups must read the
same environment variables as the modules.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.keyturn.aws.plugins.module_utils._options import CONNECTION_ENV, CONNECTION_SPEC

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
MODULES = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                 if name.endswith(".py") and not name.startswith("_"))
LOOKUPS = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, "plugins", "lookup"))
                 if name.endswith(".py") and not name.startswith("_"))


def ansible_doc(kind, names):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"), ANSIBLE_NOCOLOR="1")
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-doc"), "-j", "-t", kind]
    out = subprocess.run(command + [f"keyturn.aws.{name}" for name in names], env=env, check=True,
                         capture_output=True, text=True).stdout
    return {name.split(".")[-1]: value["doc"] for name, value in json.loads(out).items()}


@pytest.fixture(scope="module")
def module_docs():
    return ansible_doc("module", MODULES)


@pytest.fixture(scope="module")
def lookup_docs():
    return ansible_doc("lookup", LOOKUPS)


def differences(spec, documented, where=""):
    found = []
    for name in sorted(set(spec) | set(documented)):
        place = f"{where}{name}"
        if name not in documented:
            found.append(f"{place}: accepted but not documented")
            continue
        if name not in spec:
            found.append(f"{place}: documented but not accepted")
            continue
        code, doc = spec[name], documented[name]
        pairs = {
            "type": (code.get("type", "str"), doc.get("type", "str")),
            "default": (code.get("default"), doc.get("default")),
            "aliases": (sorted(code.get("aliases") or []), sorted(doc.get("aliases") or [])),
            "choices": (list(code.get("choices") or []), list(doc.get("choices") or [])),
            "required": (bool(code.get("required")), bool(doc.get("required"))),
            "elements": (code.get("elements"), doc.get("elements")),
        }
        found.extend(f"{place}: {what} is {mine!r} in the code but {theirs!r} in the docs"
                     for what, (mine, theirs) in pairs.items() if mine != theirs)
        if code.get("options") or doc.get("suboptions"):
            found.extend(differences(code.get("options") or {}, doc.get("suboptions") or {}, place + "."))
    return found


@pytest.mark.parametrize("name", MODULES)
def test_module_argument_spec_matches_its_documentation(module_docs, name):
    module = importlib.import_module(f"ansible_collections.keyturn.aws.plugins.modules.{name}")
    assert differences(module.ARGUMENT_SPEC, module_docs[name]["options"]) == []


@pytest.mark.parametrize("name", LOOKUPS)
def test_lookup_connection_options_match_the_modules(lookup_docs, name):
    documented = lookup_docs[name]["options"]
    shared = {key: value for key, value in documented.items() if key in CONNECTION_SPEC}
    assert differences(CONNECTION_SPEC, shared) == []
    for option, variables in CONNECTION_ENV.items():
        assert [entry["name"] for entry in documented[option].get("env") or []] == variables, option
    for option in CONNECTION_SPEC:
        assert {"name": "keyturn_aws_" + option.replace("aws_", "", 1)} in documented[option]["vars"], option
    assert documented["store"]["type"] == "dict"


def non_text_descriptions(doc, where):
    """Places whose description is not text: a ': ' in a plain YAML line makes a one-entry mapping of the sentence,
    which ansible-doc -j passes on without complaint (validate-modules refuses it)."""
    found = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            if key == "description" and not all(isinstance(line, str) for line in (value if isinstance(value, list) else [value])):
                found.append(where)
            found.extend(non_text_descriptions(value, f"{where}.{key}"))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            found.extend(non_text_descriptions(value, f"{where}[{index}]"))
    return found


@pytest.mark.parametrize("name", MODULES)
def test_module_descriptions_are_text_after_fragments(module_docs, name):
    assert non_text_descriptions(module_docs[name], name) == []


@pytest.mark.parametrize("name", LOOKUPS)
def test_lookup_descriptions_are_text_after_fragments(lookup_docs, name):
    assert non_text_descriptions(lookup_docs[name], name) == []
