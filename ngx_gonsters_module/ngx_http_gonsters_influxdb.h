
/*
 * InfluxDB 1.x (v1 HTTP API) from nginx workers, through nginx's own
 * upstream machinery: a subrequest to an internal location that proxies to
 * an upstream with keepalive (ngx_http_gonsters_influxdb_module).  The
 * subrequest's output is captured by this module's body filter, whatever
 * its size (up to a configured maximum, beyond which the call fails; it is
 * never truncated).
 *
 * Directives (http):
 *   gonsters_influxdb_location /_influxdb;   the internal location, e.g.
 *        upstream influxdb { server 127.0.0.1:8086; keepalive 8; }
 *        location /_influxdb/ {
 *            internal;
 *            proxy_pass http://influxdb/;
 *            proxy_http_version 1.1;
 *            proxy_set_header Connection "";
 *            proxy_pass_request_headers off;
 *            proxy_read_timeout 5s;
 *        }
 *   gonsters_influxdb_database NAME;         default "gonsters"
 *   gonsters_influxdb_max_response SIZE;     default 64m
 */


#ifndef _NGX_HTTP_GONSTERS_INFLUXDB_H_INCLUDED_
#define _NGX_HTTP_GONSTERS_INFLUXDB_H_INCLUDED_


#include "ngx_http_gonsters_module.h"


typedef struct {
    ngx_http_gonsters_backend_status_e  status;
    ngx_uint_t                    http_status;  /* InfluxDB's, 0 if none */
    ngx_str_t                     body;         /* whole body, in r->pool */
    ngx_msec_t                    latency;
} ngx_http_gonsters_influxdb_result_t;


typedef ngx_int_t (*ngx_http_gonsters_influxdb_handler_pt)(
    ngx_http_request_t *r, ngx_http_gonsters_influxdb_result_t *res,
    void *data);


/* POST /write?db=...&precision=ns with a line-protocol body.  204 is OK;
 * 4xx is ERROR with InfluxDB's message in body (a partial write is 400);
 * 5xx, refused or timed out is UNAVAILABLE or TIMEOUT.  Suspends r;
 * NGX_DONE when started. */
ngx_int_t ngx_http_gonsters_influxdb_write(ngx_http_request_t *r,
    ngx_chain_t *lines, ngx_http_gonsters_influxdb_handler_pt handler,
    void *data);

/* POST /query?db=...&epoch=ns with q (and bind params as JSON, may be
 * NULL); the answer's JSON is in body. */
ngx_int_t ngx_http_gonsters_influxdb_query(ngx_http_request_t *r,
    ngx_str_t *influxql, ngx_str_t *params,
    ngx_http_gonsters_influxdb_handler_pt handler, void *data);

/* GET /ping: OK on 204 */
ngx_int_t ngx_http_gonsters_influxdb_ping(ngx_http_request_t *r,
    ngx_http_gonsters_influxdb_handler_pt handler, void *data);

ngx_int_t ngx_http_gonsters_influxdb_configured(ngx_http_request_t *r);


extern ngx_module_t  ngx_http_gonsters_influxdb_module;


#endif /* _NGX_HTTP_GONSTERS_INFLUXDB_H_INCLUDED_ */
