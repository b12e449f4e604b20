# The two commands a user needs: `make demo` and `make test`. Everything installs from
# requirements.txt pinned by constraints.txt into .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt constraints.txt | sha256sum | cut -c1-12)

export PYTHONPATH := $(CURDIR)/plugins:$(CURDIR)

.PHONY: venv demo airflow scale-demo test test-deps test-scale bench bench-quick lint format lock clean
# Debian packages that only tests need: a real smbd and smbclient for the SMB share, Chromium for
# the browser check of the Airflow UI. `make demo` needs none of them (fonts come from PyPI).
TEST_PACKAGES := samba smbclient chromium

$(STAMP): requirements.txt constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

demo: venv
	$(PY) -m devtools.demo.run

# Airflow with its UI on the embedded default (http://127.0.0.1:8080, user admin; see README).
AIRFLOW_PORT ?= 8080
airflow: venv
	$(PY) -m devtools.demo.airflow_local --port $(AIRFLOW_PORT)

# docker-compose.yaml's topology as processes here: PostgreSQL metadata, Redis, two Celery workers
# (PostgreSQL and Redis on 127.0.0.1); checked against the embedded run. See README "Scaling out".
scale-demo: venv
	$(PY) -m devtools.scale_demo

# Installs the missing TEST_PACKAGES first when run as root (as on CI); otherwise the tests that
# need them are skipped, each with its reason in the summary (-rs).
# The scale-out test (marker celery, ~7 min of its own) runs in `make test-scale`; CI runs both.
PYTEST_ARGS ?= -n auto --dist loadscope -m "not celery"
test: venv test-deps
	$(PY) -m pytest $(PYTEST_ARGS)

test-scale: venv
	$(PY) -m pytest -m celery tests/test_scale_out.py

test-deps:
	@missing=$$(for p in $(TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	missing=$$(echo $$missing); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then \
		echo "make test: cannot install $$missing (not root, or no apt-get); the tests that need them will be skipped"; \
	else \
		echo "make test: installing the Debian packages only tests need: $$missing"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null) \
			|| echo "make test: installing $$missing failed; the tests that need them will be skipped"; \
	fi

# Benchmarks against a scratch PostgreSQL (not part of `make test`); rewrites docs/benchmarks.md.
# Full sizes take hours; a quick run:
# make bench BENCH_ARGS='--ingest-sizes 10000 --chunked-sizes 20000 --warehouse-sizes 10000 --repeats 1'
BENCH_ARGS ?=
bench: venv
	$(PY) -m devtools.bench $(BENCH_ARGS)

# The quick sizes above (minutes; for CI, not part of `make test`); rewrites docs/benchmarks.md and .json
# unless BENCH_ARGS adds e.g. --out /tmp/bench.md.
BENCH_QUICK_ARGS := --ingest-sizes 10000 --chunked-sizes 20000 --warehouse-sizes 10000 --repeats 1
bench-quick: venv
	$(PY) -m devtools.bench $(BENCH_QUICK_ARGS) $(BENCH_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Re-pin the transitive dependencies after changing requirements.txt.
lock:
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install --quiet -r requirements.txt
	.lockenv/bin/pip freeze --exclude-editable | sort -f > constraints.txt
	rm -rf .lockenv

clean:
	rm -rf .airflow data test-artifacts
