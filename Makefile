# Two entry points: `make demo` (set up, seed the demo data into the default SQLite database var/orderbot.db, open the chat console)
# and `make test` (set up, lint, type-check, run the whole test suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test setup setup-test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	bash scripts/system-deps.sh chromium chromium-driver fonts-wqy-microhei
	$(BIN)/pip install -q -e ".[test]"
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
	$(BIN)/pytest -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
