# The two commands a user needs: `make demo` and `make test`. Everything installs from
# requirements.txt pinned by constraints.txt into .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt constraints.txt | sha256sum | cut -c1-12)

export PYTHONPATH := $(CURDIR)/plugins

.PHONY: venv demo airflow scale-demo test bench lint format lock clean system-deps
SYSTEM_PACKAGES := fonts-thai-tlwg poppler-utils samba smbclient libpango-1.0-0 libpangoft2-1.0-0 chromium

$(STAMP): requirements.txt constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

venv: $(STAMP)

demo: venv
	$(PY) -m complaints.demo.run

# Airflow with its UI on the embedded default (http://127.0.0.1:8080, user admin; see README).
AIRFLOW_PORT ?= 8080
airflow: venv
	$(PY) -m complaints.demo.airflow_local --port $(AIRFLOW_PORT)

# docker-compose.yaml's topology as processes here: PostgreSQL metadata, Redis, two Celery workers
# (PostgreSQL and Redis on 127.0.0.1); checked against the embedded run. See README "Scaling out".
scale-demo: venv
	PYTHONPATH=$(CURDIR)/plugins:$(CURDIR) $(PY) -m devtools.scale_demo

test: venv
	$(PY) -m pytest

# Benchmarks against a scratch PostgreSQL (not part of `make test`); rewrites docs/benchmarks.md.
# Full sizes take hours; a quick run:
# make bench BENCH_ARGS='--ingest-sizes 10000 --chunked-sizes 20000 --warehouse-sizes 10000 --repeats 1'
BENCH_ARGS ?=
bench: venv
	$(PY) -m complaints.bench $(BENCH_ARGS)

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

# Debian packages the reports (Thai font, Pango for WeasyPrint, poppler) and the SMB tests need.
system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

clean:
	rm -rf .airflow data test-artifacts
