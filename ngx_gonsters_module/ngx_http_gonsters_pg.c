
/*
 * PostgreSQL from nginx workers (ngx_http_gonsters_pg_module): directives,
 * the checks nginx -t makes on the connection string, the public calls and
 * their completion.  The pool itself (connecting, idle connections,
 * running statements on libpq's asynchronous API) is in
 * ngx_http_gonsters_pg_conn.c.
 *
 * A call's life: created in the caller's pool with one pool cleanup (which
 * frees its PGresults, and abandons the call if the pool goes first);
 * WAITING in the pool's queue with its deadline timer armed; RUNNING on a
 * connection; POSTED once its outcome is known (the completion runs from
 * ngx_posted_events, never inside the caller); DONE after the handler.
 */


#include "ngx_http_gonsters_pg_conn.h"

#include <arpa/inet.h>


typedef struct {
    ngx_conf_post_handler_pt      post_handler;
    ngx_int_t                     low;
    ngx_int_t                     high;
} ngx_http_gonsters_pg_bounds_t;


static ngx_http_gonsters_pg_call_t *ngx_http_gonsters_pg_create(
    ngx_http_gonsters_pg_main_conf_t *mcf, ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_gonsters_pg_stmt_t *stmts, ngx_uint_t n, ngx_uint_t flags);
static void ngx_http_gonsters_pg_start(ngx_http_gonsters_pg_call_t *call);
static void ngx_http_gonsters_pg_call_handler(ngx_event_t *ev);
static void ngx_http_gonsters_pg_finish(ngx_http_gonsters_pg_call_t *call);
static void ngx_http_gonsters_pg_cleanup(void *data);

static void *ngx_http_gonsters_pg_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gonsters_pg_init_main_conf(ngx_conf_t *cf, void *conf);
static char *ngx_http_gonsters_pg_conninfo(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_gonsters_pg_check_conninfo(ngx_conf_t *cf,
    ngx_http_gonsters_pg_main_conf_t *mcf, PQconninfoOption *opts);
static char *ngx_http_gonsters_pg_check_hosts(ngx_conf_t *cf,
    ngx_uint_t hostaddr, const char *list);
static ngx_int_t ngx_http_gonsters_pg_is_ip(const char *s, size_t len);
static char *ngx_http_gonsters_pg_strdup(ngx_conf_t *cf, const char *s);
static char *ngx_http_gonsters_pg_build_params(ngx_conf_t *cf,
    ngx_http_gonsters_pg_main_conf_t *mcf, PQconninfoOption *opts);
static char *ngx_http_gonsters_pg_check_bounds(ngx_conf_t *cf, void *post,
    void *data);
static void ngx_http_gonsters_pg_exit_process(ngx_cycle_t *cycle);


static ngx_http_gonsters_pg_bounds_t  ngx_http_gonsters_pg_size_bounds = {
    ngx_http_gonsters_pg_check_bounds, 1, 100000
};

/* milliseconds: 1 ms to 1 day */
static ngx_http_gonsters_pg_bounds_t  ngx_http_gonsters_pg_time_bounds = {
    ngx_http_gonsters_pg_check_bounds, 1, 86400000
};


static ngx_command_t  ngx_http_gonsters_pg_commands[] = {

    { ngx_string("gonsters_postgres"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_gonsters_pg_conninfo,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gonsters_postgres_pool_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_pg_main_conf_t, pool_size),
      &ngx_http_gonsters_pg_size_bounds },

    { ngx_string("gonsters_postgres_queue_size"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_pg_main_conf_t, queue_size),
      &ngx_http_gonsters_pg_size_bounds },

    { ngx_string("gonsters_postgres_connect_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_pg_main_conf_t, connect_timeout),
      &ngx_http_gonsters_pg_time_bounds },

    { ngx_string("gonsters_postgres_query_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_pg_main_conf_t, query_timeout),
      &ngx_http_gonsters_pg_time_bounds },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gonsters_pg_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_gonsters_pg_create_main_conf, /* create main configuration */
    ngx_http_gonsters_pg_init_main_conf,   /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_gonsters_pg_module = {
    NGX_MODULE_V1,
    &ngx_http_gonsters_pg_module_ctx,      /* module context */
    ngx_http_gonsters_pg_commands,         /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_gonsters_pg_exit_process,     /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* the public calls */

ngx_int_t
ngx_http_gonsters_pg_query(ngx_http_request_t *r,
    ngx_http_gonsters_pg_stmt_t *stmts, ngx_uint_t n, ngx_uint_t flags,
    ngx_http_gonsters_pg_handler_pt handler, void *data)
{
    ngx_http_gonsters_pg_call_t       *call;
    ngx_http_gonsters_pg_main_conf_t  *mcf;

    mcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_pg_module);

    if (handler == NULL) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "gonsters_postgres: call without a handler");
        return NGX_ERROR;
    }

    call = ngx_http_gonsters_pg_create(mcf, r->pool, r->connection->log,
                                       stmts, n, flags);
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->request = r;
    call->handler = handler;
    call->data = data;

    (void) ngx_http_gonsters_suspend(r);

    ngx_http_gonsters_pg_start(call);

    return NGX_DONE;
}


ngx_int_t
ngx_http_gonsters_pg_call(ngx_pool_t *pool, ngx_log_t *log,
    ngx_http_gonsters_pg_stmt_t *stmts, ngx_uint_t n, ngx_uint_t flags,
    ngx_http_gonsters_pg_done_pt done, void *data)
{
    ngx_http_gonsters_pg_call_t       *call;
    ngx_http_gonsters_pg_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf((ngx_cycle_t *) ngx_cycle,
                                              ngx_http_gonsters_pg_module);

    if (mcf == NULL || done == NULL) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "gonsters_postgres: call without http{} or handler");
        return NGX_ERROR;
    }

    call = ngx_http_gonsters_pg_create(mcf, pool, log, stmts, n, flags);
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->done = done;
    call->data = data;

    ngx_http_gonsters_pg_start(call);

    return NGX_OK;
}


