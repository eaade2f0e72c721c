/*
 * The machine registry's endpoints:
 *
 *   POST   /api/v1/data/machine        gonsters_endpoint machine_create
 *   GET    /api/v1/data/machines       gonsters_endpoint machines
 *   PATCH  /api/v1/data/machine/{id}   gonsters_endpoint machine
 *   DELETE /api/v1/data/machine/{id}   gonsters_endpoint machine
 *
 * Every value reaches PostgreSQL as a parameter.  A change answers only
 * after Redis took its invalidation (or failed to: then the worker retries
 * and reads PostgreSQL meanwhile), so a read after a write sees it.
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_machines.h"
#include "ngx_http_gonsters_history.h"
#include "ngx_http_gonsters_machines_parse.h"
#include "ngx_http_gonsters_pg.h"
#include "ngx_http_gonsters_users.h"
#include "ngx_http_gonsters_event.h"

#include <time.h>


typedef struct {
    ngx_str_t                          id;
    ngx_str_t                          json;      /* the machine, PATCH */
    ngx_str_t                          key;       /* the list's cache key */
    ngx_str_t                          version;   /* the list's version */
    ngx_uint_t                         has_version;
    ngx_http_gonsters_list_query_t     q;
} ngx_http_gonsters_machines_ctx_t;


static ngx_int_t ngx_http_gonsters_machine_create_body(ngx_http_request_t *r,
    void *data);
static ngx_int_t ngx_http_gonsters_machine_created(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);
static ngx_int_t ngx_http_gonsters_machine_created_reply(
    ngx_http_request_t *r, void *data);
static ngx_int_t ngx_http_gonsters_machines_cached(ngx_http_request_t *r,
    ngx_str_t *body, ngx_str_t *version, void *data);
static ngx_int_t ngx_http_gonsters_machines_select(ngx_http_request_t *r,
    ngx_http_gonsters_machines_ctx_t *ctx);
static ngx_int_t ngx_http_gonsters_machines_rows(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);
static ngx_int_t ngx_http_gonsters_machine_patch_body(ngx_http_request_t *r,
    void *data);
static ngx_int_t ngx_http_gonsters_machine_patched(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);
static ngx_int_t ngx_http_gonsters_machine_patched_reply(
    ngx_http_request_t *r, void *data);
static ngx_int_t ngx_http_gonsters_machine_delete(ngx_http_request_t *r,
    ngx_http_gonsters_machines_ctx_t *ctx);
static ngx_int_t ngx_http_gonsters_machine_deleted(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);
static ngx_int_t ngx_http_gonsters_machine_deleted_reply(
    ngx_http_request_t *r, void *data);


static const char  gn_sql_create[] =
    "INSERT INTO machine_metadata (name, location, sensor_type, status, "
    "factory_id) VALUES ($1, $2, $3, COALESCE($4, 'active'), "
    "COALESCE($5, 'default')) RETURNING id::text";

/* total of the filtered set, then the page, newest first (ties by id) */
static const char  gn_sql_list[] =
    "WITH f AS (SELECT * FROM machine_metadata m "
    "WHERE ($1::text IS NULL OR m.location = $1) "
    "AND ($2::text IS NULL OR m.status = $2) "
    "AND ($3::text IS NULL OR m.sensor_type = $3)), "
    "p AS (SELECT " GN_MACHINE_JSON("f") " AS j, f.created_at, f.id FROM f "
    "ORDER BY f.created_at DESC, f.id DESC LIMIT $4 OFFSET $5) "
    "SELECT (SELECT count(*) FROM f), (SELECT count(*) FROM p), "
    "COALESCE((SELECT string_agg(j, ',' ORDER BY created_at DESC, id DESC) "
    "FROM p), '')";

static const char  gn_sql_patch[] =
    "UPDATE machine_metadata m SET name = COALESCE($2, m.name), "
    "location = COALESCE($3, m.location), "
    "sensor_type = COALESCE($4, m.sensor_type), "
    "status = COALESCE($5, m.status), "
    "factory_id = COALESCE($6, m.factory_id) "
    "WHERE m.id = $1::uuid RETURNING " GN_MACHINE_JSON("m");

static const char  gn_sql_delete[] =
    "DELETE FROM machine_metadata WHERE id = $1::uuid RETURNING id";


static ngx_http_gonsters_machines_ctx_t *
ngx_http_gonsters_machines_ctx(ngx_http_request_t *r)
{
    return ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_machines_ctx_t));
}


