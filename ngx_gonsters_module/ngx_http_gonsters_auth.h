/*
 * Gonsters: JWT authentication and permission checks in the access phase
 * (ngx_http_gonsters_auth_module), usable in front of any location,
 * proxy_pass to other services included.
 *
 *   ngx_http_gonsters_auth.c           directives, configuration, the
 *                                      access handler
 *   ngx_http_gonsters_auth_request.c   the token from the request (header,
 *                                      cookie), CORS preflight, 401 and 403
 *   ngx_http_gonsters_auth_variables.c $gonsters_user_id ... variables
 *   ngx_http_gonsters_auth_keys.c      gonsters_jwt_key,
 *                                      gonsters_jwt_signing_key: keys read
 *                                      and checked at configuration time
 *   ngx_http_gonsters_auth_jwks.c      the JWKS document of the public keys
 *                                      ("gonsters_endpoint jwks")
 *   ngx_http_gonsters_auth_verify.c    one token: pre-parse (common/gn_jwt),
 *                                      pinned algorithm, signature (also
 *                                      of refresh tokens), claims
 *   ngx_http_gonsters_auth_cache.c     per-worker cache of verified tokens
 *
 * Request state lives in the request context only (ARCHITECTURE rule 5);
 * the configuration is never written at request time.
 */


#ifndef _NGX_HTTP_GONSTERS_AUTH_H_INCLUDED_
#define _NGX_HTTP_GONSTERS_AUTH_H_INCLUDED_


#include "ngx_http_gonsters_module.h"
#include "gn_jwt.h"


/* the algorithms "gonsters_jwt_algorithm" accepts */
typedef enum {
    NGX_HTTP_GONSTERS_AUTH_HS256 = 0,
    NGX_HTTP_GONSTERS_AUTH_RS256,
    NGX_HTTP_GONSTERS_AUTH_ES256
} ngx_http_gonsters_auth_alg_e;


/* "gonsters_auth" */
typedef enum {
    NGX_HTTP_GONSTERS_AUTH_UNSET = 0,
    NGX_HTTP_GONSTERS_AUTH_OFF,
    NGX_HTTP_GONSTERS_AUTH_JWT
} ngx_http_gonsters_auth_mode_e;


/* why a request is refused with 401 (NGX_OK is 0: none of these) */
typedef enum {
    NGX_HTTP_GONSTERS_AUTH_NO_CREDENTIALS = 1,
    NGX_HTTP_GONSTERS_AUTH_OTHER_SCHEME,
    NGX_HTTP_GONSTERS_AUTH_BAD_REQUEST,
    NGX_HTTP_GONSTERS_AUTH_BAD_TOKEN,
    NGX_HTTP_GONSTERS_AUTH_REVOKED
} ngx_http_gonsters_auth_reason_e;


typedef struct {
    ngx_str_t                      kid;         /* empty: no kid */
    ngx_str_t                      file;        /* full path, for messages */
    ngx_str_t                      key;         /* HS secret or PEM text */
    ngx_str_t                      conf_file;   /* where the directive is */
    ngx_uint_t                     conf_line;
    struct evp_pkey_st            *pkey;        /* RS256/ES256: parsed key */
} ngx_http_gonsters_auth_key_t;


typedef struct {
    ngx_uint_t                     algorithm;   /* ..._auth_alg_e */
    ngx_array_t                   *keys;        /* ..._auth_key_t */
    /* "gonsters_jwt_signing_key": the private key for RS256/ES256 issuing,
     * NULL without it; its PEM text is wiped as soon as it is parsed */
    ngx_http_gonsters_auth_key_t  *signing;
    ngx_str_t                      jwks;        /* the JWKS document */
    ngx_str_t                      issuer;
    ngx_str_t                      audience;
    ngx_str_t                      cookie;
    ngx_str_t                      realm;
    time_t                         leeway;
    ngx_uint_t                     cache_size;
} ngx_http_gonsters_auth_main_conf_t;


/* "gonsters_require_permission methods=M,... PERM ...": the permissions
 * of requests with one of these methods */
typedef struct {
    ngx_uint_t                     methods;     /* NGX_HTTP_GET | ... */
    ngx_array_t                   *permissions; /* ngx_str_t, all required */
} ngx_http_gonsters_auth_method_rule_t;


typedef struct {
    ngx_uint_t                     mode;        /* as written, UNSET kept */
    ngx_array_t                   *permissions; /* ngx_str_t, all required */
    /* ngx_http_gonsters_auth_method_rule_t; a request whose method no rule
     * names needs "permissions" */
    ngx_array_t                   *method_rules;
    ngx_flag_t                     enabled;     /* the merged outcome */
} ngx_http_gonsters_auth_loc_conf_t;


/*
 * The verified claims of a request.  Strings are empty when the claim was
 * absent; permissions are separated by '\0'.
 */
