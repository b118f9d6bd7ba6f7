# Two commands set everything up on a fresh clone:
#   make demo   creates .venv, installs pokeviz, generates synthetic runs, writes the plots
#   make test   runs ruff and the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint format bench cache-docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/pokeviz demo demo

# Two pytest workers (one per core); a test file stays on one worker, so its module
# fixtures are built once.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check .

format: $(STAMP)
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

cache-docs: $(STAMP)
	$(BIN)/python -c 'from pokeviz.query import print_views_sql; print_views_sql()' > cache/views.sql

clean:
	rm -rf $(VENV) demo .pytest_cache .ruff_cache
