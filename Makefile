# Chairside command index. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000
SQLITE_URL := sqlite:///db.sqlite3
# Property-based fuzzing of every form and the API: the full 500 inputs per form on PostgreSQL (the production
# database), a quicker 100 on SQLite. Override, e.g. `make test FUZZ_SQLITE=500`.
FUZZ_POSTGRES ?= 500
FUZZ_SQLITE ?= 100

.PHONY: help install lock browser-deps run migrate demo test test-fast test-sqlite test-postgres lint bench bench-engine catalogue clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt requirements.txt
	@python_bin=$$(.ci/find-python) || exit 1; \
	if [ ! -x "$(PY)" ] || ! $(PY) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then \
		echo "Creating $(VENV) with $$python_bin"; rm -rf $(VENV); "$$python_bin" -m venv $(VENV) || exit 1; \
	fi
	@# Hash-pinned lock: pip refuses anything whose hash differs. pipefail keeps pip's own exit status (the
	@# filter only hides this machine's notes about absent local indexes), so a failed install stops here.
	set -o pipefail; $(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.txt \
		2>&1 | { grep -v "is ignored" || true; }
	@$(PY) -c 'import django, sys; assert django.VERSION[:2] == (6, 1), django.get_version(); print("Python", sys.version.split()[0], "Django", django.get_version())'
	@touch $(STAMP)

install: $(STAMP) ## Create .venv with Python >= 3.12 and install the pinned development set (requirements-dev.txt)

lock: ## Re-pin requirements.in / requirements-dev.in with hashes (uv; run after editing an .in file)
	$(PY) -m pip install --quiet uv
	$(VENV)/bin/uv pip compile --quiet --universal --python-version 3.12 --generate-hashes --no-header requirements.in -o requirements.txt
	$(VENV)/bin/uv pip compile --quiet --universal --python-version 3.12 --generate-hashes --no-header requirements-dev.in -o requirements-dev.txt

browser-deps: ## Install Debian's Chromium and poppler-utils for browser and PDF tests (apt-get, as root)
	@.ci/ensure-chromium

migrate: install ## Apply database migrations (SQLite unless DATABASE_URL is set)
	DEBUG=1 $(PY) manage.py migrate --noinput

demo: migrate ## Load the demo units, users and patients (idempotent)
	DEBUG=1 $(PY) manage.py load_demo

run: demo ## Install, migrate, load demo data and serve on http://127.0.0.1:8000 (SQLite, DEBUG on)
	@echo ""
	@echo "Chairside is starting on http://$(HOST):$(PORT)/"
	@echo "Demo logins (password for all: chairside-demo):"
	@echo "  nurse.a   nurse, Unit A (North)"
	@echo "  nephro.a  nephrologist, Unit A (North)"
	@echo "  nurse.b   nurse, Unit B (South)"
	@echo "  admin     unit admin of both units (also Django admin at /admin/)"
	@echo ""
	DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

lint: install ## ruff check, ruff format --check, mypy --strict on the pure engine
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m mypy --strict clinic/engine

test-sqlite: install browser-deps
	@echo "=== pytest on SQLite ==="
	DATABASE_URL=$(SQLITE_URL) CHAIRSIDE_TEST_DB=sqlite CHAIRSIDE_FUZZ_EXAMPLES=$(FUZZ_SQLITE) $(PY) -m pytest -q

test-postgres: install browser-deps
	@echo "=== pytest on PostgreSQL (throwaway cluster) ==="
	CHAIRSIDE_TEST_DB=postgres CHAIRSIDE_FUZZ_EXAMPLES=$(FUZZ_POSTGRES) .ci/with-postgres $(PY) -m pytest -q

test-fast: install ## The inner loop: engine and web tests on SQLite, without the browser and fuzz tests
	DATABASE_URL=$(SQLITE_URL) CHAIRSIDE_TEST_DB=sqlite $(PY) -m pytest -q -m "not browser" \
		--ignore-glob='tests/web/test_fuzz_*' tests/engine tests/web

test: install browser-deps lint test-sqlite test-postgres ## Install, lint, then run every test on SQLite and on a real PostgreSQL
	@echo "All checks passed on SQLite and PostgreSQL."

bench: install ## Load test under gunicorn + throwaway PostgreSQL with a large dataset; writes bench/results/latest.json
	REQUIRE_POSTGRES=1 .ci/with-postgres $(PY) bench/run.py $(BENCH_ARGS)

bench-engine: install ## Median time to evaluate a typical case with the pure engine
	$(PY) bench/bench_engine.py

catalogue: install ## Write the reviewable rule catalogue to docs/knowledge-catalogue.md
	$(PY) manage.py knowledge catalogue --out docs/knowledge-catalogue.md

clean: ## Remove the virtualenv, caches and the SQLite database
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis staticfiles db.sqlite3
