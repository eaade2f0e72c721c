
/*
 * Helpers shared by the test modules; see ngx_http_gonsters_testlib.h.
 */


#include "ngx_http_gonsters_testlib.h"
#include "ngx_http_gonsters_module.h"
#include "gn_json.h"


/* a directive's argument, with variables, into cv */

ngx_int_t
ngx_http_gonsters_test_compile(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_complex_value_t *cv)
{
    ngx_http_compile_complex_value_t  ccv;

    ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

    ccv.cf = cf;
    ccv.value = value;
    ccv.complex_value = cv;

    return ngx_http_compile_complex_value(&ccv);
}


/*
 * The value of cv, URL-decoded (the tests send %XX for every special
 * byte, NUL included), NUL-terminated.
 */

ngx_int_t
ngx_http_gonsters_test_unescaped(ngx_http_request_t *r,
    ngx_http_complex_value_t *cv, ngx_str_t *value)
{
    ngx_str_t  raw;

    if (ngx_http_complex_value(r, cv, &raw) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_gonsters_unescape(r->pool, &raw, value);
}


/* head, s as the contents of a JSON string, tail */

ngx_int_t
ngx_http_gonsters_test_json_string(ngx_http_request_t *r, const char *head,
    ngx_str_t *s, const char *tail, ngx_str_t *json)
{
    u_char  *p;
    size_t   lh, lt;

    lh = ngx_strlen(head);
    lt = ngx_strlen(tail);

    json->len = lh + gn_json_escape_len((char *) s->data, s->len) + lt;
    json->data = ngx_pnalloc(r->pool, json->len);
    if (json->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(json->data, head, lh);
    p = (u_char *) gn_json_escape((char *) p, (char *) s->data, s->len);
    ngx_memcpy(p, tail, lt);

    return NGX_OK;
}
