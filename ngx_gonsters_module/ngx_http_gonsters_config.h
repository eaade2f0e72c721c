
/*
 * System configuration (seed Part 2 B): GET /api/v1/config,
 * POST /api/v1/config/update, POST /api/v1/config/reset.
 *
 *   ngx_http_gonsters_config.c         GET, reset, and what update and reset
 *                                      share: the statement's call, retries,
 *                                      answers, the ERROR event
 *   ngx_http_gonsters_config_update.c  the update body and statement
 *
 * The type rules of settings live in PostgreSQL (sql/008: a trigger checks
 * every write, from the API or psql); the API checks the JSON shape of a
 * body and answers the trigger's message (SQLSTATE GNCFG) as the error of
 * setting_value.  A change, its audit row and the NOTIFY of the change
 * (trigger) are one statement in one transaction; the old value is read
 * with SELECT ... FOR UPDATE in it.  The statement does nothing when an
 * audit row of the same request id and action exists, so a call that lost
 * its connection (outcome unknown) is repeated without applying twice.
 */


#ifndef _NGX_HTTP_GONSTERS_CONFIG_H_INCLUDED_
#define _NGX_HTTP_GONSTERS_CONFIG_H_INCLUDED_


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_pg.h"
#include "ngx_http_gonsters_auth.h"


/* attempts of a change whose connection failed (UNAVAILABLE) or that the
 * server rolled back (serialization failure, deadlock) */
#define NGX_HTTP_GONSTERS_CONFIG_ATTEMPTS     3
#define NGX_HTTP_GONSTERS_CONFIG_RETRY_DELAY  100   /* ms, doubled */


/* parameters of both statements: the user, then the request's side of the
 * audit row (ngx_http_gonsters_audit_client_t, in its order) */
enum {
    GN_CONFIG_SETTING = 0,      /* NULL: every setting (reset) */
    GN_CONFIG_VALUE,            /* update only */
    GN_CONFIG_USERNAME,
    GN_CONFIG_USER_ID,
    GN_CONFIG_ROLE,
    GN_CONFIG_RESOURCE,
    GN_CONFIG_METHOD,
    GN_CONFIG_IP,
    GN_CONFIG_USER_AGENT,
    GN_CONFIG_REQUEST_ID,
    GN_CONFIG_N
};


typedef struct {
    ngx_http_request_t           *request;
    ngx_http_gonsters_pg_stmt_t   stmt;
    const char                   *values[GN_CONFIG_N];
    const char                   *operation;    /* for the events */
    const char                   *message;      /* of the 200 answer */
    const char                   *member;       /* updated_setting(s) */
    ngx_uint_t                    attempt;
    ngx_msec_t                    start;
    ngx_event_t                   retry;
    ngx_str_t                     error;        /* of the last attempt */
    char                          sqlstate[6];
} ngx_http_gonsters_config_ctx_t;


/* ngx_http_gonsters_config.c */
ngx_http_gonsters_config_ctx_t *ngx_http_gonsters_config_ctx(
    ngx_http_request_t *r);
ngx_int_t ngx_http_gonsters_config_run(ngx_http_request_t *r,
    ngx_http_gonsters_config_ctx_t *ctx);

/* ngx_http_gonsters_config_update.c */
ngx_int_t ngx_http_gonsters_config_update_body(ngx_http_request_t *r,
    void *data);


/* the endpoints */
ngx_int_t ngx_http_gonsters_config_get_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_gonsters_config_update_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_gonsters_config_reset_handler(ngx_http_request_t *r);


#endif /* _NGX_HTTP_GONSTERS_CONFIG_H_INCLUDED_ */
