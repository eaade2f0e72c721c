/*
 * gonsters-worker configuration: file parser, environment overrides,
 * validation.  Runs once, before any thread is started.
 */

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"


typedef struct wk_config_key_s  wk_config_key_t;

/* returns NULL on success, else a static reason */
typedef const char *(*wk_config_set_pt)(wk_config_t *conf,
    const wk_config_key_t *key, const char *value);

struct wk_config_key_s {
    const char        *name;
    wk_config_set_pt   set;
    size_t             offset;
    long long          min;
    long long          max;     /* numbers: range; strings: max length */
};


static const char *wk_config_set_uri(wk_config_t *conf,
    const wk_config_key_t *key, const char *value);
static const char *wk_config_set_client_id(wk_config_t *conf,
    const wk_config_key_t *key, const char *value);
static const char *wk_config_set_topic(wk_config_t *conf,
    const wk_config_key_t *key, const char *value);
static const char *wk_config_set_u32(wk_config_t *conf,
    const wk_config_key_t *key, const char *value);
static const char *wk_config_set_int(wk_config_t *conf,
    const wk_config_key_t *key, const char *value);
static const char *wk_config_set_u64(wk_config_t *conf,
    const wk_config_key_t *key, const char *value);
static const char *wk_config_set_name(wk_config_t *conf,
    const wk_config_key_t *key, const char *value);
static const char *wk_config_set_path(wk_config_t *conf,
    const wk_config_key_t *key, const char *value);
static const char *wk_config_set_http(wk_config_t *conf,
    const wk_config_key_t *key, const char *value);
static const char *wk_config_set_text(wk_config_t *conf,
    const wk_config_key_t *key, const char *value);
static const char *wk_config_set_log_level(wk_config_t *conf,
    const wk_config_key_t *key, const char *value);


#define WK_OFF(field)  offsetof(wk_config_t, field)

/* read-only table; the order defines the index into conf->set_at[] */
static const wk_config_key_t  wk_config_keys[WK_CONFIG_NKEYS] = {
    { "mqtt_uri", wk_config_set_uri, WK_OFF(mqtt_uri),
      0, WK_CONFIG_URI_MAX },
    { "client_id", wk_config_set_client_id, WK_OFF(client_id),
      0, WK_CONFIG_CLIENT_ID_MAX },
    { "session_expiry", wk_config_set_u32, WK_OFF(session_expiry),
      0, 4294967295LL },                    /* MQTT 5: four-byte integer */
    { "keepalive", wk_config_set_int, WK_OFF(keepalive),
      0, 65535 },                           /* MQTT: two-byte integer */
    { "status_topic", wk_config_set_topic, WK_OFF(status_topic),
      0, WK_CONFIG_TOPIC_MAX },
    { "log_level", wk_config_set_log_level, WK_OFF(log_level),
      0, 0 },
    { "connect_retry_max", wk_config_set_int, WK_OFF(connect_retry_max),
      1, 3600 },
    { "share_group", wk_config_set_name, WK_OFF(share_group),
      0, WK_CONFIG_NAME_MAX },
    { "payload_max_bytes", wk_config_set_int, WK_OFF(payload_max_bytes),
      64, 1 << 20 },
    { "spool_dir", wk_config_set_path, WK_OFF(spool_dir),
      0, WK_CONFIG_PATH_MAX },
    { "spool_max_bytes", wk_config_set_u64, WK_OFF(spool_max_bytes),
      1 << 20, 1LL << 50 },
    { "spool_segment_bytes", wk_config_set_u64, WK_OFF(spool_segment_bytes),
      64 << 10, 1LL << 30 },
    { "fsync_interval_ms", wk_config_set_int, WK_OFF(fsync_interval_ms),
      1, 60000 },
    { "influx_url", wk_config_set_http, WK_OFF(influx_url),
      0, WK_CONFIG_URI_MAX },
    { "influx_db", wk_config_set_name, WK_OFF(influx_db),
      0, WK_CONFIG_NAME_MAX },
    { "influx_rp", wk_config_set_name, WK_OFF(influx_rp),
      0, WK_CONFIG_NAME_MAX },
    { "batch_max_points", wk_config_set_int, WK_OFF(batch_max_points),
      1, 100000 },
    { "batch_max_ms", wk_config_set_int, WK_OFF(batch_max_ms),
      1, 60000 },
    { "influx_timeout_ms", wk_config_set_int, WK_OFF(influx_timeout_ms),
      100, 600000 },
    { "retry_max_ms", wk_config_set_int, WK_OFF(retry_max_ms),
      10, 600000 },
    { "reaggregate", wk_config_set_int, WK_OFF(reaggregate), 0, 1 },
    { "late_settle_s", wk_config_set_int, WK_OFF(late_settle_s), 0, 3600 },
    { "pg_dsn", wk_config_set_text, WK_OFF(pg_dsn),
      0, WK_CONFIG_DSN_MAX },
    { "pg_spool_max_bytes", wk_config_set_u64, WK_OFF(pg_spool_max_bytes),
      1 << 20, 1LL << 50 },
    { "registry_ttl", wk_config_set_int, WK_OFF(registry_ttl),
      1, 86400 },
    { "last_seen_interval_ms", wk_config_set_int,
      WK_OFF(last_seen_interval_ms), 10, 600000 },
    { "inactivity_check_s", wk_config_set_int, WK_OFF(inactivity_check_s),
      1, 86400 },
    { "metrics_file", wk_config_set_path, WK_OFF(metrics_file),
      0, WK_CONFIG_PATH_MAX },
    { "metrics_interval_ms", wk_config_set_int, WK_OFF(metrics_interval_ms),
      100, 600000 },
};

