/*
 * Gonsters: users and tokens (ngx_http_gonsters_users_module).
 *
 *   ngx_http_gonsters_users.c           directives below, the module
 *   ngx_http_gonsters_users_body.c      request bodies: reading, JSON
 *                                       members, field errors
 *   ngx_http_gonsters_users_reply.c     user rows, user and token
 *                                       answers, backend failures
 *   ngx_http_gonsters_users_audit.c     audit rows, statements, queries
 *   ngx_http_gonsters_users_tokens.c    minting access and refresh tokens
 *   ngx_http_gonsters_users_login.c     POST /api/v1/auth/login, lockout
 *   ngx_http_gonsters_users_refresh.c   POST /api/v1/auth/refresh
 *   ngx_http_gonsters_users_me.c        GET /api/v1/auth/me
 *   ngx_http_gonsters_users_register.c  POST /api/v1/auth/register
 *   ngx_http_gonsters_users_logout.c    POST /api/v1/auth/logout
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
#include "ngx_http_gonsters_pg.h"
#include "ngx_http_gonsters_auth.h"
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


/* ---- shared by the ngx_http_gonsters_users_*.c files -------------------- */


#define NGX_HTTP_GONSTERS_MAX_ERRORS  8


#define GN_TS(col)                                                            \
    "to_char(" col " AT TIME ZONE 'UTC', "                                    \
    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"

/* columns 0..9: the seed's user object */
#define GN_USER_COLUMNS                                                       \
    "u.id, u.username, u.email, u.role, u.factory_id, u.department, "        \
    "u.is_active, " GN_TS("u.created_at") ", " GN_TS("u.last_login") ", "     \
    "COALESCE((SELECT json_agg(rp.permission ORDER BY rp.position) "          \
    "FROM role_permissions rp WHERE rp.role = u.role), '[]'::json)"

enum {
    GN_COL_ID = 0, GN_COL_USERNAME, GN_COL_EMAIL, GN_COL_ROLE,
    GN_COL_FACTORY, GN_COL_DEPARTMENT, GN_COL_ACTIVE, GN_COL_CREATED,
    GN_COL_LAST_LOGIN, GN_COL_PERMISSIONS, GN_COL_HASH, GN_COL_LOCKED,
    GN_COL_N
};


typedef struct {
    const char                   *field;
    const char                   *error;
} ngx_http_gonsters_field_error_t;


/* the field errors of one body, answered together */
typedef struct {
    ngx_uint_t                        n;
    ngx_http_gonsters_field_error_t   e[NGX_HTTP_GONSTERS_MAX_ERRORS];
} ngx_http_gonsters_field_errors_t;


typedef ngx_int_t (*ngx_http_gonsters_body_pt)(ngx_http_request_t *r,
    void *ctx);


typedef struct {
    cJSON                        *body;
    ngx_http_gonsters_body_pt     next;

    /* login, refresh */
    ngx_str_t                     login;
    ngx_str_t                     password;
    ngx_uint_t                    found;
    ngx_str_t                     user[GN_COL_N];
    ngx_uint_t                    active;
    ngx_str_t                     access;
    ngx_str_t                     refresh;
    u_char                        refresh_jti[NGX_HTTP_GONSTERS_ID_LEN];
    u_char                        family[NGX_HTTP_GONSTERS_ID_LEN];
    u_char                        refresh_hash[64];
    time_t                        refresh_exp;
    ngx_http_gonsters_refresh_claims_t  old;

    /* audit of a failure, sent after its statements */
    ngx_uint_t                    status;
    const char                   *message;

    /* register */
    ngx_http_gonsters_auth_claims_t  *actor;
    const char                   *role;
    ngx_str_t                     email;
    ngx_str_t                     factory_id;
    ngx_str_t                     department;
    unsigned                      has_factory:1;
    unsigned                      has_department:1;

    /* logout: the access token's jti and exp, refresh tokens revoked */
    ngx_str_t                     jti;
    time_t                        exp;
    ngx_str_t                     revoked;
} ngx_http_gonsters_users_ctx_t;


/* ngx_http_gonsters_users_body.c */

/* a POST body, parsed, then next(r, ctx); NGX_DONE or an answer */
ngx_int_t ngx_http_gonsters_users_read(ngx_http_request_t *r,
    ngx_http_gonsters_body_pt next);
/* the same for a method the caller has checked */
ngx_int_t ngx_http_gonsters_users_read_body(ngx_http_request_t *r,
    ngx_http_gonsters_body_pt next);