static ngx_int_t
ngx_http_gonsters_machines_query1(ngx_http_request_t *r, const char *name,
    const char *sql, int nparams, const char **values,
    ngx_http_gonsters_pg_handler_pt handler, void *data)
{
    ngx_http_gonsters_pg_stmt_t  *stmt;

    stmt = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_pg_stmt_t));
    if (stmt == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    stmt->name = name;
    stmt->sql = sql;
    stmt->nparams = nparams;
    stmt->values = values;

    if (ngx_http_gonsters_pg_query(r, stmt, 1, 0, handler, data) != NGX_DONE) {
        return ngx_http_gonsters_send_unavailable(r,
                                       NGX_HTTP_GONSTERS_POSTGRES,
                                       NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE);
    }

    return NGX_DONE;
}


/* a body value as a parameter: NULL when the field was not given */
static const char *
ngx_http_gonsters_machines_param(ngx_http_gonsters_machine_body_t *mb,
    ngx_uint_t i)
{
    return mb->present[i] ? (const char *) mb->value[i].data : NULL;
}


static ngx_int_t
ngx_http_gonsters_machines_conflict(ngx_http_request_t *r)
{
    return ngx_http_gonsters_users_field(r, NGX_HTTP_CONFLICT,
                                         "Machine name already exists",
                                         "name", "already exists");
}


static ngx_int_t
ngx_http_gonsters_machines_failed(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res)
{
    if (res->status == NGX_HTTP_GONSTERS_BACKEND_ERROR) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters: machine registry statement failed: "
                      "SQLSTATE %s %V", res->sqlstate, &res->message);
    }

    return ngx_http_gonsters_users_backend(r, NGX_HTTP_GONSTERS_POSTGRES,
                                           res->status);
}


/*
 * The body of a POST or PATCH, validated; with the event log at debug, the
 * seed's "Payload validation successful" event with the time it took.
 */
static ngx_int_t
ngx_http_gonsters_machines_validate(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *uctx, ngx_uint_t create,
    ngx_http_gonsters_machine_body_t *mb,
    ngx_http_gonsters_field_errors_t *errs)
{
    off_t            bytes;
    double           ms;
    ngx_int_t        rc;
    ngx_chain_t     *cl;
    struct timespec  t0, t1;

    if (!ngx_http_gonsters_event_enabled(NGX_LOG_DEBUG)) {
        return ngx_http_gonsters_machines_body(uctx, create, mb, errs);
    }

    (void) clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = ngx_http_gonsters_machines_body(uctx, create, mb, errs);
    (void) clock_gettime(CLOCK_MONOTONIC, &t1);

    if (rc != NGX_OK) {
        return rc;
    }

    ms = (t1.tv_sec - t0.tv_sec) * 1000.0 + (t1.tv_nsec - t0.tv_nsec) / 1e6;

    bytes = 0;
    for (cl = r->request_body ? r->request_body->bufs : NULL; cl;
         cl = cl->next)
    {
        bytes += ngx_buf_size(cl->buf);
    }

    {
        ngx_http_gonsters_event_field_t  ctx[] = {
            NGX_HTTP_GONSTERS_EV_REQUEST,
            NGX_HTTP_GONSTERS_EV_OBJECT("validation"),
            NGX_HTTP_GONSTERS_EV_CSTR("schema", create ? "MachineCreate"
                                                       : "MachineUpdate"),
            NGX_HTTP_GONSTERS_EV_INT("fields", mb->n),
            NGX_HTTP_GONSTERS_EV_INT("body_bytes", bytes),
            NGX_HTTP_GONSTERS_EV_NUM("validation_time_ms", ms),
            NGX_HTTP_GONSTERS_EV_OBJECT_END,
            NGX_HTTP_GONSTERS_EV_END
        };

        ngx_http_gonsters_event(r, r->connection->log, NGX_LOG_DEBUG,
                                "gonsters.machines",
                                "Payload validation successful", ctx);
    }

    return NGX_OK;
}


/* ---- POST /api/v1/data/machine ------------------------------------------ */


ngx_int_t
ngx_http_gonsters_machine_create_handler(ngx_http_request_t *r)
{
    if (r->method != NGX_HTTP_POST) {
        return ngx_http_gonsters_send_not_allowed(r, "POST");
    }

    return ngx_http_gonsters_users_read_body(r,
                                        ngx_http_gonsters_machine_create_body);
}


