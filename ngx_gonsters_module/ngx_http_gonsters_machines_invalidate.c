/*
 * Invalidation of the machine cache after a write: DEL the machine's key
 * and INCR the list version before the write answers; DEL the key once
 * more a moment later (a reader that read the row from PostgreSQL just
 * before the write and puts it into the cache just after the write's DEL
 * would otherwise leave the old row for a TTL).  What Redis did not take
 * is retried with backoff by one EVAL; meanwhile this worker's slot in
 * the node's shared memory keeps the whole node off the cache
 * (ngx_http_gonsters_machines_cache.c).
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_machines.h"
#include "ngx_http_gonsters_redis.h"
#include "ngx_http_gonsters_event.h"
#include "gn_uuid.h"


/* ids whose key is deleted again (or still has to be) */
#define NGX_HTTP_GONSTERS_MACHINES_PENDING      1024
#define NGX_HTTP_GONSTERS_MACHINES_REDELETE     1000
/* Redis fails fast while it is down: retrying often costs nothing, and
 * the node's cache stays off until a retry succeeded */
#define NGX_HTTP_GONSTERS_MACHINES_RETRY_MAX    1000


typedef struct {
    ngx_http_gonsters_machines_done_pt      handler;
    void                                   *data;
} ngx_http_gonsters_invalidate_t;


/* the worker's pending deletes and version increments */
typedef struct {
    u_char                        ids[NGX_HTTP_GONSTERS_MACHINES_PENDING]
                                     [GN_UUID_LEN];
    ngx_uint_t                    nids;
    ngx_uint_t                    sending;     /* ids in the call in flight */
    ngx_uint_t                    incr;        /* the version is owed */
    ngx_uint_t                    failed;      /* bypass the cache */
    time_t                        bypass_until;
    ngx_uint_t                    attempt;
    ngx_uint_t                    busy;
    ngx_event_t                   timer;
    ngx_log_t                    *log;
    ngx_uint_t                    exiting;
} ngx_http_gonsters_machines_pending_t;


static void ngx_http_gonsters_machines_pending_add(ngx_str_t *id,
    ngx_uint_t failed);
static void ngx_http_gonsters_machines_pending_handler(ngx_event_t *ev);


static ngx_http_gonsters_machines_pending_t  ngx_http_gonsters_pending;


/* this worker has invalidations Redis did not take (or too many to
 * remember, until the entries written before have expired) */
ngx_uint_t
ngx_http_gonsters_machines_invalidation_failed(void)
{
    ngx_http_gonsters_machines_pending_t  *pd = &ngx_http_gonsters_pending;

    return pd->failed
           || (pd->bypass_until && ngx_time() < pd->bypass_until);
}


static void
ngx_http_gonsters_machines_del_done(ngx_http_gonsters_backend_status_e status,
    redisReply *reply, void *data)
{
    ngx_str_t  *id = data;

    if (status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        ngx_http_gonsters_machines_pending_add(id, 1);
    }

    ngx_free(id);
}


static ngx_int_t
ngx_http_gonsters_machines_incr_done(ngx_http_request_t *r,
    ngx_http_gonsters_backend_status_e status, redisReply *reply, void *data)
{
    ngx_http_gonsters_invalidate_t  *inv = data;

    if (status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "gonsters: machine list cache not invalidated in "
                      "Redis, retrying; this node reads PostgreSQL "
                      "meanwhile");
        ngx_http_gonsters_pending.incr = 1;
        ngx_http_gonsters_machines_pending_add(NULL, 1);
    }

    return inv->handler(r, inv->data);
}


ngx_int_t
ngx_http_gonsters_machines_invalidate(ngx_http_request_t *r, ngx_str_t *id,
    ngx_http_gonsters_machines_done_pt handler, void *data)
{
    size_t                           argvlen[2];
    ngx_str_t                        key, *copy;
    const char                      *argv[2];
    ngx_http_gonsters_invalidate_t  *inv;

    if (ngx_http_gonsters_redis_configured((ngx_cycle_t *) ngx_cycle)
        != NGX_OK)
    {
        return NGX_DECLINED;
    }

    if (id) {
        /* deleted now, and once more a moment later (see the top) */
        ngx_http_gonsters_machines_pending_add(id, 0);

        copy = ngx_alloc(sizeof(ngx_str_t) + id->len, ngx_cycle->log);
        if (copy == NULL
            || ngx_http_gonsters_machines_key(r->pool, id, &key) != NGX_OK)
        {
            ngx_free(copy);
            ngx_http_gonsters_machines_pending_add(id, 1);

        } else {
            copy->data = (u_char *) (copy + 1);
            copy->len = id->len;
            ngx_memcpy(copy->data, id->data, id->len);

            argv[0] = "DEL";
            argvlen[0] = 3;
            argv[1] = (char *) key.data;
            argvlen[1] = key.len;

            if (ngx_http_gonsters_redis_call(ngx_cycle->log,
                                        ngx_http_gonsters_machines_del_done,
                                        copy, 2, argv, argvlen)
                != NGX_OK)
            {
                ngx_free(copy);
                ngx_http_gonsters_machines_pending_add(id, 1);
            }
        }
    }

    inv = ngx_palloc(r->pool, sizeof(ngx_http_gonsters_invalidate_t));
    if (inv == NULL) {
        return NGX_ERROR;
    }

    inv->handler = handler;
    inv->data = data;

    argv[0] = "INCR";
    argvlen[0] = 4;
    argv[1] = GN_MACHINES_VERSION_KEY;
    argvlen[1] = sizeof(GN_MACHINES_VERSION_KEY) - 1;

    if (ngx_http_gonsters_redis_query(r, ngx_http_gonsters_machines_incr_done,
                                      inv, 2, argv, argvlen)
        != NGX_DONE)
    {
        ngx_http_gonsters_pending.incr = 1;
        ngx_http_gonsters_machines_pending_add(NULL, 1);
        return NGX_ERROR;
    }

    return NGX_DONE;
}


