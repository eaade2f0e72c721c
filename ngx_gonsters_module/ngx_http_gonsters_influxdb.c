
/*
 * InfluxDB through a subrequest to an internal proxy location.
 *
 * A call creates a subrequest of the calling request r with its own method,
 * body and header list, suspends r (ngx_http_gonsters_suspend: one more
 * reference besides the one ngx_http_subrequest() takes), and returns
 * NGX_DONE.  The subrequest runs through the proxy module and the upstream
 * keepalive pool.  This module's header and body filters, which sit on top
 * of every other filter, recognize the subrequest by its post_subrequest
 * handler (which survives internal redirects), record InfluxDB's status and
 * copy every buffer into the call's context without passing anything down.
 * The post_subrequest handler records proxy failures (502, 504) and keeps
 * an upstream failure from terminating the client's request.  When the
 * subrequest is done, nginx drops the subrequest's reference and posts r;
 * r's write_event_handler (ngx_http_gonsters_influxdb_wake) classifies the
 * outcome, calls the caller's handler and resumes r with its result, which
 * drops the reference of the suspension.
 *
 * A client that goes away while a call is pending: the upstream notices it
 * (proxy_ignore_client_abort off), finalizes the subrequest with 499 and
 * nginx terminates the whole request; the handler is not called, and the
 * request's pool (where everything of the call lives) is freed.
 */


#include "ngx_http_gonsters_influxdb.h"


#define NGX_HTTP_GONSTERS_INFLUXDB_INITIAL_BODY  4096


typedef struct {
    ngx_str_t                     location;
    ngx_str_t                     database;

    /* built at configuration time */
    ngx_str_t                     write_uri;
    ngx_str_t                     write_args;   /* db=...&precision=ns */
    ngx_str_t                     query_uri;
    ngx_str_t                     query_form;   /* &db=...&epoch=ns */
    ngx_str_t                     ping_uri;
} ngx_http_gonsters_influxdb_main_conf_t;


typedef struct {
    size_t                        max_response;
} ngx_http_gonsters_influxdb_loc_conf_t;


typedef struct {
    ngx_http_request_t           *request;
    ngx_http_request_t           *subrequest;
    const char                   *what;         /* "write", "query", "ping" */

    ngx_http_gonsters_influxdb_handler_pt  handler;
    void                         *data;

    ngx_msec_t                    start;
    size_t                        max_response;

    ngx_uint_t                    http_status;
    ngx_int_t                     failure;      /* subrequest's error rc */

    u_char                       *body;
    size_t                        len;
    size_t                        size;

    unsigned                      active:1;
    unsigned                      header:1;     /* InfluxDB's header seen */
    unsigned                      complete:1;   /* the last buffer seen */
    unsigned                      overflow:1;
    unsigned                      misconfigured:1;
} ngx_http_gonsters_influxdb_ctx_t;


static ngx_int_t ngx_http_gonsters_influxdb_start(ngx_http_request_t *r,
    const char *what, ngx_str_t *uri, ngx_str_t *args, ngx_chain_t *body,
    off_t len, ngx_http_gonsters_influxdb_handler_pt handler, void *data);
static ngx_int_t ngx_http_gonsters_influxdb_headers(ngx_http_request_t *r,
    ngx_http_headers_in_t *hin, off_t len);
static ngx_int_t ngx_http_gonsters_influxdb_done(ngx_http_request_t *r,
    void *data, ngx_int_t rc);
static void ngx_http_gonsters_influxdb_wake(ngx_http_request_t *r);
static void ngx_http_gonsters_influxdb_outcome(
    ngx_http_gonsters_influxdb_ctx_t *ctx,
    ngx_http_gonsters_influxdb_result_t *res);
