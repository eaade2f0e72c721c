/*
 * POST /api/v1/auth/logout.
 *
 * The refresh family of the session (the access token's "fam") is revoked
 * first, then the access token by its jti (ngx_http_gonsters_revoke(): the
 * row, this node's set, Redis), then the audit row.  A failure before the
 * jti is revoked answers 5xx with the token still valid, so the client can
 * try again; both steps are idempotent.  A failure of the audit row alone
 * is logged: the logout itself has happened.
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_users.h"
#include "ngx_http_gonsters_revoke.h"
#include "gn_uuid.h"


static const char  gn_sql_revoke_family[] =
    "UPDATE refresh_tokens SET revoked_at = now() "
    "WHERE family_id = $1 AND revoked_at IS NULL";


static ngx_int_t ngx_http_gonsters_logout_family(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);
static ngx_int_t ngx_http_gonsters_logout_revoked(ngx_http_request_t *r,
    ngx_http_gonsters_backend_status_e status, void *data);
static ngx_int_t ngx_http_gonsters_logout_done(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);


/* the claims, for the later steps and the audit row */
static ngx_int_t
ngx_http_gonsters_logout_session(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx,
    ngx_http_gonsters_auth_claims_t *claims)
{
    char  *id;

    ctx->jti.len = claims->jti.len;
    ctx->jti.data = (u_char *) ngx_http_gonsters_users_dup(r, claims->jti.data,
                                                           claims->jti.len);
    ctx->exp = claims->exp;

    if (ctx->jti.data == NULL) {
        return NGX_ERROR;
    }

    if (!gn_uuid_is_valid((char *) claims->sub.data, claims->sub.len)) {
        ctx->login.len = claims->username.len;
        ctx->login.data = (u_char *)
            ngx_http_gonsters_users_dup_or_null(r, &claims->username);
        return NGX_OK;
    }

    id = ngx_http_gonsters_users_dup(r, claims->sub.data, claims->sub.len);
    if (id == NULL) {
        return NGX_ERROR;
    }

    ctx->found = 1;
    ctx->user[GN_COL_ID].data = (u_char *) id;
    ctx->user[GN_COL_USERNAME].data = (u_char *)
        ngx_http_gonsters_users_dup_or_null(r, &claims->username);
    ctx->user[GN_COL_ROLE].data = (u_char *)
        ngx_http_gonsters_users_dup_or_null(r, &claims->role);

    return NGX_OK;
}


ngx_int_t
ngx_http_gonsters_logout_handler(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    const char                      **values;
    ngx_http_gonsters_pg_stmt_t      *stmt;
    ngx_http_gonsters_users_ctx_t    *ctx;
    ngx_http_gonsters_auth_claims_t  *claims;

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_gonsters_send_not_allowed(r, "POST");
    }

    rc = ngx_http_gonsters_users_claims(r, &claims);
    if (rc != NGX_OK || claims == NULL) {
        return rc;
    }

    if (claims->jti.len == 0) {
        return ngx_http_gonsters_users_reject(r,
                   NGX_HTTP_GONSTERS_AUTH_BAD_TOKEN, "The token has no jti");
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_users_ctx_t));
    if (ctx == NULL
        || ngx_http_gonsters_logout_session(r, ctx, claims) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (claims->fam.len == 0) {
        /* not one of our sessions: only the access token */
        return ngx_http_gonsters_logout_family(r, NULL, ctx);
    }

    stmt = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_pg_stmt_t));
    values = ngx_pcalloc(r->pool, sizeof(char *));
    if (stmt == NULL || values == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    values[0] = ngx_http_gonsters_users_dup(r, claims->fam.data,
                                            claims->fam.len);
    if (values[0] == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_gonsters_users_stmt(stmt, "gn_users_revoke_family",
                                 gn_sql_revoke_family, 1, values);

    return ngx_http_gonsters_users_query(r, stmt, 1, 0,
                                         ngx_http_gonsters_logout_family, ctx);
}


/* res NULL: the token has no family */
static ngx_int_t
ngx_http_gonsters_logout_family(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    char  *n;

    if (res != NULL) {
        if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
            return ngx_http_gonsters_users_backend(r,
                                                   NGX_HTTP_GONSTERS_POSTGRES,
                                                   res->status);
        }

        n = (res->nresults >= 1) ? PQcmdTuples(res->results[0]) : "";
        ctx->revoked.len = ngx_strlen(n);
        ctx->revoked.data = (u_char *) ngx_http_gonsters_users_dup(r,
                                             (u_char *) n, ctx->revoked.len);
        if (ctx->revoked.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_http_gonsters_revoke(r, &ctx->jti, ctx->exp,
                                 ngx_http_gonsters_logout_revoked, ctx)
        != NGX_DONE)
    {
        return ngx_http_gonsters_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                            "Cannot revoke the token");
    }

    return NGX_DONE;
}


/* {"jti": ..., "refresh_tokens_revoked": n}, in r->pool */
static char *
ngx_http_gonsters_logout_changes(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx)
{
    cJSON  *changes;
    char   *text, *copy;

    changes = cJSON_CreateObject();
    if (changes == NULL
        || cJSON_AddStringToObject(changes, "jti", (char *) ctx->jti.data)
           == NULL
        || cJSON_AddNumberToObject(changes, "refresh_tokens_revoked",
               ctx->revoked.len
               ? (double) ngx_atoi(ctx->revoked.data, ctx->revoked.len) : 0)
           == NULL)
    {
        cJSON_Delete(changes);
        return NULL;
    }

    text = cJSON_PrintUnformatted(changes);
    cJSON_Delete(changes);

    if (text == NULL) {
        return NULL;
    }

    copy = ngx_http_gonsters_users_dup(r, (u_char *) text, ngx_strlen(text));
    cJSON_free(text);

    return copy;
}


static ngx_int_t
ngx_http_gonsters_logout_revoked(ngx_http_request_t *r,
    ngx_http_gonsters_backend_status_e status, void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    char  *changes;

    if (status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        return ngx_http_gonsters_users_backend(r, NGX_HTTP_GONSTERS_POSTGRES,
                                               status);
    }

    changes = ngx_http_gonsters_logout_changes(r, ctx);
    if (changes == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_users_record(r, ctx, "LOGOUT", NGX_HTTP_OK,
                                          changes,
                                          ngx_http_gonsters_logout_done);
}


static ngx_int_t
ngx_http_gonsters_logout_done(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    static ngx_str_t  ok =
        ngx_string("{\"status\":\"success\",\"message\":\"Logged out\"}");

    ngx_http_gonsters_users_unrecorded(r, res,
                                       "logout not recorded in the audit log");

    return ngx_http_gonsters_send_json(r, NGX_HTTP_OK, &ok);
}
