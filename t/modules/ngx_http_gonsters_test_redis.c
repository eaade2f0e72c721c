
/*
 * Test-only module: locations that call the Redis API of
 * ngx_http_gonsters_redis_module the way the REST handlers do.
 *
 *   gonsters_test_redis ARG...;          location: runs the command.  Each
 *       ARG is a complex value, URI-unescaped after evaluation (%XX), so
 *       that any bytes come through query arguments ($arg_v).  Answers 200
 *       {"status":"OK"|"ERROR","reply":REPLY}, REPLY being
 *       {"type":"string"|"status"|"error","value":"..."},
 *       {"type":"integer","value":N}, {"type":"nil"} or
 *       {"type":"array","value":[REPLY...]}; string bytes >= 0x7f and
 *       control characters are written \u00XX, so decoding the JSON and
 *       taking the code points as bytes gives the value back exactly.
 *       UNAVAILABLE and TIMEOUT answer 503 with Retry-After.  A client that
 *       goes away while the call is pending terminates the request
 *       (ngx_http_test_reading, as the proxy module does).
 *   gonsters_test_redis_subscribe CHANNEL;   http: every worker subscribes
 *       from init_process and keeps the last messages.
 *   gonsters_test_redis_messages;        location: {"pid":N,"channels":
 *       {"CHANNEL":{"count":N,"last":["...",...]}}}
 *   gonsters_test_redis_state;           location: the worker's connection
 *       state (ngx_http_gonsters_redis_get_state) and pid.
 */


#include "ngx_http_gonsters_redis.h"
#include "ngx_http_gonsters_testlib.h"


#define NGX_HTTP_GONSTERS_TEST_REDIS_KEEP  64


typedef struct {
    ngx_array_t                  *args;     /* ngx_http_complex_value_t */
    ngx_uint_t                    what;
} ngx_http_gonsters_test_redis_loc_conf_t;


typedef struct {
    ngx_array_t                  *channels; /* ngx_str_t */
} ngx_http_gonsters_test_redis_main_conf_t;


/* per worker, per subscribed channel */
typedef struct {
    ngx_str_t                     channel;
    ngx_uint_t                    count;
    ngx_str_t                     last[NGX_HTTP_GONSTERS_TEST_REDIS_KEEP];
} ngx_http_gonsters_test_redis_box_t;


enum {
    NGX_HTTP_GONSTERS_TEST_REDIS_CMD = 1,
    NGX_HTTP_GONSTERS_TEST_REDIS_MESSAGES,
    NGX_HTTP_GONSTERS_TEST_REDIS_STATE
};


static ngx_int_t ngx_http_gonsters_test_redis_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_gonsters_test_redis_command(ngx_http_request_t *r,
    ngx_http_gonsters_test_redis_loc_conf_t *lcf);
static ngx_int_t ngx_http_gonsters_test_redis_done(ngx_http_request_t *r,
    ngx_http_gonsters_backend_status_e status, redisReply *reply, void *data);
static size_t ngx_http_gonsters_test_redis_reply_len(redisReply *reply);
static u_char *ngx_http_gonsters_test_redis_reply_json(u_char *p,
    redisReply *reply);
static size_t ngx_http_gonsters_test_redis_string_len(u_char *s, size_t len);
static u_char *ngx_http_gonsters_test_redis_string(u_char *p, u_char *s,
    size_t len);
static ngx_int_t ngx_http_gonsters_test_redis_messages(ngx_http_request_t *r);
static ngx_int_t ngx_http_gonsters_test_redis_state(ngx_http_request_t *r);
static void ngx_http_gonsters_test_redis_on_message(ngx_str_t *channel,
    ngx_str_t *message, void *data);

