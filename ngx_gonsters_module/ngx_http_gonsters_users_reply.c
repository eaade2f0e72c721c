/*
 * The answers of the users endpoints: the user row (the seed's user
 * object), the user and token answers, backend failures, and the auth
 * module's 401/403 answers given from a users handler.
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_users.h"


char *
ngx_http_gonsters_users_dup(ngx_http_request_t *r, u_char *s, size_t len)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, len + 1);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, s, len);
    p[len] = '\0';

    return (char *) p;
}

char *
ngx_http_gonsters_users_dup_or_null(ngx_http_request_t *r, ngx_str_t *s)
{
    if (s->len == 0) {
        return NULL;
    }

    return ngx_http_gonsters_users_dup(r, s->data, s->len);
}

/* a decimal parameter for PostgreSQL, in r->pool */
char *
ngx_http_gonsters_users_number(ngx_http_request_t *r, int64_t n)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN + 1);
    if (p == NULL) {
        return NULL;
    }

    *ngx_sprintf(p, "%L", n) = '\0';

    return (char *) p;
}


/* a string of a PGresult (NULL: empty, data NULL) into r->pool */
ngx_int_t
ngx_http_gonsters_users_copy(ngx_http_request_t *r, PGresult *res, int row,
    int col, ngx_str_t *out)
{
    if (PQgetisnull(res, row, col)) {
        out->len = 0;
        out->data = NULL;
        return NGX_OK;
    }

    return ngx_http_gonsters_pg_copy(r->pool, res, row, col, out);
}


