#!/usr/bin/env bash
# `make bench`: throughput of our endpoints against a baseline measured in
# the same run on the same nginx, printed as ratios.  Never part of
# `make test`: the machines are shared and timings are noisy, so only the
# ratio of two measurements taken side by side means something.
#
#   BENCH_SECONDS (default 10) per measurement; each pair runs twice,
#   interleaved, so a burst of load elsewhere hits both sides.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
run=$top/.run/bench
seconds=${BENCH_SECONDS:-10}
export GONSTERS_PORT_BASE=${GONSTERS_BENCH_PORT_BASE:-23000}
export GONSTERS_PG_FSYNC=off

cd "$top"
scripts/stack.sh clean "$run" > /dev/null
mkdir -p "$run"

# the baseline: nginx's own `return` with the body /health answers, set
# once the stack runs (then nginx reloads)
cat > "$run/bench-locations.conf" <<'CONF'
location = /bench/return { return 200 '{}'; }
CONF
export GONSTERS_NGINX_EXTRA=$run/bench-locations.conf

trap 'scripts/stack.sh clean "$run" > /dev/null' EXIT
scripts/stack.sh start "$run" > "$run/start.log" || { cat "$run/start.log"; exit 1; }
# shellcheck disable=SC1091
. "$run/stack.env"
base=http://127.0.0.1:$GONSTERS_NGINX_PORT

body=$(curl -sf "$base/health") || { echo "bench: /health does not answer 200"; exit 1; }
cat > "$run/bench-locations.conf" <<CONF
location = /bench/return {
    default_type application/json;
    return 200 '$body';
}
CONF
kill -HUP "$(cat "$run/pids/nginx.pid")"
for _ in $(seq 1 50); do
    [ "$(curl -s "$base/bench/return")" = "$body" ] && break
    sleep 0.1
done

rps() {     # url -> requests per second
    wrk -t2 -c64 -d"${seconds}s" "$1" | awk '/^Requests\/sec:/ { print $2 }'
}

ratio() {   # label url baseline-label baseline-url
    local a1 b1 a2 b2
    b1=$(rps "$4"); a1=$(rps "$2"); b2=$(rps "$4"); a2=$(rps "$2")
    awk -v l="$1" -v a1="$a1" -v a2="$a2" -v bl="$3" -v b1="$b1" -v b2="$b2" 'BEGIN {
        printf "%-28s %10.0f req/s   (runs %.0f, %.0f)\n", l, (a1 + a2) / 2, a1, a2
        printf "%-28s %10.0f req/s   (runs %.0f, %.0f)\n", bl, (b1 + b2) / 2, b1, b2
        printf "ratio %s / %s = %.3f\n\n", l, bl, (a1 + a2) / (b1 + b2)
    }'
}

echo "bench: wrk -t2 -c64 -d${seconds}s, 2 interleaved runs per side, $(nproc) cores"
ratio "GET /health" "$base/health" "return 200 (same body)" "$base/bench/return"
