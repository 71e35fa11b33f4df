# Two commands for a fresh machine:  make run  |  make test
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
RARPA := $(VENV)/bin/rarpa
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install demo serve bench rebuild verify clean

# The virtual environment is (re)made when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install  ## set up, load the demo, serve on http://127.0.0.1:8000
	$(RARPA) demo
	$(RARPA) serve --host $(HOST) --port $(PORT)

test: install  ## install what tests need and run them all
	$(PY) -m pytest $(PYTEST_ARGS)

demo: install
	$(RARPA) demo

serve: install
	$(RARPA) serve --host $(HOST) --port $(PORT)

bench: install
	$(RARPA) bench

rebuild: install
	$(RARPA) rebuild

verify: install
	$(RARPA) verify

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis *.egg-info