ngx_int_t
ngx_http_gonsters_pg_copy(ngx_pool_t *pool, PGresult *res, int row, int col,
    ngx_str_t *out)
{
    out->len = PQgetlength(res, row, col);
    out->data = ngx_pnalloc(pool, out->len + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, PQgetvalue(res, row, col), out->len);
    out->data[out->len] = '\0';

    return NGX_OK;
}


ngx_int_t
ngx_http_gonsters_pg_configured(ngx_cycle_t *cycle)
{
    ngx_http_gonsters_pg_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_http_gonsters_pg_module);

    return (mcf && mcf->keywords) ? NGX_OK : NGX_DECLINED;
}


static ngx_http_gonsters_pg_call_t *
ngx_http_gonsters_pg_create(ngx_http_gonsters_pg_main_conf_t *mcf,
    ngx_pool_t *pool, ngx_log_t *log, ngx_http_gonsters_pg_stmt_t *stmts,
    ngx_uint_t n, ngx_uint_t flags)
{
    ngx_uint_t                    i;
    ngx_pool_cleanup_t           *cln;
    ngx_http_gonsters_pg_call_t  *call;

    if (mcf->keywords == NULL) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "gonsters_postgres: no \"gonsters_postgres\" "
                      "connection string is configured");
        return NULL;
    }

    if (stmts == NULL || n == 0) {
        ngx_log_error(NGX_LOG_ALERT, log, 0,
                      "gonsters_postgres: call without statements");
        return NULL;
    }

    for (i = 0; i < n; i++) {
        if (stmts[i].sql == NULL || stmts[i].nparams < 0
            || stmts[i].nparams > 65535
            || (stmts[i].nparams > 0 && stmts[i].values == NULL))
        {
            ngx_log_error(NGX_LOG_ALERT, log, 0,
                          "gonsters_postgres: statement %ui is invalid", i);
            return NULL;
        }
    }

    call = ngx_pcalloc(pool, sizeof(ngx_http_gonsters_pg_call_t));
    if (call == NULL) {
        return NULL;
    }

    call->res.results = ngx_pcalloc(pool, n * sizeof(PGresult *));
    if (call->res.results == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_gonsters_pg_cleanup;
    cln->data = call;

    call->pool = mcf;
    call->mem = pool;
    call->log = log;
    call->stmts = stmts;
    call->nstmts = n;
    call->flags = flags;
    call->state = NGX_HTTP_GONSTERS_PG_CALL_NEW;

    call->ev.data = call;
    call->ev.log = log;
    call->ev.handler = ngx_http_gonsters_pg_call_handler;

    return call;
}