static void ngx_http_gonsters_influxdb_cleanup(void *data);
static ngx_http_gonsters_influxdb_ctx_t *ngx_http_gonsters_influxdb_sr_ctx(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_gonsters_influxdb_check(ngx_http_request_t *r,
    ngx_http_gonsters_influxdb_ctx_t *ctx);
static void ngx_http_gonsters_influxdb_stop(ngx_http_request_t *r);
static ngx_int_t ngx_http_gonsters_influxdb_append(
    ngx_http_gonsters_influxdb_ctx_t *ctx, ngx_http_request_t *r,
    u_char *p, size_t n);
static ngx_int_t ngx_http_gonsters_influxdb_header_filter(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_gonsters_influxdb_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);

static void *ngx_http_gonsters_influxdb_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gonsters_influxdb_init_main_conf(ngx_conf_t *cf,
    void *conf);
static void *ngx_http_gonsters_influxdb_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gonsters_influxdb_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_gonsters_influxdb_location(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_gonsters_influxdb_database(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_gonsters_influxdb_concat(ngx_conf_t *cf,
    ngx_str_t *dst, const char *a, ngx_str_t *b, const char *c);
static ngx_int_t ngx_http_gonsters_influxdb_init(ngx_conf_t *cf);


static char *ngx_http_gonsters_influxdb_check_size(ngx_conf_t *cf, void *post,
    void *data);

static ngx_conf_post_t  ngx_http_gonsters_influxdb_max_response_post = {
    ngx_http_gonsters_influxdb_check_size
};


static ngx_command_t  ngx_http_gonsters_influxdb_commands[] = {

    { ngx_string("gonsters_influxdb_location"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_gonsters_influxdb_location,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gonsters_influxdb_database"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_gonsters_influxdb_database,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gonsters_influxdb_max_response"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gonsters_influxdb_loc_conf_t, max_response),
      &ngx_http_gonsters_influxdb_max_response_post },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gonsters_influxdb_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_gonsters_influxdb_init,       /* postconfiguration */

    ngx_http_gonsters_influxdb_create_main_conf, /* create main configuration */
    ngx_http_gonsters_influxdb_init_main_conf,   /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gonsters_influxdb_create_loc_conf,  /* create location conf */
    ngx_http_gonsters_influxdb_merge_loc_conf    /* merge location conf */
};


ngx_module_t  ngx_http_gonsters_influxdb_module = {
    NGX_MODULE_V1,
    &ngx_http_gonsters_influxdb_module_ctx, /* module context */
    ngx_http_gonsters_influxdb_commands,   /* module directives */
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


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;

static ngx_str_t  ngx_http_gonsters_influxdb_post = ngx_string("POST");
static ngx_str_t  ngx_http_gonsters_influxdb_form_type =
    ngx_string("application/x-www-form-urlencoded");


/* ---- the API ------------------------------------------------------------ */

ngx_int_t
ngx_http_gonsters_influxdb_write(ngx_http_request_t *r, ngx_chain_t *lines,
    ngx_http_gonsters_influxdb_handler_pt handler, void *data)
{
    off_t                                    len;
    ngx_buf_t                               *b;
    ngx_chain_t                             *cl, *body, **ll;
    ngx_http_gonsters_influxdb_main_conf_t  *imcf;

    imcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_influxdb_module);

    /*
     * Buffers of our own over the caller's memory: the upstream resets
     * pos to start when it sends the body again on another connection.
     */

    len = 0;
    body = NULL;
    ll = &body;

    for (cl = lines; cl; cl = cl->next) {

        if (cl->buf->in_file || !ngx_buf_in_memory(cl->buf)) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          "gonsters: influxdb write needs memory buffers");
            return NGX_ERROR;
        }

        if (ngx_buf_size(cl->buf) == 0) {
            continue;
        }

        b = ngx_calloc_buf(r->pool);
        if (b == NULL) {
            return NGX_ERROR;
        }

        b->start = cl->buf->pos;
        b->pos = cl->buf->pos;
        b->last = cl->buf->last;
        b->end = cl->buf->last;
        b->memory = 1;

        *ll = ngx_alloc_chain_link(r->pool);
        if (*ll == NULL) {
            return NGX_ERROR;
        }

        (*ll)->buf = b;
        (*ll)->next = NULL;
        ll = &(*ll)->next;

        len += b->last - b->pos;
    }

    if (body == NULL) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "gonsters: influxdb write of an empty body");
        return NGX_ERROR;
    }

    for (cl = body; cl->next; cl = cl->next) { /* void */ }
    cl->buf->last_buf = 1;

    return ngx_http_gonsters_influxdb_start(r, "write", &imcf->write_uri,
                                            &imcf->write_args, body, len,
                                            handler, data);
}


