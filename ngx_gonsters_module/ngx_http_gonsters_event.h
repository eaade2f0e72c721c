
/*
 * Structured event log (ngx_http_gonsters_event_module, seed Part 3 §1):
 * one JSON object per line,
 *
 *   {"timestamp":"2026-11-27T02:10:05.123Z","level":"WARNING",
 *    "logger":"gonsters.redis","message":"...","context":{...},
 *    "request_id":"<nginx's $request_id>"|null}
 *
 * Directive (http):
 *   gonsters_event_log off | FILE [debug|info|warning|error];
 *       default off; the level defaults to info.  FILE is opened by nginx
 *       like an access log (O_APPEND, created by the master, reopened on
 *       USR1); each event is one write(2) of one whole line, as nginx's
 *       error log does, so lines of several workers never interleave.
 *
 * Usage: the context is an array of typed fields ended by
 * NGX_HTTP_GONSTERS_EV_END; every string (keys included) is escaped with
 * gn_json_escape and numbers are printed by the module, so no caller can
 * produce an invalid line.  Objects nest with EV_OBJECT/EV_OBJECT_END
 * (an unclosed object is closed, a stray end ignored).
 *
 *     if (ngx_http_gonsters_event_enabled(NGX_LOG_WARN)) {
 *         ngx_http_gonsters_event_field_t  ctx[] = {
 *             NGX_HTTP_GONSTERS_EV_CSTR("service", "redis"),
 *             NGX_HTTP_GONSTERS_EV_STR("error", &err),
 *             NGX_HTTP_GONSTERS_EV_INT("retry_attempt", attempt),
 *             NGX_HTTP_GONSTERS_EV_NUM("retry_delay_seconds", 0.2),
 *             NGX_HTTP_GONSTERS_EV_OBJECT("validation"),
 *                 NGX_HTTP_GONSTERS_EV_BOOL("ok", 1),
 *             NGX_HTTP_GONSTERS_EV_OBJECT_END,
 *             NGX_HTTP_GONSTERS_EV_REQUEST,  (endpoint, method, client_ip,
 *                                             user_agent of r)
 *             NGX_HTTP_GONSTERS_EV_END
 *         };
 *
 *         ngx_http_gonsters_event(r, log, NGX_LOG_WARN, "gonsters.redis",
 *                                 "Redis connection lost", ctx);
 *     }
 *
 * r may be NULL (no request: "request_id" is null); log receives the
 * failures of the event log itself (at most one a second).  Levels are
 * nginx's: NGX_LOG_ERR (and more severe) is "ERROR", NGX_LOG_WARN
 * "WARNING", NGX_LOG_NOTICE and NGX_LOG_INFO "INFO", NGX_LOG_DEBUG "DEBUG".
 */


#ifndef _NGX_HTTP_GONSTERS_EVENT_H_INCLUDED_
#define _NGX_HTTP_GONSTERS_EVENT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef enum {
    NGX_HTTP_GONSTERS_EV_T_END = 0,
    NGX_HTTP_GONSTERS_EV_T_STR,         /* ngx_str_t *, NULL: null */
    NGX_HTTP_GONSTERS_EV_T_CSTR,        /* const char *, NULL: null */
    NGX_HTTP_GONSTERS_EV_T_INT,         /* int64_t */
    NGX_HTTP_GONSTERS_EV_T_NUM,         /* double; NaN and infinities: null */
    NGX_HTTP_GONSTERS_EV_T_BOOL,
    NGX_HTTP_GONSTERS_EV_T_NULL,
    NGX_HTTP_GONSTERS_EV_T_OBJECT,      /* opens a nested object */
    NGX_HTTP_GONSTERS_EV_T_OBJECT_END,
    NGX_HTTP_GONSTERS_EV_T_REQUEST      /* endpoint, method, client_ip,
                                           user_agent of the request */
} ngx_http_gonsters_event_type_e;


typedef struct {
    const char                   *key;
    ngx_uint_t                    type;
    union {
        ngx_str_t                *str;
        const char               *cstr;
        int64_t                   i;
        double                    num;
    } v;
} ngx_http_gonsters_event_field_t;


#define NGX_HTTP_GONSTERS_EV_STR(k, s)                                        \
    { k, NGX_HTTP_GONSTERS_EV_T_STR, { .str = (s) } }
#define NGX_HTTP_GONSTERS_EV_CSTR(k, s)                                       \
    { k, NGX_HTTP_GONSTERS_EV_T_CSTR, { .cstr = (s) } }
#define NGX_HTTP_GONSTERS_EV_INT(k, n)                                        \
    { k, NGX_HTTP_GONSTERS_EV_T_INT, { .i = (int64_t) (n) } }
#define NGX_HTTP_GONSTERS_EV_NUM(k, d)                                        \
    { k, NGX_HTTP_GONSTERS_EV_T_NUM, { .num = (double) (d) } }
#define NGX_HTTP_GONSTERS_EV_BOOL(k, b)                                       \
    { k, NGX_HTTP_GONSTERS_EV_T_BOOL, { .i = (b) ? 1 : 0 } }
#define NGX_HTTP_GONSTERS_EV_NULL(k)                                          \
    { k, NGX_HTTP_GONSTERS_EV_T_NULL, { .i = 0 } }
#define NGX_HTTP_GONSTERS_EV_OBJECT(k)                                        \
    { k, NGX_HTTP_GONSTERS_EV_T_OBJECT, { .i = 0 } }
#define NGX_HTTP_GONSTERS_EV_OBJECT_END                                       \
    { NULL, NGX_HTTP_GONSTERS_EV_T_OBJECT_END, { .i = 0 } }
#define NGX_HTTP_GONSTERS_EV_REQUEST                                          \
    { NULL, NGX_HTTP_GONSTERS_EV_T_REQUEST, { .i = 0 } }
#define NGX_HTTP_GONSTERS_EV_END                                              \
    { NULL, NGX_HTTP_GONSTERS_EV_T_END, { .i = 0 } }


/* 1 when an event of this level would be written: lets callers skip
 * building a context nobody reads */
ngx_uint_t ngx_http_gonsters_event_enabled(ngx_uint_t level);

void ngx_http_gonsters_event(ngx_http_request_t *r, ngx_log_t *log,
    ngx_uint_t level, const char *logger, const char *message,
    ngx_http_gonsters_event_field_t *context);

/* nginx's $request_id of r (the same value the access log and the audit
 * rows get), or an empty string */
void ngx_http_gonsters_request_id(ngx_http_request_t *r, ngx_str_t *id);


extern ngx_module_t  ngx_http_gonsters_event_module;


#endif /* _NGX_HTTP_GONSTERS_EVENT_H_INCLUDED_ */
