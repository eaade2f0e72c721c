
/*
 * Audit rows: the request's side of a row and the INSERT of one row
 * (ngx_http_gonsters_audit.h).
 */


#include "ngx_http_gonsters_audit.h"
#include "ngx_http_gonsters_event.h"
#include "gn_utf8.h"


static const char  gn_sql_audit[] =
    "INSERT INTO audit_logs (user_id, username, role, action, resource, "
    "method, status_code, ip_address, user_agent, request_id, changes) "
    "VALUES ($1::uuid, COALESCE(left($2, 50), "
    "(SELECT username FROM users WHERE id = $1::uuid)), "
    "COALESCE($3, (SELECT role FROM users WHERE id = $1::uuid)), $4, "
    "left($5, 255), left($6, 10), $7::int, "
    "left($8, 45), $9, left($10, 64), $11::jsonb)";


char *
ngx_http_gonsters_audit_text(ngx_http_request_t *r, ngx_str_t *s)
{
    u_char  *p;
    size_t   i;

    if (s == NULL || s->data == NULL) {
        return NULL;
    }

    p = ngx_pnalloc(r->pool, s->len + 1);
    if (p == NULL) {
        return NULL;
    }

    ngx_memcpy(p, s->data, s->len);
    p[s->len] = '\0';

    /* text for PostgreSQL: no NUL, valid UTF-8 (header bytes are not) */
    if (!gn_utf8_valid((char *) p, s->len)) {
        for (i = 0; i < s->len; i++) {
            if (p[i] >= 0x80) {
                p[i] = '?';
            }
        }
    }

    for (i = 0; i < s->len; i++) {
        if (p[i] == '\0') {
            p[i] = '?';
        }
    }

    return (char *) p;
}


ngx_int_t
ngx_http_gonsters_audit_client(ngx_http_request_t *r,
    ngx_http_gonsters_audit_client_t *client)
{
    ngx_str_t  id;

    client->resource = ngx_http_gonsters_audit_text(r, &r->uri);
    client->method = ngx_http_gonsters_audit_text(r, &r->method_name);
    client->ip = ngx_http_gonsters_audit_text(r, &r->connection->addr_text);
    client->user_agent = r->headers_in.user_agent
        ? ngx_http_gonsters_audit_text(r, &r->headers_in.user_agent->value)
        : NULL;

    ngx_http_gonsters_request_id(r, &id);
    client->request_id = id.len ? ngx_http_gonsters_audit_text(r, &id) : NULL;

    if (client->resource == NULL || client->method == NULL
        || client->ip == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_gonsters_audit_stmt(ngx_http_request_t *r,
    ngx_http_gonsters_audit_t *audit, ngx_http_gonsters_pg_stmt_t *stmt)
{
    u_char                            *status;
    const char                       **values;
    ngx_http_gonsters_audit_client_t   client;

    values = ngx_pcalloc(r->pool, 11 * sizeof(char *));
    status = ngx_pnalloc(r->pool, NGX_INT_T_LEN + 1);

    if (values == NULL || status == NULL
        || ngx_http_gonsters_audit_client(r, &client) != NGX_OK)
    {
        return NGX_ERROR;
    }

    *ngx_sprintf(status, "%ui", audit->status) = '\0';

    values[0] = audit->user_id;
    values[1] = audit->username;
    values[2] = audit->role;
    values[3] = audit->action;
    values[4] = client.resource;
    values[5] = client.method;
    values[6] = (char *) status;
    values[7] = client.ip;
    values[8] = client.user_agent;
    values[9] = client.request_id;
    values[10] = audit->changes;

    stmt->name = "gn_audit";
    stmt->sql = gn_sql_audit;
    stmt->nparams = 11;
    stmt->values = values;

    return NGX_OK;
}
