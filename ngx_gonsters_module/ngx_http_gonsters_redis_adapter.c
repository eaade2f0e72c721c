
/*
 * A hiredis 0.14 async context on nginx events.
 *
 * The context's socket is wrapped in an nginx connection.  hiredis' hooks
 * only record what hiredis wants and make sure nginx watches the socket;
 * the connection's event handlers call redisAsyncHandleRead/Write.
 *
 * - hiredis calls addWrite once per command: when the socket is known to be
 *   writable the write event is posted, so that all the commands added
 *   during one turn of the event loop leave in one write.
 * - redisAsyncHandleRead() reads at most 16 KB.  Edge-triggered events
 *   (epoll, kqueue) report readiness once, so the read handler reads again
 *   while the socket still holds data or its end (MSG_PEEK), a bounded
 *   number of times per event, then posts itself.
 * - hiredis owns the socket and closes it in redisFree(): the cleanup hook
 *   gives the nginx connection back without closing the descriptor.
 * - After every call into hiredis the context may be gone (a callback, an
 *   error): the handlers then return without touching the connection.
 */


#include "ngx_http_gonsters_redis.h"
#include "ngx_http_gonsters_conn.h"


#define NGX_HTTP_GONSTERS_REDIS_READ_ROUNDS  64


static void ngx_http_gonsters_redis_add_read(void *privdata);
static void ngx_http_gonsters_redis_del_read(void *privdata);
static void ngx_http_gonsters_redis_add_write(void *privdata);
static void ngx_http_gonsters_redis_del_write(void *privdata);
static void ngx_http_gonsters_redis_cleanup(void *privdata);
static void ngx_http_gonsters_redis_read_handler(ngx_event_t *rev);
static void ngx_http_gonsters_redis_write_handler(ngx_event_t *wev);
static void ngx_http_gonsters_redis_event_failed(
    ngx_http_gonsters_redis_link_t *link);


