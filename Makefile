# The two commands a newcomer needs: `make run` (the platform) and `make test` (every test).
.PHONY: run test unit lint typecheck artefacts bootstrap bench bench-pipeline

bootstrap:
	bash deploy/bootstrap.sh --with-postgres

run:
	bash deploy/bootstrap.sh
	uv run --frozen python deploy/run.py

test: bootstrap
	uv run --frozen ruff check .
	uv run --frozen ruff format --check .
	uv run --frozen mypy
	uv run --frozen pytest

# The fast loop for daily work: the pure rules, access policy and token checks; no broker, no
# database, no provider (under a minute). `make test` is still what CI runs.
unit:
	uv run --frozen pytest tests/unit -q

lint:
	uv run --frozen ruff check . && uv run --frozen ruff format --check .

typecheck:
	uv run --frozen mypy

artefacts:
	uv run --frozen python -m oversight_runtime.devtools artefacts

# Engine throughput on one core (evaluations/second); a benchmark, not a test. Options: see the script.
bench:
	uv run --frozen python benchmarks/engine_throughput.py

# The event pipeline on a real broker, OpenID Connect provider and service processes (free ports,
# a temp dir; never var/'s data): relay ceiling, each service's drain, report-to-alert latency idle
# and under load, ingest's write path, a 1M-event replay. A benchmark, not a test: ~10 min on two
# cores; prints a Markdown table and writes var/bench/pipeline.json. `make bench-pipeline
# ARGS=--quick` for a ~2-minute smoke run; other options: benchmarks/pipeline.py --help.
bench-pipeline:
	uv run --frozen python benchmarks/pipeline.py $(ARGS)
