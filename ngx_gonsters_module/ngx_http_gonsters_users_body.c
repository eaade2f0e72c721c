/*
 * Request bodies of the users endpoints: read whole into memory
 * (request_body_in_single_buf) and required to fit in
 * client_body_buffer_size: a larger body (Content-Length, or a chunked body
 * nginx had to put in a temporary file) is refused with 413 and a JSON
 * error, never read from disk.  The parsed tree is freed by a cleanup of the
 * request pool.  Also the JSON error answers that name fields.
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_users.h"
#include "gn_utf8.h"


static void
ngx_http_gonsters_json_cleanup(void *data)
{
    cJSON_Delete(data);
}


ngx_int_t
ngx_http_gonsters_users_fields(ngx_http_request_t *r, ngx_uint_t status,
    const char *message, ngx_http_gonsters_field_errors_t *errs)
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

    for (i = 0; arr && i < errs->n; i++) {
        e = cJSON_CreateObject();
        if (e == NULL) {
            break;
        }
        cJSON_AddStringToObject(e, "field", errs->e[i].field);
        cJSON_AddStringToObject(e, "error", errs->e[i].error);
        cJSON_AddItemToArray(arr, e);
    }

    return ngx_http_gonsters_send_cjson(r, status, root);
}


ngx_int_t
ngx_http_gonsters_users_field(ngx_http_request_t *r, ngx_uint_t status,
    const char *message, const char *field, const char *error)
{
    ngx_http_gonsters_field_errors_t  errs;

    errs.n = 0;
    ngx_http_gonsters_users_error(&errs, field, error);

    return ngx_http_gonsters_users_fields(r, status, message, &errs);
}


void
ngx_http_gonsters_users_error(ngx_http_gonsters_field_errors_t *errs,
    const char *field, const char *error)
{
    /* the callers record fewer errors than there are fields */
    if (errs->n == NGX_HTTP_GONSTERS_MAX_ERRORS) {
        return;
    }

    errs->e[errs->n].field = field;
    errs->e[errs->n].error = error;
    errs->n++;
}


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


ngx_int_t
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


ngx_int_t
ngx_http_gonsters_users_required(ngx_http_gonsters_users_ctx_t *ctx,
    const char *name, ngx_str_t *s, ngx_http_gonsters_field_errors_t *errs)
{
    ngx_int_t    rc;
    const char  *error;

    error = NULL;

    rc = ngx_http_gonsters_users_string(ctx, name, s, &error);
    if (rc == NGX_OK) {
        return NGX_OK;
    }

    ngx_http_gonsters_users_error(errs, name,
                                  rc == NGX_DECLINED ? "is required" : error);

    return NGX_ERROR;
}


ngx_int_t
ngx_http_gonsters_users_optional(ngx_http_gonsters_users_ctx_t *ctx,
    const char *name, ngx_str_t *s, size_t max, const char *too_long,
    ngx_http_gonsters_field_errors_t *errs)
{
    ngx_int_t    rc;
    const char  *error;

    error = NULL;

    rc = ngx_http_gonsters_users_string(ctx, name, s, &error);

    if (rc == NGX_OK && s->len > max) {
        error = too_long;
        rc = NGX_ERROR;
    }

    if (rc == NGX_ERROR) {
        ngx_http_gonsters_users_error(errs, name, error);
    }

    return rc;
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


ngx_int_t
ngx_http_gonsters_users_read(ngx_http_request_t *r,
    ngx_http_gonsters_body_pt next)
{
    if (r->method != NGX_HTTP_POST) {
        return ngx_http_gonsters_send_not_allowed(r, "POST");
    }

    return ngx_http_gonsters_users_read_body(r, next);
}


/* the body of any method that has one (the machine registry's PATCH) */
ngx_int_t
ngx_http_gonsters_users_read_body(ngx_http_request_t *r,
    ngx_http_gonsters_body_pt next)
{
    ngx_int_t                       rc;
    ngx_http_core_loc_conf_t       *clcf;
    ngx_http_gonsters_users_ctx_t  *ctx;

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
