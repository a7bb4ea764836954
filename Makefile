# Perdure: `make run` starts a node with the example services; `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run cluster test verify lint fmt typecheck proto bench bench-peer bench-cluster bench-query clean mutate simulate fuzz

$(STAMP): pyproject.toml sdk/pyproject.toml proto/pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e proto -e sdk -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) -m scripts.run_local

# Three nodes on this machine (127.0.0.1-3) with the example services, until Ctrl-C.
cluster: $(STAMP)
	$(PY) -m scripts.run_cluster

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

fmt: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

verify: lint typecheck test

proto: $(STAMP)
	PYTHON=$(abspath $(PY)) scripts/gen_proto.sh

# The seeded simulation (sim/): SEEDS seeds from 0 (default 100), or replay one with SEED=1234.
# `make test` runs a bounded number of them (tests/sim).
simulate: $(STAMP)
	$(PY) -m sim $(if $(SEED),--seed $(SEED),--seeds $(or $(SEEDS),100))

# The fuzzers (tests/fuzz) for SECONDS each (default 60); `make test` runs them for 3 s each.
fuzz: $(STAMP)
	PERDURE_FUZZ_SECONDS=$(or $(SECONDS),60) $(PY) -m pytest -q -p no:cacheprovider --timeout=0 tests/fuzz

# Mutation testing of the durability core (not part of `make test`): mutmut over the modules in
# pyproject's [tool.mutmut], then docs/mutation-report.md; fails on an unexplained survivor.
mutate: $(STAMP)
	$(PY) -m scripts.mutate

# wrk from apt, refreshing the package lists only when the install fails without.
WRK_INSTALL := apt-get install -y -q wrk || (apt-get update -q && apt-get install -y -q wrk)

# Exit 1 on any error or wrong answer; results in bench/results/ (bench/results.py).
bench: $(STAMP)
	@command -v wrk >/dev/null || ($(WRK_INSTALL)) >/dev/null 2>&1 || sudo sh -c '$(WRK_INSTALL)'
	$(PY) -m bench

bench-peer: $(STAMP)
	@command -v wrk >/dev/null || ($(WRK_INSTALL)) >/dev/null 2>&1 || sudo sh -c '$(WRK_INSTALL)'
	BENCH_PEER=restate $(PY) -m bench

# The workloads against 3 nodes on this machine, next to a single node in the same run.
bench-cluster: $(STAMP)
	@command -v wrk >/dev/null || ($(WRK_INSTALL)) >/dev/null 2>&1 || sudo sh -c '$(WRK_INSTALL)'
	BENCH_CLUSTER=1 BENCH_PROCESSES=1 $(PY) -m bench

# SQL introspection over 100,000 completed invocations, and what a heavy query costs the ingress
# (BENCH_QUERY_INVOCATIONS to change the count).
bench-query: $(STAMP)
	@command -v wrk >/dev/null || ($(WRK_INSTALL)) >/dev/null 2>&1 || sudo sh -c '$(WRK_INSTALL)'
	$(PY) -m bench.query

# Benchmark results that are not committed go; the committed ones (the README's) stay.
clean:
	rm -rf .perdure-data
	git clean -fqx -- bench/results
