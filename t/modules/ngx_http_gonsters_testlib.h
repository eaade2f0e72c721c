
/*
 * Helpers shared by the test modules of ngx_http_gonsters_test_module.so
 * (ngx_http_gonsters_testlib.c: a name outside the ngx_http_gonsters_test_*
 * pattern, from which t/modules/config derives module names).
 */


#ifndef _NGX_HTTP_GONSTERS_TESTLIB_H_INCLUDED_
#define _NGX_HTTP_GONSTERS_TESTLIB_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


ngx_int_t ngx_http_gonsters_test_compile(ngx_conf_t *cf, ngx_str_t *value,
    ngx_http_complex_value_t *cv);
ngx_int_t ngx_http_gonsters_test_unescaped(ngx_http_request_t *r,
    ngx_http_complex_value_t *cv, ngx_str_t *value);
ngx_int_t ngx_http_gonsters_test_json_string(ngx_http_request_t *r,
    const char *head, ngx_str_t *s, const char *tail, ngx_str_t *json);


#endif /* _NGX_HTTP_GONSTERS_TESTLIB_H_INCLUDED_ */
