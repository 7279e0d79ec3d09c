# Everything runs from a local virtual environment, created on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Run the quickstart example on the embedded SQLite default.
demo: $(STAMP)
	$(BIN)/orchestrator run examples/quickstart/pipeline.yaml

## Run the whole test suite.
test: $(STAMP)
	$(BIN)/python -m pytest

## Print the benchmark table (not part of CI's pass/fail).
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) examples/quickstart/out build dist
