
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
 *
 * Calls.  Every call ends exactly once, never synchronously inside the
 * function that started it: with the reply (OK, or ERROR for an error
 * reply), TIMEOUT (no reply before the deadline: the connection is then
 * considered broken, dropped and reconnected, and the other calls on it end
 * with TIMEOUT too) or UNAVAILABLE (no usable connection: calls made while
 * Redis is down or being reconnected fail at once, nothing is queued behind
 * a dead connection).  A request call's handler does not run when the
 * request was terminated meanwhile (client gone, worker_shutdown_timeout):
 * the request pool's cleanup detaches the call; nor when the worker exits
 * with the call pending.  A call without request always gets its done
 * callback, at the latest from exit_process.
 *
 * Commands that change the connection's mode ([P|S]SUBSCRIBE,
 * [P|S]UNSUBSCRIBE, MONITOR) are refused on the command connection: use
 * ngx_http_gonsters_redis_subscribe().  The connection is shared by every
 * request of the worker: commands that block it (BLPOP ...) or change its
 * state for the calls after them (SELECT, CLIENT REPLY, AUTH) must not be
 * used.
 */


#ifndef _NGX_HTTP_GONSTERS_REDIS_H_INCLUDED_
#define _NGX_HTTP_GONSTERS_REDIS_H_INCLUDED_


#include "ngx_http_gonsters_module.h"
#include <hiredis/hiredis.h>
#include <hiredis/async.h>


/* reply is valid during the call only (hiredis frees it afterwards); it
 * is NULL unless status is OK or ERROR (an error reply) */
typedef ngx_int_t (*ngx_http_gonsters_redis_handler_pt)(
    ngx_http_request_t *r, ngx_http_gonsters_backend_status_e status,
    redisReply *reply, void *data);

typedef void (*ngx_http_gonsters_redis_done_pt)(
    ngx_http_gonsters_backend_status_e status, redisReply *reply,
    void *data);

/* channel and message are valid during the call only */
typedef void (*ngx_http_gonsters_redis_message_pt)(ngx_str_t *channel,
    ngx_str_t *message, void *data);


/* the state of this worker's command connection, for health checks and
 * logs; error is valid until the next call into this module */
typedef struct {
    ngx_uint_t                  connected;  /* it answered its handshake */
    ngx_uint_t                  attempt;    /* failed connects in a row */
    ngx_msec_t                  delay;      /* before the planned attempt */
    ngx_uint_t                  pending;    /* calls waiting for a reply */
    ngx_uint_t                  subscribed; /* the pub/sub connection is up */
    ngx_str_t                   error;      /* the last failure, or empty */
} ngx_http_gonsters_redis_state_t;


/* a request call: suspends r; NGX_DONE when started (the handler will run
 * later, its return value goes to ngx_http_gonsters_resume()), NGX_ERROR if
 * not (r is not suspended, the handler will not run) */
ngx_int_t ngx_http_gonsters_redis_query(ngx_http_request_t *r,
    ngx_http_gonsters_redis_handler_pt handler, void *data,
    int argc, const char **argv, const size_t *argvlen);

/* a call without a request; done runs later on the event loop; NGX_OK when
 * started, NGX_ERROR if not (done will not run) */
ngx_int_t ngx_http_gonsters_redis_call(ngx_log_t *log,
    ngx_http_gonsters_redis_done_pt done, void *data,
    int argc, const char **argv, const size_t *argvlen);

/* subscribe this worker to a channel for its lifetime (re-subscribed after
 * every reconnect); call from init_process; the channel is copied.
 * NGX_DECLINED when Redis is not configured or this is not a worker. */
ngx_int_t ngx_http_gonsters_redis_subscribe(ngx_cycle_t *cycle,
    ngx_str_t *channel, ngx_http_gonsters_redis_message_pt handler,
    void *data);

/* NGX_OK when "gonsters_redis" is configured, NGX_DECLINED if not */
ngx_int_t ngx_http_gonsters_redis_configured(ngx_cycle_t *cycle);

void ngx_http_gonsters_redis_get_state(ngx_http_gonsters_redis_state_t *st);


/*
 * Internal: a hiredis async context on nginx events
 * (ngx_http_gonsters_redis_adapter.c), used by ngx_http_gonsters_redis.c.
 */

typedef struct ngx_http_gonsters_redis_link_s  ngx_http_gonsters_redis_link_t;

typedef void (*ngx_http_gonsters_redis_closed_pt)(
    ngx_http_gonsters_redis_link_t *link, redisAsyncContext *ac);
typedef void (*ngx_http_gonsters_redis_abort_pt)(
    ngx_http_gonsters_redis_link_t *link, const char *reason,
    ngx_uint_t shutdown);

struct ngx_http_gonsters_redis_link_s {
    redisAsyncContext                  *ac;
    ngx_connection_t                   *connection;

    /* hiredis frees the context: the nginx connection is already given
     * back, the socket is closed right after */
    ngx_http_gonsters_redis_closed_pt   closed;
    /* the owner must free the context: nginx closes the connection
     * (shutdown: idle connections on graceful shutdown,
     * worker_shutdown_timeout) or an event operation failed */
    ngx_http_gonsters_redis_abort_pt    abort;
    void                               *data;

    unsigned                            want_write:1;
    unsigned                            in_read:1;
    unsigned                            in_write:1;
    unsigned                            error:1;
};

ngx_int_t ngx_http_gonsters_redis_link(ngx_http_gonsters_redis_link_t *link,
    redisAsyncContext *ac, ngx_log_t *log);


extern ngx_module_t  ngx_http_gonsters_redis_module;


#endif /* _NGX_HTTP_GONSTERS_REDIS_H_INCLUDED_ */
