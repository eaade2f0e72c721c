
/*
 * Structured event log: JSON lines of the events operators act on
 * (ngx_http_gonsters_event.h describes the format and the API).
 *
 * A line is built in two passes over the same writer (the first only
 * counts, the second writes), so its length never drifts from what is
 * written, then goes to the file with a single write(2): the file is
 * nginx's own ngx_open_file_t, opened O_APPEND by the master and reopened
 * on USR1, so a write costs what a line of nginx's error log costs.
 */


#include "ngx_http_gonsters_event.h"
#include "gn_json.h"

#include <math.h>
#include <stdio.h>


#define NGX_HTTP_GONSTERS_EVENT_STACK  4096
#define NGX_HTTP_GONSTERS_EVENT_DEPTH  8


typedef struct {
    ngx_open_file_t              *file;         /* NULL: off */
    ngx_uint_t                    level;
    ngx_int_t                     request_id;   /* variable index */
} ngx_http_gonsters_event_main_conf_t;


/* counts when p is NULL, writes otherwise */
typedef struct {
    u_char                       *p;
    size_t                        len;
} ngx_http_gonsters_event_writer_t;


static void ngx_http_gonsters_event_line(ngx_http_gonsters_event_writer_t *w,
    ngx_http_request_t *r, ngx_str_t *timestamp, ngx_str_t *id,
    ngx_uint_t level, const char *logger, const char *message,
    ngx_http_gonsters_event_field_t *context);
static void ngx_http_gonsters_event_context(
    ngx_http_gonsters_event_writer_t *w, ngx_http_request_t *r,
    ngx_http_gonsters_event_field_t *f);
static void ngx_http_gonsters_event_request(
    ngx_http_gonsters_event_writer_t *w, ngx_http_request_t *r,
    ngx_uint_t *first);
static void ngx_http_gonsters_event_value(
    ngx_http_gonsters_event_writer_t *w, ngx_http_gonsters_event_field_t *f);
static void ngx_http_gonsters_event_key(ngx_http_gonsters_event_writer_t *w,
    const char *key, ngx_uint_t *first);
static void ngx_http_gonsters_event_raw(ngx_http_gonsters_event_writer_t *w,
    const void *data, size_t len);
static void ngx_http_gonsters_event_string(
    ngx_http_gonsters_event_writer_t *w, const void *data, size_t len);
static void ngx_http_gonsters_event_timestamp(ngx_str_t *timestamp);
static const char *ngx_http_gonsters_event_level_name(ngx_uint_t level);
static void ngx_http_gonsters_event_failed(ngx_log_t *log, ngx_err_t err,
    ssize_t n, size_t len);

static ngx_int_t ngx_http_gonsters_event_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_gonsters_event_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gonsters_event_init_main_conf(ngx_conf_t *cf,
    void *conf);
