#!/usr/bin/env bash
# Configure nginx's build of ngx_http_gonsters_module (and of the test-only
# ngx_http_gonsters_test_module from t/modules) with Debian's own
# NGX_CONF_FLAGS, so that NGX_THREADS, NGX_HTTP_SSL, NGX_DEBUG ... match the
# /usr/sbin/nginx that loads the module (a --with-compat-only build would load
# but compile #if (NGX_THREADS) code differently).
#
# usage: configure-module.sh NGINX_SRC_DIR ABSOLUTE_BUILD_DIR
set -euo pipefail

src=$1
builddir=$2
top=$(cd "$(dirname "$0")/.." && pwd)

if [ ! -f "$src/conf_flags" ]; then
    echo "configure-module: $src/conf_flags not found; install nginx-dev (make deps)" >&2
    exit 1
fi

mkdir -p "$builddir"
cd "$src"
# shellcheck disable=SC1091
. ./conf_flags

cc_opt="$(dpkg-buildflags --get CFLAGS) -fPIC $(dpkg-buildflags --get CPPFLAGS)"
cc_opt="$cc_opt -Wall -Wextra -Werror -Wno-unused-parameter"

./configure \
    --with-cc-opt="$cc_opt" \
    --with-ld-opt="$(dpkg-buildflags --get LDFLAGS) -fPIC" \
    "${NGX_CONF_FLAGS[@]}" \
    --add-dynamic-module="$top" \
    --add-dynamic-module="$top/t/modules" \
    --builddir="$builddir" > "$builddir/configure.log" 2>&1 || {
        echo "configure-module: nginx configure failed, see $builddir/configure.log" >&2
        tail -n 20 "$builddir/configure.log" >&2
        exit 1
    }

echo "configure-module: configured in $builddir"
