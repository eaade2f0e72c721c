
/*
 * Test-only locations that drive the InfluxDB API the way REST handlers do
 * (ngx_http_gonsters_test_influxdb_module):
 *
 *   gonsters_test_influxdb_write;           POST body -> write
 *   gonsters_test_influxdb_query Q [PARAMS]; query (values URL-decoded)
 *   gonsters_test_influxdb_query_raw Q;     query, answering InfluxDB's body
 *                                           as it came (large responses)
 *   gonsters_test_influxdb_ping;
 *   gonsters_test_influxdb_chain Q;         POST body -> write, then, from
 *                                           the write's handler, query Q
 *   gonsters_test_influxdb_escape S;        {"escaped":...} of the encoder
 *
 * Answers: 200 {"status":"ok","http_status":N,"length":N,"body":"..."},
 * 502 with "status":"error" for ERROR, and the API's 503 for UNAVAILABLE
 * and TIMEOUT.
 */


#include "ngx_http_gonsters_influxdb.h"
#include "ngx_http_gonsters_testlib.h"


typedef enum {
    NGX_HTTP_GONSTERS_TEST_INFLUXDB_WRITE = 1,
    NGX_HTTP_GONSTERS_TEST_INFLUXDB_QUERY,
    NGX_HTTP_GONSTERS_TEST_INFLUXDB_QUERY_RAW,
    NGX_HTTP_GONSTERS_TEST_INFLUXDB_PING,
    NGX_HTTP_GONSTERS_TEST_INFLUXDB_CHAIN,
    NGX_HTTP_GONSTERS_TEST_INFLUXDB_ESCAPE
} ngx_http_gonsters_test_influxdb_op_e;


typedef struct {
    ngx_uint_t                    op;
    ngx_http_complex_value_t     *arg[2];
} ngx_http_gonsters_test_influxdb_loc_conf_t;


static ngx_int_t ngx_http_gonsters_test_influxdb_handler(
    ngx_http_request_t *r);
static void ngx_http_gonsters_test_influxdb_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_gonsters_test_influxdb_chained(
    ngx_http_request_t *r, ngx_http_gonsters_influxdb_result_t *res,
    void *data);
static ngx_int_t ngx_http_gonsters_test_influxdb_answer(
    ngx_http_request_t *r, ngx_http_gonsters_influxdb_result_t *res,
    void *data);