ngx_int_t
ngx_http_gonsters_influxdb_query(ngx_http_request_t *r, ngx_str_t *influxql,
    ngx_str_t *params, ngx_http_gonsters_influxdb_handler_pt handler,
    void *data)
{
    size_t                                   len;
    u_char                                  *p;
    ngx_buf_t                               *b;
    ngx_chain_t                             *cl;
    ngx_http_gonsters_influxdb_main_conf_t  *imcf;

    imcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_influxdb_module);

    len = sizeof("q=") - 1
          + ngx_http_gonsters_influxdb_escape(NULL, influxql->data,
                                              influxql->len)
          + imcf->query_form.len;

    if (params && params->len) {
        len += sizeof("&params=") - 1
               + ngx_http_gonsters_influxdb_escape(NULL, params->data,
                                                   params->len);
    }

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(b->last, "q=", 2);
    p += ngx_http_gonsters_influxdb_escape(p, influxql->data, influxql->len);
    p = ngx_cpymem(p, imcf->query_form.data, imcf->query_form.len);

    if (params && params->len) {
        p = ngx_cpymem(p, "&params=", sizeof("&params=") - 1);
        p += ngx_http_gonsters_influxdb_escape(p, params->data, params->len);
    }

    b->last = p;
    b->last_buf = 1;

    cl = ngx_alloc_chain_link(r->pool);
    if (cl == NULL) {
        return NGX_ERROR;
    }

    cl->buf = b;
    cl->next = NULL;

    return ngx_http_gonsters_influxdb_start(r, "query", &imcf->query_uri,
                                            NULL, cl, b->last - b->pos,
                                            handler, data);
}


ngx_int_t
ngx_http_gonsters_influxdb_ping(ngx_http_request_t *r,
    ngx_http_gonsters_influxdb_handler_pt handler, void *data)
{
    ngx_http_gonsters_influxdb_main_conf_t  *imcf;

    imcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_influxdb_module);

    return ngx_http_gonsters_influxdb_start(r, "ping", &imcf->ping_uri, NULL,
                                            NULL, -1, handler, data);
}


ngx_int_t
ngx_http_gonsters_influxdb_configured(ngx_http_request_t *r)
{
    ngx_http_gonsters_influxdb_main_conf_t  *imcf;

    imcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_influxdb_module);

    return imcf->location.len ? NGX_OK : NGX_DECLINED;
}


size_t
ngx_http_gonsters_influxdb_escape(u_char *dst, u_char *src, size_t size)
{
    u_char   c, *p;
    size_t   n;

    static const u_char  hex[] = "0123456789ABCDEF";

    n = 0;
    p = dst;

    while (size--) {
        c = *src++;

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9')
            || c == '-' || c == '.' || c == '_' || c == '~')
        {
            if (p) {
                *p++ = c;
            }

            n++;
            continue;
        }

        if (p) {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 0xf];
        }

        n += 3;
    }

    return n;
}


/* ---- a call ----------------------------------------------------------- */