static const char *const  wk_config_levels[] = {
    "debug", "info", "warning", "error"
};


static void
wk_config_error(wk_config_err_t *err, int line, const char *key,
    const char *fmt, ...)
{
    va_list  args;

    err->line = line;
    snprintf(err->key, sizeof(err->key), "%s", key ? key : "");

    va_start(args, fmt);
    vsnprintf(err->text, sizeof(err->text), fmt, args);
    va_end(args);
}


void
wk_config_init(wk_config_t *conf)
{
    memset(conf, 0, sizeof(*conf));

    snprintf(conf->mqtt_uri, sizeof(conf->mqtt_uri), "%s",
             "tcp://127.0.0.1:1883");
    conf->session_expiry = 3600;
    conf->keepalive = 30;
    conf->log_level = WK_LOG_INFO;
    conf->connect_retry_max = 30;

    snprintf(conf->share_group, sizeof(conf->share_group), "gonsters");
    conf->payload_max_bytes = 4096;
    snprintf(conf->spool_dir, sizeof(conf->spool_dir), "%s",
             "/var/lib/gonsters/worker");
    conf->spool_max_bytes = 256ULL << 20;
    conf->spool_segment_bytes = 8ULL << 20;
    conf->fsync_interval_ms = 50;
    snprintf(conf->influx_url, sizeof(conf->influx_url), "%s",
             "http://127.0.0.1:8086");
    snprintf(conf->influx_db, sizeof(conf->influx_db), "gonsters");
    conf->batch_max_points = 5000;
    conf->batch_max_ms = 200;
    conf->influx_timeout_ms = 10000;
    conf->retry_max_ms = 10000;
    conf->reaggregate = 1;
    conf->late_settle_s = 60;
    snprintf(conf->pg_dsn, sizeof(conf->pg_dsn), "%s",
             "host=127.0.0.1 port=5432 dbname=gonsters user=gonsters");
    conf->pg_spool_max_bytes = 64ULL << 20;
    conf->registry_ttl = 300;
    conf->last_seen_interval_ms = 1000;
    conf->inactivity_check_s = 10;
    conf->metrics_interval_ms = 1000;
}


const char *
wk_config_log_level_name(int level)
{
    if (level < WK_LOG_DEBUG || level > WK_LOG_ERROR) {
        return "?";
    }

    return wk_config_levels[level];
}


/* value setters */

