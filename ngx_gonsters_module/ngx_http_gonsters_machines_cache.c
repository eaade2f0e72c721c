/*
 * The machine cache in Redis (cache-aside; PostgreSQL is the truth):
 * the batch resolve API, single puts, invalidation and the list cache.
 *
 * Redis never fails a request: an error or timeout is a miss, and the
 * answer comes from PostgreSQL.  An invalidation that fails is retried by
 * the worker with backoff, and until it succeeded this worker neither
 * reads nor fills the cache (it might otherwise serve what the write
 * changed once Redis answers again).  Other nodes see the change when the
 * entries expire (their TTL) or the retry succeeded.
 *
 * The workers of a node share that state: each has a slot in shared
 * memory holding the time of its last failed invalidation (0: none), and
 * no worker of the node uses the cache while a slot is set and fresh (a
 * slot older than NGX_HTTP_GONSTERS_MACHINES_STALE belongs to a worker
 * that died; its pending invalidations are lost, and the entries expire).
 *
 * A reader that read a row from PostgreSQL just before a write and puts
 * it into the cache just after the write's DEL would leave the old row
 * for a TTL: every write deletes its key a second time a moment later.
 * The list cannot have that race: its key holds the version read before
 * the query, and writers INCR the version after their commit.
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_machines.h"
#include "ngx_http_gonsters_pg.h"
#include "ngx_http_gonsters_redis.h"
#include "ngx_http_gonsters_event.h"
#include "gn_uuid.h"

#include <cjson/cJSON.h>


#define GN_MACHINE_KEY           "gonsters:machine:"
#define GN_MACHINES_VERSION_KEY  "gonsters:machines:version"
#define GN_MACHINES_LIST_KEY     "gonsters:machines:list:"

/* ids whose key is deleted again (or still has to be) */
#define NGX_HTTP_GONSTERS_MACHINES_PENDING      1024
#define NGX_HTTP_GONSTERS_MACHINES_REDELETE     1000
/* Redis fails fast while it is down: retrying often costs nothing, and
 * the node's cache stays off until a retry succeeded */
#define NGX_HTTP_GONSTERS_MACHINES_RETRY_MAX    1000
#define NGX_HTTP_GONSTERS_MACHINES_STALE        10
#define NGX_HTTP_GONSTERS_MACHINES_SLOTS        NGX_MAX_PROCESSES


typedef struct {
    ngx_atomic_t                  failed[NGX_HTTP_GONSTERS_MACHINES_SLOTS];
} ngx_http_gonsters_machines_shm_t;


typedef struct {
    ngx_http_request_t                     *r;
    ngx_str_t                              *ids;
    ngx_uint_t                              n;
    ngx_http_gonsters_machine_t            *machines;
    ngx_http_gonsters_machines_resolve_pt   handler;
    void                                   *data;
} ngx_http_gonsters_resolve_t;


typedef struct {
    ngx_http_gonsters_machines_done_pt      handler;
    void                                   *data;
} ngx_http_gonsters_invalidate_t;


typedef struct {
    ngx_http_gonsters_machines_list_pt      handler;
    void                                   *data;
} ngx_http_gonsters_list_get_t;


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


static ngx_int_t ngx_http_gonsters_resolve_mget(ngx_http_request_t *r,
    ngx_http_gonsters_backend_status_e status, redisReply *reply, void *data);
static ngx_int_t ngx_http_gonsters_resolve_pg(ngx_http_request_t *r,
    ngx_http_gonsters_resolve_t *rs);
static ngx_int_t ngx_http_gonsters_resolve_rows(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);
static void ngx_http_gonsters_machines_pending_add(ngx_str_t *id,
    ngx_uint_t failed);
static void ngx_http_gonsters_machines_pending_handler(ngx_event_t *ev);
static void ngx_http_gonsters_machines_ignore(
    ngx_http_gonsters_backend_status_e status, redisReply *reply,
    void *data);


static ngx_http_gonsters_machines_pending_t  ngx_http_gonsters_pending;
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
static void
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
    ngx_http_gonsters_machines_pending_t  *pd = &ngx_http_gonsters_pending;

    if (ngx_http_gonsters_redis_configured((ngx_cycle_t *) ngx_cycle)
        != NGX_OK)
    {
        return 0;
    }

    if (pd->failed || ngx_http_gonsters_machines_node_failed()) {
        return 0;
    }

    return pd->bypass_until == 0 || ngx_time() >= pd->bypass_until;
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


/* ---- resolve ------------------------------------------------------------ */


