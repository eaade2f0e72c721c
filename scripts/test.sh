#!/usr/bin/env bash
# `make test` after the unit tests: a fresh test stack on its own ports
# (base 27000, so it runs beside `make run`), the integration tests in t/
# with prove, and the stack stopped again whatever the outcome.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
run=${GONSTERS_TEST_RUN_DIR:-$top/.run/test}
export GONSTERS_PORT_BASE=${GONSTERS_TEST_PORT_BASE:-27000}
export GONSTERS_PG_FSYNC=off

cd "$top"
scripts/stack.sh clean "$run" > /dev/null

# after a failure the stack's logs stay in $run; after a pass it is removed
stop_stack() {
    local rc=$? how=clean
    [ $rc -eq 0 ] || how=stop
    scripts/stack.sh "$how" "$run" > "$top/.run/test-stop.log" 2>&1 \
        || { echo "test: stopping the test stack failed:"; cat "$top/.run/test-stop.log"; }
    [ $rc -eq 0 ] || echo "test: logs of the test stack are in $run"
    exit $rc
}
trap stop_stack EXIT

echo "test: starting the test stack in $run"
scripts/stack.sh start "$run" || exit 1
# shellcheck disable=SC1091
. "$run/stack.env"

prove --timer -I t/lib ${PROVE_ARGS:-} t/
