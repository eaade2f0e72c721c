#!/usr/bin/env bash
# `make bench`: throughput of our endpoints against a baseline measured in
# the same run on the same nginx, printed as ratios.  Never part of
# `make test`: the machines are shared and timings are noisy, so only the
# ratio of two measurements taken side by side means something.
#
#   BENCH_SECONDS (default 10) per measurement; each pair runs twice,
#   interleaved, so a burst of load elsewhere hits both sides.
#   BENCH_ONLY: a list of parts to run (health login registry ingest
#   history worker), e.g. BENCH_ONLY=history; default all.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
run=$top/.run/bench
seconds=${BENCH_SECONDS:-10}
export GONSTERS_PORT_BASE=${GONSTERS_BENCH_PORT_BASE:-23000}
export GONSTERS_PG_FSYNC=off

want() {    # part -> true when BENCH_ONLY is empty or names it
    [ -z "${BENCH_ONLY:-}" ] && return 0
    case " ${BENCH_ONLY//,/ } " in *" $1 "*) return 0 ;; esac
    return 1
}

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
# the history endpoint with a debug log: the InfluxQL it sends, for the
# baseline that sends the same text straight to InfluxDB
location /bench/history/ {
    error_log $run/history-debug.log debug;
    gonsters_auth jwt;
    gonsters_endpoint history;
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
if want health; then
ratio "GET /health" "$base/health" "return 200 (same body)" "$base/bench/return"
fi

login() {
    curl -s -o "$run/login.json" -w '%{time_total}\n' "$base/api/v1/auth/login" \
         -H 'Content-Type: application/json' \
         -d '{"username":"operator1","password":"Password123!"}'
}

# login latency: bcrypt cost 12 in the thread pool, one at a time
if want login; then
for _ in 1 2 3 4 5 6 7 8 9; do login; done | sort -n \
    | awk '{ t[NR] = $1 } END { printf "login (bcrypt 12), 9 in a row: median %.0f ms, min %.0f ms, max %.0f ms\n\n", t[5] * 1000, t[1] * 1000, t[9] * 1000 }'
else
    login > /dev/null
fi

token=$(sed 's/.*"access_token":"\([^"]*\)".*/\1/' "$run/login.json")
if want health; then
ratio "JWT-protected /health" "$base/bench/jwt" "the same unprotected" \
      "$base/bench/open" "Authorization: Bearer $token"
fi

# ---- the machine registry ----------------------------------------------------
# A list answer from the Redis cache, and a single machine looked up in
# PostgreSQL (a list filtered to the one machine of a location, with the
# cache off for that location), each against nginx's `return` of the same
# body and against `pgbench -S` (one primary-key SELECT per transaction, 64
# clients) on the same PostgreSQL, measured in this run.

if want registry; then
machines="$base/api/v1/data/machines"
one="location=Warehouse%20-%20Section%20C"
auth="Authorization: Bearer $token"
list_body=$(curl -sf -H "$auth" "$machines") \
    || { echo "bench: the machine list does not answer 200"; exit 1; }
one_body=$(curl -sf -H "$auth" "$machines?$one") \
    || { echo "bench: the one-machine list does not answer 200"; exit 1; }
case $one_body in
    *'"count":1,'*) ;;
    *) echo "bench: the one-machine list is not one machine: $one_body"; exit 1 ;;
esac

# the same bodies from `return` (inlined as /health's is above: the demo
# data has nothing that would end the string or name a variable), and the
# uncached location
case $list_body$one_body in
    *"'"*|*'\'*|*'$'*) echo "bench: a quote, backslash or \$ in the machine list"; exit 1 ;;
esac
cat >> "$run/bench-locations.conf" <<CONF
location = /bench/list.json { default_type application/json; return 200 '$list_body'; }
location = /bench/one.json { default_type application/json; return 200 '$one_body'; }
location = /bench/machines_uncached {
    gonsters_auth jwt;
    gonsters_require_permission read:machines;
    gonsters_machine_cache off;
    gonsters_endpoint machines;
}
CONF
kill -HUP "$(cat "$run/pids/nginx.pid")"
for _ in $(seq 1 50); do
    [ "$(curl -s "$base/bench/list.json")" = "$list_body" ] \
        && [ "$(curl -s -H "$auth" "$base/bench/machines_uncached?$one")" = "$one_body" ] \
        && break
    sleep 0.1
done
[ "$(curl -s "$base/bench/list.json")" = "$list_body" ] \
    || { echo "bench: the return baseline does not answer the list's body"; exit 1; }

pgbench=$(command -v pgbench || echo /usr/lib/postgresql/15/bin/pgbench)
pg=(-h 127.0.0.1 -p "$GONSTERS_PG_PORT" -U gonsters)
"$pgbench" "${pg[@]}" -i -s 1 -q gonsters > "$run/pgbench-init.log" 2>&1 \
    || { cat "$run/pgbench-init.log"; exit 1; }

tps() {     # pgbench -S, 64 clients, 2 threads -> transactions per second
    "$pgbench" "${pg[@]}" -S -n -c64 -j2 -T"$seconds" gonsters 2>/dev/null \
        | awk '/^tps = / { print $3; exit }'
}

