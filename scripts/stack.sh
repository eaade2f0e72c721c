#!/usr/bin/env bash
# The local stack: private PostgreSQL 15, Redis 7, InfluxDB 1.6, mosquitto 2,
# nginx with our module and the worker, all on 127.0.0.1, with data, logs and
# pid files under one run directory.  Used by `make run`, `make test` and
# `make bench`.
#
#   stack.sh start   RUN_DIR     start everything, apply migrations
#   stack.sh stop    RUN_DIR     stop exactly what the pid files name
#   stack.sh migrate RUN_DIR     (re)apply sql/ and the InfluxDB setup
#   stack.sh status  RUN_DIR
#   stack.sh clean   RUN_DIR     stop, then delete the run directory and data
#
# Environment for start:
#   GONSTERS_PORT_BASE   ports are BASE+80 nginx, +432 PostgreSQL, +379 Redis,
#                        +86 InfluxDB HTTP, +88 InfluxDB RPC, +883 MQTT
#                        (default 17000: nginx on 17080)
#   GONSTERS_NGINX_PORT, GONSTERS_PG_PORT, GONSTERS_REDIS_PORT,
#   GONSTERS_INFLUX_PORT, GONSTERS_INFLUX_RPC_PORT, GONSTERS_MQTT_PORT
#                        override single ports
#   GONSTERS_DEMO=1      load the demo users and machines (sql/demo/)
#   GONSTERS_PG_FSYNC=off  faster PostgreSQL for throw-away test stacks
#   GONSTERS_NGINX_EXTRA a file included in nginx's server block (bench)
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
pgbin=/usr/lib/postgresql/15/bin
start_timeout=30

log() { echo "stack: $*"; }
die() { echo "stack: error: $*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# run a command as a service user when we are root (initdb refuses root)
as_user() {
    local user=$1; shift
    # from /: the service user may not be allowed into the current directory
    if is_root; then (cd / && runuser -u "$user" -- "$@"); else "$@"; fi
}

# A directory a service writes as its own user; prints its real path.  When
# that user cannot reach the run directory (a clone under a 0700 directory),
# the data lives in a private directory under /tmp, the run directory holds
# a symlink to it, and the service is given the real path.
service_dir() {
    local name=$1 user=$2 dir=$run/$1 alt
    if ! is_root || [ "$user" = root ]; then
        mkdir -p "$dir"; echo "$dir"; return
    fi
    if [ ! -e "$dir" ]; then
        mkdir -p "$dir"
        chown "$user" "$dir"
        if ! runuser -u "$user" -- test -w "$dir"; then
            rmdir "$dir"
            alt=$(mktemp -d "/tmp/gonsters-${name//\//-}.XXXXXX")
            chmod 755 "$alt"
            chown "$user" "$alt"
            ln -s "$alt" "$dir"
        fi
    fi
    readlink -f "$dir"
}

load_ports() {
    local base=${GONSTERS_PORT_BASE:-17000}
    nginx_port=${GONSTERS_NGINX_PORT:-$((base + 80))}
    pg_port=${GONSTERS_PG_PORT:-$((base + 432))}
    redis_port=${GONSTERS_REDIS_PORT:-$((base + 379))}
    influx_port=${GONSTERS_INFLUX_PORT:-$((base + 86))}
    influx_rpc_port=${GONSTERS_INFLUX_RPC_PORT:-$((base + 88))}
    mqtt_port=${GONSTERS_MQTT_PORT:-$((base + 883))}
}

write_env() {
    cat > "$run/stack.env" <<EOF
# written by scripts/stack.sh start; source it to reach this stack
export GONSTERS_RUN_DIR='$run'
export GONSTERS_NGINX_PORT=$nginx_port
export GONSTERS_PG_PORT=$pg_port
export GONSTERS_PG_DSN='host=127.0.0.1 port=$pg_port dbname=gonsters user=gonsters'
export GONSTERS_REDIS_PORT=$redis_port
export GONSTERS_INFLUX_PORT=$influx_port
export GONSTERS_INFLUX_DB=gonsters
export GONSTERS_MQTT_PORT=$mqtt_port
export GONSTERS_JWT_SECRET_FILE='$run/secrets/jwt_secret'
export GONSTERS_MODULE='$top/build/nginx/ngx_http_gonsters_module.so'
export GONSTERS_TEST_MODULE='$top/build/nginx/ngx_http_gonsters_test_module.so'
export GONSTERS_WORKER_BIN='$top/build/gonsters-worker'
export GONSTERS_STACK_WORKER_ID='$worker_client_id'
EOF
}

# ---- process bookkeeping ------------------------------------------------

pid_alive() {   # pid expected-command-substring
    local pid=$1 want=$2 cmd
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ "$cmd" == *"$want"* ]]
}

