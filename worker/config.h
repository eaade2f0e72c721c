/*
 * gonsters-worker configuration.
 *
 * File format (see worker/worker.conf.example):
 *   key = value        one setting per line, key and value trimmed
 *   # comment          whole-line comments only; a '#' after a value is
 *                      part of the value (and rejected by the validators
 *                      of every key that cannot contain it)
 *   blank lines are ignored
 * A key may appear once per file: a duplicate is an error (it is almost
 * always a copy-and-paste mistake, and "last one wins" hides it).
 *
 * Then environment variables override the file:
 *   GONSTERS_WORKER_<KEY in upper case>, e.g. GONSTERS_WORKER_MQTT_URI.
 * Other GONSTERS_WORKER_* variables are ignored (the test harness itself
 * exports GONSTERS_WORKER_BIN).
 *
 * Errors name the file and line ("worker.conf:7: ...") or the environment
 * variable, and the key.
 */

#ifndef WK_CONFIG_H
#define WK_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define WK_CONFIG_DEFAULT_PATH  "/etc/gonsters/worker.conf"
#define WK_CONFIG_ENV_PREFIX    "GONSTERS_WORKER_"

#define WK_CONFIG_LINE_MAX      4096        /* bytes per line, '\n' included */
#define WK_CONFIG_FILE_MAX      (1 << 20)   /* whole file */

#define WK_CONFIG_URI_MAX       512
#define WK_CONFIG_CLIENT_ID_MAX 128
#define WK_CONFIG_TOPIC_MAX     512

#define WK_CONFIG_ERR_MAX       512

#define WK_CONFIG_NKEYS         29
#define WK_CONFIG_PATH_MAX      400
#define WK_CONFIG_NAME_MAX      128
#define WK_CONFIG_DSN_MAX       1024

enum {
    WK_LOG_DEBUG = 0,
    WK_LOG_INFO,
    WK_LOG_WARNING,
    WK_LOG_ERROR
};

typedef struct {
    char      mqtt_uri[WK_CONFIG_URI_MAX + 1];
    char      client_id[WK_CONFIG_CLIENT_ID_MAX + 1];
    char      status_topic[WK_CONFIG_TOPIC_MAX + 1];
    uint32_t  session_expiry;       /* seconds, MQTT 5 Session Expiry */
    int       keepalive;            /* seconds, 0 disables */
    int       log_level;            /* WK_LOG_* */
    int       connect_retry_max;    /* seconds, cap of the backoff */

    /* subscription */
    char      share_group[WK_CONFIG_NAME_MAX + 1];
    int       payload_max_bytes;

    /* spool */
    char      spool_dir[WK_CONFIG_PATH_MAX + 1];
    uint64_t  spool_max_bytes;
    uint64_t  spool_segment_bytes;
    int       fsync_interval_ms;

    /* InfluxDB writer */
    char      influx_url[WK_CONFIG_URI_MAX + 1];
    char      influx_db[WK_CONFIG_NAME_MAX + 1];
    char      influx_rp[WK_CONFIG_NAME_MAX + 1];
    int       batch_max_points;
    int       batch_max_ms;
    int       influx_timeout_ms;
    int       retry_max_ms;         /* cap of the write backoff */
    int       reaggregate;          /* 1: late readings re-aggregate tiers */
    int       late_settle_s;        /* gn_tiers settle */

    /* PostgreSQL */
    char      pg_dsn[WK_CONFIG_DSN_MAX + 1];
    uint64_t  pg_spool_max_bytes;
    int       registry_ttl;         /* s */
    int       last_seen_interval_ms;
    int       inactivity_check_s;

    /* metrics */
    char      metrics_file[WK_CONFIG_PATH_MAX + 1];
    int       metrics_interval_ms;

    /* where each key was set, in the order of the key table in config.c:
     * 0 = default, > 0 = line of the file, -1 = environment */
    int       set_at[WK_CONFIG_NKEYS];
} wk_config_t;

typedef struct {
    char      text[WK_CONFIG_ERR_MAX];  /* "file:line: message" */
    char      key[64];                  /* offending key, "" if none */
    int       line;                     /* 0 if not from a file line */
} wk_config_err_t;

/*
 * Defaults; client_id and status_topic stay empty until finalize.
 * Every function below expects a conf set up by wk_config_init().
 */
void wk_config_init(wk_config_t *conf);

/* parse a buffer that holds a whole config file named `name` */
int wk_config_parse(wk_config_t *conf, const char *name, const char *buf,
    size_t len, wk_config_err_t *err);

/* read and parse a file; missing_ok: a missing file is not an error */
int wk_config_load_file(wk_config_t *conf, const char *path, int missing_ok,
    wk_config_err_t *err);

/* apply GONSTERS_WORKER_<KEY> variables */
int wk_config_apply_env(wk_config_t *conf, wk_config_err_t *err);

/* derive client_id (from the host name) and status_topic when unset */
int wk_config_finalize(wk_config_t *conf, wk_config_err_t *err);

/* all of the above, in order */
int wk_config_load(wk_config_t *conf, const char *path, int missing_ok,
    wk_config_err_t *err);

const char *wk_config_log_level_name(int level);

#endif /* WK_CONFIG_H */