static ngx_int_t
ngx_http_gonsters_influxdb_start(ngx_http_request_t *r, const char *what,
    ngx_str_t *uri, ngx_str_t *args, ngx_chain_t *body, off_t len,
    ngx_http_gonsters_influxdb_handler_pt handler, void *data)
{
    ngx_pool_cleanup_t                      *cln;
    ngx_http_request_t                      *sr;
    ngx_http_headers_in_t                    hin;
    ngx_http_request_body_t                 *rb;
    ngx_http_post_subrequest_t              *ps;
    ngx_http_gonsters_influxdb_ctx_t        *ctx;
    ngx_http_gonsters_influxdb_loc_conf_t   *ilcf;
    ngx_http_gonsters_influxdb_main_conf_t  *imcf;

    imcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_influxdb_module);

    if (imcf->location.len == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters: influxdb %s: \"gonsters_influxdb_location\" "
                      "is not configured", what);
        return NGX_ERROR;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_gonsters_influxdb_module);

    if (ctx && ctx->active) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "gonsters: influxdb %s while a %s is pending",
                      what, ctx->what);
        return NGX_ERROR;
    }

    /*
     * The subrequest must become the connection's active request (c->data)
     * so that its finalization wakes r; that holds while r has not started
     * output of its own nor other subrequests.
     */

    if (r->connection->data != r || r->postponed) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "gonsters: influxdb %s from a request that is not "
                      "active", what);
        return NGX_ERROR;
    }

    /* everything that can fail before the subrequest exists */

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_influxdb_ctx_t));
    ps = ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t));
    rb = ngx_pcalloc(r->pool, sizeof(ngx_http_request_body_t));
    cln = ngx_pool_cleanup_add(r->pool, 0);

    if (ctx == NULL || ps == NULL || rb == NULL || cln == NULL
        || ngx_http_gonsters_influxdb_headers(r, &hin, len) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_gonsters_influxdb_module);

    ctx->request = r;
    ctx->what = what;
    ctx->handler = handler;
    ctx->data = data;
    ctx->start = ngx_current_msec;
    ctx->max_response = ilcf->max_response;

    ps->handler = ngx_http_gonsters_influxdb_done;
    ps->data = ctx;

    /* a body of our own, or an empty one: never the client's */
    rb->bufs = body;

    if (ngx_http_subrequest(r, uri, args, &sr, ps, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    /* ngx_http_subrequest() took a reference to r->main for sr */

    if (body) {
        sr->method = NGX_HTTP_POST;
        sr->method_name = ngx_http_gonsters_influxdb_post;
    }

    sr->request_body = rb;
    sr->headers_in = hin;
    sr->headers_in.headers.last = &sr->headers_in.headers.part;

    ctx->subrequest = sr;
    ctx->active = 1;

    cln->handler = ngx_http_gonsters_influxdb_cleanup;
    cln->data = ctx;

    ngx_http_set_ctx(r, ctx, ngx_http_gonsters_influxdb_module);

    r->write_event_handler = ngx_http_gonsters_influxdb_wake;

    ngx_http_gonsters_metrics_pool(NGX_HTTP_GONSTERS_INFLUXDB, 0, 1);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "gonsters influxdb %s \"%V\" c:%d", what, uri,
                   r->main->count);

    /* and this one is dropped when the handler's result finalizes r */
    return ngx_http_gonsters_suspend(r);
}


/*
 * The subrequest's request headers: a new, empty header list (the parent's
 * headers_in is only copied by ngx_http_subrequest(), with Authorization,
 * Cookie, Content-Type and Content-Length of the client) with Content-Type
 * when there is a body.
 */