/*
 * id: delete its key (again) at the next run; failed: Redis did not take
 * a change, so this worker bypasses the cache until the run succeeds.
 */
static void
ngx_http_gonsters_machines_pending_add(ngx_str_t *id, ngx_uint_t failed)
{
    ngx_uint_t                             i;
    ngx_http_gonsters_machines_main_conf_t *mmcf;
    ngx_http_gonsters_machines_pending_t  *pd = &ngx_http_gonsters_pending;

    if (pd->exiting || pd->log == NULL) {
        return;
    }

    if (failed) {
        pd->failed = 1;
        ngx_http_gonsters_machines_slot(1);
    }

    if (id && id->len == GN_UUID_LEN) {
        for (i = pd->sending; i < pd->nids; i++) {
            if (ngx_strncmp(pd->ids[i], id->data, GN_UUID_LEN) == 0) {
                break;
            }
        }

        if (i == pd->nids) {
            if (pd->nids < NGX_HTTP_GONSTERS_MACHINES_PENDING) {
                ngx_memcpy(pd->ids[pd->nids++], id->data, GN_UUID_LEN);

            } else if (failed) {
                /* too many to remember: the cache is not trusted until
                 * every entry written before has expired */
                mmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                           ngx_http_gonsters_machines_module);
                pd->bypass_until = ngx_time() + mmcf->cache_ttl;
            }
        }
    }

    if (!pd->timer.timer_set && !pd->busy) {
        ngx_add_timer(&pd->timer, pd->failed
                                  ? 100
                                  : NGX_HTTP_GONSTERS_MACHINES_REDELETE);
    }
}


static void
ngx_http_gonsters_machines_pending_done(
    ngx_http_gonsters_backend_status_e status, redisReply *reply, void *data)
{
    ngx_uint_t                             incr;
    ngx_msec_t                             delay;
    ngx_http_gonsters_machines_pending_t  *pd = &ngx_http_gonsters_pending;

    incr = (ngx_uint_t) (uintptr_t) data;
    pd->busy = 0;

    if (pd->exiting) {
        return;
    }

    if (status == NGX_HTTP_GONSTERS_BACKEND_OK) {
        /* the ids sent are done; those added meanwhile stay */
        ngx_memmove(pd->ids[0], pd->ids[pd->sending],
                    (pd->nids - pd->sending) * GN_UUID_LEN);
        pd->nids -= pd->sending;
        pd->sending = 0;

        if (incr) {
            pd->incr = 0;
        }

        if (pd->failed && !pd->incr) {
            ngx_log_error(NGX_LOG_NOTICE, pd->log, 0,
                          "gonsters: machine cache invalidations caught up "
                          "after %ui attempts", pd->attempt + 1);
            pd->failed = 0;
            ngx_http_gonsters_machines_slot(0);
        }

        pd->attempt = 0;

        if (pd->nids || pd->incr) {
            ngx_add_timer(&pd->timer, NGX_HTTP_GONSTERS_MACHINES_REDELETE);
        }

        return;
    }

    pd->sending = 0;
    pd->failed = 1;
    pd->attempt++;
    ngx_http_gonsters_machines_slot(1);

    if (incr) {
        pd->incr = 1;
    }

    delay = 100 << ngx_min(pd->attempt, 4);
    delay = ngx_min(delay, NGX_HTTP_GONSTERS_MACHINES_RETRY_MAX);

    ngx_log_error(NGX_LOG_WARN, pd->log, 0,
                  "gonsters: machine cache invalidation failed (attempt %ui),"
                  " retry in %Mms; this node reads PostgreSQL meanwhile",
                  pd->attempt, delay);

    if (ngx_http_gonsters_event_enabled(NGX_LOG_WARN)) {
        ngx_http_gonsters_event_field_t  ctx[] = {
            NGX_HTTP_GONSTERS_EV_CSTR("service", "redis"),
            NGX_HTTP_GONSTERS_EV_CSTR("cache_operation",
                                      "invalidate_machine_cache"),
            NGX_HTTP_GONSTERS_EV_INT("pending_keys", pd->nids),
            NGX_HTTP_GONSTERS_EV_BOOL("list_version_owed", pd->incr),
            NGX_HTTP_GONSTERS_EV_INT("retry_attempt", pd->attempt),
            NGX_HTTP_GONSTERS_EV_NULL("max_retries"),
            NGX_HTTP_GONSTERS_EV_NUM("retry_delay_seconds", delay / 1000.0),
            NGX_HTTP_GONSTERS_EV_CSTR("backoff_strategy", "exponential"),
            NGX_HTTP_GONSTERS_EV_CSTR("fallback_action",
                                      "query_from_postgresql"),
            NGX_HTTP_GONSTERS_EV_END
        };

        ngx_http_gonsters_event(NULL, pd->log, NGX_LOG_WARN,
                                "gonsters.machines.cache",
                                "Machine cache invalidation not taken by "
                                "Redis, retrying", ctx);
    }

    ngx_add_timer(&pd->timer, delay);
}


