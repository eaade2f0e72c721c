
/*
 * PostgreSQL from nginx workers: libpq's asynchronous API on nginx events,
 * a per-worker pool of keepalive connections (ngx_http_gonsters_pg_module).
 *
 * Directives (http):
 *   gonsters_postgres "conninfo";          libpq keywords; host must be an IP
 *                                          address or a unix socket directory
 *                                          (a name would need a blocking DNS
 *                                          lookup); checked by nginx -t
 *   gonsters_postgres_pool_size N;         connections per worker (default 8)
 *   gonsters_postgres_connect_timeout T;   default 3s
 *   gonsters_postgres_query_timeout T;     default 5s; the deadline of a call
 *                                          covers waiting for a connection,
 *                                          connecting and the statements
 *   gonsters_postgres_queue_size N;        calls waiting for a connection per
 *                                          worker (default 1024); beyond it a
 *                                          call fails at once as UNAVAILABLE
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
    /* one per statement, in order; each freed with the pool given to the
     * call (the request's pool for request calls) */
    ngx_uint_t                    nresults;
    PGresult                    **results;
    /* status ERROR: the server's SQLSTATE ("23505" ...) and message */
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
 * NGX_HTTP_GONSTERS_PG_TRANSACTION: BEGIN ... COMMIT, ROLLBACK on error),
 * then call handler and resume r with its return value.  Return NGX_DONE
 * when started (the content handler returns it too), NGX_ERROR when nothing
 * was started.  stmts and values must live in r->pool (or be static).
 */
ngx_int_t ngx_http_gonsters_pg_query(ngx_http_request_t *r,
    ngx_http_gonsters_pg_stmt_t *stmts, ngx_uint_t n, ngx_uint_t flags,
    ngx_http_gonsters_pg_handler_pt handler, void *data);

/*
 * Calls without a request (timers, start-up, caches): results in pool,
 * which must outlive the call; done runs on the event loop.
 */
ngx_int_t ngx_http_gonsters_pg_call(ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_gonsters_pg_stmt_t *stmts, ngx_uint_t n, ngx_uint_t flags,
    ngx_http_gonsters_pg_done_pt done, void *data);

/* NGX_OK when "gonsters_postgres" is configured */
ngx_int_t ngx_http_gonsters_pg_configured(ngx_cycle_t *cycle);


extern ngx_module_t  ngx_http_gonsters_pg_module;


#endif /* _NGX_HTTP_GONSTERS_PG_H_INCLUDED_ */
