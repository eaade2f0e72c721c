
/*
 * The per-worker PostgreSQL pool of ngx_http_gonsters_pg_module: libpq's
 * asynchronous API on nginx events.
 *
 * libpq owns the socket: the nginx connection that wraps PQsocket() is
 * freed without closing the fd, and PQfinish() closes it.  libpq may replace
 * the socket while connecting (next host, SSL or GSS retry), sometimes
 * under the same number, so the socket's identity (fd and inode) is checked
 * after every PQconnectPoll() step.  Read interest is level-triggered (libpq
 * does not read until EAGAIN, so an edge could be lost); write interest is
 * level-triggered too and registered only while libpq has something to
 * send (PQflush() == 1) or waits to write while connecting.
 *
 * A connection is CONNECTING, IDLE (c->idle: closed by nginx on graceful
 * shutdown; watched for EOF and FATAL messages) or BUSY with one call.
 * Calls wait in pool->waiting; a connection that becomes free goes to the
 * first waiting call, and connects are started while more calls wait than
 * connections are being opened, up to the pool size.
 */


#include "ngx_http_gonsters_pg_conn.h"
#include "ngx_http_gonsters_conn.h"

#include <sys/stat.h>


#define ngx_http_gonsters_pg_errmsg(pc)                                      \
    ngx_http_gonsters_pg_oneline(PQerrorMessage((pc)->pg))


static ngx_int_t ngx_http_gonsters_pg_connect(
    ngx_http_gonsters_pg_main_conf_t *pool);
static void ngx_http_gonsters_pg_connect_step(ngx_http_gonsters_pg_conn_t *pc);
static void ngx_http_gonsters_pg_connected(ngx_http_gonsters_pg_conn_t *pc);
static void ngx_http_gonsters_pg_connect_failed(
    ngx_http_gonsters_pg_conn_t *pc, const char *reason);
static void ngx_http_gonsters_pg_connect_timeout(ngx_event_t *ev);
static ngx_int_t ngx_http_gonsters_pg_wrap(ngx_http_gonsters_pg_conn_t *pc);
static void ngx_http_gonsters_pg_unwrap(ngx_http_gonsters_pg_conn_t *pc);
static ngx_int_t ngx_http_gonsters_pg_check_socket(
    ngx_http_gonsters_pg_conn_t *pc);
static ngx_int_t ngx_http_gonsters_pg_want_write(
    ngx_http_gonsters_pg_conn_t *pc, ngx_uint_t on);
static void ngx_http_gonsters_pg_close(ngx_http_gonsters_pg_conn_t *pc);
static void ngx_http_gonsters_pg_set_state(ngx_http_gonsters_pg_conn_t *pc,
    ngx_uint_t state);

static void ngx_http_gonsters_pg_read_handler(ngx_event_t *ev);
static void ngx_http_gonsters_pg_write_handler(ngx_event_t *ev);
static ngx_int_t ngx_http_gonsters_pg_idle_consume(
    ngx_http_gonsters_pg_conn_t *pc);
static ngx_int_t ngx_http_gonsters_pg_idle_alive(
    ngx_http_gonsters_pg_conn_t *pc);

static void ngx_http_gonsters_pg_ready(ngx_http_gonsters_pg_conn_t *pc);
static void ngx_http_gonsters_pg_run(ngx_http_gonsters_pg_conn_t *pc,
    ngx_http_gonsters_pg_call_t *call);
static ngx_int_t ngx_http_gonsters_pg_next_statement(
    ngx_http_gonsters_pg_conn_t *pc);
static ngx_int_t ngx_http_gonsters_pg_send(ngx_http_gonsters_pg_conn_t *pc);
static ngx_int_t ngx_http_gonsters_pg_flush(ngx_http_gonsters_pg_conn_t *pc);
static void ngx_http_gonsters_pg_input(ngx_http_gonsters_pg_conn_t *pc);
static ngx_int_t ngx_http_gonsters_pg_results(ngx_http_gonsters_pg_conn_t *pc);
static ngx_uint_t ngx_http_gonsters_pg_ssl_pending(
    ngx_http_gonsters_pg_conn_t *pc);
static ngx_int_t ngx_http_gonsters_pg_command_done(
    ngx_http_gonsters_pg_conn_t *pc);
static ngx_int_t ngx_http_gonsters_pg_statement_failed(
    ngx_http_gonsters_pg_conn_t *pc, PGresult *res, const char *message);
static ngx_int_t ngx_http_gonsters_pg_end_call(
    ngx_http_gonsters_pg_conn_t *pc, ngx_http_gonsters_backend_status_e st);
static void ngx_http_gonsters_pg_release(ngx_http_gonsters_pg_conn_t *pc);
static void ngx_http_gonsters_pg_lost(ngx_http_gonsters_pg_conn_t *pc,
    const char *reason);

static ngx_int_t ngx_http_gonsters_pg_prepared(
    ngx_http_gonsters_pg_conn_t *pc, ngx_http_gonsters_pg_stmt_t *stmt);
static ngx_int_t ngx_http_gonsters_pg_remember(
    ngx_http_gonsters_pg_conn_t *pc, ngx_http_gonsters_pg_stmt_t *stmt);
static void ngx_http_gonsters_pg_notice(void *arg, const PGresult *res);
static const char *ngx_http_gonsters_pg_oneline(const char *msg);


static const char  *ngx_http_gonsters_pg_phase_sql[] = {
    "BEGIN", NULL, NULL, "COMMIT", "ROLLBACK"
};


/*
 * Gives idle connections to waiting calls, opens connections for the
 * calls still waiting, and fails the waiting calls at once when the server
 * is known to be down (a connect failed, the backoff runs, and no
 * connection is open that could serve them).
 */

