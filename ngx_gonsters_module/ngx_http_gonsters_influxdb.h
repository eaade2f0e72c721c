
/*
 * InfluxDB 1.x (v1 HTTP API) from nginx workers, through nginx's own
 * upstream machinery: a subrequest to an internal location that proxies to
 * an upstream with keepalive (ngx_http_gonsters_influxdb_module).  The
 * subrequest's output is captured by this module's header and body filters,
 * whatever its size, up to gonsters_influxdb_max_response, beyond which the
 * call fails (ERROR, logged); nothing is ever truncated silently.
 *
 * Directives:
 *   gonsters_influxdb_location URI;          http; the internal location
 *                                            (no default: calls fail with
 *                                            NGX_ERROR when it is not set)
 *   gonsters_influxdb_database NAME;         http; default "gonsters"
 *   gonsters_influxdb_max_response SIZE;     http, server, location (of the
 *                                            calling request); default 64m
 *
 * The internal location, e.g. for "gonsters_influxdb_location /_influxdb;":
 *
 *   upstream influxdb { server 127.0.0.1:8086; keepalive 8; }
 *
 *   location /_influxdb/ {
 *       internal;                             required (checked per call)
 *       proxy_pass http://influxdb/;
 *       proxy_http_version 1.1;               keepalive to InfluxDB
 *       proxy_set_header Connection "";
 *       proxy_pass_request_headers off;       nothing of the client's
 *       proxy_set_header Content-Type application/x-www-form-urlencoded;
 *       proxy_max_temp_file_size 0;           required unless proxy_buffering
 *                                             is off (checked per call)
 *       proxy_connect_timeout 1s;             the deadlines of a call
 *       proxy_send_timeout 5s;
 *       proxy_read_timeout 5s;
 *       proxy_next_upstream error non_idempotent;
 *                                             retry a write once on a fresh
 *                                             connection when a kept-alive
 *                                             one turns out to be closed
 *   }
 *
 * No error_page or proxy_intercept_errors in that location.  The
 * subrequest never carries the client's request headers (Authorization,
 * Cookie, Content-Type ...): its header list is built anew and holds only
 * Content-Type, so proxy_pass_request_headers on is safe as well.
 *
 * Calls are made by content handlers (or handlers of other backend calls)
 * of a request that has not started its own output; one InfluxDB call at a
 * time per request.  While it runs the call owns r->write_event_handler and
 * r may send nothing (calls to other stores may run meanwhile).  A call
 * that cannot be started returns NGX_ERROR and leaves the request as it
 * was.  A client that goes away while a call is pending makes nginx
 * terminate the request: the handler is then not called (keep foreign
 * resources in pool cleanups).
 *
 * Outcome: connection refused, 502 or a broken connection is UNAVAILABLE,
 * a proxy timeout (504) is TIMEOUT, an InfluxDB 5xx is UNAVAILABLE, a 4xx
 * is ERROR with InfluxDB's message in body, 2xx is OK.  A /query that
 * InfluxDB answers 200 may still hold per-statement "error" fields.
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


/* POST /write?db=...&precision=ns with a line-protocol body: the memory
 * buffers of lines (no file buffers), which must stay valid until the call
 * completes (r->pool).  204 is OK; 4xx is ERROR with InfluxDB's message in
 * body (a partial write is 400); 5xx, refused or timed out is UNAVAILABLE
 * or TIMEOUT.  Suspends r; NGX_DONE when started. */
ngx_int_t ngx_http_gonsters_influxdb_write(ngx_http_request_t *r,
    ngx_chain_t *lines, ngx_http_gonsters_influxdb_handler_pt handler,
    void *data);

/* POST /query with the form body q=...&db=...&epoch=ns[&params=...]: the
 * InfluxQL text and the bind parameters (a JSON object, or NULL) are
 * form-encoded, never pasted.  The answer's JSON is in body. */
ngx_int_t ngx_http_gonsters_influxdb_query(ngx_http_request_t *r,
    ngx_str_t *influxql, ngx_str_t *params,
    ngx_http_gonsters_influxdb_handler_pt handler, void *data);

/* GET /ping: OK on 204 */
ngx_int_t ngx_http_gonsters_influxdb_ping(ngx_http_request_t *r,
    ngx_http_gonsters_influxdb_handler_pt handler, void *data);

/* NGX_OK when gonsters_influxdb_location is set, NGX_DECLINED if not */
ngx_int_t ngx_http_gonsters_influxdb_configured(ngx_http_request_t *r);

/* application/x-www-form-urlencoded value: every byte but ALPHA, DIGIT and
 * "-._~" as %XX; returns the length written (dst NULL: the length needed) */
size_t ngx_http_gonsters_influxdb_escape(u_char *dst, u_char *src,
    size_t size);


extern ngx_module_t  ngx_http_gonsters_influxdb_module;


#endif /* _NGX_HTTP_GONSTERS_INFLUXDB_H_INCLUDED_ */
