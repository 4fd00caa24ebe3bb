# Two commands for a new user: `make book` and `make test` (see README.md).
# Both create .venv on first use and install tdgen with its extras into it.
# Books are built with --all: every page is re-read and rewritten (cheap: notebook
# outputs come from the execution cache), so a change to the book's extension shows.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TDGEN_PROFILE ?= quick
export TDGEN_PROFILE
export TDGEN_ROOT := $(CURDIR)

.PHONY: book test check-book check-results check-gpu-profile results lint notebooks clean help lock

help:
	@echo "make book   execute every notebook (TDGEN_PROFILE=$(TDGEN_PROFILE)) and build the HTML book in _build/html"
	@echo "make test   lint, unit tests, every notebook under nbval at the smoke profile (and check-book if a book is built)"
	@echo "make check-book     linkcheck and headless Chromium over the built book in _build/html"
	@echo "make check-results  the regenerated results/$$TDGEN_PROFILE against the committed ones"
	@echo "make check-gpu-profile  every notebook at gpu-smoke (the gpu profile's games, smoke's budgets) on this machine"
	@echo "make results PROFILE=gpu [JOBS=5] [OUT=dir]  every notebook at PROFILE without the book: results, figures, run times"
	@echo "make lint   ruff over src, tests, notebooks and book extensions"
	@echo "make notebooks  re-pair notebooks/*.ipynb with their jupytext .py sources"
	@echo "make clean  remove the built book and its execution cache"
	@echo "make lock   regenerate requirements.lock and requirements-colab.txt from pyproject.toml (UPGRADE=--upgrade: newest releases)"

# .venv gets exactly the pins of requirements.lock, each checked against its hashes, then tdgen itself.
$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=python3.11 (or newer)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# requirements.lock: every package of .venv (pyproject's dependencies and extras book and test) for
# Python 3.11 on Linux x86_64, with hashes. requirements-colab.txt: the same versions without the
# book and test tools, plus JAX for CUDA, for the notebooks' Colab cell (Colab's Python, 3.13 now;
# Colab keeps its own pandas). Pins still allowed by pyproject stay; `make lock UPGRADE=--upgrade`
# moves every pin to the newest release.
COLAB_PYTHON ?= 3.13
UV_COMPILE = $(BIN)/python -m uv pip compile pyproject.toml --quiet --python-platform x86_64-manylinux_2_28 \
	--custom-compile-command 'make lock' $(UPGRADE)

lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet 'uv>=0.5'
	$(UV_COMPILE) --python-version 3.11 --extra book --extra test --generate-hashes -o requirements.lock
	$(UV_COMPILE) --python-version $(COLAB_PYTHON) --extra gpu --constraint requirements.lock \
		--no-emit-package pandas --no-annotate -o requirements-colab.txt

book: $(STAMP)
	$(BIN)/python -m tdgen.booktools cache-guard _build/.jupyter_cache
	$(BIN)/jupyter-book build . --all --warningiserror --nitpick --keep-going
	@echo "Book built: open _build/html/index.html"

test: lint
	$(BIN)/python -m pytest -n auto --dist worksteal tests --ignore=tests/browser tests/browser/test_page_checks.py
	$(BIN)/python -m tdgen.booktools check-pairs notebooks
	TDGEN_PROFILE=smoke $(BIN)/python -m pytest --nbval-lax --nbval-current-env notebooks/*.ipynb
	@if [ -f _build/html/index.html ]; then $(MAKE) --no-print-directory check-book; \
	else echo "No built book in _build/html: the browser check runs with 'make check-book' after 'make book'."; fi

# The built book as a reader meets it: Sphinx's linkcheck (local links; reads the pages from
# the execution cache, executes nothing) and the pages in headless Chromium.
check-book: $(STAMP)
	$(BIN)/jupyter-book build . --builder linkcheck
	TDGEN_BOOK_HTML=_build/html $(BIN)/python -m pytest tests/browser

# The results the last `make book` wrote against those committed at HEAD (strict on the
# committed run's lock and CPU; see tdgen.compare).
check-results: $(STAMP)
	$(BIN)/python -m tdgen.booktools compare-results results/$(TDGEN_PROFILE)

# The gpu profile's code paths without a GPU: every notebook at gpu-smoke (gpu's four games at smoke's budgets)
# through the command a GPU run uses, bundle included; CI runs it after make test (about 7 min on 2 cores).
check-gpu-profile: $(STAMP)
	$(BIN)/python -m tdgen.runbook gpu-smoke --jobs 2 --out _build/gpu-smoke-bundle

# Every notebook at PROFILE (default: TDGEN_PROFILE) in a fresh kernel, no book: results/<profile>/
# (with runtime.json) and figures/<profile>/; OUT=dir also copies them there as a few small files; JOBS=N trains
# the agents first, then runs N notebooks at a time.
PROFILE ?= $(TDGEN_PROFILE)
results: $(STAMP)
	$(BIN)/python -m tdgen.runbook $(PROFILE) $(if $(JOBS),--jobs $(JOBS)) $(if $(OUT),--out $(OUT))

lint: $(STAMP)
	$(BIN)/ruff check src tests notebooks book benchmarks
	$(BIN)/ruff format --check src tests book benchmarks notebooks

notebooks: $(STAMP)
	$(BIN)/jupytext --sync notebooks/*.py

clean:
	rm -rf _build
