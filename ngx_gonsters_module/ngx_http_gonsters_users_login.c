/*
 * POST /api/v1/auth/login.
 *
 * One PostgreSQL round trip reads the user with the role's permissions;
 * the password is checked in the thread pool, against a fixed dummy bcrypt
 * hash (cost 12) when there is no such user, so wrong user and wrong
 * password answer the same 401 after the same work.  A locked account
 * answers 429 with Retry-After (the seconds left) without checking the
 * password, so a correct password during the lockout is refused too.
 * "User account is inactive" (401) only after a correct password.
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_password.h"
#include "ngx_http_gonsters_users.h"


/* verified when the user does not exist: bcrypt cost 12 of a random
 * password nobody knows */
#define NGX_HTTP_GONSTERS_DUMMY_HASH                                          \
    "$2b$12$G706YLb61c5wUPw5ALjKlupqfpp73eR4af8wQYbzLXnRT.5ffXhVC"


static const char  gn_sql_login[] =
    "SELECT " GN_USER_COLUMNS ", u.password_hash, "
    "CASE WHEN u.locked_until > now() "
    "THEN ceil(extract(epoch FROM u.locked_until - now()))::int ELSE 0 END "
    "FROM users u WHERE u.username = $1 OR lower(u.email) = lower($1) "
    "ORDER BY (u.username = $1) DESC LIMIT 1";

static const char  gn_sql_fail[] =
    "WITH c AS (SELECT id, "
    "CASE WHEN first_failed_at IS NULL OR first_failed_at <= "
    "now() - make_interval(secs => $2::float8) "
    "THEN 1 ELSE failed_logins + 1 END AS n, "
    "CASE WHEN first_failed_at IS NULL OR first_failed_at <= "
    "now() - make_interval(secs => $2::float8) "
    "THEN now() ELSE first_failed_at END AS f "
    "FROM users WHERE id = $1::uuid FOR UPDATE) "
    "UPDATE users u SET "
    "failed_logins = CASE WHEN $3::int > 0 AND c.n >= $3::int "
    "THEN 0 ELSE c.n END, "
    "first_failed_at = CASE WHEN $3::int > 0 AND c.n >= $3::int "
    "THEN NULL ELSE c.f END, "
    "locked_until = CASE WHEN $3::int > 0 AND c.n >= $3::int "
    "THEN now() + make_interval(secs => $4::float8) ELSE u.locked_until END "
    "FROM c WHERE u.id = c.id";

static const char  gn_sql_store_refresh[] =
    "INSERT INTO refresh_tokens (jti, family_id, user_id, token_hash, "
    "expires_at) VALUES ($1, $2, $3::uuid, $4, to_timestamp($5::float8))";

static const char  gn_sql_last_login[] =
    "UPDATE users SET last_login = now(), failed_logins = 0, "
    "first_failed_at = NULL, locked_until = NULL WHERE id = $1::uuid "
    "RETURNING " GN_TS("last_login");


static ngx_int_t ngx_http_gonsters_login_body(ngx_http_request_t *r,
    void *data);
static ngx_int_t ngx_http_gonsters_login_user(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);
static ngx_int_t ngx_http_gonsters_login_checked(ngx_http_request_t *r,
    ngx_int_t match, void *data);
static ngx_int_t ngx_http_gonsters_login_failed(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);
static ngx_int_t ngx_http_gonsters_login_done(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);


ngx_int_t
ngx_http_gonsters_login_handler(ngx_http_request_t *r)
{
    return ngx_http_gonsters_users_read(r, ngx_http_gonsters_login_body);
}


/* username (or email) and password: NGX_OK, or the field errors */
static ngx_int_t
ngx_http_gonsters_login_fields(ngx_http_gonsters_users_ctx_t *ctx,
    ngx_http_gonsters_field_errors_t *errs)
{
    ngx_int_t    rc;
    ngx_str_t    username, email;
    const char  *error;

    error = NULL;
    ngx_str_null(&username);

    rc = ngx_http_gonsters_users_string(ctx, "username", &username, &error);
    if (rc == NGX_ERROR) {
        ngx_http_gonsters_users_error(errs, "username", error);
    }

    if (rc != NGX_OK) {
        rc = ngx_http_gonsters_users_string(ctx, "email", &email, &error);
        if (rc == NGX_ERROR) {
            ngx_http_gonsters_users_error(errs, "email", error);

        } else if (rc == NGX_OK) {
            username = email;
        }
    }

    if (rc == NGX_DECLINED && errs->n == 0) {
        ngx_http_gonsters_users_error(errs, "username",
                                      "username or email is required");

    } else if (rc == NGX_OK && (username.len == 0 || username.len > 255)) {
        ngx_http_gonsters_users_error(errs, "username",
                                      "must be 1 to 255 characters");
    }

    ctx->login = username;

    if (ngx_http_gonsters_users_required(ctx, "password", &ctx->password,
                                         errs)
        == NGX_OK
        && ctx->password.len == 0)
    {
        ngx_http_gonsters_users_error(errs, "password", "must not be empty");
    }

    return errs->n ? NGX_ERROR : NGX_OK;
}


