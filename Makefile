# Everything runs from a local virtual environment, created on first use.
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
# A contrib project with a constraints.txt of its own (an engine adapter) runs in a venv of its own
# (.ci/engine-venv), never in this one: its dependency tree must not meet the core's or another's.
ENGINES := $(patsubst %/constraints.txt,%/,$(wildcard contrib/*/constraints.txt))
CONTRIB := $(filter-out $(addsuffix pyproject.toml,$(ENGINES)),$(wildcard contrib/*/pyproject.toml))

.PHONY: install demo lint test bench clean constraints ui-assets

# constraints.txt pins every release installed here, so a new upstream release cannot change what
# the suite runs on; refresh it on purpose with `make constraints` and review the diff.
PIN     := --constraint constraints.txt

$(STAMP): pyproject.toml $(CONTRIB) constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(PIN) --upgrade pip
	$(BIN)/python -m pip install --quiet $(PIN) -e '.[test]'
	for project in $(dir $(CONTRIB)); do $(BIN)/python -m pip install --quiet $(PIN) -e "$$project[test]" || exit 1; done
	touch $(STAMP)

install: $(STAMP)

## Run the quickstart example on the embedded SQLite default.
demo: $(STAMP)
	$(BIN)/orchestrator run examples/quickstart/pipeline.yaml

## Lint and type-check the core (ruff and mypy --strict, configured in pyproject.toml; pinned in constraints.txt).
lint: $(STAMP)
	$(BIN)/ruff check core/orchestrator
	$(BIN)/mypy --strict core/orchestrator

## Run the whole test suite: the core's, then each contrib plugin's own (a pytest session each),
## an engine adapter's in its own cached venv.
test: $(STAMP)
	$(BIN)/python -m pytest
	for project in $(dir $(CONTRIB)); do $(BIN)/python -m pytest "$${project}tests" || exit 1; done
	for project in $(ENGINES); do venv=$$(bash .ci/engine-venv "$$project") && "$$venv/bin/python" -m pytest "$${project}tests" || exit 1; done

## Print the benchmark table (not part of CI's pass/fail).
bench: $(STAMP)
	$(BIN)/python -m bench

## Re-resolve the newest releases and rewrite constraints.txt (review the diff before committing);
## an engine adapter's own constraints.txt: bash .ci/engine-venv --freeze contrib/PROJECT.
constraints:
	rm -rf .venv-resolve
	$(PYTHON) -m venv .venv-resolve
	.venv-resolve/bin/python -m pip install --quiet --upgrade pip
	.venv-resolve/bin/python -m pip install --quiet -e '.[test]' $(foreach project,$(dir $(CONTRIB)),-e '$(project)[test]')
	{ echo '# Every release CI installs, pinned; regenerate on purpose with `make constraints`.'; \
	  .venv-resolve/bin/python -m pip freeze --all --exclude-editable; } > constraints.txt
	rm -rf .venv-resolve

clean:
	rm -rf $(VENV) examples/quickstart/out build dist

## Re-vendor the web UI's front-end libraries from the npm registry at the versions ui/package-lock.json pins.
ui-assets:
	cd ui && npm ci --no-audit --no-fund
	$(PYTHON) ui/vendor.py
