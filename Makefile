# Everything runs from a local virtual environment, created on first use.
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
CONTRIB := $(wildcard contrib/*/pyproject.toml)

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml $(CONTRIB)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	for project in $(dir $(CONTRIB)); do $(BIN)/python -m pip install --quiet -e "$$project[test]" || exit 1; done
	touch $(STAMP)

install: $(STAMP)

## Run the quickstart example on the embedded SQLite default.
demo: $(STAMP)
	$(BIN)/orchestrator run examples/quickstart/pipeline.yaml

## Run the whole test suite: the core's, then each contrib plugin's own (a pytest session each).
test: $(STAMP)
	$(BIN)/python -m pytest
	for project in $(dir $(CONTRIB)); do $(BIN)/python -m pytest "$${project}tests" || exit 1; done

## Print the benchmark table (not part of CI's pass/fail).
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) examples/quickstart/out build dist