static ngx_int_t
ngx_http_gonsters_login_body(ngx_http_request_t *r, void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    const char                        **values;
    ngx_http_gonsters_pg_stmt_t        *stmt;
    ngx_http_gonsters_field_errors_t    errs;

    errs.n = 0;

    if (ngx_http_gonsters_login_fields(ctx, &errs) != NGX_OK) {
        return ngx_http_gonsters_users_fields(r, NGX_HTTP_BAD_REQUEST,
                                              "Validation failed", &errs);
    }

    stmt = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_pg_stmt_t));
    values = ngx_pcalloc(r->pool, sizeof(char *));
    if (stmt == NULL || values == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    values[0] = (char *) ctx->login.data;

    ngx_http_gonsters_users_stmt(stmt, "gn_users_login", gn_sql_login, 1,
                                 values);

    return ngx_http_gonsters_users_query(r, stmt, 1, 0,
                                         ngx_http_gonsters_login_user, ctx);
}


/* a failure: its statements (counter, audit), then the answer */
static ngx_int_t
ngx_http_gonsters_login_fail(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx, ngx_uint_t status,
    const char *message, const char *reason, ngx_uint_t count)
{
    ngx_uint_t                            n;
    const char                          **values;
    ngx_http_gonsters_pg_stmt_t          *stmts;
    ngx_http_gonsters_users_main_conf_t  *umcf;

    umcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_users_module);

    ctx->status = status;
    ctx->message = message;

    stmts = ngx_pcalloc(r->pool, 2 * sizeof(ngx_http_gonsters_pg_stmt_t));
    values = ngx_pcalloc(r->pool, 4 * sizeof(char *));
    if (stmts == NULL || values == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = 0;

    if (count && ctx->found) {
        values[0] = (char *) ctx->user[GN_COL_ID].data;
        values[1] = ngx_http_gonsters_users_number(r, umcf->failure_window);
        values[2] = ngx_http_gonsters_users_number(r, umcf->max_failures);
        values[3] = ngx_http_gonsters_users_number(r, umcf->lockout);

        if (values[1] == NULL || values[2] == NULL || values[3] == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_gonsters_users_stmt(&stmts[n++], "gn_users_fail",
                                     gn_sql_fail, 4, values);
    }

    if (ngx_http_gonsters_users_audit(r, ctx, "LOGIN_FAILURE", status, reason,
                                      &stmts[n])
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n++;

    return ngx_http_gonsters_users_query(r, stmts, n,
                                         NGX_HTTP_GONSTERS_PG_TRANSACTION,
                                         ngx_http_gonsters_login_failed, ctx);
}


/* locked: refused without looking at the password */
static ngx_int_t
ngx_http_gonsters_login_locked(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx, ngx_int_t locked)
{
    u_char     *p;
    ngx_str_t   name, value;

    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&name, "Retry-After");
    value.data = p;
    value.len = ngx_sprintf(p, "%i", locked) - p;

    if (ngx_http_gonsters_add_header(r, &name, &value) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_login_fail(r, ctx, NGX_HTTP_TOO_MANY_REQUESTS,
               "Account temporarily locked after too many failed "
               "login attempts",
               "{\"reason\":\"locked\"}", 0);
}


static ngx_int_t
ngx_http_gonsters_login_user(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    ngx_int_t   rc, locked;
    ngx_str_t   hash;

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        return ngx_http_gonsters_users_backend(r, NGX_HTTP_GONSTERS_POSTGRES,
                                               res->status);
    }

    if (ngx_http_gonsters_users_row(r, ctx, res->results[0], GN_COL_N)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ctx->found) {
        locked = ngx_atoi(ctx->user[GN_COL_LOCKED].data,
                          ctx->user[GN_COL_LOCKED].len);

        if (locked > 0) {
            return ngx_http_gonsters_login_locked(r, ctx, locked);
        }

        hash = ctx->user[GN_COL_HASH];

    } else {
        ngx_str_set(&hash, NGX_HTTP_GONSTERS_DUMMY_HASH);
    }

    rc = ngx_http_gonsters_password_verify(r, &ctx->password, &hash,
                                           ngx_http_gonsters_login_checked,
                                           ctx);
    if (rc != NGX_DONE) {
        return ngx_http_gonsters_users_backend(r, NGX_HTTP_GONSTERS_PASSWORD,
                   NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE);
    }

    return NGX_DONE;
}


/* a new session: its tokens, then the refresh row, last login and audit */
static ngx_int_t
ngx_http_gonsters_login_session(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx)
{
    ngx_int_t                     rc;
    const char                  **values;
    ngx_http_gonsters_pg_stmt_t  *stmts;

    if (ngx_http_gonsters_auth_random_hex(ctx->family,
                                          NGX_HTTP_GONSTERS_ID_LEN / 2)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_gonsters_users_refresh_token(r, ctx,
                                       (char *) ctx->user[GN_COL_ID].data);
    if (rc == NGX_OK) {
        rc = ngx_http_gonsters_users_access(r, ctx);
    }

    if (rc != NGX_OK) {
        return ngx_http_gonsters_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                            "Cannot issue tokens");
    }

    stmts = ngx_pcalloc(r->pool, 3 * sizeof(ngx_http_gonsters_pg_stmt_t));
    values = ngx_pcalloc(r->pool, 5 * sizeof(char *));
    if (stmts == NULL || values == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    values[0] = ngx_http_gonsters_users_dup(r, ctx->refresh_jti,
                                            NGX_HTTP_GONSTERS_ID_LEN);
    values[1] = ngx_http_gonsters_users_dup(r, ctx->family,
                                            NGX_HTTP_GONSTERS_ID_LEN);
    values[2] = (char *) ctx->user[GN_COL_ID].data;
    values[3] = ngx_http_gonsters_users_dup(r, ctx->refresh_hash, 64);
    values[4] = ngx_http_gonsters_users_number(r, ctx->refresh_exp);

    if (values[0] == NULL || values[1] == NULL || values[3] == NULL
        || values[4] == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_gonsters_users_stmt(&stmts[0], "gn_users_store_refresh",
                                 gn_sql_store_refresh, 5, values);
    ngx_http_gonsters_users_stmt(&stmts[1], "gn_users_last_login",
                                 gn_sql_last_login, 1, &values[2]);

    if (ngx_http_gonsters_users_audit(r, ctx, "LOGIN_SUCCESS", NGX_HTTP_OK,
                                      NULL, &stmts[2])
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_users_query(r, stmts, 3,
                                         NGX_HTTP_GONSTERS_PG_TRANSACTION,
                                         ngx_http_gonsters_login_done, ctx);
}


static ngx_int_t
ngx_http_gonsters_login_checked(ngx_http_request_t *r, ngx_int_t match,
    void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    if (match < 0) {
        return ngx_http_gonsters_users_backend(r, NGX_HTTP_GONSTERS_PASSWORD,
                   NGX_HTTP_GONSTERS_BACKEND_TIMEOUT);
    }

    if (match == 0 || !ctx->found) {
        return ngx_http_gonsters_login_fail(r, ctx, NGX_HTTP_UNAUTHORIZED,
                   "Invalid username or password",
                   ctx->found ? "{\"reason\":\"wrong password\"}"
                              : "{\"reason\":\"unknown user\"}",
                   1);
    }

    if (!ctx->active) {
        return ngx_http_gonsters_login_fail(r, ctx, NGX_HTTP_UNAUTHORIZED,
                   "User account is inactive", "{\"reason\":\"inactive\"}",
                   0);
    }

    return ngx_http_gonsters_login_session(r, ctx);
}


static ngx_int_t
ngx_http_gonsters_login_failed(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    ngx_http_gonsters_users_unrecorded(r, res, "login failure not recorded");

    return ngx_http_gonsters_send_error(r, ctx->status, ctx->message);
}


static ngx_int_t
ngx_http_gonsters_login_done(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        return ngx_http_gonsters_users_backend(r, NGX_HTTP_GONSTERS_POSTGRES,
                                               res->status);
    }

    if (res->nresults >= 2 && PQntuples(res->results[1]) == 1) {
        if (ngx_http_gonsters_users_copy(r, res->results[1], 0, 0,
                                         &ctx->user[GN_COL_LAST_LOGIN])
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    return ngx_http_gonsters_users_tokens_reply(r, ctx);
}