void
ngx_http_gonsters_pg_dispatch(ngx_http_gonsters_pg_main_conf_t *pool)
{
    ngx_queue_t                  *q;
    ngx_http_gonsters_pg_conn_t  *pc;
    ngx_http_gonsters_pg_call_t  *call;

    while (!ngx_queue_empty(&pool->waiting) && !ngx_queue_empty(&pool->idle))
    {
        q = ngx_queue_head(&pool->idle);
        pc = ngx_queue_data(q, ngx_http_gonsters_pg_conn_t, queue);

        if (ngx_http_gonsters_pg_idle_alive(pc) != NGX_OK) {
            ngx_http_gonsters_pg_close(pc);
            continue;
        }

        q = ngx_queue_head(&pool->waiting);
        ngx_queue_remove(q);
        pool->nwaiting--;

        call = ngx_queue_data(q, ngx_http_gonsters_pg_call_t, queue);
        ngx_http_gonsters_pg_run(pc, call);
    }

    while (pool->nwaiting > pool->nconnecting
           && pool->nconns < pool->pool_size)
    {
        if (pool->failures
            && ((ngx_msec_int_t) (pool->retry_at - ngx_current_msec) > 0
                || pool->nconnecting))
        {
            /* backoff, or one probe at a time while the server is down */
            break;
        }

        (void) ngx_http_gonsters_pg_connect(pool);
    }

    if (pool->nconns == 0 && pool->failures) {
        while (!ngx_queue_empty(&pool->waiting)) {
            q = ngx_queue_head(&pool->waiting);
            call = ngx_queue_data(q, ngx_http_gonsters_pg_call_t, queue);

            ngx_http_gonsters_pg_complete(call,
                                    NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE,
                                    "PostgreSQL is down (connects fail)");
        }
    }
}


/* a running call gives up (deadline, abandoned): its connection is closed */

void
ngx_http_gonsters_pg_detach(ngx_http_gonsters_pg_call_t *call)
{
    ngx_http_gonsters_pg_conn_t       *pc;
    ngx_http_gonsters_pg_main_conf_t  *pool;

    pc = call->pc;
    if (pc == NULL) {
        return;
    }

    pool = pc->pool;

    call->pc = NULL;
    pc->call = NULL;

    ngx_http_gonsters_pg_close(pc);
    ngx_http_gonsters_pg_dispatch(pool);
}


/* the worker exits: PQfinish() every connection, calls are dropped */

void
ngx_http_gonsters_pg_close_all(ngx_http_gonsters_pg_main_conf_t *pool)
{
    ngx_queue_t                  *q;
    ngx_http_gonsters_pg_conn_t  *pc;

    while (!ngx_queue_empty(&pool->idle)) {
        q = ngx_queue_head(&pool->idle);
        pc = ngx_queue_data(q, ngx_http_gonsters_pg_conn_t, queue);
        ngx_http_gonsters_pg_close(pc);
    }

    while (!ngx_queue_empty(&pool->active)) {
        q = ngx_queue_head(&pool->active);
        pc = ngx_queue_data(q, ngx_http_gonsters_pg_conn_t, queue);

        if (pc->call) {
            pc->call->pc = NULL;
            pc->call = NULL;
        }

        ngx_http_gonsters_pg_close(pc);
    }
}


/* connecting */

static ngx_int_t
ngx_http_gonsters_pg_connect(ngx_http_gonsters_pg_main_conf_t *pool)
{
    ngx_pool_t                   *mem;
    ngx_http_gonsters_pg_conn_t  *pc;

    mem = ngx_create_pool(512, ngx_cycle->log);
    if (mem == NULL) {
        goto failed;
    }

    pc = ngx_pcalloc(mem, sizeof(ngx_http_gonsters_pg_conn_t));
    if (pc == NULL) {
        ngx_destroy_pool(mem);
        goto failed;
    }

    pc->pool = pool;
    pc->mem = mem;
    pc->log = ngx_cycle->log;
    pc->state = NGX_HTTP_GONSTERS_PG_CONN_CONNECTING;
    pc->connecting = 1;

    pc->timer.data = pc;
    pc->timer.log = pc->log;
    pc->timer.handler = ngx_http_gonsters_pg_connect_timeout;
    pc->timer.cancelable = 1;

    pc->pg = PQconnectStartParams(pool->keywords, pool->values, 0);
    if (pc->pg == NULL) {
        ngx_destroy_pool(mem);
        goto failed;
    }

    ngx_queue_insert_tail(&pool->active, &pc->queue);
    pool->nconns++;
    pool->nconnecting++;
    ngx_http_gonsters_metrics_pool(NGX_HTTP_GONSTERS_POSTGRES, 1, 0);

    if (PQstatus(pc->pg) == CONNECTION_BAD) {
        ngx_http_gonsters_pg_connect_failed(pc,
                                            ngx_http_gonsters_pg_errmsg(pc));
        return NGX_ERROR;
    }

    PQsetNoticeReceiver(pc->pg, ngx_http_gonsters_pg_notice, pc);

    if (PQsetnonblocking(pc->pg, 1) != 0
        || ngx_http_gonsters_pg_wrap(pc) != NGX_OK)
    {
        ngx_http_gonsters_pg_connect_failed(pc, "cannot watch the socket");
        return NGX_ERROR;
    }

    /* as if PQconnectPoll() had said PGRES_POLLING_WRITING */
    pc->want_write = 1;

    if (ngx_http_gonsters_pg_want_write(pc, 1) != NGX_OK) {
        ngx_http_gonsters_pg_connect_failed(pc, "cannot watch the socket");
        return NGX_ERROR;
    }

    ngx_add_timer(&pc->timer, pool->connect_timeout);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, pc->log, 0,
                   "gonsters_postgres: connecting to %V", &pool->target);

    return NGX_OK;

