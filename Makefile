# Everything a fresh machine needs is installed by these targets; nothing is installed by hand.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NPM_STAMP := interop/node_modules/.installed-stamp
SYS_STAMP := $(VENV)/.system-stamp
# Test workers: the machine has 2 cores.
WORKERS ?= 2

.PHONY: install demo test test-fast lab dashboard docs export clean-nbs readme interop-fixtures clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev,native]"
	touch $(STAMP)

$(NPM_STAMP): interop/package.json interop/package-lock.json
	cd interop && npm ci --no-audit --no-fund --loglevel=error
	touch $(NPM_STAMP)

## Debian's chromium (browser tests, through playwright without a browser download) and graphviz (the book's
## diagrams), installed when this runs as root with apt; otherwise the tests that need them say what is missing.
$(SYS_STAMP): $(STAMP)
	@if [ -x /usr/lib/chromium/chromium ] && command -v dot >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium graphviz >/dev/null; \
	else echo "note: chromium and graphviz are not installed (need root and apt); browser tests and diagrams will say so"; fi
	touch $(SYS_STAMP)

install: $(STAMP) $(NPM_STAMP) $(SYS_STAMP)

## The main demo on the embedded default.
demo: install
	$(BIN)/lumoz-ref demo

## Every notebook's tests (nbdev-test, slow cells included) and the tests/ suite (pytest).
test: install
	$(BIN)/nbdev-test --n-workers $(WORKERS) --flags slow
	$(BIN)/pytest -n $(WORKERS) --dist loadgroup -p no:cacheprovider tests

## The quick tier for development: no slow cells, no slow tests.
test-fast: install
	$(BIN)/nbdev-test --n-workers $(WORKERS)
	$(BIN)/pytest -n $(WORKERS) --dist loadgroup -m "not slow" tests

lab: install
	$(BIN)/jupyter lab nbs

## The dispute stepper as a Voila app on 127.0.0.1:8866 (chapter 14).
dashboard: install
	$(BIN)/lumoz-ref dashboard

## The book: nbdev processes the notebooks, Sphinx + myst-nb executes and renders them offline.
docs: install
	$(BIN)/python docs/build.py

export: $(STAMP)
	$(BIN)/nbdev-export
	$(BIN)/nbdev-clean

## README.md is made from nbs/index.ipynb (nbdev-readme needs Quarto, which is not available here).
readme: $(STAMP)
	$(BIN)/jupyter nbconvert --to markdown --execute --ExecutePreprocessor.cwd=nbs --output-dir . --output README \
	  --TagRemovePreprocessor.enabled=True --TagRemovePreprocessor.remove_input_tags=hide-input nbs/index.ipynb
	sed -i -E 's/\]\(([0-9]{2}[a-z]?_[a-z0-9_]+\.ipynb)\)/](nbs\/\1)/g' README.md

## Rebuild the circom/snarkjs fixtures under data/interop with the npm tools.
interop-fixtures: install
	bash interop/make_fixtures.sh

clean:
	rm -rf _proc _docs docs/_build