static ngx_int_t
ngx_http_gonsters_influxdb_headers(ngx_http_request_t *r,
    ngx_http_headers_in_t *hin, off_t len)
{
    ngx_table_elt_t  *h;

    ngx_memzero(hin, sizeof(ngx_http_headers_in_t));

    if (ngx_list_init(&hin->headers, r->pool, 1, sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_array_init(&hin->cookies, r->pool, 1, sizeof(ngx_table_elt_t *))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_array_init(&hin->x_forwarded_for, r->pool, 1,
                       sizeof(ngx_table_elt_t *))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    hin->content_length_n = len;
    hin->keep_alive_n = -1;

    if (len < 0) {
        return NGX_OK;
    }

    h = ngx_list_push(&hin->headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    ngx_str_set(&h->key, "Content-Type");
    h->lowcase_key = (u_char *) "content-type";
    h->value = ngx_http_gonsters_influxdb_form_type;
    h->hash = ngx_hash_key(h->lowcase_key, h->key.len);

    hin->content_type = h;

    return NGX_OK;
}


/*
 * post_subrequest handler: called each time the subrequest is finalized,
 * possibly more than once.  Before InfluxDB's header arrived, an error rc
 * is the proxy's verdict (502 refused or broken, 504 timed out).  Once the
 * upstream has finished, an error must not terminate the client's request
 * (nginx would close the client connection without an answer): NGX_OK ends
 * the subrequest normally and the outcome goes to the caller's handler.
 */

static ngx_int_t
ngx_http_gonsters_influxdb_done(ngx_http_request_t *r, void *data,
    ngx_int_t rc)
{
    ngx_http_gonsters_influxdb_ctx_t  *ctx = data;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "gonsters influxdb %s done rc:%i s:%ui",
                   ctx->what, rc, r->headers_out.status);

    if (rc != NGX_ERROR && rc < NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    if (r->upstream == NULL && !ctx->misconfigured) {
        /* e.g. 404: the URI found no proxy location at all */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters: influxdb %s: \"%V\" is not served by a "
                      "proxy_pass location (status %i); see "
                      "\"gonsters_influxdb_location\"",
                      ctx->what, &r->uri, rc);
        ctx->misconfigured = 1;
    }

    if (!ctx->header && ctx->failure == 0) {
        ctx->failure = rc;
    }

    if (rc == NGX_HTTP_REQUEST_TIME_OUT
        || rc == NGX_HTTP_CLIENT_CLOSED_REQUEST
        || r->connection->error)
    {
        /* the client is gone: nginx terminates the request */
        return rc;
    }

    if (r->upstream && r->upstream->cleanup) {
        /* the upstream still runs: let nginx tear it down */
        return rc;
    }

    return NGX_OK;
}


/* r's write_event_handler while a call is pending */

static void
ngx_http_gonsters_influxdb_wake(ngx_http_request_t *r)
{
    ngx_int_t                             rc;
    ngx_http_gonsters_influxdb_ctx_t     *ctx;
    ngx_http_gonsters_influxdb_result_t   res;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gonsters_influxdb_module);

    if (ctx == NULL || !ctx->active || !ctx->subrequest->done) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "gonsters influxdb wake: not done");
        return;
    }

    ctx->active = 0;
    r->write_event_handler = ngx_http_request_empty_handler;

    ngx_http_gonsters_influxdb_outcome(ctx, &res);

    ngx_http_gonsters_metrics_pool(NGX_HTTP_GONSTERS_INFLUXDB, 0, -1);
    ngx_http_gonsters_metrics_backend(NGX_HTTP_GONSTERS_INFLUXDB, res.status,
                                      res.latency);

    rc = ctx->handler(r, &res, ctx->data);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "gonsters influxdb handler rc:%i c:%d", rc, r->main->count);

    ngx_http_gonsters_resume(r, rc);
}


static void
ngx_http_gonsters_influxdb_outcome(ngx_http_gonsters_influxdb_ctx_t *ctx,
    ngx_http_gonsters_influxdb_result_t *res)
{
    size_t       n;
    ngx_uint_t   level;
    ngx_log_t   *log;

    log = ctx->request->connection->log;

    res->http_status = ctx->header ? ctx->http_status : 0;
    res->body.data = ctx->body;
    res->body.len = ctx->len;
    res->latency = ngx_current_msec - ctx->start;

    if (ctx->misconfigured || ctx->overflow) {
        /* logged where it was found */
        res->status = NGX_HTTP_GONSTERS_BACKEND_ERROR;
        res->body.len = 0;
        return;
    }

    if (!ctx->header) {
        res->status = (ctx->failure == NGX_HTTP_GATEWAY_TIME_OUT)
                      ? NGX_HTTP_GONSTERS_BACKEND_TIMEOUT
                      : NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE;
        res->body.len = 0;

        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "gonsters: influxdb %s failed: %s (%i) after %M ms",
                      ctx->what,
                      res->status == NGX_HTTP_GONSTERS_BACKEND_TIMEOUT
                      ? "timed out" : "unavailable",
                      ctx->failure, res->latency);
        return;
    }

    if (!ctx->complete) {
        res->status = NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE;
        res->body.len = 0;

        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "gonsters: influxdb %s failed: the response was cut "
                      "short after %uz bytes (connection lost or timed out)",
                      ctx->what, ctx->len);
        return;
    }

    if (ctx->http_status >= 200 && ctx->http_status < 300) {
        res->status = NGX_HTTP_GONSTERS_BACKEND_OK;
        return;
    }

    if (ctx->http_status >= 500) {
        res->status = NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE;
        level = NGX_LOG_ERR;

    } else {
        /* 4xx: what was sent; the caller decides what it means */
        res->status = NGX_HTTP_GONSTERS_BACKEND_ERROR;
        level = (ctx->http_status >= 400) ? NGX_LOG_INFO : NGX_LOG_ERR;
    }

    /* InfluxDB's message, without its final newline */

    n = ngx_min(ctx->len, 256);

    while (n && (ctx->body[n - 1] == LF || ctx->body[n - 1] == CR)) {
        n--;
    }

    ngx_log_error(level, log, 0,
                  "gonsters: influxdb %s answered %ui: \"%*s\"",
                  ctx->what, ctx->http_status, n, ctx->body);
}


