
/*
 * ngx_http_gonsters_test_module.so: loaded by the tests only, after
 * ngx_http_gonsters_module.so (nginx loads modules with RTLD_GLOBAL, so the
 * API's functions resolve here).  Each ngx_http_gonsters_test_<area>.c in
 * this directory is a module whose locations drive one backend API the way
 * the REST handlers do; this one only names the .so.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


static ngx_http_module_t  ngx_http_gonsters_test_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_gonsters_test_module = {
    NGX_MODULE_V1,
    &ngx_http_gonsters_test_module_ctx,    /* module context */
    NULL,                                  /* module directives */
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
