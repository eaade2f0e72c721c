
/*
 * Test-only locations that drive the PostgreSQL API (ngx_http_gonsters_pg.h)
 * the way the REST handlers do:
 *
 *   gonsters_test_pg [name=NAME] "SQL" [PARAM ...];
 *       one statement; repeat the directive for several (run in order).
 *       A PARAM is a complex value, URL-decoded ($arg_x arrives encoded),
 *       or raw:VALUE (not decoded, e.g. raw:$request_body), or @null.
 *   gonsters_test_pg_transaction on|off;   one transaction (default off)
 *   gonsters_test_pg_detached on|off;      use ngx_http_gonsters_pg_call()
 *                                          with a pool of its own instead
 *                                          of ngx_http_gonsters_pg_query()
 *   gonsters_test_pg_body on|off;          read the request body first (for
 *                                          $request_body; keep it in memory)
 *
 * Answers: 200 {"status":"ok","nresults":N,"affected":"..","rows":[[..]]}
 * with the rows of the last statement (values are strings or null); an SQL
 * error 409 (class 23, integrity) or 400 {"status":"error","sqlstate":..,
 * "message":..}; UNAVAILABLE and TIMEOUT the module's 503.  The header
 * X-Gonsters-Pg names the outcome: ok, error, unavailable, timeout.
 */


#include "ngx_http_gonsters_pg.h"
#include "gn_json.h"
#include "ngx_http_gonsters_testlib.h"


typedef struct {
    ngx_http_complex_value_t      cv;
    unsigned                      null:1;
    unsigned                      raw:1;
} ngx_http_gonsters_test_pg_param_t;


typedef struct {
    char                         *name;
    char                         *sql;
    ngx_array_t                   params;   /* test_pg_param_t */
} ngx_http_gonsters_test_pg_stmt_t;


typedef struct {
    ngx_array_t                  *stmts;    /* test_pg_stmt_t */
    ngx_flag_t                    transaction;
    ngx_flag_t                    detached;
    ngx_flag_t                    body;
} ngx_http_gonsters_test_pg_loc_conf_t;


typedef struct {
    ngx_http_request_t           *request;
    ngx_pool_t                   *pool;
} ngx_http_gonsters_test_pg_detached_t;


static ngx_int_t ngx_http_gonsters_test_pg_handler(ngx_http_request_t *r);
static void ngx_http_gonsters_test_pg_body_done(ngx_http_request_t *r);
static ngx_int_t ngx_http_gonsters_test_pg_run(ngx_http_request_t *r);
static ngx_int_t ngx_http_gonsters_test_pg_value(ngx_http_request_t *r,
    ngx_http_gonsters_test_pg_param_t *p, const char **value);
static ngx_int_t ngx_http_gonsters_test_pg_done(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data);
static void ngx_http_gonsters_test_pg_detached_done(
    ngx_http_gonsters_pg_result_t *res, void *data);
static void ngx_http_gonsters_test_pg_detached_cleanup(void *data);
static ngx_int_t ngx_http_gonsters_test_pg_reply(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res);
static ngx_int_t ngx_http_gonsters_test_pg_rows(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res);
static ngx_int_t ngx_http_gonsters_test_pg_sql_error(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res);
static ngx_int_t ngx_http_gonsters_test_pg_outcome(ngx_http_request_t *r,
    const char *outcome);
static void *ngx_http_gonsters_test_pg_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gonsters_test_pg_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_gonsters_test_pg(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


static ngx_command_t  ngx_http_gonsters_test_pg_commands[] = {

    { ngx_string("gonsters_test_pg"),
      NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_gonsters_test_pg,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gonsters_test_pg_transaction"),
      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gonsters_test_pg_loc_conf_t, transaction),
      NULL },

    { ngx_string("gonsters_test_pg_detached"),
      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gonsters_test_pg_loc_conf_t, detached),
      NULL },

    { ngx_string("gonsters_test_pg_body"),
      NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gonsters_test_pg_loc_conf_t, body),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gonsters_test_pg_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    ngx_http_gonsters_test_pg_create_loc_conf,
    ngx_http_gonsters_test_pg_merge_loc_conf
};


