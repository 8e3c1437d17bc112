# Two entry points: `make run` (gateway on SQLite with demo data) and `make test` (whole suite).
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint bench

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/tiss-gateway demo
# Plain HTTP on this machine: the portal's session cookie cannot be Secure-only here.
	TISS_COOKIE_SECURE=false $(BIN)/tiss-gateway serve --host $(HOST) --port $(PORT)

test: install
	scripts/ensure-system-packages
	$(BIN)/python -m pytest -q

# Not tests: prints the tables of bench/RESULTS.md (needs PostgreSQL like `make test`).
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check gateway storage tests bench examples scripts
	$(BIN)/ruff format --check gateway storage tests bench examples scripts
