# Two commands for a fresh machine:  make run  |  make test
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
RARPA := $(VENV)/bin/rarpa
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-sqlite test-postgres crash install system-deps chromium postgres demo serve bench load rebuild verify clean

# The virtual environment is (re)made when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test]'
	touch $@

# Front-end packages (htmx, axe-core) at the exact versions in package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: system-deps $(VENV)/.installed node_modules/.installed

# WeasyPrint (the annual-review PDF) needs Pango and a font from Debian.
system-deps:
	@ldconfig -p | grep -q 'libpangoft2-1.0.so' && fc-list 2>/dev/null | grep -qi dejavu || { \
	  echo "Installing Pango and fonts for PDF output (needs root)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core fontconfig >/dev/null; }

# Browser tests drive Debian's Chromium (Playwright cannot download browsers here).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests (needs root)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; }

# The tests run every record on PostgreSQL too, on a throwaway local server
# started from Debian's binaries (tests/conftest.py); nothing else is needed.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "Installing Debian's PostgreSQL server for the tests (needs root)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

run: install  ## set up, load the demo, serve on http://127.0.0.1:8000
	$(RARPA) demo
	$(RARPA) serve --host $(HOST) --port $(PORT)

# Each pass is spread over the machine's cores (pytest-xdist), a test file to a
# worker, so a file's module-scoped servers start once; WORKERS=0 runs in one process.
WORKERS ?= auto
XDIST := $(if $(filter 0,$(WORKERS)),,-n $(WORKERS) --dist loadfile)

test: install chromium postgres  ## install what tests need and run them all, on SQLite then on PostgreSQL
	$(PY) -m pytest --store=sqlite $(XDIST) $(PYTEST_ARGS)
	$(PY) -m pytest --store=postgres $(XDIST) $(PYTEST_ARGS)

# kill -9 under load, 20 times on each store (the suite runs 3).
crash: install postgres
	RARPA_CRASH_KILLS=20 $(PY) -m pytest -q -p no:cacheprovider --store=sqlite tests/test_crash.py
	RARPA_CRASH_KILLS=20 $(PY) -m pytest -q -p no:cacheprovider --store=postgres tests/test_crash.py

test-sqlite: install chromium
	$(PY) -m pytest --store=sqlite $(XDIST) $(PYTEST_ARGS)

test-postgres: install chromium postgres
	$(PY) -m pytest --store=postgres $(XDIST) $(PYTEST_ARGS)

demo: install
	$(RARPA) demo

serve: install
	$(RARPA) serve --host $(HOST) --port $(PORT)

bench: install
	$(RARPA) bench

# Load test over HTTP on 127.0.0.1 (rarpa/cli/load.py), about 4 minutes per store:
# saturation against a bare endpoint (best of 3 rounds), then a 2-minute classroom day;
# on SQLite, then on a throwaway PostgreSQL. LOAD_ARGS adds options (rarpa load --help).
LOAD_ARGS ?=
load: install postgres
	$(RARPA) load --rounds 3 --seconds 15 --classroom-seconds 120 --json var/load-sqlite.json $(LOAD_ARGS)
	$(RARPA) load --rounds 3 --seconds 15 --classroom-seconds 120 --json var/load-postgres.json --postgres $(LOAD_ARGS)

rebuild: install
	$(RARPA) rebuild

verify: install
	$(RARPA) verify

clean:
	rm -rf $(VENV) node_modules var .pytest_cache .hypothesis *.egg-info
