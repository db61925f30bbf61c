# One command each on a fresh machine: `make run`, `make test`.
# The lowest Pyomo the compile-and-refresh path is tested on (`make test-pyomo-min`).
# It must match the lower bound of the pyomo requirement in pyproject.toml
# (tests/test_packaging.py checks this).
PYOMO_MIN := 6.8.0
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test
MIN_VENV  := .venv-pyomo-min
MIN_BIN   := $(MIN_VENV)/bin
MIN_STAMP := $(MIN_VENV)/.installed-pyomo-$(PYOMO_MIN)

.PHONY: run test test-pyomo-min lint bench lock clean

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

# the standard-form and flat-sum tests on the lowest supported Pyomo, in a second
# environment: the package with its test extra, then PYOMO_MIN over the resolved Pyomo
$(MIN_BIN)/python:
	$(PYTHON) -m venv $(MIN_VENV)
	$(MIN_BIN)/python -m pip install --quiet --upgrade pip

$(MIN_STAMP): pyproject.toml | $(MIN_BIN)/python
	$(MIN_BIN)/pip install --quiet -e '.[test]'
	$(MIN_BIN)/pip install --quiet 'pyomo==$(PYOMO_MIN)'
	touch $@

test-pyomo-min: $(MIN_STAMP)
	$(MIN_BIN)/python -m pytest -q tests/test_standard_form.py tests/test_flat.py

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
	rm -rf $(VENV) $(MIN_VENV) out .pytest_cache
