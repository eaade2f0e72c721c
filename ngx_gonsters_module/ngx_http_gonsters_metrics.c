
/*
 * Metrics of all workers in one shared memory zone, served as Prometheus
 * text by "gonsters_endpoint metrics".  Counters are atomics: no lock on
 * the hot path.  The zone keeps its name and size across reloads, so
 * counters stay monotonic.  Who may read /metrics is the location's
 * business (allow/deny, auth).
 */


#include "ngx_http_gonsters_module.h"


/* histogram bounds in milliseconds; the last bucket is +Inf */
static const ngx_msec_t  ngx_http_gonsters_buckets[] = {
    1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
};

#define NGX_HTTP_GONSTERS_BUCKETS                                            \
    (sizeof(ngx_http_gonsters_buckets) / sizeof(ngx_msec_t) + 1)

#define NGX_HTTP_GONSTERS_STATUS_MAX  600


typedef struct {
    ngx_atomic_t                  bucket[NGX_HTTP_GONSTERS_BUCKETS];
    ngx_atomic_t                  sum_ms;
    ngx_atomic_t                  count;
} ngx_http_gonsters_histogram_t;


typedef struct {
    ngx_atomic_t                  requests[NGX_HTTP_GONSTERS_ENDPOINT_N]
                                          [NGX_HTTP_GONSTERS_STATUS_MAX];
    ngx_http_gonsters_histogram_t request_time[NGX_HTTP_GONSTERS_ENDPOINT_N];

    /* by ngx_http_gonsters_backend_status_e */
    ngx_atomic_t                  calls[NGX_HTTP_GONSTERS_BACKEND_N][4];
    ngx_http_gonsters_histogram_t call_time[NGX_HTTP_GONSTERS_BACKEND_N];

    ngx_atomic_t                  open[NGX_HTTP_GONSTERS_BACKEND_N];
    ngx_atomic_t                  busy[NGX_HTTP_GONSTERS_BACKEND_N];

    ngx_atomic_t                  cache[NGX_HTTP_GONSTERS_CACHE_N][2];
} ngx_http_gonsters_metrics_t;


static ngx_int_t ngx_http_gonsters_metrics_init(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_gonsters_histogram_add(ngx_http_gonsters_histogram_t *h,
    ngx_msec_t ms);
static u_char *ngx_http_gonsters_histogram_print(u_char *p,
    ngx_http_gonsters_histogram_t *h, const char *metric, const char *label,
    const char *value);


static ngx_str_t  ngx_http_gonsters_metrics_zone_name =
    ngx_string("gonsters_metrics");

/* the zone's memory; read-only after the zone is mapped */
static ngx_http_gonsters_metrics_t  *ngx_http_gonsters_metrics;

static const char  *ngx_http_gonsters_endpoint_names[] = {
    "", "health", "health_postgres", "health_redis", "health_influxdb",
    "metrics", "login", "refresh", "me", "register", "logout", "jwks",
    "machine_create", "machines", "machine",
    "ingest", "history",
    "config", "config_update", "config_reset"
};

static const char  *ngx_http_gonsters_result_names[] = {
    "ok", "error", "unavailable", "timeout"
};

static const char  *ngx_http_gonsters_cache_names[] = {
    "health", "machine", "machine_list"
};


ngx_int_t
ngx_http_gonsters_metrics_init_zone(ngx_conf_t *cf)
{
    ngx_shm_zone_t  *shm_zone;

    shm_zone = ngx_shared_memory_add(cf, &ngx_http_gonsters_metrics_zone_name,
                                     ngx_align(sizeof(ngx_http_gonsters_metrics_t)
                                               + 2 * ngx_pagesize,
                                               ngx_pagesize),
                                     &ngx_http_gonsters_module);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    shm_zone->init = ngx_http_gonsters_metrics_init;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gonsters_metrics_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t  *shpool;

    if (data) {
        /* a reload: keep the counters of the previous cycle */
        shm_zone->data = data;
        ngx_http_gonsters_metrics = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        ngx_http_gonsters_metrics = shpool->data;
        return NGX_OK;
    }

    ngx_http_gonsters_metrics = ngx_slab_calloc(shpool,
                                        sizeof(ngx_http_gonsters_metrics_t));
    if (ngx_http_gonsters_metrics == NULL) {
        return NGX_ERROR;
    }

    shpool->data = ngx_http_gonsters_metrics;
    shm_zone->data = ngx_http_gonsters_metrics;

    return NGX_OK;
}


void
ngx_http_gonsters_metrics_backend(ngx_http_gonsters_backend_e backend,
    ngx_http_gonsters_backend_status_e status, ngx_msec_t latency)
{
    ngx_http_gonsters_metrics_t  *m = ngx_http_gonsters_metrics;

    if (m == NULL || backend >= NGX_HTTP_GONSTERS_BACKEND_N || status > 3) {
        return;
    }

    (void) ngx_atomic_fetch_add(&m->calls[backend][status], 1);
    ngx_http_gonsters_histogram_add(&m->call_time[backend], latency);
}


void
ngx_http_gonsters_metrics_pool(ngx_http_gonsters_backend_e backend,
    ngx_int_t open_delta, ngx_int_t busy_delta)
{
    ngx_http_gonsters_metrics_t  *m = ngx_http_gonsters_metrics;

    if (m == NULL || backend >= NGX_HTTP_GONSTERS_BACKEND_N) {
        return;
    }

    /* deltas wrap around correctly in the unsigned atomics */
    (void) ngx_atomic_fetch_add(&m->open[backend], (ngx_atomic_int_t) open_delta);
    (void) ngx_atomic_fetch_add(&m->busy[backend], (ngx_atomic_int_t) busy_delta);
}


void
ngx_http_gonsters_metrics_cache(ngx_http_gonsters_cache_e cache,
    ngx_uint_t hit)
{
    ngx_http_gonsters_metrics_t  *m = ngx_http_gonsters_metrics;

    if (m == NULL || cache >= NGX_HTTP_GONSTERS_CACHE_N) {
        return;
    }

    (void) ngx_atomic_fetch_add(&m->cache[cache][hit ? 0 : 1], 1);
}


/* log phase: every request a gonsters location answered */

ngx_int_t
ngx_http_gonsters_metrics_log_handler(ngx_http_request_t *r)
{
    ngx_uint_t                     status;
    ngx_msec_int_t                 ms;
    ngx_time_t                    *tp;
    ngx_http_gonsters_loc_conf_t  *glcf;
    ngx_http_gonsters_metrics_t   *m = ngx_http_gonsters_metrics;

    if (m == NULL || r != r->main) {
        return NGX_OK;
    }

    glcf = ngx_http_get_module_loc_conf(r, ngx_http_gonsters_module);

    if (glcf->endpoint == NGX_HTTP_GONSTERS_ENDPOINT_UNSET
        || glcf->endpoint >= NGX_HTTP_GONSTERS_ENDPOINT_N)
    {
        return NGX_OK;
    }

    status = r->err_status ? r->err_status : r->headers_out.status;
    if (status >= NGX_HTTP_GONSTERS_STATUS_MAX) {
        status = 0;
    }

    tp = ngx_timeofday();
    ms = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                           + (tp->msec - r->start_msec));

    (void) ngx_atomic_fetch_add(&m->requests[glcf->endpoint][status], 1);
    ngx_http_gonsters_histogram_add(&m->request_time[glcf->endpoint],
                                    (ngx_msec_t) ngx_max(ms, 0));

    return NGX_OK;
}