ngx_int_t
ngx_http_gonsters_users_row(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx, PGresult *res, int ncols)
{
    int  i;

    if (PQntuples(res) < 1 || PQnfields(res) < ncols) {
        ctx->found = 0;
        return NGX_OK;
    }

    for (i = 0; i < ncols; i++) {
        if (ngx_http_gonsters_users_copy(r, res, 0, i, &ctx->user[i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    ctx->found = 1;
    ctx->active = ctx->user[GN_COL_ACTIVE].len
                  && ctx->user[GN_COL_ACTIVE].data[0] == 't';

    return NGX_OK;
}


static cJSON *
ngx_http_gonsters_str_or_null(ngx_str_t *s)
{
    return s->data ? cJSON_CreateString((char *) s->data) : cJSON_CreateNull();
}


/* the seed's user object */
static cJSON *
ngx_http_gonsters_users_object(ngx_http_gonsters_users_ctx_t *ctx)
{
    cJSON  *u, *perms;

    u = cJSON_CreateObject();
    if (u == NULL) {
        return NULL;
    }

    perms = ctx->user[GN_COL_PERMISSIONS].data
            ? cJSON_Parse((char *) ctx->user[GN_COL_PERMISSIONS].data)
            : NULL;
    if (perms == NULL) {
        perms = cJSON_CreateArray();
    }

    cJSON_AddItemToObject(u, "created_at",
                          ngx_http_gonsters_str_or_null(
                              &ctx->user[GN_COL_CREATED]));
    cJSON_AddItemToObject(u, "department",
                          ngx_http_gonsters_str_or_null(
                              &ctx->user[GN_COL_DEPARTMENT]));
    cJSON_AddItemToObject(u, "email",
                          ngx_http_gonsters_str_or_null(
                              &ctx->user[GN_COL_EMAIL]));
    cJSON_AddItemToObject(u, "factory_id",
                          ngx_http_gonsters_str_or_null(
                              &ctx->user[GN_COL_FACTORY]));
    cJSON_AddItemToObject(u, "id",
                          ngx_http_gonsters_str_or_null(
                              &ctx->user[GN_COL_ID]));
    cJSON_AddBoolToObject(u, "is_active", ctx->active);
    cJSON_AddItemToObject(u, "last_login",
                          ngx_http_gonsters_str_or_null(
                              &ctx->user[GN_COL_LAST_LOGIN]));
    cJSON_AddItemToObject(u, "permissions", perms);
    cJSON_AddItemToObject(u, "role",
                          ngx_http_gonsters_str_or_null(
                              &ctx->user[GN_COL_ROLE]));
    cJSON_AddItemToObject(u, "username",
                          ngx_http_gonsters_str_or_null(
                              &ctx->user[GN_COL_USERNAME]));

    return u;
}


ngx_int_t
ngx_http_gonsters_users_user_reply(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx, ngx_uint_t status,
    const char *message)
{
    cJSON  *root, *u;

    root = cJSON_CreateObject();
    u = ngx_http_gonsters_users_object(ctx);

    if (root == NULL || u == NULL
        || cJSON_AddStringToObject(root, "status", "success") == NULL
        || (message
            && cJSON_AddStringToObject(root, "message", message) == NULL)
        || !cJSON_AddItemToObject(root, "user", u))
    {
        cJSON_Delete(u);
        cJSON_Delete(root);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_send_cjson(r, status, root);
}


/* the seed's login answer, also the refresh answer */
ngx_int_t
ngx_http_gonsters_users_tokens_reply(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx)
{
    cJSON                                *root, *u;
    char                                 *access, *refresh;
    ngx_http_gonsters_users_main_conf_t  *umcf;

    umcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_users_module);

    access = ngx_http_gonsters_users_dup(r, ctx->access.data, ctx->access.len);
    refresh = ngx_http_gonsters_users_dup(r, ctx->refresh.data,
                                          ctx->refresh.len);
    if (access == NULL || refresh == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    root = cJSON_CreateObject();
    if (root == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    u = ngx_http_gonsters_users_object(ctx);

    if (cJSON_AddStringToObject(root, "access_token", access) == NULL
        || cJSON_AddNumberToObject(root, "expires_in",
                                   (double) umcf->access_ttl) == NULL
        || cJSON_AddStringToObject(root, "refresh_token", refresh) == NULL
        || cJSON_AddStringToObject(root, "status", "success") == NULL
        || cJSON_AddStringToObject(root, "token_type", "Bearer") == NULL
        || u == NULL
        || !cJSON_AddItemToObject(root, "user", u))
    {
        cJSON_Delete(u);
        cJSON_Delete(root);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_send_cjson(r, NGX_HTTP_OK, root);
}

ngx_int_t
ngx_http_gonsters_users_backend(ngx_http_request_t *r,
    ngx_http_gonsters_backend_e backend,
    ngx_http_gonsters_backend_status_e status)
{
    if (status == NGX_HTTP_GONSTERS_BACKEND_ERROR) {
        return ngx_http_gonsters_send_error(r,
                                            NGX_HTTP_INTERNAL_SERVER_ERROR,
                                            "Internal server error");
    }

    return ngx_http_gonsters_send_unavailable(r, backend, status);
}


/*
 * The auth module's 401/403 answers finalize the request themselves and
 * return NGX_DONE, and our caller finalizes with NGX_DONE once more (the
 * body handler, to drop the body's reference; the content phase): so a
 * reference is taken before the call and kept only when the answer was
 * sent.
 */
static ngx_int_t
ngx_http_gonsters_users_auth_rc(ngx_http_request_t *r, ngx_int_t rc)
{
    if (rc != NGX_DONE) {
        r->main->count--;
    }

    return rc;
}


ngx_int_t
ngx_http_gonsters_users_reject(ngx_http_request_t *r, ngx_uint_t reason,
    const char *description)
{
    r->main->count++;

    return ngx_http_gonsters_users_auth_rc(r,
               ngx_http_gonsters_auth_reject(r, reason, description));
}


ngx_int_t
ngx_http_gonsters_users_forbid(ngx_http_request_t *r, ngx_str_t *permission)
{
    r->main->count++;

    return ngx_http_gonsters_users_auth_rc(r,
               ngx_http_gonsters_auth_forbid(r, permission));
}


/*
 * The verified claims of a handler without a body (me, logout): NGX_OK with
 * *claims set, or the answer.
 */
ngx_int_t
ngx_http_gonsters_users_claims(ngx_http_request_t *r,
    ngx_http_gonsters_auth_claims_t **claims)
{
    ngx_int_t  rc;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    *claims = ngx_http_gonsters_auth_get_claims(r);

    if (*claims == NULL) {
        /* the location lacks "gonsters_auth jwt" (refused by nginx -t) */
        return ngx_http_gonsters_users_reject(r,
                   NGX_HTTP_GONSTERS_AUTH_NO_CREDENTIALS, NULL);
    }

    return NGX_OK;
}