static const char *
wk_config_copy_string(wk_config_t *conf, const wk_config_key_t *key,
    const char *value)
{
    size_t  len = strlen(value);

    if (len > (size_t) key->max) {
        return "value too long";
    }

    memcpy((char *) conf + key->offset, value, len + 1);

    return NULL;
}


static const char *
wk_config_set_uri(wk_config_t *conf, const wk_config_key_t *key,
    const char *value)
{
    static const char *const  plain[] = { "tcp://", "mqtt://", "ws://" };
    static const char *const  tls[] = { "ssl://", "mqtts://", "wss://" };
    const char                *host = NULL;
    const char                *p;
    size_t                     i;

    for (i = 0; i < sizeof(tls) / sizeof(tls[0]); i++) {
        if (strncmp(value, tls[i], strlen(tls[i])) == 0) {
            return "TLS URIs need the TLS build of paho (-lpaho-mqtt3as), "
                   "not linked in this build";
        }
    }

    for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        if (strncmp(value, plain[i], strlen(plain[i])) == 0) {
            host = value + strlen(plain[i]);
        }
    }

    if (host == NULL) {
        return "must start with tcp://, mqtt:// or ws://";
    }

    if (*host == '\0' || *host == ':' || *host == '/') {
        return "missing host";
    }

    for (p = value; *p; p++) {
        if (!isgraph((unsigned char) *p)) {
            return "contains whitespace or control characters";
        }
    }

    return wk_config_copy_string(conf, key, value);
}


static const char *
wk_config_set_client_id(wk_config_t *conf, const wk_config_key_t *key,
    const char *value)
{
    const char  *p;

    /* it also becomes a topic level: no '/', '+', '#', no spaces */
    for (p = value; *p; p++) {
        if (!isalnum((unsigned char) *p) && strchr("-_.:", *p) == NULL) {
            return "allowed characters are A-Z a-z 0-9 - _ . :";
        }
    }

    return wk_config_copy_string(conf, key, value);
}


static const char *
wk_config_set_topic(wk_config_t *conf, const wk_config_key_t *key,
    const char *value)
{
    const char  *p;

    if (value[0] == '$') {
        return "topics starting with '$' are reserved for the broker";
    }

    for (p = value; *p; p++) {
        if (*p == '+' || *p == '#') {
            return "wildcards '+' and '#' are not allowed in a topic name";
        }

        if (!isgraph((unsigned char) *p)) {
            return "contains whitespace or control characters";
        }
    }

    return wk_config_copy_string(conf, key, value);
}


/* strict decimal: digits only, fully consumed, within [min, max] */
static const char *
wk_config_number(const wk_config_key_t *key, const char *value,
    long long *out)
{
    const char  *p;
    char        *end;
    long long    n;

    for (p = value; *p; p++) {
        if (!isdigit((unsigned char) *p)) {
            return "not a non-negative decimal integer";
        }
    }

    errno = 0;
    n = strtoll(value, &end, 10);

    if (errno == ERANGE || n < key->min || n > key->max) {
        return "out of range";
    }

    if (end == value || *end != '\0') {
        return "not a non-negative decimal integer";
    }

    *out = n;

    return NULL;
}


static const char *
wk_config_set_u32(wk_config_t *conf, const wk_config_key_t *key,
    const char *value)
{
    long long    n;
    const char  *reason;

    reason = wk_config_number(key, value, &n);
    if (reason) {
        return reason;
    }

    *(uint32_t *) ((char *) conf + key->offset) = (uint32_t) n;

    return NULL;
}


static const char *
wk_config_set_int(wk_config_t *conf, const wk_config_key_t *key,
    const char *value)
{
    long long    n;
    const char  *reason;

    reason = wk_config_number(key, value, &n);
    if (reason) {
        return reason;
    }

    *(int *) ((char *) conf + key->offset) = (int) n;

    return NULL;
}


static const char *
wk_config_set_u64(wk_config_t *conf, const wk_config_key_t *key,
    const char *value)
{
    long long    n;
    const char  *reason;

    reason = wk_config_number(key, value, &n);
    if (reason) {
        return reason;
    }

    *(uint64_t *) ((char *) conf + key->offset) = (uint64_t) n;

    return NULL;
}


