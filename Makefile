# valuemax — the two quick-start commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

.PHONY: demo test lint bench install install-test browser servers clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade --quiet pip

install: $(BIN)/python
	$(PIP) install --quiet -e .

install-test: $(BIN)/python servers
	$(PIP) install --quiet -e '.[test,spark,bench,serve,postgres,mysql]'

# Debian's postgresql and mariadb-server for the engine tests, and mysqlclient's build deps.
servers:
	@bash scripts/test-servers.sh install

# Debian's chromium for the browser test of report.html (no browser download).
browser:
	@bash scripts/install-browser.sh

demo: install
	$(BIN)/valuemax demo --out valuemax-demo

# PostgreSQL and MariaDB run on loopback for the whole pytest run and stop after it, even
# when it fails (scripts/test-servers.sh run); their URLs reach the tests in the environment.
# pytest-xdist runs the tests on TEST_WORKERS processes (default 2, one per core); --dist
# loadgroup keeps the tests that share a real run, a module fixture, the Spark session, or the
# PostgreSQL/MariaDB servers on one worker (tests/conftest.py; Spark and the servers are two
# groups). `make test TEST_WORKERS=0` runs them in this process, one after the other (the
# pytest phase of an idle fresh-clone CI, 7 Dec: 8 min 37 s for 2,502 tests with two workers).
# The 25 slowest tests are listed at the end (where the pytest phase's time goes, issue 12);
# PYTEST_ARGS passes more options, e.g. `make test PYTEST_ARGS="-x tests/clv"`.
TEST_WORKERS ?= 2
PYTEST_ARGS ?=
test: install-test browser
	bash scripts/test-servers.sh run $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadgroup \
		--durations=25 $(PYTEST_ARGS)
	$(BIN)/lint-imports

lint: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports

bench: install-test
	$(BIN)/python benchmarks/bench_analyze.py

clean:
	rm -rf valuemax-demo .pytest_cache build dist
