/*
 * ngx_http_gonsters_auth_module: JWT authentication and permissions in the
 * access phase.  Directives, configuration and the access handler; the
 * token's way in and the 401/403 answers are in
 * ngx_http_gonsters_auth_request.c, the variables in
 * ngx_http_gonsters_auth_variables.c.
 */


#include "ngx_http_gonsters_auth.h"
#include "ngx_http_gonsters_revoke.h"


static ngx_int_t ngx_http_gonsters_auth_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_gonsters_auth_claims(ngx_http_request_t *r,
    ngx_http_gonsters_auth_main_conf_t *amcf, ngx_str_t *token,
    ngx_http_gonsters_auth_claims_t *claims, const char **error);
static ngx_str_t *ngx_http_gonsters_auth_missing(ngx_http_request_t *r,
    ngx_http_gonsters_auth_loc_conf_t *alcf,
    ngx_http_gonsters_auth_claims_t *claims);
static char *ngx_http_gonsters_auth_require_methods(ngx_conf_t *cf,
    ngx_command_t *cmd, ngx_http_gonsters_auth_loc_conf_t *alcf);
static ngx_int_t ngx_http_gonsters_auth_init(ngx_conf_t *cf);
static void *ngx_http_gonsters_auth_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gonsters_auth_init_main_conf(ngx_conf_t *cf,
    void *conf);
