
/*
 * GET /health and GET /health/<store>: real, non-blocking checks of
 * PostgreSQL (SELECT 1), Redis (PING) and InfluxDB (/ping), cached per
 * worker for gonsters_health_cache_time so that a flood of health checks
 * does not reach the stores.  While a check runs, further requests that
 * need it wait for its result instead of starting their own.
 *
 * /health: 200 "healthy" or "degraded" (Redis down: a cache, nothing is
 * lost), 503 "unhealthy" when PostgreSQL or InfluxDB is down.
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_pg.h"
#include "ngx_http_gonsters_redis.h"
#include "ngx_http_gonsters_influxdb.h"


#define NGX_HTTP_GONSTERS_HEALTH_DEPS  3

/* a bit per dependency, in ngx_http_gonsters_backend_e order */
#define NGX_HTTP_GONSTERS_HEALTH_ALL   0x07


typedef struct {
    ngx_http_gonsters_backend_status_e  status;
    ngx_msec_t                    latency;
    ngx_msec_t                    checked;     /* when the result came */
    ngx_msec_t                    started;
    unsigned                      valid:1;
    unsigned                      running:1;
    unsigned                      configured:1;
} ngx_http_gonsters_health_dep_t;


/* the state of this worker: results, and requests waiting for checks */
typedef struct {
    ngx_http_gonsters_health_dep_t  dep[NGX_HTTP_GONSTERS_HEALTH_DEPS];
    ngx_queue_t                   waiters;
    /* the request whose subrequest checks InfluxDB */
    ngx_http_request_t           *influxdb_runner;
    ngx_event_t                   wake;
    unsigned                      initialized:1;
} ngx_http_gonsters_health_state_t;


typedef struct {
    ngx_queue_t                   queue;
    ngx_http_request_t           *request;
    ngx_uint_t                    needs;
    unsigned                      queued:1;
} ngx_http_gonsters_health_waiter_t;


static ngx_uint_t ngx_http_gonsters_health_needs(ngx_http_request_t *r);
static ngx_uint_t ngx_http_gonsters_health_stale(ngx_http_request_t *r,
    ngx_uint_t needs);
static ngx_uint_t ngx_http_gonsters_health_pending(ngx_uint_t needs);
static ngx_int_t ngx_http_gonsters_health_start(ngx_http_request_t *r,
    ngx_uint_t stale, ngx_uint_t *influxdb_started);
static ngx_int_t ngx_http_gonsters_health_wait(ngx_http_request_t *r,
    ngx_uint_t needs);
static void ngx_http_gonsters_health_done(ngx_uint_t dep,
    ngx_http_gonsters_backend_status_e status);
static void ngx_http_gonsters_health_wake(void);
static void ngx_http_gonsters_health_wake_handler(ngx_event_t *ev);
static void ngx_http_gonsters_health_waiter_cleanup(void *data);
static void ngx_http_gonsters_health_runner_cleanup(void *data);
static void ngx_http_gonsters_health_pg_done(
    ngx_http_gonsters_pg_result_t *res, void *data);
static void ngx_http_gonsters_health_redis_done(
    ngx_http_gonsters_backend_status_e status, redisReply *reply, void *data);
static ngx_int_t ngx_http_gonsters_health_influxdb_done(ngx_http_request_t *r,
    ngx_http_gonsters_influxdb_result_t *res, void *data);
static ngx_int_t ngx_http_gonsters_health_answer(ngx_http_request_t *r,
    ngx_uint_t needs);
static ngx_int_t ngx_http_gonsters_health_answer_one(ngx_http_request_t *r,
    ngx_uint_t dep);
static u_char *ngx_http_gonsters_health_dep_json(u_char *p,
    ngx_http_gonsters_health_dep_t *d);
static ngx_uint_t ngx_http_gonsters_health_ok(
    ngx_http_gonsters_health_dep_t *d);


static ngx_http_gonsters_health_state_t  ngx_http_gonsters_health_state;

static ngx_http_gonsters_pg_stmt_t  ngx_http_gonsters_health_select = {
    NULL, "SELECT 1", 0, NULL
};

static const char  *ngx_http_gonsters_health_ping[] = { "PING" };
static const size_t  ngx_http_gonsters_health_ping_len[] = { 4 };


