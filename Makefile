# hullwatch: `make setup` once, `make test`, then `make demo`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: setup test test-fast lint schema bench bench-detection bench-lag bench-hil bench-outbox bench-compare bench-e2e soak demo clean

setup: ## venv, the package with its dev tools, and Mosquitto and PostgreSQL where they are missing
	./scripts/install-mosquitto
	./scripts/install-postgresql
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"

test: lint ## lint and type-check, then every test (unit, driver, simulator, real broker)
	$(BIN)/pytest

test-fast: lint ## the inner loop: every test that starts no process and runs no whole scenario (markers `integration`, `hil`)
	HULLWATCH_TEST_FAST=1 $(BIN)/pytest -m "not integration and not hil"

lint: ## ruff (lint and format) and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	./scripts/typecheck

schema: ## docs/schema/*.schema.json from the wire contract's models (daemon/delivery/wire/)
	$(BIN)/python scripts/generate-schema

bench: ## detector cost per sample and memory per window (numbers go in docs/)
	$(BIN)/python bench/detector_cost.py

bench-detection: ## every reference case, white and realistic noise, vs the LS limits and two baselines; the 24 h cases take long (ARGS="--skip-24h --jobs 1")
	$(BIN)/python bench/detection.py $(ARGS)

bench-lag: ## the online thermal-lag estimate on the reference cases and two 3 h runs (docs/detection.md)
	$(BIN)/python bench/lag_estimate.py --long

bench-hil: ## accelerated HIL speed: one BMP388 at 25 Hz, HOURS simulated (default 1; docs/hil-performance.md)
	$(BIN)/python bench/hil_speed.py --hours $(or $(HOURS),1)

bench-outbox: ## the outbox's fsync and a 25 Hz poller: loop lateness, writer thread vs inline, real and slow disk (~50 s; docs/delivery.md)
	$(BIN)/python bench/outbox_stall.py $(ARGS)

bench-compare: ## before/after on one machine in one run: CPU per sample and alert latency of BEFORE (a git ref, default in bench/compare_trees.py) and this checkout
	$(BIN)/python bench/compare_trees.py $(if $(BEFORE),--before $(BEFORE)) $(ARGS)

bench-e2e: ## the daemon against a bare read loop on the simulator, two BMP390 at 50 Hz: CPU per sample and ratio, RSS, alert latency (~5 min; docs/performance.md)
	$(BIN)/python bench/e2e.py $(ARGS)

soak: ## 24 simulated hours through the daemon, publisher, outbox and Mosquitto: memory and open files
	$(BIN)/python bench/soak.py

demo: ## a private broker, the simulated chamber, the daemon, and `hullwatch watch`
	$(BIN)/hullwatch demo

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .hypothesis
