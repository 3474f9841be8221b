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
# A server that was already running (a developer's) is used and left running; one started here is stopped.
if scripts/pg-test-server.sh status >/dev/null 2>&1; then
  pg_env=$(scripts/pg-test-server.sh env)
else
  pg_env=$(scripts/pg-test-server.sh start)
  trap 'scripts/pg-test-server.sh stop >/dev/null 2>&1 || true' EXIT
fi
eval "$pg_env"
echo "PostgreSQL test server: ${SLPROD_TEST_PG_URL}"

# Headless Chromium renders `slprod check --format html` in its test (Debian's package; root or sudo).
if [ -z "${SLPROD_TEST_CHROMIUM:-}" ]; then
  if ! command -v chromium >/dev/null 2>&1; then
    echo "installing Debian's chromium for the HTML report test…" >&2
    sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >&2
  fi
  export SLPROD_TEST_CHROMIUM="$(command -v chromium)"
fi

cargo test --workspace --locked --no-fail-fast "$@"
