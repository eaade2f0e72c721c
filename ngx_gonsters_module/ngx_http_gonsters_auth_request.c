/*
 * The request side of ngx_http_gonsters_auth_module: where the token comes
 * from (Authorization: Bearer, or a cookie), CORS preflights, and the 401
 * and 403 answers: the seed's JSON bodies with RFC 6750 WWW-Authenticate
 * challenges.
 */


#include "ngx_http_gonsters_auth.h"


typedef struct {
    const char  *error;         /* RFC 6750 error code, or NULL */
    const char  *message;       /* the JSON body's message (the seed's) */
} ngx_http_gonsters_auth_reason_t;


static ngx_int_t ngx_http_gonsters_auth_bearer(ngx_str_t *value,
    ngx_str_t *token, const char **error);
static ngx_int_t ngx_http_gonsters_auth_challenge(ngx_http_request_t *r,
    const char *error, const char *description, ngx_str_t *scope);
static ngx_int_t ngx_http_gonsters_auth_send(ngx_http_request_t *r,
    ngx_uint_t status, const char *message);


/* indexed by ngx_http_gonsters_auth_reason_e */
static ngx_http_gonsters_auth_reason_t  ngx_http_gonsters_auth_reasons[] = {
    { NULL, NULL },
    { NULL, "Missing authorization header" },
    { NULL, "Invalid authorization header format. Expected: Bearer <token>" },
    { "invalid_request",
      "Invalid authorization header format. Expected: Bearer <token>" },
    { "invalid_token", "Invalid or expired token" },
    { "invalid_token", "Token has been revoked" }
};


/*
 * The token: "Authorization: Bearer <token>", else the cookie named by
 * gonsters_jwt_cookie.  Returns NGX_OK or a reason to refuse.
 */

ngx_int_t
ngx_http_gonsters_auth_token(ngx_http_request_t *r,
    ngx_http_gonsters_auth_main_conf_t *amcf, ngx_str_t *token,
    const char **error)
{
    ngx_table_elt_t  *h;

    h = r->headers_in.authorization;

    if (h != NULL && h->value.len) {
        return ngx_http_gonsters_auth_bearer(&h->value, token, error);
    }

    if (amcf->cookie.len == 0
        || ngx_http_parse_multi_header_lines(&r->headers_in.cookies,
                                             &amcf->cookie, token)
           == NGX_DECLINED
        || token->len == 0)
    {
        return NGX_HTTP_GONSTERS_AUTH_NO_CREDENTIALS;
    }

    if (token->len > GN_JWT_MAX_LEN) {
        *error = "token too long";
        return NGX_HTTP_GONSTERS_AUTH_BAD_REQUEST;
    }

    return NGX_OK;
}


/* RFC 6750 2.1: "Bearer" (any case) 1*SP token, and nothing else */

static ngx_int_t
ngx_http_gonsters_auth_bearer(ngx_str_t *value, ngx_str_t *token,
    const char **error)
{
    u_char  *p, *end;

    p = value->data;
    end = p + value->len;

    if (value->len < 6 || ngx_strncasecmp(p, (u_char *) "Bearer", 6) != 0
        || (value->len > 6 && p[6] != ' ' && p[6] != '\t'))
    {
        /* "Basic xyz": another scheme, RFC 6750 3.1 wants no error code */
        p = ngx_strlchr(p, end, ' ');
        if (p != NULL && p != value->data) {
            return NGX_HTTP_GONSTERS_AUTH_OTHER_SCHEME;
        }

        *error = "the Authorization header is not Bearer <token>";
        return NGX_HTTP_GONSTERS_AUTH_BAD_REQUEST;
    }

    for (p += 6; p < end && (*p == ' ' || *p == '\t'); p++) { /* void */ }

    token->data = p;

    while (p < end && *p != ' ' && *p != '\t') {
        p++;
    }

    token->len = p - token->data;

    while (p < end && (*p == ' ' || *p == '\t')) {
        p++;
    }

    if (token->len == 0 || p != end) {
        *error = token->len ? "more than one token" : "no token after Bearer";
        return NGX_HTTP_GONSTERS_AUTH_BAD_REQUEST;
    }

    if (token->len > GN_JWT_MAX_LEN) {
        *error = "token too long";
        return NGX_HTTP_GONSTERS_AUTH_BAD_REQUEST;
    }

    return NGX_OK;
}


/* a CORS preflight: OPTIONS with Origin and Access-Control-Request-Method */