failed:

    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "gonsters_postgres: cannot start a connection: "
                  "out of memory");

    pool->failures++;
    pool->retry_at = ngx_current_msec + NGX_HTTP_GONSTERS_PG_BACKOFF_MAX;

    return NGX_ERROR;
}


static void
ngx_http_gonsters_pg_connect_step(ngx_http_gonsters_pg_conn_t *pc)
{
    ngx_uint_t                 again;
    PostgresPollingStatusType  st;

    for (again = 1; /* void */ ; again = 0) {

        st = PQconnectPoll(pc->pg);

        if (st != PGRES_POLLING_FAILED
            && ngx_http_gonsters_pg_check_socket(pc) != NGX_OK)
        {
            ngx_http_gonsters_pg_connect_failed(pc, "the socket went away");
            return;
        }

        switch (st) {

        case PGRES_POLLING_OK:
            ngx_http_gonsters_pg_connected(pc);
            return;

        case PGRES_POLLING_READING:
            pc->want_write = 0;

            if (ngx_http_gonsters_pg_want_write(pc, 0) != NGX_OK) {
                ngx_http_gonsters_pg_connect_failed(pc,
                                                "cannot watch the socket");
            }

            return;

        case PGRES_POLLING_WRITING:
            pc->want_write = 1;

            if (ngx_http_gonsters_pg_want_write(pc, 1) != NGX_OK) {
                ngx_http_gonsters_pg_connect_failed(pc,
                                                "cannot watch the socket");
                return;
            }

            /*
             * The TCP connect has just completed: the socket is writable
             * now, send the startup packet without another event loop turn.
             */
            if (again && PQstatus(pc->pg) == CONNECTION_MADE) {
                continue;
            }

            return;

        default:
            ngx_http_gonsters_pg_connect_failed(pc,
                                            ngx_http_gonsters_pg_errmsg(pc));
            return;
        }
    }
}


static void
ngx_http_gonsters_pg_connected(ngx_http_gonsters_pg_conn_t *pc)
{
    ngx_http_gonsters_pg_main_conf_t  *pool;

    pool = pc->pool;

    if (pc->timer.timer_set) {
        ngx_del_timer(&pc->timer);
    }

    pc->want_write = 0;

    if (ngx_http_gonsters_pg_want_write(pc, 0) != NGX_OK) {
        ngx_http_gonsters_pg_connect_failed(pc, "cannot watch the socket");
        return;
    }

    pc->connecting = 0;
    pool->nconnecting--;

    if (pool->failures) {
        ngx_log_error(NGX_LOG_NOTICE, pc->log, 0,
                      "gonsters_postgres: connected to %V again",
                      &pool->target);
        pool->failures = 0;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, pc->log, 0,
                   "gonsters_postgres: connected to %V, backend pid %d",
                   &pool->target, PQbackendPID(pc->pg));

    ngx_http_gonsters_pg_ready(pc);
    ngx_http_gonsters_pg_dispatch(pool);
}


static void
ngx_http_gonsters_pg_connect_failed(ngx_http_gonsters_pg_conn_t *pc,
    const char *reason)
{
    ngx_msec_t                         backoff;
    ngx_http_gonsters_pg_main_conf_t  *pool;

    pool = pc->pool;

    ngx_log_error(NGX_LOG_ERR, pc->log, 0,
                  "gonsters_postgres: cannot connect to %V: %s",
                  &pool->target, reason);

    pool->failures++;

    backoff = NGX_HTTP_GONSTERS_PG_BACKOFF_MAX;
    if (pool->failures < 8) {
        backoff = ngx_min(NGX_HTTP_GONSTERS_PG_BACKOFF_BASE
                          << (pool->failures - 1),
                          NGX_HTTP_GONSTERS_PG_BACKOFF_MAX);
    }

    pool->retry_at = ngx_current_msec + backoff;

    ngx_http_gonsters_pg_close(pc);

    /* with nothing open the waiting calls fail now */
    ngx_http_gonsters_pg_dispatch(pool);
}


static void
ngx_http_gonsters_pg_connect_timeout(ngx_event_t *ev)
{
    ngx_http_gonsters_pg_conn_t  *pc;

    pc = ev->data;

    ngx_http_gonsters_pg_connect_failed(pc, "connect timed out");
}


/* the nginx connection around libpq's socket */

