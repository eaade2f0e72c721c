/*
 * ngx_http_gonsters_revoke_module: the revocation set of this node in
 * shared memory, loaded and synchronised from PostgreSQL, fed by Redis
 * pub/sub (see ngx_http_gonsters_revoke.h).
 */


#include "ngx_http_gonsters_revoke.h"
#include "ngx_http_gonsters_pg.h"
#include "ngx_http_gonsters_redis.h"

#include "gn_revocation.h"


/* rows revoked this long before the newest revoked_at seen are read again
 * at every sync: revoked_at is the inserting transaction's start, so a row
 * may become visible after a newer one */
#define NGX_HTTP_GONSTERS_REVOKE_MARGIN   "60 seconds"
/* a worker that started a sync owns it this long at most */
#define NGX_HTTP_GONSTERS_REVOKE_LEASE    30000
/* after a failed load or sync */
#define NGX_HTTP_GONSTERS_REVOKE_RETRY    1000
/* rows applied per lock of the zone during a load */
#define NGX_HTTP_GONSTERS_REVOKE_BATCH    256


typedef struct {
    ngx_shm_zone_t               *shm_zone;
    ngx_msec_t                    sync;
    ngx_str_t                     channel;
} ngx_http_gonsters_revoke_main_conf_t;


typedef struct {
    ngx_str_node_t                sn;       /* sn.str points at data */
    time_t                        expires;
    u_char                        data[1];
} ngx_http_gonsters_revoke_node_t;


/* in the zone, under the slab pool's mutex */
typedef struct {
    ngx_rbtree_t                  rbtree;
    ngx_rbtree_node_t             sentinel;
    ngx_uint_t                    ready;
    ngx_pid_t                     syncing;  /* worker running a sync, or 0 */
    uint64_t                      lease;    /* msec, wall clock */
    uint64_t                      next_sync;
    int64_t                       watermark;
    ngx_uint_t                    count;
    ngx_uint_t                    pruned;
    ngx_uint_t                    syncs;
    ngx_uint_t                    failures;
    ngx_uint_t                    overflows;
} ngx_http_gonsters_revoke_shctx_t;


typedef struct {
    ngx_http_gonsters_revoke_handler_pt   handler;
    void                                 *data;
    ngx_str_t                             jti;
    time_t                                expires;
    ngx_http_gonsters_revoke_main_conf_t *rmcf;
} ngx_http_gonsters_revoke_ctx_t;


static ngx_int_t ngx_http_gonsters_revoke_inserted(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);
static void ngx_http_gonsters_revoke_published(
    ngx_http_gonsters_backend_status_e status, redisReply *reply, void *data);
static ngx_int_t ngx_http_gonsters_revoke_add(ngx_shm_zone_t *zone,
    ngx_str_t *jti, time_t expires, ngx_log_t *log);
static ngx_int_t ngx_http_gonsters_revoke_add_locked(ngx_slab_pool_t *shpool,
    ngx_http_gonsters_revoke_shctx_t *sh, ngx_str_t *jti, time_t expires);
static void ngx_http_gonsters_revoke_overflow_locked(ngx_log_t *log,
    ngx_http_gonsters_revoke_shctx_t *sh);
static void ngx_http_gonsters_revoke_prune_locked(ngx_slab_pool_t *shpool,
    ngx_http_gonsters_revoke_shctx_t *sh, time_t now);
static uint64_t ngx_http_gonsters_revoke_now(void);
static void ngx_http_gonsters_revoke_timer(ngx_event_t *ev);
static void ngx_http_gonsters_revoke_sync(void);
static void ngx_http_gonsters_revoke_synced(ngx_http_gonsters_pg_result_t *res,
    void *data);
static void ngx_http_gonsters_revoke_on_message(ngx_str_t *channel,
    ngx_str_t *message, void *data);
static ngx_int_t ngx_http_gonsters_revoke_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static char *ngx_http_gonsters_revoke_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_http_gonsters_revoke_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gonsters_revoke_init_main_conf(ngx_conf_t *cf,
    void *conf);
