#!/usr/bin/env bash
# Runs every test of salesloft-prod on a fresh machine: installs and starts what the tests need (a throwaway
# PostgreSQL server from Debian's packages; OpenBao and moto from PyPI into venvs under ~/.cache), runs the
# whole workspace's tests (unit, integration, doc) and the GCP backend's (behind its Cargo feature), and stops
# what it started. Exit status: non-zero when any test fails or a peer cannot be started.
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
  pg_started=1
  trap 'scripts/pg-test-server.sh stop >/dev/null 2>&1 || true' EXIT
fi
eval "$pg_env"
echo "PostgreSQL test server: ${SLPROD_TEST_PG_URL}"

# The secret-manager peers (research/test-peers.md §2–3): OpenBao for Vault KV v2, moto for AWS Secrets
# Manager. Same rule: a running one is used and left running, one started here is stopped.
stop_peers=()
for peer in bao moto; do
  if scripts/${peer}-test-server.sh status >/dev/null 2>&1; then
    peer_env=$(scripts/${peer}-test-server.sh env)
  else
    peer_env=$(scripts/${peer}-test-server.sh start)
    stop_peers+=("$peer")
  fi
  eval "$peer_env"
done
cleanup() {
  for peer in ${stop_peers[@]+"${stop_peers[@]}"}; do scripts/${peer}-test-server.sh stop >/dev/null 2>&1 || true; done
  if [ "${pg_started:-0}" = "1" ]; then scripts/pg-test-server.sh stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
echo "OpenBao test server: ${SLPROD_TEST_VAULT_ADDR}; moto test server: ${SLPROD_TEST_AWS_ENDPOINT}"

status=0
cargo test --workspace --locked --no-fail-fast "$@" || status=$?
# GCP Secret Manager is an opt-in feature; its suite runs against a fake of the REST API.
cargo test -p salesloft-secrets --features gcp --locked --no-fail-fast "$@" || status=$?
exit $status
