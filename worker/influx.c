/*
 * InfluxDB 1.x HTTP client, see influx.h.
 *
 * Answers of /write (measured on 1.6.7): 204 written; 400 "partial
 * write: ... dropped=N" (the other lines ARE written) or all lines bad;
 * 404 database not found; 413 body too large; 5xx server trouble.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "influx.h"


#define WK_INFLUX_LOGGER  "worker.influx"


static size_t
wk_influx_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    wk_influx_t  *ix = ctx;
    size_t        n = size * nmemb, room;

    room = sizeof(ix->error) - 1 - ix->error_len;
    if (n < room) {
        room = n;
    }

    memcpy(ix->error + ix->error_len, data, room);
    ix->error_len += room;
    ix->error[ix->error_len] = '\0';

    return n;       /* the rest is dropped, not an error */
}


static CURLcode
wk_influx_url(wk_influx_t *ix, char *dst, size_t size, const char *path,
    int write)
{
    char  *db, *rp = NULL;
    int    n;

    db = curl_easy_escape(ix->curl, ix->conf->influx_db, 0);
    if (db == NULL) {
        return CURLE_OUT_OF_MEMORY;
    }

    if (write == 1 && ix->conf->influx_rp[0]) {
        rp = curl_easy_escape(ix->curl, ix->conf->influx_rp, 0);
    }

    if (write == 1) {
        n = snprintf(dst, size, "%s%s?db=%s%s%s&precision=ns",
                     ix->conf->influx_url, path, db, rp ? "&rp=" : "",
                     rp ? rp : "");
    } else if (write == 2) {
        n = snprintf(dst, size, "%s%s?db=%s", ix->conf->influx_url, path,
                     db);
    } else {
        n = snprintf(dst, size, "%s%s", ix->conf->influx_url, path);
    }

    curl_free(db);
    curl_free(rp);

    return n > 0 && (size_t) n < size ? CURLE_OK : CURLE_URL_MALFORMAT;
}


static int
wk_influx_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
    wk_influx_t  *ix = ctx;

    (void) dltotal; (void) dlnow; (void) ultotal; (void) ulnow;

    return ix->abort_check && ix->abort_check(ix->abort_ctx);
}