static ngx_int_t ngx_http_gonsters_revoke_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_gonsters_revoke_init_process(ngx_cycle_t *cycle);
static void ngx_http_gonsters_revoke_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_gonsters_revoke_commands[] = {

    { ngx_string("gonsters_revocation_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_gonsters_revoke_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gonsters_revocation_sync"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_revoke_main_conf_t, sync),
      NULL },

    { ngx_string("gonsters_revocation_channel"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_revoke_main_conf_t, channel),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gonsters_revoke_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_gonsters_revoke_postconfiguration, /* postconfiguration */

    ngx_http_gonsters_revoke_create_main_conf, /* create main configuration */
    ngx_http_gonsters_revoke_init_main_conf, /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_gonsters_revoke_module = {
    NGX_MODULE_V1,
    &ngx_http_gonsters_revoke_module_ctx,  /* module context */
    ngx_http_gonsters_revoke_commands,     /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_gonsters_revoke_init_process, /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_gonsters_revoke_exit_process, /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_gonsters_revoke_zone_name =
    ngx_string("gonsters_revocations");

static const char  ngx_http_gonsters_revoke_insert_sql[] =
    "INSERT INTO token_revocations (jti, expires_at) "
    "VALUES ($1, to_timestamp($2::bigint)) ON CONFLICT (jti) DO NOTHING";

static const char  ngx_http_gonsters_revoke_sync_sql[] =
    "SELECT jti, extract(epoch FROM expires_at)::bigint, "
    "(extract(epoch FROM revoked_at) * 1000000)::bigint "
    "FROM token_revocations "
    "WHERE expires_at > now() AND revoked_at > "
    "to_timestamp($1::bigint / 1000000.0) - interval '"
    NGX_HTTP_GONSTERS_REVOKE_MARGIN "'";


/* per worker */
static ngx_http_gonsters_revoke_main_conf_t  *ngx_http_gonsters_revoke_conf;
static ngx_event_t                ngx_http_gonsters_revoke_event;
static ngx_pool_t                *ngx_http_gonsters_revoke_pool;  /* a sync */
static ngx_msec_t                 ngx_http_gonsters_revoke_period;


/* the API */

ngx_int_t
ngx_http_gonsters_revoke(ngx_http_request_t *r, ngx_str_t *jti,
    time_t expires, ngx_http_gonsters_revoke_handler_pt handler, void *data)
{
    u_char                                *p;
    const char                           **values;
    ngx_http_gonsters_pg_stmt_t           *stmt;
    ngx_http_gonsters_revoke_ctx_t        *ctx;

    if (!gn_jti_valid((const char *) jti->data, jti->len)) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters revocation: invalid jti");
        return NGX_ERROR;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_revoke_ctx_t));
    stmt = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_pg_stmt_t));
    values = ngx_pcalloc(r->pool, 2 * sizeof(char *));
    p = ngx_pnalloc(r->pool, jti->len + 1 + NGX_TIME_T_LEN + 1);
    if (ctx == NULL || stmt == NULL || values == NULL || p == NULL) {
        return NGX_ERROR;
    }

    ctx->handler = handler;
    ctx->data = data;
    ctx->expires = expires;
    ctx->rmcf = ngx_http_get_module_main_conf(r,
                                              ngx_http_gonsters_revoke_module);

    ctx->jti.data = p;
    ctx->jti.len = jti->len;
    p = ngx_cpymem(p, jti->data, jti->len);
    *p++ = '\0';

    values[0] = (const char *) ctx->jti.data;
    values[1] = (const char *) p;
    p = ngx_sprintf(p, "%T", expires);
    *p = '\0';

    stmt->name = "gonsters_revoke_insert";
    stmt->sql = ngx_http_gonsters_revoke_insert_sql;
    stmt->nparams = 2;
    stmt->values = values;

    return ngx_http_gonsters_pg_query(r, stmt, 1, 0,
                                      ngx_http_gonsters_revoke_inserted, ctx);
}


