
/*
 * Redis from nginx workers (ngx_http_gonsters_redis_module).
 *
 * Each worker has one command connection, on which Redis pipelines the
 * commands of all requests, and, once something subscribes, one pub/sub
 * connection.  Both are hiredis 0.14 async contexts on nginx events
 * (ngx_http_gonsters_redis_adapter.c) and go through the same states:
 *
 *   CLOSED --connect--> CONNECTING --PONG--> READY
 *      ^                    |                  |
 *      |          failure, connect timeout,    |
 *      |          command timeout, EOF ...     |
 *      |                    v                  v
 *      +--- (shutdown) -- WAITING <------------+
 *                           | reconnect timer (delay doubles up to a cap)
 *                           +--> CONNECTING
 *
 * A connection counts as up once it answered PING: calls are sent on a
 * READY connection, and on a CONNECTING one only when it is the worker's
 * first (nothing failed yet); otherwise they fail at once as UNAVAILABLE.
 *
 * hiredis 0.14 has no timeouts: the handshake and every command have an
 * nginx timer.  Redis answers in order, so a command past its deadline means
 * the connection is stuck: it is dropped (redisAsyncFree) and every call
 * still on it ends with TIMEOUT.
 *
 * A call belongs to hiredis from redisAsyncCommandArgv() until hiredis runs
 * its callback, with the reply or with NULL when the context is freed; that
 * callback frees it.  "finished" makes the caller's handler run once,
 * whatever comes first.  A call that never reached hiredis ends through a
 * posted event, so no handler ever runs inside the function that started
 * its call.
 *
 * Timers: connect and reconnect timers are cancelable (an idle worker exits
 * at once on QUIT); command deadlines are not (a request in progress is
 * answered first, within the timeout).  Both connections are marked idle
 * when no call is pending, so nginx closes them on graceful shutdown; a
 * request still running then reconnects on demand.
 */


#include "ngx_http_gonsters_redis.h"
#include "ngx_http_gonsters_event.h"

#include <sys/un.h>


#define NGX_HTTP_GONSTERS_REDIS_BACKOFF_CAP   30
#define NGX_HTTP_GONSTERS_REDIS_ADDRESS_LEN   128
#define NGX_HTTP_GONSTERS_REDIS_ERROR_LEN     128


typedef enum {
    NGX_HTTP_GONSTERS_REDIS_CLOSED = 0,
    NGX_HTTP_GONSTERS_REDIS_WAITING,
    NGX_HTTP_GONSTERS_REDIS_CONNECTING,
    NGX_HTTP_GONSTERS_REDIS_READY
} ngx_http_gonsters_redis_conn_state_e;


typedef struct {
    ngx_str_t                           address;   /* as configured */
    ngx_str_t                           host;      /* IP or unix path, NUL */
    ngx_uint_t                          port;      /* 0: unix socket */
    ngx_msec_t                          timeout;
    ngx_msec_t                          reconnect;
} ngx_http_gonsters_redis_main_conf_t;


typedef struct {
    const char                         *name;
    ngx_http_gonsters_redis_link_t      link;
    ngx_http_gonsters_redis_conn_state_e  state;
    ngx_event_t                         connect_timer;
    ngx_event_t                         reconnect_timer;
    ngx_msec_t                          delay;     /* of the planned retry */
    ngx_uint_t                          attempt;   /* failures in a row */
    ngx_uint_t                          pending;   /* calls hiredis holds */
    ngx_http_gonsters_backend_status_e  drop_status;
    const char                         *reason;    /* why we drop it */
    u_char                              error[NGX_HTTP_GONSTERS_REDIS_ERROR_LEN];
    size_t                              error_len;
    unsigned                            subscriber:1;
    unsigned                            dropping:1;
    unsigned                            retry:1;   /* reconnect after drop */
} ngx_http_gonsters_redis_conn_t;


typedef struct ngx_http_gonsters_redis_sub_s  ngx_http_gonsters_redis_sub_t;

struct ngx_http_gonsters_redis_sub_s {
    ngx_str_t                           channel;
    ngx_http_gonsters_redis_message_pt  handler;
    void                               *data;
    ngx_http_gonsters_redis_sub_t      *next;
};


typedef struct {
    ngx_http_request_t                 *r;
    ngx_http_gonsters_redis_handler_pt  handler;
    ngx_http_gonsters_redis_done_pt     done;
    void                               *data;
    ngx_pool_cleanup_t                 *cln;
    ngx_event_t                         event;     /* deadline, or posted */
    ngx_msec_t                          start;
    ngx_http_gonsters_backend_status_e  status;    /* of a posted failure */
    unsigned                            queued:1;  /* hiredis holds it */
    unsigned                            finished:1;
    unsigned                            detached:1;
} ngx_http_gonsters_redis_call_t;


/* this worker's state; settings are copied so that nothing points into a
 * configuration cycle */
typedef struct {
    unsigned                            initialized:1;
    unsigned                            configured:1;
    unsigned                            exiting:1;   /* exit_process runs */
    u_char                              address[NGX_HTTP_GONSTERS_REDIS_ADDRESS_LEN];
    u_char                              host[NGX_HTTP_GONSTERS_REDIS_ADDRESS_LEN];
    ngx_uint_t                          port;
    ngx_msec_t                          timeout;
    ngx_msec_t                          reconnect;
    ngx_http_gonsters_redis_conn_t      command;
    ngx_http_gonsters_redis_conn_t      pubsub;
    ngx_http_gonsters_redis_sub_t      *subs;
    ngx_http_gonsters_redis_sub_t     **last_sub;
} ngx_http_gonsters_redis_worker_t;