start_bg() {    # name log command...
    local name=$1 logfile=$2; shift 2
    setsid "$@" >> "$logfile" 2>&1 < /dev/null &
    echo $! > "$run/pids/$name.pid"
}

started=()

fail_start() {  # service log message
    echo "stack: error: $1 did not start: $3" >&2
    echo "stack: see $2; its last lines:" >&2
    tail -n 15 "$2" >&2 2>/dev/null || true
    stop_all || true
    exit 1
}

wait_for() {    # service log pid-or-empty check-command...
    local name=$1 logfile=$2 pid=$3; shift 3
    local deadline=$((SECONDS + start_timeout))
    until "$@" >/dev/null 2>&1; do
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            fail_start "$name" "$logfile" "the process exited"
        fi
        if [ $SECONDS -ge $deadline ]; then
            fail_start "$name" "$logfile" "no answer within ${start_timeout}s"
        fi
        sleep 0.2
    done
}

port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

check_ports() {
    local name port
    for name in nginx pg redis influx influx_rpc mqtt; do
        port=$(eval echo "\$${name}_port")
        port_free "$port" || die "port $port ($name) on 127.0.0.1 is already in use"
    done
}

# ---- PostgreSQL ---------------------------------------------------------

psql_admin() {
    psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U postgres "$@"
}

psql_app() {
    PGOPTIONS="-c client_min_messages=warning" \
    psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$pg_port" -U gonsters \
         -d gonsters "$@"
}

start_postgres() {
    local dir logfile
    dir=$(service_dir pg postgres)
    logfile=$dir/server.log
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_user postgres "$pgbin/initdb" -D "$dir/data" -A trust -U postgres \
            -E UTF8 --no-sync > "$dir/initdb.log" 2>&1 \
            || fail_start postgresql "$dir/initdb.log" "initdb failed"
    fi
    as_user postgres "$pgbin/pg_ctl" -D "$dir/data" -l "$logfile" -w \
        -t "$start_timeout" -o "-p $pg_port -k $dir \
        -c listen_addresses=127.0.0.1 -c fsync=${GONSTERS_PG_FSYNC:-on}" \
        start > /dev/null 2>&1 \
        || fail_start postgresql "$logfile" "pg_ctl start failed"
    started+=(postgres)
    wait_for postgresql "$logfile" "" \
        "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pg_port"

    if [ -z "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'gonsters'")" ]; then
        psql_admin -c "CREATE ROLE gonsters LOGIN"
    fi
    if [ -z "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = 'gonsters'")" ]; then
        psql_admin -c "CREATE DATABASE gonsters OWNER gonsters ENCODING 'UTF8'"
    fi
}

# sql/NNN_*.sql in order, each once, each in one transaction with its row in
# schema_migrations; the files are idempotent as well.
migrate_postgres() {
    local f version applied
    psql_app -c "CREATE TABLE IF NOT EXISTS schema_migrations (
                     version    text PRIMARY KEY,
                     applied_at timestamptz NOT NULL DEFAULT now())"
    for f in "$top"/sql/[0-9][0-9][0-9]_*.sql; do
        version=$(basename "$f" .sql)
        applied=$(echo "SELECT 1 FROM schema_migrations WHERE version = :'v'" \
                  | psql_app -tA -v v="$version")
        [ -z "$applied" ] || continue
        { cat "$f"; echo "INSERT INTO schema_migrations (version) VALUES (:'v');"; } \
            | psql_app --single-transaction -v v="$version" \
            || die "migration $version failed"
        log "postgresql: applied $version"
    done
}