static void
ngx_http_gonsters_pg_start(ngx_http_gonsters_pg_call_t *call)
{
    ngx_http_gonsters_pg_main_conf_t  *pool;

    pool = call->pool;

    call->start = ngx_current_msec;

    if (pool->nwaiting >= pool->queue_size) {
        ngx_log_error(NGX_LOG_ERR, call->log, 0,
                      "gonsters_postgres: %ui calls wait for a connection, "
                      "call rejected", pool->nwaiting);
        ngx_http_gonsters_pg_complete(call,
                                      NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE,
                                      "too many calls wait for a connection");
        return;
    }

    ngx_add_timer(&call->ev, pool->query_timeout);

    call->state = NGX_HTTP_GONSTERS_PG_CALL_WAITING;
    ngx_queue_insert_tail(&pool->waiting, &call->queue);
    pool->nwaiting++;

    ngx_http_gonsters_pg_dispatch(pool);
}


/*
 * The outcome of a call is known: post its completion.  A waiting call
 * leaves the queue; a running call must have been detached from its
 * connection by the caller.
 */

void
ngx_http_gonsters_pg_complete(ngx_http_gonsters_pg_call_t *call,
    ngx_http_gonsters_backend_status_e status, const char *message)
{
    if (call->state == NGX_HTTP_GONSTERS_PG_CALL_POSTED
        || call->state == NGX_HTTP_GONSTERS_PG_CALL_DONE)
    {
        ngx_log_error(NGX_LOG_ALERT, call->log, 0,
                      "gonsters_postgres: call completed twice");
        return;
    }

    if (call->state == NGX_HTTP_GONSTERS_PG_CALL_WAITING) {
        ngx_queue_remove(&call->queue);
        call->pool->nwaiting--;
    }

    if (call->ev.timer_set) {
        ngx_del_timer(&call->ev);
    }

    call->res.status = status;

    if (message && call->res.message.len == 0) {
        ngx_http_gonsters_pg_set_error(call, NULL, message);
    }

    call->state = NGX_HTTP_GONSTERS_PG_CALL_POSTED;
    ngx_post_event(&call->ev, &ngx_posted_events);
}


/* the deadline timer, or the posted completion */

static void
ngx_http_gonsters_pg_call_handler(ngx_event_t *ev)
{
    ngx_http_gonsters_pg_call_t  *call;

    call = ev->data;

    if (call->state == NGX_HTTP_GONSTERS_PG_CALL_POSTED) {
        ngx_http_gonsters_pg_finish(call);
        return;
    }

    if (!ev->timedout) {
        return;
    }

    ev->timedout = 0;

    ngx_log_error(NGX_LOG_ERR, call->log, 0,
                  "gonsters_postgres: no answer from %V within %M ms (%s)",
                  &call->pool->target, call->pool->query_timeout,
                  call->state == NGX_HTTP_GONSTERS_PG_CALL_WAITING
                  ? "waiting for a connection" : "running");

    /* closing the connection aborts the statement on the server */
    ngx_http_gonsters_pg_detach(call);

    ngx_http_gonsters_pg_complete(call, NGX_HTTP_GONSTERS_BACKEND_TIMEOUT,
                                  "timed out");
}


static void
ngx_http_gonsters_pg_finish(ngx_http_gonsters_pg_call_t *call)
{
    ngx_int_t            rc;
    ngx_http_request_t  *r;

    call->state = NGX_HTTP_GONSTERS_PG_CALL_DONE;
    call->res.latency = ngx_current_msec - call->start;

    ngx_http_gonsters_metrics_backend(NGX_HTTP_GONSTERS_POSTGRES,
                                      call->res.status, call->res.latency);

    if (call->request == NULL) {
        call->done(&call->res, call->data);
        return;
    }

    r = call->request;

    rc = call->handler(r, &call->res, call->data);

    ngx_http_gonsters_resume(r, rc);
}


/*
 * The caller's pool is destroyed: free the results; a call still pending
 * (the request was terminated, or a detached caller gave up) is abandoned.
 */

static void
ngx_http_gonsters_pg_cleanup(void *data)
{
    ngx_http_gonsters_pg_call_t *call = data;

    ngx_uint_t  i;

    switch (call->state) {

    case NGX_HTTP_GONSTERS_PG_CALL_WAITING:
        ngx_queue_remove(&call->queue);
        call->pool->nwaiting--;
        break;

    case NGX_HTTP_GONSTERS_PG_CALL_RUNNING:
        ngx_http_gonsters_pg_detach(call);
        break;

    case NGX_HTTP_GONSTERS_PG_CALL_POSTED:
        if (call->ev.posted) {
            ngx_delete_posted_event(&call->ev);
        }
        break;

    default: /* NEW, DONE */
        break;
    }

    if (call->state != NGX_HTTP_GONSTERS_PG_CALL_DONE) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, call->log, 0,
                       "gonsters_postgres: call abandoned");
        call->state = NGX_HTTP_GONSTERS_PG_CALL_DONE;
    }

    if (call->ev.timer_set) {
        ngx_del_timer(&call->ev);
    }

    for (i = 0; i < call->res.nresults; i++) {
        PQclear(call->res.results[i]);
    }

    call->res.nresults = 0;

    if (call->res.error) {
        PQclear(call->res.error);
        call->res.error = NULL;
    }

    if (call->pending) {
        PQclear(call->pending);
        call->pending = NULL;
    }
}


