# LXC Template Manager — the two commands that matter: `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -Eeuo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: help install run serve migrate test test-python test-postgres lint typecheck openapi openapi-check \
        test-deps test-shell shellcheck clean template-schema template-schema-check sync-templates bench

help: ## list targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*?## "}{printf "  %-16s %s\n",$$1,$$2}'

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check 'uv>=0.5'

$(BIN)/lxc-manager: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode  # no .pyc otherwise: every worker start would compile its imports (~1.7 s CPU)
	@touch $@

install: $(BIN)/lxc-manager ## install the Python environment from uv.lock
	@# The project is installed editable, so uv compiles only its dependencies; without this every process start
	@# (API, each worker) compiled our own modules again: 2.1 -> 1.5 s CPU per start. Up-to-date files are skipped.
	@$(BIN)/python -m compileall -q -j 0 backend/lxc_manager >/dev/null

migrate: install ## apply database migrations
	$(BIN)/lxc-manager migrate

run: install migrate frontend-build ## install, migrate, build the SPA and start the dashboard on http://$(HOST):$(PORT)
	@echo ""
	@echo "  LXC Template Manager → http://$(HOST):$(PORT)"
	@echo "  Create the first admin (in another terminal):"
	@echo "    read -rs PW && echo \"\$$PW\" | $(BIN)/lxc-manager create-admin --username admin --password-stdin"
	@echo ""
	$(BIN)/lxc-manager serve --host $(HOST) --port $(PORT)

test-deps: install ## install what the tests need (system packages, as root)
	./scripts/install-test-deps.sh

test: test-deps lint typecheck openapi-check frontend-client-check test-frontend shellcheck test-shell test-python test-postgres e2e e2e-lxc ## run the whole suite

test-python: install ## pytest on SQLite (PostgreSQL/Redis tests skip when absent, mandatory under CI=true)
	$(BIN)/pytest -q -p no:cacheprovider --ignore=tests/e2e

test-postgres: install ## the database-facing tests again on PostgreSQL
	LXCM_TEST_DB=postgres $(BIN)/pytest -q -p no:cacheprovider -m "not lxc" tests/backend

lint: install ## ruff + import contracts
	$(BIN)/ruff check backend tests migrations bench
	$(BIN)/ruff format --check backend tests migrations bench
	$(BIN)/lint-imports

test-shell: test-deps ## bats suites of the bash engine, forge-shield and the OpenClaw VM (tests/infra)
	bats $(filter-out tests/infra/lxc-real.bats,$(wildcard tests/infra/*.bats))

.PHONY: e2e-lxc
e2e-lxc: install ## real-LXC end-to-end lanes (root): the engine, then the API pipeline, deploy minimal on the simulator's lxc backend
	bats tests/infra/lxc-real.bats
	$(BIN)/pytest -q -p no:cacheprovider tests/e2e

shellcheck: test-deps ## ShellCheck every shell script (inline disables only)
	./scripts/shellcheck.sh

typecheck: install ## mypy --strict
	$(BIN)/mypy

openapi: install ## regenerate openapi/openapi.json from the app
	$(BIN)/python scripts/export_openapi.py openapi/openapi.json

openapi-check: install ## fail when openapi/openapi.json drifts from the app
	$(BIN)/python scripts/export_openapi.py --check openapi/openapi.json

template-schema: install ## regenerate infra/lxc/schema/*.schema.json from the template format models
	$(BIN)/python scripts/export_template_schema.py

template-schema-check: install ## fail when infra/lxc/schema drifts from the template format models
	$(BIN)/python scripts/export_template_schema.py --check

sync-templates: install ## discover infra/lxc templates and buckets into the database
	$(BIN)/lxc-manager sync-templates

bench: install ## run the benchmarks in bench/ (numbers printed as tables)
	$(BIN)/python bench/bench_template_sync.py
	$(BIN)/python bench/bench_pve_inventory.py

.PHONY: bench-sse
bench-sse: install ## SSE fan-out: 1,000 clients on one deployment, delivery latency and RSS (~1 min)
	$(BIN)/python bench/bench_sse_fanout.py

clean: ## remove local environments and data
	rm -rf $(VENV) .tools data frontend/node_modules frontend/dist

# ---- the SPA (frontend/): Node 20+, packages pinned in package-lock.json -----------------------------
FRONTEND := frontend
FRONTEND_DEPS := $(FRONTEND)/node_modules/.package-lock.json
FRONTEND_SOURCES := $(shell find $(FRONTEND)/src $(FRONTEND)/index.html $(FRONTEND)/vite.config.ts $(FRONTEND)/tsconfig.json $(FRONTEND)/public -type f 2>/dev/null)

.PHONY: frontend-install frontend-client frontend-client-check frontend-build test-frontend dev e2e bench-frontend

$(FRONTEND_DEPS): $(FRONTEND)/package.json $(FRONTEND)/package-lock.json
	cd $(FRONTEND) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

frontend-install: $(FRONTEND_DEPS) ## install the SPA's npm packages (npm ci)

frontend-client: $(FRONTEND_DEPS) ## regenerate the SPA's typed API client from openapi/openapi.json
	cd $(FRONTEND) && npx openapi-typescript ../openapi/openapi.json -o src/api/schema.d.ts

frontend-client-check: $(FRONTEND_DEPS) ## fail when the SPA's generated client is stale against openapi/openapi.json
	./scripts/check-frontend-client.sh

$(FRONTEND)/dist/index.html: $(FRONTEND_DEPS) $(FRONTEND_SOURCES)
	cd $(FRONTEND) && npm run --silent build
	@touch $@

frontend-build: $(FRONTEND)/dist/index.html ## build the SPA into frontend/dist (served by the backend at /)

test-frontend: $(FRONTEND_DEPS) ## typecheck the SPA and run its Vitest suite
	cd $(FRONTEND) && npx tsc -b && npx vitest run

dev: install migrate $(FRONTEND_DEPS) ## API on :$(PORT) and Vite with hot reload on http://127.0.0.1:5173 (proxying /api)
	./scripts/dev.sh $(HOST) $(PORT)

e2e: install test-deps frontend-build ## Playwright in Debian's chromium against the real backend + simulator; screenshots in test-artifacts/screenshots
	cd $(FRONTEND) && npx playwright test

bench-frontend: install test-deps frontend-build ## initial JS size (gz) and first render of the big pages in headless chromium
	cd $(FRONTEND) && node bench/bench-frontend.mjs

.PHONY: sim
sim: install ## run the PVE cluster simulator (memory backend) on https://127.0.0.1:8006; details in data/pve-sim/connection.json
	$(BIN)/lxc-manager pve-sim --backend memory --state-dir data/pve-sim --port 8006 --nodes 3

.PHONY: sim-lxc
sim-lxc: install ## the simulator with real LXC containers (root; builds the cached Debian 12 rootfs on first run)
	./scripts/build-lxc-rootfs.sh >/dev/null
	$(BIN)/lxc-manager pve-sim --backend lxc --state-dir data/pve-sim-lxc --port 8006 --nodes 3

.PHONY: demo
demo: install ## the whole product without a Proxmox: simulator (3 nodes) + dashboard + admin; details in data/demo.json
	$(BIN)/lxc-manager demo --port $(PORT)