ngx_module_t  ngx_http_gonsters_test_pg_module = {
    NGX_MODULE_V1,
    &ngx_http_gonsters_test_pg_module_ctx, /* module context */
    ngx_http_gonsters_test_pg_commands,    /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_gonsters_test_pg_handler(ngx_http_request_t *r)
{
    ngx_int_t                              rc;
    ngx_http_gonsters_test_pg_loc_conf_t  *lcf;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_gonsters_test_pg_module);

    if (!lcf->body) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_gonsters_test_pg_run(r);
    }

    rc = ngx_http_read_client_request_body(r,
                                          ngx_http_gonsters_test_pg_body_done);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_gonsters_test_pg_body_done(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_gonsters_test_pg_run(r));
}


static ngx_int_t
ngx_http_gonsters_test_pg_run(ngx_http_request_t *r)
{
    ngx_int_t                               rc;
    ngx_uint_t                              i, j, flags;
    ngx_pool_cleanup_t                     *cln;
    ngx_http_gonsters_pg_stmt_t            *stmts;
    ngx_http_gonsters_test_pg_stmt_t       *ts;
    ngx_http_gonsters_test_pg_param_t      *tp;
    ngx_http_gonsters_test_pg_loc_conf_t   *lcf;
    ngx_http_gonsters_test_pg_detached_t   *d;
    const char                            **values;

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_gonsters_test_pg_module);

    ts = lcf->stmts->elts;

    stmts = ngx_pcalloc(r->pool, lcf->stmts->nelts
                                 * sizeof(ngx_http_gonsters_pg_stmt_t));
    if (stmts == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < lcf->stmts->nelts; i++) {
        tp = ts[i].params.elts;

        values = ngx_pcalloc(r->pool, (ts[i].params.nelts + 1)
                                      * sizeof(char *));
        if (values == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        for (j = 0; j < ts[i].params.nelts; j++) {
            rc = ngx_http_gonsters_test_pg_value(r, &tp[j], &values[j]);

            if (rc == NGX_DECLINED) {
                return ngx_http_gonsters_send_error(r, NGX_HTTP_BAD_REQUEST,
                                                    "NUL byte in a parameter");
            }

            if (rc != NGX_OK) {
                return rc;
            }
        }

        stmts[i].name = ts[i].name;
        stmts[i].sql = ts[i].sql;
        stmts[i].nparams = ts[i].params.nelts;
        stmts[i].values = values;
    }

    flags = lcf->transaction ? NGX_HTTP_GONSTERS_PG_TRANSACTION : 0;

    if (!lcf->detached) {
        rc = ngx_http_gonsters_pg_query(r, stmts, lcf->stmts->nelts, flags,
                                        ngx_http_gonsters_test_pg_done, NULL);
        return rc == NGX_ERROR ? NGX_HTTP_INTERNAL_SERVER_ERROR : rc;
    }

    /* a call without a request, results in a pool of its own */

    d = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_test_pg_detached_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (d == NULL || cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    d->request = r;
    d->pool = ngx_create_pool(1024, r->connection->log);
    if (d->pool == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_gonsters_test_pg_detached_cleanup;
    cln->data = d;

    rc = ngx_http_gonsters_pg_call(d->pool, r->connection->log, stmts,
                                   lcf->stmts->nelts, flags,
                                   ngx_http_gonsters_test_pg_detached_done,
                                   d);
    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_suspend(r);
}


static ngx_int_t
ngx_http_gonsters_test_pg_value(ngx_http_request_t *r,
    ngx_http_gonsters_test_pg_param_t *p, const char **value)
{
    u_char     *dst, *src;
    ngx_str_t   v;

    if (p->null) {
        *value = NULL;
        return NGX_OK;
    }

    if (ngx_http_complex_value(r, &p->cv, &v) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    dst = ngx_pnalloc(r->pool, v.len + 1);
    if (dst == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *value = (const char *) dst;

    if (p->raw) {
        dst = ngx_cpymem(dst, v.data, v.len);

    } else {
        src = v.data;
        ngx_unescape_uri(&dst, &src, v.len, 0);
    }

    *dst = '\0';

    /* a text parameter ends at a NUL: reject it, as a handler must */
    if ((size_t) (dst - (u_char *) *value) != ngx_strlen(*value)) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_gonsters_test_pg_done(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res, void *data)
{
    return ngx_http_gonsters_test_pg_reply(r, res);
}


static void
ngx_http_gonsters_test_pg_detached_done(ngx_http_gonsters_pg_result_t *res,
    void *data)
{
    ngx_http_gonsters_test_pg_detached_t *d = data;

    ngx_int_t            rc;
    ngx_http_request_t  *r;

    r = d->request;

    /* the reply is built in r->pool: the results may go now */
    rc = ngx_http_gonsters_test_pg_reply(r, res);

    ngx_destroy_pool(d->pool);
    d->pool = NULL;

    ngx_http_gonsters_resume(r, rc);
}


/* the request went away first: destroying the pool abandons the call */

static void
ngx_http_gonsters_test_pg_detached_cleanup(void *data)
{
    ngx_http_gonsters_test_pg_detached_t *d = data;

    if (d->pool) {
        ngx_destroy_pool(d->pool);
        d->pool = NULL;
    }
}


static ngx_int_t
ngx_http_gonsters_test_pg_reply(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res)
{
    switch (res->status) {

    case NGX_HTTP_GONSTERS_BACKEND_OK:
        return ngx_http_gonsters_test_pg_rows(r, res);

    case NGX_HTTP_GONSTERS_BACKEND_ERROR:
        return ngx_http_gonsters_test_pg_sql_error(r, res);

    case NGX_HTTP_GONSTERS_BACKEND_TIMEOUT:
        if (ngx_http_gonsters_test_pg_outcome(r, "timeout") != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        break;

    default:
        if (ngx_http_gonsters_test_pg_outcome(r, "unavailable") != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        break;
    }

    return ngx_http_gonsters_send_unavailable(r, NGX_HTTP_GONSTERS_POSTGRES,
                                              res->status);
}


static ngx_int_t
ngx_http_gonsters_test_pg_rows(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res)
{
    int         row, col, nrows, ncols, len;
    char       *v, *affected;
    u_char     *p;
    size_t      size;
    PGresult   *last;
    ngx_str_t   json;

    last = res->results[res->nresults - 1];
    nrows = PQntuples(last);
    ncols = PQnfields(last);
    affected = PQcmdTuples(last);

    size = sizeof("{\"status\":\"ok\",\"nresults\":,\"latency_ms\":,"
                  "\"affected\":\"\",\"rows\":[]}")
           + 2 * NGX_INT_T_LEN + ngx_strlen(affected);

    for (row = 0; row < nrows; row++) {
        size += sizeof("[],");
        for (col = 0; col < ncols; col++) {
            size += sizeof("null,");
            if (!PQgetisnull(last, row, col)) {
                size += gn_json_escape_len(PQgetvalue(last, row, col),
                                           PQgetlength(last, row, col));
            }
        }
    }

    json.data = ngx_pnalloc(r->pool, size);
    if (json.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(json.data, "{\"status\":\"ok\",\"nresults\":%ui,"
                    "\"latency_ms\":%M,\"affected\":\"%s\",\"rows\":[",
                    res->nresults, res->latency, affected);

    for (row = 0; row < nrows; row++) {
        *p++ = '[';

        for (col = 0; col < ncols; col++) {
            if (col) {
                *p++ = ',';
            }

            if (PQgetisnull(last, row, col)) {
                p = ngx_cpymem(p, "null", 4);
                continue;
            }

            v = PQgetvalue(last, row, col);
            len = PQgetlength(last, row, col);

            *p++ = '"';
            p = (u_char *) gn_json_escape((char *) p, v, len);
            *p++ = '"';
        }

        *p++ = ']';

        if (row + 1 < nrows) {
            *p++ = ',';
        }
    }

    p = ngx_cpymem(p, "]}", 2);
    json.len = p - json.data;

    if (ngx_http_gonsters_test_pg_outcome(r, "ok") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_send_json(r, NGX_HTTP_OK, &json);
}


static ngx_int_t
ngx_http_gonsters_test_pg_sql_error(ngx_http_request_t *r,
    ngx_http_gonsters_pg_result_t *res)
{
    u_char      *p;
    ngx_str_t    json;
    ngx_uint_t   status;

    json.data = ngx_pnalloc(r->pool, sizeof("{\"status\":\"error\","
                            "\"sqlstate\":\"\",\"message\":\"\"}")
                            + sizeof(res->sqlstate)
                            + gn_json_escape_len((char *) res->message.data,
                                                 res->message.len));
    if (json.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(json.data, "{\"status\":\"error\",\"sqlstate\":\"%s\","
                    "\"message\":\"", res->sqlstate);
    p = (u_char *) gn_json_escape((char *) p, (char *) res->message.data,
                                  res->message.len);
    p = ngx_cpymem(p, "\"}", 2);
    json.len = p - json.data;

    status = (res->sqlstate[0] == '2' && res->sqlstate[1] == '3')
             ? NGX_HTTP_CONFLICT : NGX_HTTP_BAD_REQUEST;

    if (ngx_http_gonsters_test_pg_outcome(r, "error") != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_send_json(r, status, &json);
}


static ngx_int_t
ngx_http_gonsters_test_pg_outcome(ngx_http_request_t *r, const char *outcome)
{
    ngx_str_t  name = ngx_string("X-Gonsters-Pg");
    ngx_str_t  value;

    value.data = (u_char *) outcome;
    value.len = ngx_strlen(outcome);

    return ngx_http_gonsters_add_header(r, &name, &value);
}


static void *
ngx_http_gonsters_test_pg_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gonsters_test_pg_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gonsters_test_pg_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->transaction = NGX_CONF_UNSET;
    conf->detached = NGX_CONF_UNSET;
    conf->body = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_gonsters_test_pg_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_gonsters_test_pg_loc_conf_t *prev = parent;
    ngx_http_gonsters_test_pg_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->transaction, prev->transaction, 0);
    ngx_conf_merge_value(conf->detached, prev->detached, 0);
    ngx_conf_merge_value(conf->body, prev->body, 0);

    return NGX_CONF_OK;
}


static char *
ngx_http_gonsters_test_pg(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gonsters_test_pg_loc_conf_t *lcf = conf;

    ngx_str_t                           *value, v;
    ngx_uint_t                           i;
    ngx_http_core_loc_conf_t            *clcf;
    ngx_http_gonsters_test_pg_stmt_t    *ts;
    ngx_http_gonsters_test_pg_param_t   *tp;

    if (lcf->stmts == NULL) {
        lcf->stmts = ngx_array_create(cf->pool, 2,
                                    sizeof(ngx_http_gonsters_test_pg_stmt_t));
        if (lcf->stmts == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    ts = ngx_array_push(lcf->stmts);
    if (ts == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(ts, sizeof(ngx_http_gonsters_test_pg_stmt_t));

    value = cf->args->elts;
    i = 1;

    if (value[i].len > 5 && ngx_strncmp(value[i].data, "name=", 5) == 0) {
        ts->name = (char *) value[i].data + 5;   /* NUL-terminated */
        i++;
    }

    if (i >= cf->args->nelts) {
        return "needs SQL";
    }

    ts->sql = (char *) value[i++].data;

    if (ngx_array_init(&ts->params, cf->pool, 4,
                       sizeof(ngx_http_gonsters_test_pg_param_t))
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    for ( /* void */ ; i < cf->args->nelts; i++) {
        tp = ngx_array_push(&ts->params);
        if (tp == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_memzero(tp, sizeof(ngx_http_gonsters_test_pg_param_t));

        v = value[i];

        if (v.len == 5 && ngx_strncmp(v.data, "@null", 5) == 0) {
            tp->null = 1;
            continue;
        }

        if (v.len >= 4 && ngx_strncmp(v.data, "raw:", 4) == 0) {
            tp->raw = 1;
            v.data += 4;
            v.len -= 4;
        }

        if (ngx_http_gonsters_test_compile(cf, &v, &tp->cv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_gonsters_test_pg_handler;

    return NGX_CONF_OK;
}