ngx_int_t
ngx_http_gonsters_machines_resolve(ngx_http_request_t *r, ngx_str_t *ids,
    ngx_uint_t n, ngx_http_gonsters_machines_resolve_pt handler, void *data)
{
    size_t                        *argvlen;
    ngx_str_t                      key;
    ngx_uint_t                     i;
    const char                   **argv;
    ngx_http_gonsters_resolve_t   *rs;

    if (n == 0 || n > NGX_HTTP_GONSTERS_MACHINES_RESOLVE_MAX) {
        return NGX_ERROR;
    }

    rs = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_resolve_t));
    if (rs == NULL) {
        return NGX_ERROR;
    }

    rs->machines = ngx_pcalloc(r->pool, n * sizeof(ngx_http_gonsters_machine_t));
    if (rs->machines == NULL) {
        return NGX_ERROR;
    }

    rs->r = r;
    rs->ids = ids;
    rs->n = n;
    rs->handler = handler;
    rs->data = data;

    if (!ngx_http_gonsters_machines_cache_usable(r)) {
        return ngx_http_gonsters_resolve_pg(r, rs);
    }

    argv = ngx_palloc(r->pool, (n + 1) * sizeof(char *));
    argvlen = ngx_palloc(r->pool, (n + 1) * sizeof(size_t));
    if (argv == NULL || argvlen == NULL) {
        return NGX_ERROR;
    }

    argv[0] = "MGET";
    argvlen[0] = 4;

    for (i = 0; i < n; i++) {
        if (ngx_http_gonsters_machines_key(r->pool, &ids[i], &key) != NGX_OK) {
            return NGX_ERROR;
        }
        argv[i + 1] = (char *) key.data;
        argvlen[i + 1] = key.len;
    }

    if (ngx_http_gonsters_redis_query(r, ngx_http_gonsters_resolve_mget, rs,
                                      (int) (n + 1), argv, argvlen)
        == NGX_DONE)
    {
        return NGX_DONE;
    }

    return ngx_http_gonsters_resolve_pg(r, rs);
}


static ngx_int_t
ngx_http_gonsters_machines_copy_member(ngx_pool_t *pool, cJSON *obj,
    const char *name, ngx_str_t *out)
{
    cJSON  *item;

    item = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsString(item)) {
        return NGX_DECLINED;
    }

    out->len = ngx_strlen(item->valuestring);
    out->data = ngx_pnalloc(pool, out->len + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, item->valuestring, out->len + 1);

    return NGX_OK;
}


/* a cached object into m: NGX_OK, NGX_DECLINED (not a machine object: a
 * miss), NGX_ERROR */
static ngx_int_t
ngx_http_gonsters_machines_parse_cached(ngx_pool_t *pool, char *text,
    size_t len, ngx_str_t *id, ngx_http_gonsters_machine_t *m)
{
    cJSON      *obj;
    ngx_int_t   rc;

    obj = cJSON_ParseWithLength(text, len);
    if (obj == NULL) {
        return NGX_DECLINED;
    }

    rc = ngx_http_gonsters_machines_copy_member(pool, obj, "machine_id",
                                                &m->id);
    if (rc == NGX_OK) {
        rc = ngx_http_gonsters_machines_copy_member(pool, obj, "name",
                                                    &m->name);
    }
    if (rc == NGX_OK) {
        rc = ngx_http_gonsters_machines_copy_member(pool, obj, "location",
                                                    &m->location);
    }
    if (rc == NGX_OK) {
        rc = ngx_http_gonsters_machines_copy_member(pool, obj, "sensor_type",
                                                    &m->sensor_type);
    }
    if (rc == NGX_OK) {
        rc = ngx_http_gonsters_machines_copy_member(pool, obj, "status",
                                                    &m->status);
    }
    if (rc == NGX_OK) {
        rc = ngx_http_gonsters_machines_copy_member(pool, obj, "factory_id",
                                                    &m->factory_id);
    }

    cJSON_Delete(obj);

    if (rc == NGX_OK
        && (m->id.len != id->len
            || ngx_strncasecmp(m->id.data, id->data, id->len) != 0))
    {
        rc = NGX_DECLINED;
    }

    if (rc != NGX_OK) {
        ngx_memzero(m, sizeof(ngx_http_gonsters_machine_t));
    }

    return rc;
}


