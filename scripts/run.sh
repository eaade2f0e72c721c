#!/usr/bin/env bash
# `make run`: (re)start the local stack with demo data and say how to use it.
# Data persists in .run/dev between runs; `make stop` stops everything.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
run=$top/.run/dev

cd "$top"
scripts/stack.sh stop "$run"
GONSTERS_DEMO=1 scripts/stack.sh start "$run"
# shellcheck disable=SC1091
. "$run/stack.env"

cat <<MSG

Gonsters is running; logs and data are under $run.

  Health:     curl -s http://127.0.0.1:$GONSTERS_NGINX_PORT/health
  Demo users: operator1, supervisor1, manager1 (password Password123!)
              and the seed's seven machines are in PostgreSQL.
  Log in and call the API with the token:
    token=\$(curl -s http://127.0.0.1:$GONSTERS_NGINX_PORT/api/v1/auth/login \\
        -H 'Content-Type: application/json' \\
        -d '{"username":"manager1","password":"Password123!"}' \\
        | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
    curl -s http://127.0.0.1:$GONSTERS_NGINX_PORT/api/v1/auth/me \\
        -H "Authorization: Bearer \$token"
    curl -s 'http://127.0.0.1:$GONSTERS_NGINX_PORT/api/v1/data/machines?status=active&limit=5' \\
        -H "Authorization: Bearer \$token"
  PostgreSQL: psql -h 127.0.0.1 -p $GONSTERS_PG_PORT -U gonsters gonsters
  InfluxDB:   curl -sG http://127.0.0.1:$GONSTERS_INFLUX_PORT/query \\
                   --data-urlencode 'q=SHOW RETENTION POLICIES ON gonsters'
  MQTT:       mosquitto_sub -h 127.0.0.1 -p $GONSTERS_MQTT_PORT -t 'gonsters/#' -v
  Stop:       make stop
MSG