static ngx_int_t
ngx_http_gonsters_machine_create_body(ngx_http_request_t *r, void *data)
{
    ngx_http_gonsters_users_ctx_t  *uctx = data;

    ngx_uint_t                          i;
    const char                        **values;
    ngx_http_gonsters_field_errors_t    errs;
    ngx_http_gonsters_machine_body_t    mb;
    ngx_http_gonsters_machines_ctx_t   *ctx;

    errs.n = 0;

    if (ngx_http_gonsters_machines_validate(r, uctx, 1, &mb, &errs) != NGX_OK)
    {
        return ngx_http_gonsters_users_fields(r, NGX_HTTP_BAD_REQUEST,
                                              "Validation failed", &errs);
    }

    ctx = ngx_http_gonsters_machines_ctx(r);
    values = ngx_palloc(r->pool, GN_MF_N * sizeof(char *));
    if (ctx == NULL || values == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < GN_MF_N; i++) {
        values[i] = ngx_http_gonsters_machines_param(&mb, i);
    }

    return ngx_http_gonsters_machines_query1(r, "gn_machines_create",
                                             gn_sql_create, GN_MF_N, values,
                                             ngx_http_gonsters_machine_created,
                                             ctx);
}


static ngx_int_t
ngx_http_gonsters_machine_created(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    ngx_http_gonsters_machines_ctx_t  *ctx = data;

    ngx_int_t  rc;

    if (res->status == NGX_HTTP_GONSTERS_BACKEND_ERROR
        && ngx_strcmp(res->sqlstate, "23505") == 0)
    {
        return ngx_http_gonsters_machines_conflict(r);
    }

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        return ngx_http_gonsters_machines_failed(r, res);
    }

    if (PQntuples(res->results[0]) != 1) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_gonsters_pg_copy(r->pool, res->results[0], 0, 0, &ctx->id)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a new machine changes the lists only: nothing cached under its id */
    rc = ngx_http_gonsters_machines_invalidate(r, NULL,
                                  ngx_http_gonsters_machine_created_reply, ctx);
    if (rc == NGX_DONE) {
        return NGX_DONE;
    }

    return ngx_http_gonsters_machine_created_reply(r, ctx);
}


static ngx_int_t
ngx_http_gonsters_machine_created_reply(ngx_http_request_t *r, void *data)
{
    ngx_http_gonsters_machines_ctx_t  *ctx = data;

    return ngx_http_gonsters_send_wrapped(r, NGX_HTTP_CREATED,
                                          "{\"status\":\"success\","
                                          "\"message\":\"Machine created "
                                          "successfully\",\"machine_id\":\"",
                                          &ctx->id, "\"}");
}


/* ---- GET /api/v1/data/machines ------------------------------------------ */