static void *ngx_http_gonsters_auth_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gonsters_auth_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_gonsters_auth_mode(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_gonsters_auth_require(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_gonsters_auth_algorithm(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_gonsters_auth_check_value(ngx_conf_t *cf, void *post,
    void *data);
static ngx_int_t ngx_http_gonsters_auth_init_process(ngx_cycle_t *cycle);
static void ngx_http_gonsters_auth_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_gonsters_auth_algorithms[] = {
    { ngx_string("HS256"), NGX_HTTP_GONSTERS_AUTH_HS256 },
    { ngx_string("RS256"), NGX_HTTP_GONSTERS_AUTH_RS256 },
    { ngx_string("ES256"), NGX_HTTP_GONSTERS_AUTH_ES256 },
    { ngx_null_string, 0 }
};

static ngx_conf_post_t  ngx_http_gonsters_auth_value_post = {
    ngx_http_gonsters_auth_check_value
};

static ngx_conf_num_bounds_t  ngx_http_gonsters_auth_cache_bounds = {
    ngx_conf_check_num_bounds, 0, 1048576
};


static ngx_command_t  ngx_http_gonsters_auth_commands[] = {

    { ngx_string("gonsters_auth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_gonsters_auth_mode,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gonsters_require_permission"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_gonsters_auth_require,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gonsters_jwt_algorithm"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_gonsters_auth_algorithm,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_auth_main_conf_t, algorithm),
      &ngx_http_gonsters_auth_algorithms },

    { ngx_string("gonsters_jwt_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_gonsters_auth_key_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gonsters_jwt_signing_key"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_gonsters_auth_signing_key_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gonsters_jwt_issuer"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_auth_main_conf_t, issuer),
      &ngx_http_gonsters_auth_value_post },

    { ngx_string("gonsters_jwt_audience"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_auth_main_conf_t, audience),
      &ngx_http_gonsters_auth_value_post },

    { ngx_string("gonsters_jwt_leeway"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_auth_main_conf_t, leeway),
      NULL },

    { ngx_string("gonsters_jwt_cookie"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_auth_main_conf_t, cookie),
      &ngx_http_gonsters_auth_value_post },

    { ngx_string("gonsters_jwt_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_auth_main_conf_t, cache_size),
      &ngx_http_gonsters_auth_cache_bounds },

    { ngx_string("gonsters_auth_realm"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_auth_main_conf_t, realm),
      &ngx_http_gonsters_auth_value_post },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gonsters_auth_module_ctx = {
    ngx_http_gonsters_auth_add_variables,     /* preconfiguration */
    ngx_http_gonsters_auth_init,              /* postconfiguration */

    ngx_http_gonsters_auth_create_main_conf,  /* create main conf */
    ngx_http_gonsters_auth_init_main_conf,    /* init main conf */

    NULL,                                     /* create server conf */
    NULL,                                     /* merge server conf */

    ngx_http_gonsters_auth_create_loc_conf,   /* create location conf */
    ngx_http_gonsters_auth_merge_loc_conf     /* merge location conf */
};


ngx_module_t  ngx_http_gonsters_auth_module = {
    NGX_MODULE_V1,
    &ngx_http_gonsters_auth_module_ctx,       /* module context */
    ngx_http_gonsters_auth_commands,          /* module directives */
    NGX_HTTP_MODULE,                          /* module type */
    NULL,                                     /* init master */
    NULL,                                     /* init module */
    ngx_http_gonsters_auth_init_process,      /* init process */
    NULL,                                     /* init thread */
    NULL,                                     /* exit thread */
    ngx_http_gonsters_auth_exit_process,      /* exit process */
    NULL,                                     /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_gonsters_auth_handler(ngx_http_request_t *r)
{
    ngx_int_t                            rc;
    ngx_str_t                           *missing;
    ngx_http_gonsters_auth_ctx_t        *ctx;
    ngx_http_gonsters_auth_loc_conf_t   *alcf;

    alcf = ngx_http_get_module_loc_conf(r, ngx_http_gonsters_auth_module);

    if (!alcf->enabled) {
        return NGX_DECLINED;
    }

    /*
     * A CORS preflight carries no credentials: it is answered here, so
     * that no content handler or upstream ever runs without a token.  The
     * CORS headers come from "add_header ... always".
     */
    if (ngx_http_gonsters_auth_preflight(r)) {
        return NGX_HTTP_NO_CONTENT;
    }

    ctx = ngx_http_gonsters_auth_check(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->verdict != NGX_OK) {
        return ngx_http_gonsters_auth_reject(r, ctx->verdict, ctx->error);
    }

    /*
     * REVOCATION CHECK (issue 4): every request, cache hit or not, a
     * lookup in this node's shared-memory set (ngx_http_gonsters_revoke.h).
     * With revocation configured a token without jti is refused (ours
     * always carry one); until the node's first load from PostgreSQL has
     * completed, 503 with Retry-After (fail closed).
     */
    rc = ngx_http_gonsters_revoke_check(r, &ctx->claims.jti,
                                        &ctx->claims.fam);

    if (rc == NGX_DECLINED) {
        if (ctx->claims.jti.len == 0) {
            return ngx_http_gonsters_auth_reject(r,
                                         NGX_HTTP_GONSTERS_AUTH_BAD_TOKEN,
                                         "token has no jti");
        }

        return ngx_http_gonsters_auth_reject(r, NGX_HTTP_GONSTERS_AUTH_REVOKED,
                                             "token revoked");
    }

    if (rc == NGX_AGAIN) {
        return ngx_http_gonsters_revoke_unavailable(r);
    }

    ctx->authenticated = 1;

    missing = ngx_http_gonsters_auth_missing(r, alcf, &ctx->claims);
    if (missing != NULL) {
        return ngx_http_gonsters_auth_forbid(r, missing);
    }

    return NGX_OK;
}


/*
 * The token of r checked once per request, without answering: by the
 * access handler, or earlier by a $gonsters_* variable (limit_req keys
 * are computed in the preaccess phase, before the access handler runs).
 */

ngx_http_gonsters_auth_ctx_t *
ngx_http_gonsters_auth_check(ngx_http_request_t *r)
{
    ngx_int_t                            rc;
    ngx_str_t                            token;
    ngx_http_gonsters_auth_ctx_t        *ctx;
    ngx_http_gonsters_auth_main_conf_t  *amcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gonsters_auth_module);
    if (ctx != NULL) {
        return ctx;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_auth_ctx_t));
    if (ctx == NULL) {
        return NULL;
    }

    amcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_auth_module);

    rc = ngx_http_gonsters_auth_token(r, amcf, &token, &ctx->error);

    if (rc == NGX_OK) {
        rc = ngx_http_gonsters_auth_claims(r, amcf, &token, &ctx->claims,
                                           &ctx->error);
        if (rc == NGX_ERROR) {
            return NULL;
        }

        rc = (rc == NGX_DECLINED) ? NGX_HTTP_GONSTERS_AUTH_BAD_TOKEN : NGX_OK;
    }

    ctx->verdict = rc;
    ngx_http_set_ctx(r, ctx, ngx_http_gonsters_auth_module);

    return ctx;
}


/* the claims of a token: from this worker's cache, or verified */

static ngx_int_t
ngx_http_gonsters_auth_claims(ngx_http_request_t *r,
    ngx_http_gonsters_auth_main_conf_t *amcf, ngx_str_t *token,
    ngx_http_gonsters_auth_claims_t *claims, const char **error)
{
    u_char                           *p;
    ngx_int_t                         rc;
    ngx_http_gonsters_auth_claims_t  *cached;

    cached = ngx_http_gonsters_auth_cache_get(token, ngx_time());

    if (cached != NULL) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "gonsters auth: token cache hit");

        /* a copy: the entry may be replaced while the request runs */
        p = ngx_pnalloc(r->pool, ngx_http_gonsters_auth_claims_size(cached));
        if (p == NULL) {
            return NGX_ERROR;
        }

        (void) ngx_http_gonsters_auth_claims_copy(claims, cached, p);

        return NGX_OK;
    }

    rc = ngx_http_gonsters_auth_verify(r, amcf, token, claims, error);

    if (rc == NGX_OK) {
        ngx_http_gonsters_auth_cache_put(token, claims,
                                         claims->exp + amcf->leeway);
    }

    return rc;
}


/* the first required permission the claims do not grant, or NULL */

static ngx_str_t *
ngx_http_gonsters_auth_missing(ngx_http_request_t *r,
    ngx_http_gonsters_auth_loc_conf_t *alcf,
    ngx_http_gonsters_auth_claims_t *claims)
{
    ngx_str_t                             *perm;
    ngx_uint_t                             i;
    ngx_array_t                           *required;
    ngx_http_gonsters_auth_method_rule_t  *rule;

    required = alcf->permissions;

    if (alcf->method_rules) {
        rule = alcf->method_rules->elts;

        for (i = 0; i < alcf->method_rules->nelts; i++) {
            if (rule[i].methods & r->method) {
                required = rule[i].permissions;
                break;
            }
        }
    }

    if (required == NULL) {
        return NULL;
    }

    perm = required->elts;

    for (i = 0; i < required->nelts; i++) {
        if (!ngx_http_gonsters_auth_has_permission(claims, &perm[i])) {
            return &perm[i];
        }
    }

    return NULL;
}


ngx_uint_t
ngx_http_gonsters_auth_has_permission(ngx_http_gonsters_auth_claims_t *claims,
    ngx_str_t *permission)
{
    gn_jwt_list_t  list;

    if (!claims->permissions_valid) {
        return 0;
    }

    list.data = (const char *) claims->permissions.data;
    list.len = claims->permissions.len;
    list.count = claims->npermissions;

    return gn_jwt_list_contains(&list, (const char *) permission->data,
                                permission->len);
}


static ngx_int_t
ngx_http_gonsters_auth_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gonsters_auth_handler;

    return NGX_OK;
}


static void *
ngx_http_gonsters_auth_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gonsters_auth_main_conf_t  *amcf;

    amcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gonsters_auth_main_conf_t));
    if (amcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     amcf->keys = NULL;
     *     amcf->issuer = { 0, NULL };
     *     amcf->audience = { 0, NULL };
     *     amcf->cookie = { 0, NULL };
     *     amcf->realm = { 0, NULL };
     */

    amcf->algorithm = NGX_CONF_UNSET_UINT;
    amcf->leeway = NGX_CONF_UNSET;
    amcf->cache_size = NGX_CONF_UNSET_UINT;

    return amcf;
}