typedef struct {
    ngx_str_t                      sub;
    ngx_str_t                      username;
    ngx_str_t                      email;
    ngx_str_t                      role;
    ngx_str_t                      factory_id;
    ngx_str_t                      department;
    ngx_str_t                      jti;
    ngx_str_t                      fam;         /* refresh family */
    ngx_str_t                      permissions;
    ngx_uint_t                     npermissions;
    time_t                         exp;
    time_t                         iat;         /* 0 when absent */
    unsigned                       permissions_valid:1;
} ngx_http_gonsters_auth_claims_t;


typedef struct {
    ngx_http_gonsters_auth_claims_t  claims;
    /* the token's check: NGX_OK, or the NGX_HTTP_GONSTERS_AUTH_* reason */
    ngx_int_t                        verdict;
    const char                      *error;
    /* the access phase passed: revocation and permissions checked too */
    unsigned                         authenticated:1;
} ngx_http_gonsters_auth_ctx_t;


/*
 * The verified claims of the (main) request, or NULL when the request was
 * not authenticated by gonsters_auth.  Content handlers (auth/me, logout,
 * audit) read the user from here.
 */
ngx_http_gonsters_auth_claims_t *ngx_http_gonsters_auth_get_claims(
    ngx_http_request_t *r);

/* 1 if the claims grant the permission */
ngx_uint_t ngx_http_gonsters_auth_has_permission(
    ngx_http_gonsters_auth_claims_t *claims, ngx_str_t *permission);


/* ngx_http_gonsters_auth_request.c */
ngx_http_gonsters_auth_ctx_t *ngx_http_gonsters_auth_check(
    ngx_http_request_t *r);
ngx_int_t ngx_http_gonsters_auth_token(ngx_http_request_t *r,
    ngx_http_gonsters_auth_main_conf_t *amcf, ngx_str_t *token,
    const char **error);
ngx_uint_t ngx_http_gonsters_auth_preflight(ngx_http_request_t *r);
/* a 401 for a reason (the description goes into error_description) */
ngx_int_t ngx_http_gonsters_auth_reject(ngx_http_request_t *r,
    ngx_uint_t reason, const char *description);
/* a 403 naming the permission */
ngx_int_t ngx_http_gonsters_auth_forbid(ngx_http_request_t *r,
    ngx_str_t *permission);

/* ngx_http_gonsters_auth_variables.c */
ngx_int_t ngx_http_gonsters_auth_add_variables(ngx_conf_t *cf);

/* ngx_http_gonsters_auth_keys.c */
char *ngx_http_gonsters_auth_key_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_gonsters_auth_load_keys(ngx_conf_t *cf,
    ngx_http_gonsters_auth_main_conf_t *amcf);
const char *ngx_http_gonsters_auth_alg_name(ngx_uint_t alg);
ngx_http_gonsters_auth_key_t *ngx_http_gonsters_auth_find_key(
    ngx_http_gonsters_auth_main_conf_t *amcf, gn_jwt_str_t *kid);
char *ngx_http_gonsters_auth_signing_key_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

/* ngx_http_gonsters_auth_jwks.c */
char *ngx_http_gonsters_auth_build_jwks(ngx_conf_t *cf,
    ngx_http_gonsters_auth_main_conf_t *amcf);
ngx_int_t ngx_http_gonsters_jwks_handler(ngx_http_request_t *r);

/* ngx_http_gonsters_auth_verify.c: NGX_OK, NGX_DECLINED with *error set
 * (the token is refused), NGX_ERROR */
ngx_int_t ngx_http_gonsters_auth_verify(ngx_http_request_t *r,
    ngx_http_gonsters_auth_main_conf_t *amcf, ngx_str_t *token,
    ngx_http_gonsters_auth_claims_t *claims, const char **error);
/* the signature of a split token whose alg is pinned to the configured one:
 * NGX_OK, NGX_DECLINED (wrong), NGX_ABORT (not canonical base64url),
 * NGX_ERROR */
ngx_int_t ngx_http_gonsters_auth_verify_signature(ngx_http_request_t *r,
    ngx_http_gonsters_auth_main_conf_t *amcf,
    ngx_http_gonsters_auth_key_t *key, gn_jwt_parts_t *parts);

/* ngx_http_gonsters_auth_cache.c: per worker */
ngx_int_t ngx_http_gonsters_auth_cache_init(ngx_uint_t size);
void ngx_http_gonsters_auth_cache_done(void);
/* the cached claims, valid until the next call into the cache */
ngx_http_gonsters_auth_claims_t *ngx_http_gonsters_auth_cache_get(
    ngx_str_t *token, time_t now);
void ngx_http_gonsters_auth_cache_put(ngx_str_t *token,
    ngx_http_gonsters_auth_claims_t *claims, time_t expires);
size_t ngx_http_gonsters_auth_claims_size(ngx_http_gonsters_auth_claims_t *c);
u_char *ngx_http_gonsters_auth_claims_copy(ngx_http_gonsters_auth_claims_t *dst,
    ngx_http_gonsters_auth_claims_t *src, u_char *p);


extern ngx_module_t  ngx_http_gonsters_auth_module;


#endif /* _NGX_HTTP_GONSTERS_AUTH_H_INCLUDED_ */