static void
ngx_http_gonsters_machines_pending_handler(ngx_event_t *ev)
{
    size_t                                 *argvlen;
    ngx_uint_t                              i, n, incr;
    const char                            **argv;
    ngx_http_gonsters_machines_pending_t   *pd = &ngx_http_gonsters_pending;
    static u_char   keys[NGX_HTTP_GONSTERS_MACHINES_PENDING]
                        [sizeof(GN_MACHINE_KEY) - 1 + GN_UUID_LEN];
    static const char  *args[NGX_HTTP_GONSTERS_MACHINES_PENDING + 4];
    static size_t       lens[NGX_HTTP_GONSTERS_MACHINES_PENDING + 4];
    static u_char       nkeys[NGX_INT_T_LEN];
    static const char   script[] =
        "for i = 1, #KEYS do redis.call('DEL', KEYS[i]) end "
        "if ARGV[1] == '1' then redis.call('INCR', '"
        GN_MACHINES_VERSION_KEY "') end return 1";

    if (pd->exiting || pd->busy || (pd->nids == 0 && !pd->incr)) {
        return;
    }

    argv = args;
    argvlen = lens;
    n = pd->nids;
    incr = pd->incr;

    /* one call: EVAL deletes the keys and bumps the version atomically */
    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = script;
    argvlen[1] = sizeof(script) - 1;
    for (i = 0; i < n; i++) {
        ngx_memcpy(ngx_cpymem(keys[i], GN_MACHINE_KEY,
                              sizeof(GN_MACHINE_KEY) - 1),
                   pd->ids[i], GN_UUID_LEN);
        argv[3 + i] = (char *) keys[i];
        argvlen[3 + i] = sizeof(keys[i]);
    }

    argvlen[2] = ngx_sprintf(nkeys, "%ui", n) - nkeys;
    argv[2] = (char *) nkeys;

    argv[3 + n] = incr ? "1" : "0";
    argvlen[3 + n] = 1;

    pd->sending = n;
    pd->busy = 1;

    if (ngx_http_gonsters_redis_call(pd->log,
                                     ngx_http_gonsters_machines_pending_done,
                                     (void *) (uintptr_t) incr,
                                     (int) (n + 4), argv, argvlen)
        != NGX_OK)
    {
        pd->busy = 0;
        pd->sending = 0;
        ngx_add_timer(&pd->timer, NGX_HTTP_GONSTERS_MACHINES_RETRY_MAX);
    }
}


void
ngx_http_gonsters_machines_cache_init(ngx_cycle_t *cycle)
{
    ngx_http_gonsters_machines_pending_t  *pd = &ngx_http_gonsters_pending;

    ngx_memzero(pd, sizeof(ngx_http_gonsters_machines_pending_t));

    /* the slot of a worker this one replaces */
    ngx_http_gonsters_machines_slot(0);

    if (ngx_http_gonsters_redis_configured(cycle) != NGX_OK) {
        return;
    }

    pd->log = cycle->log;
    pd->timer.handler = ngx_http_gonsters_machines_pending_handler;
    pd->timer.log = cycle->log;
    pd->timer.data = pd;
    pd->timer.cancelable = 1;
}


void
ngx_http_gonsters_machines_cache_exit(ngx_cycle_t *cycle)
{
    ngx_http_gonsters_machines_pending_t  *pd = &ngx_http_gonsters_pending;

    pd->exiting = 1;

    if (pd->timer.timer_set) {
        ngx_del_timer(&pd->timer);
    }
}