static char *
ngx_http_gonsters_auth_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gonsters_auth_main_conf_t  *amcf = conf;

    ngx_conf_init_uint_value(amcf->algorithm, NGX_HTTP_GONSTERS_AUTH_HS256);
    ngx_conf_init_value(amcf->leeway, 30);
    ngx_conf_init_uint_value(amcf->cache_size, 1024);

    if (amcf->issuer.data == NULL) {
        ngx_str_set(&amcf->issuer, "gonsters-backend-api");
    }

    if (amcf->audience.data == NULL) {
        ngx_str_set(&amcf->audience, "gonsters-dashboard");
    }

    if (amcf->realm.data == NULL) {
        ngx_str_set(&amcf->realm, "gonsters");
    }

    if (ngx_http_gonsters_auth_load_keys(cf, amcf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    return ngx_http_gonsters_auth_build_jwks(cf, amcf);
}


static void *
ngx_http_gonsters_auth_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gonsters_auth_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gonsters_auth_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->mode = NGX_HTTP_GONSTERS_AUTH_UNSET;
     *     conf->enabled = 0;
     */

    conf->permissions = NGX_CONF_UNSET_PTR;
    conf->method_rules = NGX_CONF_UNSET_PTR;

    return conf;
}


static char *
ngx_http_gonsters_auth_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_gonsters_auth_loc_conf_t  *prev = parent;
    ngx_http_gonsters_auth_loc_conf_t  *conf = child;

    ngx_http_gonsters_auth_main_conf_t  *amcf;

    if (conf->mode == NGX_HTTP_GONSTERS_AUTH_UNSET) {
        conf->mode = prev->mode;
    }

    /* the default list and the per-method rules are inherited together:
     * a location that sets either replaces both */
    if (conf->permissions == NGX_CONF_UNSET_PTR
        && conf->method_rules == NGX_CONF_UNSET_PTR)
    {
        conf->permissions = prev->permissions;
        conf->method_rules = prev->method_rules;
    }

    ngx_conf_merge_ptr_value(conf->permissions, NULL, NULL);
    ngx_conf_merge_ptr_value(conf->method_rules, NULL, NULL);

    /*
     * Fail closed: required permissions without any "gonsters_auth" mean
     * "gonsters_auth jwt"; only an explicit "gonsters_auth off" turns the
     * check off.
     */
    conf->enabled = conf->mode == NGX_HTTP_GONSTERS_AUTH_JWT
                    || (conf->mode == NGX_HTTP_GONSTERS_AUTH_UNSET
                        && ((conf->permissions != NULL
                             && conf->permissions->nelts)
                            || conf->method_rules != NULL));

    amcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_gonsters_auth_module);

    if (conf->enabled && amcf->keys == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"gonsters_auth jwt\" (or "
                           "\"gonsters_require_permission\") needs at least "
                           "one \"gonsters_jwt_key\" in the http block");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_gonsters_auth_mode(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gonsters_auth_loc_conf_t  *alcf = conf;

    ngx_str_t  *value;

    if (alcf->mode != NGX_HTTP_GONSTERS_AUTH_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "jwt") == 0) {
        alcf->mode = NGX_HTTP_GONSTERS_AUTH_JWT;

    } else if (ngx_strcmp(value[1].data, "off") == 0) {
        alcf->mode = NGX_HTTP_GONSTERS_AUTH_OFF;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive, "
                           "it must be \"jwt\" or \"off\"",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* printable ASCII without '"', '\\' and ',' (it goes into scope="...") */

static ngx_uint_t
ngx_http_gonsters_auth_valid_permission(ngx_str_t *s)
{
    size_t  i;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] <= 0x20 || s->data[i] >= 0x7f || s->data[i] == '"'
            || s->data[i] == '\\' || s->data[i] == ',')
        {
            return 0;
        }
    }

    return s->len > 0;
}