/*
 * Records an error of the call: res (owned by the call from now on, may be
 * NULL) gives the SQLSTATE and the message, else message does.
 */

void
ngx_http_gonsters_pg_set_error(ngx_http_gonsters_pg_call_t *call,
    PGresult *res, const char *message)
{
    u_char      *p;
    size_t       len;
    const char  *state;

    if (res) {
        if (call->res.error) {
            PQclear(call->res.error);
        }

        call->res.error = res;

        state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state) {
            ngx_cpystrn((u_char *) call->res.sqlstate, (u_char *) state,
                        sizeof(call->res.sqlstate));
        }

        message = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        if (message == NULL) {
            message = PQresultErrorMessage(res);
        }
    }

    if (message == NULL || *message == '\0') {
        message = "unknown error";
    }

    len = ngx_strlen(message) + 1;

    p = ngx_pnalloc(call->mem, len);
    if (p == NULL) {
        ngx_str_null(&call->res.message);
        return;
    }

    call->res.message.data = p;
    call->res.message.len = ngx_http_gonsters_pg_clean(p, len, message) - p;
}


/*
 * Copies a libpq message on one line: newlines and tabs become spaces,
 * runs of spaces one, no trailing space.  Returns the end (dst is not
 * NUL-terminated).
 */

u_char *
ngx_http_gonsters_pg_clean(u_char *dst, size_t size, const char *src)
{
    u_char  *p, *last;

    p = dst;
    last = dst + size;

    for ( /* void */ ; *src && p < last; src++) {

        if (*src == '\n' || *src == '\t' || *src == '\r' || *src == ' ') {
            if (p > dst && p[-1] != ' ') {
                *p++ = ' ';
            }
            continue;
        }

        *p++ = *src;
    }

    while (p > dst && p[-1] == ' ') {
        p--;
    }

    return p;
}


/* configuration */

static void *
ngx_http_gonsters_pg_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gonsters_pg_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gonsters_pg_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     mcf->keywords = NULL;
     *     mcf->values = NULL;
     *     mcf->target = { 0, NULL };
     *     mcf->nconns = 0; ...
     */

    mcf->pool_size = NGX_CONF_UNSET_UINT;
    mcf->queue_size = NGX_CONF_UNSET_UINT;
    mcf->connect_timeout = NGX_CONF_UNSET_MSEC;
    mcf->query_timeout = NGX_CONF_UNSET_MSEC;

    /* each worker has its own copy after fork() */
    ngx_queue_init(&mcf->idle);
    ngx_queue_init(&mcf->active);
    ngx_queue_init(&mcf->waiting);

    return mcf;
}


static char *
ngx_http_gonsters_pg_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gonsters_pg_main_conf_t *mcf = conf;

    ngx_conf_init_uint_value(mcf->pool_size, 8);
    ngx_conf_init_uint_value(mcf->queue_size, 1024);
    ngx_conf_init_msec_value(mcf->connect_timeout, 3000);
    ngx_conf_init_msec_value(mcf->query_timeout, 5000);

    if (mcf->keywords == NULL) {
        return NGX_CONF_OK;
    }

    return ngx_http_gonsters_pg_build_params(cf, mcf, NULL);
}


static char *
ngx_http_gonsters_pg_conninfo(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gonsters_pg_main_conf_t *mcf = conf;

    u_char            *p;
    char              *rv, *err;
    ngx_str_t         *value;
    PQconninfoOption  *opts;

    if (mcf->keywords) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0 || ngx_strlchr(value[1].data,
                                         value[1].data + value[1].len, '\0'))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gonsters_postgres: empty connection string");
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->temp_pool, value[1].len + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_cpystrn(p, value[1].data, value[1].len + 1);

    err = NULL;
    opts = PQconninfoParse((char *) p, &err);

    if (opts == NULL) {
        if (err == NULL) {
            return NGX_CONF_ERROR;
        }

        p = ngx_http_gonsters_pg_clean((u_char *) err, ngx_strlen(err), err);
        *p = '\0';

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gonsters_postgres: invalid connection string: %s",
                           err);
        PQfreemem(err);
        return NGX_CONF_ERROR;
    }

    rv = ngx_http_gonsters_pg_check_conninfo(cf, mcf, opts);

    if (rv == NGX_CONF_OK) {
        rv = ngx_http_gonsters_pg_build_params(cf, mcf, opts);
    }

    PQconninfoFree(opts);

    return rv;
}


