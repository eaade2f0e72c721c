/*
 * POST /api/v1/auth/refresh: the refresh token is verified, then rotated in
 * one transaction (gonsters_rotate_refresh()); a rotated token presented
 * again revokes its whole family and is recorded in the audit log.
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_users.h"
#include "ngx_http_gonsters_revoke.h"
#include "gn_uuid.h"


static const char  gn_sql_rotate[] =
    "SELECT outcome, user_id FROM gonsters_rotate_refresh($1, $2, $3, $4, "
    "$5::float8)";

static const char  gn_sql_user_by_jti[] =
    "SELECT " GN_USER_COLUMNS " FROM users u WHERE u.id = "
    "(SELECT user_id FROM refresh_tokens WHERE jti = $1)";


static ngx_int_t ngx_http_gonsters_refresh_body(ngx_http_request_t *r,
    void *data);
static ngx_int_t ngx_http_gonsters_refresh_rotated(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);
static ngx_int_t ngx_http_gonsters_refresh_family_revoked(
    ngx_http_request_t *r, ngx_http_gonsters_backend_status_e status,
    void *data);
static ngx_int_t ngx_http_gonsters_refresh_reuse_done(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);


ngx_int_t
ngx_http_gonsters_refresh_handler(ngx_http_request_t *r)
{
    return ngx_http_gonsters_users_read(r, ngx_http_gonsters_refresh_body);
}


static ngx_int_t
ngx_http_gonsters_refresh_invalid(ngx_http_request_t *r, const char *message)
{
    return ngx_http_gonsters_send_error(r, NGX_HTTP_UNAUTHORIZED, message);
}


/*
 * The presented token, verified into ctx->old: 1, or 0 with the answer in
 * *answer (an answer sent can be NGX_OK too).
 */
static ngx_uint_t
ngx_http_gonsters_refresh_verify(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx, ngx_str_t *token, ngx_int_t *answer)
{
    ngx_int_t    rc;
    const char  *error;

    error = NULL;

    rc = ngx_http_gonsters_users_string(ctx, "refresh_token", token, &error);
    if (rc != NGX_OK || token->len == 0) {
        *answer = ngx_http_gonsters_users_field(r, NGX_HTTP_BAD_REQUEST,
                      "Validation failed", "refresh_token",
                      rc == NGX_ERROR ? error : "is required");
        return 0;
    }

    rc = ngx_http_gonsters_auth_verify_refresh(r, token, &ctx->old, &error);

    if (rc == NGX_ERROR) {
        *answer = ngx_http_gonsters_send_error(r,
                      NGX_HTTP_INTERNAL_SERVER_ERROR, "Cannot verify tokens");
        return 0;
    }

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gonsters: refresh token refused: %s", error);
        *answer = ngx_http_gonsters_refresh_invalid(r,
                                                    "Invalid refresh token");
        return 0;
    }

    if (ctx->old.fam.len != NGX_HTTP_GONSTERS_ID_LEN
        || !gn_uuid_is_valid((char *) ctx->old.sub.data, ctx->old.sub.len))
    {
        *answer = ngx_http_gonsters_refresh_invalid(r,
                                                    "Invalid refresh token");
        return 0;
    }

    return 1;
}


static ngx_int_t
ngx_http_gonsters_refresh_body(ngx_http_request_t *r, void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    ngx_int_t                             rc;
    ngx_str_t                             token;
    const char                          **values;
    u_char                                old_hash[64];
    ngx_http_gonsters_pg_stmt_t          *stmts;
    ngx_http_gonsters_users_main_conf_t  *umcf;

    umcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_users_module);

    if (!ngx_http_gonsters_refresh_verify(r, ctx, &token, &rc)) {
        return rc;
    }

    ngx_memcpy(ctx->family, ctx->old.fam.data, NGX_HTTP_GONSTERS_ID_LEN);
    ngx_http_gonsters_auth_token_hash(&token, old_hash);

    if (ngx_http_gonsters_users_refresh_token(r, ctx,
            ngx_http_gonsters_users_dup(r, ctx->old.sub.data,
                                        ctx->old.sub.len))
        != NGX_OK)
    {
        return ngx_http_gonsters_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                            "Cannot issue tokens");
    }

    stmts = ngx_pcalloc(r->pool, 2 * sizeof(ngx_http_gonsters_pg_stmt_t));
    values = ngx_pcalloc(r->pool, 5 * sizeof(char *));
    if (stmts == NULL || values == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    values[0] = ngx_http_gonsters_users_dup(r, ctx->old.jti.data,
                                            ctx->old.jti.len);
    values[1] = ngx_http_gonsters_users_dup(r, old_hash, 64);
    values[2] = ngx_http_gonsters_users_dup(r, ctx->refresh_jti,
                                            NGX_HTTP_GONSTERS_ID_LEN);
    values[3] = ngx_http_gonsters_users_dup(r, ctx->refresh_hash, 64);
    values[4] = ngx_http_gonsters_users_number(r, umcf->refresh_ttl);

    if (values[0] == NULL || values[1] == NULL || values[2] == NULL
        || values[3] == NULL || values[4] == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_gonsters_users_stmt(&stmts[0], "gn_users_rotate", gn_sql_rotate,
                                 5, values);
    ngx_http_gonsters_users_stmt(&stmts[1], "gn_users_user_by_jti",
                                 gn_sql_user_by_jti, 1, &values[2]);

    return ngx_http_gonsters_users_query(r, stmts, 2,
                                         NGX_HTTP_GONSTERS_PG_TRANSACTION,
                                         ngx_http_gonsters_refresh_rotated,
                                         ctx);
}


/* rotated: the user row of the new token, then a new access token */
static ngx_int_t
ngx_http_gonsters_refresh_ok(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx, PGresult *user)
{
    if (ngx_http_gonsters_users_row(r, ctx, user, GN_COL_PERMISSIONS + 1)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!ctx->found) {
        return ngx_http_gonsters_refresh_invalid(r, "Invalid refresh token");
    }

    if (ngx_http_gonsters_users_access(r, ctx) != NGX_OK) {
        return ngx_http_gonsters_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                            "Cannot issue tokens");
    }

    return ngx_http_gonsters_users_tokens_reply(r, ctx);
}