ngx_int_t
ngx_http_gonsters_health_handler(ngx_http_request_t *r)
{
    ngx_int_t   rc;
    ngx_uint_t  needs, stale, influxdb_started;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_gonsters_send_not_allowed(r, "GET, HEAD");
    }

    needs = ngx_http_gonsters_health_needs(r);
    stale = ngx_http_gonsters_health_stale(r, needs);

    if (stale == 0) {
        ngx_http_gonsters_metrics_cache(NGX_HTTP_GONSTERS_CACHE_HEALTH, 1);
        return ngx_http_gonsters_health_answer(r, needs);
    }

    ngx_http_gonsters_metrics_cache(NGX_HTTP_GONSTERS_CACHE_HEALTH, 0);

    influxdb_started = 0;

    if (ngx_http_gonsters_health_start(r, stale, &influxdb_started)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (influxdb_started) {
        /* r is answered when its InfluxDB check completes */
        return NGX_DONE;
    }

    return ngx_http_gonsters_health_wait(r, needs);
}


/* the dependencies a location reports; unconfigured stores are skipped */

static ngx_uint_t
ngx_http_gonsters_health_needs(ngx_http_request_t *r)
{
    ngx_uint_t                         needs;
    ngx_http_gonsters_loc_conf_t      *glcf;
    ngx_http_gonsters_health_state_t  *st = &ngx_http_gonsters_health_state;

    glcf = ngx_http_get_module_loc_conf(r, ngx_http_gonsters_module);

    if (!st->initialized) {
        ngx_queue_init(&st->waiters);
        st->wake.handler = ngx_http_gonsters_health_wake_handler;
        st->wake.log = ngx_cycle->log;
        st->dep[NGX_HTTP_GONSTERS_POSTGRES].configured =
            ngx_http_gonsters_pg_configured((ngx_cycle_t *) ngx_cycle)
            == NGX_OK;
        st->dep[NGX_HTTP_GONSTERS_REDIS].configured =
            ngx_http_gonsters_redis_configured((ngx_cycle_t *) ngx_cycle)
            == NGX_OK;
        st->dep[NGX_HTTP_GONSTERS_INFLUXDB].configured =
            ngx_http_gonsters_influxdb_configured(r) == NGX_OK;
        st->initialized = 1;
    }

    switch (glcf->endpoint) {

    case NGX_HTTP_GONSTERS_ENDPOINT_HEALTH_POSTGRES:
        needs = 1 << NGX_HTTP_GONSTERS_POSTGRES;
        break;

    case NGX_HTTP_GONSTERS_ENDPOINT_HEALTH_REDIS:
        needs = 1 << NGX_HTTP_GONSTERS_REDIS;
        break;

    case NGX_HTTP_GONSTERS_ENDPOINT_HEALTH_INFLUXDB:
        needs = 1 << NGX_HTTP_GONSTERS_INFLUXDB;
        break;

    default:
        needs = NGX_HTTP_GONSTERS_HEALTH_ALL;
    }

    return needs;
}


/* the needed dependencies without a fresh result and no check running */

static ngx_uint_t
ngx_http_gonsters_health_stale(ngx_http_request_t *r, ngx_uint_t needs)
{
    ngx_uint_t                         i, stale;
    ngx_http_gonsters_main_conf_t     *gmcf;
    ngx_http_gonsters_health_dep_t    *d;

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_module);
    stale = 0;

    for (i = 0; i < NGX_HTTP_GONSTERS_HEALTH_DEPS; i++) {
        d = &ngx_http_gonsters_health_state.dep[i];

        if (!(needs & (1 << i)) || !d->configured) {
            continue;
        }

        if (d->running
            || !d->valid
            || ngx_current_msec - d->checked >= gmcf->health_cache_time)
        {
            stale |= 1 << i;
        }
    }

    return stale;
}


/* the needed dependencies whose check is under way */

static ngx_uint_t
ngx_http_gonsters_health_pending(ngx_uint_t needs)
{
    ngx_uint_t                       i, pending;
    ngx_http_gonsters_health_dep_t  *d;

    pending = 0;

    for (i = 0; i < NGX_HTTP_GONSTERS_HEALTH_DEPS; i++) {
        d = &ngx_http_gonsters_health_state.dep[i];

        if ((needs & (1 << i)) && d->configured && d->running) {
            pending |= 1 << i;
        }
    }

    return pending;
}