ngx_int_t
ngx_http_gonsters_machines_list_handler(ngx_http_request_t *r)
{
    ngx_int_t                               rc;
    ngx_http_gonsters_param_errors_t        errs;
    ngx_http_gonsters_machines_ctx_t       *ctx;
    ngx_http_gonsters_machines_loc_conf_t  *mlcf;

    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        return ngx_http_gonsters_send_not_allowed(r, "GET, HEAD");
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx = ngx_http_gonsters_machines_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    errs.n = 0;

    rc = ngx_http_gonsters_machines_query(r, &ctx->q, &errs);

    if (rc == NGX_DECLINED) {
        return ngx_http_gonsters_param_errors(r, "Invalid query parameters",
                                              &errs);
    }

    if (rc != NGX_OK
        || ngx_http_gonsters_machines_query_key(r->pool, &ctx->q, &ctx->key)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    mlcf = ngx_http_get_module_loc_conf(r, ngx_http_gonsters_machines_module);

    if (!mlcf->cache) {
        return ngx_http_gonsters_machines_select(r, ctx);
    }

    rc = ngx_http_gonsters_machines_list_get(r, &ctx->key,
                                       ngx_http_gonsters_machines_cached, ctx);
    if (rc == NGX_DONE) {
        return NGX_DONE;
    }

    return ngx_http_gonsters_machines_select(r, ctx);
}


static ngx_int_t
ngx_http_gonsters_machines_cached(ngx_http_request_t *r, ngx_str_t *body,
    ngx_str_t *version, void *data)
{
    ngx_http_gonsters_machines_ctx_t  *ctx = data;

    if (body) {
        return ngx_http_gonsters_send_json(r, NGX_HTTP_OK, body);
    }

    if (version) {
        ctx->version = *version;
        ctx->has_version = 1;
    }

    return ngx_http_gonsters_machines_select(r, ctx);
}


static ngx_int_t
ngx_http_gonsters_machines_select(ngx_http_request_t *r,
    ngx_http_gonsters_machines_ctx_t *ctx)
{
    ngx_uint_t    i;
    const char  **values;

    values = ngx_palloc(r->pool, 5 * sizeof(char *));
    if (values == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* NUL-terminated, without NUL inside (the query parser refuses it) */
    for (i = 0; i < GN_MQ_N; i++) {
        values[i] = (const char *) ctx->q.filter[i].data;
    }

    values[3] = ngx_http_gonsters_users_number(r, ctx->q.limit);
    values[4] = ngx_http_gonsters_users_number(r, ctx->q.offset);
    if (values[3] == NULL || values[4] == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_machines_query1(r, "gn_machines_list",
                                             gn_sql_list, 5, values,
                                             ngx_http_gonsters_machines_rows,
                                             ctx);
}


static ngx_int_t
ngx_http_gonsters_machines_rows(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    ngx_http_gonsters_machines_ctx_t  *ctx = data;

    u_char     *p;
    size_t      len;
    ngx_str_t   json;
    ngx_int_t   total, count;
    PGresult   *pr;

    static const char  head[] = "{\"status\":\"success\",\"count\":";

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        return ngx_http_gonsters_machines_failed(r, res);
    }

    pr = res->results[0];

    if (PQntuples(pr) != 1 || PQnfields(pr) != 3) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    total = ngx_atoi((u_char *) PQgetvalue(pr, 0, 0), PQgetlength(pr, 0, 0));
    count = ngx_atoi((u_char *) PQgetvalue(pr, 0, 1), PQgetlength(pr, 0, 1));
    if (total == NGX_ERROR || count == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = PQgetlength(pr, 0, 2);

    json.data = ngx_pnalloc(r->pool, sizeof(head) + len + 5 * NGX_INT_T_LEN
                                     + 160);
    if (json.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the pagination's names are those of the history endpoint (seed
     * 1.2 B) */
    p = ngx_cpymem(json.data, head, sizeof(head) - 1);
    p = ngx_sprintf(p, "%i,\"machines\":[", count);
    p = ngx_cpymem(p, PQgetvalue(pr, 0, 2), len);
    p = ngx_sprintf(p, "],\"pagination\":{\"has_more\":%s,\"limit\":%i,"
                       "\"offset\":%i,\"returned_records\":%i,"
                       "\"total_records\":%i}}",
                    ctx->q.offset + count < total ? "true" : "false",
                    ctx->q.limit, ctx->q.offset, count, total);
    json.len = p - json.data;

    if (ctx->has_version) {
        ngx_http_gonsters_machines_list_put(r, &ctx->version, &ctx->key,
                                            &json);
    }

    return ngx_http_gonsters_send_json(r, NGX_HTTP_OK, &json);
}


/* ---- /api/v1/data/machine/{id} ------------------------------------------ */


static ngx_int_t
ngx_http_gonsters_machine_bad_id(ngx_http_request_t *r, ngx_str_t *raw)
{
    ngx_http_gonsters_param_errors_t  errs;

    errs.n = 0;
    ngx_http_gonsters_param_error(&errs, "machine_id", "must be a UUID", raw);

    return ngx_http_gonsters_param_errors(r, "Invalid machine id", &errs);
}


ngx_int_t
ngx_http_gonsters_machine_not_found(ngx_http_request_t *r, ngx_str_t *id)
{
    return ngx_http_gonsters_send_wrapped(r, NGX_HTTP_NOT_FOUND,
                                          "{\"status\":\"error\","
                                          "\"message\":\"Machine not found\","
                                          "\"machine_id\":\"",
                                          id, "\"}");
}


ngx_int_t
ngx_http_gonsters_machine_handler(ngx_http_request_t *r)
{
    ngx_int_t                          rc;
    ngx_str_t                          raw;
    ngx_http_gonsters_machines_ctx_t  *ctx;

    /* GET and HEAD of /api/v1/data/machine/{id}: the sensor history */
    if (r->method == NGX_HTTP_GET || r->method == NGX_HTTP_HEAD) {
        return ngx_http_gonsters_history_handler(r);
    }

    if (r->method != NGX_HTTP_PATCH && r->method != NGX_HTTP_DELETE) {
        return ngx_http_gonsters_send_not_allowed(r, "GET, HEAD, PATCH, DELETE");
    }

    ctx = ngx_http_gonsters_machines_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_gonsters_machines_path_id(r, &ctx->id, &raw);

    if (rc == NGX_DECLINED) {
        /* the body is not read: discarded, so the connection stays usable */
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }
        return ngx_http_gonsters_machine_bad_id(r, &raw);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method == NGX_HTTP_DELETE) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }
        return ngx_http_gonsters_machine_delete(r, ctx);
    }

    /* the body step finds the id through the module's ctx slot */
    ngx_http_set_ctx(r, ctx, ngx_http_gonsters_machines_module);

    return ngx_http_gonsters_users_read_body(r,
                                         ngx_http_gonsters_machine_patch_body);
}


