/*
 * Statements of the users endpoints: the audit row of an action, and the
 * PostgreSQL calls every endpoint makes the same way.
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_users.h"
#include "gn_utf8.h"


static const char  gn_sql_audit[] =
    "INSERT INTO audit_logs (user_id, username, role, action, resource, "
    "method, status_code, ip_address, user_agent, request_id, changes) "
    "VALUES ($1::uuid, COALESCE(left($2, 50), "
    "(SELECT username FROM users WHERE id = $1::uuid)), "
    "COALESCE($3, (SELECT role FROM users WHERE id = $1::uuid)), $4, "
    "left($5, 255), $6, $7::int, "
    "left($8, 45), $9, left($10, 64), $11::jsonb)";


static ngx_str_t  ngx_http_gonsters_request_id = ngx_string("request_id");


static char *
ngx_http_gonsters_users_cstr(ngx_http_request_t *r, ngx_str_t *s)
{
    u_char  *p;
    size_t   i;

    if (s == NULL || s->data == NULL) {
        return NULL;
    }

    p = ngx_pnalloc(r->pool, s->len + 1);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, s->data, s->len);
    p[s->len] = '\0';

    /* text for PostgreSQL: no NUL, valid UTF-8 (header bytes are not) */
    if (!gn_utf8_valid((char *) p, s->len)) {
        for (i = 0; i < s->len; i++) {
            if (p[i] >= 0x80) {
                p[i] = '?';
            }
        }
    }

    for (i = 0; i < s->len; i++) {
        if (p[i] == '\0') {
            p[i] = '?';
        }
    }

    return (char *) p;
}


/* the client's part of an audit row: resource, ip, user agent, request id */
ngx_int_t
ngx_http_gonsters_users_client(ngx_http_request_t *r, const char **v)
{
    ngx_http_variable_value_t  *vv;
    ngx_str_t                   id;

    v[0] = ngx_http_gonsters_users_cstr(r, &r->uri);
    v[1] = ngx_http_gonsters_users_cstr(r, &r->connection->addr_text);
    v[2] = r->headers_in.user_agent
           ? ngx_http_gonsters_users_cstr(r, &r->headers_in.user_agent->value)
           : NULL;

    vv = ngx_http_get_variable(r, &ngx_http_gonsters_request_id,
                               ngx_hash_key(ngx_http_gonsters_request_id.data,
                                            ngx_http_gonsters_request_id.len));

    if (vv != NULL && !vv->not_found) {
        id.data = vv->data;
        id.len = vv->len;
        v[3] = ngx_http_gonsters_users_cstr(r, &id);

    } else {
        v[3] = NULL;
    }

    return (v[0] == NULL) ? NGX_ERROR : NGX_OK;
}


/* the audit statement into *stmt: action by the user of ctx (if found) */
ngx_int_t
ngx_http_gonsters_users_audit(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx, const char *action,
    ngx_uint_t status, const char *changes, ngx_http_gonsters_pg_stmt_t *stmt)
{
    const char  **values, *client[4];

    values = ngx_pcalloc(r->pool, 11 * sizeof(char *));
    if (values == NULL
        || ngx_http_gonsters_users_client(r, client) != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ctx->found) {
        values[0] = (char *) ctx->user[GN_COL_ID].data;
        values[1] = (char *) ctx->user[GN_COL_USERNAME].data;
        values[2] = (char *) ctx->user[GN_COL_ROLE].data;

    } else {
        values[1] = ngx_http_gonsters_users_cstr(r, &ctx->login);
    }

    values[3] = action;
    values[4] = client[0];
    values[5] = "POST";
    values[6] = ngx_http_gonsters_users_number(r, status);
    values[7] = client[1];
    values[8] = client[2];
    values[9] = client[3];
    values[10] = changes;

    if (values[6] == NULL) {
        return NGX_ERROR;
    }

    ngx_http_gonsters_users_stmt(stmt, "gn_users_audit", gn_sql_audit, 11,
                                 values);

    return NGX_OK;
}


/* the audit row alone, then handler */
ngx_int_t
ngx_http_gonsters_users_record(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx, const char *action,
    ngx_uint_t status, const char *changes,
    ngx_http_gonsters_pg_handler_pt handler)
{
    ngx_http_gonsters_pg_stmt_t  *stmt;

    stmt = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_pg_stmt_t));
    if (stmt == NULL
        || ngx_http_gonsters_users_audit(r, ctx, action, status, changes,
                                         stmt)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_users_query(r, stmt, 1, 0, handler, ctx);
}


/* an audit row that failed is logged: the action itself has happened */
void
ngx_http_gonsters_users_unrecorded(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, const char *what)
{
    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters: %s: %V", what, &res->message);
    }
}


void
ngx_http_gonsters_users_stmt(ngx_http_gonsters_pg_stmt_t *stmt,
    const char *name, const char *sql, int nparams, const char **values)
{
    stmt->name = name;
    stmt->sql = sql;
    stmt->nparams = nparams;
    stmt->values = values;
}


/* the content handler's answer: NGX_DONE when the call has started */
ngx_int_t
ngx_http_gonsters_users_query(ngx_http_request_t *r,
    ngx_http_gonsters_pg_stmt_t *stmts, ngx_uint_t n, ngx_uint_t flags,
    ngx_http_gonsters_pg_handler_pt handler, void *data)
{
    if (ngx_http_gonsters_pg_query(r, stmts, n, flags, handler, data)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}