static ngx_int_t
ngx_http_gonsters_health_start(ngx_http_request_t *r, ngx_uint_t stale,
    ngx_uint_t *influxdb_started)
{
    ngx_int_t                        rc;
    ngx_pool_t                      *pool;
    ngx_pool_cleanup_t              *cln;
    ngx_http_gonsters_health_dep_t  *dep = ngx_http_gonsters_health_state.dep;

    if ((stale & (1 << NGX_HTTP_GONSTERS_POSTGRES))
        && !dep[NGX_HTTP_GONSTERS_POSTGRES].running)
    {
        /* the check outlives any request: its result pool is its own */
        pool = ngx_create_pool(512, ngx_cycle->log);
        if (pool == NULL) {
            return NGX_ERROR;
        }

        dep[NGX_HTTP_GONSTERS_POSTGRES].running = 1;
        dep[NGX_HTTP_GONSTERS_POSTGRES].started = ngx_current_msec;

        rc = ngx_http_gonsters_pg_call(pool, ngx_cycle->log,
                                       &ngx_http_gonsters_health_select, 1, 0,
                                       ngx_http_gonsters_health_pg_done, pool);
        if (rc == NGX_ERROR) {
            ngx_destroy_pool(pool);
            ngx_http_gonsters_health_done(NGX_HTTP_GONSTERS_POSTGRES,
                                          NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE);
        }
    }

    if ((stale & (1 << NGX_HTTP_GONSTERS_REDIS))
        && !dep[NGX_HTTP_GONSTERS_REDIS].running)
    {
        dep[NGX_HTTP_GONSTERS_REDIS].running = 1;
        dep[NGX_HTTP_GONSTERS_REDIS].started = ngx_current_msec;

        rc = ngx_http_gonsters_redis_call(ngx_cycle->log,
                                          ngx_http_gonsters_health_redis_done,
                                          NULL, 1,
                                          ngx_http_gonsters_health_ping,
                                          ngx_http_gonsters_health_ping_len);
        if (rc == NGX_ERROR) {
            ngx_http_gonsters_health_done(NGX_HTTP_GONSTERS_REDIS,
                                          NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE);
        }
    }

    if ((stale & (1 << NGX_HTTP_GONSTERS_INFLUXDB))
        && !dep[NGX_HTTP_GONSTERS_INFLUXDB].running
        && r == r->main)
    {
        /* a subrequest needs a request: this one runs the check */
        cln = ngx_pool_cleanup_add(r->pool, 0);
        if (cln == NULL) {
            return NGX_ERROR;
        }

        dep[NGX_HTTP_GONSTERS_INFLUXDB].running = 1;
        dep[NGX_HTTP_GONSTERS_INFLUXDB].started = ngx_current_msec;

        rc = ngx_http_gonsters_influxdb_ping(r,
                                       ngx_http_gonsters_health_influxdb_done,
                                       NULL);
        if (rc == NGX_ERROR) {
            /* a local failure says nothing about InfluxDB: no result */
            dep[NGX_HTTP_GONSTERS_INFLUXDB].running = 0;

        } else {
            ngx_http_gonsters_health_state.influxdb_runner = r;
            cln->handler = ngx_http_gonsters_health_runner_cleanup;
            cln->data = r;
            *influxdb_started = 1;
        }
    }

    return NGX_OK;
}


/*
 * r waits for checks run by others; being on the list is a suspension
 * (one reference), released when the answer is sent.  A request torn down
 * meanwhile leaves the list by its pool cleanup.
 */

static ngx_int_t
ngx_http_gonsters_health_wait(ngx_http_request_t *r, ngx_uint_t needs)
{
    ngx_pool_cleanup_t                 *cln;
    ngx_http_gonsters_health_waiter_t  *w;

    if (ngx_http_gonsters_health_pending(needs) == 0) {
        /* the checks failed to start and were settled at once */
        return ngx_http_gonsters_health_answer(r, needs);
    }

    cln = ngx_pool_cleanup_add(r->pool,
                               sizeof(ngx_http_gonsters_health_waiter_t));
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    w = cln->data;
    w->request = r;
    w->needs = needs;
    w->queued = 1;
    ngx_queue_insert_tail(&ngx_http_gonsters_health_state.waiters, &w->queue);

    cln->handler = ngx_http_gonsters_health_waiter_cleanup;

    return ngx_http_gonsters_suspend(r);
}