static ngx_int_t
ngx_http_gonsters_machine_patch_body(ngx_http_request_t *r, void *data)
{
    ngx_http_gonsters_users_ctx_t  *uctx = data;

    ngx_uint_t                          i;
    const char                        **values;
    ngx_http_gonsters_field_errors_t    errs;
    ngx_http_gonsters_machine_body_t    mb;
    ngx_http_gonsters_machines_ctx_t   *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gonsters_machines_module);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    errs.n = 0;

    if (ngx_http_gonsters_machines_validate(r, uctx, 0, &mb, &errs) != NGX_OK)
    {
        return ngx_http_gonsters_users_fields(r, NGX_HTTP_BAD_REQUEST,
                                              "Validation failed", &errs);
    }

    values = ngx_palloc(r->pool, (GN_MF_N + 1) * sizeof(char *));
    if (values == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    values[0] = (const char *) ctx->id.data;

    for (i = 0; i < GN_MF_N; i++) {
        values[i + 1] = ngx_http_gonsters_machines_param(&mb, i);
    }

    return ngx_http_gonsters_machines_query1(r, "gn_machines_patch",
                                             gn_sql_patch, GN_MF_N + 1,
                                             values,
                                             ngx_http_gonsters_machine_patched,
                                             ctx);
}


static ngx_int_t
ngx_http_gonsters_machine_patched(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    ngx_http_gonsters_machines_ctx_t  *ctx = data;

    ngx_int_t   rc;
    PGresult   *pr;

    if (res->status == NGX_HTTP_GONSTERS_BACKEND_ERROR
        && ngx_strcmp(res->sqlstate, "23505") == 0)
    {
        return ngx_http_gonsters_machines_conflict(r);
    }

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        return ngx_http_gonsters_machines_failed(r, res);
    }

    pr = res->results[0];

    if (PQntuples(pr) == 0) {
        return ngx_http_gonsters_machine_not_found(r, &ctx->id);
    }

    if (ngx_http_gonsters_pg_copy(r->pool, pr, 0, 0, &ctx->json) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_gonsters_machines_invalidate(r, &ctx->id,
                                  ngx_http_gonsters_machine_patched_reply, ctx);
    if (rc == NGX_DONE) {
        return NGX_DONE;
    }

    return ngx_http_gonsters_machine_patched_reply(r, ctx);
}


static ngx_int_t
ngx_http_gonsters_machine_patched_reply(ngx_http_request_t *r, void *data)
{
    ngx_http_gonsters_machines_ctx_t  *ctx = data;

    return ngx_http_gonsters_send_wrapped(r, NGX_HTTP_OK,
                                          "{\"status\":\"success\","
                                          "\"message\":\"Machine updated "
                                          "successfully\",\"machine\":",
                                          &ctx->json, "}");
}


static ngx_int_t
ngx_http_gonsters_machine_delete(ngx_http_request_t *r,
    ngx_http_gonsters_machines_ctx_t *ctx)
{
    const char  **values;

    values = ngx_palloc(r->pool, sizeof(char *));
    if (values == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    values[0] = (const char *) ctx->id.data;

    return ngx_http_gonsters_machines_query1(r, "gn_machines_delete",
                                             gn_sql_delete, 1, values,
                                             ngx_http_gonsters_machine_deleted,
                                             ctx);
}


static ngx_int_t
ngx_http_gonsters_machine_deleted(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    ngx_http_gonsters_machines_ctx_t  *ctx = data;

    ngx_int_t  rc;

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        return ngx_http_gonsters_machines_failed(r, res);
    }

    if (PQntuples(res->results[0]) == 0) {
        return ngx_http_gonsters_machine_not_found(r, &ctx->id);
    }

    rc = ngx_http_gonsters_machines_invalidate(r, &ctx->id,
                                  ngx_http_gonsters_machine_deleted_reply, ctx);
    if (rc == NGX_DONE) {
        return NGX_DONE;
    }

    return ngx_http_gonsters_machine_deleted_reply(r, ctx);
}


static ngx_int_t
ngx_http_gonsters_machine_deleted_reply(ngx_http_request_t *r, void *data)
{
    r->headers_out.status = NGX_HTTP_NO_CONTENT;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}
