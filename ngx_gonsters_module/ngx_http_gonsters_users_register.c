/*
 * POST /api/v1/auth/register: open self-registration of Operator accounts
 * (gonsters_registration), or any role by a token with write:users.  The
 * user row and its audit row are one statement.
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_password.h"
#include "ngx_http_gonsters_users.h"
#include "ngx_http_gonsters_audit.h"
#include "ngx_http_gonsters_revoke.h"
#include "gn_uuid.h"


#define NGX_HTTP_GONSTERS_PASSWORD_MIN_CHARS  10
#define NGX_HTTP_GONSTERS_PASSWORD_MAX_BYTES  72     /* bcrypt's limit */


static const char  gn_sql_register[] =
    "WITH u AS (INSERT INTO users (username, email, password_hash, role, "
    "factory_id, department) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *), "
    "a AS (INSERT INTO audit_logs (user_id, username, role, action, "
    "resource, method, status_code, ip_address, user_agent, request_id, "
    "changes) SELECT COALESCE($7::uuid, u.id), COALESCE($8, u.username), "
    "COALESCE($9, u.role), 'REGISTER', left($10, 255), 'POST', 201, "
    "left($11, 45), $12, left($13, 64), jsonb_build_object('new_user_id', "
    "u.id, 'new_username', u.username, 'new_role', u.role) FROM u) "
    "SELECT " GN_USER_COLUMNS " FROM u";


static ngx_int_t ngx_http_gonsters_register_body(ngx_http_request_t *r,
    void *data);
static ngx_int_t ngx_http_gonsters_register_hashed(ngx_http_request_t *r,
    ngx_str_t *hash, void *data);
static ngx_int_t ngx_http_gonsters_register_done(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);


ngx_int_t
ngx_http_gonsters_register_handler(ngx_http_request_t *r)
{
    return ngx_http_gonsters_users_read(r, ngx_http_gonsters_register_body);
}


static size_t
ngx_http_gonsters_utf8_chars(ngx_str_t *s)
{
    size_t  i, n;

    for (i = 0, n = 0; i < s->len; i++) {
        if ((s->data[i] & 0xc0) != 0x80) {
            n++;
        }
    }

    return n;
}


