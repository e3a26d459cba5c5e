# memberflow: `make demo` runs the main job, `make test` runs every test against real servers.
# Both do all set-up on a fresh machine (Debian packages, venv, Python packages, Kafka jars).

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: setup demo test unit lint format bench stack-up stack-down clean

$(STAMP): pyproject.toml deploy/prereqs.sh
	./deploy/prereqs.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)
	$(BIN)/python -c "from deploy.kafka import default_libs_dir, ensure_jars; ensure_jars(default_libs_dir())"

## The Private Contacts story and a tier scoring run on a fresh local stack, then clean up.
demo: setup
	$(BIN)/memberflow demo

## Every test tier (unit, workflow, integration, e2e); fixtures start and stop the servers.
test: setup
	$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

unit: setup
	$(BIN)/python -m pytest -m unit -q

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy contracts workflows workers deploy tests

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Benchmarks (not part of `make test`), each at its default size; BENCHES=bench_tier_run picks one.
BENCHES ?= bench_stack bench_bridge_throughput bench_desk_latency bench_codec bench_tier_scorer bench_tier_run
bench: setup
	set -e; for bench in $(BENCHES); do $(BIN)/python -m tests.bench.$$bench; done

stack-up: setup
	$(BIN)/memberflow stack up

stack-down:
	$(BIN)/memberflow stack down

clean: stack-down
	rm -rf .state .cache $(VENV)
