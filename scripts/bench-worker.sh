#!/usr/bin/env bash
# The worker's part of `make bench` (called by scripts/bench.sh with the
# bench stack's environment loaded; can also run alone against any stack:
#   . .run/mine/stack.env && scripts/bench-worker.sh .run/mine).
#
# Throughput: N QoS 1 messages (~200-byte payloads, 100 machines, one
# mosquitto_pub -l per machine, all at once) from the start of publishing
#   - to a subscriber that does nothing (mosquitto_sub -q 1 > /dev/null):
#     the broker's own delivery rate, the baseline;
#   - to the last point accepted by InfluxDB through gonsters-worker;
# two interleaved runs per side, printed as messages/s and their ratio
# (target >= 0.9).  Peak RSS of the worker (VmHWM; target <= 64 MB).
# Then the same load with InfluxDB stopped (SIGSTOP) for OUTAGE seconds in
# the middle: every point must arrive; the catch-up time after InfluxDB
# comes back is printed.
#
#   BENCH_WORKER_N        messages per run (default 200000, multiple of 100)
#   BENCH_WORKER_OUTAGE   seconds InfluxDB is stopped (default 30)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
run=$(cd "${1:?usage: bench-worker.sh RUN_DIR}" && pwd)
n=${BENCH_WORKER_N:-200000}
outage=${BENCH_WORKER_OUTAGE:-30}
machines=100
per=$((n / machines))
dir=$run/bench-worker
mqtt=$GONSTERS_MQTT_PORT
influx=http://127.0.0.1:$GONSTERS_INFLUX_PORT
db=bench_worker
id=bench-worker-$$
group=bench-$$
factory=bench

[ "$per" -le 65535 ] || { echo "bench-worker: at most 65535 per machine"; exit 1; }

psql_app() {
    psql -X -qAt -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$GONSTERS_PG_PORT" \
         -U gonsters -d gonsters "$@"
}

influx_q() {
    curl -s -XPOST "$influx/query" --data-urlencode "db=$db" \
         --data-urlencode "q=$1"
}

now_ms() { date +%s%3N; }

hz=$(getconf CLK_TCK)
cpu_ms() {      # pid -> user + system CPU time so far, in ms
    sed 's/.*) //' "/proc/$1/stat" 2>/dev/null \
        | awk -v hz="$hz" '{ printf "%d\n", ($12 + $13) * 1000 / hz }' \
        || echo 0
}

rm -rf "$dir"
mkdir -p "$dir/pub"

# the stack's worker takes part in no measurement: stop it and drop its
# session (a clean-start connect with its client id), so that the broker
# queues nothing for it
if [ -f "$run/pids/worker.pid" ]; then
    kill "$(cat "$run/pids/worker.pid")" 2>/dev/null || true
    sleep 1
    rm -f "$run/pids/worker.pid"
fi
if [ -n "${GONSTERS_STACK_WORKER_ID:-}" ]; then
    mosquitto_sub -h 127.0.0.1 -p "$mqtt" -i "$GONSTERS_STACK_WORKER_ID" \
        -t gonsters/bench/none -E > /dev/null 2>&1 || true
fi

# 100 machines of factory "bench"
psql_app -c "DELETE FROM machine_metadata WHERE name LIKE 'bench-%'"
psql_app -c "INSERT INTO machine_metadata (name, location, sensor_type, factory_id)
             SELECT 'bench-' || i, 'Bench Hall ' || (i % 5), 'temperature', '$factory'
             FROM generate_series(1, $machines) AS i"
psql_app -c "SELECT id FROM machine_metadata WHERE name LIKE 'bench-%' ORDER BY name" \
    > "$dir/machines"

