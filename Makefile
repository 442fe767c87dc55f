# Shequ — make demo (run the product with demo data), make test (the whole suite).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
SCALE ?= small
DB ?= sqlite
export UV_PYTHON_DOWNLOADS := never

.PHONY: help prerequisites install demo test lint typecheck reset-demo messages bench serve prod-check

help:
	@echo "make demo        set up and run Shequ with Danyang demo data on http://127.0.0.1:$(PORT)"
	@echo "make test        set up and run the whole test suite"
	@echo "make lint        ruff (check + format check), djLint, writes only through services, mypy"
	@echo "make typecheck   mypy with django-stubs (configuration in pyproject.toml)"
	@echo "make reset-demo  delete the demo database, media and keys under var/"
	@echo "make serve       production-like: migrate, collectstatic, gunicorn (several workers) + task worker on PORT"
	@echo "make prod-check  manage.py check --deploy with production settings"
	@echo "make bench       benchmarks: SCALE=small|medium|city DB=sqlite|postgres"

prerequisites:
	@missing=0; \
	scripts/find-python >/dev/null || missing=1; \
	command -v node >/dev/null || { echo "缺少 Node.js（用于安装 htmx、ECharts、Leaflet）。请安装 Node.js 18 或更新版本。"; missing=1; }; \
	command -v npm >/dev/null || { echo "缺少 npm。请安装 Node.js 自带的 npm。"; missing=1; }; \
	[ $$missing -eq 0 ] || { echo "前置条件不满足，见上。Prerequisites missing (see above)."; exit 1; }

$(VENV)/.installed: pyproject.toml uv.lock | prerequisites
	@test -x $(PY) || "$$(scripts/find-python)" -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check "uv>=0.8,<1"
	@$(VENV)/bin/uv sync --locked --inexact --python $(PY) --quiet
	@touch $@

node_modules/.installed: package.json package-lock.json | prerequisites
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

shequ/web/static/vendor/.copied: node_modules/.installed scripts/vendor-static
	@scripts/vendor-static
	@touch $@

install: $(VENV)/.installed shequ/web/static/vendor/.copied
	@$(PY) manage.py compilemessages --ignore=.venv --ignore=node_modules -v0

demo: install
	@$(PY) manage.py migrate --no-input -v0
	@$(PY) manage.py seed_demo --if-empty
	@$(PY) manage.py demo_banner --port $(PORT)
	@exec $(PY) manage.py run_demo --port $(PORT)

# Parallel workers (pytest-xdist): one per core; PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= auto
test: install
	SHEQU_ENV=test $(VENV)/bin/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/djlint shequ --lint
	$(PY) scripts/check-writes
	$(VENV)/bin/mypy

typecheck: install
	$(VENV)/bin/mypy

messages: install
	$(PY) scripts/messages

# Exit status 1 only when a benchmark script crashes; BENCH_ARGS=--strict also fails on missed
# or unmeasured targets (see benchmarks/run.py).
bench: install
	$(PY) benchmarks/run.py --scale $(SCALE) --db $(DB) $(BENCH_ARGS)

reset-demo:
	rm -f var/shequ.sqlite3 var/shequ.sqlite3-wal var/shequ.sqlite3-shm
	rm -rf var/media
	@echo "演示数据库已删除；再次运行 make demo 将重新生成。"

# Production-like stack on PORT: several gunicorn processes + the task-queue worker, static
# files collected for whitenoise. Uses the environment as given (SHEQU_ENV, DATABASE_URL, …);
# see docs/operations.md for the production variables.
serve: install
	@$(PY) manage.py migrate --no-input -v0
	@$(PY) manage.py collectstatic --no-input -v0
	@exec $(PY) manage.py serve --port $(PORT)

# `check --deploy` under production settings. Secrets not given are throwaway values for the
# check only; pass the real DATABASE_URL/SHEQU_CACHE_URL to check a real configuration.
PROD_CHECK_ENV = SHEQU_ENV=production \
	SECRET_KEY="$${SECRET_KEY:-prod-check-only-$$(head -c 48 /dev/urandom | base64 | tr -d '/+=')}" \
	SHEQU_DATA_KEY="$${SHEQU_DATA_KEY:-$$($(PY) -c 'from shequ.settings import new_data_key; print(new_data_key())' 2>/dev/null || echo k1:$$(head -c 32 /dev/zero | base64 | tr '+/' '-_' | tr -d =))}" \
	ALLOWED_HOSTS="$${ALLOWED_HOSTS:-shequ.example.cn}" \
	DATABASE_URL="$${DATABASE_URL:-postgres://shequ@127.0.0.1:5432/shequ}" \
	SHEQU_CACHE_URL="$${SHEQU_CACHE_URL:-redis://127.0.0.1:6379/1}" \
	SHEQU_VAR_DIR="$${SHEQU_VAR_DIR:-$$(mktemp -d)}"

prod-check: install
	@env $(PROD_CHECK_ENV) $(PY) manage.py check --deploy --fail-level WARNING
