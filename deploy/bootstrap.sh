#!/usr/bin/env bash
# Install everything the platform and its tests need on a fresh machine of this project's kind:
# uv (from PyPI), the Python workspace (from uv.lock), PostgreSQL (from Debian's packages), and the
# jars of the Kafka broker and of the local OpenID Connect provider (from Maven Central). Safe to
# run again: each step is skipped when done.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v uv >/dev/null 2>&1; then
  echo "bootstrap: installing uv from PyPI"
  python3 -m pip install --quiet --disable-pip-version-check uv
fi

echo "bootstrap: syncing the Python workspace from uv.lock"
uv sync --frozen --quiet

if [ "${1:-}" = "--with-postgres" ]; then
  uv run --frozen python deploy/postgres/pg.py install
fi

echo "bootstrap: fetching the Kafka broker from Maven Central (cached after the first run)"
uv run --frozen python deploy/kafka/broker.py fetch

echo "bootstrap: fetching the OpenID Connect provider from Maven Central (cached after the first run)"
uv run --frozen python deploy/oidc/issuer.py fetch
