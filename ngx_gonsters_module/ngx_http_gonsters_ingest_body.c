/*
 * Ingest bodies: the content type (415), the size (413, announced or
 * counted), reading the body wherever nginx put it (memory buffers, or the
 * temporary file of a body larger than client_body_buffer_size: read back
 * with pread from the file nginx has just written, i.e. from the page
 * cache), then one pass of parsing and validation by common/gn_telemetry,
 * which reports every error.
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_ingest.h"
#include "ngx_http_gonsters_event.h"


static void ngx_http_gonsters_ingest_body_done(ngx_http_request_t *r);
static ngx_int_t ngx_http_gonsters_ingest_collect(ngx_http_request_t *r,
    ngx_str_t *body);
static ngx_int_t ngx_http_gonsters_ingest_parse(ngx_http_request_t *r,
    ngx_http_gonsters_ingest_ctx_t *ctx, ngx_str_t *body);
static void ngx_http_gonsters_ingest_check_age(ngx_http_request_t *r,
    ngx_http_gonsters_ingest_ctx_t *ctx);
static ngx_int_t ngx_http_gonsters_ingest_too_large(ngx_http_request_t *r);
static void ngx_http_gonsters_ingest_event(ngx_http_request_t *r,
    ngx_http_gonsters_ingest_ctx_t *ctx, gn_ingest_status_e status,
    size_t len);


static ngx_int_t
ngx_http_gonsters_ingest_json_type(ngx_http_request_t *r)
{
    u_char     *p, *last;
    ngx_str_t  *type;

    static const char  json[] = "application/json";

    if (r->headers_in.content_type == NULL) {
        return NGX_DECLINED;
    }

    type = &r->headers_in.content_type->value;

    if (type->len < sizeof(json) - 1
        || ngx_strncasecmp(type->data, (u_char *) json, sizeof(json) - 1)
           != 0)
    {
        return NGX_DECLINED;
    }

    /* "application/json" alone, or followed by parameters */
    p = type->data + sizeof(json) - 1;
    last = type->data + type->len;

    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }

    return (p == last || *p == ';') ? NGX_OK : NGX_DECLINED;
}


ngx_int_t
ngx_http_gonsters_ingest_read(ngx_http_request_t *r)
{
    ngx_int_t                             rc;
    ngx_http_core_loc_conf_t             *clcf;
    ngx_http_gonsters_ingest_ctx_t       *ctx;
    ngx_http_gonsters_ingest_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_gonsters_ingest_module);
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (ngx_http_gonsters_ingest_json_type(r) != NGX_OK) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_gonsters_ingest_error(r,
                   NGX_HTTP_UNSUPPORTED_MEDIA_TYPE, "Unsupported media type",
                   "Content-Type must be application/json");
    }

    /* announced too large: answered before reading anything */
    if (r->headers_in.content_length_n > (off_t) ilcf->max_body
        || (clcf->client_max_body_size
            && r->headers_in.content_length_n > clcf->client_max_body_size))
    {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_gonsters_ingest_too_large(r);
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gonsters_ingest_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_gonsters_ingest_module);

    rc = ngx_http_read_client_request_body(r,
                                           ngx_http_gonsters_ingest_body_done);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_gonsters_ingest_body_done(ngx_http_request_t *r)
{
    ngx_int_t                        rc;
    ngx_str_t                        body = ngx_null_string;
    ngx_http_gonsters_ingest_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_gonsters_ingest_module);

    rc = ngx_http_gonsters_ingest_collect(r, &body);

    /* NGX_OK is also what sending an error answer returns */
    if (rc == NGX_OK && body.data) {
        rc = ngx_http_gonsters_ingest_parse(r, ctx, &body);
    }

    /* NGX_DONE (a backend call holds the request) drops the body's
     * reference, as do the final answers */
    ngx_http_finalize_request(r, rc);
}


/* the whole body in one buffer, or an answer */
static ngx_int_t
ngx_http_gonsters_ingest_collect(ngx_http_request_t *r, ngx_str_t *body)
{
    off_t                                 len;
    u_char                               *p;
    ssize_t                               n;
    ngx_buf_t                            *b;
    ngx_chain_t                          *cl;
    ngx_http_gonsters_ingest_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_gonsters_ingest_module);

    if (r->request_body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = 0;
    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        len += ngx_buf_size(cl->buf);
    }

    /* a chunked body announces nothing: counted here */
    if (len > (off_t) ilcf->max_body) {
        body->data = NULL;
        return ngx_http_gonsters_ingest_too_large(r);
    }

    body->data = ngx_pnalloc(r->pool, (size_t) len + 1);
    if (body->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = body->data;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            p = ngx_cpymem(p, b->pos, b->last - b->pos);
            continue;
        }

        n = ngx_read_file(b->file, p, (size_t) (b->file_last - b->file_pos),
                          b->file_pos);

        if (n != b->file_last - b->file_pos) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "gonsters: ingest body: short read of \"%V\"",
                          &b->file->name);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p += n;
    }

    *p = '\0';
    body->len = p - body->data;

    return NGX_OK;
}


static void *
ngx_http_gonsters_ingest_alloc(void *pool, size_t size)
{
    return ngx_palloc(pool, size);
}


static double
ngx_http_gonsters_ingest_clock_ms(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}