static char *
ngx_http_gonsters_auth_require(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gonsters_auth_loc_conf_t  *alcf = conf;

    ngx_str_t   *value, *perm;
    ngx_uint_t   i;

    value = cf->args->elts;

    if (value[1].len >= 8 && ngx_strncmp(value[1].data, "methods=", 8) == 0)
    {
        return ngx_http_gonsters_auth_require_methods(cf, cmd, alcf);
    }

    if (alcf->permissions != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        alcf->permissions = NULL;
        return NGX_CONF_OK;
    }

    alcf->permissions = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                         sizeof(ngx_str_t));
    if (alcf->permissions == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {

        if (!ngx_http_gonsters_auth_valid_permission(&value[i])) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid permission \"%V\" in \"%V\"",
                               &value[i], &cmd->name);
            return NGX_CONF_ERROR;
        }

        perm = ngx_array_push(alcf->permissions);
        if (perm == NULL) {
            return NGX_CONF_ERROR;
        }

        *perm = value[i];
    }

    return NGX_CONF_OK;
}


static ngx_conf_bitmask_t  ngx_http_gonsters_auth_methods[] = {
    { ngx_string("GET"), NGX_HTTP_GET },
    { ngx_string("HEAD"), NGX_HTTP_HEAD },
    { ngx_string("POST"), NGX_HTTP_POST },
    { ngx_string("PUT"), NGX_HTTP_PUT },
    { ngx_string("PATCH"), NGX_HTTP_PATCH },
    { ngx_string("DELETE"), NGX_HTTP_DELETE },
    { ngx_string("OPTIONS"), NGX_HTTP_OPTIONS },
    { ngx_null_string, 0 }
};


