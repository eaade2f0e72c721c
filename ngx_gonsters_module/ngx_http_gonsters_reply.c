
/*
 * JSON responses: every answer of the module, errors included, is JSON
 * ({"status":"error","message":...} for errors, as ARCHITECTURE.md says).
 */


#include "ngx_http_gonsters_module.h"
#include "gn_json.h"

#include <cjson/cJSON.h>


static ngx_str_t  ngx_http_gonsters_json_type = ngx_string("application/json");


ngx_int_t
ngx_http_gonsters_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *json)
{
    return ngx_http_gonsters_send_body(r, status, &ngx_http_gonsters_json_type,
                                       json);
}


ngx_int_t
ngx_http_gonsters_send_cjson(ngx_http_request_t *r, ngx_uint_t status,
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


ngx_int_t
ngx_http_gonsters_send_body(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *type, ngx_str_t *body)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;
    r->headers_out.content_type = *type;
    r->headers_out.content_type_len = type->len;
    r->headers_out.content_length_n = body->len;

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = body->data;
    b->last = body->data + body->len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


ngx_int_t
ngx_http_gonsters_send_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *message)
{
    size_t      len;
    u_char     *p;
    ngx_str_t   json;

    static const char  head[] = "{\"status\":\"error\",\"message\":\"";
    static const char  tail[] = "\"}";

    len = ngx_strlen(message);

    json.len = sizeof(head) - 1 + gn_json_escape_len(message, len)
               + sizeof(tail) - 1;
    json.data = ngx_pnalloc(r->pool, json.len);
    if (json.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(json.data, head, sizeof(head) - 1);
    p = (u_char *) gn_json_escape((char *) p, message, len);
    ngx_memcpy(p, tail, sizeof(tail) - 1);

    return ngx_http_gonsters_send_json(r, status, &json);
}


/* head, JSON text the caller vouches for, tail: the answers that wrap a
 * value already in JSON form (a machine object, a UUID in quotes) */
ngx_int_t
ngx_http_gonsters_send_wrapped(ngx_http_request_t *r, ngx_uint_t status,
    const char *head, ngx_str_t *middle, const char *tail)
{
    size_t      hlen, tlen;
    u_char     *p;
    ngx_str_t   json;

    hlen = ngx_strlen(head);
    tlen = ngx_strlen(tail);

    json.len = hlen + middle->len + tlen;
    json.data = ngx_pnalloc(r->pool, json.len);
    if (json.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(json.data, head, hlen);
    p = ngx_cpymem(p, middle->data, middle->len);
    ngx_memcpy(p, tail, tlen);

    return ngx_http_gonsters_send_json(r, status, &json);
}


/* the first occurrence of a query argument, URI-unescaped ('+' stays '+',
 * as in "+07:00") and NUL-terminated, in r->pool; NGX_DECLINED when
 * absent */
ngx_int_t
ngx_http_gonsters_arg(ngx_http_request_t *r, const char *name,
    ngx_str_t *value)
{
    ngx_str_t  raw;

    if (ngx_http_arg(r, (u_char *) name, ngx_strlen(name), &raw) != NGX_OK) {
        return NGX_DECLINED;
    }

    return ngx_http_gonsters_unescape(r->pool, &raw, value);
}


/* raw URI-unescaped into a NUL-terminated copy in pool */
ngx_int_t
ngx_http_gonsters_unescape(ngx_pool_t *pool, ngx_str_t *raw,
    ngx_str_t *value)
{
    u_char  *src, *dst;

    value->data = ngx_pnalloc(pool, raw->len + 1);
    if (value->data == NULL) {
        return NGX_ERROR;
    }

    src = raw->data;
    dst = value->data;
    ngx_unescape_uri(&dst, &src, raw->len, 0);
    *dst = '\0';
    value->len = dst - value->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_gonsters_add_header(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    h->key = *name;
    h->value = *value;

    return NGX_OK;
}


static const char  *ngx_http_gonsters_backend_names[] = {
    "postgres", "redis", "influxdb", "password"
};


const char *
ngx_http_gonsters_backend_name(ngx_http_gonsters_backend_e backend)
{
    if (backend >= NGX_HTTP_GONSTERS_BACKEND_N) {
        return "unknown";
    }

    return ngx_http_gonsters_backend_names[backend];
}


/* 405 with Allow */

ngx_int_t
ngx_http_gonsters_send_not_allowed(ngx_http_request_t *r, const char *allow)
{
    ngx_str_t  name = ngx_string("Allow");
    ngx_str_t  value;

    value.data = (u_char *) allow;
    value.len = ngx_strlen(allow);

    if (ngx_http_gonsters_add_header(r, &name, &value) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_send_error(r, NGX_HTTP_NOT_ALLOWED,
                                        "Method not allowed");
}


/* Retry-After on answers about a store that is down or stalled */

ngx_int_t
ngx_http_gonsters_add_retry_after(ngx_http_request_t *r)
{
    ngx_str_t                       name = ngx_string("Retry-After");
    ngx_str_t                       value;
    ngx_http_gonsters_main_conf_t  *gmcf;

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_module);

    value.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (value.data == NULL) {
        return NGX_ERROR;
    }

    value.len = ngx_sprintf(value.data, "%T", gmcf->retry_after) - value.data;

    return ngx_http_gonsters_add_header(r, &name, &value);
}


ngx_int_t
ngx_http_gonsters_send_unavailable(ngx_http_request_t *r,
    ngx_http_gonsters_backend_e backend,
    ngx_http_gonsters_backend_status_e status)
{
    u_char  *p;
    char     message[64];

    if (ngx_http_gonsters_add_retry_after(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_snprintf((u_char *) message, sizeof(message) - 1,
                     "Service unavailable: %s %s",
                     ngx_http_gonsters_backend_name(backend),
                     status == NGX_HTTP_GONSTERS_BACKEND_TIMEOUT
                     ? "timed out" : "is unavailable");
    *p = '\0';

    return ngx_http_gonsters_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                        message);
}
