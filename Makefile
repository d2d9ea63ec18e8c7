# The front door. `make` prints help; see README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) app/manage.py
# Every test layer adds itself here (mk/*.mk); `make test` runs them all, unit first.
TEST_LAYERS := test-unit
# A layer listed here too runs in a lane of its own beside the others (see `test:` below).
TEST_OWN_LANE :=

include $(sort $(wildcard mk/*.mk))

.PHONY: help venv dev test test-unit lint bench lock

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-zA-Z0-9_-]*:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

venv: $(VENV)/.installed ## Create .venv with the locked dependencies

$(VENV)/.installed: requirements/dev.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/dev.lock
	@touch $@

dev: venv ## Migrate the local SQLite databases and run the dev server on 127.0.0.1:8000
	APP_ENV=local $(MANAGE) migrate_all
	APP_ENV=local exec $(MANAGE) runserver 127.0.0.1:8000

# Unit first, alone (it keeps both cores busy), then two lanes side by side (scripts/test-lanes.sh): the
# TEST_OWN_LANE layers (Ansible: its deploys keep the controller's CPU busy) and the other layers one after
# the other, whose servers spend much of their time waiting (failover timeouts, restores, start-ups).
test: test-unit bootstrap ## Run every test layer (unit, Ansible, integration, rehearsal, e2e)
	@scripts/test-lanes.sh '$(TEST_OWN_LANE)' '$(filter-out test-unit $(TEST_OWN_LANE),$(TEST_LAYERS))'

test-unit: venv ## Run the unit tests (no Docker; SQLite files)
	$(PY) -m pytest tests/unit -q -n auto

lint: venv ## Run ruff and mypy
	$(VENV)/bin/ruff check app tests bench scripts
	$(VENV)/bin/ruff format --check app tests bench scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy scripts/compose_databases.py scripts/readyz.py scripts/backup.py scripts/backups.py scripts/restore.py

bench: venv ## Run the benchmarks (each prints ours beside a baseline and the ratio)
	@# Modules without a __main__ block are helpers of a bench, not benches.
	@for bench in bench/*.py; do grep -q "__main__" $$bench || continue; echo "== $$bench"; $(PY) $$bench || exit 1; done

lock: venv ## Re-pin requirements/*.lock from requirements/*.in (needs network)
	$(PY) -m pip install --quiet uv
	cd requirements && ../$(VENV)/bin/uv pip compile --quiet --python-version 3.11 --generate-hashes base.in -o base.lock
	cd requirements && ../$(VENV)/bin/uv pip compile --quiet --python-version 3.11 --generate-hashes dev.in -o dev.lock