static ngx_int_t
ngx_http_gonsters_revoke_inserted(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    ngx_http_gonsters_revoke_ctx_t *ctx = data;

    u_char      *msg, *p;
    size_t       len[3];
    const char  *argv[3];

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters revocation of \"%V\" not stored: %V",
                      &ctx->jti, &res->message);
        return ctx->handler(r, res->status, ctx->data);
    }

    if (ctx->rmcf->shm_zone) {
        (void) ngx_http_gonsters_revoke_add(ctx->rmcf->shm_zone, &ctx->jti,
                                            ctx->expires, r->connection->log);
    }

    if (ngx_http_gonsters_redis_configured((ngx_cycle_t *) ngx_cycle)
        == NGX_OK)
    {
        msg = ngx_pnalloc(r->pool, GN_REVOCATION_MSG_MAX);
        if (msg == NULL) {
            return ctx->handler(r, NGX_HTTP_GONSTERS_BACKEND_OK, ctx->data);
        }

        p = (u_char *) gn_revocation_format((char *) msg,
                                            (const char *) ctx->jti.data,
                                            ctx->jti.len,
                                            (int64_t) ctx->expires);

        argv[0] = "PUBLISH";
        len[0] = sizeof("PUBLISH") - 1;
        argv[1] = (const char *) ctx->rmcf->channel.data;
        len[1] = ctx->rmcf->channel.len;
        argv[2] = (const char *) msg;
        len[2] = p - msg;

        if (ngx_http_gonsters_redis_call(ngx_cycle->log,
                                         ngx_http_gonsters_revoke_published,
                                         NULL, 3, argv, len)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "gonsters revocation of \"%V\" not published: "
                          "other nodes get it at their next sync",
                          &ctx->jti);
        }
    }

    return ctx->handler(r, NGX_HTTP_GONSTERS_BACKEND_OK, ctx->data);
}


static void
ngx_http_gonsters_revoke_published(ngx_http_gonsters_backend_status_e status,
    redisReply *reply, void *data)
{
    if (status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "gonsters revocation not published (redis %s): "
                      "other nodes get it at their next sync",
                      status == NGX_HTTP_GONSTERS_BACKEND_ERROR ? "error"
                      : status == NGX_HTTP_GONSTERS_BACKEND_TIMEOUT
                      ? "timeout" : "unavailable");
    }
}


ngx_uint_t
ngx_http_gonsters_revoke_enabled(ngx_conf_t *cf)
{
    ngx_http_gonsters_revoke_main_conf_t  *rmcf;

    rmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_gonsters_revoke_module);

    return rmcf != NULL && rmcf->shm_zone != NULL;
}