static void ngx_http_gonsters_redis_worker_init(ngx_cycle_t *cycle);
static void ngx_http_gonsters_redis_conn_init(
    ngx_http_gonsters_redis_conn_t *conn, const char *name,
    ngx_uint_t subscriber);
static void ngx_http_gonsters_redis_connect(
    ngx_http_gonsters_redis_conn_t *conn);
static void ngx_http_gonsters_redis_connect_failed(
    ngx_http_gonsters_redis_conn_t *conn, const char *reason);
static void ngx_http_gonsters_redis_connected(const redisAsyncContext *ac,
    int status);
static void ngx_http_gonsters_redis_handshake(redisAsyncContext *ac,
    void *reply, void *privdata);
static void ngx_http_gonsters_redis_drop(ngx_http_gonsters_redis_conn_t *conn,
    ngx_http_gonsters_backend_status_e status, const char *reason,
    ngx_uint_t retry);
static void ngx_http_gonsters_redis_closed(
    ngx_http_gonsters_redis_link_t *link, redisAsyncContext *ac);
static void ngx_http_gonsters_redis_abort(ngx_http_gonsters_redis_link_t *link,
    const char *reason, ngx_uint_t shutdown);
static void ngx_http_gonsters_redis_retry_later(
    ngx_http_gonsters_redis_conn_t *conn);
static void ngx_http_gonsters_redis_retry_event(
    ngx_http_gonsters_redis_conn_t *conn, ngx_msec_t cap);
static void ngx_http_gonsters_redis_connect_timeout(ngx_event_t *ev);
static void ngx_http_gonsters_redis_reconnect_handler(ngx_event_t *ev);
static void ngx_http_gonsters_redis_set_idle(
    ngx_http_gonsters_redis_conn_t *conn);
static void ngx_http_gonsters_redis_set_error(
    ngx_http_gonsters_redis_conn_t *conn, const char *error, size_t len);

static ngx_http_gonsters_redis_call_t *ngx_http_gonsters_redis_call_create(
    ngx_log_t *log, int argc, const char **argv, const size_t *argvlen);
static void ngx_http_gonsters_redis_submit(
    ngx_http_gonsters_redis_call_t *call, int argc, const char **argv,
    const size_t *argvlen);
static void ngx_http_gonsters_redis_reply(redisAsyncContext *ac, void *reply,
    void *privdata);
static void ngx_http_gonsters_redis_call_event(ngx_event_t *ev);
static void ngx_http_gonsters_redis_finish(ngx_http_gonsters_redis_call_t *call,
    ngx_http_gonsters_backend_status_e status, redisReply *reply);
static void ngx_http_gonsters_redis_detach(void *data);

static void ngx_http_gonsters_redis_subscribe_all(
    ngx_http_gonsters_redis_conn_t *conn);
static void ngx_http_gonsters_redis_send_subscribe(
    ngx_http_gonsters_redis_conn_t *conn, ngx_str_t *channel);
static void ngx_http_gonsters_redis_message(redisAsyncContext *ac,
    void *reply, void *privdata);

static void *ngx_http_gonsters_redis_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gonsters_redis_init_main_conf(ngx_conf_t *cf,
    void *conf);