/* share group, database, retention policy: a plain name */
static const char *
wk_config_set_name(wk_config_t *conf, const wk_config_key_t *key,
    const char *value)
{
    const char  *p;

    for (p = value; *p; p++) {
        if (!isalnum((unsigned char) *p) && strchr("-_", *p) == NULL) {
            return "allowed characters are A-Z a-z 0-9 - _";
        }
    }

    return wk_config_copy_string(conf, key, value);
}


static const char *
wk_config_set_path(wk_config_t *conf, const wk_config_key_t *key,
    const char *value)
{
    const char  *p;

    if (value[0] != '/') {
        return "must be an absolute path";
    }

    for (p = value; *p; p++) {
        if (!isgraph((unsigned char) *p)) {
            return "contains whitespace or control characters";
        }
    }

    return wk_config_copy_string(conf, key, value);
}


static const char *
wk_config_set_http(wk_config_t *conf, const wk_config_key_t *key,
    const char *value)
{
    const char  *p;

    if (strncmp(value, "http://", 7) != 0
        && strncmp(value, "https://", 8) != 0)
    {
        return "must start with http:// or https://";
    }

    for (p = value; *p; p++) {
        if (!isgraph((unsigned char) *p) || *p == '?' || *p == '#') {
            return "contains whitespace, control characters, '?' or '#'";
        }
    }

    if (value[strlen(value) - 1] == '/') {
        return "must not end with '/'";
    }

    return wk_config_copy_string(conf, key, value);
}


/* free text (a libpq connection string): printable, one line */
static const char *
wk_config_set_text(wk_config_t *conf, const wk_config_key_t *key,
    const char *value)
{
    const char  *p;

    for (p = value; *p; p++) {
        if (iscntrl((unsigned char) *p)) {
            return "contains control characters";
        }
    }

    return wk_config_copy_string(conf, key, value);
}


static const char *
wk_config_set_log_level(wk_config_t *conf, const wk_config_key_t *key,
    const char *value)
{
    int  i;

    (void) key;

    for (i = WK_LOG_DEBUG; i <= WK_LOG_ERROR; i++) {
        if (strcmp(value, wk_config_levels[i]) == 0) {
            conf->log_level = i;
            return NULL;
        }
    }

    return "expected debug, info, warning or error";
}


/* lookup and assignment */

static int
wk_config_find(const char *name)
{
    int  i;

    for (i = 0; i < WK_CONFIG_NKEYS; i++) {
        if (strcmp(wk_config_keys[i].name, name) == 0) {
            return i;
        }
    }

    return -1;
}


static const char *
wk_config_set(wk_config_t *conf, int index, const char *value)
{
    const wk_config_key_t  *key = &wk_config_keys[index];

    if (*value == '\0') {
        return "empty value";
    }

    return key->set(conf, key, value);
}


/* the file parser */

static char *
wk_config_trim(char *s)
{
    char  *end;

    while (isspace((unsigned char) *s)) {
        s++;
    }

    end = s + strlen(s);

    while (end > s && isspace((unsigned char) end[-1])) {
        end--;
    }

    *end = '\0';

    return s;
}


static int
wk_config_valid_key(const char *name)
{
    const char  *p;

    if (*name == '\0') {
        return 0;
    }

    for (p = name; *p; p++) {
        if (!islower((unsigned char) *p) && !isdigit((unsigned char) *p)
            && *p != '_')
        {
            return 0;
        }
    }

    return 1;
}