static ngx_int_t
ngx_http_gonsters_ingest_parse(ngx_http_request_t *r,
    ngx_http_gonsters_ingest_ctx_t *ctx, ngx_str_t *body)
{
    double                                t0;
    ngx_uint_t                            i;
    gn_ingest_limits_t                    limits;
    gn_ingest_status_e                    status;
    ngx_http_gonsters_ingest_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_gonsters_ingest_module);

    ctx->errs.cap = ilcf->max_errors;
    ctx->errs.items = ngx_palloc(r->pool, ilcf->max_errors * sizeof(gn_error_t));
    if (ctx->errs.items == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    limits.max_machines = ilcf->max_machines;
    limits.max_readings = ilcf->max_readings;
    limits.max_depth = ilcf->max_depth;

    t0 = ngx_http_gonsters_ingest_clock_ms();

    /* no tree: the readings are filled in place, the errors point into
     * the body (in r->pool, as long as the request) */
    status = gn_ingest_parse((char *) body->data, body->len, &limits,
                             ngx_http_gonsters_ingest_alloc, r->pool,
                             &ctx->in, &ctx->errs);

    ctx->now_ns = ngx_http_gonsters_now_ns();

    if (status == GN_INGEST_OK || status == GN_INGEST_PARTIAL) {
        ngx_http_gonsters_ingest_check_age(r, ctx);
    }

    ctx->validation_ms = ngx_http_gonsters_ingest_clock_ms() - t0;

    ngx_http_gonsters_ingest_event(r, ctx, status, body->len);

    switch (status) {

    case GN_INGEST_NOMEM:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;

    case GN_INGEST_MALFORMED:
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gonsters: ingest body is not JSON (byte %uz)",
                      ctx->in.json_offset);
        return ngx_http_gonsters_ingest_invalid(r, ctx, "Malformed JSON");

    case GN_INGEST_INVALID:
        return ngx_http_gonsters_ingest_invalid(r, ctx, "Validation failed");

    default:
        break;
    }

    ctx->state = ngx_pcalloc(r->pool, ctx->in.nmachines);
    if (ctx->state == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (i = 0; i < ctx->in.nmachines; i++) {
        if (ctx->in.machines[i].valid) {
            ctx->state[i] = NGX_HTTP_GONSTERS_INGEST_PENDING;
        }
    }

    if (ctx->in.nvalid == 0) {
        return ngx_http_gonsters_ingest_invalid(r, ctx, "Validation failed");
    }

    return ngx_http_gonsters_ingest_resolve(r, ctx);
}


/*
 * InfluxDB drops points older than the raw tier's retention (a 400
 * "partial write" after the others were written): refused here instead,
 * with the reading's path.
 */
static void
ngx_http_gonsters_ingest_check_age(ngx_http_request_t *r,
    ngx_http_gonsters_ingest_ctx_t *ctx)
{
    char                                  path[64];
    int64_t                               oldest;
    ngx_uint_t                            i, j;
    gn_ingest_machine_t                  *m;
    ngx_http_gonsters_ingest_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_gonsters_ingest_module);

    if (ilcf->max_age == 0) {
        return;
    }

    oldest = ctx->now_ns - (int64_t) ilcf->max_age * GN_NS_PER_SEC;

    for (i = 0; i < ctx->in.nmachines; i++) {
        m = &ctx->in.machines[i];

        if (!m->valid) {
            continue;
        }

        for (j = 0; j < m->nreadings; j++) {
            if (m->readings[j].ts_ns < oldest) {
                ngx_snprintf((u_char *) path, sizeof(path),
                             "batch[%ui].readings[%ui]%Z", i, j);
                gn_errors_add(&ctx->errs, path, "timestamp",
                              &m->timestamps[j],
                              "Older than the raw data retention "
                              "(%lld days)",
                              (long long) (ilcf->max_age / 86400));
                m->valid = 0;
            }
        }

        if (!m->valid) {
            ctx->in.nvalid--;
            ctx->in.nreadings -= m->nreadings;
        }
    }
}


static ngx_int_t
ngx_http_gonsters_ingest_too_large(ngx_http_request_t *r)
{
    u_char                                buf[128], *p;
    ngx_http_gonsters_ingest_loc_conf_t  *ilcf;

    ilcf = ngx_http_get_module_loc_conf(r, ngx_http_gonsters_ingest_module);

    p = ngx_snprintf(buf, sizeof(buf) - 1,
                     "Larger than %uz bytes (gonsters_ingest_max_body_size)",
                     ilcf->max_body);
    *p = '\0';

    return ngx_http_gonsters_ingest_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                          "Request body too large",
                                          (char *) buf);
}


/* seed Part 3 §1: DEBUG "payload validation success" with the time taken;
 * a body with errors is an INFO event with their number */
static void
ngx_http_gonsters_ingest_event(ngx_http_request_t *r,
    ngx_http_gonsters_ingest_ctx_t *ctx, gn_ingest_status_e status,
    size_t len)
{
    ngx_uint_t  ok = (status == GN_INGEST_OK && ctx->errs.n == 0);
    ngx_uint_t  level = ok ? NGX_LOG_DEBUG : NGX_LOG_INFO;

    ngx_http_gonsters_event_field_t  fields[] = {
        NGX_HTTP_GONSTERS_EV_CSTR("gateway_id", ctx->in.gateway_id),
        NGX_HTTP_GONSTERS_EV_INT("body_bytes", len),
        NGX_HTTP_GONSTERS_EV_INT("machines", ctx->in.nmachines),
        NGX_HTTP_GONSTERS_EV_INT("readings", ctx->in.nreadings),
        NGX_HTTP_GONSTERS_EV_INT("errors", ctx->errs.n + ctx->errs.dropped),
        NGX_HTTP_GONSTERS_EV_NUM("validation_ms", ctx->validation_ms),
        NGX_HTTP_GONSTERS_EV_REQUEST,
        NGX_HTTP_GONSTERS_EV_END
    };

    if (!ngx_http_gonsters_event_enabled(level)) {
        return;
    }

    ngx_http_gonsters_event(r, r->connection->log, level, "gonsters.ingest",
                            ok ? "payload validation success"
                               : "payload validation failed", fields);
}