static ngx_uint_t
ngx_http_gonsters_valid_username(ngx_str_t *s)
{
    size_t  i;
    u_char  c;

    if (s->len < 3 || s->len > 50) {
        return 0;
    }

    for (i = 0; i < s->len; i++) {
        c = s->data[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
        {
            return 0;
        }
    }

    return 1;
}


static ngx_uint_t
ngx_http_gonsters_valid_email(ngx_str_t *s)
{
    size_t   i, at, dot;

    if (s->len < 3 || s->len > 255) {
        return 0;
    }

    at = 0;
    dot = 0;

    for (i = 0; i < s->len; i++) {
        if (s->data[i] <= 0x20 || s->data[i] >= 0x7f) {
            return 0;
        }

        if (s->data[i] == '@') {
            if (at) {
                return 0;
            }
            at = i;

        } else if (s->data[i] == '.' && at) {
            dot = i;
        }
    }

    return at > 0 && dot > at + 1 && dot < s->len - 1;
}


/* the password contains the username, ASCII case-insensitively */
static ngx_uint_t
ngx_http_gonsters_contains(ngx_str_t *hay, ngx_str_t *needle)
{
    size_t  i;

    if (needle->len == 0 || needle->len > hay->len) {
        return 0;
    }

    for (i = 0; i + needle->len <= hay->len; i++) {
        if (ngx_strncasecmp(hay->data + i, needle->data, needle->len) == 0) {
            return 1;
        }
    }

    return 0;
}


static void
ngx_http_gonsters_register_password(ngx_http_gonsters_users_ctx_t *ctx,
    ngx_str_t *username, ngx_http_gonsters_field_errors_t *errs)
{
    if (ngx_http_gonsters_users_required(ctx, "password", &ctx->password,
                                         errs)
        != NGX_OK)
    {
        return;
    }

    if (ngx_http_gonsters_utf8_chars(&ctx->password)
        < NGX_HTTP_GONSTERS_PASSWORD_MIN_CHARS)
    {
        ngx_http_gonsters_users_error(errs, "password",
                                      "must be at least 10 characters");

    } else if (ctx->password.len > NGX_HTTP_GONSTERS_PASSWORD_MAX_BYTES) {
        ngx_http_gonsters_users_error(errs, "password",
                                      "must be at most 72 bytes");

    } else if (username->data
               && ngx_http_gonsters_contains(&ctx->password, username))
    {
        ngx_http_gonsters_users_error(errs, "password",
                                      "must not contain the username");
    }
}


static void
ngx_http_gonsters_register_role(ngx_http_gonsters_users_ctx_t *ctx,
    ngx_http_gonsters_field_errors_t *errs)
{
    ngx_int_t    rc;
    ngx_str_t    role;
    const char  *error;

    ctx->role = "Operator";
    error = NULL;

    rc = ngx_http_gonsters_users_string(ctx, "role", &role, &error);
    if (rc == NGX_ERROR) {
        ngx_http_gonsters_users_error(errs, "role", error);
        return;
    }

    if (rc == NGX_DECLINED) {
        return;
    }

    if (role.len == 8 && ngx_strncmp(role.data, "Operator", 8) == 0) {
        ctx->role = "Operator";

    } else if (role.len == 10 && ngx_strncmp(role.data, "Supervisor", 10) == 0)
    {
        ctx->role = "Supervisor";

    } else if (role.len == 10 && ngx_strncmp(role.data, "Management", 10) == 0)
    {
        ctx->role = "Management";

    } else {
        ngx_http_gonsters_users_error(errs, "role",
                                      "must be Operator, Supervisor or "
                                      "Management");
    }
}


/* every member of the body: NGX_OK, or the field errors */
static ngx_int_t
ngx_http_gonsters_register_fields(ngx_http_gonsters_users_ctx_t *ctx,
    ngx_http_gonsters_field_errors_t *errs)
{
    ngx_str_t  username;

    ngx_str_null(&username);

    if (ngx_http_gonsters_users_required(ctx, "username", &username, errs)
        == NGX_OK
        && !ngx_http_gonsters_valid_username(&username))
    {
        ngx_http_gonsters_users_error(errs, "username",
                                      "must be 3 to 50 characters: letters, "
                                      "digits, '.', '_' or '-'");
    }

    if (ngx_http_gonsters_users_required(ctx, "email", &ctx->email, errs)
        == NGX_OK
        && !ngx_http_gonsters_valid_email(&ctx->email))
    {
        ngx_http_gonsters_users_error(errs, "email",
                                      "must be a valid email address");
    }

    ngx_http_gonsters_register_password(ctx, &username, errs);
    ngx_http_gonsters_register_role(ctx, errs);

    ctx->has_factory = (ngx_http_gonsters_users_optional(ctx, "factory_id",
                            &ctx->factory_id, 50, "must be at most 50 bytes",
                            errs)
                        == NGX_OK);

    ctx->has_department = (ngx_http_gonsters_users_optional(ctx, "department",
                               &ctx->department, 100,
                               "must be at most 100 bytes", errs)
                           == NGX_OK);

    ctx->login = username;

    return errs->n ? NGX_ERROR : NGX_OK;
}


/*
 * Who registers: a token with write:users may create any role (and works
 * when open registration is off); anyone else an Operator.  1 to go on, or
 * 0 with the answer in *answer (an answer sent can be NGX_OK too).
 */
static ngx_uint_t
ngx_http_gonsters_register_actor(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx, ngx_int_t *answer)
{
    ngx_int_t                            rc;
    ngx_str_t                            token;
    const char                          *error;
    ngx_http_gonsters_auth_main_conf_t  *amcf;
    static ngx_str_t  write_users = ngx_string("write:users");

    amcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_auth_module);

    if (amcf == NULL || amcf->keys == NULL) {
        *answer = ngx_http_gonsters_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                               "Tokens are not accepted here");
        return 0;
    }

    error = NULL;

    rc = ngx_http_gonsters_auth_token(r, amcf, &token, &error);
    if (rc != NGX_OK) {
        *answer = ngx_http_gonsters_users_reject(r, rc, error);
        return 0;
    }

    ctx->actor = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_auth_claims_t));
    if (ctx->actor == NULL) {
        *answer = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return 0;
    }

    rc = ngx_http_gonsters_auth_verify(r, amcf, &token, ctx->actor, &error);
    if (rc != NGX_OK) {
        *answer = (rc == NGX_ERROR)
                  ? NGX_HTTP_INTERNAL_SERVER_ERROR
                  : ngx_http_gonsters_users_reject(r,
                        NGX_HTTP_GONSTERS_AUTH_BAD_TOKEN, error);
        return 0;
    }

    /* a revoked token creates no account (the location has no
     * gonsters_auth: the access phase did not look) */
    rc = ngx_http_gonsters_revoke_check(r, &ctx->actor->jti,
                                        &ctx->actor->fam);

    if (rc == NGX_AGAIN) {
        *answer = ngx_http_gonsters_send_unavailable(r,
                                       NGX_HTTP_GONSTERS_POSTGRES,
                                       NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE);
        return 0;
    }

    if (rc == NGX_DECLINED) {
        *answer = ngx_http_gonsters_users_reject(r,
                        NGX_HTTP_GONSTERS_AUTH_REVOKED, "token revoked");
        return 0;
    }

    if (ngx_http_gonsters_auth_has_permission(ctx->actor, &write_users)) {
        return 1;
    }

    if (ngx_strcmp(ctx->role, "Operator") != 0) {
        *answer = ngx_http_gonsters_users_forbid(r, &write_users);
        return 0;
    }

    /* a token without write:users counts as no token */
    ctx->actor = NULL;

    return 1;
}