/*
 * The family's refresh tokens are revoked (committed); its access tokens
 * still live up to the access lifetime: revoke the family in the access
 * check's set too, then record it and answer.
 */
static ngx_int_t
ngx_http_gonsters_refresh_reuse(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx)
{
    ngx_str_t                             key;
    ngx_http_gonsters_users_main_conf_t  *umcf;

    umcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_users_module);

    if (ngx_http_gonsters_revoke_family_key(r, &ctx->old.fam, &key) != NGX_OK
        || ngx_http_gonsters_revoke(r, &key, ngx_time() + umcf->access_ttl,
                                    ngx_http_gonsters_refresh_family_revoked,
                                    ctx)
           != NGX_DONE)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters: refresh token reused, the family's access "
                      "tokens could not be revoked");
        return ngx_http_gonsters_refresh_family_revoked(r,
                                         NGX_HTTP_GONSTERS_BACKEND_ERROR, ctx);
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_gonsters_refresh_family_revoked(ngx_http_request_t *r,
    ngx_http_gonsters_backend_status_e status, void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    char  *id;

    if (status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters: refresh token reused, revoking the family's "
                      "access tokens failed (%s); they expire by themselves",
                      status == NGX_HTTP_GONSTERS_BACKEND_TIMEOUT
                      ? "timeout" : "unavailable");
    }

    /* the user: from the token (verified); name and role from the row */
    id = ngx_http_gonsters_users_dup(r, ctx->old.sub.data, ctx->old.sub.len);
    if (id == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->found = 1;
    ctx->user[GN_COL_ID].data = (u_char *) id;

    return ngx_http_gonsters_users_record(r, ctx, "REFRESH_REUSE",
               NGX_HTTP_UNAUTHORIZED,
               "{\"reason\":\"rotated refresh token presented again\"}",
               ngx_http_gonsters_refresh_reuse_done);
}


static ngx_int_t
ngx_http_gonsters_refresh_rotated(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    const char  *outcome;

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        return ngx_http_gonsters_users_backend(r, NGX_HTTP_GONSTERS_POSTGRES,
                                               res->status);
    }

    if (res->nresults < 2 || PQntuples(res->results[0]) != 1) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    outcome = PQgetvalue(res->results[0], 0, 0);

    if (ngx_strcmp(outcome, "ok") == 0) {
        return ngx_http_gonsters_refresh_ok(r, ctx, res->results[1]);
    }

    if (ngx_strcmp(outcome, "reuse") == 0) {
        return ngx_http_gonsters_refresh_reuse(r, ctx);
    }

    if (ngx_strcmp(outcome, "expired") == 0) {
        return ngx_http_gonsters_refresh_invalid(r,
                                                 "Refresh token has expired");
    }

    if (ngx_strcmp(outcome, "revoked") == 0) {
        return ngx_http_gonsters_refresh_invalid(r,
                                             "Refresh token has been revoked");
    }

    if (ngx_strcmp(outcome, "inactive") == 0) {
        return ngx_http_gonsters_refresh_invalid(r,
                                                 "User account is inactive");
    }

    return ngx_http_gonsters_refresh_invalid(r, "Invalid refresh token");
}


static ngx_int_t
ngx_http_gonsters_refresh_reuse_done(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    ngx_http_gonsters_users_unrecorded(r, res, "refresh reuse not recorded");

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "gonsters: refresh token reused, family revoked");

    return ngx_http_gonsters_refresh_invalid(r,
               "Refresh token reuse detected; the session has been revoked");
}