static ngx_int_t
ngx_http_gonsters_resolve_mget(ngx_http_request_t *r,
    ngx_http_gonsters_backend_status_e status, redisReply *reply, void *data)
{
    ngx_http_gonsters_resolve_t  *rs = data;

    ngx_int_t     rc;
    ngx_uint_t    i, misses;
    redisReply   *e;

    misses = rs->n;

    if (status == NGX_HTTP_GONSTERS_BACKEND_OK
        && reply->type == REDIS_REPLY_ARRAY && reply->elements == rs->n)
    {
        misses = 0;

        for (i = 0; i < rs->n; i++) {
            e = reply->element[i];
            rc = NGX_DECLINED;

            if (e->type == REDIS_REPLY_STRING) {
                rc = ngx_http_gonsters_machines_parse_cached(r->pool, e->str,
                                                             e->len,
                                                             &rs->ids[i],
                                                             &rs->machines[i]);
                if (rc == NGX_ERROR) {
                    return NGX_HTTP_INTERNAL_SERVER_ERROR;
                }
            }

            ngx_http_gonsters_metrics_cache(NGX_HTTP_GONSTERS_CACHE_MACHINE,
                                            rc == NGX_OK);
            if (rc != NGX_OK) {
                misses++;
            }
        }

    } else {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "gonsters: machine cache unavailable, reading %ui "
                      "machines from PostgreSQL", rs->n);

        ngx_http_gonsters_machines_redis_lost(r, status,
                                              "get_machine_metadata",
                                              &rs->ids[0]);

        for (i = 0; i < rs->n; i++) {
            ngx_http_gonsters_metrics_cache(NGX_HTTP_GONSTERS_CACHE_MACHINE,
                                            0);
        }
    }

    if (misses == 0) {
        return rs->handler(r, NGX_OK, NGX_HTTP_GONSTERS_BACKEND_OK,
                           rs->machines, rs->data);
    }

    rc = ngx_http_gonsters_resolve_pg(r, rs);
    if (rc == NGX_DONE) {
        return NGX_DONE;
    }

    return rs->handler(r, NGX_ERROR, NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE,
                       rs->machines, rs->data);
}


static const char  gn_sql_resolve[] =
    "SELECT m.id, m.name, m.location, m.sensor_type, m.status, m.factory_id, "
    GN_MACHINE_JSON("m") " FROM machine_metadata m "
    "WHERE m.id = ANY($1::uuid[])";


/* the misses as a PostgreSQL array literal "{id,id}"; NULL when no miss
 * is a valid UUID (then nothing needs asking) */
static char *
ngx_http_gonsters_resolve_array(ngx_http_request_t *r,
    ngx_http_gonsters_resolve_t *rs)
{
    u_char      *p, *start;
    ngx_uint_t   i, n;

    start = ngx_pnalloc(r->pool, rs->n * (GN_UUID_LEN + 1) + 3);
    if (start == NULL) {
        return NULL;
    }

    p = start;
    *p++ = '{';
    n = 0;

    for (i = 0; i < rs->n; i++) {
        if (rs->machines[i].id.len
            || !gn_uuid_is_valid((char *) rs->ids[i].data, rs->ids[i].len))
        {
            continue;
        }

        if (n++) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, rs->ids[i].data, GN_UUID_LEN);
    }

    *p++ = '}';
    *p = '\0';

    return n ? (char *) start : NULL;
}


static ngx_int_t
ngx_http_gonsters_resolve_pg(ngx_http_request_t *r,
    ngx_http_gonsters_resolve_t *rs)
{
    const char                   **values;
    ngx_http_gonsters_pg_stmt_t   *stmt;

    values = ngx_palloc(r->pool, sizeof(char *));
    stmt = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_pg_stmt_t));
    if (values == NULL || stmt == NULL) {
        return NGX_ERROR;
    }

    values[0] = ngx_http_gonsters_resolve_array(r, rs);

    if (values[0] == NULL) {
        /* every miss is malformed: unknown without asking; the handler
         * still runs from the event loop, through a trivial query */
        values[0] = "{}";
    }

    stmt->name = "gn_machines_resolve";
    stmt->sql = gn_sql_resolve;
    stmt->nparams = 1;
    stmt->values = values;

    return ngx_http_gonsters_pg_query(r, stmt, 1, 0,
                                      ngx_http_gonsters_resolve_rows, rs);
}


static ngx_int_t
ngx_http_gonsters_machines_pg_copy(ngx_pool_t *pool, PGresult *res, int row,
    int col, ngx_str_t *out)
{
    out->len = PQgetlength(res, row, col);
    out->data = ngx_pnalloc(pool, out->len + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, PQgetvalue(res, row, col), out->len);
    out->data[out->len] = '\0';

    return NGX_OK;
}


