
/*
 * PostgreSQL from nginx workers: libpq's asynchronous API on nginx events,
 * a per-worker pool of keepalive connections (ngx_http_gonsters_pg_module).
 *
 * Directives (http):
 *   gonsters_postgres "conninfo";          libpq keywords or URI; host must be
 *                                          an IP address or an absolute unix
 *                                          socket directory, or hostaddr= be
 *                                          given (a name would need a
 *                                          blocking DNS lookup); no service=;
 *                                          checked by nginx -t
 *   gonsters_postgres_pool_size N;         connections per worker (default 8)
 *   gonsters_postgres_connect_timeout T;   default 3s
 *   gonsters_postgres_query_timeout T;     default 5s; the deadline of a call
 *                                          covers waiting for a connection,
 *                                          connecting and the statements; also
 *                                          the server's statement_timeout
 *   gonsters_postgres_queue_size N;        calls waiting for a connection per
 *                                          worker (default 1024); beyond it a
 *                                          call fails at once as UNAVAILABLE
 *
 * Unless conninfo says otherwise: client_encoding=UTF8, gssencmode=disable
 * (a GSSAPI credential lookup may block), fallback_application_name=
 * gonsters, options=-c statement_timeout=<query timeout> (options='' sends
 * none, for poolers that refuse it); a statement the server cancels
 * (SQLSTATE 57014) is a TIMEOUT.
 *
 * Outcomes: OK; ERROR when the server rejected a statement (SQLSTATE set);
 * TIMEOUT when the deadline passed (the connection is closed, which rolls
 * back an open transaction); UNAVAILABLE when the server refused or lost
 * the connection, the queue is full, or the server is known to be down:
 * after a failed connect, new connects wait a backoff of 100 ms doubling
 * up to 1 s, and meanwhile a call that finds no open connection fails at
 * once instead of waiting for its deadline; after the backoff one connect
 * probes the server at a time (calls made meanwhile wait for it).  After a
 * lost connection the outcome of a COMMIT in flight is unknown (as with any
 * client).
 * Idle connections are watched: one the server closes or sends a FATAL
 * message on is closed, never handed to a call; a connection is reused
 * only when it is back in the idle transaction state.
 */


#ifndef _NGX_HTTP_GONSTERS_PG_H_INCLUDED_
#define _NGX_HTTP_GONSTERS_PG_H_INCLUDED_


#include "ngx_http_gonsters_module.h"
#include <libpq-fe.h>


/* one statement; values are text, NULL is SQL NULL; never paste values
 * into sql.  With a name, the statement is prepared once per connection
 * (asynchronously) and executed by name afterwards. */
typedef struct {
    const char                   *name;
    const char                   *sql;
    int                           nparams;
    const char * const           *values;
} ngx_http_gonsters_pg_stmt_t;


typedef struct {
    ngx_http_gonsters_backend_status_e  status;
    /* the results of the statements that succeeded, in order (all of them
     * when status is OK); freed with the pool given to the call (the
     * request's pool for request calls) */
    ngx_uint_t                    nresults;
    PGresult                    **results;
    /* status ERROR: the failed statement's (or COMMIT's) error result, for
     * PQresultErrorField(); NULL when the error came from this layer */
    PGresult                     *error;
    /* status ERROR: the server's SQLSTATE ("23505" ...) or ""; message:
     * the primary message for ERROR, a reason for the other failures */
    char                          sqlstate[6];
    ngx_str_t                     message;
    ngx_msec_t                    latency;
} ngx_http_gonsters_pg_result_t;


typedef ngx_int_t (*ngx_http_gonsters_pg_handler_pt)(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);

typedef void (*ngx_http_gonsters_pg_done_pt)(
    ngx_http_gonsters_pg_result_t *res, void *data);


#define NGX_HTTP_GONSTERS_PG_TRANSACTION  0x01


/*
 * Request calls: suspend r, run the statements (in one transaction with
 * NGX_HTTP_GONSTERS_PG_TRANSACTION: BEGIN ... COMMIT, ROLLBACK on error;
 * without it the statements run one by one and the first error stops
 * them), then call handler and resume r with its return value.  Return
 * NGX_DONE when started (the content handler returns it too), NGX_ERROR
 * when nothing was started.  stmts and values must live in r->pool (or be
 * static).  The handler always runs from the event loop (a posted event),
 * never from inside this function.  A statement name stands for one SQL
 * text in the whole worker.
 */
ngx_int_t ngx_http_gonsters_pg_query(ngx_http_request_t *r,
    ngx_http_gonsters_pg_stmt_t *stmts, ngx_uint_t n, ngx_uint_t flags,
    ngx_http_gonsters_pg_handler_pt handler, void *data);

/*
 * Calls without a request (timers, start-up, caches): NGX_OK when started,
 * NGX_ERROR when not.  Results in pool; log must live as long.  done runs
 * on the event loop (a posted event), never inside this function.
 * Destroying pool before done has run abandons the call (done is then
 * never called).
 */
ngx_int_t ngx_http_gonsters_pg_call(ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_gonsters_pg_stmt_t *stmts, ngx_uint_t n, ngx_uint_t flags,
    ngx_http_gonsters_pg_done_pt done, void *data);

/* a value of a result copied into pool, NUL-terminated ("" for NULL) */
ngx_int_t ngx_http_gonsters_pg_copy(ngx_pool_t *pool, PGresult *res,
    int row, int col, ngx_str_t *out);

/* NGX_OK when "gonsters_postgres" is configured */
ngx_int_t ngx_http_gonsters_pg_configured(ngx_cycle_t *cycle);


extern ngx_module_t  ngx_http_gonsters_pg_module;


#endif /* _NGX_HTTP_GONSTERS_PG_H_INCLUDED_ */