# label url -> both ratios, the baselines interleaved with the endpoint
registry() {
    local a1 a2 r1 r2 p1 p2
    r1=$(rps "$3"); p1=$(tps); a1=$(rps "$2" "$auth")
    r2=$(rps "$3"); p2=$(tps); a2=$(rps "$2" "$auth")
    awk -v l="$1" -v a1="$a1" -v a2="$a2" -v r1="$r1" -v r2="$r2" -v p1="$p1" -v p2="$p2" 'BEGIN {
        printf "%-34s %10.0f req/s   (runs %.0f, %.0f)\n", l, (a1 + a2) / 2, a1, a2
        printf "%-34s %10.0f req/s   (runs %.0f, %.0f)\n", "return 200 (same body)", (r1 + r2) / 2, r1, r2
        printf "%-34s %10.0f tps     (runs %.0f, %.0f)\n", "pgbench -S -c64 (same server)", (p1 + p2) / 2, p1, p2
        printf "ratio %s / return 200 = %.3f\n", l, (a1 + a2) / (r1 + r2)
        printf "ratio %s / pgbench -S = %.3f\n\n", l, (a1 + a2) / (p1 + p2)
    }'
}

hits0=$(curl -s "$base/metrics" | awk '/cache="machine_list",result="hit"/ { print $2 }')
registry "GET machines (Redis cache)" "$machines" "$base/bench/list.json"
hits1=$(curl -s "$base/metrics" | awk '/cache="machine_list",result="hit"/ { print $2 }')
echo "list cache hits during the cached runs: $((hits1 - hits0))"
echo "(target: cached list / return 200 >= 0.5)"
echo
registry "one machine (PostgreSQL)" "$base/bench/machines_uncached?$one" "$base/bench/one.json"
fi

# ---- telemetry ingest: readings per second through nginx (JWT, validation,
# registry lookup, line protocol, write) against the same points posted as
# line protocol straight to InfluxDB's /write, same concurrency, same bodies
tele=$run/telemetry
mkdir -p "$tele"
scripts/bench_telemetry.pl machines 100 bench > "$tele/ids"
scripts/bench_telemetry.pl bodies "$tele" "$tele/ids" 20
influx=http://127.0.0.1:$GONSTERS_INFLUX_PORT

posts() {   # url ext [header] -> requests per second (fails on non-2xx)
    local out
    out=$(wrk -t2 -c8 -d"${seconds}s" -s scripts/bench_post.lua \
              -H 'Content-Type: application/json' ${3:+-H "$3"} "$1" -- "$tele" 20 "$2")
    if grep -q 'Non-2xx' <<< "$out"; then
        echo "bench: $1 answered errors:" >&2; echo "$out" >&2; exit 1
    fi
    awk '/^Requests\/sec:/ { print $2 }' <<< "$out"
}

if want ingest; then
b1=$(posts "$influx/write?db=gonsters&precision=ns" lp)
a1=$(posts "$base/api/v1/data/ingest" json "Authorization: Bearer $token")
b2=$(posts "$influx/write?db=gonsters&precision=ns" lp)
a2=$(posts "$base/api/v1/data/ingest" json "Authorization: Bearer $token")
awk -v a1="$a1" -v a2="$a2" -v b1="$b1" -v b2="$b2" 'BEGIN {
    printf "ingest, batches of 100 machines x 10 readings, wrk -t2 -c8\n"
    printf "%-28s %10.0f readings/s   (runs %.0f, %.0f)\n", "POST /api/v1/data/ingest", (a1 + a2) * 500, a1 * 1000, a2 * 1000
    printf "%-28s %10.0f readings/s   (runs %.0f, %.0f)\n", "InfluxDB /write (same lines)", (b1 + b2) * 500, b1 * 1000, b2 * 1000
    printf "ratio ingest / InfluxDB /write = %.3f   (target >= 0.8)\n\n", (a1 + a2) / (b1 + b2)
}'
fi


# ---- history latency over 30 days of 100 machines (a point every 5 min),
# against the same InfluxQL sent straight to InfluxDB, one request at a time
if want history; then
points=$(scripts/bench_telemetry.pl seed "$tele/ids" 30 300)
machine=$(sed -n 42p "$tele/ids")
now=$(date -u +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
end=$(iso "$now")
rounds=${BENCH_HISTORY_ROUNDS:-1000}
echo "history latency, $points points seeded, $rounds sequential requests per side (interleaved)"

history() {     # label start interval
    local args q=() line
    args="start_time=$2&end_time=$end&interval=$3"
    : > "$run/history-debug.log"
    curl -sf -o /dev/null -H "Authorization: Bearer $token" \
         "$base/bench/history/$machine?$args" || { echo "bench: history failed"; exit 1; }
    while IFS= read -r line; do
        q+=("$line")
    done < <(sed -n 's/.*gonsters: history\( tier\)\?: \(SELECT .*\)$/\2/p' \
                 "$run/history-debug.log" | sed 's/, client: .*//')
    [ "${#q[@]}" -gt 0 ] || { echo "bench: no InfluxQL in the debug log"; exit 1; }
    scripts/bench_telemetry.pl latency "$rounds" "$token" \
        "$base/api/v1/data/machine/$machine?$args" "${q[@]}" \
    | awk -v l="$1" -v n="${#q[@]}" '{
        printf "%-16s nginx p50 %6.2f ms p99 %6.2f ms | InfluxDB (%d queries) p50 %6.2f ms p99 %6.2f ms | overhead p50 %+.0f%% p99 %+.0f%%\n",
               l, $1, $2, n, $3, $4, ($1 / $3 - 1) * 100, ($2 / $4 - 1) * 100
    }'
}

history "24 h raw" "$(iso $((now - 86400)))" raw
history "7 d hourly" "$(iso $((now - 7 * 86400)))" 1h
history "30 d daily" "$(iso $((now - 30 * 86400)))" 1d
echo "(target: overhead <= 20%)"
fi

# the MQTT worker: publish -> InfluxDB against the broker's own delivery
# rate, its peak RSS, and a run with InfluxDB stopped in the middle
if want worker; then
scripts/bench-worker.sh "$run"
fi
