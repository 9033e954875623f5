# Smart Practice — the two README commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: help setup lock demo eval eval-real test test-slow deploy-check lint lint-db stack-up stack-down stack-reset stack-keys gateway bench bench-db openapi clean

help:
	@echo "make demo   - run the demo on the local stack"
	@echo "make test   - set up everything (apt, venv, cluster, migrations) and run all tests"
	@echo "make eval   - predictor AUC / log-loss / ECE vs baselines (EVAL_ARGS=\"PATH --ablation\")"
	@echo "make eval-real - the same with --ablation on ASSISTments 2009 (fetched once; EVAL_REAL_ARGS=\"--seed 1\")"
	@echo "make deploy-check | stack-up | stack-down | stack-reset | stack-keys | gateway | bench | lint | lint-db | lock"

# Python environment; the Debian packages are installed by `python -m supalocal up` when missing.
# Installs the pinned, hash-checked dev environment from the lock, then the project itself without resolving
# anything. Refresh the lock after changing pyproject's dependencies: `make lock` (README, "The two commands").
LOCK := requirements-dev.lock
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q --require-hashes -r $(LOCK)
	$(VENV)/bin/pip install -q -e . --no-deps
	touch $(STAMP)

# The Supabase CLI, pinned in package.json and locked in package-lock.json: the local stack pushes the migrations
# and the seed with it (`supabase db push`), lints with it and inspects with it, as the hosted deploy does.
# The same lock pins the web client's @supabase/supabase-js, which esbuild bundles into one ES module that the
# local gateway serves to the page at /app/vendor/supabase-js.mjs (no CDN; supalocal/gateway/webapp.py).
NODE_STAMP := node_modules/.installed-stamp
WEB_BUNDLE := node_modules/.web-vendor/supabase-js.mjs
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	node_modules/.bin/esbuild node_modules/@supabase/supabase-js/dist/index.mjs --bundle --format=esm \
		--platform=browser --target=es2022 --minify --legal-comments=eof --log-level=warning --outfile=$(WEB_BUNDLE)
	touch $(NODE_STAMP)

setup: $(STAMP) $(NODE_STAMP)

# Re-resolve the dev environment (pyproject's dependencies + the dev extra) into the lock, keeping the current
# pins where they still fit, then reinstall. `make lock LOCK_ARGS=--upgrade` moves every pin to the newest release.
lock: setup
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes \
		$(LOCK_ARGS) -o $(LOCK)
	$(MAKE) --no-print-directory setup

stack-up: setup
	$(PY) -m supalocal up

stack-down: setup
	$(PY) -m supalocal down

stack-reset: setup
	$(PY) -m supalocal reset

stack-keys: setup
	$(PY) -m supalocal keys

gateway: stack-up
	$(PY) -m supalocal gateway

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# `supabase db lint --level warning` (plpgsql_check) against the local stack: fails on any finding outside
# the `extensions` schema (pgTAP's own functions live there).
lint-db: stack-up
	$(PY) -m supalocal lint

test: setup
	$(PY) -m supalocal reset
	$(MAKE) --no-print-directory lint lint-db
	$(VENV)/bin/pytest -m "not slow"

test-slow: stack-reset
	$(VENV)/bin/pytest -m slow

# DEMO_ARGS, e.g. make demo DEMO_ARGS="--quick" or "--learners 50 --weeks 4" (see --help).
demo: stack-up
	$(PY) -m smartpractice_dev.demo $(DEMO_ARGS)

# The prediction harness (README "Predictor"): EVAL_ARGS, e.g. "path/to/log.tsv --ablation" (see --help).
eval: setup
	$(PY) -m smartpractice_dev.eval_harness $(EVAL_ARGS)

# The harness on a real log (README "Predictor", "Real data"): ASSISTments 2009-2010 skill builder, downloaded from
# PyPI's pyBKT 1.2 sdist and converted by smartpractice_dev.real_data into data/real/ (gitignored; the network is
# needed once, the data are not redistributed). EVAL_REAL_ARGS, e.g. "--seed 1". Not part of `make test`.
REAL_LOG := data/real/assist2009.csv
eval-real: setup
	$(PY) -m smartpractice_dev.real_data
	$(PY) -m smartpractice_dev.eval_harness $(REAL_LOG) --ablation $(EVAL_REAL_ARGS)

# The deploy unit as Cloud Functions builds it (a venv from functions/requirements.txt alone, a copy of
# functions/), each entry point under functions-framework, one learner's session and the scheduler's call.
deploy-check: stack-up
	$(PY) -m smartpractice_dev.deploy_check $(DEPLOY_CHECK_ARGS)

bench: stack-up
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

# The database's own ceiling (record_answer, serve, context reads via psycopg, no gateway) on 10k learners /
# 1M answers; e.g. make bench-db BENCH_DB_ARGS="--answers 100000 --learners-driven 400 --clients 8" (quick).
bench-db: stack-up
	$(PY) benchmarks/bench_db.py $(BENCH_DB_ARGS)

openapi: setup
	$(PY) -m smartpractice.api.openapi > functions/openapi.json

clean:
	-$(PY) -m supalocal down
	rm -rf .local $(VENV) node_modules test-artifacts