ngx_int_t
ngx_http_gonsters_revoke_family_key(ngx_http_request_t *r, ngx_str_t *fam,
    ngx_str_t *key)
{
    size_t  len = sizeof(NGX_HTTP_GONSTERS_REVOKE_FAMILY) - 1 + fam->len;

    if (fam->len == 0 || !gn_jti_valid((const char *) fam->data, fam->len)
        || len > NGX_HTTP_GONSTERS_REVOKE_JTI_MAX)
    {
        return NGX_ERROR;
    }

    key->data = ngx_pnalloc(r->pool, len);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    key->len = ngx_sprintf(key->data, NGX_HTTP_GONSTERS_REVOKE_FAMILY "%V",
                           fam)
               - key->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_gonsters_revoke_check(ngx_http_request_t *r, ngx_str_t *jti,
    ngx_str_t *fam)
{
    u_char                                 buf[NGX_HTTP_GONSTERS_REVOKE_JTI_MAX];
    ngx_int_t                              rc;
    ngx_str_t                              family;
    ngx_slab_pool_t                       *shpool;
    ngx_http_gonsters_revoke_shctx_t      *sh;
    ngx_http_gonsters_revoke_main_conf_t  *rmcf;

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_revoke_module);
    if (rmcf == NULL || rmcf->shm_zone == NULL) {
        return NGX_OK;
    }

    if (jti->len == 0) {
        return NGX_DECLINED;
    }

    /* a family too long for a key cannot have been revoked */
    family.len = 0;
    family.data = buf;

    if (fam != NULL && fam->len > 0
        && fam->len + sizeof(NGX_HTTP_GONSTERS_REVOKE_FAMILY) - 1
           <= sizeof(buf))
    {
        family.len = ngx_sprintf(buf, NGX_HTTP_GONSTERS_REVOKE_FAMILY "%V",
                                 fam)
                     - buf;
    }

    shpool = (ngx_slab_pool_t *) rmcf->shm_zone->shm.addr;
    sh = rmcf->shm_zone->data;

    ngx_shmtx_lock(&shpool->mutex);

    if (!sh->ready) {
        rc = NGX_AGAIN;

    } else if (ngx_str_rbtree_lookup(&sh->rbtree, jti,
                                     ngx_crc32_short(jti->data, jti->len))
               || (family.len
                   && ngx_str_rbtree_lookup(&sh->rbtree, &family,
                                            ngx_crc32_short(family.data,
                                                            family.len))))
    {
        rc = NGX_DECLINED;

    } else {
        rc = NGX_OK;
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return rc;
}


ngx_int_t
ngx_http_gonsters_revoke_unavailable(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_gonsters_add_retry_after(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_gonsters_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                       "Service unavailable: the revocation list is loading");

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


void
ngx_http_gonsters_revoke_get_state(ngx_http_request_t *r,
    ngx_http_gonsters_revoke_state_t *st)
{
    ngx_slab_pool_t                       *shpool;
    ngx_http_gonsters_revoke_shctx_t      *sh;
    ngx_http_gonsters_revoke_main_conf_t  *rmcf;

    ngx_memzero(st, sizeof(ngx_http_gonsters_revoke_state_t));

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_revoke_module);
    if (rmcf == NULL || rmcf->shm_zone == NULL) {
        return;
    }

    shpool = (ngx_slab_pool_t *) rmcf->shm_zone->shm.addr;
    sh = rmcf->shm_zone->data;

    st->configured = 1;

    ngx_shmtx_lock(&shpool->mutex);
    st->ready = sh->ready;
    st->count = sh->count;
    st->pruned = sh->pruned;
    st->syncs = sh->syncs;
    st->failures = sh->failures;
    st->overflows = sh->overflows;
    st->watermark = sh->watermark;
    ngx_shmtx_unlock(&shpool->mutex);
}


/* the set */

static ngx_int_t
ngx_http_gonsters_revoke_add(ngx_shm_zone_t *zone, ngx_str_t *jti,
    time_t expires, ngx_log_t *log)
{
    ngx_int_t                          rc;
    ngx_slab_pool_t                   *shpool;
    ngx_http_gonsters_revoke_shctx_t  *sh;

    shpool = (ngx_slab_pool_t *) zone->shm.addr;
    sh = zone->data;

    ngx_shmtx_lock(&shpool->mutex);

    rc = ngx_http_gonsters_revoke_add_locked(shpool, sh, jti, expires);
    if (rc != NGX_OK) {
        ngx_http_gonsters_revoke_overflow_locked(log, sh);
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return rc;
}


static ngx_int_t
ngx_http_gonsters_revoke_add_locked(ngx_slab_pool_t *shpool,
    ngx_http_gonsters_revoke_shctx_t *sh, ngx_str_t *jti, time_t expires)
{
    size_t                            size;
    uint32_t                          hash;
    ngx_str_node_t                   *sn;
    ngx_http_gonsters_revoke_node_t  *node;

    hash = ngx_crc32_short(jti->data, jti->len);

    sn = ngx_str_rbtree_lookup(&sh->rbtree, jti, hash);
    if (sn != NULL) {
        node = (ngx_http_gonsters_revoke_node_t *) sn;
        if (node->expires < expires) {
            node->expires = expires;
        }
        return NGX_OK;
    }

    size = offsetof(ngx_http_gonsters_revoke_node_t, data) + jti->len;

    node = ngx_slab_alloc_locked(shpool, size);
    if (node == NULL) {
        ngx_http_gonsters_revoke_prune_locked(shpool, sh, ngx_time());
        node = ngx_slab_alloc_locked(shpool, size);
        if (node == NULL) {
            return NGX_ERROR;
        }
    }

    node->expires = expires;
    ngx_memcpy(node->data, jti->data, jti->len);
    node->sn.str.data = node->data;
    node->sn.str.len = jti->len;
    node->sn.node.key = hash;

    ngx_rbtree_insert(&sh->rbtree, &node->sn.node);
    sh->count++;

    return NGX_OK;
}


/* a revocation could not be kept: fail closed until a full load fits */

static void
ngx_http_gonsters_revoke_overflow_locked(ngx_log_t *log,
    ngx_http_gonsters_revoke_shctx_t *sh)
{
    ngx_log_error(NGX_LOG_CRIT, log, 0,
                  "gonsters_revocation_zone is full (%ui entries): tokens "
                  "are refused with 503 until everything fits, increase "
                  "its size", sh->count);

    sh->overflows++;
    sh->ready = 0;
    sh->watermark = 0;
}


static void
ngx_http_gonsters_revoke_prune_locked(ngx_slab_pool_t *shpool,
    ngx_http_gonsters_revoke_shctx_t *sh, time_t now)
{
    ngx_rbtree_node_t                *n, *next, *root, *sentinel;
    ngx_http_gonsters_revoke_node_t  *node;

    root = sh->rbtree.root;
    sentinel = sh->rbtree.sentinel;

    if (root == sentinel) {
        return;
    }

    n = ngx_rbtree_min(root, sentinel);

    while (n != NULL) {
        next = ngx_rbtree_next(&sh->rbtree, n);

        node = (ngx_http_gonsters_revoke_node_t *) n;

        if (node->expires <= now) {
            ngx_rbtree_delete(&sh->rbtree, n);
            ngx_slab_free_locked(shpool, node);
            sh->count--;
            sh->pruned++;
        }

        n = next;
    }
}


/* load and sync */

static uint64_t
ngx_http_gonsters_revoke_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (uint64_t) tp->sec * 1000 + tp->msec;
}


static void
ngx_http_gonsters_revoke_timer(ngx_event_t *ev)
{
    if (ngx_exiting || ngx_quit || ngx_terminate) {
        return;
    }

    ngx_http_gonsters_revoke_sync();

    ngx_add_timer(ev, ngx_http_gonsters_revoke_period);
}


static void
ngx_http_gonsters_revoke_sync(void)
{
    u_char                            *p;
    int64_t                            watermark;
    uint64_t                           now;
    const char                       **values;
    ngx_pool_t                        *pool;
    ngx_slab_pool_t                   *shpool;
    ngx_http_gonsters_pg_stmt_t       *stmt;
    ngx_http_gonsters_revoke_shctx_t  *sh;

    if (ngx_http_gonsters_revoke_pool != NULL) {
        return;                             /* this worker runs one */
    }

    shpool = (ngx_slab_pool_t *)
             ngx_http_gonsters_revoke_conf->shm_zone->shm.addr;
    sh = ngx_http_gonsters_revoke_conf->shm_zone->data;

    now = ngx_http_gonsters_revoke_now();

    ngx_shmtx_lock(&shpool->mutex);

    if ((sh->syncing && now < sh->lease) || now < sh->next_sync) {
        ngx_shmtx_unlock(&shpool->mutex);
        return;
    }

    sh->syncing = ngx_pid;
    sh->lease = now + NGX_HTTP_GONSTERS_REVOKE_LEASE;
    watermark = sh->watermark;

    ngx_shmtx_unlock(&shpool->mutex);

    pool = ngx_create_pool(1024, ngx_cycle->log);
    if (pool == NULL) {
        goto failed;
    }

    stmt = ngx_pcalloc(pool, sizeof(ngx_http_gonsters_pg_stmt_t));
    values = ngx_pcalloc(pool, sizeof(char *));
    p = ngx_pnalloc(pool, NGX_INT64_LEN + 1);
    if (stmt == NULL || values == NULL || p == NULL) {
        ngx_destroy_pool(pool);
        goto failed;
    }

    *ngx_sprintf(p, "%L", watermark) = '\0';
    values[0] = (const char *) p;

    stmt->name = "gonsters_revoke_sync";
    stmt->sql = ngx_http_gonsters_revoke_sync_sql;
    stmt->nparams = 1;
    stmt->values = values;

    ngx_http_gonsters_revoke_pool = pool;

    if (ngx_http_gonsters_pg_call(pool, ngx_cycle->log, stmt, 1, 0,
                                  ngx_http_gonsters_revoke_synced, NULL)
        != NGX_OK)
    {
        ngx_http_gonsters_revoke_pool = NULL;
        ngx_destroy_pool(pool);
        goto failed;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "gonsters revocation sync since %L", watermark);

    return;

failed:

    ngx_shmtx_lock(&shpool->mutex);
    sh->syncing = 0;
    sh->failures++;
    sh->next_sync = now + ngx_min(NGX_HTTP_GONSTERS_REVOKE_RETRY,
                                  ngx_http_gonsters_revoke_conf->sync);
    ngx_shmtx_unlock(&shpool->mutex);
}


static void
ngx_http_gonsters_revoke_synced(ngx_http_gonsters_pg_result_t *res,
    void *data)
{
    int                                i, n;
    int64_t                            at, newest;
    time_t                             now, expires;
    ngx_int_t                          rc, overflow;
    ngx_str_t                          jti;
    PGresult                          *pg;
    ngx_pool_t                        *pool;
    ngx_slab_pool_t                   *shpool;
    ngx_http_gonsters_revoke_shctx_t  *sh;

    pool = ngx_http_gonsters_revoke_pool;
    ngx_http_gonsters_revoke_pool = NULL;

    shpool = (ngx_slab_pool_t *)
             ngx_http_gonsters_revoke_conf->shm_zone->shm.addr;
    sh = ngx_http_gonsters_revoke_conf->shm_zone->data;

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK || res->nresults != 1) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "gonsters revocation sync failed: %V", &res->message);

        ngx_shmtx_lock(&shpool->mutex);
        if (sh->syncing == ngx_pid) {
            sh->syncing = 0;
        }
        sh->failures++;
        sh->next_sync = ngx_http_gonsters_revoke_now()
                        + ngx_min(NGX_HTTP_GONSTERS_REVOKE_RETRY,
                                  ngx_http_gonsters_revoke_conf->sync);
        ngx_shmtx_unlock(&shpool->mutex);

        if (pool) {
            ngx_destroy_pool(pool);
        }
        return;
    }

    pg = res->results[0];
    n = PQntuples(pg);
    now = ngx_time();
    newest = 0;
    overflow = 0;

    for (i = 0; i < n; /* void */) {

        ngx_shmtx_lock(&shpool->mutex);

        do {
            jti.data = (u_char *) PQgetvalue(pg, i, 0);
            jti.len = PQgetlength(pg, i, 0);
            expires = (time_t) ngx_atoof((u_char *) PQgetvalue(pg, i, 1),
                                         PQgetlength(pg, i, 1));
            at = (int64_t) strtoll(PQgetvalue(pg, i, 2), NULL, 10);

            if (at > newest) {
                newest = at;
            }

            if (jti.len && jti.len <= NGX_HTTP_GONSTERS_REVOKE_JTI_MAX
                && expires > now)
            {
                rc = ngx_http_gonsters_revoke_add_locked(shpool, sh, &jti,
                                                         expires);
                if (rc != NGX_OK && !overflow) {
                    overflow = 1;
                    ngx_http_gonsters_revoke_overflow_locked(ngx_cycle->log,
                                                             sh);
                }
            }

            i++;

        } while (i < n && i % NGX_HTTP_GONSTERS_REVOKE_BATCH);

        ngx_shmtx_unlock(&shpool->mutex);
    }

    ngx_shmtx_lock(&shpool->mutex);

    ngx_http_gonsters_revoke_prune_locked(shpool, sh, now);

    if (overflow) {
        sh->watermark = 0;
        sh->next_sync = ngx_http_gonsters_revoke_now()
                        + ngx_min(NGX_HTTP_GONSTERS_REVOKE_RETRY,
                                  ngx_http_gonsters_revoke_conf->sync);

    } else {
        if (newest > sh->watermark) {
            sh->watermark = newest;
        }

        if (!sh->ready) {
            ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                          "gonsters revocation list loaded: %ui entries",
                          sh->count);
        }

        sh->ready = 1;
        sh->next_sync = ngx_http_gonsters_revoke_now()
                        + ngx_http_gonsters_revoke_conf->sync;
    }

    if (sh->syncing == ngx_pid) {
        sh->syncing = 0;
    }

    sh->syncs++;

    ngx_shmtx_unlock(&shpool->mutex);

    if (pool) {
        ngx_destroy_pool(pool);
    }
}


