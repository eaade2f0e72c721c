
/*
 * System configuration: GET /api/v1/config, POST /api/v1/config/reset, and
 * what update and reset share (ngx_http_gonsters_config.h).
 */


#include "ngx_http_gonsters_config.h"
#include "ngx_http_gonsters_users.h"
#include "ngx_http_gonsters_audit.h"
#include "ngx_http_gonsters_event.h"
#include "gn_uuid.h"
#include "gn_config.h"


/* the settings in name order, and as a name -> value map */
static const char  gn_sql_config_get[] =
    "SELECT json_build_object('status', 'success', "
    "'config', COALESCE(json_object_agg(setting_name, "
    "gonsters_config_json(value_type, setting_value)), '{}'), "
    "'settings', COALESCE(json_agg(json_build_object("
    "'name', setting_name, "
    "'value', gonsters_config_json(value_type, setting_value), "
    "'type', value_type, "
    "'default_value', gonsters_config_json(value_type, default_value), "
    "'description', description, 'updated_by', updated_by, "
    "'updated_at', " GN_TS("updated_at") ") ORDER BY setting_name), '[]'))"
    "::text FROM system_config";


/*
 * Reset: one setting ($1) or all of them ($1 NULL) to default_value, locked
 * in name order (two resets cannot deadlock), one audit row per setting.
 * Columns: the new settings (JSON array, or NULL when nothing was reset),
 * the known names (JSON array), why the one setting cannot be reset.
 */
static const char  gn_sql_config_reset[] =
    "WITH old AS (SELECT id, setting_value FROM system_config "
    "WHERE ($1::text IS NULL OR setting_name = $1) "
    "AND default_value IS NOT NULL ORDER BY setting_name FOR UPDATE), "
    "done AS (SELECT 1 FROM audit_logs "
    "WHERE request_id = $10 AND action = 'RESET_CONFIG'), "
    "upd AS (UPDATE system_config c SET setting_value = c.default_value, "
    "updated_by = left($3, 255) FROM old WHERE c.id = old.id "
    "AND NOT EXISTS (SELECT 1 FROM done) "
    "RETURNING c.setting_name, c.setting_value, c.value_type, c.updated_by, "
    "c.updated_at, old.setting_value AS old_value), "
    "aud AS (INSERT INTO audit_logs (user_id, username, role, action, "
    "resource, method, status_code, ip_address, user_agent, request_id, "
    "changes) SELECT (SELECT id FROM users WHERE id = $4::uuid), left($3, 50), left($5, 20), 'RESET_CONFIG', "
    "left($6, 255), left($7, 10), 200, left($8, 45), $9, left($10, 64), "
    "jsonb_build_object('setting_name', setting_name, "
    "'old_value', gonsters_config_json(value_type, old_value), "
    "'new_value', gonsters_config_json(value_type, setting_value)) "
    "FROM upd RETURNING 1) "
    "SELECT COALESCE("
    "(SELECT json_agg(json_build_object('name', setting_name, "
    "'value', gonsters_config_json(value_type, setting_value), "
    "'old_value', gonsters_config_json(value_type, old_value), "
    "'updated_at', " GN_TS("updated_at") ", 'updated_by', updated_by) "
    "ORDER BY setting_name) FROM upd), "
    /* an earlier attempt of this request did it: the settings as they are */
    "(SELECT json_agg(json_build_object('name', c.setting_name, "
    "'value', gonsters_config_json(c.value_type, c.setting_value), "
    "'old_value', a.changes->'old_value', "
    "'updated_at', " GN_TS("c.updated_at") ", 'updated_by', c.updated_by) "
    "ORDER BY c.setting_name) FROM system_config c JOIN audit_logs a "
    "ON a.changes->>'setting_name' = c.setting_name "
    "WHERE a.request_id = $10 AND a.action = 'RESET_CONFIG'))::text, "
    "(SELECT json_agg(setting_name ORDER BY setting_name) "
    "FROM system_config)::text, "
    "(SELECT 'has no default value' FROM system_config "
    "WHERE setting_name = $1 AND default_value IS NULL), "
    /* $2 (the new value of an update) is not used: one numbering for both */
    "$2::text";


