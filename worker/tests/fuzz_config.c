/*
 * Fuzz target: the worker configuration parser (wk_config_parse).
 *
 * Invariants:
 * - accepted input agrees with an independent line model: every line is
 *   < 4096 bytes without NUL, blank, a comment, or `known_key = non-empty`,
 *   and no key appears twice;
 * - after acceptance every field is within its bounds, and writing the
 *   configuration back as `key = value` lines parses to the same values;
 * - a refusal carries a message that names the file and a line that
 *   exists (or 0).
 *
 * Replayed over worker/tests/corpus/config by `make unit-worker`; run
 * with libFuzzer by `make fuzz-worker`.
 */

#include <ctype.h>
#include <stdio.h>

#include "gn_fuzz.h"
#include "config.h"


static const char *const  keys[WK_CONFIG_NKEYS] = {
    "mqtt_uri", "client_id", "session_expiry", "keepalive", "status_topic",
    "log_level", "connect_retry_max", "share_group", "payload_max_bytes",
    "spool_dir", "spool_max_bytes", "spool_segment_bytes",
    "fsync_interval_ms", "influx_url", "influx_db", "influx_rp",
    "batch_max_points", "batch_max_ms", "influx_timeout_ms", "retry_max_ms",
    "reaggregate", "late_settle_s", "pg_dsn", "pg_spool_max_bytes", "registry_ttl", "last_seen_interval_ms",
    "inactivity_check_s", "metrics_file", "metrics_interval_ms"
};


static int
ref_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f'
           || c == '\r';
}


/* 1 if the line is plausible for an accepted file; sets *key to its index */
static int
ref_line(const char *p, size_t n, int *key)
{
    size_t  b = 0, e, eq, i;

    *key = -1;

    if (n >= WK_CONFIG_LINE_MAX || memchr(p, '\0', n) != NULL) {
        return 0;
    }

    while (b < n && ref_space((unsigned char) p[b])) {
        b++;
    }

    if (b == n || p[b] == '#') {
        return 1;
    }

    for (eq = b; eq < n && p[eq] != '='; eq++) { /* void */ }

    if (eq == n) {
        return 0;
    }

    for (e = eq; e > b && ref_space((unsigned char) p[e - 1]); e--) { /* */ }

    for (i = 0; i < WK_CONFIG_NKEYS; i++) {
        if (strlen(keys[i]) == e - b && memcmp(p + b, keys[i], e - b) == 0) {
            *key = (int) i;
        }
    }

    for (i = eq + 1; i < n && ref_space((unsigned char) p[i]); i++) { /* */ }

    return *key >= 0 && i < n;      /* known key, non-empty value */
}


static int
ref_accepts(const uint8_t *data, size_t size, int *lines)
{
    const char  *p = (const char *) data, *end = p + size, *nl;
    int          seen[WK_CONFIG_NKEYS] = { 0 };
    int          key, ok = 1;

    *lines = 0;

    while (p < end) {
        nl = memchr(p, '\n', (size_t) (end - p));
        (*lines)++;

        if (!ref_line(p, (size_t) ((nl ? nl : end) - p), &key)) {
            ok = 0;
        }

        if (key >= 0 && seen[key]++) {
            ok = 0;
        }

        p = nl ? nl + 1 : end;
    }

    return ok;
}


static void
check_bounds(const wk_config_t *c)
{
    GN_FUZZ_ASSERT(memchr(c->mqtt_uri, '\0', sizeof(c->mqtt_uri)) != NULL);
    GN_FUZZ_ASSERT(memchr(c->client_id, '\0', sizeof(c->client_id)) != NULL);
    GN_FUZZ_ASSERT(memchr(c->status_topic, '\0', sizeof(c->status_topic))
                   != NULL);
    GN_FUZZ_ASSERT(c->keepalive >= 0 && c->keepalive <= 65535);
    GN_FUZZ_ASSERT(c->connect_retry_max >= 1 && c->connect_retry_max <= 3600);
    GN_FUZZ_ASSERT(c->log_level >= WK_LOG_DEBUG
                   && c->log_level <= WK_LOG_ERROR);
    GN_FUZZ_ASSERT(strchr(c->status_topic, '+') == NULL
                   && strchr(c->status_topic, '#') == NULL);
    GN_FUZZ_ASSERT(memchr(c->spool_dir, '\0', sizeof(c->spool_dir)) != NULL);
    GN_FUZZ_ASSERT(c->spool_dir[0] == '/');
    GN_FUZZ_ASSERT(strncmp(c->influx_url, "http", 4) == 0);
    GN_FUZZ_ASSERT(c->spool_max_bytes >= (1 << 20));
    GN_FUZZ_ASSERT(c->batch_max_points >= 1 && c->batch_max_points <= 100000);
    GN_FUZZ_ASSERT(c->fsync_interval_ms >= 1);
}


static void
check_roundtrip(const wk_config_t *c)
{
    char             buf[4 * WK_CONFIG_LINE_MAX];
    wk_config_t      c2;
    wk_config_err_t  err;
    int              n;

    n = snprintf(buf, sizeof(buf),
                 "mqtt_uri = %s\n%s%s%s"
                 "session_expiry = %u\nkeepalive = %d\n%s%s%s"
                 "log_level = %s\nconnect_retry_max = %d\n",
                 c->mqtt_uri,
                 c->client_id[0] ? "client_id = " : "", c->client_id,
                 c->client_id[0] ? "\n" : "",
                 (unsigned) c->session_expiry, c->keepalive,
                 c->status_topic[0] ? "status_topic = " : "",
                 c->status_topic, c->status_topic[0] ? "\n" : "",
                 wk_config_log_level_name(c->log_level),
                 c->connect_retry_max);
    GN_FUZZ_ASSERT(n > 0 && (size_t) n < sizeof(buf));

    wk_config_init(&c2);
    GN_FUZZ_ASSERT(wk_config_parse(&c2, "rt", buf, (size_t) n, &err) == 0);

    GN_FUZZ_ASSERT(strcmp(c->mqtt_uri, c2.mqtt_uri) == 0);
    GN_FUZZ_ASSERT(strcmp(c->client_id, c2.client_id) == 0);
    GN_FUZZ_ASSERT(strcmp(c->status_topic, c2.status_topic) == 0);
    GN_FUZZ_ASSERT(c->session_expiry == c2.session_expiry);
    GN_FUZZ_ASSERT(c->keepalive == c2.keepalive);
    GN_FUZZ_ASSERT(c->log_level == c2.log_level);
    GN_FUZZ_ASSERT(c->connect_retry_max == c2.connect_retry_max);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wk_config_t      conf;
    wk_config_err_t  err;
    int              rc, lines, ref;

    memset(&err, 0, sizeof(err));
    wk_config_init(&conf);

    rc = wk_config_parse(&conf, "fuzz.conf", (const char *) data, size, &err);
    ref = ref_accepts(data, size, &lines);

    if (rc != 0) {
        GN_FUZZ_ASSERT(rc == -1);
        GN_FUZZ_ASSERT(memchr(err.text, '\0', sizeof(err.text)) != NULL);
        GN_FUZZ_ASSERT(strncmp(err.text, "fuzz.conf:", 10) == 0);
        GN_FUZZ_ASSERT(err.line >= 1 && err.line <= lines);
        return 0;
    }

    /* the parser may refuse more (value checks), never accept more */
    GN_FUZZ_ASSERT(ref);

    check_bounds(&conf);
    check_roundtrip(&conf);

    return 0;
}
