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
#   - the floor: to a paho subscriber that does nothing (build/idle-subscriber:
#     the worker's library, protocol, session and shared subscription)
#     while the same points go to InfluxDB in step with it (5000 each time
#     5000 more arrived): what receiving with paho and storing in InfluxDB
#     leave of these cores before any work of the worker's own.
# ROUNDS rounds of one run of each, in that order, printed as messages/s
# and ratios, then the medians of the rounds' ratios (target worker /
# broker >= 0.9) and the CPU time per message of every process involved.
# The rounds differ by far more than the sides: on a shared machine the
# same run can take twice the CPU time from one minute to the next (the
# CPU time per message of broker and publishers, printed for each round,
# shows it).  Peak RSS of the worker (VmHWM; target <= 64 MB).
# Then the same load with InfluxDB stopped (SIGSTOP) for OUTAGE seconds in
# the middle: every point must arrive; the catch-up time after InfluxDB
# comes back is printed.
#
#   BENCH_WORKER_N        messages per run (default 200000, multiple of 100)
#   BENCH_WORKER_OUTAGE   seconds InfluxDB is stopped (default 30)
#   BENCH_WORKER_ROUNDS   rounds (default 4)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
run=$(cd "${1:?usage: bench-worker.sh RUN_DIR}" && pwd)
n=${BENCH_WORKER_N:-200000}
outage=${BENCH_WORKER_OUTAGE:-30}
rounds=${BENCH_WORKER_ROUNDS:-4}
machines=100
per=$((n / machines))
dir=$run/bench-worker
mqtt=$GONSTERS_MQTT_PORT
influx=http://127.0.0.1:$GONSTERS_INFLUX_PORT
db=bench_worker
floor_db=bench_worker_floor
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
# pid [children] -> user + system CPU time so far, in ms: its own, or
# that of its children it waited for
cpu_ms() {
    sed 's/.*) //' "/proc/$1/stat" 2>/dev/null \
        | awk -v hz="$hz" -v c="${2:+2}" \
            '{ printf "%d\n", ($(12 + c) + $(13 + c)) * 1000 / hz }' \
        || echo 0
}

