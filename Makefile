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
	# The distribution was called "fama" (an unrelated project's name on PyPI) until 0.1.0;
	# its editable install left metadata that would still answer to that name.
	$(BIN)/python -m pip uninstall --quiet --yes fama 2>/dev/null || true
	rm -rf src/fama.egg-info
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
	$(BIN)/fama fhir terminology --dir schemas/fhir --bundle schemas/fhir/fama-terminology.bundle.json

# Every generated document and schema: the workflow page, the FHIR and HL7 mapping tables,
# the JSON Schemas, the OpenAPI document and the FHIR terminology (each also tested current).
docs: schemas
	$(BIN)/fama docs --dir docs
	$(BIN)/fama fhir docs --file docs/fhir.md
	$(BIN)/python -m fama_adapters.hl7v2 docs/hl7v2.md

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache .hypothesis