/* a string member: NGX_OK (s set), NGX_DECLINED absent or null, or
 * NGX_ERROR with the error text in *error */
ngx_int_t ngx_http_gonsters_users_string(ngx_http_gonsters_users_ctx_t *ctx,
    const char *name, ngx_str_t *s, const char **error);
/* a required string member: NGX_OK, or the field error recorded */
ngx_int_t ngx_http_gonsters_users_required(
    ngx_http_gonsters_users_ctx_t *ctx, const char *name, ngx_str_t *s,
    ngx_http_gonsters_field_errors_t *errs);
/* an optional string member of at most max bytes: NGX_OK present,
 * NGX_DECLINED absent, NGX_ERROR (the field error recorded) */
ngx_int_t ngx_http_gonsters_users_optional(
    ngx_http_gonsters_users_ctx_t *ctx, const char *name, ngx_str_t *s,
    size_t max, const char *too_long, ngx_http_gonsters_field_errors_t *errs);
void ngx_http_gonsters_users_error(ngx_http_gonsters_field_errors_t *errs,
    const char *field, const char *error);
ngx_int_t ngx_http_gonsters_users_fields(ngx_http_request_t *r,
    ngx_uint_t status, const char *message,
    ngx_http_gonsters_field_errors_t *errs);
ngx_int_t ngx_http_gonsters_users_field(ngx_http_request_t *r,
    ngx_uint_t status, const char *message, const char *field,
    const char *error);

/* ngx_http_gonsters_users_reply.c */
char *ngx_http_gonsters_users_dup(ngx_http_request_t *r, u_char *s,
    size_t len);
char *ngx_http_gonsters_users_dup_or_null(ngx_http_request_t *r,
    ngx_str_t *s);
char *ngx_http_gonsters_users_number(ngx_http_request_t *r, int64_t n);
ngx_int_t ngx_http_gonsters_users_copy(ngx_http_request_t *r, PGresult *res,
    int row, int col, ngx_str_t *out);
ngx_int_t ngx_http_gonsters_users_row(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx, PGresult *res, int ncols);
ngx_int_t ngx_http_gonsters_users_user_reply(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx, ngx_uint_t status,
    const char *message);
ngx_int_t ngx_http_gonsters_users_tokens_reply(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx);
ngx_int_t ngx_http_gonsters_users_backend(ngx_http_request_t *r,
    ngx_http_gonsters_backend_e backend,
    ngx_http_gonsters_backend_status_e status);
ngx_int_t ngx_http_gonsters_users_reject(ngx_http_request_t *r,
    ngx_uint_t reason, const char *description);
ngx_int_t ngx_http_gonsters_users_forbid(ngx_http_request_t *r,
    ngx_str_t *permission);
ngx_int_t ngx_http_gonsters_users_claims(ngx_http_request_t *r,
    ngx_http_gonsters_auth_claims_t **claims);

/* ngx_http_gonsters_users_audit.c */
void ngx_http_gonsters_users_stmt(ngx_http_gonsters_pg_stmt_t *stmt,
    const char *name, const char *sql, int nparams, const char **values);
ngx_int_t ngx_http_gonsters_users_query(ngx_http_request_t *r,
    ngx_http_gonsters_pg_stmt_t *stmts, ngx_uint_t n, ngx_uint_t flags,
    ngx_http_gonsters_pg_handler_pt handler, void *data);
ngx_int_t ngx_http_gonsters_users_audit(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx, const char *action,
    ngx_uint_t status, const char *changes, ngx_http_gonsters_pg_stmt_t *stmt);
ngx_int_t ngx_http_gonsters_users_record(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx, const char *action,
    ngx_uint_t status, const char *changes,
    ngx_http_gonsters_pg_handler_pt handler);
void ngx_http_gonsters_users_unrecorded(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, const char *what);

/* ngx_http_gonsters_users_tokens.c */
ngx_int_t ngx_http_gonsters_users_access(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx);
ngx_int_t ngx_http_gonsters_users_refresh_token(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx, const char *sub);


/* the endpoints */
ngx_int_t ngx_http_gonsters_login_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_gonsters_refresh_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_gonsters_me_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_gonsters_register_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_gonsters_logout_handler(ngx_http_request_t *r);


extern ngx_module_t  ngx_http_gonsters_users_module;


#endif /* _NGX_HTTP_GONSTERS_USERS_H_INCLUDED_ */