static char *
ngx_http_gonsters_pg_check_conninfo(ngx_conf_t *cf,
    ngx_http_gonsters_pg_main_conf_t *mcf, PQconninfoOption *opts)
{
    u_char            *p;
    size_t             len;
    const char        *host, *hostaddr, *port, *dbname;
    PQconninfoOption  *o;

    host = NULL;
    hostaddr = NULL;
    port = "5432";
    dbname = NULL;

    for (o = opts; o->keyword; o++) {
        if (o->val == NULL) {
            continue;
        }

        if (ngx_strcmp(o->keyword, "service") == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "gonsters_postgres: \"service\" is not "
                               "supported (a service file may name a host "
                               "that needs a blocking DNS lookup); write the "
                               "keywords into the connection string");
            return NGX_CONF_ERROR;
        }

        if (ngx_strcmp(o->keyword, "host") == 0) {
            host = o->val;

        } else if (ngx_strcmp(o->keyword, "hostaddr") == 0) {
            hostaddr = o->val;

        } else if (ngx_strcmp(o->keyword, "port") == 0 && o->val[0]) {
            port = o->val;

        } else if (ngx_strcmp(o->keyword, "dbname") == 0) {
            dbname = o->val;

        } else if (ngx_strcmp(o->keyword, "user") == 0 && dbname == NULL) {
            dbname = o->val;
        }
    }

    if (hostaddr && hostaddr[0]) {
        if (ngx_http_gonsters_pg_check_hosts(cf, 1, hostaddr)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }

    } else if (host && host[0]) {
        if (ngx_http_gonsters_pg_check_hosts(cf, 0, host)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gonsters_postgres: no host; give host= an IP "
                           "address or a unix socket directory (e.g. "
                           "host=127.0.0.1 or host=/var/run/postgresql), "
                           "or hostaddr=");
        return NGX_CONF_ERROR;
    }

    if (dbname == NULL) {
        dbname = "";
    }

    host = (hostaddr && hostaddr[0]) ? hostaddr : host;

    len = ngx_strlen(host) + ngx_strlen(port) + ngx_strlen(dbname) + 3;

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    mcf->target.data = p;
    mcf->target.len = ngx_sprintf(p, "%s:%s/%s", host, port, dbname) - p;

    return NGX_CONF_OK;
}


/* every element of a comma-separated host or hostaddr list */

static char *
ngx_http_gonsters_pg_check_hosts(ngx_conf_t *cf, ngx_uint_t hostaddr,
    const char *list)
{
    size_t       len;
    const char  *s, *end;

    for (s = list; /* void */ ; s = end + 1) {

        end = ngx_strchr(s, ',');
        if (end == NULL) {
            end = s + ngx_strlen(s);
        }

        len = end - s;

        if (ngx_http_gonsters_pg_is_ip(s, len) == NGX_OK) {
            /* fine */

        } else if (!hostaddr && len && s[0] == '/') {
            /* a unix socket directory */

        } else if (!hostaddr) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "gonsters_postgres: host \"%*s\" is a name; "
                               "use an IP address or a unix socket "
                               "directory (a name needs a blocking DNS "
                               "lookup)", len, s);
            return NGX_CONF_ERROR;

        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "gonsters_postgres: hostaddr \"%*s\" is not "
                               "an IP address", len, s);
            return NGX_CONF_ERROR;
        }

        if (*end == '\0') {
            return NGX_CONF_OK;
        }
    }
}


