# animerec — two commands on a fresh machine: `make demo` and `make test`.
# Only Python 3.11 and pip are assumed; uv is bootstrapped into .tools/ when it is missing.

SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
VENV := $(CURDIR)/.venv
# pytest-xdist workers; a test file stays on one worker (its module fixtures are built once),
# and the longest files start first (tests/conftest.py, LONG_FILES_S).
# The browser tests run after the rest, alone: their page waits must not race a dbt build.
TEST_WORKERS ?= 2
PYTEST := $(VENV)/bin/pytest -q -ra -n $(TEST_WORKERS) --dist loadfile
BIN := $(VENV)/bin

# Telemetry off (dbt, Great Expectations); Keras 2 for TensorFlow Recommenders.
export DO_NOT_TRACK := 1
export GX_ANALYTICS_ENABLED := false
export TF_USE_LEGACY_KERAS := 1
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: install demo demo-batch test test-fast lint format ui app replica dbt-prepare clean

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/pip install --quiet uv

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

install: $(VENV)/.installed ## Install the locked environment into .venv

dbt-prepare: install ## Parse the dbt project so dagster-dbt finds its manifest
	$(BIN)/python -m animerec_assets.lib.dbt_paths

demo: install dbt-prepare ## Run the main job on the embedded defaults, then serve the UI and app
	$(BIN)/animerec demo

demo-batch: install dbt-prepare ## The same main job, without starting any server
	$(BIN)/animerec demo --no-serve

test: install dbt-prepare ## Install, then run the whole test suite
	$(PYTEST) -m "not browser"
	$(VENV)/bin/pytest -q -ra -m browser

test-fast: install dbt-prepare ## Unit tests only: no TensorFlow training, dbt builds, browser or demo runs
	$(PYTEST) -m "not slow and not browser"

lint: install ## ruff, the layer contracts (import-linter) and the type checker (mypy)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

ui: install dbt-prepare ## The Dagster UI on http://127.0.0.1:3000
	DAGSTER_HOME=$$($(BIN)/python -m animerec_assets.instance) \
		$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

replica: install ## A local MAL replica on http://127.0.0.1:8900
	$(BIN)/animerec replica serve --users 2000 --anime 1000 --seed 7 --port 8900

clean:
	rm -rf data .pytest_cache .ruff_cache dbt_project/target dbt_project/logs
