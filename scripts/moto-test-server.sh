#!/usr/bin/env bash
# Throwaway moto server (AWS Secrets Manager API) for the secret-manager tests (research/test-peers.md §2).
#
#   scripts/moto-test-server.sh start   # pip install 'moto[server]' into a venv if missing, start moto_server;
#                                       # prints `export SLPROD_TEST_AWS_ENDPOINT=…`
#   scripts/moto-test-server.sh env     # prints the export line of a running server
#   scripts/moto-test-server.sh status  # exit 0 when it answers
#   scripts/moto-test-server.sh stop    # stop it (by its PID file)
#
# Use: eval "$(scripts/moto-test-server.sh start)"; cargo test -p salesloft-secrets; scripts/moto-test-server.sh stop
#
# Only the export line goes to stdout; progress goes to stderr. moto accepts any credentials (the tests use
# testing/testing) and checks no signature, but routes on the SigV4 credential scope. Quirk (test-peers §2):
# after UpdateSecretVersionStage, a GetSecretValue without VersionStage returns the old value; the client
# always reads with VersionStage=AWSCURRENT. Knobs: SLPROD_TEST_MOTO_PORT (55555), SLPROD_TEST_PEERS_CACHE.
set -euo pipefail

PORT=${SLPROD_TEST_MOTO_PORT:-55555}
CACHE=${SLPROD_TEST_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/slprod-test-peers}
VENV="$CACHE/moto-venv"
RUN="$CACHE/moto-$PORT"
ENDPOINT="http://127.0.0.1:${PORT}"

log() { echo "moto-test-server: $*" >&2; }

exports() { echo "export SLPROD_TEST_AWS_ENDPOINT=${ENDPOINT}"; }

install_moto() {
  if [ -x "$VENV/bin/moto_server" ]; then return 0; fi
  command -v python3 >/dev/null 2>&1 || { log "error: python3 is needed to install moto"; exit 2; }
  log "installing moto[server] into $VENV (pip)…"
  mkdir -p "$CACHE"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check 'moto[server]' >&2
  [ -x "$VENV/bin/moto_server" ] || { log "error: moto installed no moto_server"; exit 2; }
}

ready() { curl -fs -o /dev/null "$ENDPOINT/moto-api/" 2>/dev/null; }

start() {
  if ready; then log "already running on $ENDPOINT"; exports; return 0; fi
  install_moto
  mkdir -p "$RUN"
  nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$RUN/server.log" 2>&1 &
  echo $! >"$RUN/pid"
  for _ in $(seq 1 200); do ready && break; sleep 0.05; done
  ready || { log "error: moto did not start:"; tail -n 20 "$RUN/server.log" >&2; exit 2; }
  log "running on $ENDPOINT (pid $(cat "$RUN/pid"))"
  exports
}

stop() {
  if [ -f "$RUN/pid" ]; then
    kill "$(cat "$RUN/pid")" 2>/dev/null || true
    rm -f "$RUN/pid"
  fi
  log "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) ready || { log "error: not running; run scripts/moto-test-server.sh start"; exit 1; }; exports ;;
  status) if ready; then log "running on $ENDPOINT"; else log "not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
