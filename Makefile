# The two set-up commands of the README: `make run` and `make test`. Each builds .venv from nothing
# (or refreshes it when pyproject.toml changes) before doing its job.
PYTHON ?= python3
VENV   ?= .venv
CONFIG ?= openstack
REPLICAS ?= 1
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench conformance clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) devcloud/run.py $(CONFIG) --replicas $(REPLICAS)

test: $(STAMP)
	$(PY) tests/testdata.py >/dev/null
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) -m pytest -q

# ruff, and the import contracts of .importlinter (layering: gateway -> neutral contract <- clouds)
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

bench: $(STAMP)
	$(PY) bench/codec.py

conformance: $(STAMP)
	$(PY) tests/testdata.py >/dev/null
	$(PY) -m gateway.protocol.conformance .cache/botocore-$$($(PY) -c 'import botocore; print(botocore.__version__)')/tests/unit/protocols

clean:
	rm -rf $(VENV) .cache .pytest_cache .ruff_cache *.egg-info
