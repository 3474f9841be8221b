#!/usr/bin/env bash
# Benchmark: the simulator must never be the bottleneck (issue 2: >= 10 000 simple GETs/s on 2 cores,
# loopback, release build, cost accounting on).
#
# Builds `slprod` in release, starts `slprod sim` with a budget too large to ever answer 429 (so every
# request still goes through auth, cost accounting, stats and the request log), runs `wrk` against
# `/v2/me` and `/v2/people?per_page=1`, and prints requests/s.
#
# Usage: scripts/bench-sim.sh [DURATION_SECONDS] [CONNECTIONS] [THREADS]
# Env:   CARGO_TARGET_DIR (default target-sim), PORT (default 4646), SEED_PEOPLE (default 10000)
set -euo pipefail

duration="${1:-5}"
connections="${2:-32}"
threads="${3:-2}"
port="${PORT:-4646}"
seed_people="${SEED_PEOPLE:-10000}"
key="ak$(printf 'b%.0s' $(seq 1 64))"
root="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target-sim}"

if ! command -v wrk >/dev/null 2>&1; then
    echo "wrk is not installed: apt-get install -y wrk" >&2
    exit 2
fi

# `slprod sim` is the real entry point; when the binary cannot be built (e.g. the rest of the workspace is
# mid-change), the library's `serve` example runs the very same server code.
if cargo build --release -p slprod --manifest-path "$root/Cargo.toml" >&2; then
    cmd=("$CARGO_TARGET_DIR/release/slprod" sim)
else
    echo "slprod does not build; benchmarking the salesloft-sim 'serve' example instead" >&2
    cargo build --release -p salesloft-sim --example serve --manifest-path "$root/Cargo.toml" >&2
    cmd=("$CARGO_TARGET_DIR/release/examples/serve")
fi

"${cmd[@]}" --listen "127.0.0.1:$port" --api-key "$key" --seed-people "$seed_people" --budget 2000000000 \
    >/tmp/bench-sim.out 2>/tmp/bench-sim.err &
sim_pid=$!
trap 'kill -TERM "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
    if grep -q "listening on" /tmp/bench-sim.out 2>/dev/null; then break; fi
    sleep 0.1
done
grep "listening on" /tmp/bench-sim.out >&2 || { echo "simulator did not start" >&2; cat /tmp/bench-sim.err >&2; exit 2; }

run() {
    local path="$1"
    local result
    result="$(wrk -t"$threads" -c"$connections" -d"${duration}s" -H "Authorization: Bearer $key" "http://127.0.0.1:$port$path")"
    local rps
    rps="$(printf '%s\n' "$result" | awk '/Requests\/sec/ {print $2}')"
    local non2xx
    non2xx="$(printf '%s\n' "$result" | awk '/Non-2xx/ {print $5}')"
    printf '%-32s %10s req/s   non-2xx: %s\n' "GET $path" "$rps" "${non2xx:-0}"
}

echo "wrk -t$threads -c$connections -d${duration}s, $(nproc) cores, seed_people=$seed_people"
run "/v2/me"
run "/v2/people?per_page=1"
run "/v2/people?per_page=100"