static void
ngx_http_gonsters_histogram_add(ngx_http_gonsters_histogram_t *h,
    ngx_msec_t ms)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_GONSTERS_BUCKETS - 1; i++) {
        if (ms <= ngx_http_gonsters_buckets[i]) {
            break;
        }
    }

    /* buckets are stored individually and made cumulative on output */
    (void) ngx_atomic_fetch_add(&h->bucket[i], 1);
    (void) ngx_atomic_fetch_add(&h->sum_ms, ms);
    (void) ngx_atomic_fetch_add(&h->count, 1);
}


/* an upper bound of one histogram's text: buckets, sum and count lines */
#define NGX_HTTP_GONSTERS_HISTOGRAM_LEN                                      \
    ((NGX_HTTP_GONSTERS_BUCKETS + 2) * 160)


static u_char *
ngx_http_gonsters_histogram_print(u_char *p, ngx_http_gonsters_histogram_t *h,
    const char *metric, const char *label, const char *value)
{
    ngx_uint_t    i;
    ngx_atomic_t  cumulative;

    cumulative = 0;

    for (i = 0; i < NGX_HTTP_GONSTERS_BUCKETS; i++) {
        cumulative += h->bucket[i];

        if (i == NGX_HTTP_GONSTERS_BUCKETS - 1) {
            p = ngx_sprintf(p, "%s_bucket{%s=\"%s\",le=\"+Inf\"} %uA\n",
                            metric, label, value, cumulative);
            break;
        }

        p = ngx_sprintf(p, "%s_bucket{%s=\"%s\",le=\"%M.%03M\"} %uA\n",
                        metric, label, value,
                        ngx_http_gonsters_buckets[i] / 1000,
                        ngx_http_gonsters_buckets[i] % 1000, cumulative);
    }

    p = ngx_sprintf(p, "%s_sum{%s=\"%s\"} %uA.%03uA\n", metric, label, value,
                    h->sum_ms / 1000, h->sum_ms % 1000);

    return ngx_sprintf(p, "%s_count{%s=\"%s\"} %uA\n", metric, label, value,
                       h->count);
}


