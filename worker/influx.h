/*
 * InfluxDB 1.x HTTP client of the writer thread (libcurl, one easy handle:
 * the connection is kept alive between batches).  Blocking; only the
 * writer thread uses it.
 */

#ifndef WK_INFLUX_H
#define WK_INFLUX_H

#include <stddef.h>

#include <curl/curl.h>

#include "config.h"
#include "log.h"

typedef enum {
    WK_INFLUX_OK = 0,       /* 204: every line written */
    WK_INFLUX_RETRY,        /* network error, timeout, 5xx, other: retry */
    WK_INFLUX_REJECTED,     /* 400 (bad or partial write), 413: some or
                               all lines refused, message in ->error */
    WK_INFLUX_NO_DB         /* 404 database not found */
} wk_influx_rc_e;

#define WK_INFLUX_ERROR_MAX  1024

typedef struct {
    const wk_config_t   *conf;
    wk_log_t            *log;
    CURL                *curl;
    struct curl_slist   *headers;
    char                 write_url[WK_CONFIG_URI_MAX + 400];
    char                 query_url[WK_CONFIG_URI_MAX + 16];
    char                 query_db_url[WK_CONFIG_URI_MAX + 400];
    long                 status;                /* last HTTP status, 0 */

    /* polled during a request: non-zero aborts it (shutdown) */
    int                (*abort_check)(void *ctx);
    void                *abort_ctx;
    char                 error[WK_INFLUX_ERROR_MAX];    /* last error */
    size_t               error_len;
} wk_influx_t;

int wk_influx_init(wk_influx_t *ix, const wk_config_t *conf, wk_log_t *log);
void wk_influx_destroy(wk_influx_t *ix);

/* POST /write?db=&rp=&precision=ns */
wk_influx_rc_e wk_influx_write(wk_influx_t *ix, const char *body, size_t len);

/* POST /query?db=<db> q=<statements>: OK when no statement failed */
wk_influx_rc_e wk_influx_query(wk_influx_t *ix, const char *q);

/* POST /query q=CREATE DATABASE "<db>" */
wk_influx_rc_e wk_influx_create_db(wk_influx_t *ix);

#endif /* WK_INFLUX_H */
