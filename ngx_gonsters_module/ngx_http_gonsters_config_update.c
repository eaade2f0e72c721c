
/*
 * POST /api/v1/config/update: {"setting_name": NAME, "setting_value": V}
 * (seed Part 2 B).  V is a JSON number or a string (the seed shows both
 * forms: common/gn_config.c checks the shape); whether it suits the
 * setting is the type rule's business in PostgreSQL (sql/008), whose
 * message is the answer's field error.
 */


#include "ngx_http_gonsters_config.h"
#include "ngx_http_gonsters_users.h"
#include "ngx_http_gonsters_audit.h"
#include "ngx_http_gonsters_event.h"
#include "gn_config.h"


/*
 * Columns: the updated setting (JSON object, NULL when no such setting),
 * the known names (JSON array), NULL (reset's "no default" column).
 */
static const char  gn_sql_config_update[] =
    "WITH old AS (SELECT id, setting_value FROM system_config "
    "WHERE setting_name = $1 FOR UPDATE), "
    "done AS (SELECT 1 FROM audit_logs "
    "WHERE request_id = $10 AND action = 'UPDATE_CONFIG'), "
    "upd AS (UPDATE system_config c SET setting_value = $2, "
    "updated_by = left($3, 255) FROM old WHERE c.id = old.id "
    "AND NOT EXISTS (SELECT 1 FROM done) "
    "RETURNING c.setting_name, c.setting_value, c.value_type, c.updated_by, "
    "c.updated_at, old.setting_value AS old_value), "
    "aud AS (INSERT INTO audit_logs (user_id, username, role, action, "
    "resource, method, status_code, ip_address, user_agent, request_id, "
    "changes) SELECT (SELECT id FROM users WHERE id = $4::uuid), left($3, 50), left($5, 20), 'UPDATE_CONFIG', "
    "left($6, 255), left($7, 10), 200, left($8, 45), $9, left($10, 64), "
    "jsonb_build_object('setting_name', setting_name, "
    "'old_value', gonsters_config_json(value_type, old_value), "
    "'new_value', gonsters_config_json(value_type, setting_value)) "
    "FROM upd RETURNING 1) "
    "SELECT COALESCE("
    "(SELECT json_build_object('name', setting_name, "
    "'value', gonsters_config_json(value_type, setting_value), "
    "'old_value', gonsters_config_json(value_type, old_value), "
    "'updated_at', " GN_TS("updated_at") ", 'updated_by', updated_by) "
    "FROM upd), "
    /* an earlier attempt of this request did it: the setting as it is */
    "(SELECT json_build_object('name', c.setting_name, "
    "'value', gonsters_config_json(c.value_type, c.setting_value), "
    "'old_value', a.changes->'old_value', "
    "'updated_at', " GN_TS("c.updated_at") ", 'updated_by', c.updated_by) "
    "FROM system_config c JOIN audit_logs a "
    "ON a.changes->>'setting_name' = c.setting_name "
    "WHERE a.request_id = $10 AND a.action = 'UPDATE_CONFIG' LIMIT 1))::text, "
    "(SELECT json_agg(setting_name ORDER BY setting_name) "
    "FROM system_config)::text, NULL::text";


static void ngx_http_gonsters_config_validated(ngx_http_request_t *r,
    gn_config_update_t *u, struct timespec *start);


ngx_int_t
ngx_http_gonsters_config_update_handler(ngx_http_request_t *r)
{
    return ngx_http_gonsters_users_read(r,
                                        ngx_http_gonsters_config_update_body);
}


ngx_int_t
ngx_http_gonsters_config_update_body(ngx_http_request_t *r, void *data)
{
    ngx_http_gonsters_users_ctx_t  *uctx = data;

    size_t                             i;
    struct timespec                    start;
    gn_config_update_t                *u;
    ngx_http_gonsters_config_ctx_t    *ctx;
    ngx_http_gonsters_field_errors_t   errs;

    (void) clock_gettime(CLOCK_MONOTONIC, &start);

    /* in the pool: the value's text may live in it */
    u = ngx_palloc(r->pool, sizeof(gn_config_update_t));
    if (u == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (gn_config_update(uctx->body, u) != 0) {
        errs.n = 0;

        for (i = 0; i < u->nerrors; i++) {
            ngx_http_gonsters_users_error(&errs, u->errors[i].field,
                                          u->errors[i].error);
        }

        return ngx_http_gonsters_users_fields(r, NGX_HTTP_BAD_REQUEST,
                                              "Validation failed", &errs);
    }

    ngx_http_gonsters_config_validated(r, u, &start);

    ctx = ngx_http_gonsters_config_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->values[GN_CONFIG_SETTING] = u->name;
    ctx->values[GN_CONFIG_VALUE] = u->value;
    ctx->operation = "update_config";
    ctx->member = "updated_setting";
    ctx->message = "Configuration updated successfully";

    ngx_http_gonsters_users_stmt(&ctx->stmt, "gn_config_update",
                                 gn_sql_config_update, GN_CONFIG_N,
                                 ctx->values);

    return ngx_http_gonsters_config_run(r, ctx);
}


/* the seed's DEBUG (Part 3 §1): the body passed its checks, and how long
 * they took */
static void
ngx_http_gonsters_config_validated(ngx_http_request_t *r,
    gn_config_update_t *u, struct timespec *start)
{
    double                            us;
    struct timespec                   end;
    ngx_http_gonsters_event_field_t   f[] = {
        NGX_HTTP_GONSTERS_EV_REQUEST,
        NGX_HTTP_GONSTERS_EV_OBJECT("validation"),
        NGX_HTTP_GONSTERS_EV_CSTR("schema", "ConfigUpdateRequest"),
        NGX_HTTP_GONSTERS_EV_CSTR("setting_name", u->name),
        NGX_HTTP_GONSTERS_EV_CSTR("value_json_type",
                                  u->is_number ? "number" : "string"),
        NGX_HTTP_GONSTERS_EV_NUM("validation_time_us", 0),
        NGX_HTTP_GONSTERS_EV_OBJECT_END,
        NGX_HTTP_GONSTERS_EV_END
    };

    if (!ngx_http_gonsters_event_enabled(NGX_LOG_DEBUG)) {
        return;
    }

    (void) clock_gettime(CLOCK_MONOTONIC, &end);

    us = (end.tv_sec - start->tv_sec) * 1e6
         + (end.tv_nsec - start->tv_nsec) / 1e3;

    f[5].v.num = us;

    ngx_http_gonsters_event(r, r->connection->log, NGX_LOG_DEBUG,
                            "gonsters.config", "Payload validation successful",
                            f);
}