static char *ngx_http_gonsters_redis_address(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_gonsters_redis_positive(ngx_conf_t *cf, void *post,
    void *data);
static ngx_int_t ngx_http_gonsters_redis_init_process(ngx_cycle_t *cycle);
static void ngx_http_gonsters_redis_exit_process(ngx_cycle_t *cycle);


static ngx_conf_post_handler_pt  ngx_http_gonsters_redis_positive_p =
    ngx_http_gonsters_redis_positive;


static ngx_command_t  ngx_http_gonsters_redis_commands[] = {

    { ngx_string("gonsters_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_gonsters_redis_address,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gonsters_redis_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_redis_main_conf_t, timeout),
      &ngx_http_gonsters_redis_positive_p },

    { ngx_string("gonsters_redis_reconnect"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_redis_main_conf_t, reconnect),
      &ngx_http_gonsters_redis_positive_p },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gonsters_redis_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_gonsters_redis_create_main_conf, /* create main configuration */
    ngx_http_gonsters_redis_init_main_conf, /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_gonsters_redis_module = {
    NGX_MODULE_V1,
    &ngx_http_gonsters_redis_module_ctx,   /* module context */
    ngx_http_gonsters_redis_commands,      /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_gonsters_redis_init_process,  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_gonsters_redis_exit_process,  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_http_gonsters_redis_worker_t  ngx_http_gonsters_redis_worker;


/* the API */

ngx_int_t
ngx_http_gonsters_redis_query(ngx_http_request_t *r,
    ngx_http_gonsters_redis_handler_pt handler, void *data,
    int argc, const char **argv, const size_t *argvlen)
{
    ngx_pool_cleanup_t              *cln;
    ngx_http_gonsters_redis_call_t  *call;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    call = ngx_http_gonsters_redis_call_create(r->connection->log,
                                               argc, argv, argvlen);
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->r = r;
    call->handler = handler;
    call->data = data;
    call->cln = cln;

    cln->handler = ngx_http_gonsters_redis_detach;
    cln->data = call;

    (void) ngx_http_gonsters_suspend(r);

    ngx_http_gonsters_redis_submit(call, argc, argv, argvlen);

    return NGX_DONE;
}


ngx_int_t
ngx_http_gonsters_redis_call(ngx_log_t *log,
    ngx_http_gonsters_redis_done_pt done, void *data,
    int argc, const char **argv, const size_t *argvlen)
{
    ngx_http_gonsters_redis_call_t  *call;

    call = ngx_http_gonsters_redis_call_create(log, argc, argv, argvlen);
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->done = done;
    call->data = data;

    ngx_http_gonsters_redis_submit(call, argc, argv, argvlen);

    return NGX_OK;
}


ngx_int_t
ngx_http_gonsters_redis_subscribe(ngx_cycle_t *cycle, ngx_str_t *channel,
    ngx_http_gonsters_redis_message_pt handler, void *data)
{
    ngx_http_gonsters_redis_sub_t     *sub;
    ngx_http_gonsters_redis_conn_t    *conn;
    ngx_http_gonsters_redis_worker_t  *w = &ngx_http_gonsters_redis_worker;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_DECLINED;
    }

    ngx_http_gonsters_redis_worker_init(cycle);

    if (!w->configured || w->exiting) {
        return NGX_DECLINED;
    }

    if (channel->len == 0) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "redis: subscription to an empty channel name");
        return NGX_ERROR;
    }

    sub = ngx_alloc(sizeof(ngx_http_gonsters_redis_sub_t) + channel->len,
                    cycle->log);
    if (sub == NULL) {
        return NGX_ERROR;
    }

    sub->channel.data = (u_char *) (sub + 1);
    sub->channel.len = channel->len;
    ngx_memcpy(sub->channel.data, channel->data, channel->len);
    sub->handler = handler;
    sub->data = data;
    sub->next = NULL;

    *w->last_sub = sub;
    w->last_sub = &sub->next;

    conn = &w->pubsub;

    switch (conn->state) {

    case NGX_HTTP_GONSTERS_REDIS_READY:
        ngx_http_gonsters_redis_send_subscribe(conn, &sub->channel);
        break;

    case NGX_HTTP_GONSTERS_REDIS_CLOSED:
        if (conn->link.ac == NULL) {
            ngx_http_gonsters_redis_connect(conn);
        }
        break;

    default:
        /* subscribed with the others when the connection is up */
        break;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_gonsters_redis_configured(ngx_cycle_t *cycle)
{
    ngx_http_gonsters_redis_main_conf_t  *rmcf;

    if (cycle->conf_ctx[ngx_http_module.index] == NULL) {
        return NGX_DECLINED;
    }

    rmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_gonsters_redis_module);

    return (rmcf != NULL && rmcf->address.len != 0) ? NGX_OK : NGX_DECLINED;
}


void
ngx_http_gonsters_redis_get_state(ngx_http_gonsters_redis_state_t *st)
{
    ngx_http_gonsters_redis_worker_t  *w = &ngx_http_gonsters_redis_worker;

    st->connected = (w->command.state == NGX_HTTP_GONSTERS_REDIS_READY);
    st->attempt = w->command.attempt;
    st->delay = w->command.reconnect_timer.timer_set ? w->command.delay : 0;
    st->pending = w->command.pending;
    st->subscribed = (w->pubsub.state == NGX_HTTP_GONSTERS_REDIS_READY);
    st->error.data = w->command.error;
    st->error.len = w->command.error_len;
}


/* connections */

static void
ngx_http_gonsters_redis_worker_init(ngx_cycle_t *cycle)
{
    ngx_http_gonsters_redis_worker_t     *w = &ngx_http_gonsters_redis_worker;
    ngx_http_gonsters_redis_main_conf_t  *rmcf;

    if (w->initialized) {
        return;
    }

    w->initialized = 1;
    w->subs = NULL;
    w->last_sub = &w->subs;

    ngx_http_gonsters_redis_conn_init(&w->command, "command", 0);
    ngx_http_gonsters_redis_conn_init(&w->pubsub, "pub/sub", 1);

    if (ngx_http_gonsters_redis_configured(cycle) != NGX_OK) {
        return;
    }

    rmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_gonsters_redis_module);

    /* lengths are checked by the directive's parser */
    ngx_memcpy(w->address, rmcf->address.data, rmcf->address.len);
    w->address[rmcf->address.len] = '\0';
    ngx_memcpy(w->host, rmcf->host.data, rmcf->host.len);
    w->host[rmcf->host.len] = '\0';
    w->port = rmcf->port;
    w->timeout = rmcf->timeout;
    w->reconnect = rmcf->reconnect;
    w->configured = 1;
}


static void
ngx_http_gonsters_redis_conn_init(ngx_http_gonsters_redis_conn_t *conn,
    const char *name, ngx_uint_t subscriber)
{
    ngx_memzero(conn, sizeof(ngx_http_gonsters_redis_conn_t));

    conn->name = name;
    conn->subscriber = subscriber;
    conn->state = NGX_HTTP_GONSTERS_REDIS_CLOSED;
    conn->drop_status = NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE;

    conn->link.closed = ngx_http_gonsters_redis_closed;
    conn->link.abort = ngx_http_gonsters_redis_abort;
    conn->link.data = conn;

    conn->connect_timer.handler = ngx_http_gonsters_redis_connect_timeout;
    conn->connect_timer.data = conn;
    conn->connect_timer.log = ngx_cycle->log;
    conn->connect_timer.cancelable = 1;

    conn->reconnect_timer.handler = ngx_http_gonsters_redis_reconnect_handler;
    conn->reconnect_timer.data = conn;
    conn->reconnect_timer.log = ngx_cycle->log;
    conn->reconnect_timer.cancelable = 1;
}


/*
 * Non-blocking: the address is an IP address (hiredis' getaddrinfo() of a
 * numeric host and port does no lookup) or a unix socket.
 */

static void
ngx_http_gonsters_redis_connect(ngx_http_gonsters_redis_conn_t *conn)
{
    char                               err[NGX_HTTP_GONSTERS_REDIS_ERROR_LEN];
    redisAsyncContext                 *ac;
    ngx_http_gonsters_redis_worker_t  *w = &ngx_http_gonsters_redis_worker;

    if (w->port) {
        ac = redisAsyncConnect((char *) w->host, (int) w->port);

    } else {
        ac = redisAsyncConnectUnix((char *) w->host);
    }

    if (ac == NULL) {
        ngx_http_gonsters_redis_connect_failed(conn, "out of memory");
        return;
    }

    if (ac->err) {
        ngx_cpystrn((u_char *) err, (u_char *) ac->errstr, sizeof(err));
        redisAsyncFree(ac);
        ngx_http_gonsters_redis_connect_failed(conn, err);
        return;
    }

    if (ngx_http_gonsters_redis_link(&conn->link, ac, ngx_cycle->log)
        != NGX_OK)
    {
        /* no hooks yet: redisFree() only closes the socket */
        redisAsyncFree(ac);
        ngx_http_gonsters_redis_connect_failed(conn, "no free connection");
        return;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_EVENT, ngx_cycle->log, 0,
                   "redis %s connection: connecting, fd:%d",
                   conn->name, ac->c.fd);

    ngx_http_gonsters_metrics_pool(NGX_HTTP_GONSTERS_REDIS, 1, 0);

    conn->state = NGX_HTTP_GONSTERS_REDIS_CONNECTING;
    ngx_http_gonsters_redis_set_idle(conn);

    if (w->port) {
        /* a peer that vanished without a FIN is noticed eventually */
        (void) redisEnableKeepAlive(&ac->c);
    }

    conn->connect_timer.log = ngx_cycle->log;
    ngx_add_timer(&conn->connect_timer, w->timeout);

    /* the connect callback's registration asks for the first write event */
    (void) redisAsyncSetConnectCallback(ac, ngx_http_gonsters_redis_connected);

    if (redisAsyncCommand(ac, ngx_http_gonsters_redis_handshake, conn, "PING")
        != REDIS_OK)
    {
        ngx_http_gonsters_redis_drop(conn,
                                     NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE,
                                     "could not queue PING", 1);
    }
}


static void
ngx_http_gonsters_redis_connect_failed(ngx_http_gonsters_redis_conn_t *conn,
    const char *reason)
{
    ngx_http_gonsters_redis_set_error(conn, reason, ngx_strlen(reason));

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "redis %s connection to %s failed: %s",
                  conn->name, ngx_http_gonsters_redis_worker.address, reason);

    ngx_http_gonsters_redis_retry_later(conn);
}


