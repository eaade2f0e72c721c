/*
 * The valid entries of a batch: their machines looked up in one round trip
 * (ngx_http_gonsters_machines_resolve: Redis, then one PostgreSQL query for
 * the misses), their readings turned into line protocol with the tags of
 * the registry (never of the payload), one InfluxDB write with the
 * readings' own nanosecond timestamps, then the re-aggregation of the
 * closed windows they touched (common/gn_tiers.h), and only then the
 * answer.  A failure of either InfluxDB call answers 503: nothing is
 * acknowledged that is not in InfluxDB with its tiers up to date, and
 * sending the same body again is safe (same points, same aggregates).
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_ingest.h"
#include "ngx_http_gonsters_influxdb.h"
#include "gn_lineproto.h"


static ngx_int_t ngx_http_gonsters_ingest_resolved(ngx_http_request_t *r,
    ngx_int_t rc, ngx_http_gonsters_backend_status_e status,
    ngx_http_gonsters_machine_t *machines, void *data);
static ngx_int_t ngx_http_gonsters_ingest_lines(ngx_http_request_t *r,
    ngx_http_gonsters_ingest_ctx_t *ctx, ngx_http_gonsters_machine_t *machines,
    ngx_chain_t **out);
static ngx_int_t ngx_http_gonsters_ingest_written(ngx_http_request_t *r,
    ngx_http_gonsters_influxdb_result_t *res, void *data);
static ngx_int_t ngx_http_gonsters_ingest_reaggregated(ngx_http_request_t *r,
    ngx_http_gonsters_influxdb_result_t *res, void *data);
static ngx_int_t ngx_http_gonsters_ingest_done(ngx_http_request_t *r,
    ngx_http_gonsters_ingest_ctx_t *ctx);
static ngx_int_t ngx_http_gonsters_ingest_influx_failed(ngx_http_request_t *r,
    ngx_http_gonsters_influxdb_result_t *res, const char *what);


ngx_int_t
ngx_http_gonsters_ingest_resolve(ngx_http_request_t *r,
    ngx_http_gonsters_ingest_ctx_t *ctx)
{
    ngx_uint_t            i, k;
    gn_ingest_machine_t  *m;

    ctx->ids = ngx_palloc(r->pool, ctx->in.nvalid * sizeof(ngx_str_t));
    ctx->entry = ngx_palloc(r->pool, ctx->in.nvalid * sizeof(ngx_uint_t));
    if (ctx->ids == NULL || ctx->entry == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    k = 0;

    for (i = 0; i < ctx->in.nmachines; i++) {
        m = &ctx->in.machines[i];

        if (!m->valid) {
            continue;
        }

        ctx->ids[k].data = (u_char *) m->machine_id;
        ctx->ids[k].len = GN_UUID_LEN;
        ctx->entry[k] = i;
        k++;
    }

    ctx->nids = k;

    if (ngx_http_gonsters_machines_resolve(r, ctx->ids, ctx->nids,
                                           ngx_http_gonsters_ingest_resolved,
                                           ctx)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_gonsters_ingest_resolved(ngx_http_request_t *r, ngx_int_t rc,
    ngx_http_gonsters_backend_status_e status,
    ngx_http_gonsters_machine_t *machines, void *data)
{
    ngx_http_gonsters_ingest_ctx_t  *ctx = data;

    ngx_chain_t  *lines;

    /* an id missing from the cache could not be checked: not "unknown" */
    if (rc != NGX_OK) {
        return ngx_http_gonsters_send_unavailable(r,
                                                  NGX_HTTP_GONSTERS_POSTGRES,
                                                  status);
    }

    rc = ngx_http_gonsters_ingest_lines(r, ctx, machines, &lines);
    if (rc != NGX_OK) {
        return rc;
    }

    if (lines == NULL) {
        return ngx_http_gonsters_ingest_invalid(r, ctx,
                                                "Batch ingestion failed");
    }

    if (ngx_http_gonsters_influxdb_write(r, lines,
                                         ngx_http_gonsters_ingest_written, ctx)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


/*
 * One buffer of lines per known machine; *out is NULL when no entry is
 * left.  The dirty windows of each machine are collected into the
 * re-aggregation query on the way.
 */
static ngx_int_t
ngx_http_gonsters_ingest_lines(ngx_http_request_t *r,
    ngx_http_gonsters_ingest_ctx_t *ctx, ngx_http_gonsters_machine_t *machines,
    ngx_chain_t **out)
{
    u_char                                *p, *q;
    size_t                                 len;
    int64_t                                settle;
    ngx_buf_t                             *b;
    ngx_uint_t                             k, i, j;
    gn_series_t                            s;
    ngx_chain_t                           *cl, **ll;
    gn_tier_dirty_t                        dirty;
    gn_ingest_machine_t                   *m;
    ngx_http_gonsters_machine_t           *mm;
    ngx_http_gonsters_ingest_main_conf_t  *imcf;
    char                                   path[32];

    imcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_ingest_module);
    settle = (int64_t) imcf->settle * 1000000;

    *out = NULL;
    ll = out;

    /* room for one re-aggregation per machine, at most */
    ctx->reaggregate.len = 0;
    ctx->reaggregate.data = NULL;
    q = NULL;

    for (k = 0; k < ctx->nids; k++) {
        i = ctx->entry[k];
        m = &ctx->in.machines[i];
        mm = &machines[k];

        ngx_snprintf((u_char *) path, sizeof(path), "batch[%ui]%Z", i);

        if (mm->id.len == 0) {
            ctx->state[i] = NGX_HTTP_GONSTERS_INGEST_UNKNOWN;
            gn_errors_add(&ctx->errs, path, "machine_id", &m->machine_id_value,
                          "Machine ID not found in database");
            continue;
        }

        s.machine_id = m->machine_id;
        s.location = (char *) mm->location.data;
        s.location_len = mm->location.len;
        s.sensor_type = (char *) mm->sensor_type.data;
        s.sensor_type_len = mm->sensor_type.len;

        /* the registry should refuse such values; never a broken line */
        if (gn_series_check(&s) != GN_LP_OK) {
            ctx->state[i] = NGX_HTTP_GONSTERS_INGEST_UNTAGGABLE;
            gn_errors_add(&ctx->errs, path, "machine_id", &m->machine_id_value,
                          "The machine's location or sensor_type cannot be "
                          "stored as an InfluxDB tag (%s)",
                          gn_lp_strerror(gn_series_check(&s)));
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "gonsters: machine %s has a location or "
                          "sensor_type that cannot be a tag", m->machine_id);
            continue;
        }

        /*
         * A bound rather than gn_reading_line_len() of each reading, which
         * would format every number twice: the series part, and at most
         * every field with the longest number and a 20-digit time.
         */
        len = m->nreadings
              * (sizeof(GN_MEASUREMENT ",location=,machine_id=,sensor_type=")
                 + gn_lp_escape_tag_len(s.location, s.location_len)
                 + GN_UUID_LEN
                 + gn_lp_escape_tag_len(s.sensor_type, s.sensor_type_len)
                 + GN_FIELD_N * (sizeof(",temperature=") + GN_LP_DOUBLE_MAX)
                 + sizeof(" -9223372036854775808\n"));

        b = ngx_create_temp_buf(r->pool, len);
        cl = ngx_alloc_chain_link(r->pool);
        if (b == NULL || cl == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        gn_tier_dirty_init(&dirty);
        p = b->last;

        for (j = 0; j < m->nreadings; j++) {
            p = (u_char *) gn_reading_line((char *) p, &s, &m->readings[j]);
            gn_tier_dirty_add(&dirty, m->readings[j].ts_ns, ctx->now_ns,
                              settle);
        }

        b->last = p;
        cl->buf = b;
        cl->next = NULL;
        *ll = cl;
        ll = &cl->next;

        ctx->state[i] = NGX_HTTP_GONSTERS_INGEST_WRITTEN;
        ctx->machines++;
        ctx->readings += m->nreadings;

        if (!gn_tier_dirty_any(&dirty)) {
            continue;
        }

        if (q == NULL) {
            ctx->reaggregate.data = ngx_pnalloc(r->pool,
                                       ctx->nids * (GN_TIER_REAGGREGATE_MAX + 2));
            if (ctx->reaggregate.data == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
            q = ctx->reaggregate.data;

        } else {
            *q++ = ';';
            *q++ = ' ';
        }

        q += gn_tier_reaggregate((char *) q, GN_TIER_REAGGREGATE_MAX,
                                 m->machine_id, &dirty);
    }

    if (q) {
        ctx->reaggregate.len = q - ctx->reaggregate.data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_gonsters_ingest_written(ngx_http_request_t *r,
    ngx_http_gonsters_influxdb_result_t *res, void *data)
{
    ngx_http_gonsters_ingest_ctx_t  *ctx = data;

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        return ngx_http_gonsters_ingest_influx_failed(r, res, "write");
    }

    if (ctx->reaggregate.len == 0) {
        return ngx_http_gonsters_ingest_done(r, ctx);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "gonsters: ingest re-aggregates: %V", &ctx->reaggregate);

    if (ngx_http_gonsters_influxdb_query(r, &ctx->reaggregate, NULL,
                                         ngx_http_gonsters_ingest_reaggregated,
                                         ctx)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_gonsters_ingest_reaggregated(ngx_http_request_t *r,
    ngx_http_gonsters_influxdb_result_t *res, void *data)
{
    ngx_http_gonsters_ingest_ctx_t  *ctx = data;

    /* a statement error comes back with 200: {"results":[{"error":...}]} */
    if (res->status == NGX_HTTP_GONSTERS_BACKEND_OK
        && ngx_strlcasestrn(res->body.data, res->body.data + res->body.len,
                            (u_char *) "\"error\"", 7 - 1)
           != NULL)
    {
        res->status = NGX_HTTP_GONSTERS_BACKEND_ERROR;
    }

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        return ngx_http_gonsters_ingest_influx_failed(r, res,
                                                      "re-aggregation");
    }

    return ngx_http_gonsters_ingest_done(r, ctx);
}


static ngx_int_t
ngx_http_gonsters_ingest_done(ngx_http_request_t *r,
    ngx_http_gonsters_ingest_ctx_t *ctx)
{
    ngx_str_t   id;
    ngx_uint_t  i;

    /* last_seen: recorded in memory, written in batches (never a
     * PostgreSQL write per request and machine) */
    for (i = 0; i < ctx->in.nmachines; i++) {
        if (ctx->state[i] == NGX_HTTP_GONSTERS_INGEST_WRITTEN) {
            id.data = (u_char *) ctx->in.machines[i].machine_id;
            id.len = GN_UUID_LEN;
            ngx_http_gonsters_machines_touch(r->connection->log, &id);
        }
    }

    return ngx_http_gonsters_ingest_reply(r, ctx);
}


/*
 * Down, stalled or refusing: 503 with Retry-After, the readings are not
 * acknowledged (some may be stored: a retry overwrites them with the same
 * values).  A 4xx means lines we built were refused: logged, 500.
 */
static ngx_int_t
ngx_http_gonsters_ingest_influx_failed(ngx_http_request_t *r,
    ngx_http_gonsters_influxdb_result_t *res, const char *what)
{
    if (res->status == NGX_HTTP_GONSTERS_BACKEND_ERROR) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters: influxdb refused the ingest %s (%ui): %V",
                      what, res->http_status, &res->body);
        return ngx_http_gonsters_send_error(r,
                                            NGX_HTTP_INTERNAL_SERVER_ERROR,
                                            "InfluxDB refused the readings");
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "gonsters: ingest %s: influxdb %s", what,
                  res->status == NGX_HTTP_GONSTERS_BACKEND_TIMEOUT
                  ? "timed out" : "is unavailable");

    return ngx_http_gonsters_send_unavailable(r, NGX_HTTP_GONSTERS_INFLUXDB,
                                              res->status);
}