ngx_int_t
ngx_http_gonsters_redis_link(ngx_http_gonsters_redis_link_t *link,
    redisAsyncContext *ac, ngx_log_t *log)
{
    ngx_connection_t  *c;

    c = ngx_http_gonsters_conn_wrap(ac->c.fd, link,
                                    ngx_http_gonsters_redis_read_handler,
                                    ngx_http_gonsters_redis_write_handler,
                                    log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    link->ac = ac;
    link->connection = c;
    link->want_write = 0;
    link->in_read = 0;
    link->in_write = 0;
    link->error = 0;

    ac->ev.data = link;
    ac->ev.addRead = ngx_http_gonsters_redis_add_read;
    ac->ev.delRead = ngx_http_gonsters_redis_del_read;
    ac->ev.addWrite = ngx_http_gonsters_redis_add_write;
    ac->ev.delWrite = ngx_http_gonsters_redis_del_write;
    ac->ev.cleanup = ngx_http_gonsters_redis_cleanup;

    return NGX_OK;
}


/* hooks: idempotent, called by hiredis from any context */

static void
ngx_http_gonsters_redis_add_read(void *privdata)
{
    ngx_http_gonsters_redis_link_t  *link = privdata;

    if (link->in_read || link->connection == NULL) {
        /* the read handler re-arms the event when it is done */
        return;
    }

    if (ngx_handle_read_event(link->connection->read, 0) != NGX_OK) {
        ngx_http_gonsters_redis_event_failed(link);
    }
}


static void
ngx_http_gonsters_redis_del_read(void *privdata)
{
    /*
     * hiredis 0.14 never stops reading a live context; a read event that
     * finds nothing to read is harmless, and deleting one event of an
     * edge-triggered pair would make the other level-triggered in epoll
     */
}


static void
ngx_http_gonsters_redis_add_write(void *privdata)
{
    ngx_http_gonsters_redis_link_t  *link = privdata;

    ngx_event_t  *wev;

    link->want_write = 1;

    if (link->in_write || link->connection == NULL) {
        /* the write handler looks at want_write when hiredis returns */
        return;
    }

    wev = link->connection->write;

    if (wev->ready) {
        ngx_post_event(wev, &ngx_posted_events);
        return;
    }

    if (ngx_handle_write_event(wev, 0) != NGX_OK) {
        ngx_http_gonsters_redis_event_failed(link);
    }
}


static void
ngx_http_gonsters_redis_del_write(void *privdata)
{
    ngx_http_gonsters_redis_link_t  *link = privdata;

    /* a level-triggered write event is deleted by the write handler */
    link->want_write = 0;
}


static void
ngx_http_gonsters_redis_cleanup(void *privdata)
{
    ngx_http_gonsters_redis_link_t  *link = privdata;

    redisAsyncContext  *ac;

    ac = link->ac;

    if (link->connection != NULL) {
        /* hiredis closes the socket next */
        ngx_http_gonsters_conn_release(link->connection);
        link->connection = NULL;
    }

    link->ac = NULL;
    ac->ev.data = NULL;

    link->closed(link, ac);
}


/* nginx events */

static void
ngx_http_gonsters_redis_read_handler(ngx_event_t *rev)
{
    char                             byte;
    ssize_t                          n;
    ngx_err_t                        err;
    ngx_uint_t                       round;
    ngx_connection_t                *c;
    redisAsyncContext               *ac;
    ngx_http_gonsters_redis_link_t  *link;

    c = rev->data;
    link = c->data;
    ac = link->ac;

    if (c->close) {
        /* ngx_close_idle_connections(), worker_shutdown_timeout */
        link->abort(link, "closed on worker shutdown", 1);
        return;
    }

    if (link->error) {
        link->abort(link, "nginx event operation failed", 0);
        return;
    }

    for (round = 0; round < NGX_HTTP_GONSTERS_REDIS_READ_ROUNDS; round++) {

        link->in_read = 1;
        redisAsyncHandleRead(ac);

        if (link->ac != ac) {
            /* freed: an error, the end of the stream, or a callback */
            return;
        }

        link->in_read = 0;

        if (!(ac->c.flags & REDIS_CONNECTED)) {
            break;
        }

        n = recv(ac->c.fd, &byte, 1, MSG_PEEK);

        if (n >= 0) {
            /* more data, or the end of the stream: hiredis reads it */
            continue;
        }

        err = ngx_socket_errno;

        if (err == NGX_EAGAIN) {
            rev->ready = 0;
            break;
        }

        /* EINTR, or an error that hiredis' next read reports */
    }

    if (round == NGX_HTTP_GONSTERS_REDIS_READ_ROUNDS) {
        /* a long burst: let the other events run, continue afterwards */
        ngx_post_event(rev, &ngx_posted_events);
        return;
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        link->abort(link, "nginx event operation failed", 0);
    }
}


static void
ngx_http_gonsters_redis_write_handler(ngx_event_t *wev)
{
    ngx_connection_t                *c;
    redisAsyncContext               *ac;
    ngx_http_gonsters_redis_link_t  *link;

    c = wev->data;
    link = c->data;
    ac = link->ac;

    if (link->want_write || !(ac->c.flags & REDIS_CONNECTED)) {

        link->in_write = 1;
        redisAsyncHandleWrite(ac);

        if (link->ac != ac) {
            return;
        }

        link->in_write = 0;

        if (link->want_write) {
            /* the socket took less than there was: wait until it drains */
            wev->ready = 0;
        }
    }

    if (ngx_handle_write_event(wev, 0) != NGX_OK) {
        link->abort(link, "nginx event operation failed", 0);
    }
}


/*
 * A hook cannot report a failure to hiredis: the read handler, posted,
 * hands the connection to its owner on a clean stack.
 */

static void
ngx_http_gonsters_redis_event_failed(ngx_http_gonsters_redis_link_t *link)
{
    link->error = 1;
    ngx_post_event(link->connection->read, &ngx_posted_events);
}
