#!/usr/bin/env bash
# Benchmark of `slprod serve` with a real load tool (wrk), against the simulator on loopback (issue 9):
#
#   1. webhook intake: unique deliveries, each signed with HMAC-SHA1 as SalesLoft signs them (FACTS.md §6.2),
#      POSTed to /webhooks/salesloft as fast as wrk can; every 200 means verified, deduplicated and committed
#      (the gateway answers only after the inbox transaction holding it committed). Target on SQLite:
#      >= 10 000/s with p99 < 20 ms. Run once per store: SQLite, then PostgreSQL when SLPROD_TEST_PG_URL is set.
#   2. proxy overhead: GET /v2/me straight to the simulator, then through the gateway, one connection at a
#      time, in the same run. Overhead = gateway percentile - direct percentile. Target p50 < 0.5 ms, p99 < 2 ms.
#   3. memory: the gateway's peak RSS (VmHWM) after all of it.
#
# Usage: scripts/bench-gateway.sh [INTAKE_SECONDS] [PROXY_SECONDS]
# Env:   CARGO_TARGET_DIR (default target), SLPROD_TEST_PG_URL (adds the PostgreSQL intake run),
#        CONNECTIONS (intake, default 64), THREADS (wrk threads, default 2)
set -euo pipefail

intake_secs="${1:-10}"
proxy_secs="${2:-10}"
connections="${CONNECTIONS:-64}"
threads="${THREADS:-2}"
root="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
key="ak$(printf 'b%.0s' $(seq 1 64))"
internal="bench-internal-token-0123456789"
admin="bench-admin-token-0123456789"
secret="bench-callback-token-0123456789"
work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is not installed: apt-get install -y wrk" >&2; exit 2; }
command -v python3 >/dev/null || { echo "python3 is needed to sign the deliveries" >&2; exit 2; }
cargo build --release --locked -p slprod --manifest-path "$root/Cargo.toml" >&2
slprod="$CARGO_TARGET_DIR/release/slprod"

wait_listening() { # FILE -> prints the address
    for _ in $(seq 1 200); do
        if grep -q "listening on" "$1" 2>/dev/null; then
            sed -n 's/.*listening on http:\/\/\([^ /]*\).*/\1/p' "$1" | head -1
            return
        fi
        sleep 0.05
    done
    echo "no 'listening on' in $1" >&2
    cat "$1" "${1%.out}.err" >&2 || true
    exit 2
}

"$slprod" sim --listen 127.0.0.1:0 --api-key "$key" --seed-people 10 --budget 2000000000 \
    >"$work/sim.out" 2>"$work/sim.err" &
pids+=($!)
sim="$(wait_listening "$work/sim.out")"

# The team budget is the simulator's (never throttles), so what is measured is the gateway itself.
cat >"$work/slprod.toml" <<EOF
[budget]
cost_per_minute = 2000000000
EOF

gateway_pid=""
start_gateway() { # STORE_URL
    SALESLOFT_API_KEY="$key" SLPROD_INTERNAL_TOKEN="$internal" SLPROD_ADMIN_TOKEN="$admin" \
        SLPROD_WEBHOOK_SECRET="$secret" RUST_LOG=warn \
        "$slprod" serve --config "$work/slprod.toml" --listen 127.0.0.1:0 --base-url "http://$sim/v2" \
        --store "$1" >"$work/gw.out" 2>"$work/gw.err" &
    gateway_pid=$!
    pids+=("$gateway_pid")
    gateway="$(wait_listening "$work/gw.out")"
}
stop_gateway() {
    kill -TERM "$gateway_pid"
    wait "$gateway_pid" 2>/dev/null || true
    : >"$work/gw.out"
}

# Unique person_updated deliveries, signed ahead of time (wrk's Lua has no HMAC); wrk thread t of T sends
# deliveries t, t+T, t+2T, … so no two requests carry the same delivery while the list lasts.
deliveries=$((intake_secs * 40000))
python3 - "$work/deliveries.txt" "$deliveries" "$secret" <<'EOF'
import hashlib, hmac, json, sys
path, n, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
with open(path, "w") as out:
    for i in range(1, n + 1):
        body = json.dumps({"id": i, "updated_at": "2026-11-30T12:00:00.000000Z", "first_name": "Bench",
                           "last_name": f"Person{i}", "email_address": f"bench{i}@example.com",
                           "person_stage": None, "owner": {"_href": "https://api.salesloft.com/v2/users/1", "id": 1}},
                          separators=(",", ":"))
        sig = hmac.new(secret, body.encode(), hashlib.sha1).hexdigest()
        out.write(f"{sig} {body}\n")
EOF
cat >"$work/intake.lua" <<EOF
local threads = {}
local counter = 1
function setup(thread)
    thread:set("tid", counter)
    thread:set("nthreads", $threads)
    counter = counter + 1
    table.insert(threads, thread)