/* r's pool is going away: a call still pending was abandoned */

static void
ngx_http_gonsters_influxdb_cleanup(void *data)
{
    ngx_http_gonsters_influxdb_ctx_t  *ctx = data;

    if (ctx->active) {
        ctx->active = 0;
        ngx_http_gonsters_metrics_pool(NGX_HTTP_GONSTERS_INFLUXDB, 0, -1);
    }
}


/* ---- capture of the subrequest's output -------------------------------- */

static ngx_http_gonsters_influxdb_ctx_t *
ngx_http_gonsters_influxdb_sr_ctx(ngx_http_request_t *r)
{
    if (r == r->main
        || r->post_subrequest == NULL
        || r->post_subrequest->handler != ngx_http_gonsters_influxdb_done)
    {
        return NULL;
    }

    return r->post_subrequest->data;
}


/*
 * What can only be checked once the subrequest has found its location:
 * a proxy, internal (or every client could talk to InfluxDB through it),
 * and no temporary files (the body filter takes memory buffers only).
 */

static ngx_int_t
ngx_http_gonsters_influxdb_check(ngx_http_request_t *r,
    ngx_http_gonsters_influxdb_ctx_t *ctx)
{
    ngx_http_upstream_t       *u;
    ngx_http_core_loc_conf_t  *clcf;

    u = r->upstream;
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (u == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters: influxdb %s: \"%V\" is not served by a "
                      "proxy_pass location (status %ui); see "
                      "\"gonsters_influxdb_location\"",
                      ctx->what, &r->uri, r->headers_out.status);
        return NGX_ERROR;
    }

    if (!clcf->internal) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters: influxdb %s: the location of \"%V\" must "
                      "be \"internal\"", ctx->what, &r->uri);
        return NGX_ERROR;
    }

    if (u->buffering && u->conf->max_temp_file_size != 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters: influxdb %s: the location of \"%V\" needs "
                      "\"proxy_max_temp_file_size 0\" (or "
                      "\"proxy_buffering off\")", ctx->what, &r->uri);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_gonsters_influxdb_header_filter(ngx_http_request_t *r)
{
    off_t                              len;
    ngx_http_gonsters_influxdb_ctx_t  *ctx;

    ctx = ngx_http_gonsters_influxdb_sr_ctx(r);

    if (ctx == NULL) {
        return ngx_http_next_header_filter(r);
    }

    if (ngx_http_gonsters_influxdb_check(r, ctx) != NGX_OK) {
        ctx->misconfigured = 1;
        return NGX_ERROR;
    }

    if (r->upstream->headers_in.status_n == 0) {
        /* a response of nginx's own (an error page): not InfluxDB's */
        return ngx_http_next_header_filter(r);
    }

    ctx->header = 1;
    ctx->http_status = r->headers_out.status;

    len = r->headers_out.content_length_n;

    if (len > (off_t) ctx->max_response) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters: influxdb %s: the response of %O bytes "
                      "exceeds gonsters_influxdb_max_response %uz",
                      ctx->what, len, ctx->max_response);
        ctx->overflow = 1;
        return NGX_ERROR;
    }

    if (len > 0) {
        ctx->body = ngx_pnalloc(r->pool, (size_t) len);
        if (ctx->body == NULL) {
            return NGX_ERROR;
        }

        ctx->size = (size_t) len;
    }

    return ngx_http_next_header_filter(r);
}


