/*
 * Users and tokens: POST /api/v1/auth/login, POST /api/v1/auth/refresh,
 * GET /api/v1/auth/me, POST /api/v1/auth/register, POST /api/v1/auth/logout
 * (ngx_http_gonsters_users_module; directives in ngx_http_gonsters_users.h).
 *
 * Request bodies are read whole into memory (request_body_in_single_buf)
 * and must fit in client_body_buffer_size: a larger body (Content-Length,
 * or a chunked body nginx had to put in a temporary file) is refused with
 * 413 and a JSON error, never read from disk.  Every cJSON tree is freed on
 * the path that made it, or by a cleanup of the request pool (the parsed
 * body).
 *
 * Login: one PostgreSQL round trip reads the user with the role's
 * permissions; the password is checked in the thread pool, against a fixed
 * dummy bcrypt hash (cost 12) when there is no such user, so wrong user
 * and wrong password answer the same 401 after the same work.  A locked
 * account answers 429 with Retry-After (the seconds left) without checking
 * the password, so a correct password during the lockout is refused too.
 * "User account is inactive" (401) only after a correct password.
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_pg.h"
#include "ngx_http_gonsters_password.h"
#include "ngx_http_gonsters_auth.h"
#include "ngx_http_gonsters_users.h"
#include "ngx_http_gonsters_revoke.h"
#include "gn_utf8.h"
#include "gn_uuid.h"


/* verified when the user does not exist: bcrypt cost 12 of a random
 * password nobody knows */
#define NGX_HTTP_GONSTERS_DUMMY_HASH                                          \
    "$2b$12$G706YLb61c5wUPw5ALjKlupqfpp73eR4af8wQYbzLXnRT.5ffXhVC"

#define NGX_HTTP_GONSTERS_PASSWORD_MIN_CHARS  10
#define NGX_HTTP_GONSTERS_PASSWORD_MAX_BYTES  72     /* bcrypt's limit */

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

static const char  gn_sql_audit[] =
    "INSERT INTO audit_logs (user_id, username, role, action, resource, "
    "method, status_code, ip_address, user_agent, request_id, changes) "
    "VALUES ($1::uuid, COALESCE(left($2, 50), "
    "(SELECT username FROM users WHERE id = $1::uuid)), "
    "COALESCE($3, (SELECT role FROM users WHERE id = $1::uuid)), $4, "
    "left($5, 255), $6, $7::int, "
    "left($8, 45), $9, left($10, 64), $11::jsonb)";

static const char  gn_sql_store_refresh[] =
    "INSERT INTO refresh_tokens (jti, family_id, user_id, token_hash, "
    "expires_at) VALUES ($1, $2, $3::uuid, $4, to_timestamp($5::float8))";

static const char  gn_sql_last_login[] =
    "UPDATE users SET last_login = now(), failed_logins = 0, "
    "first_failed_at = NULL, locked_until = NULL WHERE id = $1::uuid "
    "RETURNING " GN_TS("last_login");

static const char  gn_sql_rotate[] =
    "SELECT outcome, user_id FROM gonsters_rotate_refresh($1, $2, $3, $4, "
    "$5::float8)";

static const char  gn_sql_user_by_jti[] =
    "SELECT " GN_USER_COLUMNS " FROM users u WHERE u.id = "
    "(SELECT user_id FROM refresh_tokens WHERE jti = $1)";

static const char  gn_sql_me[] =
    "SELECT " GN_USER_COLUMNS " FROM users u WHERE u.id = $1::uuid";

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

static const char  gn_sql_revoke_family[] =
    "UPDATE refresh_tokens SET revoked_at = now() "
    "WHERE family_id = $1 AND revoked_at IS NULL";


typedef struct {
    const char                   *field;
    const char                   *error;
} ngx_http_gonsters_field_error_t;


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


static void *ngx_http_gonsters_users_create_main_conf(ngx_conf_t *cf);
static ngx_int_t ngx_http_gonsters_users_auth_rc(ngx_http_request_t *r,
    ngx_int_t rc);

#define GN_AUTH_ANSWER(r, call)                                               \
    ((r)->main->count++, ngx_http_gonsters_users_auth_rc(r, call))
static char *ngx_http_gonsters_users_init_main_conf(ngx_conf_t *cf,
    void *conf);


