/*
 * ngx_http_gonsters_history_module: GET /api/v1/data/machine/{id} (see
 * ngx_http_gonsters_history.h).  No directives of its own: the tiers'
 * settle time is gonsters_tier_settle (ngx_http_gonsters_ingest.h), shared
 * with the writers.
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_history.h"
#include "ngx_http_gonsters_ingest.h"


static ngx_int_t ngx_http_gonsters_history_machine(ngx_http_request_t *r,
    ngx_int_t rc, ngx_http_gonsters_backend_status_e status,
    ngx_http_gonsters_machine_t *machines, void *data);


static ngx_http_module_t  ngx_http_gonsters_history_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_gonsters_history_module = {
    NGX_MODULE_V1,
    &ngx_http_gonsters_history_module_ctx, /* module context */
    NULL,                                  /* module directives */
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


/* the last path segment, unescaped */
static ngx_int_t
ngx_http_gonsters_history_id(ngx_http_request_t *r, ngx_str_t *id)
{
    u_char  *p, *last, *dst;

    last = r->uri.data + r->uri.len;

    while (last > r->uri.data && last[-1] == '/') {
        last--;
    }

    for (p = last; p > r->uri.data && p[-1] != '/'; p--) { /* void */ }

    id->data = ngx_pnalloc(r->pool, last - p + 1);
    if (id->data == NULL) {
        return NGX_ERROR;
    }

    dst = id->data;
    ngx_unescape_uri(&dst, &p, last - p, NGX_UNESCAPE_URI);
    id->len = dst - id->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_gonsters_history_handler(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    ngx_str_t                         id, *ids;
    ngx_http_gonsters_history_ctx_t  *ctx;

    if (r->method != NGX_HTTP_GET && r->method != NGX_HTTP_HEAD) {
        return ngx_http_gonsters_send_not_allowed(r, "GET, HEAD");
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_history_ctx_t));
    ids = ngx_palloc(r->pool, sizeof(ngx_str_t));
    if (ctx == NULL || ids == NULL
        || ngx_http_gonsters_history_id(r, &id) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_gonsters_history_module);

    if (ngx_http_gonsters_history_params(r, ctx) != NGX_OK) {
        return ngx_http_gonsters_history_bad_params(r, ctx);
    }

    if (!gn_uuid_is_valid((char *) id.data, id.len)) {
        return ngx_http_gonsters_machine_not_found(r, &id);
    }

    gn_uuid_lower((char *) ctx->id, (char *) id.data);
    ctx->id[GN_UUID_LEN] = '\0';

    ids->data = ctx->id;
    ids->len = GN_UUID_LEN;

    if (ngx_http_gonsters_machines_resolve(r, ids, 1,
                                           ngx_http_gonsters_history_machine,
                                           ctx)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->pending = 1;

    /*
     * The first InfluxDB query needs only the id: it runs while the
     * registry answers (an unknown machine costs one query for nothing,
     * every known one a round trip less).
     */
    if (ngx_http_gonsters_history_query(r, ctx) == NGX_DONE) {
        ctx->pending++;

    } else {
        ctx->first_failed = 1;
    }

    return NGX_DONE;
}


/* the registry lookup or the first query is done: the last one goes on */
ngx_int_t
ngx_http_gonsters_history_join(ngx_http_request_t *r,
    ngx_http_gonsters_history_ctx_t *ctx)
{
    ngx_str_t  id;

    if (--ctx->pending) {
        return NGX_DONE;
    }

    if (ctx->machine_rc != NGX_OK) {
        return ngx_http_gonsters_send_unavailable(r,
                                                  NGX_HTTP_GONSTERS_POSTGRES,
                                                  ctx->machine_status);
    }

    if (ctx->machine.id.len == 0) {
        id.data = ctx->id;
        id.len = GN_UUID_LEN;
        return ngx_http_gonsters_machine_not_found(r, &id);
    }

    if (ctx->first_failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_history_first_answer(r, ctx);
}


static ngx_int_t
ngx_http_gonsters_history_machine(ngx_http_request_t *r, ngx_int_t rc,
    ngx_http_gonsters_backend_status_e status,
    ngx_http_gonsters_machine_t *machines, void *data)
{
    ngx_http_gonsters_history_ctx_t  *ctx = data;

    ctx->machine_rc = rc;
    ctx->machine_status = status;

    if (rc == NGX_OK) {
        ctx->machine = machines[0];
    }

    return ngx_http_gonsters_history_join(r, ctx);
}