static char *ngx_http_gonsters_event_log(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


static ngx_str_t  ngx_http_gonsters_event_request_id_name =
    ngx_string("request_id");


static ngx_conf_enum_t  ngx_http_gonsters_event_levels[] = {
    { ngx_string("debug"), NGX_LOG_DEBUG },
    { ngx_string("info"), NGX_LOG_INFO },
    { ngx_string("warning"), NGX_LOG_WARN },
    { ngx_string("error"), NGX_LOG_ERR },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_gonsters_event_commands[] = {

    { ngx_string("gonsters_event_log"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_gonsters_event_log,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gonsters_event_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_gonsters_event_postconfiguration, /* postconfiguration */

    ngx_http_gonsters_event_create_main_conf, /* create main configuration */
    ngx_http_gonsters_event_init_main_conf,   /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_gonsters_event_module = {
    NGX_MODULE_V1,
    &ngx_http_gonsters_event_module_ctx,   /* module context */
    ngx_http_gonsters_event_commands,      /* module directives */
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


static ngx_http_gonsters_event_main_conf_t *
ngx_http_gonsters_event_conf(void)
{
    return ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_gonsters_event_module);
}


ngx_uint_t
ngx_http_gonsters_event_enabled(ngx_uint_t level)
{
    ngx_http_gonsters_event_main_conf_t  *emcf;

    emcf = ngx_http_gonsters_event_conf();

    return emcf != NULL && emcf->file != NULL && level <= emcf->level;
}


void
ngx_http_gonsters_event(ngx_http_request_t *r, ngx_log_t *log,
    ngx_uint_t level, const char *logger, const char *message,
    ngx_http_gonsters_event_field_t *context)
{
    u_char                               stack[NGX_HTTP_GONSTERS_EVENT_STACK];
    u_char                               ts[sizeof("1970-01-01T00:00:00.000Z")];
    u_char                              *buf;
    ssize_t                              n;
    ngx_err_t                            err;
    ngx_str_t                            timestamp, id;
    ngx_http_gonsters_event_writer_t     w;
    ngx_http_gonsters_event_main_conf_t *emcf;

    if (!ngx_http_gonsters_event_enabled(level)) {
        return;
    }

    emcf = ngx_http_gonsters_event_conf();

    /* what both passes write the same */
    timestamp.data = ts;
    ngx_http_gonsters_event_timestamp(&timestamp);

    if (r != NULL) {
        ngx_http_gonsters_request_id(r, &id);

    } else {
        ngx_str_null(&id);
    }

    w.p = NULL;
    w.len = 0;
    ngx_http_gonsters_event_line(&w, r, &timestamp, &id, level, logger,
                                 message, context);

    if (w.len <= sizeof(stack)) {
        buf = stack;

    } else {
        buf = ngx_alloc(w.len, log);
        if (buf == NULL) {
            return;
        }
    }

    w.p = buf;
    w.len = 0;
    ngx_http_gonsters_event_line(&w, r, &timestamp, &id, level, logger,
                                 message, context);

    n = ngx_write_fd(emcf->file->fd, buf, w.len);
    err = (n == -1) ? ngx_errno : 0;

    if (n != (ssize_t) w.len) {
        ngx_http_gonsters_event_failed(log, err, n, w.len);
    }

    if (buf != stack) {
        ngx_free(buf);
    }
}


void
ngx_http_gonsters_request_id(ngx_http_request_t *r, ngx_str_t *id)
{
    ngx_http_variable_value_t            *vv;
    ngx_http_gonsters_event_main_conf_t  *emcf;

    ngx_str_null(id);

    emcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_event_module);

    if (emcf == NULL || emcf->request_id == NGX_ERROR) {
        return;
    }

    /* indexed: computed once per request and cached in r->variables, so
     * every reader (access log, events, audit rows) sees the same id */
    vv = ngx_http_get_indexed_variable(r, emcf->request_id);

    if (vv == NULL || vv->not_found) {
        return;
    }

    id->data = vv->data;
    id->len = vv->len;
}


static void
ngx_http_gonsters_event_line(ngx_http_gonsters_event_writer_t *w,
    ngx_http_request_t *r, ngx_str_t *timestamp, ngx_str_t *id,
    ngx_uint_t level, const char *logger, const char *message,
    ngx_http_gonsters_event_field_t *context)
{
    const char  *name;

    ngx_http_gonsters_event_raw(w, "{\"timestamp\":\"", 14);
    ngx_http_gonsters_event_raw(w, timestamp->data, timestamp->len);

    name = ngx_http_gonsters_event_level_name(level);
    ngx_http_gonsters_event_raw(w, "\",\"level\":\"", 11);
    ngx_http_gonsters_event_raw(w, name, ngx_strlen(name));

    ngx_http_gonsters_event_raw(w, "\",\"logger\":\"", 12);
    ngx_http_gonsters_event_string(w, logger, logger ? strlen(logger) : 0);

    ngx_http_gonsters_event_raw(w, "\",\"message\":\"", 13);
    ngx_http_gonsters_event_string(w, message, message ? strlen(message) : 0);

    ngx_http_gonsters_event_raw(w, "\",\"context\":", 12);
    ngx_http_gonsters_event_context(w, r, context);

    ngx_http_gonsters_event_raw(w, ",\"request_id\":", 14);

    if (id->len) {
        ngx_http_gonsters_event_raw(w, "\"", 1);
        ngx_http_gonsters_event_string(w, id->data, id->len);
        ngx_http_gonsters_event_raw(w, "\"", 1);

    } else {
        ngx_http_gonsters_event_raw(w, "null", 4);
    }

    ngx_http_gonsters_event_raw(w, "}\n", 2);
}


/*
 * The context object.  Nesting is tracked here, not trusted: an object
 * left open is closed at the end, an end without an open object and
 * anything beyond NGX_HTTP_GONSTERS_EVENT_DEPTH levels are skipped.
 */

static void
ngx_http_gonsters_event_context(ngx_http_gonsters_event_writer_t *w,
    ngx_http_request_t *r, ngx_http_gonsters_event_field_t *f)
{
    ngx_uint_t  depth, skipped, first[NGX_HTTP_GONSTERS_EVENT_DEPTH + 1];

    depth = 0;
    skipped = 0;
    first[0] = 1;

    ngx_http_gonsters_event_raw(w, "{", 1);

    for ( /* void */ ; f != NULL && f->type != NGX_HTTP_GONSTERS_EV_T_END;
         f++)
    {
        switch (f->type) {

        case NGX_HTTP_GONSTERS_EV_T_OBJECT:
            if (depth == NGX_HTTP_GONSTERS_EVENT_DEPTH || skipped) {
                skipped++;
                break;
            }

            ngx_http_gonsters_event_key(w, f->key, &first[depth]);
            ngx_http_gonsters_event_raw(w, "{", 1);
            first[++depth] = 1;
            break;

        case NGX_HTTP_GONSTERS_EV_T_OBJECT_END:
            if (skipped) {
                skipped--;

            } else if (depth > 0) {
                ngx_http_gonsters_event_raw(w, "}", 1);
                depth--;
            }

            break;

        case NGX_HTTP_GONSTERS_EV_T_REQUEST:
            if (!skipped && r != NULL) {
                ngx_http_gonsters_event_request(w, r, &first[depth]);
            }

            break;

        default:
            if (skipped) {
                break;
            }

            ngx_http_gonsters_event_key(w, f->key, &first[depth]);
            ngx_http_gonsters_event_value(w, f);
            break;
        }
    }

    while (depth-- > 0) {
        ngx_http_gonsters_event_raw(w, "}", 1);
    }

    ngx_http_gonsters_event_raw(w, "}", 1);
}


static void
ngx_http_gonsters_event_request(ngx_http_gonsters_event_writer_t *w,
    ngx_http_request_t *r, ngx_uint_t *first)
{
    ngx_http_gonsters_event_field_t  f[] = {
        NGX_HTTP_GONSTERS_EV_STR("endpoint", &r->uri),
        NGX_HTTP_GONSTERS_EV_STR("method", &r->method_name),
        NGX_HTTP_GONSTERS_EV_STR("client_ip", &r->connection->addr_text),
        NGX_HTTP_GONSTERS_EV_STR("user_agent",
                                 r->headers_in.user_agent
                                 ? &r->headers_in.user_agent->value : NULL)
    };
    ngx_uint_t  i;

    for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        ngx_http_gonsters_event_key(w, f[i].key, first);
        ngx_http_gonsters_event_value(w, &f[i]);
    }
}


static void
ngx_http_gonsters_event_value(ngx_http_gonsters_event_writer_t *w,
    ngx_http_gonsters_event_field_t *f)
{
    u_char   num[NGX_INT64_LEN + 1], *last;
    char     dbl[64];
    int      n;

    switch (f->type) {

    case NGX_HTTP_GONSTERS_EV_T_STR:
        if (f->v.str == NULL) {
            break;
        }

        ngx_http_gonsters_event_raw(w, "\"", 1);
        ngx_http_gonsters_event_string(w, f->v.str->data, f->v.str->len);
        ngx_http_gonsters_event_raw(w, "\"", 1);
        return;

    case NGX_HTTP_GONSTERS_EV_T_CSTR:
        if (f->v.cstr == NULL) {
            break;
        }

        ngx_http_gonsters_event_raw(w, "\"", 1);
        ngx_http_gonsters_event_string(w, f->v.cstr, strlen(f->v.cstr));
        ngx_http_gonsters_event_raw(w, "\"", 1);
        return;

    case NGX_HTTP_GONSTERS_EV_T_INT:
        last = ngx_sprintf(num, "%L", f->v.i);
        ngx_http_gonsters_event_raw(w, num, last - num);
        return;

    case NGX_HTTP_GONSTERS_EV_T_NUM:
        if (!isfinite(f->v.num)) {
            break;
        }

        /* "C" locale (nginx never calls setlocale): a JSON number */
        n = snprintf(dbl, sizeof(dbl), "%.15g", f->v.num);
        if (n <= 0 || (size_t) n >= sizeof(dbl)) {
            break;
        }

        ngx_http_gonsters_event_raw(w, dbl, n);
        return;

    case NGX_HTTP_GONSTERS_EV_T_BOOL:
        if (f->v.i) {
            ngx_http_gonsters_event_raw(w, "true", 4);

        } else {
            ngx_http_gonsters_event_raw(w, "false", 5);
        }

        return;
    }

    ngx_http_gonsters_event_raw(w, "null", 4);
}


static void
ngx_http_gonsters_event_key(ngx_http_gonsters_event_writer_t *w,
    const char *key, ngx_uint_t *first)
{
    if (!*first) {
        ngx_http_gonsters_event_raw(w, ",", 1);
    }

    *first = 0;

    ngx_http_gonsters_event_raw(w, "\"", 1);
    ngx_http_gonsters_event_string(w, key, key ? strlen(key) : 0);
    ngx_http_gonsters_event_raw(w, "\":", 2);
}


static void
ngx_http_gonsters_event_raw(ngx_http_gonsters_event_writer_t *w,
    const void *data, size_t len)
{
    if (w->p != NULL) {
        w->p = ngx_cpymem(w->p, data, len);
    }

    w->len += len;
}


static void
ngx_http_gonsters_event_string(ngx_http_gonsters_event_writer_t *w,
    const void *data, size_t len)
{
    u_char  *start;

    if (w->p == NULL) {
        w->len += gn_json_escape_len(data, len);
        return;
    }

    start = w->p;
    w->p = (u_char *) gn_json_escape((char *) w->p, data, len);
    w->len += w->p - start;
}


/* ISO 8601, UTC, milliseconds: 2026-11-27T02:10:05.123Z, into
 * timestamp->data (sizeof("1970-01-01T00:00:00.000Z") bytes) */
static void
ngx_http_gonsters_event_timestamp(ngx_str_t *timestamp)
{
    u_char          *last;
    ngx_tm_t         tm;
    struct timeval   tv;

    /* the clock itself, not nginx's cached time: events of one loop
     * iteration keep their order and spacing */
    ngx_gettimeofday(&tv);
    ngx_gmtime(tv.tv_sec, &tm);

    last = ngx_sprintf(timestamp->data, "%4d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                       tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                       tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec,
                       (int) (tv.tv_usec / 1000));

    timestamp->len = last - timestamp->data;
}


static const char *
ngx_http_gonsters_event_level_name(ngx_uint_t level)
{
    if (level <= NGX_LOG_ERR) {
        return "ERROR";
    }

    if (level == NGX_LOG_WARN) {
        return "WARNING";
    }

    if (level < NGX_LOG_DEBUG) {
        return "INFO";
    }

    return "DEBUG";
}


/* a failing event log must not flood the error log: once a second */
static void
ngx_http_gonsters_event_failed(ngx_log_t *log, ngx_err_t err, ssize_t n,
    size_t len)
{
    static time_t  last;

    if (log == NULL || last == ngx_time()) {
        return;
    }

    last = ngx_time();

    if (n == -1) {
        ngx_log_error(NGX_LOG_ERR, log, err,
                      "gonsters: writing the event log failed");
        return;
    }

    ngx_log_error(NGX_LOG_ERR, log, 0,
                  "gonsters: the event log took %z of %uz bytes", n, len);
}


static ngx_int_t
ngx_http_gonsters_event_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_gonsters_event_main_conf_t  *emcf;

    emcf = ngx_http_conf_get_module_main_conf(cf,
                                              ngx_http_gonsters_event_module);

    /* always, log or not: audit rows take the request id from here too */
    emcf->request_id = ngx_http_get_variable_index(cf,
                                     &ngx_http_gonsters_event_request_id_name);

    return (emcf->request_id == NGX_ERROR) ? NGX_ERROR : NGX_OK;
}


static void *
ngx_http_gonsters_event_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gonsters_event_main_conf_t  *emcf;

    emcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gonsters_event_main_conf_t));
    if (emcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     emcf->file = NULL;
     */

    emcf->level = NGX_CONF_UNSET_UINT;
    emcf->request_id = NGX_ERROR;

    return emcf;
}