static void
ngx_http_gonsters_health_waiter_cleanup(void *data)
{
    ngx_http_gonsters_health_waiter_t  *w = data;

    if (w->queued) {
        ngx_queue_remove(&w->queue);
        w->queued = 0;
    }
}


/*
 * The request running the InfluxDB check was torn down before the check
 * completed (nginx terminates a request whose subrequest's client went
 * away), so its handler will not run: the previous result stands, or
 * "unavailable" when there is none, and the waiters are answered.
 */

static void
ngx_http_gonsters_health_runner_cleanup(void *data)
{
    ngx_http_request_t                *r = data;
    ngx_http_gonsters_health_state_t  *st = &ngx_http_gonsters_health_state;
    ngx_http_gonsters_health_dep_t    *d;

    if (st->influxdb_runner != r) {
        return;
    }

    st->influxdb_runner = NULL;
    d = &st->dep[NGX_HTTP_GONSTERS_INFLUXDB];
    d->running = 0;

    if (!d->valid) {
        ngx_http_gonsters_health_done(NGX_HTTP_GONSTERS_INFLUXDB,
                                      NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE);
    }

    /* not from inside another request's teardown */
    ngx_post_event(&st->wake, &ngx_posted_events);
}


static void
ngx_http_gonsters_health_done(ngx_uint_t dep,
    ngx_http_gonsters_backend_status_e status)
{
    ngx_http_gonsters_health_dep_t  *d;

    d = &ngx_http_gonsters_health_state.dep[dep];

    d->status = status;
    d->latency = ngx_current_msec - d->started;
    d->checked = ngx_current_msec;
    d->valid = 1;
    d->running = 0;
}


/* answer every waiter whose dependencies are all settled now */

static void
ngx_http_gonsters_health_wake(void)
{
    ngx_queue_t                        *q, *next, *head;
    ngx_http_request_t                 *r;
    ngx_http_gonsters_health_waiter_t  *w;

    head = &ngx_http_gonsters_health_state.waiters;

    for (q = ngx_queue_head(head); q != ngx_queue_sentinel(head); q = next) {
        next = ngx_queue_next(q);
        w = ngx_queue_data(q, ngx_http_gonsters_health_waiter_t, queue);

        if (ngx_http_gonsters_health_pending(w->needs)) {
            continue;
        }

        ngx_queue_remove(q);
        w->queued = 0;

        r = w->request;
        ngx_http_gonsters_resume(r, ngx_http_gonsters_health_answer(r,
                                                                  w->needs));
    }
}


static void
ngx_http_gonsters_health_wake_handler(ngx_event_t *ev)
{
    ngx_http_gonsters_health_wake();
}


static void
ngx_http_gonsters_health_pg_done(ngx_http_gonsters_pg_result_t *res,
    void *data)
{
    ngx_pool_t  *pool = data;

    ngx_http_gonsters_health_done(NGX_HTTP_GONSTERS_POSTGRES, res->status);
    ngx_destroy_pool(pool);

    if (!ngx_terminate) {
        ngx_http_gonsters_health_wake();
    }
}


static void
ngx_http_gonsters_health_redis_done(ngx_http_gonsters_backend_status_e status,
    redisReply *reply, void *data)
{
    if (status == NGX_HTTP_GONSTERS_BACKEND_OK
        && (reply == NULL || reply->type != REDIS_REPLY_STATUS))
    {
        status = NGX_HTTP_GONSTERS_BACKEND_ERROR;
    }

    ngx_http_gonsters_health_done(NGX_HTTP_GONSTERS_REDIS, status);

    /* on a fast shutdown this runs from exit_process: no requests then */
    if (!ngx_terminate) {
        ngx_http_gonsters_health_wake();
    }
}


static ngx_int_t
ngx_http_gonsters_health_influxdb_done(ngx_http_request_t *r,
    ngx_http_gonsters_influxdb_result_t *res, void *data)
{
    ngx_http_gonsters_health_state.influxdb_runner = NULL;
    ngx_http_gonsters_health_done(NGX_HTTP_GONSTERS_INFLUXDB, res->status);
    ngx_http_gonsters_health_wake();

    /* r is answered now, or joins the waiters if another check still runs */
    return ngx_http_gonsters_health_wait(r, ngx_http_gonsters_health_needs(r));
}