static ngx_int_t ngx_http_gonsters_config_got(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);
static ngx_int_t ngx_http_gonsters_config_reset_body(ngx_http_request_t *r,
    void *data);
static ngx_int_t ngx_http_gonsters_config_done(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);
static ngx_int_t ngx_http_gonsters_config_answer(ngx_http_request_t *r,
    ngx_http_gonsters_config_ctx_t *ctx, PGresult *pr);
static ngx_int_t ngx_http_gonsters_config_unknown(ngx_http_request_t *r,
    ngx_http_gonsters_config_ctx_t *ctx, PGresult *pr);
static ngx_uint_t ngx_http_gonsters_config_retryable(
    ngx_http_gonsters_pg_result_t *res);
static ngx_int_t ngx_http_gonsters_config_retry(ngx_http_request_t *r,
    ngx_http_gonsters_config_ctx_t *ctx);
static void ngx_http_gonsters_config_retry_handler(ngx_event_t *ev);
static void ngx_http_gonsters_config_retry_cleanup(void *data);
static void ngx_http_gonsters_config_failed(ngx_http_request_t *r,
    ngx_http_gonsters_config_ctx_t *ctx, ngx_http_gonsters_pg_result_t *res);


/* ---- GET /api/v1/config ------------------------------------------------ */


ngx_int_t
ngx_http_gonsters_config_get_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_http_gonsters_pg_stmt_t  *stmt;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_gonsters_send_not_allowed(r, "GET, HEAD");
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    stmt = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_pg_stmt_t));
    if (stmt == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_gonsters_users_stmt(stmt, "gn_config_get", gn_sql_config_get,
                                 0, NULL);

    return ngx_http_gonsters_users_query(r, stmt, 1, 0,
                                         ngx_http_gonsters_config_got, NULL);
}


static ngx_int_t
ngx_http_gonsters_config_got(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    ngx_str_t  json;

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        return ngx_http_gonsters_users_backend(r, NGX_HTTP_GONSTERS_POSTGRES,
                                               res->status);
    }

    if (res->nresults != 1 || PQntuples(res->results[0]) != 1
        || PQgetisnull(res->results[0], 0, 0))
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    json.data = (u_char *) PQgetvalue(res->results[0], 0, 0);
    json.len = PQgetlength(res->results[0], 0, 0);

    return ngx_http_gonsters_send_json(r, NGX_HTTP_OK, &json);
}


/* ---- POST /api/v1/config/reset ----------------------------------------- */


ngx_int_t
ngx_http_gonsters_config_reset_handler(ngx_http_request_t *r)
{
    return ngx_http_gonsters_users_read(r,
                                        ngx_http_gonsters_config_reset_body);
}


/* {"setting_name": NAME} resets one setting, {"all": true} all of them */
static ngx_int_t
ngx_http_gonsters_config_reset_body(ngx_http_request_t *r, void *data)
{
    ngx_http_gonsters_users_ctx_t  *uctx = data;

    gn_config_reset_t                reset;
    ngx_http_gonsters_config_ctx_t  *ctx;

    if (gn_config_reset(uctx->body, &reset) != 0) {
        return ngx_http_gonsters_users_field(r, NGX_HTTP_BAD_REQUEST,
                                             "Validation failed",
                                             reset.errors[0].field,
                                             reset.errors[0].error);
    }

    ctx = ngx_http_gonsters_config_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the tree lives as long as the request */
    ctx->values[GN_CONFIG_SETTING] = reset.name;

    if (reset.name) {
        ctx->member = "updated_setting";
        ctx->message = "Configuration reset to its default";

    } else {
        ctx->member = "updated_settings";
        ctx->message = "Configuration reset to defaults";
    }

    ctx->operation = "reset_config";

    ngx_http_gonsters_users_stmt(&ctx->stmt, "gn_config_reset",
                                 gn_sql_config_reset, GN_CONFIG_N,
                                 ctx->values);

    return ngx_http_gonsters_config_run(r, ctx);
}


/* ---- shared by update and reset ---------------------------------------- */