/*
 * Copies every buffer and passes nothing down: the client never sees it.
 * It never returns NGX_ERROR for a failed call (ngx_http_output_filter()
 * would mark the client connection as broken): it makes the upstream stop.
 */

static ngx_int_t
ngx_http_gonsters_influxdb_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    size_t                             n;
    ngx_buf_t                         *b;
    ngx_chain_t                       *cl;
    ngx_http_gonsters_influxdb_ctx_t  *ctx;

    ctx = ngx_http_gonsters_influxdb_sr_ctx(r);

    if (ctx == NULL) {
        return ngx_http_next_body_filter(r, in);
    }

    for (cl = in; cl; cl = cl->next) {
        b = cl->buf;

        if (b->last_buf || b->last_in_chain) {
            ctx->complete = 1;
        }

        if (ctx->overflow || ctx->misconfigured) {
            b->pos = b->last;
            continue;
        }

        if (b->in_file) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "gonsters: influxdb %s: the response was buffered "
                          "to a temporary file; the location of \"%V\" "
                          "needs \"proxy_max_temp_file_size 0\"",
                          ctx->what, &r->uri);
            ctx->misconfigured = 1;
            ngx_http_gonsters_influxdb_stop(r);
            continue;
        }

        n = ngx_buf_in_memory(b) ? (size_t) (b->last - b->pos) : 0;

        if (n && ngx_http_gonsters_influxdb_append(ctx, r, b->pos, n)
                 != NGX_OK)
        {
            return NGX_ERROR;
        }

        b->pos = b->last;
    }

    return NGX_OK;
}


/* the way the upstream stops when its client is gone */

static void
ngx_http_gonsters_influxdb_stop(ngx_http_request_t *r)
{
    ngx_http_upstream_t  *u;

    u = r->upstream;

    if (u == NULL) {
        return;
    }

    if (u->buffering && u->pipe) {
        u->pipe->downstream_error = 1;

    } else {
        u->error = 1;
    }
}


static ngx_int_t
ngx_http_gonsters_influxdb_append(ngx_http_gonsters_influxdb_ctx_t *ctx,
    ngx_http_request_t *r, u_char *p, size_t n)
{
    u_char  *body;
    size_t   size;

    if (n > ctx->max_response - ctx->len) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters: influxdb %s: the response exceeds "
                      "gonsters_influxdb_max_response %uz",
                      ctx->what, ctx->max_response);
        ctx->overflow = 1;
        ngx_http_gonsters_influxdb_stop(r);
        return NGX_OK;
    }

    if (n > ctx->size - ctx->len) {
        size = ngx_max(ctx->size * 2, NGX_HTTP_GONSTERS_INFLUXDB_INITIAL_BODY);
        size = ngx_max(size, ctx->len + n);
        size = ngx_min(size, ctx->max_response);

        body = ngx_pnalloc(r->pool, size);
        if (body == NULL) {
            return NGX_ERROR;
        }

        if (ctx->body) {
            ngx_memcpy(body, ctx->body, ctx->len);
            ngx_pfree(r->pool, ctx->body);
        }

        ctx->body = body;
        ctx->size = size;
    }

    ngx_memcpy(ctx->body + ctx->len, p, n);
    ctx->len += n;

    return NGX_OK;
}


/* ---- configuration ------------------------------------------------------ */

static void *
ngx_http_gonsters_influxdb_create_main_conf(ngx_conf_t *cf)
{
    /*
     * set by ngx_pcalloc(): every string empty
     */

    return ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_gonsters_influxdb_main_conf_t));
}


