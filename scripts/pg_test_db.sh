#!/usr/bin/env bash
# Ensure a PostgreSQL role and database for the test suite, idempotently, and print its URL.
#
# Usage:
#   export ASSIST_TEST_PG_URL="$(scripts/pg_test_db.sh)"
#   .venv/bin/pytest tests/unit/db -m postgres
#
# Needs a local PostgreSQL (Debian's postgresql package) and the right to `su postgres`
# (run as root, as CI does). Overridable: PG_ROLE, PG_PASSWORD, PG_DB, PG_HOST, PG_PORT.
set -euo pipefail

ROLE="${PG_ROLE:-assist}"
PASSWORD="${PG_PASSWORD:-assist}"
DB="${PG_DB:-assist_test}"
HOST="${PG_HOST:-127.0.0.1}"
PORT="${PG_PORT:-5432}"

as_postgres() {
  if [ "$(id -un)" = "postgres" ]; then "$@"; else su postgres -c "$(printf '%q ' "$@")"; fi
}

# Start the cluster when it is down (containers have no systemd).
if command -v pg_lsclusters >/dev/null 2>&1; then
  while read -r ver cluster _port status _rest; do
    if [ "$status" != "online" ]; then
      pg_ctlcluster --skip-systemctl-redirect "$ver" "$cluster" start >&2
    fi
  done < <(pg_lsclusters --no-header)
fi

for _ in $(seq 1 30); do
  as_postgres pg_isready -q -p "$PORT" && break
  sleep 1
done

# psql variables (:'x') quote literals safely; DO blocks cannot see them, hence \gexec.
as_postgres psql -v ON_ERROR_STOP=1 -q -p "$PORT" -d postgres \
  -v role="$ROLE" -v pw="$PASSWORD" -v db="$DB" >&2 <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', :'pw')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', :'role', :'pw') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
# PostgreSQL 15 no longer lets every role create in `public`; tests create a schema each.
as_postgres psql -v ON_ERROR_STOP=1 -q -p "$PORT" -d "$DB" -v role="$ROLE" >&2 <<'SQL'
SELECT format('GRANT CREATE ON DATABASE %I TO %I', current_database(), :'role') \gexec
SELECT format('ALTER SCHEMA public OWNER TO %I', :'role') \gexec
SQL

echo "postgresql+psycopg://${ROLE}:${PASSWORD}@${HOST}:${PORT}/${DB}"
