
/*
 * Redis from nginx workers: hiredis' async API on nginx events
 * (ngx_http_gonsters_redis_module).  One command connection per worker
 * (Redis pipelines commands) and one pub/sub connection when something
 * subscribes; both reconnect by themselves with backoff.
 *
 * Directives (http):
 *   gonsters_redis ADDRESS;            127.0.0.1:6379, [::1]:6379 or
 *                                      unix:/path (no host names: hiredis
 *                                      would resolve them with a blocking
 *                                      call); checked by nginx -t
 *   gonsters_redis_timeout T;          connect and command deadline
 *                                      (default 1s); hiredis 0.14 has none,
 *                                      these are nginx timers
 *   gonsters_redis_reconnect T;        first reconnect delay, doubled up to
 *                                      30 times the value (default 100ms)
 */


#ifndef _NGX_HTTP_GONSTERS_REDIS_H_INCLUDED_
#define _NGX_HTTP_GONSTERS_REDIS_H_INCLUDED_


#include "ngx_http_gonsters_module.h"
#include <hiredis/hiredis.h>


/* reply is valid during the call only (hiredis frees it afterwards); it
 * is NULL unless status is OK or ERROR (an error reply) */
typedef ngx_int_t (*ngx_http_gonsters_redis_handler_pt)(
    ngx_http_request_t *r, ngx_http_gonsters_backend_status_e status,
    redisReply *reply, void *data);

typedef void (*ngx_http_gonsters_redis_done_pt)(
    ngx_http_gonsters_backend_status_e status, redisReply *reply,
    void *data);

typedef void (*ngx_http_gonsters_redis_message_pt)(ngx_str_t *channel,
    ngx_str_t *message, void *data);


/* a request call: suspends r; NGX_DONE when started, NGX_ERROR if not */
ngx_int_t ngx_http_gonsters_redis_query(ngx_http_request_t *r,
    ngx_http_gonsters_redis_handler_pt handler, void *data,
    int argc, const char **argv, const size_t *argvlen);

/* a call without a request; done runs on the event loop */
ngx_int_t ngx_http_gonsters_redis_call(ngx_log_t *log,
    ngx_http_gonsters_redis_done_pt done, void *data,
    int argc, const char **argv, const size_t *argvlen);

/* subscribe this worker to a channel for its lifetime (re-subscribed after
 * every reconnect); call from init_process */
ngx_int_t ngx_http_gonsters_redis_subscribe(ngx_cycle_t *cycle,
    ngx_str_t *channel, ngx_http_gonsters_redis_message_pt handler,
    void *data);

ngx_int_t ngx_http_gonsters_redis_configured(ngx_cycle_t *cycle);


extern ngx_module_t  ngx_http_gonsters_redis_module;


#endif /* _NGX_HTTP_GONSTERS_REDIS_H_INCLUDED_ */
