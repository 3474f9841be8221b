#!/usr/bin/env bash
# Benchmark: peak RSS of `slprod pull people` streaming 1 000 000 records to a JSON-lines file
# (target ≤ 64 MB — DESIGN.md "Targets"). The simulator runs as a separate process, so only the puller's
# memory is measured. Also prints the SalesLoft cost of the read (simulator stats) against ⌈N/100⌉.
#
# Usage: scripts/bench-pull-rss.sh [PEOPLE]        (default 1000000)
# Env:   CARGO_TARGET_DIR (default target-api), PORT (default 4747)
set -euo pipefail

people="${1:-1000000}"
port="${PORT:-4747}"
key="ak$(printf 'c%.0s' $(seq 1 64))"
root="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target-api}"

if [ ! -x /usr/bin/time ]; then
    echo "/usr/bin/time is not installed: apt-get install -y time" >&2
    exit 2
fi

cargo build --release -p slprod --manifest-path "$root/Cargo.toml" >&2
bin="$CARGO_TARGET_DIR/release/slprod"
work="$(mktemp -d)"
sim_pid=""
cleanup() {
    if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

"$bin" sim --listen "127.0.0.1:$port" --api-key "$key" --seed-people "$people" --budget 2000000000 \
    >"$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/__sim/stats" >/dev/null 2>&1; then break; fi
    sleep 0.1
done

SALESLOFT_API_KEY="$key" /usr/bin/time -v "$bin" pull people --base-url "http://127.0.0.1:$port/v2" \
    --store "sqlite://$work/slprod.sqlite" --out "$work/people.jsonl" 2>"$work/time.log" || { cat "$work/time.log" >&2; exit 1; }

lines=$(wc -l <"$work/people.jsonl")
bytes=$(stat -c %s "$work/people.jsonl")
rss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.log")
elapsed=$(awk -F'): ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.log")
stats=$(curl -fsS "http://127.0.0.1:$port/__sim/stats")
cost=$(printf '%s' "$stats" | sed -E 's/.*"cost_used":([0-9]+).*/\1/')
max_page=$(printf '%s' "$stats" | sed -E 's/.*"max_page":([0-9]+).*/\1/')
echo "pulled $lines records ($bytes bytes) in $elapsed"
echo "Maximum resident set size: ${rss_kb} kB ($((rss_kb / 1024)) MB; target ≤ 64 MB)"
echo "cost $cost for ⌈N/100⌉ = $(( (people + 99) / 100 )), max page $max_page"