/* the context of a change, with the user and the request's side filled in;
 * NULL on failure */
ngx_http_gonsters_config_ctx_t *
ngx_http_gonsters_config_ctx(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t                *cln;
    ngx_http_gonsters_audit_client_t   client;
    ngx_http_gonsters_config_ctx_t    *ctx;
    ngx_http_gonsters_auth_claims_t   *claims;

    claims = ngx_http_gonsters_auth_get_claims(r);

    /* nginx -t makes sure that these locations verify tokens */
    if (claims == NULL) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "gonsters: a configuration change without a token");
        return NULL;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_config_ctx_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (ctx == NULL || cln == NULL
        || ngx_http_gonsters_audit_client(r, &client) != NGX_OK)
    {
        return NULL;
    }

    cln->handler = ngx_http_gonsters_config_retry_cleanup;
    cln->data = ctx;
    ctx->request = r;

    ctx->values[GN_CONFIG_USERNAME] = ngx_http_gonsters_audit_text(r,
                                                          &claims->username);
    ctx->values[GN_CONFIG_ROLE] = ngx_http_gonsters_audit_text(r,
                                                              &claims->role);

    if (gn_uuid_is_valid((char *) claims->sub.data, claims->sub.len)) {
        ctx->values[GN_CONFIG_USER_ID] = ngx_http_gonsters_audit_text(r,
                                                               &claims->sub);
    }

    ctx->values[GN_CONFIG_RESOURCE] = client.resource;
    ctx->values[GN_CONFIG_METHOD] = client.method;
    ctx->values[GN_CONFIG_IP] = client.ip;
    ctx->values[GN_CONFIG_USER_AGENT] = client.user_agent;
    ctx->values[GN_CONFIG_REQUEST_ID] = client.request_id;

    ctx->start = ngx_current_msec;

    return ctx;
}


ngx_int_t
ngx_http_gonsters_config_run(ngx_http_request_t *r,
    ngx_http_gonsters_config_ctx_t *ctx)
{
    ctx->attempt++;

    return ngx_http_gonsters_users_query(r, &ctx->stmt, 1,
                                         NGX_HTTP_GONSTERS_PG_TRANSACTION,
                                         ngx_http_gonsters_config_done, ctx);
}


static ngx_int_t
ngx_http_gonsters_config_done(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    ngx_http_gonsters_config_ctx_t  *ctx = data;

    if (res->status == NGX_HTTP_GONSTERS_BACKEND_OK) {
        if (res->nresults != 1 || PQntuples(res->results[0]) != 1
            || PQnfields(res->results[0]) < 3)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_gonsters_config_answer(r, ctx, res->results[0]);
    }

    /* the type rules of sql/008 */
    if (res->status == NGX_HTTP_GONSTERS_BACKEND_ERROR
        && ngx_strcmp(res->sqlstate, "GNCFG") == 0)
    {
        return ngx_http_gonsters_users_field(r, NGX_HTTP_BAD_REQUEST,
                   "Validation failed", "setting_value",
                   ngx_http_gonsters_users_dup(r, res->message.data,
                                               res->message.len));
    }

    ngx_cpystrn((u_char *) ctx->sqlstate, (u_char *) res->sqlstate,
                sizeof(ctx->sqlstate));
    ctx->error.len = res->message.len;
    ctx->error.data = ngx_pstrdup(r->pool, &res->message);

    if (ngx_http_gonsters_config_retryable(res)
        && ctx->attempt < NGX_HTTP_GONSTERS_CONFIG_ATTEMPTS)
    {
        return ngx_http_gonsters_config_retry(r, ctx);
    }

    ngx_http_gonsters_config_failed(r, ctx, res);

    return ngx_http_gonsters_users_backend(r, NGX_HTTP_GONSTERS_POSTGRES,
                                           res->status);
}


