/*
 * Gonsters: users and tokens (ngx_http_gonsters_users_module).
 *
 *   ngx_http_gonsters_users.c       POST /api/v1/auth/login, /refresh,
 *                                   /register, /logout,
 *                                   GET /api/v1/auth/me;
 *                                   directives below
 *   ngx_http_gonsters_auth_issue.c  signing (HS256 with the first
 *                                   gonsters_jwt_key), refresh token
 *                                   verification, random ids, token hashes
 *
 * Directives (http):
 *   gonsters_jwt_access_ttl T;        access token lifetime (default 15m)
 *   gonsters_jwt_refresh_ttl T;       refresh token lifetime (default 7d)
 *   gonsters_login_max_failures N;    failed logins that lock an account
 *                                     (default 5; 0: no lockout)
 *   gonsters_login_failure_window T;  failures counted within (default 15m)
 *   gonsters_login_lockout T;         how long it stays locked (default 15m)
 *   gonsters_registration open|off;   open self-registration of Operator
 *                                     accounts (default open)
 */


#ifndef _NGX_HTTP_GONSTERS_USERS_H_INCLUDED_
#define _NGX_HTTP_GONSTERS_USERS_H_INCLUDED_


#include "ngx_http_gonsters_module.h"
#include <cjson/cJSON.h>


/* 128-bit ids as 32 hex characters */
#define NGX_HTTP_GONSTERS_ID_LEN  32


typedef struct {
    time_t                        access_ttl;
    time_t                        refresh_ttl;
    ngx_uint_t                    max_failures;
    time_t                        failure_window;
    time_t                        lockout;
    ngx_uint_t                    registration;
} ngx_http_gonsters_users_main_conf_t;


/* the verified claims of a refresh token, in r->pool */
typedef struct {
    ngx_str_t                     sub;
    ngx_str_t                     jti;
    ngx_str_t                     fam;
    time_t                        exp;
} ngx_http_gonsters_refresh_claims_t;


/* ngx_http_gonsters_auth_issue.c */

/* dst gets 2 * n hex characters of RAND_bytes(); NGX_ERROR on failure */
ngx_int_t ngx_http_gonsters_auth_random_hex(u_char *dst, size_t n);

/* adds iss and aud, signs claims with the issuing key into r->pool;
 * NGX_DECLINED when no HS256 key is configured (logged) */
ngx_int_t ngx_http_gonsters_auth_sign(ngx_http_request_t *r, cJSON *claims,
    ngx_str_t *token);

/* signature (HS256, kid), iss, aud, exp with the auth module's leeway,
 * type "refresh", sub, jti, fam: NGX_OK, NGX_DECLINED (*error set),
 * NGX_ERROR */
ngx_int_t ngx_http_gonsters_auth_verify_refresh(ngx_http_request_t *r,
    ngx_str_t *token, ngx_http_gonsters_refresh_claims_t *claims,
    const char **error);

/* hex SHA-256 of the token (64 characters) */
void ngx_http_gonsters_auth_token_hash(ngx_str_t *token, u_char *hex);


/* ngx_http_gonsters_users.c: the endpoints */
ngx_int_t ngx_http_gonsters_login_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_gonsters_refresh_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_gonsters_me_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_gonsters_register_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_gonsters_logout_handler(ngx_http_request_t *r);


extern ngx_module_t  ngx_http_gonsters_users_module;


#endif /* _NGX_HTTP_GONSTERS_USERS_H_INCLUDED_ */