static void
ngx_http_gonsters_redis_connected(const redisAsyncContext *ac, int status)
{
    ngx_log_debug1(NGX_LOG_DEBUG_EVENT, ngx_cycle->log, 0,
                   "redis connection: connect status %d", status);
}


static void
ngx_http_gonsters_redis_handshake(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_http_gonsters_redis_conn_t  *conn = privdata;

    redisReply  *rr = reply;

    if (rr == NULL) {
        /* the context is being freed: ngx_http_gonsters_redis_closed() */
        return;
    }

    if (rr->type == REDIS_REPLY_ERROR) {
        /* -LOADING, -NOAUTH ... */
        ngx_http_gonsters_redis_set_error(conn, rr->str, rr->len);
        ngx_http_gonsters_redis_drop(conn,
                                     NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE,
                                     NULL, 1);
        return;
    }

    if (conn->connect_timer.timer_set) {
        ngx_del_timer(&conn->connect_timer);
    }

    if (conn->attempt) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "redis %s connection to %s restored after %ui attempts",
                      conn->name, ngx_http_gonsters_redis_worker.address,
                      conn->attempt);
    }

    conn->state = NGX_HTTP_GONSTERS_REDIS_READY;
    conn->attempt = 0;
    conn->delay = 0;
    conn->error_len = 0;

    if (conn->subscriber) {
        ngx_http_gonsters_redis_subscribe_all(conn);
    }
}


/*
 * Frees the context: every call still on it ends with "status" (hiredis
 * runs their callbacks with NULL), then ngx_http_gonsters_redis_closed().
 * Inside a hiredis callback the free happens when the callback returns.
 */

static void
ngx_http_gonsters_redis_drop(ngx_http_gonsters_redis_conn_t *conn,
    ngx_http_gonsters_backend_status_e status, const char *reason,
    ngx_uint_t retry)
{
    redisAsyncContext  *ac;

    ac = conn->link.ac;

    if (ac == NULL || conn->dropping) {
        return;
    }

    conn->dropping = 1;
    conn->retry = retry;
    conn->reason = reason;
    conn->drop_status = status;

    /* from now on new calls fail at once */
    conn->state = retry ? NGX_HTTP_GONSTERS_REDIS_WAITING
                        : NGX_HTTP_GONSTERS_REDIS_CLOSED;

    if (conn->connect_timer.timer_set) {
        ngx_del_timer(&conn->connect_timer);
    }

    redisAsyncFree(ac);
}


