# The two commands a newcomer needs: `make demo` and `make test`.
# Both create .venv and install what they need on a machine with only Python 3.11 and pip.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test install lint typecheck unit bench schemas docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/fama demo --examples examples --out out/demo

lint: install
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest

test: lint typecheck unit

# Every benchmark in turn; each runs in about a minute and prints its ratio to a same-run baseline.
bench: install
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

schemas: install
	$(BIN)/fama schema --write --dir schemas
	$(BIN)/fama openapi --write schemas/openapi.json

docs: install
	$(BIN)/fama docs --dir docs

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache .hypothesis
