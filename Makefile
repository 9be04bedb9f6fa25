# The two commands a newcomer needs: `make run` (the platform) and `make test` (every test).
.PHONY: run test unit lint typecheck artefacts bootstrap bench

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
