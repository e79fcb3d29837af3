# FoxWeb: `make run` starts the app, `make test` runs every check. Both work on a fresh clone.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
# 127.0.0.1: only this computer. HOST=0.0.0.0 lets colleagues on the network in (see the README).
HOST ?= 127.0.0.1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run worker test lint sandbox bench bench-memory bench-history bench-batch bench-load chromium screenshots clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "FoxWeb needs Python 3.11: install it, or run make with PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-test.txt
	touch $@ $(VENV)/.installed

$(VENV)/.installed-bench: requirements.txt requirements-bench.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements-bench.txt
	touch $@

## Start FoxWeb (web and worker) at http://$(HOST):$(PORT) on SQLite and the built-in FoxAPI sandbox.
run: $(VENV)/.installed
	@$(BIN)/python manage.py migrate --noinput -v 0
	@$(BIN)/python manage.py devserver $(HOST):$(PORT)

## Only the worker (when the web server runs elsewhere).
worker: $(VENV)/.installed
	$(BIN)/python manage.py worker

## Run the standalone FoxAPI sandbox on http://127.0.0.1:8765 (for browser or load tests).
sandbox: $(VENV)/.installed
	$(BIN)/python manage.py foxapi_sandbox --port 8765

## Lint, check migrations and run the whole suite, browser tests included.
test: $(VENV)/.installed-test chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/pytest

## Refresh docs/screenshots from the browser tests.
screenshots: $(VENV)/.installed-test chromium
	FOXWEB_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/browser -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## The image-intake benchmark (builds its photographs from Debian's wallpaper packages).
bench: $(VENV)/.installed-bench
	$(BIN)/python bench/intake.py

## Peak memory of a server (gunicorn) while 50 people upload a 49-megapixel PNG at once.
bench-memory: $(VENV)/.installed-bench
	$(BIN)/python bench/memory.py

## History queries at 100,000 tasks on the local PostgreSQL (a scratch database, foxweb_bench).
bench-history: $(VENV)/.installed
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/foxweb_bench $(BIN)/python bench/history.py

## The load benchmark: gunicorn, the worker and the sandbox on the local PostgreSQL (a scratch database, foxweb_bench_load), 200 pollers for a minute.
bench-load: $(VENV)/.installed
	$(BIN)/python bench/load.py

## A ZIP of 100, then 500 photos described one by one against the standalone sandbox: time from the
## upload until every row is finished, peak memory, preparation, batch page queries (a scratch
## PostgreSQL database, foxweb_bench_batch; `bench/batch.py --database sqlite` for SQLite).
bench-batch: $(VENV)/.installed-bench
	$(BIN)/python bench/batch.py

## Debian's Chromium for the browser tests, installed when missing and possible.
chromium:
	@if [ -x /usr/bin/chromium ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	else sudo="none"; fi; \
	if [ "$$sudo" != none ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  $$sudo apt-get install -y -q chromium >/dev/null 2>&1 \
	  || { $$sudo apt-get update -q >/dev/null 2>&1 && $$sudo apt-get install -y -q chromium >/dev/null 2>&1; } || true; \
	fi; \
	if [ ! -x /usr/bin/chromium ]; then \
	  echo "!!! Chromium is missing and could not be installed: browser tests will be SKIPPED. !!!"; \
	  echo "!!! Install it with: sudo apt-get install chromium                              !!!"; \
	fi

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