/* `line` is a NUL-terminated, writable copy without the '\n' */
static int
wk_config_parse_line(wk_config_t *conf, const char *name, int lineno,
    char *line, wk_config_err_t *err)
{
    char        *key, *value, *eq;
    const char  *reason;
    int          index;

    key = wk_config_trim(line);

    if (*key == '\0' || *key == '#') {
        return 0;
    }

    eq = strchr(key, '=');
    if (eq == NULL) {
        wk_config_error(err, lineno, NULL, "%s:%d: missing '=' in \"%.64s\"",
                        name, lineno, key);
        return -1;
    }

    *eq = '\0';
    key = wk_config_trim(key);
    value = wk_config_trim(eq + 1);

    if (!wk_config_valid_key(key)) {
        wk_config_error(err, lineno, key, "%s:%d: invalid key \"%.64s\"",
                        name, lineno, key);
        return -1;
    }

    index = wk_config_find(key);
    if (index < 0) {
        wk_config_error(err, lineno, key, "%s:%d: unknown key \"%.64s\"",
                        name, lineno, key);
        return -1;
    }

    if (conf->set_at[index] > 0) {
        wk_config_error(err, lineno, key,
                        "%s:%d: duplicate key \"%s\" (first set at line %d)",
                        name, lineno, key, conf->set_at[index]);
        return -1;
    }

    reason = wk_config_set(conf, index, value);
    if (reason) {
        wk_config_error(err, lineno, key,
                        "%s:%d: invalid value \"%.64s\" for key \"%s\": %s",
                        name, lineno, value, key, reason);
        return -1;
    }

    conf->set_at[index] = lineno;

    return 0;
}


int
wk_config_parse(wk_config_t *conf, const char *name, const char *buf,
    size_t len, wk_config_err_t *err)
{
    char         line[WK_CONFIG_LINE_MAX];
    const char  *p, *end, *nl;
    size_t       n;
    int          lineno;

    p = buf;
    end = buf + len;

    for (lineno = 1; p < end; lineno++) {
        nl = memchr(p, '\n', (size_t) (end - p));
        n = (size_t) ((nl ? nl : end) - p);

        if (n >= WK_CONFIG_LINE_MAX) {
            wk_config_error(err, lineno, NULL,
                            "%s:%d: line too long (max %d bytes)",
                            name, lineno, WK_CONFIG_LINE_MAX - 1);
            return -1;
        }

        if (memchr(p, '\0', n) != NULL) {
            wk_config_error(err, lineno, NULL, "%s:%d: NUL byte in line",
                            name, lineno);
            return -1;
        }

        memcpy(line, p, n);
        line[n] = '\0';

        if (wk_config_parse_line(conf, name, lineno, line, err) != 0) {
            return -1;
        }

        p += n + 1;
    }

    return 0;
}


static int
wk_config_read(int fd, const char *path, char *buf, size_t size,
    wk_config_err_t *err)
{
    size_t   done = 0;
    ssize_t  n;

    while (done < size) {
        n = read(fd, buf + done, size - done);

        if (n < 0 && errno == EINTR) {
            continue;
        }

        if (n < 0) {
            wk_config_error(err, 0, NULL, "%s: read failed: %s",
                            path, strerror(errno));
            return -1;
        }

        if (n == 0) {
            break;
        }

        done += (size_t) n;
    }

    /* a file that shrank while read is parsed as read */
    return (int) done;
}


int
wk_config_load_file(wk_config_t *conf, const char *path, int missing_ok,
    wk_config_err_t *err)
{
    struct stat   st;
    char         *buf = NULL;
    int           fd, rc = -1, n;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT && missing_ok) {
            return 0;
        }

        wk_config_error(err, 0, NULL, "%s: cannot open: %s",
                        path, strerror(errno));
        return -1;
    }

    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        wk_config_error(err, 0, NULL, "%s: not a regular file", path);
        goto done;
    }

    if (st.st_size > WK_CONFIG_FILE_MAX) {
        wk_config_error(err, 0, NULL, "%s: file too large (max %d bytes)",
                        path, WK_CONFIG_FILE_MAX);
        goto done;
    }

    buf = malloc((size_t) st.st_size + 1);
    if (buf == NULL) {
        wk_config_error(err, 0, NULL, "%s: out of memory", path);
        goto done;
    }

    n = wk_config_read(fd, path, buf, (size_t) st.st_size, err);
    if (n < 0) {
        goto done;
    }

    rc = wk_config_parse(conf, path, buf, (size_t) n, err);

done:

    free(buf);
    close(fd);

    return rc;
}


/* environment */

