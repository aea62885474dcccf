# motcua — two commands set up everything: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: demo test system-packages venv lint bench clean constraints

demo: system-packages $(STAMP)
	$(BIN)/motcua demo $(DEMO_ARGS)

test: system-packages $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

system-packages:
	@scripts/install-system-packages.sh

venv: $(STAMP)

# constraints.txt pins the versions the suite last passed with, so a new release of a dependency
# cannot break a fresh machine unnoticed; refresh it with `make constraints` after an upgrade.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[all,dev]'
	@touch $(STAMP)

constraints: $(STAMP)
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^motcua' > constraints.txt

lint: system-packages $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: system-packages $(STAMP)
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
