#!/usr/bin/env bash
# Runs every test of salesloft-prod on a fresh machine: installs and starts what the tests need (a throwaway
# PostgreSQL server from Debian's packages), runs the whole workspace's tests (unit, integration, doc), and
# stops what it started. Exit status: non-zero when any test fails or a peer cannot be started.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo is not installed; install the Rust toolchain (rustup) first" >&2
  exit 2
fi

# The PostgreSQL peer: the store's suite runs on SQLite and on a real PostgreSQL server, and fails loudly
# (never skips) when the server is absent.
pg_env=$(scripts/pg-test-server.sh start)
eval "$pg_env"
trap 'scripts/pg-test-server.sh stop >/dev/null 2>&1 || true' EXIT
echo "PostgreSQL test server: ${SLPROD_TEST_PG_URL}"

cargo test --workspace --locked --no-fail-fast "$@"