static void
ngx_http_gonsters_revoke_on_message(ngx_str_t *channel, ngx_str_t *message,
    void *data)
{
    int64_t     expires;
    ngx_str_t   jti;

    if (gn_revocation_parse((const char *) message->data, message->len,
                            (const char **) &jti.data, &jti.len, &expires)
        != 0)
    {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "gonsters revocation: ignored invalid message on "
                      "\"%V\"", channel);
        return;
    }

    if (expires <= ngx_time()) {
        return;
    }

    (void) ngx_http_gonsters_revoke_add(ngx_http_gonsters_revoke_conf->shm_zone,
                                        &jti, (time_t) expires,
                                        ngx_cycle->log);
}


/* configuration and processes */

static ngx_int_t
ngx_http_gonsters_revoke_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t                   *shpool;
    ngx_http_gonsters_revoke_shctx_t  *sh;

    if (data) {
        /* a reload with the same size: the set (and "ready") stays */
        shm_zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_calloc(shpool, sizeof(ngx_http_gonsters_revoke_shctx_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    ngx_rbtree_init(&sh->rbtree, &sh->sentinel, ngx_str_rbtree_insert_value);

    shpool->data = sh;
    shm_zone->data = sh;

    shpool->log_nomem = 0;      /* a full zone is reported by this module */

    return NGX_OK;
}


static char *
ngx_http_gonsters_revoke_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gonsters_revoke_main_conf_t *rmcf = conf;

    ssize_t     size;
    ngx_str_t  *value;

    if (rmcf->shm_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[1]);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small", &value[1]);
        return NGX_CONF_ERROR;
    }

    rmcf->shm_zone = ngx_shared_memory_add(cf,
                                           &ngx_http_gonsters_revoke_zone_name,
                                           size,
                                           &ngx_http_gonsters_revoke_module);
    if (rmcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    rmcf->shm_zone->init = ngx_http_gonsters_revoke_init_zone;

    return NGX_CONF_OK;
}


static void *
ngx_http_gonsters_revoke_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gonsters_revoke_main_conf_t  *rmcf;

    rmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gonsters_revoke_main_conf_t));
    if (rmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     rmcf->shm_zone = NULL;
     *     rmcf->channel = { 0, NULL };
     */

    rmcf->sync = NGX_CONF_UNSET_MSEC;

    return rmcf;
}


