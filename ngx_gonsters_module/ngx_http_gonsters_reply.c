
/*
 * JSON responses: every answer of the module, errors included, is JSON
 * ({"status":"error","message":...} for errors, as ARCHITECTURE.md says).
 */


#include "ngx_http_gonsters_module.h"
#include "gn_json.h"


static ngx_str_t  ngx_http_gonsters_json_type = ngx_string("application/json");


ngx_int_t
ngx_http_gonsters_send_json(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *json)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;
    r->headers_out.content_type = ngx_http_gonsters_json_type;
    r->headers_out.content_type_len = ngx_http_gonsters_json_type.len;
    r->headers_out.content_length_n = json->len;

    rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->pos = json->data;
    b->last = json->data + json->len;
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