/* the adapter: hiredis freed the context */

static void
ngx_http_gonsters_redis_closed(ngx_http_gonsters_redis_link_t *link,
    redisAsyncContext *ac)
{
    ngx_http_gonsters_redis_conn_t  *conn = link->data;

    ngx_uint_t   retry, level;
    const char  *reason;

    ngx_http_gonsters_metrics_pool(NGX_HTTP_GONSTERS_REDIS, -1, 0);

    if (conn->connect_timer.timer_set) {
        ngx_del_timer(&conn->connect_timer);
    }

    retry = conn->dropping ? conn->retry : 1;

    if (conn->dropping && conn->reason) {
        reason = conn->reason;
        ngx_http_gonsters_redis_set_error(conn, reason, ngx_strlen(reason));

    } else if (!conn->dropping) {
        /* hiredis gave up: an I/O or protocol error, the end of the stream */
        reason = ac->err ? ac->errstr : "connection closed";
        ngx_http_gonsters_redis_set_error(conn, reason, ngx_strlen(reason));
    }

    conn->dropping = 0;
    conn->reason = NULL;
    conn->drop_status = NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE;

    level = retry ? NGX_LOG_ERR : NGX_LOG_INFO;

    ngx_log_error(level, ngx_cycle->log, 0,
                  "redis %s connection to %s closed: %*s",
                  conn->name, ngx_http_gonsters_redis_worker.address,
                  conn->error_len, conn->error);

    if (retry) {
        ngx_http_gonsters_redis_retry_later(conn);

    } else {
        conn->state = NGX_HTTP_GONSTERS_REDIS_CLOSED;
    }
}


/* the adapter: nginx wants the connection closed, or events failed */

static void
ngx_http_gonsters_redis_abort(ngx_http_gonsters_redis_link_t *link,
    const char *reason, ngx_uint_t shutdown)
{
    ngx_http_gonsters_redis_conn_t  *conn = link->data;

    ngx_http_gonsters_redis_drop(conn, NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE,
                                 reason, !shutdown);
}


static void
ngx_http_gonsters_redis_retry_later(ngx_http_gonsters_redis_conn_t *conn)
{
    ngx_msec_t                         cap;
    ngx_http_gonsters_redis_worker_t  *w = &ngx_http_gonsters_redis_worker;

    if (ngx_exiting || ngx_quit || ngx_terminate || w->exiting) {
        conn->state = NGX_HTTP_GONSTERS_REDIS_CLOSED;
        return;
    }

    cap = w->reconnect * NGX_HTTP_GONSTERS_REDIS_BACKOFF_CAP;

    if (conn->delay == 0) {
        conn->delay = w->reconnect;

    } else {
        conn->delay = ngx_min(conn->delay * 2, cap);
    }

    conn->attempt++;
    conn->state = NGX_HTTP_GONSTERS_REDIS_WAITING;

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "redis %s connection to %s: reconnecting in %Mms "
                  "(attempt %ui)", conn->name, w->address, conn->delay,
                  conn->attempt);

    ngx_http_gonsters_redis_retry_event(conn, cap);

    conn->reconnect_timer.log = ngx_cycle->log;
    ngx_add_timer(&conn->reconnect_timer, conn->delay);
}


/* the seed's WARNING (Part 3 §1): the connection is gone, the next retry */

static void
ngx_http_gonsters_redis_retry_event(ngx_http_gonsters_redis_conn_t *conn,
    ngx_msec_t cap)
{
    ngx_http_gonsters_redis_worker_t  *w = &ngx_http_gonsters_redis_worker;

    ngx_str_t                         error = { conn->error_len, conn->error };
    ngx_http_gonsters_event_field_t   ctx[] = {
        NGX_HTTP_GONSTERS_EV_CSTR("service", "redis"),
        NGX_HTTP_GONSTERS_EV_CSTR("address", (char *) w->address),
        NGX_HTTP_GONSTERS_EV_CSTR("connection", conn->name),
        NGX_HTTP_GONSTERS_EV_STR("error", &error),
        NGX_HTTP_GONSTERS_EV_INT("retry_attempt", conn->attempt),
        NGX_HTTP_GONSTERS_EV_NULL("max_retries"),   /* retries until back */
        NGX_HTTP_GONSTERS_EV_NUM("retry_delay_seconds", conn->delay / 1000.0),
        NGX_HTTP_GONSTERS_EV_NUM("max_retry_delay_seconds", cap / 1000.0),
        NGX_HTTP_GONSTERS_EV_CSTR("backoff_strategy", "exponential"),
        /* Redis is a cache and a fan-out channel: nothing waits for it */
        NGX_HTTP_GONSTERS_EV_CSTR("fallback_action",
                                  conn->subscriber
                                  ? "revocations_by_postgresql_sync"
                                  : "calls_fail_fast_callers_use_postgresql"),
        NGX_HTTP_GONSTERS_EV_INT("worker_pid", ngx_pid),
        NGX_HTTP_GONSTERS_EV_END
    };

    ngx_http_gonsters_event(NULL, ngx_cycle->log, NGX_LOG_WARN,
                            "gonsters.redis",
                            conn->attempt == 1
                            ? "Redis connection lost, initiating self-healing "
                              "retry"
                            : "Redis still unreachable, retrying",
                            ctx);
}


