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

.PHONY: book test lint notebooks clean help

help:
	@echo "make book   execute every notebook (TDGEN_PROFILE=$(TDGEN_PROFILE)) and build the HTML book in _build/html"
	@echo "make test   lint, unit tests, every notebook under nbval at the smoke profile, and the smoke book in a browser"
	@echo "make lint   ruff over src, tests, notebooks and book extensions"
	@echo "make notebooks  re-pair notebooks/*.ipynb with their jupytext .py sources"
	@echo "make clean  remove the built book and its execution cache"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=python3.11 (or newer)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[book,test]'
	touch $(STAMP)

book: $(STAMP)
	$(BIN)/python -m tdgen.booktools cache-guard _build/.jupyter_cache
	$(BIN)/jupyter-book build . --all --warningiserror --nitpick --keep-going
	@echo "Book built: open _build/html/index.html"

SMOKE_BOOK := _build/smoke

test: lint
	$(BIN)/python -m pytest tests --ignore=tests/browser
	$(BIN)/python -m tdgen.booktools check-pairs notebooks
	TDGEN_PROFILE=smoke $(BIN)/python -m pytest --nbval-lax --nbval-current-env notebooks/*.ipynb
	TDGEN_PROFILE=smoke $(BIN)/python -m tdgen.booktools cache-guard $(SMOKE_BOOK)/_build/.jupyter_cache
	TDGEN_PROFILE=smoke $(BIN)/jupyter-book build . --all --path-output $(SMOKE_BOOK) --warningiserror --nitpick --keep-going
	TDGEN_PROFILE=smoke $(BIN)/jupyter-book build . --path-output $(SMOKE_BOOK) --builder linkcheck
	TDGEN_BOOK_HTML=$(SMOKE_BOOK)/_build/html $(BIN)/python -m pytest tests/browser

lint: $(STAMP)
	$(BIN)/ruff check src tests notebooks book benchmarks
	$(BIN)/ruff format --check src tests book benchmarks notebooks

notebooks: $(STAMP)
	$(BIN)/jupytext --sync notebooks/*.py

clean:
	rm -rf _build
