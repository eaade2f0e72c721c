/*
 * The machine cache in Redis (cache-aside; PostgreSQL is the truth): keys,
 * whether the cache may be used, puts, the list cache, and the node's
 * shared record of invalidations Redis did not take.
 *
 *   ngx_http_gonsters_machines_resolve.c     the batch resolve API
 *   ngx_http_gonsters_machines_invalidate.c  invalidation and its retries
 *
 * Redis never fails a request: an error or timeout is a miss, and the
 * answer comes from PostgreSQL.  An invalidation that fails is retried by
 * its worker, and until it succeeded no worker of the node reads or fills
 * the cache (it might otherwise serve what the write changed once Redis
 * answers again): each worker has a slot in shared memory holding the time
 * of its last failed invalidation (0: none), and the cache is off while a
 * slot is set and fresh (a slot older than NGX_HTTP_GONSTERS_MACHINES_STALE
 * belongs to a worker that died; its pending invalidations are lost, and
 * the entries expire).  Other nodes see the change when the retry
 * succeeded or their entries expire.
 *
 * The list cannot have the race of cache-aside (a reader putting a row it
 * read before a write, after the write's invalidation): its key holds the
 * version read before the query, and writers INCR the version after their
 * commit.
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_machines.h"
#include "ngx_http_gonsters_redis.h"
#include "ngx_http_gonsters_event.h"


#define NGX_HTTP_GONSTERS_MACHINES_STALE        10
#define NGX_HTTP_GONSTERS_MACHINES_SLOTS        NGX_MAX_PROCESSES


typedef struct {
    ngx_atomic_t                  failed[NGX_HTTP_GONSTERS_MACHINES_SLOTS];
} ngx_http_gonsters_machines_shm_t;


typedef struct {
    ngx_http_gonsters_machines_list_pt      handler;
    void                                   *data;
    ngx_str_t                               seen;   /* the version asked */
    ngx_str_t                               version; /* the version read */
    ngx_str_t                               args;
} ngx_http_gonsters_list_get_t;


static ngx_int_t ngx_http_gonsters_machines_list_again(ngx_http_request_t *r,
    ngx_http_gonsters_list_get_t *lg, ngx_str_t *version);


static ngx_shm_zone_t  *ngx_http_gonsters_machines_zone;