static void
ngx_http_gonsters_redis_connect_timeout(ngx_event_t *ev)
{
    ngx_http_gonsters_redis_conn_t  *conn = ev->data;

    ngx_http_gonsters_redis_drop(conn, NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE,
                                 "no answer to the handshake in time", 1);
}


static void
ngx_http_gonsters_redis_reconnect_handler(ngx_event_t *ev)
{
    ngx_http_gonsters_redis_conn_t  *conn = ev->data;

    if (conn->link.ac == NULL) {
        ngx_http_gonsters_redis_connect(conn);
    }
}


/*
 * Idle connections are closed by nginx on graceful shutdown: the pub/sub
 * connection always, the command connection when no call is pending.
 */

static void
ngx_http_gonsters_redis_set_idle(ngx_http_gonsters_redis_conn_t *conn)
{
    if (conn->link.connection != NULL) {
        conn->link.connection->idle = conn->subscriber || conn->pending == 0;
    }
}


static void
ngx_http_gonsters_redis_set_error(ngx_http_gonsters_redis_conn_t *conn,
    const char *error, size_t len)
{
    u_char  *p, *end;

    if ((const u_char *) error == conn->error) {
        return;
    }

    /* printable: it may come from the server */

    len = ngx_min(len, NGX_HTTP_GONSTERS_REDIS_ERROR_LEN);
    end = conn->error + len;

    for (p = conn->error; p < end; p++, error++) {
        *p = (*error >= 0x20 && *error < 0x7f) ? (u_char) *error : '?';
    }

    conn->error_len = len;
}


/* calls */

static ngx_http_gonsters_redis_call_t *
ngx_http_gonsters_redis_call_create(ngx_log_t *log, int argc,
    const char **argv, const size_t *argvlen)
{
    size_t                           len;
    const u_char                    *name;
    ngx_http_gonsters_redis_call_t  *call;

    if (argc < 1 || argv == NULL || argvlen == NULL) {
        ngx_log_error(NGX_LOG_ALERT, log, 0, "redis: a call without command");
        return NULL;
    }

    /* (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, MONITOR change the connection */

    name = (const u_char *) argv[0];
    len = argvlen[0];

    if ((len >= 9
         && ngx_strncasecmp((u_char *) name + len - 9, (u_char *) "subscribe",
                            9) == 0)
        || (len == 7 && ngx_strncasecmp((u_char *) name, (u_char *) "monitor",
                                        7) == 0))
    {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "redis: \"%*s\" is not allowed on the command "
                      "connection", len, name);
        return NULL;
    }

    call = ngx_calloc(sizeof(ngx_http_gonsters_redis_call_t), log);
    if (call == NULL) {
        return NULL;
    }

    call->event.handler = ngx_http_gonsters_redis_call_event;
    call->event.data = call;
    call->event.log = log;
    call->start = ngx_current_msec;

    return call;
}


static void
ngx_http_gonsters_redis_submit(ngx_http_gonsters_redis_call_t *call,
    int argc, const char **argv, const size_t *argvlen)
{
    ngx_uint_t                         usable;
    ngx_http_gonsters_redis_conn_t    *conn;
    ngx_http_gonsters_redis_worker_t  *w = &ngx_http_gonsters_redis_worker;

    ngx_http_gonsters_redis_worker_init((ngx_cycle_t *) ngx_cycle);

    conn = &w->command;

    if (w->configured && !w->exiting
        && conn->state == NGX_HTTP_GONSTERS_REDIS_CLOSED
        && conn->link.ac == NULL)
    {
        /* not connected yet, or closed as idle on graceful shutdown while
         * a request still runs */
        ngx_http_gonsters_redis_connect(conn);
    }

    usable = conn->state == NGX_HTTP_GONSTERS_REDIS_READY
             || (conn->state == NGX_HTTP_GONSTERS_REDIS_CONNECTING
                 && conn->attempt == 0);

    if (usable
        && redisAsyncCommandArgv(conn->link.ac, ngx_http_gonsters_redis_reply,
                                 call, argc, argv, argvlen)
           == REDIS_OK)
    {
        call->queued = 1;

        if (conn->pending++ == 0) {
            ngx_http_gonsters_metrics_pool(NGX_HTTP_GONSTERS_REDIS, 0, 1);
            ngx_http_gonsters_redis_set_idle(conn);
        }

        ngx_add_timer(&call->event, w->timeout);
        return;
    }

    call->status = NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE;
    ngx_post_event(&call->event, &ngx_posted_events);
}


/* hiredis: the reply of a call, or NULL when the context is freed */

static void
ngx_http_gonsters_redis_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_http_gonsters_redis_call_t  *call = privdata;

    redisReply                          *rr = reply;
    ngx_http_gonsters_redis_conn_t      *conn;
    ngx_http_gonsters_backend_status_e   status;

    conn = &ngx_http_gonsters_redis_worker.command;

    if (--conn->pending == 0) {
        ngx_http_gonsters_metrics_pool(NGX_HTTP_GONSTERS_REDIS, 0, -1);
        ngx_http_gonsters_redis_set_idle(conn);
    }

    if (!call->finished) {

        if (rr == NULL) {
            status = conn->drop_status;

        } else if (rr->type == REDIS_REPLY_ERROR) {
            status = NGX_HTTP_GONSTERS_BACKEND_ERROR;

        } else {
            status = NGX_HTTP_GONSTERS_BACKEND_OK;
        }

        ngx_http_gonsters_redis_finish(call, status, rr);
    }

    ngx_free(call);
}