ngx_int_t
ngx_http_gonsters_metrics_handler(ngx_http_request_t *r)
{
    size_t                        len;
    u_char                       *p;
    ngx_int_t                     rc;
    ngx_str_t                     body;
    ngx_uint_t                    e, s, b, k;
    ngx_http_gonsters_metrics_t  *m = ngx_http_gonsters_metrics;

    static ngx_str_t  type = ngx_string("text/plain; version=0.0.4");

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_gonsters_send_not_allowed(r, "GET, HEAD");
    }

    len = 2048
          + NGX_HTTP_GONSTERS_ENDPOINT_N * NGX_HTTP_GONSTERS_HISTOGRAM_LEN
          + NGX_HTTP_GONSTERS_BACKEND_N * (NGX_HTTP_GONSTERS_HISTOGRAM_LEN
                                           + 6 * 160)
          + NGX_HTTP_GONSTERS_CACHE_N * 2 * 160;

    for (e = 1; e < NGX_HTTP_GONSTERS_ENDPOINT_N; e++) {
        for (s = 0; s < NGX_HTTP_GONSTERS_STATUS_MAX; s++) {
            if (m->requests[e][s]) {
                len += 160;
            }
        }
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.data = p;

    p = ngx_sprintf(p, "# HELP gonsters_http_requests_total "
                       "Requests answered by gonsters endpoints.\n"
                       "# TYPE gonsters_http_requests_total counter\n");

    for (e = 1; e < NGX_HTTP_GONSTERS_ENDPOINT_N; e++) {
        for (s = 0; s < NGX_HTTP_GONSTERS_STATUS_MAX; s++) {
            if (m->requests[e][s]) {
                p = ngx_sprintf(p, "gonsters_http_requests_total"
                                   "{endpoint=\"%s\",status=\"%ui\"} %uA\n",
                                ngx_http_gonsters_endpoint_names[e], s,
                                m->requests[e][s]);
            }
        }
    }

    p = ngx_sprintf(p, "# HELP gonsters_http_request_duration_seconds "
                       "Time to answer, by endpoint.\n"
                       "# TYPE gonsters_http_request_duration_seconds "
                       "histogram\n");

    for (e = 1; e < NGX_HTTP_GONSTERS_ENDPOINT_N; e++) {
        p = ngx_http_gonsters_histogram_print(p, &m->request_time[e],
                "gonsters_http_request_duration_seconds", "endpoint",
                ngx_http_gonsters_endpoint_names[e]);
    }

    p = ngx_sprintf(p, "# HELP gonsters_backend_calls_total "
                       "Calls to the stores, by outcome.\n"
                       "# TYPE gonsters_backend_calls_total counter\n");

    for (b = 0; b < NGX_HTTP_GONSTERS_BACKEND_N; b++) {
        for (k = 0; k < 4; k++) {
            p = ngx_sprintf(p, "gonsters_backend_calls_total"
                               "{backend=\"%s\",result=\"%s\"} %uA\n",
                            ngx_http_gonsters_backend_name(b),
                            ngx_http_gonsters_result_names[k],
                            m->calls[b][k]);
        }
    }

    p = ngx_sprintf(p, "# HELP gonsters_backend_call_duration_seconds "
                       "Duration of calls to the stores.\n"
                       "# TYPE gonsters_backend_call_duration_seconds "
                       "histogram\n");

    for (b = 0; b < NGX_HTTP_GONSTERS_BACKEND_N; b++) {
        p = ngx_http_gonsters_histogram_print(p, &m->call_time[b],
                "gonsters_backend_call_duration_seconds", "backend",
                ngx_http_gonsters_backend_name(b));
    }

    p = ngx_sprintf(p, "# HELP gonsters_backend_connections "
                       "Connections of all workers to the stores.\n"
                       "# TYPE gonsters_backend_connections gauge\n");

    for (b = 0; b < NGX_HTTP_GONSTERS_BACKEND_N; b++) {
        p = ngx_sprintf(p, "gonsters_backend_connections"
                           "{backend=\"%s\",state=\"open\"} %A\n"
                           "gonsters_backend_connections"
                           "{backend=\"%s\",state=\"busy\"} %A\n",
                        ngx_http_gonsters_backend_name(b),
                        (ngx_atomic_int_t) m->open[b],
                        ngx_http_gonsters_backend_name(b),
                        (ngx_atomic_int_t) m->busy[b]);
    }

    p = ngx_sprintf(p, "# HELP gonsters_cache_requests_total "
                       "Cache lookups, by result.\n"
                       "# TYPE gonsters_cache_requests_total counter\n");

    for (k = 0; k < NGX_HTTP_GONSTERS_CACHE_N; k++) {
        p = ngx_sprintf(p, "gonsters_cache_requests_total"
                           "{cache=\"%s\",result=\"hit\"} %uA\n"
                           "gonsters_cache_requests_total"
                           "{cache=\"%s\",result=\"miss\"} %uA\n",
                        ngx_http_gonsters_cache_names[k], m->cache[k][0],
                        ngx_http_gonsters_cache_names[k], m->cache[k][1]);
    }

    body.len = p - body.data;

    return ngx_http_gonsters_send_body(r, NGX_HTTP_OK, &type, &body);
}