static ngx_conf_enum_t  ngx_http_gonsters_registration_modes[] = {
    { ngx_string("off"), 0 },
    { ngx_string("open"), 1 },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_gonsters_users_commands[] = {

    { ngx_string("gonsters_jwt_access_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_users_main_conf_t, access_ttl),
      NULL },

    { ngx_string("gonsters_jwt_refresh_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_users_main_conf_t, refresh_ttl),
      NULL },

    { ngx_string("gonsters_login_max_failures"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_users_main_conf_t, max_failures),
      NULL },

    { ngx_string("gonsters_login_failure_window"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_users_main_conf_t, failure_window),
      NULL },

    { ngx_string("gonsters_login_lockout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_users_main_conf_t, lockout),
      NULL },

    { ngx_string("gonsters_registration"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_users_main_conf_t, registration),
      &ngx_http_gonsters_registration_modes },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gonsters_users_module_ctx = {
    NULL,                                      /* preconfiguration */
    NULL,                                      /* postconfiguration */
    ngx_http_gonsters_users_create_main_conf,  /* create main configuration */
    ngx_http_gonsters_users_init_main_conf,    /* init main configuration */
    NULL,                                      /* create server configuration */
    NULL,                                      /* merge server configuration */
    NULL,                                      /* create location configuration */
    NULL                                       /* merge location configuration */
};


ngx_module_t  ngx_http_gonsters_users_module = {
    NGX_MODULE_V1,
    &ngx_http_gonsters_users_module_ctx,   /* module context */
    ngx_http_gonsters_users_commands,      /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_gonsters_users_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gonsters_users_main_conf_t  *umcf;

    umcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gonsters_users_main_conf_t));
    if (umcf == NULL) {
        return NULL;
    }

    umcf->access_ttl = NGX_CONF_UNSET;
    umcf->refresh_ttl = NGX_CONF_UNSET;
    umcf->max_failures = NGX_CONF_UNSET_UINT;
    umcf->failure_window = NGX_CONF_UNSET;
    umcf->lockout = NGX_CONF_UNSET;
    umcf->registration = NGX_CONF_UNSET_UINT;

    return umcf;
}


static char *
ngx_http_gonsters_users_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gonsters_users_main_conf_t  *umcf = conf;

    ngx_conf_init_value(umcf->access_ttl, 900);
    ngx_conf_init_value(umcf->refresh_ttl, 7 * 86400);
    ngx_conf_init_uint_value(umcf->max_failures, 5);
    ngx_conf_init_value(umcf->failure_window, 900);
    ngx_conf_init_value(umcf->lockout, 900);
    ngx_conf_init_uint_value(umcf->registration, 1);

    if (umcf->access_ttl < 1 || umcf->refresh_ttl < 1
        || umcf->failure_window < 1 || umcf->lockout < 1)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gonsters: token lifetimes, the login failure "
                           "window and the lockout must be at least 1s");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* ---- JSON helpers ------------------------------------------------------ */


static void
ngx_http_gonsters_json_cleanup(void *data)
{
    cJSON_Delete(data);
}


/* prints and frees the tree (always) and sends it */
static ngx_int_t
ngx_http_gonsters_users_send(ngx_http_request_t *r, ngx_uint_t status,
    cJSON *root)
{
    char       *text;
    ngx_str_t   json;

    if (root == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);

    if (text == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    json.len = ngx_strlen(text);
    json.data = ngx_pnalloc(r->pool, json.len);
    if (json.data == NULL) {
        cJSON_free(text);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(json.data, text, json.len);
    cJSON_free(text);

    return ngx_http_gonsters_send_json(r, status, &json);
}


static ngx_int_t
ngx_http_gonsters_users_fields(ngx_http_request_t *r, ngx_uint_t status,
    const char *message, ngx_http_gonsters_field_error_t *errs, ngx_uint_t n)
{
    cJSON       *root, *arr, *e;
    ngx_uint_t   i;

    root = cJSON_CreateObject();
    if (root == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cJSON_AddStringToObject(root, "status", "error");
    cJSON_AddStringToObject(root, "message", message);
    arr = cJSON_AddArrayToObject(root, "errors");

    for (i = 0; arr && i < n; i++) {
        e = cJSON_CreateObject();
        if (e == NULL) {
            break;
        }
        cJSON_AddStringToObject(e, "field", errs[i].field);
        cJSON_AddStringToObject(e, "error", errs[i].error);
        cJSON_AddItemToArray(arr, e);
    }

    return ngx_http_gonsters_users_send(r, status, root);
}


static ngx_int_t
ngx_http_gonsters_users_field(ngx_http_request_t *r, ngx_uint_t status,
    const char *message, const char *field, const char *error)
{
    ngx_http_gonsters_field_error_t  e = { field, error };

    return ngx_http_gonsters_users_fields(r, status, message, &e, 1);
}


/* a string of a PGresult (NULL: empty, data NULL) into r->pool */
static ngx_int_t
ngx_http_gonsters_users_copy(ngx_http_request_t *r, PGresult *res, int row,
    int col, ngx_str_t *out)
{
    if (PQgetisnull(res, row, col)) {
        out->len = 0;
        out->data = NULL;
        return NGX_OK;
    }

    out->len = PQgetlength(res, row, col);
    out->data = ngx_pnalloc(r->pool, out->len + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, PQgetvalue(res, row, col), out->len);
    out->data[out->len] = '\0';

    return NGX_OK;
}


static ngx_int_t
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


/* ---- request bodies ---------------------------------------------------- */


static ngx_int_t
ngx_http_gonsters_users_too_large(ngx_http_request_t *r)
{
    return ngx_http_gonsters_users_field(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                         "Request body too large", "body",
                                         "larger than client_body_buffer_size");
}


/*
 * The body as one JSON object in ctx->body (freed with the request pool),
 * or an answer: 413 too large, 400 not JSON or not an object.
 */
static ngx_int_t
ngx_http_gonsters_users_parse(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx)
{
    u_char              *p, *data;
    size_t               len;
    ngx_chain_t         *cl;
    ngx_pool_cleanup_t  *cln;

    len = 0;

    if (r->request_body == NULL || r->request_body->temp_file) {
        return r->request_body ? ngx_http_gonsters_users_too_large(r)
                               : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        if (cl->buf->in_file) {
            return ngx_http_gonsters_users_too_large(r);
        }
        len += cl->buf->last - cl->buf->pos;
    }

    data = ngx_pnalloc(r->pool, len + 1);
    if (data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = data;
    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }
    *p = '\0';

    /*
     * cJSON ends its strings at a NUL: "\u0000" would silently cut a
     * password or a name, so it is refused (with the rare false alarm of
     * an escaped backslash followed by "u0000").
     */
    for (p = data; len >= 6 && p <= data + len - 6; p++) {
        if (p[0] == '\\' && p[1] == 'u' && p[2] == '0' && p[3] == '0'
            && p[4] == '0' && p[5] == '0')
        {
            return ngx_http_gonsters_users_field(r, NGX_HTTP_BAD_REQUEST,
                       "Invalid JSON body", "body",
                       "must not contain NUL characters (\\u0000)");
        }
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->body = cJSON_ParseWithLength((char *) data, len);

    if (ctx->body == NULL) {
        return ngx_http_gonsters_users_field(r, NGX_HTTP_BAD_REQUEST,
                                             "Invalid JSON body", "body",
                                             "must be a JSON object");
    }

    cln->handler = ngx_http_gonsters_json_cleanup;
    cln->data = ctx->body;

    if (!cJSON_IsObject(ctx->body)) {
        return ngx_http_gonsters_users_field(r, NGX_HTTP_BAD_REQUEST,
                                             "Invalid JSON body", "body",
                                             "must be a JSON object");
    }

    return NGX_OK;
}


/* a string member: NGX_OK (s set), NGX_DECLINED absent or null, or the
 * error text in *error */
static ngx_int_t
ngx_http_gonsters_users_string(ngx_http_gonsters_users_ctx_t *ctx,
    const char *name, ngx_str_t *s, const char **error)
{
    cJSON  *item;

    item = cJSON_GetObjectItemCaseSensitive(ctx->body, name);

    if (item == NULL || cJSON_IsNull(item)) {
        return NGX_DECLINED;
    }

    if (!cJSON_IsString(item)) {
        *error = "must be a string";
        return NGX_ERROR;
    }

    s->data = (u_char *) item->valuestring;
    s->len = ngx_strlen(item->valuestring);

    if (!gn_utf8_valid((char *) s->data, s->len)) {
        *error = "must be valid UTF-8";
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_gonsters_users_body_done(ngx_http_request_t *r)
{
    ngx_int_t                       rc;
    ngx_http_gonsters_users_ctx_t  *ctx;
    ngx_http_gonsters_body_pt       next;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gonsters_users_module);
    next = ctx->next;

    rc = ngx_http_gonsters_users_parse(r, ctx);

    /* NGX_OK is also what sending an error answer returns */
    if (rc == NGX_OK && cJSON_IsObject(ctx->body)) {
        rc = next(r, ctx);
    }

    /* NGX_DONE (a backend call holds the request) drops the body's
     * reference, as do the final answers */
    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_gonsters_users_read(ngx_http_request_t *r,
    ngx_http_gonsters_body_pt next)
{
    ngx_int_t                       rc;
    ngx_http_core_loc_conf_t       *clcf;
    ngx_http_gonsters_users_ctx_t  *ctx;

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_gonsters_send_not_allowed(r, "POST");
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (r->headers_in.content_length_n > (off_t) clcf->client_body_buffer_size)
    {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }
        return ngx_http_gonsters_users_too_large(r);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_users_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the next step, kept until the body is there */
    ctx->next = next;
    ngx_http_set_ctx(r, ctx, ngx_http_gonsters_users_module);

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_gonsters_users_body_done);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/* ---- audit ------------------------------------------------------------- */


static ngx_str_t  ngx_http_gonsters_request_id = ngx_string("request_id");


static char *
ngx_http_gonsters_users_cstr(ngx_http_request_t *r, ngx_str_t *s)
{
    u_char  *p;
    size_t   i;

    if (s == NULL || s->data == NULL) {
        return NULL;
    }

    p = ngx_pnalloc(r->pool, s->len + 1);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, s->data, s->len);
    p[s->len] = '\0';

    /* text for PostgreSQL: no NUL, valid UTF-8 (header bytes are not) */
    if (!gn_utf8_valid((char *) p, s->len)) {
        for (i = 0; i < s->len; i++) {
            if (p[i] >= 0x80) {
                p[i] = '?';
            }
        }
    }

    for (i = 0; i < s->len; i++) {
        if (p[i] == '\0') {
            p[i] = '?';
        }
    }

    return (char *) p;
}


/* the client's part of an audit row: resource, ip, user agent, request id */
static ngx_int_t
ngx_http_gonsters_users_client(ngx_http_request_t *r, const char **v)
{
    ngx_http_variable_value_t  *vv;
    ngx_str_t                   id;

    v[0] = ngx_http_gonsters_users_cstr(r, &r->uri);
    v[1] = ngx_http_gonsters_users_cstr(r, &r->connection->addr_text);
    v[2] = r->headers_in.user_agent
           ? ngx_http_gonsters_users_cstr(r, &r->headers_in.user_agent->value)
           : NULL;

    vv = ngx_http_get_variable(r, &ngx_http_gonsters_request_id,
                               ngx_hash_key(ngx_http_gonsters_request_id.data,
                                            ngx_http_gonsters_request_id.len));

    if (vv != NULL && !vv->not_found) {
        id.data = vv->data;
        id.len = vv->len;
        v[3] = ngx_http_gonsters_users_cstr(r, &id);

    } else {
        v[3] = NULL;
    }

    return (v[0] == NULL) ? NGX_ERROR : NGX_OK;
}


/* the audit statement into *stmt: action by the user of ctx (if found) */
static ngx_int_t
ngx_http_gonsters_users_audit(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx, const char *action,
    ngx_uint_t status, const char *changes, ngx_http_gonsters_pg_stmt_t *stmt)
{
    u_char       *p;
    const char  **values, *client[4];

    values = ngx_pcalloc(r->pool, 11 * sizeof(char *));
    p = ngx_pnalloc(r->pool, NGX_INT_T_LEN + 1);
    if (values == NULL || p == NULL
        || ngx_http_gonsters_users_client(r, client) != NGX_OK)
    {
        return NGX_ERROR;
    }

    *ngx_sprintf(p, "%ui", status) = '\0';

    if (ctx->found) {
        values[0] = (char *) ctx->user[GN_COL_ID].data;
        values[1] = (char *) ctx->user[GN_COL_USERNAME].data;
        values[2] = (char *) ctx->user[GN_COL_ROLE].data;

    } else {
        values[1] = ngx_http_gonsters_users_cstr(r, &ctx->login);
    }

    values[3] = action;
    values[4] = client[0];
    values[5] = "POST";
    values[6] = (char *) p;
    values[7] = client[1];
    values[8] = client[2];
    values[9] = client[3];
    values[10] = changes;

    stmt->name = "gn_users_audit";
    stmt->sql = gn_sql_audit;
    stmt->nparams = 11;
    stmt->values = values;

    return NGX_OK;
}


/* ---- tokens ------------------------------------------------------------ */


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


/* the access token of the user in ctx; NGX_DECLINED: cannot issue */
static ngx_int_t
ngx_http_gonsters_users_access(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx)
{
    cJSON                                *c, *perms;
    time_t                                now;
    ngx_int_t                             rc;
    u_char                                jti[NGX_HTTP_GONSTERS_ID_LEN];
    ngx_http_gonsters_users_main_conf_t  *umcf;

    umcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_users_module);

    if (ngx_http_gonsters_auth_random_hex(jti, NGX_HTTP_GONSTERS_ID_LEN / 2)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    c = cJSON_CreateObject();
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
static ngx_int_t
ngx_http_gonsters_users_refresh_token(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx, const char *sub)
{
    cJSON                                *c;
    time_t                                now;
    ngx_int_t                             rc;
    ngx_http_gonsters_users_main_conf_t  *umcf;

    umcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_users_module);

    if (ngx_http_gonsters_auth_random_hex(ctx->refresh_jti,
                                          NGX_HTTP_GONSTERS_ID_LEN / 2)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    c = cJSON_CreateObject();
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


static char *
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


/* the seed's login answer, also the refresh answer */
static ngx_int_t
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

    return ngx_http_gonsters_users_send(r, NGX_HTTP_OK, root);
}


static ngx_int_t
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


/* ---- login ------------------------------------------------------------- */


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


static ngx_int_t
ngx_http_gonsters_login_body(ngx_http_request_t *r, void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    ngx_int_t                         rc;
    ngx_uint_t                        n;
    ngx_str_t                         username, email;
    const char                       *error, **values;
    ngx_http_gonsters_pg_stmt_t      *stmt;
    ngx_http_gonsters_field_error_t   errs[3];

    n = 0;
    error = NULL;

    rc = ngx_http_gonsters_users_string(ctx, "username", &username, &error);
    if (rc == NGX_ERROR) {
        errs[n].field = "username";
        errs[n++].error = error;
    }

    if (rc != NGX_OK) {
        rc = ngx_http_gonsters_users_string(ctx, "email", &email, &error);
        if (rc == NGX_ERROR) {
            errs[n].field = "email";
            errs[n++].error = error;

        } else if (rc == NGX_OK) {
            username = email;
        }
    }

    if (rc == NGX_DECLINED && n == 0) {
        errs[n].field = "username";
        errs[n++].error = "username or email is required";

    } else if (rc == NGX_OK && (username.len == 0 || username.len > 255)) {
        errs[n].field = "username";
        errs[n++].error = "must be 1 to 255 characters";
    }

    ctx->login = username;

    rc = ngx_http_gonsters_users_string(ctx, "password", &ctx->password,
                                        &error);
    if (rc != NGX_OK) {
        errs[n].field = "password";
        errs[n++].error = (rc == NGX_DECLINED) ? "is required" : error;

    } else if (ctx->password.len == 0) {
        errs[n].field = "password";
        errs[n++].error = "must not be empty";
    }

    if (n) {
        return ngx_http_gonsters_users_fields(r, NGX_HTTP_BAD_REQUEST,
                                              "Validation failed", errs, n);
    }

    stmt = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_pg_stmt_t));
    values = ngx_pcalloc(r->pool, sizeof(char *));
    if (stmt == NULL || values == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    values[0] = (char *) ctx->login.data;

    stmt->name = "gn_users_login";
    stmt->sql = gn_sql_login;
    stmt->nparams = 1;
    stmt->values = values;

    if (ngx_http_gonsters_pg_query(r, stmt, 1, 0, ngx_http_gonsters_login_user,
                                   ctx)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


/* a failure: its statements (counter, audit), then the answer */
static ngx_int_t
ngx_http_gonsters_login_fail(ngx_http_request_t *r,
    ngx_http_gonsters_users_ctx_t *ctx, ngx_uint_t status,
    const char *message, const char *reason, ngx_uint_t count)
{
    u_char                               *p;
    ngx_uint_t                            n;
    const char                          **values;
    ngx_http_gonsters_pg_stmt_t          *stmts;
    ngx_http_gonsters_users_main_conf_t  *umcf;

    umcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_users_module);

    ctx->status = status;
    ctx->message = message;

    stmts = ngx_pcalloc(r->pool, 2 * sizeof(ngx_http_gonsters_pg_stmt_t));
    values = ngx_pcalloc(r->pool, 4 * sizeof(char *));
    p = ngx_pnalloc(r->pool, 3 * (NGX_INT_T_LEN + 1) + 64);
    if (stmts == NULL || values == NULL || p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = 0;

    if (count && ctx->found) {
        values[0] = (char *) ctx->user[GN_COL_ID].data;
        values[1] = (char *) p;
        p = ngx_sprintf(p, "%T", umcf->failure_window);
        *p++ = '\0';
        values[2] = (char *) p;
        p = ngx_sprintf(p, "%ui", umcf->max_failures);
        *p++ = '\0';
        values[3] = (char *) p;
        p = ngx_sprintf(p, "%T", umcf->lockout);
        *p++ = '\0';

        stmts[n].name = "gn_users_fail";
        stmts[n].sql = gn_sql_fail;
        stmts[n].nparams = 4;
        stmts[n].values = values;
        n++;
    }

    if (ngx_http_gonsters_users_audit(r, ctx, "LOGIN_FAILURE", status, reason,
                                      &stmts[n])
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n++;

    if (ngx_http_gonsters_pg_query(r, stmts, n,
                                   NGX_HTTP_GONSTERS_PG_TRANSACTION,
                                   ngx_http_gonsters_login_failed, ctx)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_gonsters_login_user(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    ngx_int_t   rc, locked;
    ngx_str_t   hash, name, value;
    u_char     *p;

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
            /* locked: refused without looking at the password */
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

            return ngx_http_gonsters_login_fail(r, ctx,
                       NGX_HTTP_TOO_MANY_REQUESTS,
                       "Account temporarily locked after too many failed "
                       "login attempts",
                       "{\"reason\":\"locked\"}", 0);
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


static ngx_int_t
ngx_http_gonsters_login_checked(ngx_http_request_t *r, ngx_int_t match,
    void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    ngx_int_t                     rc;
    const char                  **values;
    ngx_http_gonsters_pg_stmt_t  *stmts;

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

    /* tokens: a new family */

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
    values[4] = ngx_pnalloc(r->pool, NGX_TIME_T_LEN + 1);

    if (values[0] == NULL || values[1] == NULL || values[3] == NULL
        || values[4] == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *ngx_sprintf((u_char *) values[4], "%T", ctx->refresh_exp) = '\0';

    stmts[0].name = "gn_users_store_refresh";
    stmts[0].sql = gn_sql_store_refresh;
    stmts[0].nparams = 5;
    stmts[0].values = values;

    stmts[1].name = "gn_users_last_login";
    stmts[1].sql = gn_sql_last_login;
    stmts[1].nparams = 1;
    stmts[1].values = &values[2];

    if (ngx_http_gonsters_users_audit(r, ctx, "LOGIN_SUCCESS", NGX_HTTP_OK,
                                      NULL, &stmts[2])
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_gonsters_pg_query(r, stmts, 3,
                                   NGX_HTTP_GONSTERS_PG_TRANSACTION,
                                   ngx_http_gonsters_login_done, ctx)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_gonsters_login_failed(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters: login failure not recorded: %V",
                      &res->message);
    }

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


/* ---- refresh ----------------------------------------------------------- */


static ngx_int_t ngx_http_gonsters_refresh_body(ngx_http_request_t *r,
    void *data);
static ngx_int_t ngx_http_gonsters_refresh_rotated(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);
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


static ngx_int_t
ngx_http_gonsters_refresh_body(ngx_http_request_t *r, void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    ngx_int_t                     rc;
    ngx_str_t                     token;
    const char                   *error, **values;
    u_char                        old_hash[64];
    ngx_http_gonsters_pg_stmt_t  *stmts;
    ngx_http_gonsters_users_main_conf_t  *umcf;

    umcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_users_module);

    error = NULL;

    rc = ngx_http_gonsters_users_string(ctx, "refresh_token", &token, &error);
    if (rc != NGX_OK || token.len == 0) {
        return ngx_http_gonsters_users_field(r, NGX_HTTP_BAD_REQUEST,
                   "Validation failed", "refresh_token",
                   rc == NGX_ERROR ? error : "is required");
    }

    rc = ngx_http_gonsters_auth_verify_refresh(r, &token, &ctx->old, &error);

    if (rc == NGX_ERROR) {
        return ngx_http_gonsters_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                            "Cannot verify tokens");
    }

    if (rc == NGX_DECLINED) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gonsters: refresh token refused: %s", error);
        return ngx_http_gonsters_refresh_invalid(r, "Invalid refresh token");
    }

    if (ctx->old.fam.len != NGX_HTTP_GONSTERS_ID_LEN
        || !gn_uuid_is_valid((char *) ctx->old.sub.data, ctx->old.sub.len))
    {
        return ngx_http_gonsters_refresh_invalid(r, "Invalid refresh token");
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
    values[4] = ngx_pnalloc(r->pool, NGX_TIME_T_LEN + 1);

    if (values[0] == NULL || values[1] == NULL || values[2] == NULL
        || values[3] == NULL || values[4] == NULL)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *ngx_sprintf((u_char *) values[4], "%T", umcf->refresh_ttl) = '\0';

    stmts[0].name = "gn_users_rotate";
    stmts[0].sql = gn_sql_rotate;
    stmts[0].nparams = 5;
    stmts[0].values = values;

    stmts[1].name = "gn_users_user_by_jti";
    stmts[1].sql = gn_sql_user_by_jti;
    stmts[1].nparams = 1;
    stmts[1].values = &values[2];

    if (ngx_http_gonsters_pg_query(r, stmts, 2,
                                   NGX_HTTP_GONSTERS_PG_TRANSACTION,
                                   ngx_http_gonsters_refresh_rotated, ctx)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_gonsters_refresh_rotated(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    const char                   *outcome;
    ngx_http_gonsters_pg_stmt_t  *stmt;

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        return ngx_http_gonsters_users_backend(r, NGX_HTTP_GONSTERS_POSTGRES,
                                               res->status);
    }

    if (res->nresults < 2 || PQntuples(res->results[0]) != 1) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    outcome = PQgetvalue(res->results[0], 0, 0);

    if (ngx_strcmp(outcome, "ok") == 0) {
        if (ngx_http_gonsters_users_row(r, ctx, res->results[1],
                                        GN_COL_PERMISSIONS + 1)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (!ctx->found) {
            return ngx_http_gonsters_refresh_invalid(r,
                                                     "Invalid refresh token");
        }

        if (ngx_http_gonsters_users_access(r, ctx) != NGX_OK) {
            return ngx_http_gonsters_send_error(r,
                       NGX_HTTP_INTERNAL_SERVER_ERROR, "Cannot issue tokens");
        }

        return ngx_http_gonsters_users_tokens_reply(r, ctx);
    }

    if (ngx_strcmp(outcome, "reuse") == 0) {
        /* the family is revoked (committed); record it, then answer */
        ctx->found = 0;
        ctx->login.len = 0;
        ctx->login.data = NULL;

        stmt = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_pg_stmt_t));
        if (stmt == NULL
            || ngx_http_gonsters_users_audit(r, ctx, "REFRESH_REUSE",
                   NGX_HTTP_UNAUTHORIZED,
                   "{\"reason\":\"rotated refresh token presented again\"}",
                   stmt)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* the user: from the token (verified) */
        ((const char **) stmt->values)[0] =
            ngx_http_gonsters_users_dup(r, ctx->old.sub.data,
                                        ctx->old.sub.len);

        if (ngx_http_gonsters_pg_query(r, stmt, 1, 0,
                                       ngx_http_gonsters_refresh_reuse_done,
                                       ctx)
            != NGX_DONE)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return NGX_DONE;
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
    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters: refresh reuse not recorded: %V",
                      &res->message);
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "gonsters: refresh token reused, family revoked");

    return ngx_http_gonsters_refresh_invalid(r,
               "Refresh token reuse detected; the session has been revoked");
}


/* ---- me ---------------------------------------------------------------- */


static ngx_int_t ngx_http_gonsters_me_user(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);


ngx_int_t
ngx_http_gonsters_me_handler(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    const char                      **values;
    ngx_http_gonsters_pg_stmt_t      *stmt;
    ngx_http_gonsters_users_ctx_t    *ctx;
    ngx_http_gonsters_auth_claims_t  *claims;

    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        return ngx_http_gonsters_send_not_allowed(r, "GET, HEAD");
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    claims = ngx_http_gonsters_auth_get_claims(r);

    if (claims == NULL) {
        /* the location lacks "gonsters_auth jwt" */
        return GN_AUTH_ANSWER(r,
                   ngx_http_gonsters_auth_reject(r,
                       NGX_HTTP_GONSTERS_AUTH_NO_CREDENTIALS, NULL));
    }

    if (!gn_uuid_is_valid((char *) claims->sub.data, claims->sub.len)) {
        return ngx_http_gonsters_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                            "User not found");
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_users_ctx_t));
    stmt = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_pg_stmt_t));
    values = ngx_pcalloc(r->pool, sizeof(char *));
    if (ctx == NULL || stmt == NULL || values == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    values[0] = ngx_http_gonsters_users_dup(r, claims->sub.data,
                                            claims->sub.len);
    if (values[0] == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    stmt->name = "gn_users_me";
    stmt->sql = gn_sql_me;
    stmt->nparams = 1;
    stmt->values = values;

    if (ngx_http_gonsters_pg_query(r, stmt, 1, 0, ngx_http_gonsters_me_user,
                                   ctx)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
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

    return ngx_http_gonsters_users_send(r, status, root);
}


static ngx_int_t
ngx_http_gonsters_me_user(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        return ngx_http_gonsters_users_backend(r, NGX_HTTP_GONSTERS_POSTGRES,
                                               res->status);
    }

    if (ngx_http_gonsters_users_row(r, ctx, res->results[0],
                                    GN_COL_PERMISSIONS + 1)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!ctx->found) {
        return ngx_http_gonsters_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                            "User not found");
    }

    if (!ctx->active) {
        return ngx_http_gonsters_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                            "User account is inactive");
    }

    return ngx_http_gonsters_users_user_reply(r, ctx, NGX_HTTP_OK, NULL);
}


/* ---- register ---------------------------------------------------------- */


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


/*
 * The auth module's 401/403 answers finalize the request themselves and
 * return NGX_DONE, and our caller finalizes with NGX_DONE once more (the
 * body handler, to drop the body's reference; the content phase): so a
 * reference is taken before the call (GN_AUTH_ANSWER) and kept only when
 * the answer was sent.
 */
static ngx_int_t
ngx_http_gonsters_users_auth_rc(ngx_http_request_t *r, ngx_int_t rc)
{
    if (rc != NGX_DONE) {
        r->main->count--;
    }

    return rc;
}


static ngx_int_t
ngx_http_gonsters_register_body(ngx_http_request_t *r, void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    ngx_int_t                             rc;
    ngx_uint_t                            n;
    ngx_str_t                             username, role, token;
    const char                           *error;
    ngx_http_gonsters_field_error_t       errs[NGX_HTTP_GONSTERS_MAX_ERRORS];
    ngx_http_gonsters_auth_main_conf_t   *amcf;
    ngx_http_gonsters_users_main_conf_t  *umcf;
    static ngx_str_t  write_users = ngx_string("write:users");

    umcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_users_module);
    amcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_auth_module);

    n = 0;
    error = NULL;

    rc = ngx_http_gonsters_users_string(ctx, "username", &username, &error);
    if (rc != NGX_OK) {
        errs[n].field = "username";
        errs[n++].error = rc == NGX_DECLINED ? "is required" : error;

    } else if (!ngx_http_gonsters_valid_username(&username)) {
        errs[n].field = "username";
        errs[n++].error = "must be 3 to 50 characters: letters, digits, "
                          "'.', '_' or '-'";
    }

    rc = ngx_http_gonsters_users_string(ctx, "email", &ctx->email, &error);
    if (rc != NGX_OK) {
        errs[n].field = "email";
        errs[n++].error = rc == NGX_DECLINED ? "is required" : error;

    } else if (!ngx_http_gonsters_valid_email(&ctx->email)) {
        errs[n].field = "email";
        errs[n++].error = "must be a valid email address";
    }

    rc = ngx_http_gonsters_users_string(ctx, "password", &ctx->password,
                                        &error);
    if (rc != NGX_OK) {
        errs[n].field = "password";
        errs[n++].error = rc == NGX_DECLINED ? "is required" : error;

    } else if (ngx_http_gonsters_utf8_chars(&ctx->password)
               < NGX_HTTP_GONSTERS_PASSWORD_MIN_CHARS)
    {
        errs[n].field = "password";
        errs[n++].error = "must be at least 10 characters";

    } else if (ctx->password.len > NGX_HTTP_GONSTERS_PASSWORD_MAX_BYTES) {
        errs[n].field = "password";
        errs[n++].error = "must be at most 72 bytes";

    } else if (username.data && ngx_http_gonsters_contains(&ctx->password,
                                                           &username))
    {
        errs[n].field = "password";
        errs[n++].error = "must not contain the username";
    }

    ctx->role = "Operator";

    rc = ngx_http_gonsters_users_string(ctx, "role", &role, &error);
    if (rc == NGX_ERROR) {
        errs[n].field = "role";
        errs[n++].error = error;

    } else if (rc == NGX_OK) {
        if (role.len == 8 && ngx_strncmp(role.data, "Operator", 8) == 0) {
            ctx->role = "Operator";
        } else if (role.len == 10
                   && ngx_strncmp(role.data, "Supervisor", 10) == 0)
        {
            ctx->role = "Supervisor";
        } else if (role.len == 10
                   && ngx_strncmp(role.data, "Management", 10) == 0)
        {
            ctx->role = "Management";
        } else {
            errs[n].field = "role";
            errs[n++].error = "must be Operator, Supervisor or Management";
        }
    }

    rc = ngx_http_gonsters_users_string(ctx, "factory_id", &ctx->factory_id,
                                        &error);
    if (rc == NGX_ERROR || (rc == NGX_OK && ctx->factory_id.len > 50)) {
        errs[n].field = "factory_id";
        errs[n++].error = rc == NGX_ERROR ? error : "must be at most 50 bytes";
    }
    ctx->has_factory = (rc == NGX_OK);

    rc = ngx_http_gonsters_users_string(ctx, "department", &ctx->department,
                                        &error);
    if (rc == NGX_ERROR || (rc == NGX_OK && ctx->department.len > 100)) {
        errs[n].field = "department";
        errs[n++].error = rc == NGX_ERROR ? error
                                          : "must be at most 100 bytes";
    }
    ctx->has_department = (rc == NGX_OK);

    if (n) {
        return ngx_http_gonsters_users_fields(r, NGX_HTTP_BAD_REQUEST,
                                              "Validation failed", errs, n);
    }

    ctx->login = username;

    /* who registers: a token with write:users may create any role (and
     * works when open registration is off); anyone else an Operator */

    if (r->headers_in.authorization != NULL) {
        if (amcf == NULL || amcf->keys == NULL) {
            return ngx_http_gonsters_send_error(r, NGX_HTTP_UNAUTHORIZED,
                                                "Tokens are not accepted here");
        }

        rc = ngx_http_gonsters_auth_token(r, amcf, &token, &error);
        if (rc != NGX_OK) {
            return GN_AUTH_ANSWER(r,
                       ngx_http_gonsters_auth_reject(r, rc, error));
        }

        ctx->actor = ngx_pcalloc(r->pool,
                                 sizeof(ngx_http_gonsters_auth_claims_t));
        if (ctx->actor == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        rc = ngx_http_gonsters_auth_verify(r, amcf, &token, ctx->actor,
                                           &error);
        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc != NGX_OK) {
            return GN_AUTH_ANSWER(r,
                       ngx_http_gonsters_auth_reject(r,
                           NGX_HTTP_GONSTERS_AUTH_BAD_TOKEN, error));
        }

        if (!ngx_http_gonsters_auth_has_permission(ctx->actor, &write_users)) {
            if (ngx_strcmp(ctx->role, "Operator") != 0) {
                return GN_AUTH_ANSWER(r,
                           ngx_http_gonsters_auth_forbid(r, &write_users));
            }

            /* a token without write:users counts as no token */
            ctx->actor = NULL;
        }
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

    const char                   **values, *client[4];
    ngx_http_gonsters_pg_stmt_t   *stmt;

    if (hash == NULL) {
        return ngx_http_gonsters_users_backend(r, NGX_HTTP_GONSTERS_PASSWORD,
                   NGX_HTTP_GONSTERS_BACKEND_TIMEOUT);
    }

    stmt = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_pg_stmt_t));
    values = ngx_pcalloc(r->pool, 13 * sizeof(char *));
    if (stmt == NULL || values == NULL
        || ngx_http_gonsters_users_client(r, client) != NGX_OK)
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

    values[9] = client[0];
    values[10] = client[1];
    values[11] = client[2];
    values[12] = client[3];

    if (values[2] == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    stmt->name = "gn_users_register";
    stmt->sql = gn_sql_register;
    stmt->nparams = 13;
    stmt->values = values;

    if (ngx_http_gonsters_pg_query(r, stmt, 1,
                                   NGX_HTTP_GONSTERS_PG_TRANSACTION,
                                   ngx_http_gonsters_register_done, ctx)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
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


/* ---- logout ------------------------------------------------------------ */

/*
 * The refresh family of the session (the access token's "fam") is revoked
 * first, then the access token by its jti (ngx_http_gonsters_revoke(): the
 * row, this node's set, Redis), then the audit row.  A failure before the
 * jti is revoked answers 5xx with the token still valid, so the client can
 * try again; both steps are idempotent.  A failure of the audit row alone
 * is logged: the logout itself has happened.
 */


static ngx_int_t ngx_http_gonsters_logout_family(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);
static ngx_int_t ngx_http_gonsters_logout_revoked(ngx_http_request_t *r,
    ngx_http_gonsters_backend_status_e status, void *data);
static ngx_int_t ngx_http_gonsters_logout_done(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);


static char *
ngx_http_gonsters_users_dup_or_null(ngx_http_request_t *r, ngx_str_t *s)
{
    if (s->len == 0) {
        return NULL;
    }

    return ngx_http_gonsters_users_dup(r, s->data, s->len);
}


ngx_int_t
ngx_http_gonsters_logout_handler(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    char                             *id;
    ngx_http_gonsters_pg_stmt_t      *stmt;
    ngx_http_gonsters_users_ctx_t    *ctx;
    ngx_http_gonsters_auth_claims_t  *claims;

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_gonsters_send_not_allowed(r, "POST");
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    claims = ngx_http_gonsters_auth_get_claims(r);

    if (claims == NULL) {
        /* the location lacks "gonsters_auth jwt" (refused by nginx -t) */
        return GN_AUTH_ANSWER(r,
                   ngx_http_gonsters_auth_reject(r,
                       NGX_HTTP_GONSTERS_AUTH_NO_CREDENTIALS, NULL));
    }

    if (claims->jti.len == 0) {
        return GN_AUTH_ANSWER(r,
                   ngx_http_gonsters_auth_reject(r,
                       NGX_HTTP_GONSTERS_AUTH_BAD_TOKEN,
                       "The token has no jti"));
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_users_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the claims, for the later steps and the audit row */

    ctx->jti.len = claims->jti.len;
    ctx->jti.data = (u_char *) ngx_http_gonsters_users_dup(r, claims->jti.data,
                                                           claims->jti.len);
    ctx->exp = claims->exp;

    if (ctx->jti.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (gn_uuid_is_valid((char *) claims->sub.data, claims->sub.len)) {
        id = ngx_http_gonsters_users_dup(r, claims->sub.data, claims->sub.len);
        if (id == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->found = 1;
        ctx->user[GN_COL_ID].data = (u_char *) id;
        ctx->user[GN_COL_USERNAME].data = (u_char *)
            ngx_http_gonsters_users_dup_or_null(r, &claims->username);
        ctx->user[GN_COL_ROLE].data = (u_char *)
            ngx_http_gonsters_users_dup_or_null(r, &claims->role);

    } else {
        ctx->login.len = claims->username.len;
        ctx->login.data = (u_char *)
            ngx_http_gonsters_users_dup_or_null(r, &claims->username);
    }

    if (claims->fam.len == 0) {
        /* not one of our sessions: only the access token */
        return ngx_http_gonsters_logout_family(r, NULL, ctx);
    }

    stmt = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_pg_stmt_t));
    if (stmt == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    stmt->values = ngx_pcalloc(r->pool, sizeof(char *));
    if (stmt->values == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ((const char **) stmt->values)[0] =
        ngx_http_gonsters_users_dup(r, claims->fam.data, claims->fam.len);

    if (stmt->values[0] == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    stmt->name = "gn_users_revoke_family";
    stmt->sql = gn_sql_revoke_family;
    stmt->nparams = 1;

    if (ngx_http_gonsters_pg_query(r, stmt, 1, 0,
                                   ngx_http_gonsters_logout_family, ctx)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


/* res NULL: the token has no family */
static ngx_int_t
ngx_http_gonsters_logout_family(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    char  *n;

    if (res != NULL) {
        if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
            return ngx_http_gonsters_users_backend(r,
                                                   NGX_HTTP_GONSTERS_POSTGRES,
                                                   res->status);
        }

        n = (res->nresults >= 1) ? PQcmdTuples(res->results[0]) : "";
        ctx->revoked.len = ngx_strlen(n);
        ctx->revoked.data = (u_char *) ngx_http_gonsters_users_dup(r,
                                             (u_char *) n, ctx->revoked.len);
        if (ctx->revoked.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    if (ngx_http_gonsters_revoke(r, &ctx->jti, ctx->exp,
                                 ngx_http_gonsters_logout_revoked, ctx)
        != NGX_DONE)
    {
        return ngx_http_gonsters_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                            "Cannot revoke the token");
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_gonsters_logout_revoked(ngx_http_request_t *r,
    ngx_http_gonsters_backend_status_e status, void *data)
{
    ngx_http_gonsters_users_ctx_t  *ctx = data;

    cJSON                        *changes;
    char                         *text, *copy;
    ngx_http_gonsters_pg_stmt_t  *stmt;

    if (status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        return ngx_http_gonsters_users_backend(r, NGX_HTTP_GONSTERS_POSTGRES,
                                               status);
    }

    /* {"jti": ..., "refresh_tokens_revoked": n} */

    changes = cJSON_CreateObject();
    if (changes == NULL
        || cJSON_AddStringToObject(changes, "jti", (char *) ctx->jti.data)
           == NULL
        || cJSON_AddNumberToObject(changes, "refresh_tokens_revoked",
               ctx->revoked.len
               ? (double) ngx_atoi(ctx->revoked.data, ctx->revoked.len) : 0)
           == NULL)
    {
        cJSON_Delete(changes);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    text = cJSON_PrintUnformatted(changes);
    cJSON_Delete(changes);

    if (text == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    copy = ngx_http_gonsters_users_dup(r, (u_char *) text, ngx_strlen(text));
    cJSON_free(text);

    stmt = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_pg_stmt_t));
    if (copy == NULL || stmt == NULL
        || ngx_http_gonsters_users_audit(r, ctx, "LOGOUT", NGX_HTTP_OK, copy,
                                         stmt)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_gonsters_pg_query(r, stmt, 1, 0,
                                   ngx_http_gonsters_logout_done, ctx)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_gonsters_logout_done(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    static ngx_str_t  ok =
        ngx_string("{\"status\":\"success\",\"message\":\"Logged out\"}");

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters: logout not recorded in the audit log: %V",
                      &res->message);
    }

    return ngx_http_gonsters_send_json(r, NGX_HTTP_OK, &ok);
}