/*
 * "gonsters_require_permission methods=GET,HEAD PERM ...;": repeatable,
 * each method in one rule only; requests with a method no rule names need
 * the location's plain list (if any).
 */
static char *
ngx_http_gonsters_auth_require_methods(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_http_gonsters_auth_loc_conf_t *alcf)
{
    u_char                                *p, *end, *comma;
    ngx_str_t                             *value, *perm, m;
    ngx_uint_t                             i, all;
    ngx_conf_bitmask_t                    *b;
    ngx_http_gonsters_auth_method_rule_t  *rule, *rules;

    value = cf->args->elts;

    if (cf->args->nelts < 3) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" with \"%V\" needs at least one "
                           "permission", &cmd->name, &value[1]);
        return NGX_CONF_ERROR;
    }

    if (alcf->method_rules == NGX_CONF_UNSET_PTR) {
        alcf->method_rules = ngx_array_create(cf->pool, 2,
                                 sizeof(ngx_http_gonsters_auth_method_rule_t));
        if (alcf->method_rules == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    all = 0;
    rules = alcf->method_rules->elts;
    for (i = 0; i < alcf->method_rules->nelts; i++) {
        all |= rules[i].methods;
    }

    rule = ngx_array_push(alcf->method_rules);
    if (rule == NULL) {
        return NGX_CONF_ERROR;
    }

    rule->methods = 0;

    p = value[1].data + 8;
    end = value[1].data + value[1].len;

    for ( ;; ) {
        comma = ngx_strlchr(p, end, ',');
        m.data = p;
        m.len = (comma ? comma : end) - p;

        for (b = ngx_http_gonsters_auth_methods; b->name.len; b++) {
            if (b->name.len == m.len
                && ngx_strncmp(b->name.data, m.data, m.len) == 0)
            {
                break;
            }
        }

        if (b->name.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid method \"%V\" in \"%V\", it must "
                               "be one of GET, HEAD, POST, PUT, PATCH, "
                               "DELETE, OPTIONS", &m, &cmd->name);
            return NGX_CONF_ERROR;
        }

        if ((all | rule->methods) & b->mask) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "method \"%V\" is given twice in \"%V\"",
                               &m, &cmd->name);
            return NGX_CONF_ERROR;
        }

        rule->methods |= b->mask;

        if (comma == NULL) {
            break;
        }

        p = comma + 1;
    }

    rule->permissions = ngx_array_create(cf->pool, cf->args->nelts - 2,
                                         sizeof(ngx_str_t));
    if (rule->permissions == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {

        if (!ngx_http_gonsters_auth_valid_permission(&value[i])) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid permission \"%V\" in \"%V\"",
                               &value[i], &cmd->name);
            return NGX_CONF_ERROR;
        }

        perm = ngx_array_push(rule->permissions);
        if (perm == NULL) {
            return NGX_CONF_ERROR;
        }

        *perm = value[i];
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_gonsters_auth_algorithm(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_str_t        *value;
    ngx_conf_enum_t  *e;

    value = cf->args->elts;

    for (e = cmd->post; e->name.len; e++) {
        if (e->name.len == value[1].len
            && ngx_strcmp(e->name.data, value[1].data) == 0)
        {
            return ngx_conf_set_enum_slot(cf, cmd, conf);
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\" directive, "
                       "it must be HS256, RS256 or ES256",
                       &value[1], &cmd->name);

    return NGX_CONF_ERROR;
}


/* realm, issuer, audience, cookie name: they end up in quoted strings */

static char *
ngx_http_gonsters_auth_check_value(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *s = data;

    size_t  i;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] < 0x20 || s->data[i] >= 0x7f || s->data[i] == '"'
            || s->data[i] == '\\')
        {
            return "must be printable ASCII without quotes or backslashes";
        }
    }

    return s->len ? NGX_CONF_OK : "must not be empty";
}


static ngx_int_t
ngx_http_gonsters_auth_init_process(ngx_cycle_t *cycle)
{
    ngx_http_gonsters_auth_main_conf_t  *amcf;

    amcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_gonsters_auth_module);

    if (amcf == NULL || amcf->keys == NULL) {
        return NGX_OK;
    }

    if (ngx_http_gonsters_auth_cache_init(amcf->cache_size) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, cycle->log, 0,
                      "gonsters auth: no memory for the token cache, "
                      "every token is verified");
    }

    return NGX_OK;
}


static void
ngx_http_gonsters_auth_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_gonsters_auth_cache_done();
}