static ngx_int_t ngx_http_gonsters_test_influxdb_query(ngx_http_request_t *r);
static ngx_int_t ngx_http_gonsters_test_influxdb_escape(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_gonsters_test_influxdb_arg(ngx_http_request_t *r,
    ngx_uint_t i, ngx_str_t *value);
static void *ngx_http_gonsters_test_influxdb_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gonsters_test_influxdb(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);


static ngx_command_t  ngx_http_gonsters_test_influxdb_commands[] = {

    { ngx_string("gonsters_test_influxdb_write"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_gonsters_test_influxdb,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_GONSTERS_TEST_INFLUXDB_WRITE,
      NULL },

    { ngx_string("gonsters_test_influxdb_query"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_gonsters_test_influxdb,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_GONSTERS_TEST_INFLUXDB_QUERY,
      NULL },

    { ngx_string("gonsters_test_influxdb_query_raw"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_gonsters_test_influxdb,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_GONSTERS_TEST_INFLUXDB_QUERY_RAW,
      NULL },

    { ngx_string("gonsters_test_influxdb_ping"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_gonsters_test_influxdb,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_GONSTERS_TEST_INFLUXDB_PING,
      NULL },

    { ngx_string("gonsters_test_influxdb_chain"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_gonsters_test_influxdb,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_GONSTERS_TEST_INFLUXDB_CHAIN,
      NULL },

    { ngx_string("gonsters_test_influxdb_escape"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_gonsters_test_influxdb,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_GONSTERS_TEST_INFLUXDB_ESCAPE,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gonsters_test_influxdb_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    ngx_http_gonsters_test_influxdb_create_loc_conf, /* create location conf */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_gonsters_test_influxdb_module = {
    NGX_MODULE_V1,
    &ngx_http_gonsters_test_influxdb_module_ctx, /* module context */
    ngx_http_gonsters_test_influxdb_commands, /* module directives */
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
ngx_http_gonsters_test_influxdb_handler(ngx_http_request_t *r)
{
    ngx_int_t                                    rc;
    ngx_http_gonsters_test_influxdb_loc_conf_t  *tlcf;

    tlcf = ngx_http_get_module_loc_conf(r,
                                        ngx_http_gonsters_test_influxdb_module);

    switch (tlcf->op) {

    case NGX_HTTP_GONSTERS_TEST_INFLUXDB_WRITE:
    case NGX_HTTP_GONSTERS_TEST_INFLUXDB_CHAIN:
        rc = ngx_http_read_client_request_body(r,
                                        ngx_http_gonsters_test_influxdb_body);
        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;

    default:
        break;
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    switch (tlcf->op) {

    case NGX_HTTP_GONSTERS_TEST_INFLUXDB_PING:
        rc = ngx_http_gonsters_influxdb_ping(r,
                                  ngx_http_gonsters_test_influxdb_answer, NULL);
        break;

    case NGX_HTTP_GONSTERS_TEST_INFLUXDB_QUERY:
    case NGX_HTTP_GONSTERS_TEST_INFLUXDB_QUERY_RAW:
        rc = ngx_http_gonsters_test_influxdb_query(r);
        break;

    default: /* NGX_HTTP_GONSTERS_TEST_INFLUXDB_ESCAPE */
        return ngx_http_gonsters_test_influxdb_escape(r);
    }

    return (rc == NGX_DONE) ? NGX_DONE : NGX_HTTP_INTERNAL_SERVER_ERROR;
}


/* the request body has been read: the read took a reference of its own */

static void
ngx_http_gonsters_test_influxdb_body(ngx_http_request_t *r)
{
    ngx_int_t                                    rc;
    ngx_http_gonsters_influxdb_handler_pt        handler;
    ngx_http_gonsters_test_influxdb_loc_conf_t  *tlcf;

    tlcf = ngx_http_get_module_loc_conf(r,
                                        ngx_http_gonsters_test_influxdb_module);

    if (r->request_body == NULL || r->request_body->bufs == NULL
        || r->request_body->temp_file)
    {
        ngx_http_finalize_request(r, ngx_http_gonsters_send_error(r,
                                  NGX_HTTP_BAD_REQUEST,
                                  "a body in memory is expected"));
        return;
    }

    handler = (tlcf->op == NGX_HTTP_GONSTERS_TEST_INFLUXDB_CHAIN)
              ? ngx_http_gonsters_test_influxdb_chained
              : ngx_http_gonsters_test_influxdb_answer;

    rc = ngx_http_gonsters_influxdb_write(r, r->request_body->bufs, handler,
                                          NULL);

    ngx_http_finalize_request(r, (rc == NGX_DONE)
                                 ? NGX_DONE : NGX_HTTP_INTERNAL_SERVER_ERROR);
}


/* the write's handler starts the query: a backend call from a handler */

static ngx_int_t
ngx_http_gonsters_test_influxdb_chained(ngx_http_request_t *r,
    ngx_http_gonsters_influxdb_result_t *res, void *data)
{
    ngx_int_t  rc;

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        return ngx_http_gonsters_test_influxdb_answer(r, res, data);
    }

    rc = ngx_http_gonsters_test_influxdb_query(r);

    return (rc == NGX_DONE) ? NGX_DONE : NGX_HTTP_INTERNAL_SERVER_ERROR;
}


static ngx_int_t
ngx_http_gonsters_test_influxdb_query(ngx_http_request_t *r)
{
    ngx_str_t                                    q, params;
    ngx_http_gonsters_test_influxdb_loc_conf_t  *tlcf;

    tlcf = ngx_http_get_module_loc_conf(r,
                                        ngx_http_gonsters_test_influxdb_module);

    if (ngx_http_gonsters_test_influxdb_arg(r, 0, &q) != NGX_OK
        || ngx_http_gonsters_test_influxdb_arg(r, 1, &params) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_gonsters_influxdb_query(r, &q,
                                            tlcf->arg[1] ? &params : NULL,
                                            ngx_http_gonsters_test_influxdb_answer,
                                            NULL);
}


static ngx_int_t
ngx_http_gonsters_test_influxdb_answer(ngx_http_request_t *r,
    ngx_http_gonsters_influxdb_result_t *res, void *data)
{
    u_char                                      *p;
    ngx_str_t                                    json;
    ngx_http_gonsters_test_influxdb_loc_conf_t  *tlcf;

    switch (res->status) {

    case NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE:
    case NGX_HTTP_GONSTERS_BACKEND_TIMEOUT:
        return ngx_http_gonsters_send_unavailable(r,
                                                  NGX_HTTP_GONSTERS_INFLUXDB,
                                                  res->status);
    default:
        break;
    }

    tlcf = ngx_http_get_module_loc_conf(r,
                                        ngx_http_gonsters_test_influxdb_module);

    if (tlcf->op == NGX_HTTP_GONSTERS_TEST_INFLUXDB_QUERY_RAW) {
        return ngx_http_gonsters_send_json(r,
                                           res->status
                                           == NGX_HTTP_GONSTERS_BACKEND_OK
                                           ? NGX_HTTP_OK : NGX_HTTP_BAD_GATEWAY,
                                           &res->body);
    }

    p = ngx_pnalloc(r->pool, 256);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    json.data = p;
    json.len = ngx_sprintf(p, "{\"status\":\"%s\",\"http_status\":%ui,"
                           "\"length\":%uz,\"latency_ms\":%M,\"body\":\"",
                           res->status == NGX_HTTP_GONSTERS_BACKEND_OK
                           ? "ok" : "error",
                           res->http_status, res->body.len, res->latency)
               - p;
    json.data[json.len] = '\0';

    if (ngx_http_gonsters_test_json_string(r, (char *) json.data, &res->body,
                                           "\"}", &json)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_send_json(r,
                                       res->status
                                       == NGX_HTTP_GONSTERS_BACKEND_OK
                                       ? NGX_HTTP_OK : NGX_HTTP_BAD_GATEWAY,
                                       &json);
}


static ngx_int_t
ngx_http_gonsters_test_influxdb_escape(ngx_http_request_t *r)
{
    ngx_str_t  s, escaped, json;

    if (ngx_http_gonsters_test_influxdb_arg(r, 0, &s) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    escaped.len = ngx_http_gonsters_influxdb_escape(NULL, s.data, s.len);
    escaped.data = ngx_pnalloc(r->pool, escaped.len + 1);
    if (escaped.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_gonsters_influxdb_escape(escaped.data, s.data, s.len)
        != escaped.len)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_gonsters_test_json_string(r, "{\"escaped\":\"",
                                                    &escaped, "\"}", &json)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_send_json(r, NGX_HTTP_OK, &json);
}


/* argument i, URL-decoded (the tests send %XX for every special byte) */

static ngx_int_t
ngx_http_gonsters_test_influxdb_arg(ngx_http_request_t *r, ngx_uint_t i,
    ngx_str_t *value)
{
    ngx_http_gonsters_test_influxdb_loc_conf_t  *tlcf;

    tlcf = ngx_http_get_module_loc_conf(r,
                                        ngx_http_gonsters_test_influxdb_module);

    ngx_str_null(value);

    if (tlcf->arg[i] == NULL) {
        return NGX_OK;
    }

    return ngx_http_gonsters_test_unescaped(r, tlcf->arg[i], value);
}


static void *
ngx_http_gonsters_test_influxdb_create_loc_conf(ngx_conf_t *cf)
{
    /*
     * set by ngx_pcalloc():
     *
     *     conf->op = 0;
     *     conf->arg[] = NULL;
     */

    return ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_gonsters_test_influxdb_loc_conf_t));
}


static char *
ngx_http_gonsters_test_influxdb(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_gonsters_test_influxdb_loc_conf_t *tlcf = conf;

    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_http_core_loc_conf_t          *clcf;

    if (tlcf->op) {
        return "is duplicate";
    }

    tlcf->op = cmd->offset;
    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        tlcf->arg[i - 1] = ngx_palloc(cf->pool,
                                      sizeof(ngx_http_complex_value_t));
        if (tlcf->arg[i - 1] == NULL) {
            return NGX_CONF_ERROR;
        }

        if (ngx_http_gonsters_test_compile(cf, &value[i], tlcf->arg[i - 1])
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_gonsters_test_influxdb_handler;

    return NGX_CONF_OK;
}
