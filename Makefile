# Two entry points: `make demo` (set up, seed the demo SQLite database, open the chat console)
# and `make test` (set up, lint, type-check, run the whole test suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DB ?= sqlite+aiosqlite:///var/demo.db

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

demo: setup
	mkdir -p var
	ORDERBOT_DATABASE_URL=$${ORDERBOT_DATABASE_URL:-$(DEMO_DB)} $(BIN)/orderbot demo

lint: setup-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
