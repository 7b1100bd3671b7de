# reelflow — the two commands a fresh machine needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lint unit e2e system-deps node-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Start Temporal + simulator + worker, generate one video end to end, print where it is.
demo: $(STAMP)
	$(BIN)/reelflow demo

## Everything CI runs: lint, types, then every test suite against real servers.
test: $(STAMP) system-deps node-deps lint
	$(BIN)/pytest -q -ra

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

e2e: $(STAMP)
	$(BIN)/pytest -q tests/e2e tests/provider

# Headless Chromium for the UI check (Debian's package; no browser download).
system-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "note: /usr/bin/chromium missing (install Debian's chromium); browser tests will skip"; fi; \
	fi

# The TanStack client used by the HTTP API's Node test.
node-deps:
	@if [ -f tests/web/node/package-lock.json ] && command -v npm >/dev/null; then \
	  npm ci --prefix tests/web/node --no-audit --no-fund --loglevel=error; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tests/web/node/node_modules