static ngx_int_t
ngx_http_gonsters_register_body(ngx_http_request_t *r, void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    ngx_int_t                             rc;
    ngx_http_gonsters_field_errors_t      errs;
    ngx_http_gonsters_users_main_conf_t  *umcf;

    umcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_users_module);

    errs.n = 0;

    if (ngx_http_gonsters_register_fields(ctx, &errs) != NGX_OK) {
        return ngx_http_gonsters_users_fields(r, NGX_HTTP_BAD_REQUEST,
                                              "Validation failed", &errs);
    }

    if (r->headers_in.authorization != NULL
        && !ngx_http_gonsters_register_actor(r, ctx, &rc))
    {
        return rc;
    }

    if (ctx->actor == NULL) {
        if (ngx_strcmp(ctx->role, "Operator") != 0) {
            return ngx_http_gonsters_users_field(r, NGX_HTTP_FORBIDDEN,
                       "Insufficient permissions. Required: write:users",
                       "role", "only Operator accounts can self-register");
        }

        if (!umcf->registration) {
            return ngx_http_gonsters_send_error(r, NGX_HTTP_FORBIDDEN,
                                                "Registration is disabled");
        }
    }

    rc = ngx_http_gonsters_password_hash(r, &ctx->password,
                                         ngx_http_gonsters_register_hashed,
                                         ctx);
    if (rc != NGX_DONE) {
        return ngx_http_gonsters_users_backend(r, NGX_HTTP_GONSTERS_PASSWORD,
                   NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE);
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_gonsters_register_hashed(ngx_http_request_t *r, ngx_str_t *hash,
    void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    const char                        **values;
    ngx_http_gonsters_pg_stmt_t        *stmt;
    ngx_http_gonsters_audit_client_t    client;

    if (hash == NULL) {
        return ngx_http_gonsters_users_backend(r, NGX_HTTP_GONSTERS_PASSWORD,
                   NGX_HTTP_GONSTERS_BACKEND_TIMEOUT);
    }

    stmt = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_pg_stmt_t));
    values = ngx_pcalloc(r->pool, 13 * sizeof(char *));
    if (stmt == NULL || values == NULL
        || ngx_http_gonsters_audit_client(r, &client) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    values[0] = (char *) ctx->login.data;
    values[1] = (char *) ctx->email.data;
    values[2] = ngx_http_gonsters_users_dup(r, hash->data, hash->len);
    values[3] = ctx->role;
    values[4] = ctx->has_factory ? (char *) ctx->factory_id.data : NULL;
    values[5] = ctx->has_department ? (char *) ctx->department.data : NULL;

    if (ctx->actor) {
        values[6] = ngx_http_gonsters_users_dup(r, ctx->actor->sub.data,
                                                ctx->actor->sub.len);
        values[7] = ngx_http_gonsters_users_dup(r, ctx->actor->username.data,
                                                ctx->actor->username.len);
        values[8] = ngx_http_gonsters_users_dup(r, ctx->actor->role.data,
                                                ctx->actor->role.len);
        if (!gn_uuid_is_valid(values[6], ctx->actor->sub.len)) {
            values[6] = NULL;
        }
    }

    values[9] = client.resource;
    values[10] = client.ip;
    values[11] = client.user_agent;
    values[12] = client.request_id;

    if (values[2] == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_gonsters_users_stmt(stmt, "gn_users_register", gn_sql_register,
                                 13, values);

    return ngx_http_gonsters_users_query(r, stmt, 1,
                                         NGX_HTTP_GONSTERS_PG_TRANSACTION,
                                         ngx_http_gonsters_register_done, ctx);
}


static ngx_int_t
ngx_http_gonsters_register_done(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    const char  *constraint;

    if (res->status == NGX_HTTP_GONSTERS_BACKEND_ERROR
        && ngx_strcmp(res->sqlstate, "23505") == 0)
    {
        constraint = res->error
                     ? PQresultErrorField(res->error, PG_DIAG_CONSTRAINT_NAME)
                     : NULL;

        if (constraint && ngx_strstr(constraint, "email")) {
            return ngx_http_gonsters_users_field(r, NGX_HTTP_CONFLICT,
                       "Email already registered", "email",
                       "already registered");
        }

        return ngx_http_gonsters_users_field(r, NGX_HTTP_CONFLICT,
                                             "Username already exists",
                                             "username", "already exists");
    }

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        return ngx_http_gonsters_users_backend(r, NGX_HTTP_GONSTERS_POSTGRES,
                                               res->status);
    }

    if (ngx_http_gonsters_users_row(r, ctx, res->results[0],
                                    GN_COL_PERMISSIONS + 1)
        != NGX_OK || !ctx->found)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_users_user_reply(r, ctx, NGX_HTTP_CREATED,
                                              "User registered successfully");
}