int
wk_influx_init(wk_influx_t *ix, const wk_config_t *conf, wk_log_t *log)
{
    memset(ix, 0, sizeof(*ix));
    ix->conf = conf;
    ix->log = log;

    ix->curl = curl_easy_init();
    if (ix->curl == NULL) {
        return -1;
    }

    if (wk_influx_url(ix, ix->write_url, sizeof(ix->write_url), "/write", 1)
        != CURLE_OK
        || wk_influx_url(ix, ix->query_url, sizeof(ix->query_url), "/query",
                         0) != CURLE_OK
        || wk_influx_url(ix, ix->query_db_url, sizeof(ix->query_db_url),
                         "/query", 2) != CURLE_OK)
    {
        return -1;
    }

    ix->headers = curl_slist_append(NULL,
                                    "Content-Type: text/plain; charset=utf-8");
    /* no "Expect: 100-continue" round trip for big batches */
    ix->headers = curl_slist_append(ix->headers, "Expect:");

    curl_easy_setopt(ix->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(ix->curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(ix->curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(ix->curl, CURLOPT_CONNECTTIMEOUT_MS,
                     (long) (conf->influx_timeout_ms < 5000
                             ? conf->influx_timeout_ms : 5000));
    curl_easy_setopt(ix->curl, CURLOPT_TIMEOUT_MS,
                     (long) conf->influx_timeout_ms);
    curl_easy_setopt(ix->curl, CURLOPT_WRITEFUNCTION, wk_influx_body);
    curl_easy_setopt(ix->curl, CURLOPT_WRITEDATA, ix);
    curl_easy_setopt(ix->curl, CURLOPT_HTTPHEADER, ix->headers);

    /* a stalled InfluxDB must not hold up a shutdown for the whole
     * request timeout: libcurl calls this about once a second */
    curl_easy_setopt(ix->curl, CURLOPT_XFERINFOFUNCTION, wk_influx_progress);
    curl_easy_setopt(ix->curl, CURLOPT_XFERINFODATA, ix);
    curl_easy_setopt(ix->curl, CURLOPT_NOPROGRESS, 0L);

    return 0;
}


void
wk_influx_destroy(wk_influx_t *ix)
{
    if (ix->curl) {
        curl_easy_cleanup(ix->curl);
    }

    curl_slist_free_all(ix->headers);
    ix->curl = NULL;
    ix->headers = NULL;
}


/* {"error":"..."} -> the text, in place; anything else stays as is */
static void
wk_influx_error_text(wk_influx_t *ix)
{
    cJSON        *root;
    const cJSON  *e;

    root = cJSON_ParseWithLength(ix->error, ix->error_len);
    e = cJSON_GetObjectItemCaseSensitive(root, "error");

    if (cJSON_IsString(e)) {
        snprintf(ix->error, sizeof(ix->error), "%s", e->valuestring);
        ix->error_len = strlen(ix->error);
    }

    cJSON_Delete(root);
}


static wk_influx_rc_e
wk_influx_post(wk_influx_t *ix, const char *url, const char *body,
    size_t len)
{
    CURLcode  rc;

    ix->error_len = 0;
    ix->error[0] = '\0';
    ix->status = 0;

    curl_easy_setopt(ix->curl, CURLOPT_URL, url);
    curl_easy_setopt(ix->curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(ix->curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t) len);

    rc = curl_easy_perform(ix->curl);

    if (rc != CURLE_OK) {
        snprintf(ix->error, sizeof(ix->error), "%s", curl_easy_strerror(rc));
        ix->error_len = strlen(ix->error);
        return WK_INFLUX_RETRY;
    }

    curl_easy_getinfo(ix->curl, CURLINFO_RESPONSE_CODE, &ix->status);
    wk_influx_error_text(ix);

    if (ix->status >= 200 && ix->status < 300) {
        return WK_INFLUX_OK;
    }

    if (ix->status == 400 || ix->status == 413) {
        return WK_INFLUX_REJECTED;
    }

    if (ix->status == 404) {
        return WK_INFLUX_NO_DB;
    }

    return WK_INFLUX_RETRY;
}


wk_influx_rc_e
wk_influx_write(wk_influx_t *ix, const char *body, size_t len)
{
    wk_influx_rc_e  rc;

    rc = wk_influx_post(ix, ix->write_url, body, len);

    /* 404 also comes for an unknown path (a proxy in between): only a
     * "database not found" is fixed by creating it */
    if (rc == WK_INFLUX_NO_DB
        && strstr(ix->error, "database not found") == NULL)
    {
        rc = WK_INFLUX_RETRY;
    }

    return rc;
}


wk_influx_rc_e
wk_influx_query(wk_influx_t *ix, const char *q)
{
    wk_influx_rc_e   rc;
    char            *esc, *form;
    size_t           len;

    esc = curl_easy_escape(ix->curl, q, 0);
    if (esc == NULL) {
        return WK_INFLUX_RETRY;
    }

    len = strlen(esc) + 3;
    form = malloc(len);
    if (form == NULL) {
        curl_free(esc);
        return WK_INFLUX_RETRY;
    }

    snprintf(form, len, "q=%s", esc);
    curl_free(esc);

    curl_easy_setopt(ix->curl, CURLOPT_HTTPHEADER, NULL);
    rc = wk_influx_post(ix, ix->query_db_url, form, len - 1);
    curl_easy_setopt(ix->curl, CURLOPT_HTTPHEADER, ix->headers);

    free(form);

    /* 200 with {"results":[{"error":...}]}: a statement failed */
    if (rc == WK_INFLUX_OK && strstr(ix->error, "\"error\"")) {
        rc = WK_INFLUX_RETRY;
    }

    return rc == WK_INFLUX_OK ? rc : WK_INFLUX_RETRY;
}


wk_influx_rc_e
wk_influx_create_db(wk_influx_t *ix)
{
    char   q[WK_CONFIG_NAME_MAX + 64], *body;
    int    n;
    wk_influx_rc_e  rc;

    /* the name is [A-Za-z0-9_-] (config.c), quoted for the dash */
    snprintf(q, sizeof(q), "CREATE DATABASE \"%s\"", ix->conf->influx_db);

    body = curl_easy_escape(ix->curl, q, 0);
    if (body == NULL) {
        return WK_INFLUX_RETRY;
    }

    {
        char  form[sizeof(q) * 3 + 8];

        n = snprintf(form, sizeof(form), "q=%s", body);
        curl_free(body);

        curl_easy_setopt(ix->curl, CURLOPT_HTTPHEADER, NULL);
        rc = wk_influx_post(ix, ix->query_url, form, (size_t) n);
        curl_easy_setopt(ix->curl, CURLOPT_HTTPHEADER, ix->headers);
    }

    if (rc == WK_INFLUX_OK && strstr(ix->error, "\"error\"")) {
        rc = WK_INFLUX_RETRY;
    }

    wk_log(ix->log, rc == WK_INFLUX_OK ? WK_LOG_INFO : WK_LOG_ERROR,
           WK_INFLUX_LOGGER,
           rc == WK_INFLUX_OK ? "database created" : "cannot create database",
           WK_STR("database", ix->conf->influx_db),
           WK_INT("status", ix->status), WK_STR("error", ix->error));

    return rc;
}