static ngx_int_t
ngx_http_gonsters_pg_is_ip(const char *s, size_t len)
{
    char             buf[NGX_INET6_ADDRSTRLEN + 1];
    struct in_addr   a4;
    struct in6_addr  a6;

    if (len == 0 || len >= sizeof(buf)) {
        return NGX_DECLINED;
    }

    ngx_memcpy(buf, s, len);
    buf[len] = '\0';

    if (inet_pton(AF_INET, buf, &a4) == 1
        || inet_pton(AF_INET6, buf, &a6) == 1)
    {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


/*
 * The keyword and value arrays for PQconnectStartParams(): what conninfo
 * gives, plus defaults of this layer it does not set.  Called twice: from
 * the directive with opts (the parsed conninfo), and from init_main_conf
 * with NULL, when the query timeout is known, for "options" (which a
 * conninfo with options= replaces: options='' for a pooler that refuses
 * the startup parameter).
 */

static char *
ngx_http_gonsters_pg_build_params(ngx_conf_t *cf,
    ngx_http_gonsters_pg_main_conf_t *mcf, PQconninfoOption *opts)
{
    u_char            *p;
    size_t             len;
    ngx_uint_t         n, i, k;
    const char       **keywords, **values;
    PQconninfoOption  *o;

    static const char  *defaults[][2] = {
        { "client_encoding", "UTF8" },
        { "gssencmode", "disable" },
        { "fallback_application_name", "gonsters" },
        { NULL, NULL }
    };

    if (opts == NULL) {
        /* second pass: the statement timeout, unless "options" is given */

        for (i = 0; mcf->keywords[i]; i++) {
            if (ngx_strcmp(mcf->keywords[i], "options") == 0) {
                break;
            }
        }

        if (mcf->keywords[i]) {
            return NGX_CONF_OK;
        }

        len = sizeof("-c statement_timeout=") + NGX_INT_T_LEN;

        p = ngx_pnalloc(cf->pool, len);
        if (p == NULL) {
            return NGX_CONF_ERROR;
        }

        *ngx_sprintf(p, "-c statement_timeout=%M", mcf->query_timeout) = '\0';

        mcf->keywords[i] = "options";
        mcf->values[i] = (char *) p;

        return NGX_CONF_OK;
    }

    n = 0;
    for (o = opts; o->keyword; o++) {
        n++;
    }

    /* every option, the defaults, "options", and the NULL */
    keywords = ngx_pcalloc(cf->pool, (n + 5) * sizeof(char *));
    values = ngx_pcalloc(cf->pool, (n + 5) * sizeof(char *));
    if (keywords == NULL || values == NULL) {
        return NGX_CONF_ERROR;
    }

    k = 0;

    for (o = opts; o->keyword; o++) {
        if (o->val == NULL) {
            continue;
        }

        keywords[k] = ngx_http_gonsters_pg_strdup(cf, o->keyword);
        values[k] = ngx_http_gonsters_pg_strdup(cf, o->val);
        if (keywords[k] == NULL || values[k] == NULL) {
            return NGX_CONF_ERROR;
        }

        k++;
    }

    for (i = 0; defaults[i][0]; i++) {
        for (o = opts; o->keyword; o++) {
            if (o->val && ngx_strcmp(o->keyword, defaults[i][0]) == 0) {
                break;
            }
        }

        if (o->keyword == NULL) {
            keywords[k] = defaults[i][0];
            values[k] = defaults[i][1];
            k++;
        }
    }

    mcf->keywords = keywords;
    mcf->values = values;

    return NGX_CONF_OK;
}


static char *
ngx_http_gonsters_pg_strdup(ngx_conf_t *cf, const char *s)
{
    size_t   len;
    u_char  *p;

    len = ngx_strlen(s) + 1;

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, s, len);

    return (char *) p;
}


static char *
ngx_http_gonsters_pg_check_bounds(ngx_conf_t *cf, void *post, void *data)
{
    ngx_http_gonsters_pg_bounds_t  *b = post;

    ngx_int_t   v;
    ngx_str_t  *value;

    value = cf->args->elts;

    if (b == &ngx_http_gonsters_pg_time_bounds) {
        v = (ngx_int_t) *(ngx_msec_t *) data;

    } else {
        v = *(ngx_int_t *) data;
    }

    if (v < b->low || v > b->high) {
        if (b == &ngx_http_gonsters_pg_time_bounds) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" must be between 1ms and 1d, "
                               "not \"%V\"", &value[0], &value[1]);
        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" must be between %i and %i, "
                               "not \"%V\"", &value[0], b->low, b->high,
                               &value[1]);
        }

        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* a worker exits: every connection closed (PQfinish), nothing left */

static void
ngx_http_gonsters_pg_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_gonsters_pg_main_conf_t  *mcf;

    mcf = ngx_http_cycle_get_module_main_conf(cycle,
                                              ngx_http_gonsters_pg_module);
    if (mcf == NULL || mcf->keywords == NULL) {
        return;
    }

    ngx_http_gonsters_pg_close_all(mcf);
}
