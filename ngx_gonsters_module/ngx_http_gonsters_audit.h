
/*
 * Audit rows (audit_logs, seed Part 2 B step 6), shared by the users and
 * the configuration endpoints: who (user id, username, role), what (action,
 * changes as JSON), and from where, taken from the request: resource (the
 * URI), method, client address, User-Agent and nginx's $request_id (the id
 * the access log and the event log carry too).
 */


#ifndef _NGX_HTTP_GONSTERS_AUDIT_H_INCLUDED_
#define _NGX_HTTP_GONSTERS_AUDIT_H_INCLUDED_


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_pg.h"


/* the request's side of a row, as text for PostgreSQL (NUL-free UTF-8) */
typedef struct {
    const char                   *resource;
    const char                   *method;
    const char                   *ip;
    const char                   *user_agent;   /* NULL: no header */
    const char                   *request_id;   /* NULL: none */
} ngx_http_gonsters_audit_client_t;


typedef struct {
    const char                   *user_id;      /* uuid text, or NULL */
    /* NULL: the user's own, looked up by user_id */
    const char                   *username;
    const char                   *role;
    const char                   *action;
    ngx_uint_t                    status;       /* the answer's status */
    const char                   *changes;      /* JSON text, or NULL */
} ngx_http_gonsters_audit_t;


/* the parameters of the client's side, in this order, for statements that
 * write their audit row themselves (in a CTE with their change) */
#define NGX_HTTP_GONSTERS_AUDIT_CLIENT_N  5

ngx_int_t ngx_http_gonsters_audit_client(ngx_http_request_t *r,
    ngx_http_gonsters_audit_client_t *client);

/* s as text for PostgreSQL: a copy in r->pool, NUL-terminated, with NUL
 * bytes (and every byte >= 0x80 of invalid UTF-8) replaced by '?'; NULL
 * when s is NULL or memory runs out */
char *ngx_http_gonsters_audit_text(ngx_http_request_t *r, ngx_str_t *s);

/* the INSERT of one row into *stmt, values in r->pool */
ngx_int_t ngx_http_gonsters_audit_stmt(ngx_http_request_t *r,
    ngx_http_gonsters_audit_t *audit, ngx_http_gonsters_pg_stmt_t *stmt);


#endif /* _NGX_HTTP_GONSTERS_AUDIT_H_INCLUDED_ */
