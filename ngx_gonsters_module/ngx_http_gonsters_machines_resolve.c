/*
 * ngx_http_gonsters_machines_resolve(): the machines of a batch of ids for
 * other endpoints (ingest, history), with one Redis MGET and one
 * PostgreSQL query for the misses, whose rows are then cached without
 * waiting.  Redis down or stalled: PostgreSQL alone.
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_machines.h"
#include "ngx_http_gonsters_pg.h"
#include "ngx_http_gonsters_redis.h"
#include "gn_uuid.h"

#include <cjson/cJSON.h>


typedef struct {
    ngx_http_request_t                     *r;
    ngx_str_t                              *ids;
    ngx_uint_t                              n;
    ngx_http_gonsters_machine_t            *machines;
    ngx_http_gonsters_machines_resolve_pt   handler;
    void                                   *data;
} ngx_http_gonsters_resolve_t;


static ngx_int_t ngx_http_gonsters_resolve_mget(ngx_http_request_t *r,
    ngx_http_gonsters_backend_status_e status, redisReply *reply, void *data);
static ngx_int_t ngx_http_gonsters_resolve_pg(ngx_http_request_t *r,
    ngx_http_gonsters_resolve_t *rs);
static ngx_int_t ngx_http_gonsters_resolve_rows(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);


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


/* a string member of a tree in the request pool: no copy needed */
static ngx_int_t
ngx_http_gonsters_machines_member(cJSON *obj, const char *name,
    ngx_str_t *out)
{
    cJSON  *item;

    item = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsString(item)) {
        return NGX_DECLINED;
    }

    out->data = (u_char *) item->valuestring;
    out->len = ngx_strlen(item->valuestring);

    return NGX_OK;
}


/* a cached object into m: NGX_OK, NGX_DECLINED (not a machine object: a
 * miss); the tree and its strings are allocated from pool */
static ngx_int_t
ngx_http_gonsters_machines_parse_cached(ngx_pool_t *pool, char *text,
    size_t len, ngx_str_t *id, ngx_http_gonsters_machine_t *m)
{
    cJSON       *obj;
    ngx_int_t    rc;
    ngx_uint_t   i;

    struct {
        const char  *name;
        ngx_str_t   *value;
    } members[] = {
        { "machine_id", &m->id },
        { "name", &m->name },
        { "location", &m->location },
        { "sensor_type", &m->sensor_type },
        { "status", &m->status },
        { "factory_id", &m->factory_id },
    };

    ngx_http_gonsters_json_pool(pool);
    obj = cJSON_ParseWithLength(text, len);
    ngx_http_gonsters_json_pool(NULL);

    rc = (obj == NULL) ? NGX_DECLINED : NGX_OK;

    for (i = 0; rc == NGX_OK && i < sizeof(members) / sizeof(members[0]); i++)
    {
        rc = ngx_http_gonsters_machines_member(obj, members[i].name,
                                               members[i].value);
    }

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
            if (ngx_http_gonsters_pg_copy(r->pool, res, row, 0,
                                                   &m.id) != NGX_OK
                || ngx_http_gonsters_pg_copy(r->pool, res, row, 1,
                                                      &m.name) != NGX_OK
                || ngx_http_gonsters_pg_copy(r->pool, res, row, 2,
                                                   &m.location) != NGX_OK
                || ngx_http_gonsters_pg_copy(r->pool, res, row, 3,
                                                   &m.sensor_type) != NGX_OK
                || ngx_http_gonsters_pg_copy(r->pool, res, row, 4,
                                                      &m.status) != NGX_OK
                || ngx_http_gonsters_pg_copy(r->pool, res, row, 5,
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