static void
wk_config_env_name(const char *key, char *buf, size_t size)
{
    size_t  i, plen = strlen(WK_CONFIG_ENV_PREFIX);

    snprintf(buf, size, "%s%s", WK_CONFIG_ENV_PREFIX, key);

    for (i = plen; buf[i]; i++) {
        buf[i] = (char) toupper((unsigned char) buf[i]);
    }
}


int
wk_config_apply_env(wk_config_t *conf, wk_config_err_t *err)
{
    char         name[128], value[WK_CONFIG_LINE_MAX];
    const char  *env, *reason, *v;
    int          i;

    for (i = 0; i < WK_CONFIG_NKEYS; i++) {
        wk_config_env_name(wk_config_keys[i].name, name, sizeof(name));

        env = getenv(name);
        if (env == NULL) {
            continue;
        }

        if (strlen(env) >= sizeof(value)) {
            wk_config_error(err, 0, wk_config_keys[i].name,
                            "environment %s: value too long for key \"%s\"",
                            name, wk_config_keys[i].name);
            return -1;
        }

        memcpy(value, env, strlen(env) + 1);
        v = wk_config_trim(value);

        reason = wk_config_set(conf, i, v);
        if (reason) {
            wk_config_error(err, 0, wk_config_keys[i].name,
                            "environment %s: invalid value \"%.64s\" "
                            "for key \"%s\": %s",
                            name, v, wk_config_keys[i].name, reason);
            return -1;
        }

        conf->set_at[i] = -1;
    }

    return 0;
}


/* derived defaults */

static void
wk_config_default_client_id(wk_config_t *conf)
{
    static const char  prefix[] = "gonsters-worker-";
    char               host[256];
    char              *p;
    size_t             room;

    if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0') {
        snprintf(host, sizeof(host), "%s", "unknown");
    }

    host[sizeof(host) - 1] = '\0';

    for (p = host; *p; p++) {
        if (!isalnum((unsigned char) *p) && strchr("-_.", *p) == NULL) {
            *p = '-';
        }
    }

    room = WK_CONFIG_CLIENT_ID_MAX - (sizeof(prefix) - 1);
    snprintf(conf->client_id, sizeof(conf->client_id), "%s%.*s",
             prefix, (int) room, host);
}


int
wk_config_finalize(wk_config_t *conf, wk_config_err_t *err)
{
    int  n;

    if (conf->client_id[0] == '\0') {
        wk_config_default_client_id(conf);
    }

    if (conf->metrics_file[0] == '\0') {
        n = snprintf(conf->metrics_file, sizeof(conf->metrics_file),
                     "%s/metrics.prom", conf->spool_dir);
        if (n < 0 || (size_t) n >= sizeof(conf->metrics_file)) {
            wk_config_error(err, 0, "metrics_file",
                            "default metrics_file under spool_dir \"%s\" "
                            "is too long", conf->spool_dir);
            return -1;
        }
    }

    if (conf->spool_segment_bytes * 4 > conf->spool_max_bytes
        || conf->spool_segment_bytes * 4 > conf->pg_spool_max_bytes)
    {
        wk_config_error(err, 0, "spool_segment_bytes",
                        "spool_segment_bytes must be at most a quarter of "
                        "spool_max_bytes and of pg_spool_max_bytes");
        return -1;
    }

    if (conf->status_topic[0] != '\0') {
        return 0;
    }

    n = snprintf(conf->status_topic, sizeof(conf->status_topic),
                 "gonsters/worker/%s/status", conf->client_id);

    if (n < 0 || (size_t) n >= sizeof(conf->status_topic)) {
        wk_config_error(err, 0, "status_topic",
                        "default status_topic for client_id \"%s\" "
                        "is too long", conf->client_id);
        return -1;
    }

    return 0;
}


int
wk_config_load(wk_config_t *conf, const char *path, int missing_ok,
    wk_config_err_t *err)
{
    if (wk_config_load_file(conf, path, missing_ok, err) != 0) {
        return -1;
    }

    if (wk_config_apply_env(conf, err) != 0) {
        return -1;
    }

    return wk_config_finalize(conf, err);
}
