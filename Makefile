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

.PHONY: help venv collection demo aws test sanity lint units integration changelog docs bench bench-estate clean chromium chaos java

help:
	@echo "make demo         run the demo against a local moto server (rotations, swap, TOTP, report)"
	@echo "make test         sanity + lint + units + integration"
	@echo "make aws          only the local test AWS, to try the example playbooks against it"
	@echo "make sanity | lint | units | integration | docs | changelog | bench | clean"
	@echo "make chaos        crash-anywhere chaos suite, KEYTURN_CHAOS_TRIALS trials (default 100)"

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

aws: collection  ## only the local test AWS, with variables for the example playbooks (Ctrl-C stops it)
	$(BIN)/python -m tools.local_aws

test: sanity lint changelog docs units integration
	@echo "make test: all suites passed"

units: collection
	$(BIN)/python -m pytest -q -rs -p no:cacheprovider tests/unit $(PYTEST_ARGS)

chromium:  ## headless Chromium (Debian package) for the report's browser test
	@command -v chromium >/dev/null 2>&1 || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

# SKIP_BROWSER=1 leaves the browser test of the HTML reports out where apt-get is not allowed (CI never sets it).
BROWSER := $(if $(SKIP_BROWSER),,chromium)

integration: collection $(BROWSER) java
	KEYTURN_SKIP_BROWSER=$(SKIP_BROWSER) $(BIN)/python -m pytest -q -rs -p no:cacheprovider -n 2 --durations=15 tests/integration $(PYTEST_ARGS)

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
	@for p in $$(ls plugins/inventory/*.py 2>/dev/null | xargs -rn1 basename | sed 's/\.py$$//'); do \
		$(BIN)/ansible-doc -t inventory keyturn.aws.$$p > /dev/null || exit 1; echo "ansible-doc -t inventory keyturn.aws.$$p: ok"; done
	@for r in $$(ls roles); do \
		$(BIN)/ansible-doc -t role keyturn.aws.$$r > /dev/null || exit 1; echo "ansible-doc -t role keyturn.aws.$$r: ok"; done

changelog: venv
	$(BIN)/antsibull-changelog lint


bench: collection
	$(BIN)/python -m benchmarks.run

bench-estate: collection  ## the estate under AWS-like limits (benchmarks/estate.py, long: run on an idle machine)
	$(BIN)/python -m benchmarks.estate $(BENCH_ARGS)

clean:
	rm -rf build tests/output .ansible .pytest_cache

.PHONY: coverage
coverage: collection  ## branch coverage of the protocol engines by the unit tests
	COVERAGE_FILE=build/.coverage $(BIN)/python -m coverage run --branch \
	  --include='*/module_utils/_rotation.py,*/module_utils/_dual.py,*/module_utils/_iam_keys.py,*/module_utils/_connection.py' \
	  -m pytest -q -p no:cacheprovider tests/unit/plugins/module_utils $(PYTEST_ARGS)
	COVERAGE_FILE=build/.coverage $(BIN)/python -m coverage report -m

chaos: collection  ## SIGKILL rotations at random instants, then check the invariants (seed: KEYTURN_CHAOS_SEED)
	KEYTURN_CHAOS_TRIALS=$${KEYTURN_CHAOS_TRIALS:-100} $(BIN)/python -m pytest -q -rs -p no:cacheprovider -n 2 \
		tests/integration/reliability/test_chaos.py $(PYTEST_ARGS)