static char *
ngx_http_gonsters_event_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gonsters_event_main_conf_t  *emcf = conf;

    ngx_conf_init_uint_value(emcf->level, NGX_LOG_INFO);

    return NGX_CONF_OK;
}


static char *
ngx_http_gonsters_event_log(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gonsters_event_main_conf_t  *emcf = conf;

    ngx_str_t        *value;
    ngx_conf_enum_t  *e;

    if (emcf->level != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (cf->args->nelts != 2) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" after \"off\"",
                               &value[2]);
            return NGX_CONF_ERROR;
        }

        emcf->level = NGX_LOG_INFO;
        return NGX_CONF_OK;
    }

    emcf->level = NGX_LOG_INFO;

    if (cf->args->nelts == 3) {
        for (e = ngx_http_gonsters_event_levels; e->name.len; e++) {
            if (e->name.len == value[2].len
                && ngx_strcmp(e->name.data, value[2].data) == 0)
            {
                break;
            }
        }

        if (e->name.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid level \"%V\" in \"%V\" directive, "
                               "it must be one of: debug, info, warning, "
                               "error", &value[2], &cmd->name);
            return NGX_CONF_ERROR;
        }

        emcf->level = e->value;
    }

    emcf->file = ngx_conf_open_file(cf->cycle, &value[1]);
    if (emcf->file == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}