static ngx_int_t
ngx_http_gonsters_pg_wrap(ngx_http_gonsters_pg_conn_t *pc)
{
    int                fd;
    struct stat        st;
    ngx_connection_t  *c;

    fd = PQsocket(pc->pg);
    if (fd == -1) {
        return NGX_ERROR;
    }

    if (fstat(fd, &st) == -1) {
        ngx_log_error(NGX_LOG_ALERT, pc->log, ngx_errno,
                      "gonsters_postgres: fstat(%d) failed", fd);
        return NGX_ERROR;
    }

    c = ngx_http_gonsters_conn_wrap(fd, pc, ngx_http_gonsters_pg_read_handler,
                                    ngx_http_gonsters_pg_write_handler,
                                    pc->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    pc->c = c;
    pc->ino = st.st_ino;

    if (ngx_add_event(c->read, NGX_READ_EVENT, NGX_LEVEL_EVENT) != NGX_OK) {
        ngx_http_gonsters_pg_unwrap(pc);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * Frees the nginx connection without closing the socket: libpq closes it,
 * either right after this (PQfinish) or it already did (a replaced socket);
 * in both cases the kernel drops it from epoll, so no EPOLL_CTL_DEL.
 */

static void
ngx_http_gonsters_pg_unwrap(ngx_http_gonsters_pg_conn_t *pc)
{
    ngx_connection_t  *c;

    c = pc->c;
    if (c == NULL) {
        return;
    }

    pc->c = NULL;

    ngx_http_gonsters_conn_release(c);
}


/* after a PQconnectPoll() step: is it still the socket we watch? */

static ngx_int_t
ngx_http_gonsters_pg_check_socket(ngx_http_gonsters_pg_conn_t *pc)
{
    int          fd;
    struct stat  st;

    fd = PQsocket(pc->pg);

    if (pc->c && fd == pc->c->fd && fd != -1
        && fstat(fd, &st) == 0 && st.st_ino == pc->ino)
    {
        return NGX_OK;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, pc->log, 0,
                   "gonsters_postgres: libpq replaced socket %d by %d",
                   pc->c ? pc->c->fd : -1, fd);

    /* libpq closed the old socket already */
    ngx_http_gonsters_pg_unwrap(pc);

    if (ngx_http_gonsters_pg_wrap(pc) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_gonsters_pg_want_write(pc, pc->want_write);
}


static ngx_int_t
ngx_http_gonsters_pg_want_write(ngx_http_gonsters_pg_conn_t *pc,
    ngx_uint_t on)
{
    ngx_event_t  *wev;

    wev = pc->c->write;

    if (on && !wev->active) {
        return ngx_add_event(wev, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
    }

    if (!on && wev->active) {
        return ngx_del_event(wev, NGX_WRITE_EVENT, 0);
    }

    return NGX_OK;
}


/* a connection without a call goes away for good */

static void
ngx_http_gonsters_pg_close(ngx_http_gonsters_pg_conn_t *pc)
{
    ngx_http_gonsters_pg_main_conf_t  *pool;

    pool = pc->pool;

    if (pc->call) {
        ngx_log_error(NGX_LOG_ALERT, pc->log, 0,
                      "gonsters_postgres: closing a connection in use");
        pc->call->pc = NULL;
        pc->call = NULL;
    }

    if (pc->timer.timer_set) {
        ngx_del_timer(&pc->timer);
    }

    if (pc->connecting) {
        pool->nconnecting--;
    }

    ngx_http_gonsters_pg_set_state(pc, NGX_HTTP_GONSTERS_PG_CONN_CONNECTING);

    ngx_queue_remove(&pc->queue);
    pool->nconns--;
    ngx_http_gonsters_metrics_pool(NGX_HTTP_GONSTERS_POSTGRES, -1, 0);

    ngx_http_gonsters_pg_unwrap(pc);

    PQfinish(pc->pg);
    ngx_destroy_pool(pc->mem);
}


/* keeps the busy gauge and c->idle in step with the state */

static void
ngx_http_gonsters_pg_set_state(ngx_http_gonsters_pg_conn_t *pc,
    ngx_uint_t state)
{
    if (pc->state == NGX_HTTP_GONSTERS_PG_CONN_BUSY
        && state != NGX_HTTP_GONSTERS_PG_CONN_BUSY)
    {
        ngx_http_gonsters_metrics_pool(NGX_HTTP_GONSTERS_POSTGRES, 0, -1);

    } else if (pc->state != NGX_HTTP_GONSTERS_PG_CONN_BUSY
               && state == NGX_HTTP_GONSTERS_PG_CONN_BUSY)
    {
        ngx_http_gonsters_metrics_pool(NGX_HTTP_GONSTERS_POSTGRES, 0, 1);
    }

    if (pc->state == NGX_HTTP_GONSTERS_PG_CONN_IDLE
        && state != NGX_HTTP_GONSTERS_PG_CONN_IDLE)
    {
        ngx_queue_remove(&pc->queue);
        ngx_queue_insert_tail(&pc->pool->active, &pc->queue);

    } else if (pc->state != NGX_HTTP_GONSTERS_PG_CONN_IDLE
               && state == NGX_HTTP_GONSTERS_PG_CONN_IDLE)
    {
        ngx_queue_remove(&pc->queue);
        ngx_queue_insert_head(&pc->pool->idle, &pc->queue);
    }

    if (pc->c) {
        pc->c->idle = (state == NGX_HTTP_GONSTERS_PG_CONN_IDLE);
    }

    pc->state = state;
}


/* events */

static void
ngx_http_gonsters_pg_read_handler(ngx_event_t *ev)
{
    ngx_connection_t                  *c;
    ngx_http_gonsters_pg_call_t       *call;
    ngx_http_gonsters_pg_conn_t       *pc;

    c = ev->data;
    pc = c->data;

    if (c->close) {
        /* graceful shutdown (idle), or worker_shutdown_timeout (any) */
        call = pc->call;

        if (call) {
            call->pc = NULL;
            pc->call = NULL;
            ngx_http_gonsters_pg_complete(call,
                                    NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE,
                                    "nginx is shutting down");
        }

        ngx_http_gonsters_pg_close(pc);
        return;
    }

    switch (pc->state) {

    case NGX_HTTP_GONSTERS_PG_CONN_CONNECTING:
        if (!pc->want_write) {
            ngx_http_gonsters_pg_connect_step(pc);
        }
        return;

    case NGX_HTTP_GONSTERS_PG_CONN_IDLE:
        if (ngx_http_gonsters_pg_idle_consume(pc) != NGX_OK) {
            ngx_http_gonsters_pg_close(pc);
        }
        return;

    default: /* BUSY */
        ngx_http_gonsters_pg_input(pc);
        return;
    }
}


static void
ngx_http_gonsters_pg_write_handler(ngx_event_t *ev)
{
    ngx_connection_t             *c;
    ngx_http_gonsters_pg_conn_t  *pc;

    c = ev->data;
    pc = c->data;

    switch (pc->state) {

    case NGX_HTTP_GONSTERS_PG_CONN_CONNECTING:
        if (pc->want_write) {
            ngx_http_gonsters_pg_connect_step(pc);
        }
        return;

    case NGX_HTTP_GONSTERS_PG_CONN_BUSY:
        if (!pc->flushing) {
            break;
        }

        if (ngx_http_gonsters_pg_flush(pc) != NGX_OK) {
            ngx_http_gonsters_pg_lost(pc, ngx_http_gonsters_pg_errmsg(pc));
            return;
        }

        /* PQflush() may have read the answer into libpq's buffer already */
        if (!pc->flushing) {
            ngx_http_gonsters_pg_input(pc);
        }

        return;

    default:
        break;
    }

    if (ngx_http_gonsters_pg_want_write(pc, 0) != NGX_OK) {
        ngx_http_gonsters_pg_lost(pc, "cannot watch the socket");
    }
}


/*
 * An idle connection became readable: EOF, a FATAL message before the
 * server closes it (shutdown, terminated backend), a notice or a parameter
 * status.  NGX_OK if it is still fit for use.
 */

static ngx_int_t
ngx_http_gonsters_pg_idle_consume(ngx_http_gonsters_pg_conn_t *pc)
{
    PGresult  *res;

    if (!PQconsumeInput(pc->pg)) {
        if (!pc->broken) {
            ngx_log_error(NGX_LOG_ERR, pc->log, 0,
                          "gonsters_postgres: idle connection to %V lost: %s",
                          &pc->pool->target, ngx_http_gonsters_pg_errmsg(pc));
        }

        return NGX_ERROR;
    }

    while (!PQisBusy(pc->pg)) {
        res = PQgetResult(pc->pg);
        if (res == NULL) {
            break;
        }

        /* nothing may arrive on an idle connection */
        ngx_log_error(NGX_LOG_ERR, pc->log, 0,
                      "gonsters_postgres: unexpected message on an idle "
                      "connection: %s",
                      ngx_http_gonsters_pg_oneline(PQresultErrorMessage(res)));
        PQclear(res);
        pc->broken = 1;
    }

    if (pc->broken || PQstatus(pc->pg) != CONNECTION_OK
        || PQtransactionStatus(pc->pg) != PQTRANS_IDLE)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* before an idle connection is handed out: EOF or data waiting? */

static ngx_int_t
ngx_http_gonsters_pg_idle_alive(ngx_http_gonsters_pg_conn_t *pc)
{
    u_char     b;
    ssize_t    n;
    ngx_err_t  err;

    if (pc->broken || PQstatus(pc->pg) != CONNECTION_OK) {
        return NGX_ERROR;
    }

    n = recv(pc->c->fd, &b, 1, MSG_PEEK|MSG_DONTWAIT);

    if (n == -1) {
        err = ngx_socket_errno;

        if (err == NGX_EAGAIN || err == NGX_EINTR) {
            return NGX_OK;
        }

        ngx_log_error(NGX_LOG_ERR, pc->log, err,
                      "gonsters_postgres: idle connection to %V lost",
                      &pc->pool->target);
        return NGX_ERROR;
    }

    if (n == 0) {
        ngx_log_error(NGX_LOG_ERR, pc->log, 0,
                      "gonsters_postgres: idle connection to %V closed by "
                      "the server", &pc->pool->target);
        return NGX_ERROR;
    }

    return ngx_http_gonsters_pg_idle_consume(pc);
}


/* calls on a connection */

/* a new or released connection: the first waiting call, or idle */

static void
ngx_http_gonsters_pg_ready(ngx_http_gonsters_pg_conn_t *pc)
{
    ngx_queue_t                       *q;
    ngx_http_gonsters_pg_call_t       *call;
    ngx_http_gonsters_pg_main_conf_t  *pool;

    pool = pc->pool;

    if (!ngx_queue_empty(&pool->waiting)) {
        q = ngx_queue_head(&pool->waiting);
        ngx_queue_remove(q);
        pool->nwaiting--;

        call = ngx_queue_data(q, ngx_http_gonsters_pg_call_t, queue);
        ngx_http_gonsters_pg_run(pc, call);
        return;
    }

    if (ngx_exiting) {
        ngx_http_gonsters_pg_close(pc);
        return;
    }

    ngx_http_gonsters_pg_set_state(pc, NGX_HTTP_GONSTERS_PG_CONN_IDLE);
}


static void
ngx_http_gonsters_pg_run(ngx_http_gonsters_pg_conn_t *pc,
    ngx_http_gonsters_pg_call_t *call)
{
    ngx_http_gonsters_pg_set_state(pc, NGX_HTTP_GONSTERS_PG_CONN_BUSY);

    pc->call = call;
    call->pc = pc;
    call->state = NGX_HTTP_GONSTERS_PG_CALL_RUNNING;
    call->next = 0;

    if (call->flags & NGX_HTTP_GONSTERS_PG_TRANSACTION) {
        call->phase = NGX_HTTP_GONSTERS_PG_BEGIN;

    } else if (ngx_http_gonsters_pg_next_statement(pc) != NGX_OK) {
        (void) ngx_http_gonsters_pg_statement_failed(pc, NULL,
                                   "a statement name is used for two texts");
        return;
    }

    if (ngx_http_gonsters_pg_send(pc) != NGX_OK) {
        ngx_http_gonsters_pg_lost(pc, ngx_http_gonsters_pg_errmsg(pc));
    }
}


/* the phase of statement call->next: prepare it first, or execute */

static ngx_int_t
ngx_http_gonsters_pg_next_statement(ngx_http_gonsters_pg_conn_t *pc)
{
    ngx_int_t                     rc;
    ngx_http_gonsters_pg_call_t  *call;
    ngx_http_gonsters_pg_stmt_t  *stmt;

    call = pc->call;
    stmt = &call->stmts[call->next];

    call->phase = NGX_HTTP_GONSTERS_PG_EXECUTE;

    if (stmt->name == NULL || stmt->name[0] == '\0') {
        return NGX_OK;
    }

    rc = ngx_http_gonsters_pg_prepared(pc, stmt);

    if (rc == NGX_DECLINED) {
        call->phase = NGX_HTTP_GONSTERS_PG_PREPARE;
        return NGX_OK;
    }

    return rc;
}


static ngx_int_t
ngx_http_gonsters_pg_send(ngx_http_gonsters_pg_conn_t *pc)
{
    int                           ok;
    ngx_http_gonsters_pg_call_t  *call;
    ngx_http_gonsters_pg_stmt_t  *stmt;

    call = pc->call;
    stmt = &call->stmts[call->next];

    switch (call->phase) {

    case NGX_HTTP_GONSTERS_PG_PREPARE:
        ok = PQsendPrepare(pc->pg, stmt->name, stmt->sql, stmt->nparams,
                           NULL);
        break;

    case NGX_HTTP_GONSTERS_PG_EXECUTE:
        if (stmt->name && stmt->name[0]) {
            ok = PQsendQueryPrepared(pc->pg, stmt->name, stmt->nparams,
                                     stmt->values, NULL, NULL, 0);
        } else {
            ok = PQsendQueryParams(pc->pg, stmt->sql, stmt->nparams, NULL,
                                   stmt->values, NULL, NULL, 0);
        }
        break;

    default: /* BEGIN, COMMIT, ROLLBACK */
        ok = PQsendQueryParams(pc->pg,
                               ngx_http_gonsters_pg_phase_sql[call->phase],
                               0, NULL, NULL, NULL, NULL, 0);
        break;
    }

    if (!ok) {
        return NGX_ERROR;
    }

    return ngx_http_gonsters_pg_flush(pc);
}


static ngx_int_t
ngx_http_gonsters_pg_flush(ngx_http_gonsters_pg_conn_t *pc)
{
    int  rc;

    rc = PQflush(pc->pg);

    if (rc == -1) {
        return NGX_ERROR;
    }

    pc->flushing = (rc == 1);

    return ngx_http_gonsters_pg_want_write(pc, pc->flushing);
}


/*
 * A busy connection became readable.  Bytes OpenSSL has already taken off
 * the socket make no event: read on while it holds some.
 */

static void
ngx_http_gonsters_pg_input(ngx_http_gonsters_pg_conn_t *pc)
{
    do {
        if (!PQconsumeInput(pc->pg)) {
            ngx_http_gonsters_pg_lost(pc, ngx_http_gonsters_pg_errmsg(pc));
            return;
        }

        if (pc->flushing && ngx_http_gonsters_pg_flush(pc) != NGX_OK) {
            ngx_http_gonsters_pg_lost(pc, ngx_http_gonsters_pg_errmsg(pc));
            return;
        }

        if (ngx_http_gonsters_pg_results(pc) != NGX_AGAIN) {
            return;  /* the call ended, or the connection was closed */
        }

    } while (ngx_http_gonsters_pg_ssl_pending(pc));
}


static ngx_uint_t
ngx_http_gonsters_pg_ssl_pending(ngx_http_gonsters_pg_conn_t *pc)
{
#if (NGX_SSL)
    SSL  *ssl;

    if (!PQsslInUse(pc->pg)) {
        return 0;
    }

    ssl = PQsslStruct(pc->pg, "OpenSSL");

    return ssl && SSL_pending(ssl) > 0;
#else
    return 0;
#endif
}


/* the results libpq has: NGX_AGAIN when it needs more input */

static ngx_int_t
ngx_http_gonsters_pg_results(ngx_http_gonsters_pg_conn_t *pc)
{
    PGresult                     *res;
    ngx_int_t                     rc;
    ExecStatusType                st;
    ngx_http_gonsters_pg_call_t  *call;

    for ( ;; ) {

        if (PQisBusy(pc->pg)) {
            return NGX_AGAIN;
        }

        res = PQgetResult(pc->pg);

        if (res == NULL) {
            rc = ngx_http_gonsters_pg_command_done(pc);

            if (rc == NGX_AGAIN) {
                continue;  /* the next command was sent */
            }

            return NGX_DONE;
        }

        call = pc->call;
        st = PQresultStatus(res);

        if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT
            || st == PGRES_COPY_BOTH)
        {
            PQclear(res);
            ngx_log_error(NGX_LOG_ALERT, call->log, 0,
                          "gonsters_postgres: COPY is not supported");
            ngx_http_gonsters_pg_set_error(call, NULL,
                                           "COPY is not supported");
            pc->broken = 1;
            return ngx_http_gonsters_pg_end_call(pc,
                                              NGX_HTTP_GONSTERS_BACKEND_ERROR);
        }

        /* one result per command is expected; an error wins */

        if (call->pending == NULL) {
            call->pending = res;

        } else if (st == PGRES_FATAL_ERROR
                   && PQresultStatus(call->pending) != PGRES_FATAL_ERROR)
        {
            PQclear(call->pending);
            call->pending = res;

        } else {
            PQclear(res);
        }
    }
}


/*
 * The command in flight has all its results: go on with the next one
 * (NGX_AGAIN), or end the call (NGX_DONE; the connection was released or
 * closed).
 */

static ngx_int_t
ngx_http_gonsters_pg_command_done(ngx_http_gonsters_pg_conn_t *pc)
{
    PGresult                     *res;
    ngx_uint_t                    ok;
    ExecStatusType                st;
    ngx_http_gonsters_pg_call_t  *call;

    call = pc->call;
    res = call->pending;
    call->pending = NULL;

    st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    ok = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK
          || st == PGRES_EMPTY_QUERY);

    switch (call->phase) {

    case NGX_HTTP_GONSTERS_PG_ROLLBACK:
        PQclear(res);
        return ngx_http_gonsters_pg_end_call(pc, call->res.status);

    case NGX_HTTP_GONSTERS_PG_COMMIT:
        if (!ok) {
            /* the server rolled the transaction back */
            pc->call->flags &= ~NGX_HTTP_GONSTERS_PG_TRANSACTION;
            return ngx_http_gonsters_pg_statement_failed(pc, res, NULL);
        }

        PQclear(res);
        return ngx_http_gonsters_pg_end_call(pc, NGX_HTTP_GONSTERS_BACKEND_OK);

    default:
        break;
    }

    if (!ok) {
        return ngx_http_gonsters_pg_statement_failed(pc, res, NULL);
    }

    switch (call->phase) {

    case NGX_HTTP_GONSTERS_PG_BEGIN:
        PQclear(res);

        if (ngx_http_gonsters_pg_next_statement(pc) != NGX_OK) {
            return ngx_http_gonsters_pg_statement_failed(pc, NULL,
                                   "a statement name is used for two texts");
        }

        break;

    case NGX_HTTP_GONSTERS_PG_PREPARE:
        PQclear(res);

        if (ngx_http_gonsters_pg_remember(pc, &call->stmts[call->next])
            != NGX_OK)
        {
            /* out of memory: the server has it, we would prepare again */
            pc->broken = 1;
        }

        call->phase = NGX_HTTP_GONSTERS_PG_EXECUTE;
        break;

    default: /* EXECUTE */
        call->res.results[call->res.nresults++] = res;
        call->next++;

        if (call->next < call->nstmts) {
            if (ngx_http_gonsters_pg_next_statement(pc) != NGX_OK) {
                return ngx_http_gonsters_pg_statement_failed(pc, NULL,
                                   "a statement name is used for two texts");
            }

        } else if (call->flags & NGX_HTTP_GONSTERS_PG_TRANSACTION) {
            call->phase = NGX_HTTP_GONSTERS_PG_COMMIT;

        } else {
            return ngx_http_gonsters_pg_end_call(pc,
                                                NGX_HTTP_GONSTERS_BACKEND_OK);
        }

        break;
    }

    if (ngx_http_gonsters_pg_send(pc) != NGX_OK) {
        ngx_http_gonsters_pg_lost(pc, ngx_http_gonsters_pg_errmsg(pc));
        return NGX_DONE;
    }

    return NGX_AGAIN;
}


/*
 * A statement (or BEGIN/COMMIT) failed: res is its error result (the call
 * owns it) or NULL with message.  A lost or dying connection makes the
 * call UNAVAILABLE; a transaction is rolled back before the call ends.
 */

static ngx_int_t
ngx_http_gonsters_pg_statement_failed(ngx_http_gonsters_pg_conn_t *pc,
    PGresult *res, const char *message)
{
    const char                   *sev, *state;
    ngx_http_gonsters_pg_call_t  *call;

    call = pc->call;

    if (res == NULL && message == NULL) {
        ngx_http_gonsters_pg_lost(pc, ngx_http_gonsters_pg_errmsg(pc));
        return NGX_DONE;
    }

    ngx_http_gonsters_pg_set_error(call, res, message);

    sev = res ? PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED) : NULL;
    state = call->res.sqlstate;

    if (PQstatus(pc->pg) != CONNECTION_OK
        || (sev && (ngx_strcmp(sev, "FATAL") == 0
                    || ngx_strcmp(sev, "PANIC") == 0))
        || (state[0] == '0' && state[1] == '8'))
    {
        ngx_log_error(NGX_LOG_ERR, call->log, 0,
                      "gonsters_postgres: connection to %V failed: %V",
                      &pc->pool->target, &call->res.message);
        pc->broken = 1;
        return ngx_http_gonsters_pg_end_call(pc,
                                       NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE);
    }

    /* the server's statement_timeout (set to the query timeout) */
    if (ngx_strcmp(state, "57014") == 0) {
        call->res.status = NGX_HTTP_GONSTERS_BACKEND_TIMEOUT;
        ngx_log_error(NGX_LOG_ERR, call->log, 0,
                      "gonsters_postgres: statement canceled by %V: %V",
                      &pc->pool->target, &call->res.message);

    } else {
        call->res.status = NGX_HTTP_GONSTERS_BACKEND_ERROR;
        ngx_log_error(NGX_LOG_INFO, call->log, 0,
                      "gonsters_postgres: statement failed: %s%s%V",
                      state, state[0] ? ": " : "", &call->res.message);
    }

    if ((call->flags & NGX_HTTP_GONSTERS_PG_TRANSACTION)
        && PQtransactionStatus(pc->pg) != PQTRANS_IDLE)
    {
        call->phase = NGX_HTTP_GONSTERS_PG_ROLLBACK;

        if (ngx_http_gonsters_pg_send(pc) != NGX_OK) {
            ngx_http_gonsters_pg_lost(pc, ngx_http_gonsters_pg_errmsg(pc));
            return NGX_DONE;
        }

        return NGX_AGAIN;
    }

    return ngx_http_gonsters_pg_end_call(pc, call->res.status);
}


static ngx_int_t
ngx_http_gonsters_pg_end_call(ngx_http_gonsters_pg_conn_t *pc,
    ngx_http_gonsters_backend_status_e status)
{
    ngx_http_gonsters_pg_call_t  *call;

    call = pc->call;
    call->pc = NULL;
    pc->call = NULL;

    ngx_http_gonsters_pg_complete(call, status, NULL);
    ngx_http_gonsters_pg_release(pc);

    return NGX_DONE;
}


/* a call ended on pc: reuse it only when it is sound and out of any
 * transaction */

static void
ngx_http_gonsters_pg_release(ngx_http_gonsters_pg_conn_t *pc)
{
    PGTransactionStatusType            ts;
    ngx_http_gonsters_pg_main_conf_t  *pool;

    pool = pc->pool;
    ts = PQtransactionStatus(pc->pg);

    if (pc->broken || pc->flushing || PQstatus(pc->pg) != CONNECTION_OK
        || ts != PQTRANS_IDLE)
    {
        if (!pc->broken && PQstatus(pc->pg) == CONNECTION_OK) {
            ngx_log_error(NGX_LOG_ERR, pc->log, 0,
                          "gonsters_postgres: connection left in "
                          "transaction state %d, closed", (int) ts);
        }

        ngx_http_gonsters_pg_close(pc);
        ngx_http_gonsters_pg_dispatch(pool);
        return;
    }

    ngx_http_gonsters_pg_ready(pc);
}


/* the connection broke under a call */

static void
ngx_http_gonsters_pg_lost(ngx_http_gonsters_pg_conn_t *pc,
    const char *reason)
{
    ngx_http_gonsters_pg_call_t       *call;
    ngx_http_gonsters_pg_main_conf_t  *pool;

    pool = pc->pool;
    call = pc->call;

    ngx_log_error(NGX_LOG_ERR, call ? call->log : pc->log, 0,
                  "gonsters_postgres: connection to %V lost: %s",
                  &pool->target, reason);

    if (call) {
        call->pc = NULL;
        pc->call = NULL;
        ngx_http_gonsters_pg_complete(call,
                                      NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE,
                                      reason);
    }

    ngx_http_gonsters_pg_close(pc);
    ngx_http_gonsters_pg_dispatch(pool);
}


/* named statements prepared on this connection */

static ngx_int_t
ngx_http_gonsters_pg_prepared(ngx_http_gonsters_pg_conn_t *pc,
    ngx_http_gonsters_pg_stmt_t *stmt)
{
    ngx_http_gonsters_pg_prepared_t  *p;

    for (p = pc->prepared; p; p = p->next) {
        if (ngx_strcmp(p->name, stmt->name) != 0) {
            continue;
        }

        if (ngx_strcmp(p->sql, stmt->sql) == 0) {
            return NGX_OK;
        }

        ngx_log_error(NGX_LOG_ALERT, pc->call->log, 0,
                      "gonsters_postgres: statement \"%s\" is used for two "
                      "different SQL texts", stmt->name);
        return NGX_ERROR;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_gonsters_pg_remember(ngx_http_gonsters_pg_conn_t *pc,
    ngx_http_gonsters_pg_stmt_t *stmt)
{
    size_t                            nlen, slen;
    ngx_http_gonsters_pg_prepared_t  *p;

    nlen = ngx_strlen(stmt->name) + 1;
    slen = ngx_strlen(stmt->sql) + 1;

    p = ngx_palloc(pc->mem, sizeof(ngx_http_gonsters_pg_prepared_t));
    if (p == NULL) {
        return NGX_ERROR;
    }

    p->name = ngx_pnalloc(pc->mem, nlen + slen);
    if (p->name == NULL) {
        return NGX_ERROR;
    }

    p->sql = p->name + nlen;
    ngx_memcpy(p->name, stmt->name, nlen);
    ngx_memcpy(p->sql, stmt->sql, slen);

    p->next = pc->prepared;
    pc->prepared = p;

    return NGX_OK;
}


/* NOTICE, WARNING ... and the FATAL message a server sends before it
 * closes a connection */

static void
ngx_http_gonsters_pg_notice(void *arg, const PGresult *res)
{
    ngx_http_gonsters_pg_conn_t *pc = arg;

    ngx_uint_t   level;
    const char  *sev, *msg;

    sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

    if (sev == NULL) {
        sev = "NOTICE";
    }

    if (msg == NULL) {
        msg = PQresultErrorMessage(res);
    }

    level = NGX_LOG_INFO;

    if (ngx_strcmp(sev, "FATAL") == 0 || ngx_strcmp(sev, "PANIC") == 0) {
        pc->broken = 1;
        level = NGX_LOG_ERR;
    }

    ngx_log_error(level, pc->call ? pc->call->log : pc->log, 0,
                  "gonsters_postgres: %V says %s: %s", &pc->pool->target,
                  sev, ngx_http_gonsters_pg_oneline(msg));
}


/* a libpq message on one line, for the log (valid until the next call) */

static const char *
ngx_http_gonsters_pg_oneline(const char *msg)
{
    u_char  *p;

    static u_char  buf[512];

    if (msg == NULL) {
        return "";
    }

    p = ngx_http_gonsters_pg_clean(buf, sizeof(buf) - 1, msg);
    *p = '\0';

    return (const char *) buf;
}