static char *
ngx_http_gonsters_influxdb_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gonsters_influxdb_main_conf_t *imcf = conf;

    size_t      n;
    ngx_str_t   db;

    if (imcf->database.len == 0) {
        ngx_str_set(&imcf->database, "gonsters");
    }

    n = ngx_http_gonsters_influxdb_escape(NULL, imcf->database.data,
                                          imcf->database.len);
    db.data = ngx_pnalloc(cf->pool, n);
    if (db.data == NULL) {
        return NGX_CONF_ERROR;
    }

    db.len = ngx_http_gonsters_influxdb_escape(db.data, imcf->database.data,
                                               imcf->database.len);

    if (ngx_http_gonsters_influxdb_concat(cf, &imcf->write_args, "db=", &db,
                                          "&precision=ns") != NGX_OK
        || ngx_http_gonsters_influxdb_concat(cf, &imcf->query_form, "&db=",
                                             &db, "&epoch=ns") != NGX_OK
        || ngx_http_gonsters_influxdb_concat(cf, &imcf->write_uri, "",
                                             &imcf->location, "/write")
           != NGX_OK
        || ngx_http_gonsters_influxdb_concat(cf, &imcf->query_uri, "",
                                             &imcf->location, "/query")
           != NGX_OK
        || ngx_http_gonsters_influxdb_concat(cf, &imcf->ping_uri, "",
                                             &imcf->location, "/ping")
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_gonsters_influxdb_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gonsters_influxdb_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gonsters_influxdb_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->max_response = NGX_CONF_UNSET_SIZE;

    return conf;
}


static char *
ngx_http_gonsters_influxdb_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_gonsters_influxdb_loc_conf_t *prev = parent;
    ngx_http_gonsters_influxdb_loc_conf_t *conf = child;

    ngx_conf_merge_size_value(conf->max_response, prev->max_response,
                              64 * 1024 * 1024);

    return NGX_CONF_OK;
}


static char *
ngx_http_gonsters_influxdb_location(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_gonsters_influxdb_main_conf_t *imcf = conf;

    ngx_str_t  *value, uri;

    if (imcf->location.data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    uri = value[1];

    while (uri.len > 1 && uri.data[uri.len - 1] == '/') {
        uri.len--;
    }

    if (uri.len < 2 || uri.data[0] != '/'
        || ngx_strlchr(uri.data, uri.data + uri.len, '?')
        || ngx_strlchr(uri.data, uri.data + uri.len, '$'))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"%V\": the URI "
                           "prefix of an internal location is expected, "
                           "e.g. /_influxdb", &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    imcf->location = uri;

    return NGX_CONF_OK;
}


static char *
ngx_http_gonsters_influxdb_check_size(ngx_conf_t *cf, void *post, void *data)
{
    size_t  *sp = data;

    if (*sp == 0) {
        return "must be at least 1";
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_gonsters_influxdb_database(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_gonsters_influxdb_main_conf_t *imcf = conf;

    ngx_str_t  *value;

    if (imcf->database.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"\" in \"%V\": a database "
                           "name is expected", &cmd->name);
        return NGX_CONF_ERROR;
    }

    imcf->database = value[1];

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gonsters_influxdb_concat(ngx_conf_t *cf, ngx_str_t *dst,
    const char *a, ngx_str_t *b, const char *c)
{
    size_t   la, lc;
    u_char  *p;

    la = ngx_strlen(a);
    lc = ngx_strlen(c);

    dst->len = la + b->len + lc;
    dst->data = ngx_pnalloc(cf->pool, dst->len);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(dst->data, a, la);
    p = ngx_cpymem(p, b->data, b->len);
    ngx_memcpy(p, c, lc);

    return NGX_OK;
}


static ngx_int_t
ngx_http_gonsters_influxdb_init(ngx_conf_t *cf)
{
    /* on top of every other filter: the subrequest's output stops here */

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_gonsters_influxdb_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_gonsters_influxdb_body_filter;

    return NGX_OK;
}