end
function init(args)
    bodies, sigs = {}, {}
    for line in io.lines("$work/deliveries.txt") do
        sigs[#sigs + 1] = line:sub(1, 40)
        bodies[#bodies + 1] = line:sub(42)
    end
    k = 0
end
function request()
    local i = tid + k * nthreads
    k = k + 1
    if i > #bodies then i = ((i - 1) % #bodies) + 1 end
    return wrk.format("POST", "/webhooks/salesloft", {
        ["Content-Type"] = "application/json",
        ["x-salesloft-event"] = "person_updated",
        ["x-salesloft-signature"] = sigs[i],
    }, bodies[i])
end
EOF

percentile() { # WRK_OUTPUT PERCENT -> milliseconds
    printf '%s\n' "$1" | awk -v p="$2%" '$1 == p {
        v = $2; unit = v; gsub(/[0-9.]/, "", unit); gsub(/[a-z]/, "", v);
        if (unit == "us") v /= 1000; else if (unit == "s") v *= 1000; printf "%.3f", v }'
}

intake() { # LABEL STORE_URL
    start_gateway "$2"
    local result
    result="$(wrk -t"$threads" -c"$connections" -d"${intake_secs}s" --latency -s "$work/intake.lua" "http://$gateway")"
    local stored
    stored="$(curl -s -H "Authorization: Bearer $admin" "http://$gateway/admin/status" |
        python3 -c 'import json,sys; c=json.load(sys.stdin)["inbox"]; print(sum(v for v in c.values() if isinstance(v, int)))')"
    local requests non2xx rps
    requests="$(printf '%s\n' "$result" | awk '/requests in/ {print $1}')"
    non2xx="$(printf '%s\n' "$result" | awk '/Non-2xx/ {print $5}')"
    rps="$(printf '%s\n' "$result" | awk '/Requests\/sec/ {print $2}')"
    printf 'webhook intake, %-10s %9s deliveries/s   p50 %7s ms  p99 %7s ms   requests %s, stored %s, non-2xx %s\n' \
        "$1:" "$rps" "$(percentile "$result" 50)" "$(percentile "$result" 99)" "$requests" "$stored" "${non2xx:-0}"
    # VmHWM counts the SQLite file's pages mapped by mmap_size (page cache the kernel can drop) with the heap;
    # RssAnon at the end is the process's own memory.
    printf '  gateway peak RSS under intake: %s (at the end: anonymous %s, file-backed %s)\n' \
        "$(awk '/VmHWM/ {print $2, $3}' "/proc/$gateway_pid/status")" \
        "$(awk '/RssAnon/ {print $2, $3}' "/proc/$gateway_pid/status")" \
        "$(awk '/RssFile/ {print $2, $3}' "/proc/$gateway_pid/status")"
    stop_gateway
}

echo "$(nproc) cores; wrk -t$threads -c$connections -d${intake_secs}s for intake, -t1 -c1 -d${proxy_secs}s for the proxy"
intake sqlite "sqlite://$work/bench.sqlite"
if [[ -n "${SLPROD_TEST_PG_URL:-}" ]]; then
    schema="bench_$$"
    settings="$(psql "$SLPROD_TEST_PG_URL" -Atc "SELECT current_setting('fsync') || '/' || current_setting('synchronous_commit')" 2>/dev/null || echo unknown)"
    sep="?"; [[ "$SLPROD_TEST_PG_URL" == *"?"* ]] && sep="&"
    intake "postgres" "${SLPROD_TEST_PG_URL}${sep}schema=$schema"
    echo "  (PostgreSQL fsync/synchronous_commit: $settings)"
    psql "$SLPROD_TEST_PG_URL" -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
fi

# Prints the first answer that is not a 200, so a failing proxy run says why.
cat >"$work/first-failure.lua" <<'LUA'
function response(status, headers, body)
    if status ~= 200 and not shown then
        shown = true
        io.stderr:write("first non-200 answer: ", status, " ", body:sub(1, 300), "\n")
    end
end
LUA
start_gateway "sqlite://$work/proxy.sqlite"
direct="$(wrk -t1 -c1 -d"${proxy_secs}s" --latency -s "$work/first-failure.lua" -H "Authorization: Bearer $key" "http://$sim/v2/me")"
via="$(wrk -t1 -c1 -d"${proxy_secs}s" --latency -s "$work/first-failure.lua" -H "Authorization: Bearer $internal" "http://$gateway/v2/me")"
via_non2xx="$(printf '%s\n' "$via" | awk '/Non-2xx/ {print $5}')"
direct_non2xx="$(printf '%s\n' "$direct" | awk '/Non-2xx/ {print $5}')"
for p in 50 99; do
    d="$(percentile "$direct" "$p")"
    g="$(percentile "$via" "$p")"
    printf 'GET /v2/me p%s: direct %7s ms, through the gateway %7s ms, overhead %s ms\n' "$p" "$d" "$g" \
        "$(awk -v a="$g" -v b="$d" 'BEGIN { printf "%.3f", a - b }')"
done
echo "  (non-2xx answers: direct ${direct_non2xx:-0}, through the gateway ${via_non2xx:-0}; any makes the figures void)"
printf 'gateway peak RSS under the proxy run: %s\n' "$(awk '/VmHWM/ {print $2, $3}' "/proc/$gateway_pid/status")"
stop_gateway
