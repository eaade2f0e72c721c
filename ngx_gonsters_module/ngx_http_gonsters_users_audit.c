/*
 * Statements of the users endpoints: the audit row of an action, and the
 * PostgreSQL calls every endpoint makes the same way.
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_users.h"
#include "ngx_http_gonsters_audit.h"


/* the audit statement into *stmt: action by the user of ctx (if found) */
ngx_int_t
ngx_http_gonsters_users_audit(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx, const char *action,
    ngx_uint_t status, const char *changes, ngx_http_gonsters_pg_stmt_t *stmt)
{
    ngx_http_gonsters_audit_t  audit;

    ngx_memzero(&audit, sizeof(ngx_http_gonsters_audit_t));

    if (ctx->found) {
        audit.user_id = (char *) ctx->user[GN_COL_ID].data;
        audit.username = (char *) ctx->user[GN_COL_USERNAME].data;
        audit.role = (char *) ctx->user[GN_COL_ROLE].data;

    } else {
        audit.username = ngx_http_gonsters_audit_text(r, &ctx->login);
    }

    audit.action = action;
    audit.status = status;
    audit.changes = changes;

    return ngx_http_gonsters_audit_stmt(r, &audit, stmt);
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
