# One command each on a fresh machine: `make run`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.PHONY: run test lint bench lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[service]'
	touch $@

$(TSTAMP): pyproject.toml $(STAMP)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# the service on SQLite in out/service with the example plant (the one-shot
# scenario run stays available as `energyopt run scenarios/example.yaml`)
run: $(STAMP)
	$(BIN)/energyopt service --data-dir out/service

test: $(TSTAMP)
	-.ci/ensure-postgres.sh
	$(BIN)/python -m pytest -q

lint: $(TSTAMP)
	$(BIN)/ruff check energyopt api tests benchmarks
	$(BIN)/ruff format --check energyopt api tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

# the Docker image's pinned dependencies (the library and the service extra)
lock: $(TSTAMP)
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --strip-extras --no-emit-index-url --no-emit-find-links \
	    --extra service --output-file docker/constraints.txt pyproject.toml

clean:
	rm -rf $(VENV) out .pytest_cache
