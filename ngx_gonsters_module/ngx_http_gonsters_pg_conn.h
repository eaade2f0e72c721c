
/*
 * Internals of ngx_http_gonsters_pg_module shared by its two files:
 *   ngx_http_gonsters_pg.c       directives, the public calls, completion
 *   ngx_http_gonsters_pg_conn.c  the per-worker pool: connecting, idle
 *                                watching, running statements
 * Not for other parts of the module: they use ngx_http_gonsters_pg.h.
 */


#ifndef _NGX_HTTP_GONSTERS_PG_CONN_H_INCLUDED_
#define _NGX_HTTP_GONSTERS_PG_CONN_H_INCLUDED_


#include "ngx_http_gonsters_pg.h"


/* after the n-th consecutive failed connect, no new connect for
 * min(BASE << (n - 1), MAX) ms; calls meanwhile fail at once when no
 * connection is open */
#define NGX_HTTP_GONSTERS_PG_BACKOFF_BASE  100
#define NGX_HTTP_GONSTERS_PG_BACKOFF_MAX   1000


typedef struct ngx_http_gonsters_pg_conn_s  ngx_http_gonsters_pg_conn_t;
typedef struct ngx_http_gonsters_pg_call_s  ngx_http_gonsters_pg_call_t;


/* this worker's pool; lives in the main configuration (one per cycle) */
typedef struct {
    /* configuration */
    const char                  **keywords;   /* NULL-terminated */
    const char                  **values;
    ngx_str_t                     target;     /* for logs: no password */
    ngx_uint_t                    pool_size;
    ngx_uint_t                    queue_size;
    ngx_msec_t                    connect_timeout;
    ngx_msec_t                    query_timeout;

    /* state of this worker */
    ngx_queue_t                   idle;       /* conns, most recent first */
    ngx_queue_t                   active;     /* connecting and busy */
    ngx_queue_t                   waiting;    /* calls */
    ngx_uint_t                    nconns;     /* connecting + idle + busy */
    ngx_uint_t                    nconnecting;
    ngx_uint_t                    nwaiting;
    ngx_uint_t                    failures;   /* consecutive, connects */
    ngx_msec_t                    retry_at;   /* valid when failures */
} ngx_http_gonsters_pg_main_conf_t;


typedef enum {
    NGX_HTTP_GONSTERS_PG_CONN_CONNECTING = 0,
    NGX_HTTP_GONSTERS_PG_CONN_IDLE,
    NGX_HTTP_GONSTERS_PG_CONN_BUSY
} ngx_http_gonsters_pg_conn_state_e;


typedef struct ngx_http_gonsters_pg_prepared_s
    ngx_http_gonsters_pg_prepared_t;

struct ngx_http_gonsters_pg_prepared_s {
    ngx_http_gonsters_pg_prepared_t  *next;
    char                             *name;
    char                             *sql;
};


struct ngx_http_gonsters_pg_conn_s {
    ngx_queue_t                       queue;     /* idle or active */
    ngx_http_gonsters_pg_main_conf_t *pool;
    ngx_pool_t                       *mem;       /* this struct, names */
    PGconn                           *pg;
    ngx_connection_t                 *c;         /* wraps PQsocket() */
    ino_t                             ino;       /* identity of the fd */
    ngx_event_t                       timer;     /* connect timeout */
    ngx_http_gonsters_pg_call_t      *call;      /* when busy */
    ngx_http_gonsters_pg_prepared_t  *prepared;
    ngx_log_t                        *log;       /* the cycle's */

    unsigned                          state:2;
    unsigned                          connecting:1;  /* in nconnecting */
    unsigned                          want_write:1;  /* connecting */
    unsigned                          flushing:1;    /* PQflush() == 1 */
    unsigned                          broken:1;      /* FATAL notice */
};


typedef enum {
    NGX_HTTP_GONSTERS_PG_CALL_NEW = 0,
    NGX_HTTP_GONSTERS_PG_CALL_WAITING,
    NGX_HTTP_GONSTERS_PG_CALL_RUNNING,
    NGX_HTTP_GONSTERS_PG_CALL_POSTED,    /* completion posted */
    NGX_HTTP_GONSTERS_PG_CALL_DONE
} ngx_http_gonsters_pg_call_state_e;


/* the command a running call waits for */
typedef enum {
    NGX_HTTP_GONSTERS_PG_BEGIN = 0,
    NGX_HTTP_GONSTERS_PG_PREPARE,
    NGX_HTTP_GONSTERS_PG_EXECUTE,
    NGX_HTTP_GONSTERS_PG_COMMIT,
    NGX_HTTP_GONSTERS_PG_ROLLBACK
} ngx_http_gonsters_pg_phase_e;


struct ngx_http_gonsters_pg_call_s {
    ngx_queue_t                       queue;     /* in pool->waiting */
    ngx_http_gonsters_pg_main_conf_t *pool;
    ngx_pool_t                       *mem;       /* results live here */
    ngx_log_t                        *log;
    ngx_http_request_t               *request;   /* or NULL */
    ngx_http_gonsters_pg_handler_pt   handler;
    ngx_http_gonsters_pg_done_pt      done;
    void                             *data;

    ngx_http_gonsters_pg_stmt_t      *stmts;
    ngx_uint_t                        nstmts;
    ngx_uint_t                        flags;
    ngx_uint_t                        next;      /* statement running */

    ngx_event_t                       ev;        /* deadline, completion */
    ngx_http_gonsters_pg_conn_t      *pc;        /* when running */
    PGresult                         *pending;   /* of the command */
    ngx_msec_t                        start;
    ngx_http_gonsters_pg_result_t     res;

    unsigned                          state:3;
    unsigned                          phase:3;
};


/* ngx_http_gonsters_pg.c */
void ngx_http_gonsters_pg_complete(ngx_http_gonsters_pg_call_t *call,
    ngx_http_gonsters_backend_status_e status, const char *message);
void ngx_http_gonsters_pg_set_error(ngx_http_gonsters_pg_call_t *call,
    PGresult *res, const char *message);
u_char *ngx_http_gonsters_pg_clean(u_char *dst, size_t size,
    const char *src);

/* ngx_http_gonsters_pg_conn.c */
void ngx_http_gonsters_pg_dispatch(ngx_http_gonsters_pg_main_conf_t *pool);
void ngx_http_gonsters_pg_detach(ngx_http_gonsters_pg_call_t *call);
void ngx_http_gonsters_pg_close_all(ngx_http_gonsters_pg_main_conf_t *pool);


#endif /* _NGX_HTTP_GONSTERS_PG_CONN_H_INCLUDED_ */