drop_session() {    # client id: a clean-start connect ends its session
    mosquitto_sub -h 127.0.0.1 -p "$mqtt" -i "$1" -t gonsters/bench/none \
        -E > /dev/null 2>&1 || true
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
    drop_session "$GONSTERS_STACK_WORKER_ID"
fi

# 100 machines of factory "bench"
psql_app -c "DELETE FROM machine_metadata WHERE name LIKE 'bench-%'"
psql_app -c "INSERT INTO machine_metadata (name, location, sensor_type, factory_id)
             SELECT 'bench-' || i, 'Bench Hall ' || (i % 5), 'temperature', '$factory'
             FROM generate_series(1, $machines) AS i"
psql_app -c "SELECT id FROM machine_metadata WHERE name LIKE 'bench-%' ORDER BY name" \
    > "$dir/machines"
psql_app -c "SELECT location FROM machine_metadata WHERE name LIKE 'bench-%' ORDER BY name" \
    > "$dir/locations"

# the databases with the stack's tiers (so late windows could be
# re-aggregated), dropped first
make_db() {     # name
    influx_q "DROP DATABASE $1" > /dev/null
    sed -e "s/\bgonsters\b/$1/g" "$top"/sql/influxdb/*.iql \
        | grep -v '^[[:space:]]*--' | tr '\n' ' ' | tr ';' '\n' \
        | while read -r stmt; do
            [ -n "${stmt// /}" ] || continue
            if influx_q "$stmt" | grep -q '"error"'; then
                echo "bench-worker: $stmt failed"; exit 1
            fi
        done
}
make_db "$db"
make_db "$floor_db"

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
    [ -n "$worker_pid" ] || return 0        # the other runs' messages for it
    kill "$worker_pid" 2>/dev/null || true
    wait "$worker_pid" 2>/dev/null || true
    worker_pid=
    drop_session "$id"
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
# seconds ahead of the clock.  With "lp", also the points the worker
# would write, in arrival order, 5000 a file ($dir/lp/$r-*.txt), for the
# floor
bench_t0=$(now_ms)

make_payloads() {   # run-number [lp]
    local r=$1 base
    base=$(( bench_t0 + r * (per * 3 + 1000) ))
    mkdir -p "$dir/lp"
    rm -f "$dir"/lp/*
    perl -e '
        my ($dir, $r, $per, $base, $lp) = @ARGV;
        open my $m, "<", "$dir/machines" or die;
        my @ids = map { chomp; $_ } <$m>;
        open my $l, "<", "$dir/locations" or die;
        my @locs = map { chomp; s/([ ,=])/\\$1/g; $_ } <$l>;
        my (@f, $lpf);
        for my $k (0 .. $#ids) {
            open $f[$k], ">", "$dir/pub/$r-$k.txt" or die;
        }
        for my $i (0 .. $per - 1) {
            for my $k (0 .. $#ids) {
                my $ms = $base + $i * 3 + $k % 3;
                my @t = gmtime(int($ms / 1000));
                my ($tc, $p, $s) = (60 + ($i % 200) / 10, 100 + ($i % 50),
                                    1000 + $i % 500);
                printf { $f[$k] } "{\"timestamp\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"sensor_type\":\"temperature\",\"temperature\":%.2f,\"pressure\":%.1f,\"speed\":%d,\"note\":\"%s\"}\n",
                    $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0], $ms % 1000,
                    $tc, $p, $s, "x" x 56;
                next unless $lp;
                my $j = $i * @ids + $k;
                if ($j % 5000 == 0) {
                    open $lpf, ">", sprintf("%s/lp/%s-%06d.txt", $dir, $r, $j / 5000) or die;
                }
                print $lpf "sensor_readings,location=$locs[$k],machine_id=$ids[$k],sensor_type=temperature temperature=$tc,pressure=$p,speed=$s ${ms}000000\n";
            }
        }
        close $_ for @f;' "$dir" "$r" "$per" "$base" "${2:-}"
}

publish() {     # run-number: all machines at once; waits; their CPU time
    ( me=$BASHPID   # (this subshell's cutime + cstime) in $dir/pub-cpu-$r
      k=0 pids=()
      while read -r id; do
          mosquitto_pub -h 127.0.0.1 -p "$mqtt" -q 1 -l \
              -t "factory/$factory/machine/$id/telemetry" < "$dir/pub/$1-$k.txt" &
          pids+=($!)
          k=$((k + 1))
      done < "$dir/machines"
      wait "${pids[@]}"
      cpu_ms "$me" children > "$dir/pub-cpu-$1" )
}

sub_ok() {
    [ ! -e "$dir/sub-failed" ] || { echo "bench-worker: a subscriber did not get all $n messages" >&2; exit 1; }
}

# a subscriber that does nothing, the broker's own delivery rate
baseline() {    # run-number -> msg/s; the CPU it took in $dir/cpu-$r
    local r=$1 t0 t1 b0
    make_payloads "$r"
    ( me=$BASHPID
      mosquitto_sub -h 127.0.0.1 -p "$mqtt" -q 1 -C "$n" -W 300 \
          -t "factory/$factory/machine/+/telemetry" > /dev/null \
          || touch "$dir/sub-failed"
      cpu_ms "$me" children > "$dir/sub-cpu-$r" ) &
    local sub=$!
    sleep 0.5
    b0=$(cpu_ms "$broker_pid")
    t0=$(now_ms)
    publish "$r"
    wait "$sub"
    t1=$(now_ms)
    sub_ok
    echo "broker(idle-subscriber-runs) $(( $(cpu_ms "$broker_pid") - b0 )) idle-subscriber $(cat "$dir/sub-cpu-$r") publishers $(cat "$dir/pub-cpu-$r")" \
        > "$dir/cpu-$r"
    awk -v n="$n" -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f\n", n * 1000 / ms }'
}

# the floor: paho receiving and, in step with it, InfluxDB storing the
# same points (a batch of 5000 each time 5000 more arrived, one keep-alive
# connection): the worker without its own work (spool, parsing, lines)
floor() {       # run-number -> msg/s; the CPU it took in $dir/cpu-$r
    local r=$1 t0 t1 b0 i0
    make_payloads "$r" lp
    ( me=$BASHPID
      { "$top/build/idle-subscriber" "tcp://127.0.0.1:$mqtt" "$id-floor" \
            "\$share/$group-floor/factory/$factory/machine/+/telemetry" \
            "$n" 300 5000 \
            || touch "$dir/sub-failed"; } \
        | perl -MHTTP::Tiny -e '
            my ($url, @files) = @ARGV;
            my $http = HTTP::Tiny->new(keep_alive => 1);
            sub post {
                my $f = shift @files or return;
                open my $fh, "<", $f or die "$f: $!";
                local $/;
                my $res = $http->post($url, { content => scalar <$fh> });
                die "InfluxDB: $res->{status} $res->{content}\n"
                    unless $res->{success};
            }
            post() while <STDIN>;
            post() while @files;' \
            "$influx/write?db=$floor_db&precision=ns" "$dir"/lp/"$r"-*.txt \
        || touch "$dir/sub-failed"
      cpu_ms "$me" children > "$dir/sub-cpu-$r" ) &
    local sub=$!
    sleep 0.5
    b0=$(cpu_ms "$broker_pid") i0=$(cpu_ms "$influx_pid")
    t0=$(now_ms)
    publish "$r"
    wait "$sub"
    t1=$(now_ms)
    sub_ok
    drop_session "$id-floor"
    echo "broker(floor-runs) $(( $(cpu_ms "$broker_pid") - b0 )) idle-paho-subscriber+poster $(cat "$dir/sub-cpu-$r") influxdb(floor-runs) $(( $(cpu_ms "$influx_pid") - i0 )) publishers(floor-runs) $(cat "$dir/pub-cpu-$r")" \
        > "$dir/cpu-$r"
    awk -v n="$n" -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f\n", n * 1000 / ms }'
}

wait_written() {    # target: until the worker wrote that many, or fail
    local deadline=$(( $(now_ms) + 600000 ))
    while [ "$(written)" -lt "$1" ]; do
        if ! kill -0 "$worker_pid" 2>/dev/null || [ "$(now_ms)" -gt "$deadline" ]; then
            echo "bench-worker: the worker wrote $(written) of $1 points (log: $dir/worker.log)" >&2
            exit 1
        fi
        sleep 0.05
    done
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
    wait_written "$target"
    t1=$(last_write_ms)
    echo "broker(worker-runs) $(( $(cpu_ms "$broker_pid") - b0 )) worker $(( $(cpu_ms "$worker_pid") - w0 )) influxdb(worker-runs) $(( $(cpu_ms "$influx_pid") - i0 )) publishers(worker-runs) $(cat "$dir/pub-cpu-$r")" \
        > "$dir/cpu-$r"
    awk -v n="$n" -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f\n", n * 1000 / ms }'
}

broker_pid=$(cat "$run/pids/mosquitto.pid")
influx_pid=$(cat "$run/pids/influxdb.pid")

echo "bench-worker: $n QoS 1 messages per run, $machines machines, ~200-byte payloads, $rounds rounds"

: > "$dir/rates"
for k in $(seq 1 "$rounds"); do
    r=$(( (k - 1) * 3 ))
    stop_worker
    b=$(baseline $((r + 1)))
    f=$(floor $((r + 2)))
    start_worker
    w=$(through_worker $((r + 3)))
    echo "$b $f $w" >> "$dir/rates"
    # CPU per message of broker + publishers, baseline and worker runs
    awk -v k="$k" -v b="$b" -v f="$f" -v w="$w" -v n="$n" \
        -v cb="$(awk '{ print $2 + $6 }' "$dir/cpu-$((r + 1))")" \
        -v cw="$(awk '{ print $2 + $8 }' "$dir/cpu-$((r + 3))")" 'BEGIN {
        printf "round %d: idle subscriber %.0f, floor %.0f, worker %.0f msg/s; worker / broker %.3f, floor / broker %.3f (broker + publishers: %.1f / %.1f us of CPU a message)\n",
            k, b, f, w, w / b, f / b, cb * 1000 / n, cw * 1000 / n
    }'
done

awk '
    function median(a, m,   i, j, t) {
        for (i = 2; i <= m; i++)
            for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
        return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
    }
    { m++; b[m] = $1; f[m] = $2; w[m] = $3; wb[m] = $3 / $1; fb[m] = $2 / $1; wf[m] = $3 / $2
      lo = (m == 1 || wb[m] < lo) ? wb[m] : lo; hi = (m == 1 || wb[m] > hi) ? wb[m] : hi }
    END {
        printf "%-44s %8.0f msg/s (median of %d)\n", "publish -> InfluxDB via gonsters-worker", median(w, m), m
        printf "%-44s %8.0f msg/s\n", "publish -> idle subscriber (broker)", median(b, m)
        printf "%-44s %8.0f msg/s\n", "floor: idle paho subscriber + InfluxDB", median(f, m)
        printf "ratio worker / broker = %.3f, median of the rounds (%.3f to %.3f; target >= 0.9)\n", median(wb, m), lo, hi
        printf "ratio floor / broker = %.3f, median: receiving with paho and storing in InfluxDB on these cores, before any work of the worker'"'"'s own\n", median(fb, m)
        printf "ratio worker / floor = %.3f, median\n", median(wf, m)
    }' "$dir/rates"

# CPU time per 1000 messages, all rounds: where the cores went
cat "$dir"/cpu-* | awk -v n="$n" -v rounds="$rounds" '
    { for (i = 1; i < NF; i += 2) { ms[$i] += $(i + 1); if (!($i in seen)) { seen[$i] = 1; order[++k] = $i } } }
    END {
        printf "CPU ms per 1000 messages (all rounds):"
        for (j = 1; j <= k; j++) printf " %s %.1f", order[j], ms[order[j]] * 1000 / (rounds * n)
        printf "\n"
    }'

outage_run=$(( 3 * rounds + 1 ))

# the outage run
make_payloads "$outage_run"
target=$(( $(written) + n ))
t0=$(now_ms)
publish "$outage_run" &
pub=$!
sleep 1
kill -STOP "$influx_pid"
sleep "$outage"
kill -CONT "$influx_pid"
t_back=$(now_ms)
wait "$pub"
t_pub=$(now_ms)
wait_written "$target"
t1=$(last_write_ms)

rss=$(awk '/^VmHWM/ { print $2 }' "/proc/$worker_pid/status")
stop_worker

count_points() {    # database
    curl -s -XPOST "$influx/query" --data-urlencode "db=$1" \
         --data-urlencode "q=SELECT count(temperature) FROM sensor_readings" \
        | sed -n 's/.*"values":\[\[[^,]*,\([0-9]*\)\]\].*/\1/p'
}
count=$(count_points "$db")
floor_count=$(count_points "$floor_db")
influx_q "DROP DATABASE $floor_db" > /dev/null

awk -v rss="$rss" 'BEGIN { printf "peak RSS of the worker (VmHWM over its last run and the outage run): %.1f MB (target <= 64 MB)\n", rss / 1024 }'
if [ "$t_pub" -le $((t_back + 100)) ]; then
    pubnote="publishing had ended during the outage"
else
    pubnote="publishing went on $(( t_pub - t_back )) ms after it: a longer outage shows the real catch-up"
fi
if [ "$t1" -lt "$t_back" ]; then
    echo "InfluxDB stopped ${outage} s: the run had ended before (BENCH_WORKER_N is too small to measure a catch-up)"
else
    echo "InfluxDB stopped ${outage} s in the middle of a run: every point in InfluxDB $(( t1 - t_back )) ms after it came back ($pubnote); run took $(( t1 - t0 )) ms"
fi
echo "points in InfluxDB after all worker runs: $count (expected $(( (rounds + 1) * n )))"
[ "$count" = $(( (rounds + 1) * n )) ] || { echo "bench-worker: LOST POINTS"; exit 1; }
[ "$floor_count" = $((rounds * n)) ] \
    || { echo "bench-worker: the floor's runs stored $floor_count points, not $((rounds * n))"; exit 1; }
