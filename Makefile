# Everything a fresh machine needs is installed by these targets; nothing is installed by hand.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NPM_STAMP := interop/node_modules/.installed-stamp
# Test workers: the machine has 2 cores.
WORKERS ?= 2

.PHONY: install demo test test-fast lab docs export clean-nbs readme interop-fixtures clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev,native]"
	touch $(STAMP)

$(NPM_STAMP): interop/package.json interop/package-lock.json
	cd interop && npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

install: $(STAMP) $(NPM_STAMP)

## The main demo on the embedded default.
demo: install
	$(BIN)/lumoz-ref demo

## Every notebook's tests (nbdev-test, slow cells included) and the tests/ suite (pytest).
test: install
	$(BIN)/nbdev-test --n-workers $(WORKERS) --flags slow
	$(BIN)/pytest -n $(WORKERS) -p no:cacheprovider tests

## The quick tier for development: no slow cells, no slow tests.
test-fast: install
	$(BIN)/nbdev-test --n-workers $(WORKERS)
	$(BIN)/pytest -n $(WORKERS) -m "not slow" tests

lab: install
	$(BIN)/jupyter lab nbs

## The book: nbdev processes the notebooks, Sphinx + myst-nb executes and renders them offline.
docs: install
	$(BIN)/python docs/build.py

export: $(STAMP)
	$(BIN)/nbdev-export
	$(BIN)/nbdev-clean

## README.md is made from nbs/index.ipynb (nbdev-readme needs Quarto, which is not available here).
readme: $(STAMP)
	$(BIN)/jupyter nbconvert --to markdown --execute --ExecutePreprocessor.cwd=nbs --output-dir . --output README nbs/index.ipynb
	sed -i -E 's/\]\(([0-9]{2}[a-z]?_[a-z0-9_]+\.ipynb)\)/](nbs\/\1)/g' README.md

## Rebuild the circom/snarkjs fixtures under data/interop with the npm tools.
interop-fixtures: install
	bash interop/make_fixtures.sh

clean:
	rm -rf _proc _docs docs/_build