/* the deadline of a queued call, or the posted failure of another */

static void
ngx_http_gonsters_redis_call_event(ngx_event_t *ev)
{
    ngx_http_gonsters_redis_call_t  *call = ev->data;

    ngx_http_gonsters_redis_worker_t  *w = &ngx_http_gonsters_redis_worker;

    if (!call->queued) {
        ngx_http_gonsters_redis_finish(call, call->status, NULL);
        ngx_free(call);
        return;
    }

    ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                  "redis command timed out after %Mms", w->timeout);

    /* Redis answers in order: nothing behind this call will come either;
     * the call itself ends with the others, through hiredis */

    ngx_http_gonsters_redis_drop(&w->command,
                                 NGX_HTTP_GONSTERS_BACKEND_TIMEOUT,
                                 "a command timed out", 1);
}


static void
ngx_http_gonsters_redis_finish(ngx_http_gonsters_redis_call_t *call,
    ngx_http_gonsters_backend_status_e status, redisReply *reply)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    call->finished = 1;

    if (call->event.timer_set) {
        ngx_del_timer(&call->event);
    }

    if (call->cln) {
        call->cln->handler = NULL;
        call->cln = NULL;
    }

    ngx_http_gonsters_metrics_backend(NGX_HTTP_GONSTERS_REDIS, status,
                                      ngx_current_msec - call->start);

    if (call->detached) {
        return;
    }

    r = call->r;

    if (r == NULL) {
        call->done(status, reply, call->data);
        return;
    }

    if (ngx_http_gonsters_redis_worker.exiting) {
        /* exit_process: the request is not finalized any more */
        return;
    }

    rc = call->handler(r, status, reply, call->data);

    ngx_http_gonsters_resume(r, rc);
}


/* the request's pool cleanup: the request went away before its call ended */

static void
ngx_http_gonsters_redis_detach(void *data)
{
    ngx_http_gonsters_redis_call_t  *call = data;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, call->event.log, 0,
                   "redis call detached from its request");

    call->detached = 1;
    call->r = NULL;
    call->cln = NULL;
    call->event.log = ngx_cycle->log;
}


/* pub/sub */

static void
ngx_http_gonsters_redis_subscribe_all(ngx_http_gonsters_redis_conn_t *conn)
{
    ngx_http_gonsters_redis_sub_t  *sub, *s;

    for (sub = ngx_http_gonsters_redis_worker.subs; sub; sub = sub->next) {

        for (s = ngx_http_gonsters_redis_worker.subs; s != sub; s = s->next) {
            if (s->channel.len == sub->channel.len
                && ngx_memcmp(s->channel.data, sub->channel.data,
                              sub->channel.len) == 0)
            {
                break;
            }
        }

        if (s == sub) {
            ngx_http_gonsters_redis_send_subscribe(conn, &sub->channel);
        }
    }
}


static void
ngx_http_gonsters_redis_send_subscribe(ngx_http_gonsters_redis_conn_t *conn,
    ngx_str_t *channel)
{
    const char  *argv[2];
    size_t       argvlen[2];

    argv[0] = "SUBSCRIBE";
    argvlen[0] = sizeof("SUBSCRIBE") - 1;
    argv[1] = (const char *) channel->data;
    argvlen[1] = channel->len;

    /* one callback for all channels: messages are dispatched by name */

    if (redisAsyncCommandArgv(conn->link.ac, ngx_http_gonsters_redis_message,
                              conn, 2, argv, argvlen)
        != REDIS_OK)
    {
        ngx_http_gonsters_redis_drop(conn,
                                     NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE,
                                     "could not queue SUBSCRIBE", 1);
    }
}


/* hiredis: a message or a (un)subscribe confirmation; NULL when freed */

static void
ngx_http_gonsters_redis_message(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    redisReply                     *rr = reply;
    redisReply                    **e;
    ngx_str_t                       channel, message;
    ngx_http_gonsters_redis_sub_t  *sub;

    if (rr == NULL || rr->type != REDIS_REPLY_ARRAY || rr->elements < 3) {
        return;
    }

    e = rr->element;

    if (e[0]->type != REDIS_REPLY_STRING || e[1]->type != REDIS_REPLY_STRING) {
        return;
    }

    channel.data = (u_char *) e[1]->str;
    channel.len = e[1]->len;

    if (e[0]->len == 9 && ngx_strncmp(e[0]->str, "subscribe", 9) == 0) {
        ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                      "redis: subscribed to \"%V\"", &channel);
        return;
    }

    if (e[0]->len != 7 || ngx_strncmp(e[0]->str, "message", 7) != 0
        || e[2]->type != REDIS_REPLY_STRING)
    {
        return;
    }

    message.data = (u_char *) e[2]->str;
    message.len = e[2]->len;

    for (sub = ngx_http_gonsters_redis_worker.subs; sub; sub = sub->next) {
        if (sub->channel.len == channel.len
            && ngx_memcmp(sub->channel.data, channel.data, channel.len) == 0)
        {
            sub->handler(&channel, &message, sub->data);
        }
    }
}


/* configuration */

