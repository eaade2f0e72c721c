/*
 * Test-only module: a location that writes one event through the event log
 * API with what the query string says, so that t/event_log.t can feed it
 * hostile keys and values (every argument is URI-unescaped: NUL, quotes,
 * control bytes, invalid UTF-8).
 *
 *   gonsters_test_event;   location:
 *       ?level=debug|info|warning|error  (default info)
 *       &logger=L &message=M             strings of the line
 *       &key=K &s=S                      a string field K (default "s")
 *       &i=N                             an integer field "i"
 *       &d=X                             a number field "d" (strtod: nan,
 *                                        inf, 1e400 included)
 *       &open=N                          N nested objects left open
 *       &close=N                         N object ends (more than opened)
 *       &req=1                           the request fields
 *   Answers 200 {"enabled":true|false} (whether the level is written).
 */


#include "ngx_http_gonsters_event.h"
#include "ngx_http_gonsters_module.h"

#include <stdlib.h>


#define NGX_HTTP_GONSTERS_TEST_EVENT_MAX  32


static ngx_int_t ngx_http_gonsters_test_event_handler(ngx_http_request_t *r);
static char *ngx_http_gonsters_test_event(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


static ngx_command_t  ngx_http_gonsters_test_event_commands[] = {

    { ngx_string("gonsters_test_event"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_gonsters_test_event,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gonsters_test_event_module_ctx = {
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
};


ngx_module_t  ngx_http_gonsters_test_event_module = {
    NGX_MODULE_V1,
    &ngx_http_gonsters_test_event_module_ctx, /* module context */
    ngx_http_gonsters_test_event_commands, /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_gonsters_test_event_handler(ngx_http_request_t *r)
{
    char                             *cstr;
    ngx_int_t                         rc, n;
    ngx_str_t                         v, logger, message, key, s, json;
    ngx_uint_t                        level, i, k;
    ngx_http_gonsters_event_field_t   f[NGX_HTTP_GONSTERS_TEST_EVENT_MAX];

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    level = NGX_LOG_INFO;

    if (ngx_http_gonsters_arg(r, "level", &v) == NGX_OK) {
        level = (ngx_strcmp(v.data, "debug") == 0) ? NGX_LOG_DEBUG
                : (ngx_strcmp(v.data, "warning") == 0) ? NGX_LOG_WARN
                : (ngx_strcmp(v.data, "error") == 0) ? NGX_LOG_ERR
                : NGX_LOG_INFO;
    }

    ngx_str_null(&logger);
    ngx_str_null(&message);
    (void) ngx_http_gonsters_arg(r, "logger", &logger);
    (void) ngx_http_gonsters_arg(r, "message", &message);

    k = 0;

    if (ngx_http_gonsters_arg(r, "open", &v) == NGX_OK) {
        n = ngx_atoi(v.data, v.len);

        for (i = 0; n > 0 && i < (ngx_uint_t) n && k < 20; i++) {
            f[k].key = "o";
            f[k++].type = NGX_HTTP_GONSTERS_EV_T_OBJECT;
        }
    }

    if (ngx_http_gonsters_arg(r, "s", &s) == NGX_OK) {
        f[k].key = "s";

        if (ngx_http_gonsters_arg(r, "key", &key) == NGX_OK) {
            /* a key with a NUL ends there: keys are C strings */
            f[k].key = (char *) key.data;
        }

        f[k].type = NGX_HTTP_GONSTERS_EV_T_STR;
        f[k++].v.str = ngx_palloc(r->pool, sizeof(ngx_str_t));

        if (f[k - 1].v.str == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        *f[k - 1].v.str = s;
    }

    if (ngx_http_gonsters_arg(r, "i", &v) == NGX_OK) {
        f[k].key = "i";
        f[k].type = NGX_HTTP_GONSTERS_EV_T_INT;
        f[k++].v.i = strtoll((char *) v.data, NULL, 10);
    }

    if (ngx_http_gonsters_arg(r, "d", &v) == NGX_OK) {
        f[k].key = "d";
        f[k].type = NGX_HTTP_GONSTERS_EV_T_NUM;
        f[k++].v.num = strtod((char *) v.data, NULL);
    }

    if (ngx_http_gonsters_arg(r, "close", &v) == NGX_OK) {
        n = ngx_atoi(v.data, v.len);

        for (i = 0; n > 0 && i < (ngx_uint_t) n && k < 28; i++) {
            f[k].key = NULL;
            f[k++].type = NGX_HTTP_GONSTERS_EV_T_OBJECT_END;
        }
    }

    if (ngx_http_gonsters_arg(r, "req", &v) == NGX_OK) {
        f[k].key = NULL;
        f[k++].type = NGX_HTTP_GONSTERS_EV_T_REQUEST;
    }

    f[k].key = NULL;
    f[k].type = NGX_HTTP_GONSTERS_EV_T_END;

    cstr = (char *) (logger.data ? logger.data : (u_char *) "gonsters.test");

    ngx_http_gonsters_event(r, r->connection->log, level, cstr,
                            message.data ? (char *) message.data : NULL, f);

    ngx_str_set(&json, "{\"enabled\":false}");

    if (ngx_http_gonsters_event_enabled(level)) {
        ngx_str_set(&json, "{\"enabled\":true}");
    }

    return ngx_http_gonsters_send_json(r, NGX_HTTP_OK, &json);
}


static char *
ngx_http_gonsters_test_event(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_gonsters_test_event_handler;

    return NGX_CONF_OK;
}