# the database with the stack's tiers (so late windows could be
# re-aggregated), dropped first
influx_q "DROP DATABASE $db" > /dev/null
sed -e "s/\bgonsters\b/$db/g" "$top"/sql/influxdb/*.iql \
    | grep -v '^[[:space:]]*--' | tr '\n' ' ' | tr ';' '\n' \
    | while read -r stmt; do
        [ -n "${stmt// /}" ] || continue
        if influx_q "$stmt" | grep -q '"error"'; then
            echo "bench-worker: $stmt failed"; exit 1
        fi
    done

cat > "$dir/worker.conf" <<EOF
mqtt_uri = tcp://127.0.0.1:$mqtt
client_id = $id
share_group = $group
spool_dir = $dir/spool
influx_url = $influx
influx_db = $db
pg_dsn = host=127.0.0.1 port=$GONSTERS_PG_PORT dbname=gonsters user=gonsters
metrics_interval_ms = 100
log_level = info
EOF

worker_pid=
start_worker() {
    "$top/build/gonsters-worker" -c "$dir/worker.conf" 2>> "$dir/worker.log" &
    worker_pid=$!
    for _ in $(seq 1 100); do
        grep -q '^gonsters_worker_mqtt_connected{[^}]*} 1' \
            "$dir/spool/metrics.prom" 2>/dev/null && break
        sleep 0.1
    done
    # the subscription follows the connect
    sleep 0.5
}

stop_worker() {     # and drop its session: the broker must not queue
    [ -n "$worker_pid" ] || return 0        # the baseline's messages for it
    kill "$worker_pid" 2>/dev/null || true
    wait "$worker_pid" 2>/dev/null || true
    worker_pid=
    mosquitto_sub -h 127.0.0.1 -p "$mqtt" -i "$id" -t gonsters/bench/none \
        -E > /dev/null 2>&1 || true
}

cleanup() {
    stop_worker
    [ -n "${influx_pid:-}" ] && kill -CONT "$influx_pid" 2>/dev/null || true
}
trap cleanup EXIT

last_write_ms() {   # when InfluxDB accepted the worker's last write
    sed -n 's/^gonsters_worker_last_write_timestamp_seconds{[^}]*} \([0-9]*\)\.\([0-9]*\)$/\1\2/p' \
        "$dir/spool/metrics.prom"
}

written() {
    sed -n 's/^gonsters_worker_written_total{[^}]*} \([0-9]*\)$/\1/p' \
        "$dir/spool/metrics.prom" 2>/dev/null || echo 0
}

# payload files: per machine, per run, distinct timestamps
# every run its own time range (points of one series at the same time
# would overwrite each other and the count would come out short): the
# runs follow each other from the start of the script on, up to a few
# seconds ahead of the clock
bench_t0=$(now_ms)

make_payloads() {   # run-number
    local r=$1 base
    base=$(( bench_t0 + r * (per * 3 + 1000) ))
    perl -e '
        my ($dir, $r, $per, $base) = @ARGV;
        open my $m, "<", "$dir/machines" or die;
        my @ids = map { chomp; $_ } <$m>;
        my $k = 0;
        for my $id (@ids) {
            open my $f, ">", "$dir/pub/$r-$k.txt" or die;
            for my $i (0 .. $per - 1) {
                my $ms = $base + $i * 3 + $k % 3;
                my @t = gmtime(int($ms / 1000));
                printf $f "{\"timestamp\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"sensor_type\":\"temperature\",\"temperature\":%.2f,\"pressure\":%.1f,\"speed\":%d,\"note\":\"%s\"}\n",
                    $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0], $ms % 1000,
                    60 + ($i % 200) / 10, 100 + ($i % 50), 1000 + $i % 500,
                    "x" x 56;
            }
            close $f;
            $k++;
        }' "$dir" "$r" "$per" "$base"
}

publish() {     # run-number: all machines at once; waits
    local r=$1 k=0 pids=() id
    while read -r id; do
        mosquitto_pub -h 127.0.0.1 -p "$mqtt" -q 1 -l \
            -t "factory/$factory/machine/$id/telemetry" < "$dir/pub/$r-$k.txt" &
        pids+=($!)
        k=$((k + 1))
    done < "$dir/machines"
    wait "${pids[@]}"
}

baseline() {    # run-number -> msg/s; the CPU it took in $dir/cpu-$r
    local r=$1 t0 t1 b0
    make_payloads "$r"
    # the subscriber's CPU time: its subshell's cutime + cstime
    ( me=$BASHPID
      mosquitto_sub -h 127.0.0.1 -p "$mqtt" -q 1 -C "$n" -W 300 \
          -t "factory/$factory/machine/+/telemetry" > /dev/null
      sed 's/.*) //' "/proc/$me/stat" \
          | awk -v hz="$hz" '{ printf "%d\n", ($14 + $15) * 1000 / hz }' \
          > "$dir/sub-cpu-$r" ) &
    local sub=$!
    sleep 0.5
    b0=$(cpu_ms "$broker_pid")
    t0=$(now_ms)
    publish "$r"
    wait "$sub"
    t1=$(now_ms)
    echo "broker(idle-subscriber-runs) $(( $(cpu_ms "$broker_pid") - b0 )) idle-subscriber $(cat "$dir/sub-cpu-$r")" \
        > "$dir/cpu-$r"
    awk -v n="$n" -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f\n", n * 1000 / ms }'
}

through_worker() {  # run-number -> msg/s (publish start to n points more)
    local r=$1 t0 t1 target b0 w0 i0
    make_payloads "$r"
    target=$(( $(written) + n ))
    b0=$(cpu_ms "$broker_pid") w0=$(cpu_ms "$worker_pid") i0=$(cpu_ms "$influx_pid")
    t0=$(now_ms)
    publish "$r"
    # the end is the worker's own record of the write, not when this
    # loop saw it (the file is rewritten every 100 ms)
    while [ "$(written)" -lt "$target" ]; do sleep 0.05; done
    t1=$(last_write_ms)
    echo "broker(worker-runs) $(( $(cpu_ms "$broker_pid") - b0 )) worker $(( $(cpu_ms "$worker_pid") - w0 )) influxdb $(( $(cpu_ms "$influx_pid") - i0 ))" \
        > "$dir/cpu-$r"
    awk -v n="$n" -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f\n", n * 1000 / ms }'
}

broker_pid=$(cat "$run/pids/mosquitto.pid")
influx_pid=$(cat "$run/pids/influxdb.pid")

echo "bench-worker: $n QoS 1 messages per run, $machines machines, ~200-byte payloads"

b1=$(baseline 1)
start_worker
w1=$(through_worker 2)
stop_worker
b2=$(baseline 3)
start_worker
w2=$(through_worker 4)

awk -v w1="$w1" -v w2="$w2" -v b1="$b1" -v b2="$b2" 'BEGIN {
    printf "%-40s %8.0f msg/s   (runs %.0f, %.0f)\n", "publish -> InfluxDB via gonsters-worker", (w1 + w2) / 2, w1, w2
    printf "%-40s %8.0f msg/s   (runs %.0f, %.0f)\n", "publish -> idle subscriber (broker)", (b1 + b2) / 2, b1, b2
    printf "ratio worker / broker = %.3f (target >= 0.9)\n", (w1 + w2) / (b1 + b2)
}'

# CPU time per 1000 messages, runs 1-4 together: where the cores went
cat "$dir"/cpu-[1-4] | awk -v n="$n" '
    { for (i = 1; i < NF; i += 2) { ms[$i] += $(i + 1); if (!($i in seen)) { seen[$i] = 1; order[++k] = $i } } }
    END {
        printf "CPU ms per 1000 messages (both runs of each side):"
        for (j = 1; j <= k; j++) printf " %s %.1f", order[j], ms[order[j]] * 1000 / (2 * n)
        printf "\n"
    }'

# the outage run
make_payloads 5
target=$(( $(written) + n ))
t0=$(now_ms)
publish 5 &
pub=$!
sleep 1
kill -STOP "$influx_pid"
sleep "$outage"
kill -CONT "$influx_pid"
t_back=$(now_ms)
wait "$pub"
t_pub=$(now_ms)
while [ "$(written)" -lt "$target" ]; do sleep 0.05; done
t1=$(last_write_ms)

rss=$(awk '/^VmHWM/ { print $2 }' "/proc/$worker_pid/status")
stop_worker

count=$(influx_q "SELECT count(temperature) FROM sensor_readings" \
        | sed -n 's/.*"values":\[\[[^,]*,\([0-9]*\)\]\].*/\1/p')

awk -v rss="$rss" 'BEGIN { printf "peak RSS of the worker (VmHWM over run 2 and the outage run): %.1f MB (target <= 64 MB)\n", rss / 1024 }'
if [ "$t_pub" -le $((t_back + 100)) ]; then
    pubnote="publishing had ended during the outage"
else
    pubnote="publishing went on $(( t_pub - t_back )) ms after it: a longer outage shows the real catch-up"
fi
echo "InfluxDB stopped ${outage} s in the middle of a run: every point in InfluxDB $(( t1 - t_back )) ms after it came back ($pubnote); run took $(( t1 - t0 )) ms"
echo "points in InfluxDB after all worker runs: $count (expected $((3 * n)))"
[ "$count" = $((3 * n)) ] || { echo "bench-worker: LOST POINTS"; exit 1; }
