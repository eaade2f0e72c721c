/*
 * Minting the tokens of a session: the access token (the user's claims and
 * permissions) and the refresh token of ctx->family, both signed with the
 * issuing key (ngx_http_gonsters_auth_issue.c).
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_users.h"


static ngx_int_t
ngx_http_gonsters_users_add_common(cJSON *c, const char *sub, u_char *jti,
    u_char *fam, const char *type, time_t now, time_t exp)
{
    char  id[NGX_HTTP_GONSTERS_ID_LEN + 1], f[NGX_HTTP_GONSTERS_ID_LEN + 1];

    ngx_memcpy(id, jti, NGX_HTTP_GONSTERS_ID_LEN);
    id[NGX_HTTP_GONSTERS_ID_LEN] = '\0';
    ngx_memcpy(f, fam, NGX_HTTP_GONSTERS_ID_LEN);
    f[NGX_HTTP_GONSTERS_ID_LEN] = '\0';

    if (cJSON_AddStringToObject(c, "sub", sub) == NULL
        || cJSON_AddNumberToObject(c, "iat", (double) now) == NULL
        || cJSON_AddNumberToObject(c, "exp", (double) exp) == NULL
        || cJSON_AddStringToObject(c, "jti", id) == NULL
        || cJSON_AddStringToObject(c, "fam", f) == NULL
        || cJSON_AddStringToObject(c, "type", type) == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* an empty claims object, and a new random token id into jti */
static cJSON *
ngx_http_gonsters_users_new_claims(u_char *jti)
{
    if (ngx_http_gonsters_auth_random_hex(jti, NGX_HTTP_GONSTERS_ID_LEN / 2)
        != NGX_OK)
    {
        return NULL;
    }

    return cJSON_CreateObject();
}


/* the access token of the user in ctx; NGX_DECLINED: cannot issue */
ngx_int_t
ngx_http_gonsters_users_access(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx)
{
    cJSON                                *c, *perms;
    time_t                                now;
    ngx_int_t                             rc;
    u_char                                jti[NGX_HTTP_GONSTERS_ID_LEN];
    ngx_http_gonsters_users_main_conf_t  *umcf;

    umcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_users_module);

    c = ngx_http_gonsters_users_new_claims(jti);
    if (c == NULL) {
        return NGX_ERROR;
    }

    now = ngx_time();

    perms = cJSON_Parse((char *) ctx->user[GN_COL_PERMISSIONS].data);
    if (perms == NULL) {
        perms = cJSON_CreateArray();
    }

    rc = NGX_ERROR;

    if (ngx_http_gonsters_users_add_common(c,
            (char *) ctx->user[GN_COL_ID].data, jti, ctx->family, "access",
            now, now + umcf->access_ttl) != NGX_OK
        || cJSON_AddStringToObject(c, "username",
               (char *) ctx->user[GN_COL_USERNAME].data) == NULL
        || cJSON_AddStringToObject(c, "email",
               (char *) ctx->user[GN_COL_EMAIL].data) == NULL
        || cJSON_AddStringToObject(c, "role",
               (char *) ctx->user[GN_COL_ROLE].data) == NULL
        || !cJSON_AddItemToObject(c, "permissions", perms))
    {
        cJSON_Delete(perms);
        goto done;
    }

    /* absent rather than null: the verifiers want strings */
    if ((ctx->user[GN_COL_FACTORY].data
         && cJSON_AddStringToObject(c, "factory_id",
                (char *) ctx->user[GN_COL_FACTORY].data) == NULL)
        || (ctx->user[GN_COL_DEPARTMENT].data
            && cJSON_AddStringToObject(c, "department",
                   (char *) ctx->user[GN_COL_DEPARTMENT].data) == NULL))
    {
        goto done;
    }

    rc = ngx_http_gonsters_auth_sign(r, c, &ctx->access);

done:

    cJSON_Delete(c);

    return rc;
}


/* a new refresh token for sub in ctx->family */
ngx_int_t
ngx_http_gonsters_users_refresh_token(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx, const char *sub)
{
    cJSON                                *c;
    time_t                                now;
    ngx_int_t                             rc;
    ngx_http_gonsters_users_main_conf_t  *umcf;

    umcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_users_module);

    c = ngx_http_gonsters_users_new_claims(ctx->refresh_jti);
    if (c == NULL) {
        return NGX_ERROR;
    }

    now = ngx_time();
    ctx->refresh_exp = now + umcf->refresh_ttl;

    rc = ngx_http_gonsters_users_add_common(c, sub, ctx->refresh_jti,
                                            ctx->family, "refresh", now,
                                            ctx->refresh_exp);
    if (rc == NGX_OK) {
        rc = ngx_http_gonsters_auth_sign(r, c, &ctx->refresh);
    }

    cJSON_Delete(c);

    if (rc == NGX_OK) {
        ngx_http_gonsters_auth_token_hash(&ctx->refresh, ctx->refresh_hash);
    }

    return rc;
}
