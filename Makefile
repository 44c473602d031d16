# keyturn.aws — build, test and demo.  Everything runs from a virtualenv this
# Makefile creates from the pinned requirements; nothing else is downloaded.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(abspath $(VENV))/bin
BUILD := $(abspath build)
COLLECTIONS := $(BUILD)/collections
LINK := $(COLLECTIONS)/ansible_collections/keyturn/aws
SANITY_ROOT := $(BUILD)/sanity/ansible_collections/keyturn/aws
AT_HOME := $(BUILD)/ansible-test-home
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PATH := $(BIN):$(PATH)
PYTEST_ARGS ?=

.PHONY: help venv collection demo test sanity lint units integration changelog docs bench clean chromium java

help:
	@echo "make demo         run the demo against a local moto server (rotations, swap, TOTP, report)"
	@echo "make test         sanity + lint + units + integration"
	@echo "make sanity | lint | units | integration | docs | changelog | bench | clean"

$(VENV)/.stamp: requirements/runtime.txt requirements/dev.txt requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q --upgrade pip==25.3
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements/dev.txt
	touch $@

venv: $(VENV)/.stamp

collection: venv
	@mkdir -p $(dir $(LINK))
	@[ -L $(LINK) ] || ln -sfn $(CURDIR) $(LINK)

demo: collection
	$(BIN)/python -m tools.demo

test: sanity lint changelog docs units integration
	@echo "make test: all suites passed"

units: collection
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit $(PYTEST_ARGS)

chromium:  ## headless Chromium (Debian package) for the report's browser test
	@command -v chromium >/dev/null 2>&1 || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

integration: collection chromium java
	$(BIN)/python -m pytest -q -p no:cacheprovider -n 2 --durations=15 tests/integration $(PYTEST_ARGS)

java:  ## Java 17 (Debian package) for ansible-rulebook (EDA tests), only where java is missing
	@command -v java >/dev/null 2>&1 || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y openjdk-17-jre-headless) \
		|| echo "!!! Java 17 could not be installed: the ansible-rulebook (EDA) test will be SKIPPED !!!"

sanity: venv
	$(BIN)/python tools/stage_collection.py $(SANITY_ROOT)
	@mkdir -p $(AT_HOME)/.ansible/test/cache
	cp tools/get_pip_standin.py $(AT_HOME)/.ansible/test/cache/get_pip_24_2.py
	cd $(SANITY_ROOT) && HOME=$(AT_HOME) $(BIN)/ansible-test sanity --venv --python 3.11 --color no

lint: collection
	$(BIN)/ansible-lint --offline --profile production --nocolor

docs: collection
	@for p in $$(ls plugins/modules/*.py | xargs -n1 basename | sed 's/\.py$$//'); do \
		$(BIN)/ansible-doc keyturn.aws.$$p > /dev/null || exit 1; echo "ansible-doc keyturn.aws.$$p: ok"; done
	@for p in $$(ls plugins/lookup/*.py 2>/dev/null | xargs -rn1 basename | sed 's/\.py$$//'); do \
		$(BIN)/ansible-doc -t lookup keyturn.aws.$$p > /dev/null || exit 1; echo "ansible-doc -t lookup keyturn.aws.$$p: ok"; done
	@for p in $$(ls plugins/filter/*.yml 2>/dev/null | xargs -rn1 basename | sed 's/\.yml$$//'); do \
		$(BIN)/ansible-doc -t filter keyturn.aws.$$p > /dev/null || exit 1; echo "ansible-doc -t filter keyturn.aws.$$p: ok"; done
	@for r in $$(ls roles); do \
		$(BIN)/ansible-doc -t role keyturn.aws.$$r > /dev/null || exit 1; echo "ansible-doc -t role keyturn.aws.$$r: ok"; done

changelog: venv
	$(BIN)/antsibull-changelog lint


bench: collection
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf build tests/output .ansible .pytest_cache
