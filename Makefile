# The two commands a new user needs: `make run` and `make test`. Both create the
# virtual environment on first use, so a fresh clone needs nothing but Python >= 3.11.
# `make run` installs the gateway alone; `make test` adds the test and benchmark tools.
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
TOOLS   := $(VENV)/.installed-tools

.PHONY: run test lint typecheck pytest chromium axe unit bench screenshot dist clean

# Editable (pip install -e), so that a change to the code is what the next run runs.
$(RUNTIME): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("smsgw needs Python >= 3.11, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME)

$(TOOLS): $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(TOOLS)

run: $(RUNTIME)
	$(BIN)/smsgw serve --config config/gateway.toml

lint: $(TOOLS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(TOOLS)
	$(BIN)/mypy

# The console's browser tests (tests/e2e/test_console_browser.py) drive Debian's chromium;
# Playwright never downloads a browser here. Installed when missing, if we may (root); else
# what to install is said, and those tests fail saying so.
CHROMIUM := /usr/bin/chromium

chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; \
		else echo "The console's browser tests need Debian's chromium: sudo apt-get install chromium"; fi; \
	fi

# The console's accessibility test runs axe-core (from npm, pinned in tests/e2e/axe/'s
# package-lock.json) in each page: installed there when missing, with Debian's npm if we may.
AXE := tests/e2e/axe/node_modules/axe-core/axe.min.js

axe: $(AXE)

$(AXE): tests/e2e/axe/package-lock.json
	@if ! command -v npm >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then apt-get install -y npm || { apt-get update && apt-get install -y npm; }; \
		else echo "The console's accessibility test needs npm: sudo apt-get install npm"; exit 1; fi; \
	fi
	cd tests/e2e/axe && npm ci --no-audit --no-fund
	touch $(AXE)

pytest: $(TOOLS) chromium axe
	$(BIN)/pytest -q

test: lint typecheck pytest

# The fast unit tier alone: the dispatcher, receiver, routing and webhook sender over the
# in-memory store (tests/fakes), the test clock and simulated modems; no HTTP API, no SQLite.
unit: $(TOOLS)
	$(BIN)/pytest -q tests/gateway/units tests/gateway/store_contract

bench: $(TOOLS)
	$(BIN)/python -m bench

# The README's picture of the console (docs/console-overview.png), taken again: a gateway as
# `make run` starts it, a few messages, Debian's chromium (bench/console_screenshot.py).
screenshot: $(TOOLS) chromium
	$(BIN)/python -m bench.console_screenshot

# The release: an sdist and a wheel in dist/ (README: "On a Raspberry Pi").
dist: $(TOOLS)
	$(BIN)/python -m build --outdir dist .

clean:
	rm -rf tests/e2e/axe/node_modules $(VENV) .mypy_cache .pytest_cache .ruff_cache .import_linter_cache .hypothesis build dist *.egg-info
