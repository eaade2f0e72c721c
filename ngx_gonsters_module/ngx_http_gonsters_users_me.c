/*
 * GET /api/v1/auth/me: the user of the access token, read again (an account
 * deactivated since the token was issued answers 401).
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_users.h"
#include "gn_uuid.h"


static const char  gn_sql_me[] =
    "SELECT " GN_USER_COLUMNS " FROM users u WHERE u.id = $1::uuid";


static ngx_int_t ngx_http_gonsters_me_user(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);


ngx_int_t
ngx_http_gonsters_me_handler(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    const char                      **values;
    ngx_http_gonsters_pg_stmt_t      *stmt;
    ngx_http_gonsters_users_ctx_t    *ctx;
    ngx_http_gonsters_auth_claims_t  *claims;

    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        return ngx_http_gonsters_send_not_allowed(r, "GET, HEAD");
    }

    rc = ngx_http_gonsters_users_claims(r, &claims);
    if (rc != NGX_OK || claims == NULL) {
        return rc;
    }

    if (!gn_uuid_is_valid((char *) claims->sub.data, claims->sub.len)) {
        return ngx_http_gonsters_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                            "User not found");
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_users_ctx_t));
    stmt = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_pg_stmt_t));
    values = ngx_pcalloc(r->pool, sizeof(char *));
    if (ctx == NULL || stmt == NULL || values == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    values[0] = ngx_http_gonsters_users_dup(r, claims->sub.data,
                                            claims->sub.len);
    if (values[0] == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_gonsters_users_stmt(stmt, "gn_users_me", gn_sql_me, 1, values);

    return ngx_http_gonsters_users_query(r, stmt, 1, 0,
                                         ngx_http_gonsters_me_user, ctx);
}


static ngx_int_t
ngx_http_gonsters_me_user(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        return ngx_http_gonsters_users_backend(r, NGX_HTTP_GONSTERS_POSTGRES,
                                               res->status);
    }

    if (ngx_http_gonsters_users_row(r, ctx, res->results[0],
                                    GN_COL_PERMISSIONS + 1)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!ctx->found) {
        return ngx_http_gonsters_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                            "User not found");
    }

    if (!ctx->active) {
        return ngx_http_gonsters_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                            "User account is inactive");
    }

    return ngx_http_gonsters_users_user_reply(r, ctx, NGX_HTTP_OK, NULL);
}