static void *
ngx_http_gonsters_redis_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gonsters_redis_main_conf_t  *rmcf;

    rmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gonsters_redis_main_conf_t));
    if (rmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     rmcf->address = { 0, NULL };
     *     rmcf->host = { 0, NULL };
     *     rmcf->port = 0;
     */

    rmcf->timeout = NGX_CONF_UNSET_MSEC;
    rmcf->reconnect = NGX_CONF_UNSET_MSEC;

    return rmcf;
}


static char *
ngx_http_gonsters_redis_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gonsters_redis_main_conf_t  *rmcf = conf;

    ngx_conf_init_msec_value(rmcf->timeout, 1000);
    ngx_conf_init_msec_value(rmcf->reconnect, 100);

    return NGX_CONF_OK;
}


/*
 * "127.0.0.1:6379", "[::1]:6379" or "unix:/path".  Host names are refused:
 * hiredis 0.14 would resolve them with getaddrinfo(), which blocks.
 */

static char *
ngx_http_gonsters_redis_address(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_gonsters_redis_main_conf_t  *rmcf = conf;

    u_char      *p, *last;
    ngx_int_t    port;
    ngx_str_t   *value, host;
#if (NGX_HAVE_INET6)
    u_char       buf[16];
#endif

    if (rmcf->address.data != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;
    rmcf->address = value[1];

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "empty Redis address in \"%V\"", &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (value[1].len >= NGX_HTTP_GONSTERS_REDIS_ADDRESS_LEN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "Redis address \"%V\" is too long", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (value[1].len >= 5 && ngx_strncmp(value[1].data, "unix:", 5) == 0) {

        rmcf->host.data = value[1].data + 5;
        rmcf->host.len = value[1].len - 5;

        if (rmcf->host.len == 0
            || rmcf->host.len >= sizeof(((struct sockaddr_un *) 0)->sun_path))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid unix socket path in Redis address "
                               "\"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }

        rmcf->port = 0;
        return NGX_CONF_OK;
    }

    p = value[1].data;
    last = p + value[1].len;

    if (*p == '[') {
        p = ngx_strlchr(p, last, ']');

        if (p == NULL || p + 1 == last || p[1] != ':') {
            goto invalid;
        }

        host.data = value[1].data + 1;
        host.len = p - host.data;
        p += 2;

#if (NGX_HAVE_INET6)
        if (ngx_inet6_addr(host.data, host.len, buf) != NGX_OK) {
            goto invalid;
        }
#else
        goto invalid;
#endif

    } else {
        for (p = last; p > value[1].data && p[-1] != ':'; p--) {
            /* void */
        }

        if (p == value[1].data) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "no port in Redis address \"%V\" (expected "
                               "IP:port, [IPv6]:port or unix:/path)",
                               &value[1]);
            return NGX_CONF_ERROR;
        }

        host.data = value[1].data;
        host.len = p - 1 - host.data;

        if (ngx_strlchr(host.data, host.data + host.len, ':') != NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid Redis address \"%V\": IPv6 addresses "
                               "need brackets ([::1]:6379)", &value[1]);
            return NGX_CONF_ERROR;
        }

        if (ngx_inet_addr(host.data, host.len) == INADDR_NONE) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "Redis address \"%V\" is not an IP address: "
                               "host names are not accepted (resolving them "
                               "would block nginx); use IP:port, "
                               "[IPv6]:port or unix:/path", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    port = ngx_atoi(p, last - p);

    if (port < 1 || port > 65535) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid port in Redis address \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    rmcf->host = host;
    rmcf->port = (ngx_uint_t) port;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid Redis address \"%V\" (expected IP:port, "
                       "[IPv6]:port or unix:/path)", &value[1]);
    return NGX_CONF_ERROR;
}


static char *
ngx_http_gonsters_redis_positive(ngx_conf_t *cf, void *post, void *data)
{
    ngx_msec_t  *ms = data;

    if (*ms == 0) {
        return "must be greater than 0";
    }

    return NGX_CONF_OK;
}


/* the worker */

static ngx_int_t
ngx_http_gonsters_redis_init_process(ngx_cycle_t *cycle)
{
    ngx_http_gonsters_redis_worker_t  *w = &ngx_http_gonsters_redis_worker;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    ngx_http_gonsters_redis_worker_init(cycle);

    if (w->configured && w->command.state == NGX_HTTP_GONSTERS_REDIS_CLOSED
        && w->command.link.ac == NULL)
    {
        ngx_http_gonsters_redis_connect(&w->command);
    }

    return NGX_OK;
}


static void
ngx_http_gonsters_redis_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_gonsters_redis_sub_t     *sub, *next;
    ngx_http_gonsters_redis_conn_t    *conn[2];
    ngx_http_gonsters_redis_worker_t  *w = &ngx_http_gonsters_redis_worker;
    ngx_uint_t                         i;

    if (!w->initialized) {
        return;
    }

    w->exiting = 1;

    conn[0] = &w->command;
    conn[1] = &w->pubsub;

    for (i = 0; i < 2; i++) {

        if (conn[i]->reconnect_timer.timer_set) {
            ngx_del_timer(&conn[i]->reconnect_timer);
        }

        /* pending calls end with UNAVAILABLE, their memory is freed */
        ngx_http_gonsters_redis_drop(conn[i],
                                     NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE,
                                     "the worker exits", 0);
    }

    for (sub = w->subs; sub; sub = next) {
        next = sub->next;
        ngx_free(sub);
    }

    w->subs = NULL;
    w->last_sub = &w->subs;
}