static ngx_int_t
ngx_http_gonsters_config_answer(ngx_http_request_t *r,
    ngx_http_gonsters_config_ctx_t *ctx, PGresult *pr)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   json;

    if (!PQgetisnull(pr, 0, 2)) {
        return ngx_http_gonsters_users_field(r, NGX_HTTP_BAD_REQUEST,
                                             "Validation failed",
                                             "setting_name",
                                             PQgetvalue(pr, 0, 2));
    }

    if (PQgetisnull(pr, 0, 0)) {
        if (ctx->values[GN_CONFIG_SETTING] != NULL) {
            return ngx_http_gonsters_config_unknown(r, ctx, pr);
        }

        /* reset of all with no setting that has a default */
        p = (u_char *) "[]";
        len = 2;

    } else {
        p = (u_char *) PQgetvalue(pr, 0, 0);
        len = PQgetlength(pr, 0, 0);
    }

    /* reset one: the array's only element */

    if (ctx->values[GN_CONFIG_SETTING] && p[0] == '[' && len > 2) {
        p++;
        len -= 2;
    }

    json.len = sizeof("{\"status\":\"success\",\"message\":\"\",\"\":}") - 1
               + ngx_strlen(ctx->message) + ngx_strlen(ctx->member) + len;
    json.data = ngx_pnalloc(r->pool, json.len);
    if (json.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* message and member are our constants */
    ngx_sprintf(json.data,
                "{\"status\":\"success\",\"message\":\"%s\",\"%s\":%*s}",
                ctx->message, ctx->member, len, p);

    return ngx_http_gonsters_send_json(r, NGX_HTTP_OK, &json);
}