ngx_uint_t
ngx_http_gonsters_auth_preflight(ngx_http_request_t *r)
{
    ngx_uint_t        i, found;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    static ngx_str_t  origin = ngx_string("Origin");
    static ngx_str_t  method = ngx_string("Access-Control-Request-Method");

    if (r->method != NGX_HTTP_OPTIONS) {
        return 0;
    }

    found = 0;
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == origin.len
            && ngx_strncasecmp(h[i].key.data, origin.data, origin.len) == 0)
        {
            found |= 1;

        } else if (h[i].key.len == method.len
                   && ngx_strncasecmp(h[i].key.data, method.data, method.len)
                      == 0)
        {
            found |= 2;
        }
    }

    return found == 3;
}


/* 401 */

ngx_int_t
ngx_http_gonsters_auth_reject(ngx_http_request_t *r, ngx_uint_t reason,
    const char *description)
{
    ngx_http_gonsters_auth_reason_t  *rs;

    rs = &ngx_http_gonsters_auth_reasons[reason];

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "gonsters auth: refused: %s%s%s", rs->message,
                  description ? ": " : "", description ? description : "");

    if (ngx_http_gonsters_auth_challenge(r, rs->error,
                                         rs->error ? description : NULL,
                                         NULL)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_auth_send(r, NGX_HTTP_UNAUTHORIZED, rs->message);
}


/* 403 naming the permission */

ngx_int_t
ngx_http_gonsters_auth_forbid(ngx_http_request_t *r, ngx_str_t *permission)
{
    u_char  *message, *p;
    size_t   len;

    static const char  head[] = "Insufficient permissions. Required: ";

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "gonsters auth: forbidden: \"%V\" required", permission);

    if (ngx_http_gonsters_auth_challenge(r, "insufficient_scope", NULL,
                                         permission)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = sizeof(head) - 1 + permission->len;

    message = ngx_pnalloc(r->pool, len + 1);
    if (message == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(message, head, sizeof(head) - 1);
    p = ngx_cpymem(p, permission->data, permission->len);
    *p = '\0';

    return ngx_http_gonsters_auth_send(r, NGX_HTTP_FORBIDDEN,
                                       (const char *) message);
}


/* WWW-Authenticate: Bearer realm="..."[, error="..."][, ...] */

static ngx_int_t
ngx_http_gonsters_auth_challenge(ngx_http_request_t *r, const char *error,
    const char *description, ngx_str_t *scope)
{
    size_t                               len;
    u_char                              *p;
    ngx_table_elt_t                     *h;
    ngx_http_gonsters_auth_main_conf_t  *amcf;

    amcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_auth_module);

    len = sizeof("Bearer realm=\"\"") - 1 + amcf->realm.len;

    if (error) {
        len += sizeof(", error=\"\"") - 1 + ngx_strlen(error);
    }

    if (description) {
        len += sizeof(", error_description=\"\"") - 1 + ngx_strlen(description);
    }

    if (scope) {
        len += sizeof(", scope=\"\"") - 1 + scope->len;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->value.data = ngx_pnalloc(r->pool, len);
    if (h->value.data == NULL) {
        h->hash = 0;
        return NGX_ERROR;
    }

    p = ngx_sprintf(h->value.data, "Bearer realm=\"%V\"", &amcf->realm);

    if (error) {
        p = ngx_sprintf(p, ", error=\"%s\"", error);
    }

    if (description) {
        p = ngx_sprintf(p, ", error_description=\"%s\"", description);
    }

    if (scope) {
        p = ngx_sprintf(p, ", scope=\"%V\"", scope);
    }

    h->value.len = p - h->value.data;
    h->hash = 1;
    ngx_str_set(&h->key, "WWW-Authenticate");

    r->headers_out.www_authenticate = h;

    return NGX_OK;
}


/*
 * Under "satisfy any" another access module may still let the request in:
 * the status goes back to nginx (with the WWW-Authenticate header, which
 * nginx hides if access is granted).  Otherwise the answer is sent here, as
 * JSON, and the request is finalized.
 */

static ngx_int_t
ngx_http_gonsters_auth_send(ngx_http_request_t *r, ngx_uint_t status,
    const char *message)
{
    ngx_int_t                  rc;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (clcf->satisfy != NGX_HTTP_SATISFY_ALL) {
        return status;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_gonsters_send_error(r, status, message);

    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}