static void *ngx_http_gonsters_test_redis_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_gonsters_test_redis_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gonsters_test_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_gonsters_test_redis_location(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_gonsters_test_redis_init_process(ngx_cycle_t *cycle);
static void ngx_http_gonsters_test_redis_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_gonsters_test_redis_commands[] = {

    { ngx_string("gonsters_test_redis"),
      NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_gonsters_test_redis,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gonsters_test_redis_subscribe"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_array_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_test_redis_main_conf_t, channels),
      NULL },

    { ngx_string("gonsters_test_redis_messages"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_gonsters_test_redis_location,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_GONSTERS_TEST_REDIS_MESSAGES,
      NULL },

    { ngx_string("gonsters_test_redis_state"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_gonsters_test_redis_location,
      NGX_HTTP_LOC_CONF_OFFSET,
      NGX_HTTP_GONSTERS_TEST_REDIS_STATE,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gonsters_test_redis_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_gonsters_test_redis_create_main_conf, /* create main conf */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gonsters_test_redis_create_loc_conf, /* create location conf */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_gonsters_test_redis_module = {
    NGX_MODULE_V1,
    &ngx_http_gonsters_test_redis_module_ctx, /* module context */
    ngx_http_gonsters_test_redis_commands, /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_gonsters_test_redis_init_process, /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_gonsters_test_redis_exit_process, /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_array_t  *ngx_http_gonsters_test_redis_boxes;


static ngx_int_t
ngx_http_gonsters_test_redis_handler(ngx_http_request_t *r)
{
    ngx_int_t                                 rc;
    ngx_http_gonsters_test_redis_loc_conf_t  *lcf;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    lcf = ngx_http_get_module_loc_conf(r, ngx_http_gonsters_test_redis_module);

    switch (lcf->what) {

    case NGX_HTTP_GONSTERS_TEST_REDIS_MESSAGES:
        return ngx_http_gonsters_test_redis_messages(r);

    case NGX_HTTP_GONSTERS_TEST_REDIS_STATE:
        return ngx_http_gonsters_test_redis_state(r);

    default:
        return ngx_http_gonsters_test_redis_command(r, lcf);
    }
}


static ngx_int_t
ngx_http_gonsters_test_redis_command(ngx_http_request_t *r,
    ngx_http_gonsters_test_redis_loc_conf_t *lcf)
{
    size_t                    *argvlen;
    ngx_str_t                  value;
    ngx_uint_t                 i, n;
    const char               **argv;
    ngx_http_complex_value_t  *cv;

    n = lcf->args->nelts;
    cv = lcf->args->elts;

    argv = ngx_palloc(r->pool, n * sizeof(char *));
    argvlen = ngx_palloc(r->pool, n * sizeof(size_t));
    if (argv == NULL || argvlen == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < n; i++) {
        if (ngx_http_gonsters_test_unescaped(r, &cv[i], &value) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        argv[i] = (const char *) value.data;
        argvlen[i] = value.len;
    }

    /* a client that goes away terminates the request: the call detaches */
    r->read_event_handler = ngx_http_test_reading;

    if (ngx_http_gonsters_redis_query(r, ngx_http_gonsters_test_redis_done,
                                      NULL, (int) n, argv, argvlen)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_gonsters_test_redis_done(ngx_http_request_t *r,
    ngx_http_gonsters_backend_status_e status, redisReply *reply, void *data)
{
    u_char     *p;
    ngx_str_t   json;

    static const char  ok[] = "{\"status\":\"OK\",\"reply\":";
    static const char  error[] = "{\"status\":\"ERROR\",\"reply\":";

    if (status == NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE
        || status == NGX_HTTP_GONSTERS_BACKEND_TIMEOUT)
    {
        return ngx_http_gonsters_send_unavailable(r, NGX_HTTP_GONSTERS_REDIS,
                                                  status);
    }

    json.len = sizeof(error) - 1
               + ngx_http_gonsters_test_redis_reply_len(reply) + 1;
    json.data = ngx_pnalloc(r->pool, json.len);
    if (json.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (status == NGX_HTTP_GONSTERS_BACKEND_OK) {
        p = ngx_cpymem(json.data, ok, sizeof(ok) - 1);

    } else {
        p = ngx_cpymem(json.data, error, sizeof(error) - 1);
    }

    p = ngx_http_gonsters_test_redis_reply_json(p, reply);
    *p++ = '}';
    json.len = p - json.data;

    return ngx_http_gonsters_send_json(r, NGX_HTTP_OK, &json);
}


static size_t
ngx_http_gonsters_test_redis_reply_len(redisReply *reply)
{
    size_t  len, i;

    len = sizeof("{\"type\":\"integer\",\"value\":}") + NGX_INT64_LEN;

    switch (reply->type) {

    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        len += ngx_http_gonsters_test_redis_string_len((u_char *) reply->str,
                                                       reply->len);
        break;

    case REDIS_REPLY_ARRAY:
        for (i = 0; i < reply->elements; i++) {
            len += ngx_http_gonsters_test_redis_reply_len(reply->element[i])
                   + 1;
        }
        break;
    }

    return len;
}


static u_char *
ngx_http_gonsters_test_redis_reply_json(u_char *p, redisReply *reply)
{
    size_t       i;
    const char  *type;

    switch (reply->type) {

    case REDIS_REPLY_INTEGER:
        return ngx_sprintf(p, "{\"type\":\"integer\",\"value\":%L}",
                           (int64_t) reply->integer);

    case REDIS_REPLY_NIL:
        return ngx_sprintf(p, "{\"type\":\"nil\"}");

    case REDIS_REPLY_ARRAY:
        p = ngx_sprintf(p, "{\"type\":\"array\",\"value\":[");

        for (i = 0; i < reply->elements; i++) {
            if (i) {
                *p++ = ',';
            }

            p = ngx_http_gonsters_test_redis_reply_json(p, reply->element[i]);
        }

        return ngx_sprintf(p, "]}");

    case REDIS_REPLY_STATUS:
        type = "status";
        break;

    case REDIS_REPLY_ERROR:
        type = "error";
        break;

    default:
        type = "string";
        break;
    }

    p = ngx_sprintf(p, "{\"type\":\"%s\",\"value\":", type);
    p = ngx_http_gonsters_test_redis_string(p, (u_char *) reply->str,
                                            reply->len);
    *p++ = '}';

    return p;
}


static size_t
ngx_http_gonsters_test_redis_string_len(u_char *s, size_t len)
{
    size_t   n;
    u_char  *end;

    n = 2;

    for (end = s + len; s < end; s++) {
        if (*s == '"' || *s == '\\') {
            n += 2;

        } else if (*s < 0x20 || *s >= 0x7f) {
            n += sizeof("\\u00XX") - 1;

        } else {
            n++;
        }
    }

    return n;
}


/* a JSON string whose code points are the bytes */

static u_char *
ngx_http_gonsters_test_redis_string(u_char *p, u_char *s, size_t len)
{
    u_char  *end;

    *p++ = '"';

    for (end = s + len; s < end; s++) {
        if (*s == '"' || *s == '\\') {
            *p++ = '\\';
            *p++ = *s;

        } else if (*s < 0x20 || *s >= 0x7f) {
            p = ngx_sprintf(p, "\\u00%02xd", (int) *s);

        } else {
            *p++ = *s;
        }
    }

    *p++ = '"';

    return p;
}


static ngx_int_t
ngx_http_gonsters_test_redis_messages(ngx_http_request_t *r)
{
    u_char                              *p;
    size_t                               len;
    ngx_str_t                            json;
    ngx_uint_t                           i, j, k, n, first;
    ngx_http_gonsters_test_redis_box_t  *box;

    n = ngx_http_gonsters_test_redis_boxes
        ? ngx_http_gonsters_test_redis_boxes->nelts : 0;
    box = n ? ngx_http_gonsters_test_redis_boxes->elts : NULL;

    len = sizeof("{\"pid\":,\"channels\":{}}") + NGX_INT64_LEN;

    for (i = 0; i < n; i++) {
        len += ngx_http_gonsters_test_redis_string_len(box[i].channel.data,
                                                       box[i].channel.len)
               + sizeof(":{\"count\":,\"last\":[]},") + NGX_INT_T_LEN;

        for (j = 0; j < NGX_HTTP_GONSTERS_TEST_REDIS_KEEP; j++) {
            len += ngx_http_gonsters_test_redis_string_len(
                       box[i].last[j].data, box[i].last[j].len) + 1;
        }
    }

    json.data = ngx_pnalloc(r->pool, len);
    if (json.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(json.data, "{\"pid\":%P,\"channels\":{", ngx_pid);

    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_http_gonsters_test_redis_string(p, box[i].channel.data,
                                                box[i].channel.len);
        p = ngx_sprintf(p, ":{\"count\":%ui,\"last\":[", box[i].count);

        /* oldest first */
        first = box[i].count > NGX_HTTP_GONSTERS_TEST_REDIS_KEEP
                ? box[i].count - NGX_HTTP_GONSTERS_TEST_REDIS_KEEP : 0;

        for (k = first; k < box[i].count; k++) {
            if (k != first) {
                *p++ = ',';
            }

            j = k % NGX_HTTP_GONSTERS_TEST_REDIS_KEEP;
            p = ngx_http_gonsters_test_redis_string(p, box[i].last[j].data,
                                                    box[i].last[j].len);
        }

        p = ngx_sprintf(p, "]}");
    }

    p = ngx_sprintf(p, "}}");
    json.len = p - json.data;

    return ngx_http_gonsters_send_json(r, NGX_HTTP_OK, &json);
}


static ngx_int_t
ngx_http_gonsters_test_redis_state(ngx_http_request_t *r)
{
    u_char                           *p;
    ngx_str_t                         json;
    ngx_http_gonsters_redis_state_t   st;

    ngx_http_gonsters_redis_get_state(&st);

    json.data = ngx_pnalloc(r->pool, 256
                + ngx_http_gonsters_test_redis_string_len(st.error.data,
                                                          st.error.len));
    if (json.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(json.data,
                    "{\"pid\":%P,\"connected\":%ui,\"attempt\":%ui,"
                    "\"delay\":%M,\"pending\":%ui,\"subscribed\":%ui,"
                    "\"error\":",
                    ngx_pid, st.connected, st.attempt, st.delay, st.pending,
                    st.subscribed);
    p = ngx_http_gonsters_test_redis_string(p, st.error.data, st.error.len);
    *p++ = '}';
    json.len = p - json.data;

    return ngx_http_gonsters_send_json(r, NGX_HTTP_OK, &json);
}


/* the subscription: keeps the last messages of each channel */

static void
ngx_http_gonsters_test_redis_on_message(ngx_str_t *channel,
    ngx_str_t *message, void *data)
{
    ngx_http_gonsters_test_redis_box_t  *box = data;

    u_char     *copy;
    ngx_str_t  *slot;

    copy = ngx_alloc(message->len ? message->len : 1, ngx_cycle->log);
    if (copy == NULL) {
        return;
    }

    ngx_memcpy(copy, message->data, message->len);

    slot = &box->last[box->count % NGX_HTTP_GONSTERS_TEST_REDIS_KEEP];

    if (slot->data) {
        ngx_free(slot->data);
    }

    slot->data = copy;
    slot->len = message->len;
    box->count++;
}


static void *
ngx_http_gonsters_test_redis_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gonsters_test_redis_main_conf_t  *mcf;

    mcf = ngx_pcalloc(cf->pool,
                      sizeof(ngx_http_gonsters_test_redis_main_conf_t));
    if (mcf == NULL) {
        return NULL;
    }

    mcf->channels = NGX_CONF_UNSET_PTR;

    return mcf;
}


static void *
ngx_http_gonsters_test_redis_create_loc_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_gonsters_test_redis_loc_conf_t));
}


static char *
ngx_http_gonsters_test_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gonsters_test_redis_loc_conf_t  *lcf = conf;

    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_http_complex_value_t          *cv;

    if (lcf->what) {
        return "is duplicate";
    }

    lcf->args = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                 sizeof(ngx_http_complex_value_t));
    if (lcf->args == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        cv = ngx_array_push(lcf->args);
        if (cv == NULL) {
            return NGX_CONF_ERROR;
        }

        if (ngx_http_gonsters_test_compile(cf, &value[i], cv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    return ngx_http_gonsters_test_redis_location(cf, cmd, conf);
}


static char *
ngx_http_gonsters_test_redis_location(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_gonsters_test_redis_loc_conf_t  *lcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (lcf->what && cmd->offset != 0) {
        return "is duplicate";
    }

    lcf->what = cmd->offset ? cmd->offset : NGX_HTTP_GONSTERS_TEST_REDIS_CMD;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_gonsters_test_redis_handler;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gonsters_test_redis_init_process(ngx_cycle_t *cycle)
{
    ngx_str_t                                 *ch;
    ngx_uint_t                                 i;
    ngx_http_gonsters_test_redis_box_t        *box;
    ngx_http_gonsters_test_redis_main_conf_t  *mcf;

    if (cycle->conf_ctx[ngx_http_module.index] == NULL) {
        return NGX_OK;
    }

    mcf = ngx_http_cycle_get_module_main_conf(cycle,
                                        ngx_http_gonsters_test_redis_module);

    if (mcf->channels == NGX_CONF_UNSET_PTR) {
        return NGX_OK;
    }

    ngx_http_gonsters_test_redis_boxes = ngx_array_create(cycle->pool,
                 mcf->channels->nelts, sizeof(ngx_http_gonsters_test_redis_box_t));
    if (ngx_http_gonsters_test_redis_boxes == NULL) {
        return NGX_ERROR;
    }

    ch = mcf->channels->elts;

    /* no reallocation below: the handlers keep pointers to the boxes */

    for (i = 0; i < mcf->channels->nelts; i++) {
        box = ngx_array_push(ngx_http_gonsters_test_redis_boxes);
        ngx_memzero(box, sizeof(ngx_http_gonsters_test_redis_box_t));
        box->channel = ch[i];

        if (ngx_http_gonsters_redis_subscribe(cycle, &ch[i],
                                       ngx_http_gonsters_test_redis_on_message,
                                       box)
            == NGX_ERROR)
        {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static void
ngx_http_gonsters_test_redis_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                           i, j;
    ngx_http_gonsters_test_redis_box_t  *box;

    if (ngx_http_gonsters_test_redis_boxes == NULL) {
        return;
    }

    box = ngx_http_gonsters_test_redis_boxes->elts;

    for (i = 0; i < ngx_http_gonsters_test_redis_boxes->nelts; i++) {
        for (j = 0; j < NGX_HTTP_GONSTERS_TEST_REDIS_KEEP; j++) {
            if (box[i].last[j].data) {
                ngx_free(box[i].last[j].data);
                box[i].last[j].data = NULL;
            }
        }
    }

    ngx_http_gonsters_test_redis_boxes = NULL;
}