/* 400 naming the known settings */
static ngx_int_t
ngx_http_gonsters_config_unknown(ngx_http_request_t *r,
    ngx_http_gonsters_config_ctx_t *ctx, PGresult *pr)
{
    int     i, n;
    cJSON  *root, *known, *errors, *e, *name;
    char   *list, *p;
    size_t  len;

    known = PQgetisnull(pr, 0, 1) ? cJSON_CreateArray()
                                  : cJSON_Parse(PQgetvalue(pr, 0, 1));
    if (known == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = cJSON_GetArraySize(known);
    len = sizeof("unknown setting; known settings: ");

    for (i = 0; i < n; i++) {
        name = cJSON_GetArrayItem(known, i);
        len += (cJSON_IsString(name) ? ngx_strlen(name->valuestring) : 0) + 2;
    }

    list = ngx_pnalloc(r->pool, len);
    if (list == NULL) {
        cJSON_Delete(known);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = (char *) ngx_cpymem(list, "unknown setting; known settings: ",
                            sizeof("unknown setting; known settings: ") - 1);

    for (i = 0; i < n; i++) {
        name = cJSON_GetArrayItem(known, i);
        if (!cJSON_IsString(name)) {
            continue;
        }

        p = (char *) ngx_cpymem(p, i ? ", " : "", i ? 2 : 0);
        p = (char *) ngx_cpymem(p, name->valuestring,
                                ngx_strlen(name->valuestring));
    }

    *p = '\0';

    root = cJSON_CreateObject();
    if (root == NULL) {
        cJSON_Delete(known);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cJSON_AddStringToObject(root, "status", "error");
    cJSON_AddStringToObject(root, "message", "Unknown setting");
    errors = cJSON_AddArrayToObject(root, "errors");
    e = cJSON_CreateObject();

    if (errors == NULL || e == NULL) {
        cJSON_Delete(e);
        cJSON_Delete(known);
        cJSON_Delete(root);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cJSON_AddStringToObject(e, "field", "setting_name");
    cJSON_AddStringToObject(e, "error", list);
    cJSON_AddItemToArray(errors, e);
    cJSON_AddItemToObject(root, "known_settings", known);

    return ngx_http_gonsters_send_cjson(r, NGX_HTTP_BAD_REQUEST, root);
}


/*
 * Repeated: the connection failed (refused, lost, the server down) or the
 * server rolled the transaction back (serialization failure, deadlock).
 * A lost connection may have committed; the statement's request-id guard
 * makes the repetition a no-op then.  A timeout is not repeated: it has
 * already used the whole deadline.
 */
static ngx_uint_t
ngx_http_gonsters_config_retryable(ngx_http_gonsters_pg_result_t *res)
{
    if (res->status == NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE) {
        return 1;
    }

    return res->status == NGX_HTTP_GONSTERS_BACKEND_ERROR
           && (ngx_strcmp(res->sqlstate, "40001") == 0
               || ngx_strcmp(res->sqlstate, "40P01") == 0);
}


static ngx_int_t
ngx_http_gonsters_config_retry(ngx_http_request_t *r,
    ngx_http_gonsters_config_ctx_t *ctx)
{
    ngx_msec_t  delay;

    delay = NGX_HTTP_GONSTERS_CONFIG_RETRY_DELAY << (ctx->attempt - 1);

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "gonsters: %s attempt %ui failed (%V), again in %Mms",
                  ctx->operation, ctx->attempt, &ctx->error, delay);

    ctx->retry.handler = ngx_http_gonsters_config_retry_handler;
    ctx->retry.data = ctx;
    ctx->retry.log = r->connection->log;

    ngx_add_timer(&ctx->retry, delay);

    /* held until the timer runs (or the request pool's cleanup stops it) */
    return ngx_http_gonsters_suspend(r);
}


static void
ngx_http_gonsters_config_retry_handler(ngx_event_t *ev)
{
    ngx_http_gonsters_config_ctx_t  *ctx = ev->data;

    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = ctx->request;
    c = r->connection;

    rc = ngx_http_gonsters_config_run(r, ctx);

    /* the new call holds r (NGX_DONE), or rc is the answer */
    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_gonsters_config_retry_cleanup(void *data)
{
    ngx_http_gonsters_config_ctx_t  *ctx = data;

    if (ctx->retry.timer_set) {
        ngx_del_timer(&ctx->retry);
    }
}


/* the seed's ERROR (Part 3 §1): nothing was saved */
static void
ngx_http_gonsters_config_failed(ngx_http_request_t *r,
    ngx_http_gonsters_config_ctx_t *ctx, ngx_http_gonsters_pg_result_t *res)
{
    const char                       *message;
    ngx_http_gonsters_event_field_t   f[] = {
        NGX_HTTP_GONSTERS_EV_CSTR("service", "postgresql"),
        NGX_HTTP_GONSTERS_EV_CSTR("operation", ctx->operation),
        NGX_HTTP_GONSTERS_EV_CSTR("table", "system_config"),
        NGX_HTTP_GONSTERS_EV_CSTR("setting_name",
                                  ctx->values[GN_CONFIG_SETTING]),
        NGX_HTTP_GONSTERS_EV_CSTR("outcome",
                       res->status == NGX_HTTP_GONSTERS_BACKEND_TIMEOUT
                       ? "timeout"
                       : res->status == NGX_HTTP_GONSTERS_BACKEND_ERROR
                         ? "error" : "unavailable"),
        NGX_HTTP_GONSTERS_EV_STR("error", &ctx->error),
        NGX_HTTP_GONSTERS_EV_CSTR("error_code",
                                  ctx->sqlstate[0] ? ctx->sqlstate : NULL),
        NGX_HTTP_GONSTERS_EV_INT("retry_attempts", ctx->attempt),
        NGX_HTTP_GONSTERS_EV_INT("max_retries",
                                 NGX_HTTP_GONSTERS_CONFIG_ATTEMPTS),
        NGX_HTTP_GONSTERS_EV_NUM("total_retry_duration_seconds",
                                 (ngx_current_msec - ctx->start) / 1000.0),
        NGX_HTTP_GONSTERS_EV_CSTR("user_id", ctx->values[GN_CONFIG_USER_ID]),
        NGX_HTTP_GONSTERS_EV_CSTR("username",
                                  ctx->values[GN_CONFIG_USERNAME]),
        NGX_HTTP_GONSTERS_EV_REQUEST,
        NGX_HTTP_GONSTERS_EV_END
    };

    message = (ctx->attempt > 1)
              ? "Failed to persist data to PostgreSQL after retries"
              : "Failed to persist data to PostgreSQL";

    ngx_http_gonsters_event(r, r->connection->log, NGX_LOG_ERR,
                            "gonsters.postgres", message, f);
}