static ngx_int_t
ngx_http_gonsters_resolve_fill(ngx_http_request_t *r,
    ngx_http_gonsters_resolve_t *rs, PGresult *res, int row)
{
    char                         *id;
    ngx_str_t                     json;
    ngx_uint_t                    i, first;
    ngx_http_gonsters_machine_t   m;

    id = PQgetvalue(res, row, 0);
    first = 1;

    for (i = 0; i < rs->n; i++) {

        if (rs->machines[i].id.len || rs->ids[i].len != GN_UUID_LEN
            || ngx_strncasecmp(rs->ids[i].data, (u_char *) id, GN_UUID_LEN)
               != 0)
        {
            continue;
        }

        if (first) {
            if (ngx_http_gonsters_machines_pg_copy(r->pool, res, row, 0,
                                                   &m.id) != NGX_OK
                || ngx_http_gonsters_machines_pg_copy(r->pool, res, row, 1,
                                                      &m.name) != NGX_OK
                || ngx_http_gonsters_machines_pg_copy(r->pool, res, row, 2,
                                                   &m.location) != NGX_OK
                || ngx_http_gonsters_machines_pg_copy(r->pool, res, row, 3,
                                                   &m.sensor_type) != NGX_OK
                || ngx_http_gonsters_machines_pg_copy(r->pool, res, row, 4,
                                                      &m.status) != NGX_OK
                || ngx_http_gonsters_machines_pg_copy(r->pool, res, row, 5,
                                                   &m.factory_id) != NGX_OK)
            {
                return NGX_ERROR;
            }

            json.data = (u_char *) PQgetvalue(res, row, 6);
            json.len = PQgetlength(res, row, 6);
            ngx_http_gonsters_machines_cache_put(r, &m.id, &json);
            first = 0;
        }

        rs->machines[i] = m;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_gonsters_resolve_rows(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    ngx_http_gonsters_resolve_t  *rs = data;

    int        row, nrows;
    PGresult  *pr;

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        return rs->handler(r, NGX_ERROR, res->status, rs->machines, rs->data);
    }

    pr = res->results[0];
    nrows = PQntuples(pr);

    if (PQnfields(pr) != 7) {
        return rs->handler(r, NGX_ERROR, NGX_HTTP_GONSTERS_BACKEND_ERROR,
                           rs->machines, rs->data);
    }

    for (row = 0; row < nrows; row++) {
        if (ngx_http_gonsters_resolve_fill(r, rs, pr, row) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return rs->handler(r, NGX_OK, NGX_HTTP_GONSTERS_BACKEND_OK, rs->machines,
                       rs->data);
}


/* ---- puts --------------------------------------------------------------- */


static void
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


/* ---- invalidation ------------------------------------------------------- */


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
                      "Redis, retrying; this worker reads PostgreSQL "
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
                  " retry in %Mms; this worker reads PostgreSQL meanwhile",
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


/* ---- the list cache ----------------------------------------------------- */


static ngx_int_t
ngx_http_gonsters_machines_list_reply(ngx_http_request_t *r,
    ngx_http_gonsters_backend_status_e status, redisReply *reply, void *data)
{
    ngx_http_gonsters_list_get_t  *lg = data;

    ngx_str_t    body, version;
    redisReply  *v, *b;

    if (status != NGX_HTTP_GONSTERS_BACKEND_OK
        || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_STRING)
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

    version.len = v->len;
    version.data = ngx_pnalloc(r->pool, v->len);
    if (version.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ngx_memcpy(version.data, v->str, v->len);

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
    size_t                         argvlen[6];
    const char                    *argv[6];
    ngx_http_gonsters_list_get_t  *lg;
    static const char  script[] =
        "local v = redis.call('GET', KEYS[1]) or '0' "
        "return {v, redis.call('GET', ARGV[1] .. v .. ':' .. ARGV[2])}";

    if (!ngx_http_gonsters_machines_cache_usable(r)) {
        return NGX_DECLINED;
    }

    lg = ngx_palloc(r->pool, sizeof(ngx_http_gonsters_list_get_t));
    if (lg == NULL) {
        return NGX_ERROR;
    }

    lg->handler = handler;
    lg->data = data;

    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = script;
    argvlen[1] = sizeof(script) - 1;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = GN_MACHINES_VERSION_KEY;
    argvlen[3] = sizeof(GN_MACHINES_VERSION_KEY) - 1;
    argv[4] = GN_MACHINES_LIST_KEY;
    argvlen[4] = sizeof(GN_MACHINES_LIST_KEY) - 1;
    argv[5] = (char *) args->data;
    argvlen[5] = args->len;

    if (ngx_http_gonsters_redis_query(r, ngx_http_gonsters_machines_list_reply,
                                      lg, 6, argv, argvlen)
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
    u_char                                  ttl[NGX_TIME_T_LEN], *p;
    size_t                                  argvlen[5];
    ngx_str_t                               key;
    const char                             *argv[5];
    ngx_http_gonsters_machines_main_conf_t *mmcf;

    if (version == NULL || !ngx_http_gonsters_machines_cache_usable(r)) {
        return;
    }

    mmcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_machines_module);

    key.len = sizeof(GN_MACHINES_LIST_KEY) - 1 + version->len + 1 + args->len;
    key.data = ngx_pnalloc(r->pool, key.len);
    if (key.data == NULL) {
        return;
    }

    p = ngx_cpymem(key.data, GN_MACHINES_LIST_KEY,
                   sizeof(GN_MACHINES_LIST_KEY) - 1);
    p = ngx_cpymem(p, version->data, version->len);
    *p++ = ':';
    ngx_memcpy(p, args->data, args->len);

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