static ngx_int_t
ngx_http_gonsters_machines_zone_init(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t                   *shpool;
    ngx_http_gonsters_machines_shm_t  *sh;

    if (data) {
        shm_zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    sh = ngx_slab_calloc(shpool, sizeof(ngx_http_gonsters_machines_shm_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    shm_zone->data = sh;

    return NGX_OK;
}


ngx_int_t
ngx_http_gonsters_machines_init_zone(ngx_conf_t *cf)
{
    ngx_str_t  name = ngx_string("gonsters_machines");

    ngx_http_gonsters_machines_zone = ngx_shared_memory_add(cf, &name,
                                   64 * 1024, &ngx_http_gonsters_machines_module);
    if (ngx_http_gonsters_machines_zone == NULL) {
        return NGX_ERROR;
    }

    ngx_http_gonsters_machines_zone->init =
                                        ngx_http_gonsters_machines_zone_init;

    return NGX_OK;
}


/* this worker's slot: the time of its last failed invalidation, or 0 */
void
ngx_http_gonsters_machines_slot(ngx_uint_t failed)
{
    ngx_http_gonsters_machines_shm_t  *sh;

    if (ngx_http_gonsters_machines_zone == NULL
        || ngx_http_gonsters_machines_zone->data == NULL
        || ngx_worker >= NGX_HTTP_GONSTERS_MACHINES_SLOTS)
    {
        return;
    }

    sh = ngx_http_gonsters_machines_zone->data;
    sh->failed[ngx_worker] = failed ? (ngx_atomic_uint_t) ngx_time() : 0;
}


/* a worker of this node has invalidations Redis did not take yet */
static ngx_uint_t
ngx_http_gonsters_machines_node_failed(void)
{
    time_t                             now, t;
    ngx_uint_t                         i, n;
    ngx_core_conf_t                   *ccf;
    ngx_http_gonsters_machines_shm_t  *sh;

    if (ngx_http_gonsters_machines_zone == NULL
        || ngx_http_gonsters_machines_zone->data == NULL)
    {
        return 0;
    }

    sh = ngx_http_gonsters_machines_zone->data;
    ccf = (ngx_core_conf_t *) ngx_get_conf(ngx_cycle->conf_ctx,
                                           ngx_core_module);
    n = ngx_min((ngx_uint_t) ccf->worker_processes,
                NGX_HTTP_GONSTERS_MACHINES_SLOTS);
    now = ngx_time();

    for (i = 0; i < n; i++) {
        t = (time_t) sh->failed[i];
        if (t && now - t < NGX_HTTP_GONSTERS_MACHINES_STALE) {
            return 1;
        }
    }

    return 0;
}


ngx_int_t
ngx_http_gonsters_machines_key(ngx_pool_t *pool, ngx_str_t *id,
    ngx_str_t *key)
{
    u_char  *p;

    key->len = sizeof(GN_MACHINE_KEY) - 1 + id->len;
    key->data = ngx_pnalloc(pool, key->len + 1);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(key->data, GN_MACHINE_KEY, sizeof(GN_MACHINE_KEY) - 1);
    ngx_strlow(p, id->data, id->len);
    p[id->len] = '\0';

    return NGX_OK;
}


ngx_uint_t
ngx_http_gonsters_machines_cache_usable(ngx_http_request_t *r)
{
    if (ngx_http_gonsters_redis_configured((ngx_cycle_t *) ngx_cycle)
        != NGX_OK)
    {
        return 0;
    }

    return !ngx_http_gonsters_machines_invalidation_failed()
           && !ngx_http_gonsters_machines_node_failed();
}



/*
 * The seed's WARNING (Part 3 §1) from the cache's side: a read failed, the
 * answer comes from PostgreSQL; with the operation, the machine and the
 * connection's retry and backoff state (the Redis layer logs the
 * connection's own "Redis connection lost" events).  At most one a second
 * per worker (with the number left out), since every request would report
 * the same outage.
 */
void
ngx_http_gonsters_machines_redis_lost(ngx_http_request_t *r,
    ngx_http_gonsters_backend_status_e status, const char *operation,
    ngx_str_t *machine_id)
{
    ngx_http_gonsters_redis_state_t  st;
    static time_t                    last;
    static ngx_uint_t                suppressed;

    if (!ngx_http_gonsters_event_enabled(NGX_LOG_WARN)) {
        return;
    }

    if (last == ngx_time()) {
        suppressed++;
        return;
    }

    last = ngx_time();

    ngx_http_gonsters_redis_get_state(&st);

    {
        ngx_http_gonsters_event_field_t  ctx[] = {
            NGX_HTTP_GONSTERS_EV_CSTR("service", "redis"),
            NGX_HTTP_GONSTERS_EV_CSTR("error",
                status == NGX_HTTP_GONSTERS_BACKEND_TIMEOUT
                ? "timeout" : status == NGX_HTTP_GONSTERS_BACKEND_ERROR
                ? "error reply" : "unavailable"),
            NGX_HTTP_GONSTERS_EV_STR("connection_error",
                                     st.error.len ? &st.error : NULL),
            NGX_HTTP_GONSTERS_EV_BOOL("connected", st.connected),
            NGX_HTTP_GONSTERS_EV_INT("retry_attempt", st.attempt),
            NGX_HTTP_GONSTERS_EV_NULL("max_retries"),
            NGX_HTTP_GONSTERS_EV_NUM("retry_delay_seconds",
                                     st.delay / 1000.0),
            NGX_HTTP_GONSTERS_EV_CSTR("backoff_strategy", "exponential"),
            NGX_HTTP_GONSTERS_EV_CSTR("cache_operation", operation),
            NGX_HTTP_GONSTERS_EV_STR("machine_id", machine_id),
            NGX_HTTP_GONSTERS_EV_CSTR("fallback_action",
                                      "query_from_postgresql"),
            NGX_HTTP_GONSTERS_EV_INT("suppressed_since_last", suppressed),
            NGX_HTTP_GONSTERS_EV_REQUEST,
            NGX_HTTP_GONSTERS_EV_END
        };

        suppressed = 0;

        ngx_http_gonsters_event(r, r->connection->log, NGX_LOG_WARN,
                                "gonsters.machines.cache",
                                "Machine cache read failed, answering "
                                "from PostgreSQL", ctx);
    }
}


/* ---- puts --------------------------------------------------------------- */


void
ngx_http_gonsters_machines_ignore(ngx_http_gonsters_backend_status_e status,
    redisReply *reply, void *data)
{
    /* a put that failed leaves a miss: nothing to repair */
}


void
ngx_http_gonsters_machines_cache_put(ngx_http_request_t *r, ngx_str_t *id,
    ngx_str_t *json)
{
    u_char                                  ttl[NGX_TIME_T_LEN];
    size_t                                  argvlen[5];
    ngx_str_t                               key;
    const char                             *argv[5];
    ngx_http_gonsters_machines_main_conf_t *mmcf;

    if (!ngx_http_gonsters_machines_cache_usable(r)) {
        return;
    }

    mmcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_machines_module);

    if (ngx_http_gonsters_machines_key(r->pool, id, &key) != NGX_OK) {
        return;
    }

    argv[0] = "SET";
    argvlen[0] = 3;
    argv[1] = (char *) key.data;
    argvlen[1] = key.len;
    argv[2] = (char *) json->data;
    argvlen[2] = json->len;
    argv[3] = "EX";
    argvlen[3] = 2;
    argv[4] = (char *) ttl;
    argvlen[4] = ngx_sprintf(ttl, "%T", mmcf->cache_ttl) - ttl;

    (void) ngx_http_gonsters_redis_call(ngx_cycle->log,
                                        ngx_http_gonsters_machines_ignore,
                                        NULL, 5, argv, argvlen);
}


/* ---- the list cache ----------------------------------------------------- */


/*
 * The version and the list answer in one MGET: the key holds the version
 * this worker saw last.  When the version read with it is that one, a
 * body is the answer of the current version (MGET is atomic); when it is
 * not, the worker keeps the new version and asks once more, with a GET
 * under it (two round trips only after a change).  (No Lua: a plain MGET
 * costs Redis less.)
 */

static u_char      ngx_http_gonsters_list_version[NGX_INT64_LEN];
static ngx_str_t   ngx_http_gonsters_list_seen = {
    1, (u_char *) "0"
};


/* the list key of a version, in r->pool */
static ngx_int_t
ngx_http_gonsters_machines_list_key(ngx_http_request_t *r, ngx_str_t *version,
    ngx_str_t *args, ngx_str_t *key)
{
    u_char  *p;

    key->len = sizeof(GN_MACHINES_LIST_KEY) - 1 + version->len + 1
               + args->len;
    key->data = ngx_pnalloc(r->pool, key->len);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(key->data, GN_MACHINES_LIST_KEY,
                   sizeof(GN_MACHINES_LIST_KEY) - 1);
    p = ngx_cpymem(p, version->data, version->len);
    *p++ = ':';
    ngx_memcpy(p, args->data, args->len);

    return NGX_OK;
}


/* the answer of the second look, under the version the first one read */
static ngx_int_t
ngx_http_gonsters_machines_list_found(ngx_http_request_t *r,
    ngx_http_gonsters_backend_status_e status, redisReply *reply, void *data)
{
    ngx_http_gonsters_list_get_t  *lg = data;

    ngx_str_t  body;

    if (status != NGX_HTTP_GONSTERS_BACKEND_OK
        || reply->type != REDIS_REPLY_STRING)
    {
        ngx_http_gonsters_metrics_cache(NGX_HTTP_GONSTERS_CACHE_MACHINE_LIST,
                                        0);
        return lg->handler(r, NULL,
                           status == NGX_HTTP_GONSTERS_BACKEND_OK
                           ? &lg->version : NULL,
                           lg->data);
    }

    body.len = reply->len;
    body.data = ngx_pnalloc(r->pool, reply->len);
    if (body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ngx_memcpy(body.data, reply->str, reply->len);

    ngx_http_gonsters_metrics_cache(NGX_HTTP_GONSTERS_CACHE_MACHINE_LIST, 1);

    return lg->handler(r, &body, &lg->version, lg->data);
}


static ngx_int_t
ngx_http_gonsters_machines_list_again(ngx_http_request_t *r,
    ngx_http_gonsters_list_get_t *lg, ngx_str_t *version)
{
    size_t       argvlen[2];
    ngx_str_t    key;
    const char  *argv[2];

    lg->version = *version;

    if (ngx_http_gonsters_machines_list_key(r, version, &lg->args, &key)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    argv[0] = "GET";
    argvlen[0] = 3;
    argv[1] = (char *) key.data;
    argvlen[1] = key.len;

    if (ngx_http_gonsters_redis_query(r, ngx_http_gonsters_machines_list_found,
                                      lg, 2, argv, argvlen)
        == NGX_DONE)
    {
        return NGX_DONE;
    }

    ngx_http_gonsters_metrics_cache(NGX_HTTP_GONSTERS_CACHE_MACHINE_LIST, 0);

    return lg->handler(r, NULL, version, lg->data);
}


static ngx_int_t
ngx_http_gonsters_machines_list_reply(ngx_http_request_t *r,
    ngx_http_gonsters_backend_status_e status, redisReply *reply, void *data)
{
    ngx_http_gonsters_list_get_t  *lg = data;

    ngx_str_t    body, version, current;
    redisReply  *v, *b;

    if (status != NGX_HTTP_GONSTERS_BACKEND_OK
        || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
    {
        if (status != NGX_HTTP_GONSTERS_BACKEND_OK) {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "gonsters: machine list cache unavailable, "
                          "reading PostgreSQL");
            ngx_http_gonsters_machines_redis_lost(r, status,
                                                  "get_machine_list", NULL);
        }
        ngx_http_gonsters_metrics_cache(NGX_HTTP_GONSTERS_CACHE_MACHINE_LIST,
                                        0);
        return lg->handler(r, NULL, NULL, lg->data);
    }

    v = reply->element[0];
    b = reply->element[1];

    /* no version yet is version 0 */
    if (v->type == REDIS_REPLY_STRING && v->len > 0
        && v->len <= NGX_INT64_LEN)
    {
        current.data = (u_char *) v->str;
        current.len = v->len;

    } else {
        ngx_str_set(&current, "0");
    }

    version.len = current.len;
    version.data = ngx_pnalloc(r->pool, current.len);
    if (version.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ngx_memcpy(version.data, current.data, current.len);

    if (lg->seen.len != version.len
        || ngx_memcmp(lg->seen.data, version.data, version.len) != 0)
    {
        /* the list changed since this worker looked: remember, and ask
         * for the answer under the version just read */
        ngx_memcpy(ngx_http_gonsters_list_version, version.data, version.len);
        ngx_http_gonsters_list_seen.data = ngx_http_gonsters_list_version;
        ngx_http_gonsters_list_seen.len = version.len;

        return ngx_http_gonsters_machines_list_again(r, lg, &version);
    }

    if (b->type != REDIS_REPLY_STRING) {
        ngx_http_gonsters_metrics_cache(NGX_HTTP_GONSTERS_CACHE_MACHINE_LIST,
                                        0);
        return lg->handler(r, NULL, &version, lg->data);
    }

    body.len = b->len;
    body.data = ngx_pnalloc(r->pool, b->len);
    if (body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ngx_memcpy(body.data, b->str, b->len);

    ngx_http_gonsters_metrics_cache(NGX_HTTP_GONSTERS_CACHE_MACHINE_LIST, 1);

    return lg->handler(r, &body, &version, lg->data);
}


ngx_int_t
ngx_http_gonsters_machines_list_get(ngx_http_request_t *r, ngx_str_t *args,
    ngx_http_gonsters_machines_list_pt handler, void *data)
{
    size_t                         argvlen[3];
    ngx_str_t                      key;
    const char                    *argv[3];
    ngx_http_gonsters_list_get_t  *lg;

    if (!ngx_http_gonsters_machines_cache_usable(r)) {
        return NGX_DECLINED;
    }

    lg = ngx_palloc(r->pool, sizeof(ngx_http_gonsters_list_get_t));
    if (lg == NULL) {
        return NGX_ERROR;
    }

    lg->handler = handler;
    lg->data = data;

    /* a copy: another request may learn a newer version meanwhile */
    lg->seen.len = ngx_http_gonsters_list_seen.len;
    lg->seen.data = ngx_pnalloc(r->pool, lg->seen.len);
    if (lg->seen.data == NULL) {
        return NGX_ERROR;
    }
    ngx_memcpy(lg->seen.data, ngx_http_gonsters_list_seen.data,
               lg->seen.len);

    lg->args = *args;

    if (ngx_http_gonsters_machines_list_key(r, &lg->seen, args, &key)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    argv[0] = "MGET";
    argvlen[0] = 4;
    argv[1] = GN_MACHINES_VERSION_KEY;
    argvlen[1] = sizeof(GN_MACHINES_VERSION_KEY) - 1;
    argv[2] = (char *) key.data;
    argvlen[2] = key.len;

    if (ngx_http_gonsters_redis_query(r, ngx_http_gonsters_machines_list_reply,
                                      lg, 3, argv, argvlen)
        != NGX_DONE)
    {
        return NGX_DECLINED;
    }

    return NGX_DONE;
}


void
ngx_http_gonsters_machines_list_put(ngx_http_request_t *r, ngx_str_t *version,
    ngx_str_t *args, ngx_str_t *body)
{
    u_char                                  ttl[NGX_TIME_T_LEN];
    size_t                                  argvlen[5];
    ngx_str_t                               key;
    const char                             *argv[5];
    ngx_http_gonsters_machines_main_conf_t *mmcf;

    if (version == NULL || !ngx_http_gonsters_machines_cache_usable(r)) {
        return;
    }

    mmcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_machines_module);

    if (ngx_http_gonsters_machines_list_key(r, version, args, &key)
        != NGX_OK)
    {
        return;
    }

    argv[0] = "SET";
    argvlen[0] = 3;
    argv[1] = (char *) key.data;
    argvlen[1] = key.len;
    argv[2] = (char *) body->data;
    argvlen[2] = body->len;
    argv[3] = "EX";
    argvlen[3] = 2;
    argv[4] = (char *) ttl;
    argvlen[4] = ngx_sprintf(ttl, "%T", mmcf->list_cache_ttl) - ttl;

    (void) ngx_http_gonsters_redis_call(ngx_cycle->log,
                                        ngx_http_gonsters_machines_ignore,
                                        NULL, 5, argv, argvlen);
}
