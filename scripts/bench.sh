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
GONSTERS_DEMO=1 scripts/stack.sh start "$run" > "$run/start.log" \
    || { cat "$run/start.log"; exit 1; }
# shellcheck disable=SC1091
. "$run/stack.env"
base=http://127.0.0.1:$GONSTERS_NGINX_PORT

body=$(curl -sf "$base/health") || { echo "bench: /health does not answer 200"; exit 1; }
# the same cached health answer with and without token verification
# (`return` would run before the access phase: it cannot be protected)
cat > "$run/bench-locations.conf" <<CONF
location = /bench/return {
    default_type application/json;
    return 200 '$body';
}
location = /bench/open { gonsters_endpoint health; }
location = /bench/jwt {
    gonsters_auth jwt;
    gonsters_endpoint health;
}
CONF
kill -HUP "$(cat "$run/pids/nginx.pid")"
for _ in $(seq 1 50); do
    [ "$(curl -s "$base/bench/return")" = "$body" ] && break
    sleep 0.1
done

rps() {     # url [header] -> requests per second
    wrk -t2 -c64 -d"${seconds}s" ${2:+-H "$2"} "$1" \
        | awk '/^Requests\/sec:/ { print $2 }'
}

ratio() {   # label url baseline-label baseline-url [header for both]
    local a1 b1 a2 b2
    b1=$(rps "$4" "${5:-}"); a1=$(rps "$2" "${5:-}")
    b2=$(rps "$4" "${5:-}"); a2=$(rps "$2" "${5:-}")
    awk -v l="$1" -v a1="$a1" -v a2="$a2" -v bl="$3" -v b1="$b1" -v b2="$b2" 'BEGIN {
        printf "%-28s %10.0f req/s   (runs %.0f, %.0f)\n", l, (a1 + a2) / 2, a1, a2
        printf "%-28s %10.0f req/s   (runs %.0f, %.0f)\n", bl, (b1 + b2) / 2, b1, b2
        printf "ratio %s / %s = %.3f\n\n", l, bl, (a1 + a2) / (b1 + b2)
    }'
}

echo "bench: wrk -t2 -c64 -d${seconds}s, 2 interleaved runs per side, $(nproc) cores"
ratio "GET /health" "$base/health" "return 200 (same body)" "$base/bench/return"

login() {
    curl -s -o "$run/login.json" -w '%{time_total}\n' "$base/api/v1/auth/login" \
         -H 'Content-Type: application/json' \
         -d '{"username":"operator1","password":"Password123!"}'
}

# login latency: bcrypt cost 12 in the thread pool, one at a time
for _ in 1 2 3 4 5 6 7 8 9; do login; done | sort -n \
    | awk '{ t[NR] = $1 } END { printf "login (bcrypt 12), 9 in a row: median %.0f ms, min %.0f ms, max %.0f ms\n\n", t[5] * 1000, t[1] * 1000, t[9] * 1000 }'

token=$(sed 's/.*"access_token":"\([^"]*\)".*/\1/' "$run/login.json")
ratio "JWT-protected /health" "$base/bench/jwt" "the same unprotected" \
      "$base/bench/open" "Authorization: Bearer $token"