static ngx_int_t
ngx_http_gonsters_health_answer(ngx_http_request_t *r, ngx_uint_t needs)
{
    u_char                          *p;
    ngx_str_t                        body;
    ngx_uint_t                       i, status;
    const char                      *overall;
    ngx_http_gonsters_health_dep_t  *dep;

    dep = ngx_http_gonsters_health_state.dep;

    if (needs != NGX_HTTP_GONSTERS_HEALTH_ALL) {
        for (i = 0; i < NGX_HTTP_GONSTERS_HEALTH_DEPS; i++) {
            if (needs & (1 << i)) {
                return ngx_http_gonsters_health_answer_one(r, i);
            }
        }
    }

    overall = "healthy";
    status = NGX_HTTP_OK;

    if (dep[NGX_HTTP_GONSTERS_REDIS].configured
        && !ngx_http_gonsters_health_ok(&dep[NGX_HTTP_GONSTERS_REDIS]))
    {
        overall = "degraded";
    }

    for (i = 0; i < NGX_HTTP_GONSTERS_HEALTH_DEPS; i++) {
        if (i != NGX_HTTP_GONSTERS_REDIS
            && dep[i].configured
            && !ngx_http_gonsters_health_ok(&dep[i]))
        {
            overall = "unhealthy";
            status = NGX_HTTP_SERVICE_UNAVAILABLE;
        }
    }

    p = ngx_pnalloc(r->pool, 512);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.data = p;
    p = ngx_sprintf(p, "{\"status\":\"%s\",\"version\":\""
                       NGX_HTTP_GONSTERS_VERSION "\",\"dependencies\":{",
                    overall);

    for (i = 0; i < NGX_HTTP_GONSTERS_HEALTH_DEPS; i++) {
        p = ngx_sprintf(p, "%s\"%s\":", i ? "," : "",
                        ngx_http_gonsters_backend_name(i));
        p = ngx_http_gonsters_health_dep_json(p, &dep[i]);
    }

    *p++ = '}';
    *p++ = '}';
    body.len = p - body.data;

    if (status == NGX_HTTP_SERVICE_UNAVAILABLE) {
        if (ngx_http_gonsters_add_retry_after(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ngx_http_gonsters_send_json(r, status, &body);
}


static ngx_int_t
ngx_http_gonsters_health_answer_one(ngx_http_request_t *r, ngx_uint_t dep)
{
    u_char                          *p;
    ngx_str_t                        body;
    ngx_http_gonsters_health_dep_t  *d;

    d = &ngx_http_gonsters_health_state.dep[dep];

    if (!d->configured) {
        return ngx_http_gonsters_send_error(r, NGX_HTTP_NOT_FOUND,
                                            "Dependency not configured");
    }

    if (!ngx_http_gonsters_health_ok(d)) {
        if (ngx_http_gonsters_add_retry_after(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    p = ngx_pnalloc(r->pool, 160);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    body.data = p;
    p = ngx_http_gonsters_health_dep_json(p, d);
    body.len = p - body.data;

    return ngx_http_gonsters_send_json(r, ngx_http_gonsters_health_ok(d)
                                          ? NGX_HTTP_OK
                                          : NGX_HTTP_SERVICE_UNAVAILABLE,
                                       &body);
}


static u_char *
ngx_http_gonsters_health_dep_json(u_char *p, ngx_http_gonsters_health_dep_t *d)
{
    static const char  *errors[] = {
        "", "error reply", "unavailable", "timed out"
    };

    if (!d->configured) {
        return ngx_sprintf(p, "{\"status\":\"not_configured\"}");
    }

    if (!d->valid) {
        return ngx_sprintf(p, "{\"status\":\"unhealthy\","
                              "\"error\":\"not checked yet\"}");
    }

    if (d->status == NGX_HTTP_GONSTERS_BACKEND_OK) {
        return ngx_sprintf(p, "{\"status\":\"healthy\",\"latency_ms\":%M}",
                           d->latency);
    }

    return ngx_sprintf(p, "{\"status\":\"unhealthy\",\"error\":\"%s\","
                          "\"latency_ms\":%M}",
                       errors[d->status], d->latency);
}


static ngx_uint_t
ngx_http_gonsters_health_ok(ngx_http_gonsters_health_dep_t *d)
{
    return d->valid && d->status == NGX_HTTP_GONSTERS_BACKEND_OK;
}