load_demo() {
    local f
    for f in "$top"/sql/demo/*.sql; do
        psql_app --single-transaction -f "$f" || die "demo data $f failed"
    done
    log "postgresql: demo users and machines loaded"
}

# ---- Redis, InfluxDB, mosquitto -----------------------------------------

start_redis() {
    local dir=$run/redis
    mkdir -p "$dir"
    start_bg redis "$dir/redis.log" redis-server --port "$redis_port" \
        --bind 127.0.0.1 --dir "$dir" --save '' --appendonly no \
        --daemonize no --logfile ''
    started+=(redis)
    wait_for redis "$dir/redis.log" "$(cat "$run/pids/redis.pid")" \
        bash -c "[ \"\$(redis-cli -h 127.0.0.1 -p $redis_port ping)\" = PONG ]"
}

influx_query() {    # statement -> prints the JSON answer, fails on an error
    local answer
    answer=$(curl -sS -XPOST "http://127.0.0.1:$influx_port/query" \
             --data-urlencode "q=$1") || return 1
    if [[ "$answer" == *'"error"'* ]]; then
        echo "$answer" >&2
        return 1
    fi
    echo "$answer"
}

start_influxdb() {
    local dir=$run/influx
    mkdir -p "$dir"
    cat > "$dir/influxdb.conf" <<EOF
reporting-enabled = false
bind-address = "127.0.0.1:$influx_rpc_port"
[meta]
  dir = "$dir/meta"
  logging-enabled = false
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  index-version = "inmem"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:$influx_port"
  auth-enabled = false
  log-enabled = false
  pprof-enabled = false
[continuous_queries]
  enabled = true
  log-enabled = false
[logging]
  level = "warn"
EOF
    start_bg influxdb "$dir/influxd.log" influxd -config "$dir/influxdb.conf"
    started+=(influxdb)
    wait_for influxdb "$dir/influxd.log" "$(cat "$run/pids/influxdb.pid")" \
        bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' \
                 http://127.0.0.1:$influx_port/ping)\" = 204 ]"
}

# sql/influxdb/*.iql: statements end with ';' and may span lines; '--'
# starts a comment line.  Every statement is idempotent.
migrate_influxdb() {
    local f line stmt
    for f in "$top"/sql/influxdb/*.iql; do
        stmt=
        while IFS= read -r line || [ -n "$line" ]; do
            [[ "$line" =~ ^[[:space:]]*(--|$) ]] && continue
            stmt+="$line "
            if [[ "$line" =~ \;[[:space:]]*$ ]]; then
                influx_query "${stmt%;*}" > /dev/null \
                    || die "influxdb: statement failed in $f: $stmt"
                stmt=
            fi
        done < "$f"
        log "influxdb: applied $(basename "$f")"
    done
}

start_mosquitto() {
    local dir
    dir=$(service_dir mqtt mosquitto)
    cat > "$run/mosquitto.conf" <<EOF
per_listener_settings false
allow_anonymous true
listener $mqtt_port 127.0.0.1
persistence true
persistence_location $dir/
autosave_interval 30
# The default of 1000 queued messages per client silently drops QoS 1
# messages for a subscriber that is offline or slow: 0 = no limit.
max_queued_messages 0
max_queued_bytes 0
# 0 = no limit on the in-flight window (paho's MQTT 5 client stalls 1 s per
# message when a window of 20 is full).
max_inflight_messages 0
log_dest stderr
log_type error
log_type warning
log_type notice
connection_messages true
EOF
    start_bg mosquitto "$run/mosquitto.log" mosquitto -c "$run/mosquitto.conf"
    started+=(mosquitto)
    wait_for mosquitto "$run/mosquitto.log" "$(cat "$run/pids/mosquitto.pid")" \
        mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -q 1 \
                      -t gonsters/stack/ready -m 1
}

# ---- nginx and the worker -----------------------------------------------

make_secret() {
    mkdir -p "$run/secrets"
    chmod 700 "$run/secrets"
    if [ ! -s "$run/secrets/jwt_secret" ]; then
        (umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' \
            > "$run/secrets/jwt_secret")
        log "generated a JWT secret in $run/secrets/jwt_secret"
    fi
}

write_nginx_conf() {
    local prefix=$1 tmp=$2 user_line=
    is_root && user_line="user nobody nogroup;"
    cat > "$prefix/conf/nginx.conf" <<EOF
# generated by scripts/stack.sh; see nginx.conf.example for the documented one
load_module $top/build/nginx/ngx_http_gonsters_module.so;

$user_line
worker_processes 2;
pid logs/nginx.pid;
error_log logs/error.log warn;

events {
    worker_connections 1024;
}

http {
    default_type application/json;
    log_format gonsters_json escape=json
        '{"timestamp":"\$time_iso8601","msec":\$msec,'
        '"request_id":"\$request_id","remote_addr":"\$remote_addr",'
        '"user_id":"\$gonsters_user_id","username":"\$gonsters_username",'
        '"role":"\$gonsters_role","method":"\$request_method",'
        '"uri":"\$request_uri","status":\$status,'
        '"request_length":\$request_length,"body_bytes_sent":\$body_bytes_sent,'
        '"request_time":\$request_time,"user_agent":"\$http_user_agent"}';
    access_log logs/access.log gonsters_json;
    gonsters_event_log logs/events.log info;

    client_body_temp_path $tmp/body;
    proxy_temp_path $tmp/proxy;
    fastcgi_temp_path $tmp/fastcgi;
    uwsgi_temp_path $tmp/uwsgi;
    scgi_temp_path $tmp/scgi;

    gonsters_postgres "host=127.0.0.1 port=$pg_port dbname=gonsters user=gonsters";
    gonsters_redis 127.0.0.1:$redis_port;
    gonsters_influxdb_location /_influxdb;
    gonsters_influxdb_database gonsters;

    gonsters_jwt_key $run/secrets/jwt_secret;
    gonsters_revocation_zone 10m;

    gonsters_machine_cache_ttl 1h;
    gonsters_machine_list_cache_ttl 60s;
    gonsters_machine_touch_interval 1s;

    limit_req_zone \$binary_remote_addr zone=gonsters_login:10m rate=30r/m;

    upstream gonsters_influxdb {
        server 127.0.0.1:$influx_port;
        keepalive 8;
    }

    server {
        listen 127.0.0.1:$nginx_port;

        location = /health          { gonsters_endpoint health; }
        location = /health/postgres { gonsters_endpoint health_postgres; }
        location = /health/redis    { gonsters_endpoint health_redis; }
        location = /health/influxdb { gonsters_endpoint health_influxdb; }

        location = /metrics {
            allow 127.0.0.1;
            deny all;
            gonsters_endpoint metrics;
        }

        location = /api/v1/auth/login {
            limit_req zone=gonsters_login burst=10 nodelay;
            gonsters_endpoint login;
        }
        location = /api/v1/auth/refresh  { gonsters_endpoint refresh; }
        location = /api/v1/auth/register { gonsters_endpoint register; }
        location = /api/v1/auth/me {
            gonsters_auth jwt;
            gonsters_endpoint me;
        }
        location = /api/v1/auth/logout {
            gonsters_auth jwt;
            gonsters_endpoint logout;
        }

        location = /api/v1/data/machine {
            gonsters_auth jwt;
            gonsters_require_permission write:machines;
            gonsters_endpoint machine_create;
        }
        location = /api/v1/data/machines {
            gonsters_auth jwt;
            gonsters_require_permission read:machines;
            gonsters_endpoint machines;
        }
        location /api/v1/data/machine/ {
            gonsters_auth jwt;
            gonsters_require_permission methods=GET,HEAD read:sensor_data;
            gonsters_require_permission methods=PATCH write:machines;
            gonsters_require_permission methods=DELETE delete:machines;
            gonsters_endpoint machine;
        }
        location = /api/v1/data/ingest {
            gonsters_auth jwt;
            gonsters_require_permission write:sensor_data;
            client_max_body_size 4m;
            client_body_buffer_size 256k;
            gonsters_endpoint ingest;
        }
        location = /api/v1/config {
            gonsters_auth jwt;
            gonsters_require_permission read:config;
            gonsters_endpoint config;
        }
        location = /api/v1/config/update {
            gonsters_auth jwt;
            gonsters_require_permission write:config;
            gonsters_endpoint config_update;
        }
        location = /api/v1/config/reset {
            gonsters_auth jwt;
            gonsters_require_permission write:config;
            gonsters_endpoint config_reset;
        }

        location /_influxdb/ {
            internal;
            proxy_pass http://gonsters_influxdb/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_headers off;
            proxy_set_header Content-Type application/x-www-form-urlencoded;
            proxy_max_temp_file_size 0;
            proxy_connect_timeout 1s;
            proxy_send_timeout 5s;
            proxy_read_timeout 5s;
            proxy_next_upstream error non_idempotent;
        }

        # any other URL: a JSON 404, not nginx's HTML page
        location / {
            return 404 '{"status":"error","message":"Not found"}\n';
        }

        # a body over client_max_body_size is refused by nginx itself,
        # before any handler: JSON as well
        error_page 413 @too_large;
        location @too_large {
            return 413 '{"status":"error","message":"Request body too large"}\n';
        }
$( [ -n "${GONSTERS_NGINX_EXTRA:-}" ] && echo "        include $GONSTERS_NGINX_EXTRA;" )
    }
}
EOF
}

start_nginx() {
    local prefix=$run/nginx logfile tmp
    logfile=$prefix/logs/error.log
    mkdir -p "$prefix/conf" "$prefix/logs"
    tmp=$(service_dir nginx/tmp nobody)
    write_nginx_conf "$prefix" "$tmp"
    /usr/sbin/nginx -p "$prefix" -c conf/nginx.conf -e logs/error.log -t \
        > "$prefix/logs/configtest.log" 2>&1 \
        || fail_start nginx "$prefix/logs/configtest.log" "nginx -t failed"
    /usr/sbin/nginx -p "$prefix" -c conf/nginx.conf -e logs/error.log \
        || fail_start nginx "$logfile" "nginx exited"
    cp "$prefix/logs/nginx.pid" "$run/pids/nginx.pid"
    started+=(nginx)
    wait_for nginx "$logfile" "$(cat "$run/pids/nginx.pid")" \
        curl -sf -o /dev/null "http://127.0.0.1:$nginx_port/health"
}

start_worker() {
    local dir=$run/worker
    mkdir -p "$dir"
    cat > "$dir/worker.conf" <<EOF
# generated by scripts/stack.sh; see worker/worker.conf.example
mqtt_uri = tcp://127.0.0.1:$mqtt_port
client_id = $worker_client_id
status_topic = gonsters/worker/$worker_client_id/status
log_level = info
share_group = gonsters
spool_dir = $dir/spool
influx_url = http://127.0.0.1:$influx_port
influx_db = gonsters
pg_dsn = host=127.0.0.1 port=$pg_port dbname=gonsters user=gonsters
metrics_file = $dir/metrics.prom
EOF
    start_bg worker "$dir/worker.log" "$top/build/gonsters-worker" \
        -c "$dir/worker.conf"
    started+=(worker)
    wait_for worker "$dir/worker.log" "$(cat "$run/pids/worker.pid")" \
        bash -c "mosquitto_sub -h 127.0.0.1 -p $mqtt_port -C 1 -W 2 \
                 -t gonsters/worker/$worker_client_id/status | grep -q online"
}

# ---- commands -----------------------------------------------------------

stop_one() {    # name expected-command signal
    local name=$1 want=$2 sig=$3 pidfile=$run/pids/$1.pid pid i
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if pid_alive "$pid" "$want"; then
        kill "-$sig" "$pid"
        for i in $(seq 1 100); do
            pid_alive "$pid" "$want" || break
            sleep 0.1
        done
        if pid_alive "$pid" "$want"; then
            log "$name (pid $pid) did not stop in 10 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        log "stopped $name"
    fi
    rm -f "$pidfile"
}

stop_postgres() {
    local data pid
    data=$(readlink -f "$run/pg")/data
    [ -f "$data/postmaster.pid" ] || return 0
    pid=$(head -n 1 "$data/postmaster.pid")
    if pid_alive "$pid" postgres; then
        as_user postgres "$pgbin/pg_ctl" -D "$data" -m fast -w stop > /dev/null
        log "stopped postgresql"
    fi
}

stop_all() {
    [ -d "$run/pids" ] || [ -d "$run/pg" ] || return 0
    stop_one worker gonsters-worker TERM
    stop_one nginx "nginx: master" QUIT
    stop_one mosquitto mosquitto TERM
    stop_one influxdb influxd TERM
    stop_one redis redis-server TERM
    stop_postgres
}

cmd_start() {
    load_ports
    worker_client_id=gonsters-worker-$nginx_port
    mkdir -p "$run/pids"
    for f in "$run"/pids/*.pid; do
        [ -e "$f" ] || continue
        if kill -0 "$(cat "$f")" 2>/dev/null; then
            die "a stack already runs in $run (pid file $f); stop it first"
        fi
        rm -f "$f"
    done
    [ -x "$top/build/gonsters-worker" ] && [ -f "$top/build/nginx/ngx_http_gonsters_module.so" ] \
        || die "build first (make build)"
    check_ports
    make_secret
    write_env

    start_postgres;  log "postgresql on 127.0.0.1:$pg_port"
    start_redis;     log "redis on 127.0.0.1:$redis_port"
    start_influxdb;  log "influxdb on 127.0.0.1:$influx_port"
    start_mosquitto; log "mosquitto on 127.0.0.1:$mqtt_port"
    migrate_postgres
    migrate_influxdb
    [ "${GONSTERS_DEMO:-0}" = 1 ] && load_demo
    start_nginx;     log "nginx on 127.0.0.1:$nginx_port"
    start_worker;    log "worker $worker_client_id connected"
    log "up; environment in $run/stack.env"
}

cmd_migrate() {
    [ -f "$run/stack.env" ] || die "no stack in $run"
    # shellcheck disable=SC1091
    . "$run/stack.env"
    pg_port=$GONSTERS_PG_PORT influx_port=$GONSTERS_INFLUX_PORT
    migrate_postgres
    migrate_influxdb
}

cmd_status() {
    local name want pid
    for entry in worker:gonsters-worker "nginx:nginx: master" mosquitto:mosquitto \
                 influxdb:influxd redis:redis-server; do
        name=${entry%%:*} want=${entry#*:}
        pid=$(cat "$run/pids/$name.pid" 2>/dev/null || true)
        if pid_alive "$pid" "$want"; then echo "$name: up (pid $pid)"; else echo "$name: down"; fi
    done
    pid=$(head -n 1 "$run/pg/data/postmaster.pid" 2>/dev/null || true)
    if pid_alive "$pid" postgres; then echo "postgresql: up (pid $pid)"; else echo "postgresql: down"; fi
}

cmd_clean() {
    local link
    stop_all
    for link in "$run"/* "$run"/nginx/*; do
        [ -L "$link" ] || continue
        rm -rf -- "$(readlink -f "$link")"
    done
    rm -rf -- "$run"
}

[ $# -eq 2 ] || die "usage: stack.sh start|stop|migrate|status|clean RUN_DIR"
[ "$1" = start ] || [ -d "$2" ] || exit 0
mkdir -p "$2"
run=$(cd "$2" && pwd)

case $1 in
    start)   cmd_start ;;
    stop)    stop_all ;;
    migrate) cmd_migrate ;;
    status)  cmd_status ;;
    clean)   cmd_clean ;;
    *)       die "unknown command $1" ;;
esac
