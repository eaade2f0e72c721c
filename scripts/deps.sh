#!/usr/bin/env bash
# Install the Debian 12 packages the build, the local stack and the tests
# need.  Idempotent: when everything is present it only runs dpkg-query.
set -euo pipefail

packages=(
    # build
    build-essential clang libclang-rt-14-dev nginx nginx-dev
    libpq-dev libhiredis-dev libcjson-dev libpaho-mqtt-dev
    libcurl4-openssl-dev libcrypt-dev
    # local stack
    postgresql postgresql-client redis-server influxdb mosquitto mosquitto-clients
    curl openssl git
    # tests and benchmarks
    perl valgrind wrk
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null; then
        echo "deps: missing packages and not root (no sudo): ${missing[*]}" >&2
        exit 1
    fi
    sudo=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
