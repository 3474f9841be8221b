#!/usr/bin/env bash
# Throwaway PostgreSQL server for the store's tests (and the inbox benchmark).
#
#   scripts/pg-test-server.sh start   # install postgresql if missing, initdb, start; prints `export SLPROD_TEST_PG_URL=…`
#   scripts/pg-test-server.sh env     # prints the export line of a running server
#   scripts/pg-test-server.sh status  # exit 0 when it accepts connections
#   scripts/pg-test-server.sh stop    # stop it and remove its data directory
#
# Use: eval "$(scripts/pg-test-server.sh start)"; cargo test -p salesloft-store; scripts/pg-test-server.sh stop
#
# Only the export line goes to stdout; progress goes to stderr. The server listens on 127.0.0.1 only, trusts
# local connections (no password: it holds nothing but test data), and by default runs with fsync=off because
# tests need a real server, not a durable one (research/test-peers.md §6: ready in < 1 s this way).
# SLPROD_TEST_PG_DURABLE=1 starts it with fsync=on and synchronous_commit=on instead, for durable benchmark
# figures. Other knobs: SLPROD_TEST_PG_PORT (55432), SLPROD_TEST_PG_DIR (/tmp/slprod-pg-test).
set -euo pipefail

PORT=${SLPROD_TEST_PG_PORT:-55432}
DIR=${SLPROD_TEST_PG_DIR:-/tmp/slprod-pg-test}
DB=slprod_test
URL="postgres://postgres@127.0.0.1:${PORT}/${DB}"

log() { echo "pg-test-server: $*" >&2; }

pg_bin() {
  local initdb
  initdb=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$initdb" ] && dirname "$initdb"
}

install_postgres() {
  if [ -n "$(pg_bin)" ]; then return 0; fi
  if ! command -v apt-get >/dev/null 2>&1; then
    log "error: PostgreSQL is not installed and apt-get is not available; install the postgresql package"
    exit 2
  fi
  log "installing postgresql from Debian's packages (apt-get)…"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql >&2
  if [ -z "$(pg_bin)" ]; then
    log "error: installed postgresql but found no /usr/lib/postgresql/*/bin/initdb"
    exit 2
  fi
}

# initdb and postgres refuse to run as root: run them as the postgres user when we are root.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ready() {
  local bin
  bin=$(pg_bin) || return 1
  [ -n "$bin" ] && "$bin/pg_isready" -h 127.0.0.1 -p "$PORT" -q 2>/dev/null
}

start() {
  install_postgres
  local bin
  bin=$(pg_bin)
  if ready; then
    log "already running on 127.0.0.1:${PORT}"
    echo "export SLPROD_TEST_PG_URL=${URL}"
    return 0
  fi
  rm -rf "$DIR"
  mkdir -p "$DIR/data" "$DIR/sock"
  [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$DIR"
  as_pg "$bin/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --no-sync >"$DIR/initdb.log" 2>&1 || {
    log "error: initdb failed:"; cat "$DIR/initdb.log" >&2; exit 2; }
  local durability="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  if [ "${SLPROD_TEST_PG_DURABLE:-0}" = "1" ]; then
    durability="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
    log "durable mode: fsync=on, synchronous_commit=on"
  fi
  as_pg "$bin/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 30 \
    -o "-p ${PORT} -k ${DIR}/sock -c listen_addresses=127.0.0.1 -c max_connections=400 ${durability}" start >&2 || {
    log "error: PostgreSQL did not start:"; tail -n 20 "$DIR/server.log" >&2; exit 2; }
  for _ in $(seq 1 100); do ready && break; sleep 0.05; done
  ready || { log "error: PostgreSQL is not accepting connections on 127.0.0.1:${PORT}"; exit 2; }
  "$bin/psql" -h 127.0.0.1 -p "$PORT" -U postgres -q -c "CREATE DATABASE ${DB}" >&2
  log "running on 127.0.0.1:${PORT}, data in ${DIR}"
  echo "export SLPROD_TEST_PG_URL=${URL}"
}

stop() {
  local bin
  bin=$(pg_bin || true)
  if [ -n "$bin" ] && [ -f "$DIR/data/postmaster.pid" ]; then
    as_pg "$bin/pg_ctl" -D "$DIR/data" -m fast -w stop >&2 || true
  fi
  rm -rf "$DIR"
  log "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) ready || { log "error: not running; run scripts/pg-test-server.sh start"; exit 1; }
       echo "export SLPROD_TEST_PG_URL=${URL}" ;;
  status) if ready; then log "running on 127.0.0.1:${PORT}"; else log "not running"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|env|status" >&2; exit 2 ;;
esac
