# Targets: setup (venv + install), book (site), test (everything CI runs), unit, lint, lab, full (re-execute
# notebooks), status.
# Every target creates .venv on first use. Variables: PYTHON (to create the venv), CH (chapter for `make full`).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.d2l-installed
JOBS   ?= 2
CH     ?=

.PHONY: setup book test unit lint lab full status clean
.DEFAULT_GOAL := book

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install d2lutils with the book and test extras

book: $(STAMP)  ## build the website from the stored notebook outputs into _build/html/
	$(VENV)/bin/jupyter-book build . -W -n --keep-going
	@echo "The book is built: open $(CURDIR)/_build/html/index.html"

# One pytest run: unit and data tests, the freshness/toc/site tests, and every notebook through nbval
# in quick mode (kernels inherit D2L_MODE=quick; --dist loadfile keeps a notebook's cells together;
# one thread per process, since the xdist workers already use the cores). Then the linter, whatever
# pytest said, so that one run reports both; the target fails if either failed.
test: $(STAMP)  ## run every test and the linter (needs D2L_DATA_MIRROR or internet for the data sets)
	status=0; \
	D2L_MODE=quick OMP_NUM_THREADS=1 $(PY) -m pytest tests notebooks --nbval-lax --nbval-current-env \
		-n $(JOBS) --dist loadfile -p no:cacheprovider --durations=15 || status=1; \
	$(MAKE) --no-print-directory lint || status=1; \
	exit $$status

# ruff over the whole repository, notebooks included (ruff reads .ipynb), with pyproject.toml's rules;
# then notebook code cells within 88 columns, so that they fit the page without sideways scrolling.
lint: $(STAMP)  ## ruff: the Python rules everywhere, 88 columns in notebooks
	status=0; \
	$(VENV)/bin/ruff check . || status=1; \
	$(VENV)/bin/ruff check --select E501 --line-length 88 notebooks || status=1; \
	exit $$status

# Builds the site and loads every page in headless Chromium (tests/test_site.py): 2 minutes or more.
unit: $(STAMP)  ## only the tests of d2lutils and the book, site included (no notebook execution)
	D2L_MODE=quick $(PY) -m pytest tests -p no:cacheprovider

lab: $(STAMP)  ## start JupyterLab
	$(VENV)/bin/jupyter lab

full: $(STAMP)  ## execute notebooks in full mode and store their outputs: make full [CH=02]
	$(PY) -m d2lutils.book run --skip-pending $(CH)

status: $(STAMP)  ## fresh / stale / pending ... per notebook, older-library runs, a summary line
	$(PY) -m d2lutils.book status

clean:
	rm -rf _build