static char *
ngx_http_gonsters_revoke_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gonsters_revoke_main_conf_t *rmcf = conf;

    ngx_conf_init_msec_value(rmcf->sync, 5000);

    if (rmcf->sync == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"gonsters_revocation_sync\" must be positive");
        return NGX_CONF_ERROR;
    }

    if (rmcf->channel.data == NULL) {
        ngx_str_set(&rmcf->channel, "gonsters:revocations");
    }

    if (rmcf->channel.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"gonsters_revocation_channel\" is empty");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gonsters_revoke_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_gonsters_revoke_main_conf_t  *rmcf;

    rmcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_gonsters_revoke_module);

    if (rmcf->shm_zone && ngx_http_gonsters_pg_configured(cf->cycle) != NGX_OK)
    {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"gonsters_revocation_zone\" needs "
                      "\"gonsters_postgres\": PostgreSQL holds the "
                      "revocations");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_gonsters_revoke_init_process(ngx_cycle_t *cycle)
{
    ngx_event_t                           *ev;
    ngx_http_gonsters_revoke_main_conf_t  *rmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    rmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_gonsters_revoke_module);
    if (rmcf == NULL || rmcf->shm_zone == NULL) {
        return NGX_OK;
    }

    ngx_http_gonsters_revoke_conf = rmcf;
    ngx_http_gonsters_revoke_period = ngx_min(rmcf->sync, 250);

    if (ngx_http_gonsters_redis_configured(cycle) == NGX_OK) {
        if (ngx_http_gonsters_redis_subscribe(cycle, &rmcf->channel,
                                         ngx_http_gonsters_revoke_on_message,
                                         NULL)
            == NGX_ERROR)
        {
            return NGX_ERROR;
        }
    }

    ev = &ngx_http_gonsters_revoke_event;
    ev->handler = ngx_http_gonsters_revoke_timer;
    ev->log = cycle->log;
    ev->data = rmcf;
    ev->cancelable = 1;

    /* the first load (or the first sync after a reload) at once, from the
     * event loop */
    ngx_add_timer(ev, 1);

    return NGX_OK;
}


static void
ngx_http_gonsters_revoke_exit_process(ngx_cycle_t *cycle)
{
    ngx_pool_t                        *pool;
    ngx_slab_pool_t                   *shpool;
    ngx_http_gonsters_revoke_shctx_t  *sh;

    if (ngx_http_gonsters_revoke_conf == NULL) {
        return;
    }

    if (ngx_http_gonsters_revoke_event.timer_set) {
        ngx_del_timer(&ngx_http_gonsters_revoke_event);
    }

    pool = ngx_http_gonsters_revoke_pool;
    ngx_http_gonsters_revoke_pool = NULL;

    if (pool) {
        ngx_destroy_pool(pool);         /* abandons the call */
    }

    shpool = (ngx_slab_pool_t *)
             ngx_http_gonsters_revoke_conf->shm_zone->shm.addr;
    sh = ngx_http_gonsters_revoke_conf->shm_zone->data;

    ngx_shmtx_lock(&shpool->mutex);
    if (sh->syncing == ngx_pid) {
        sh->syncing = 0;
    }
    ngx_shmtx_unlock(&shpool->mutex);

    ngx_http_gonsters_revoke_conf = NULL;
}
