
/*
 * GET /health: liveness of this nginx worker.  Dependency checks of
 * PostgreSQL, Redis and InfluxDB are added with the backend layer.
 */


#include "ngx_http_gonsters_module.h"


ngx_int_t
ngx_http_gonsters_health_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;
    ngx_str_t  body = ngx_string("{\"status\":\"healthy\",\"version\":\""
                                 NGX_HTTP_GONSTERS_VERSION "\"}");

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_gonsters_send_not_allowed(r, "GET, HEAD");
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_gonsters_send_json(r, NGX_HTTP_OK, &body);
}
