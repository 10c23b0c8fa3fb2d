#!/usr/bin/env bash
# Installs everything (scripts/install.sh), prepares PostgreSQL and Chromium, and runs
# every test tier: unit, contract, PostgreSQL, the real-vLLM integration tier, the API
# and the browser tests. Extra arguments go to pytest (e.g. -m "not integration").
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 RAGAS_DO_NOT_TRACK=true

ASSIST_SKIP_SAMPLE=1 bash scripts/install.sh

echo "==> PostgreSQL for the database tests"
if url=$(bash scripts/pg_test_db.sh 2>/tmp/pg_test_db.err); then
  export ASSIST_TEST_PG_URL="$url"
else
  cat /tmp/pg_test_db.err >&2
  echo "PostgreSQL is not available: the postgres tests will be skipped" >&2
fi

echo "==> Chromium (and CJK fonts for the screenshots) for the browser tests"
if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi "noto.*cjk"; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null) \
    || echo "could not install chromium: browser tests will fail" >&2
fi

echo "==> ruff"
.venv/bin/ruff check .

echo "==> mypy (the core package)"
.venv/bin/mypy assist

echo "==> pytest"
exec .venv/bin/pytest -q "$@"
