/*
 * $gonsters_user_id, $gonsters_username, $gonsters_email, $gonsters_role,
 * $gonsters_factory_id, $gonsters_department, $gonsters_jti and
 * $gonsters_permissions (comma-separated): the verified claims of the main
 * request, for logs and for headers sent upstream.  Empty when the request
 * was not authenticated, so that "proxy_set_header X-User-Id
 * $gonsters_user_id" never passes on what a client sent.
 */


#include "ngx_http_gonsters_auth.h"


static ngx_int_t ngx_http_gonsters_auth_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_gonsters_auth_permissions_variable(
    ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data);
static ngx_http_gonsters_auth_claims_t *ngx_http_gonsters_auth_variable_claims(
    ngx_http_request_t *r);


static ngx_http_variable_t  ngx_http_gonsters_auth_vars[] = {

    { ngx_string("gonsters_user_id"), NULL, ngx_http_gonsters_auth_variable,
      offsetof(ngx_http_gonsters_auth_claims_t, sub),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gonsters_username"), NULL, ngx_http_gonsters_auth_variable,
      offsetof(ngx_http_gonsters_auth_claims_t, username),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gonsters_email"), NULL, ngx_http_gonsters_auth_variable,
      offsetof(ngx_http_gonsters_auth_claims_t, email),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gonsters_role"), NULL, ngx_http_gonsters_auth_variable,
      offsetof(ngx_http_gonsters_auth_claims_t, role),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gonsters_factory_id"), NULL,
      ngx_http_gonsters_auth_variable,
      offsetof(ngx_http_gonsters_auth_claims_t, factory_id),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gonsters_department"), NULL,
      ngx_http_gonsters_auth_variable,
      offsetof(ngx_http_gonsters_auth_claims_t, department),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gonsters_jti"), NULL, ngx_http_gonsters_auth_variable,
      offsetof(ngx_http_gonsters_auth_claims_t, jti),
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("gonsters_permissions"), NULL,
      ngx_http_gonsters_auth_permissions_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_http_gonsters_auth_claims_t *
ngx_http_gonsters_auth_get_claims(ngx_http_request_t *r)
{
    ngx_http_gonsters_auth_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_gonsters_auth_module);

    return (ctx != NULL && ctx->authenticated) ? &ctx->claims : NULL;
}


/*
 * The claims for a variable: after the access phase those it accepted;
 * before it (limit_req keys, in the preaccess phase) those of a token that
 * verifies, checked here on a location with "gonsters_auth jwt".
 */

static ngx_http_gonsters_auth_claims_t *
ngx_http_gonsters_auth_variable_claims(ngx_http_request_t *r)
{
    ngx_http_gonsters_auth_ctx_t       *ctx;
    ngx_http_gonsters_auth_loc_conf_t  *alcf;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_gonsters_auth_module);

    if (ctx == NULL && r == r->main) {
        alcf = ngx_http_get_module_loc_conf(r, ngx_http_gonsters_auth_module);

        if (alcf->enabled) {
            ctx = ngx_http_gonsters_auth_check(r);
        }
    }

    if (ctx == NULL || ctx->verdict != NGX_OK) {
        return NULL;
    }

    return &ctx->claims;
}


/* variables: empty unless the request was authenticated */

static ngx_int_t
ngx_http_gonsters_auth_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t                        *s;
    ngx_http_gonsters_auth_claims_t  *claims;

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->len = 0;
    v->data = (u_char *) "";

    claims = ngx_http_gonsters_auth_variable_claims(r);
    if (claims == NULL) {
        return NGX_OK;
    }

    s = (ngx_str_t *) ((u_char *) claims + data);

    if (s->len) {
        v->len = s->len;
        v->data = s->data;
    }

    return NGX_OK;
}


/* the permissions separated by commas */

static ngx_int_t
ngx_http_gonsters_auth_permissions_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                           *p, *end;
    ngx_http_gonsters_auth_claims_t  *claims;

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->len = 0;
    v->data = (u_char *) "";

    claims = ngx_http_gonsters_auth_variable_claims(r);
    if (claims == NULL || claims->permissions.len == 0) {
        return NGX_OK;
    }

    v->data = ngx_pnalloc(r->pool, claims->permissions.len);
    if (v->data == NULL) {
        return NGX_ERROR;
    }

    v->len = claims->permissions.len;
    ngx_memcpy(v->data, claims->permissions.data, v->len);

    for (p = v->data, end = p + v->len; p < end; p++) {
        if (*p == '\0') {
            *p = ',';
        }
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_gonsters_auth_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_gonsters_auth_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}
