/*
 * The InfluxQL of a history request, built only from validated values: the
 * machine id is a canonical UUID (hex and '-'), fields come from a fixed
 * list, times are integers we print, limit and offset are bounded
 * integers.
 *
 * raw:      count; page                       (one /query, two statements)
 * 1m, 5m:   count over the buckets (subquery); page of the buckets
 *           (subquery, so that LIMIT/OFFSET count rows)
 * 1h, 1d:   when the range holds whole windows that ended at least
 *           gonsters_tier_settle ago, those come from the tier and the
 *           rest from raw data:
 *              tail  raw aggregate [tier_to, end]     (open windows)
 *              tier  downsampled   [tier_from, tier_to)
 *              head  raw aggregate [start, tier_from) (partial window)
 *           one /query: tail rows, tier count, head rows (tail and head
 *           hold a few buckets at most) and the tier's rows of the page
 *           (LIMIT/OFFSET widened by the tail's largest size); only when
 *           end_time is far in the future (a tail of many windows) does the
 *           tier page wait for a second /query.  Otherwise as 1m.
 * A bucket is the tier's point when the window is whole, and the mean of
 * the raw points otherwise: both are the mean of the same raw values, so
 * the answer equals the aggregate over raw data.
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_history.h"
#include "ngx_http_gonsters_ingest.h"
#include "ngx_http_gonsters_influxdb.h"


#define NGX_HTTP_GONSTERS_RAW  "\"" GN_RP_RAW "\".\"" GN_MEASUREMENT "\""


static ngx_int_t ngx_http_gonsters_history_first_done(ngx_http_request_t *r,
    ngx_http_gonsters_influxdb_result_t *res, void *data);
static ngx_int_t ngx_http_gonsters_history_tier_done(ngx_http_request_t *r,
    ngx_http_gonsters_influxdb_result_t *res, void *data);
static ngx_int_t ngx_http_gonsters_history_failed(ngx_http_request_t *r,
    ngx_http_gonsters_influxdb_result_t *res);


/* "temperature, pressure" / "mean(temperature) AS temperature, ..." /
 * "count(...) AS ..." of the selected fields */
static u_char *
ngx_http_gonsters_history_select(u_char *p, ngx_http_gonsters_history_ctx_t *ctx,
    const char *fn)
{
    ngx_uint_t  i, first;

    first = 1;

    for (i = 0; i < GN_FIELD_N; i++) {
        if (!(ctx->fields & (1u << i))) {
            continue;
        }

        if (!first) {
            *p++ = ',';
            *p++ = ' ';
        }

        first = 0;

        if (fn) {
            p = ngx_sprintf(p, "%s(\"%s\") AS \"%s\"", fn, gn_field_names[i],
                            gn_field_names[i]);
        } else {
            p = ngx_sprintf(p, "\"%s\"", gn_field_names[i]);
        }
    }

    return p;
}


/* WHERE of the machine and [from, to] or [from, to) */
static u_char *
ngx_http_gonsters_history_where(u_char *p, ngx_http_gonsters_history_ctx_t *ctx,
    int64_t from, int64_t to, ngx_uint_t to_inclusive)
{
    return ngx_sprintf(p, " WHERE \"machine_id\" = '%s' AND time >= %L "
                       "AND time %s %L", ctx->id, from,
                       to_inclusive ? "<=" : "<", to);
}


/* SELECT mean(...) FROM raw WHERE ... GROUP BY time(g) fill(none); with
 * by_machine the id is kept as a tag, for counting */
static u_char *
ngx_http_gonsters_history_buckets_by(u_char *p,
    ngx_http_gonsters_history_ctx_t *ctx, int64_t from, int64_t to,
    ngx_uint_t to_inclusive, ngx_uint_t by_machine)
{
    p = ngx_cpymem(p, "SELECT ", 7);
    p = ngx_http_gonsters_history_select(p, ctx, "mean");
    p = ngx_cpymem(p, " FROM " NGX_HTTP_GONSTERS_RAW,
                   sizeof(" FROM " NGX_HTTP_GONSTERS_RAW) - 1);
    p = ngx_http_gonsters_history_where(p, ctx, from, to, to_inclusive);

    return ngx_sprintf(p, " GROUP BY time(%s)%s fill(none)",
                       ngx_http_gonsters_intervals[ctx->interval].name,
                       by_machine ? ", \"machine_id\"" : "");
}


#define ngx_http_gonsters_history_buckets(p, ctx, from, to, incl)            \
    ngx_http_gonsters_history_buckets_by(p, ctx, from, to, incl, 0)


/*
 * The number of rows holding at least one of the selected fields: the
 * machine_id tag selected with them in a subquery is present on exactly
 * those rows, and count() of it counts them ("SELECT count(a), count(b)"
 * would count each field apart).  The caller writes the FROM source and
 * the closing parenthesis.
 */
static u_char *
ngx_http_gonsters_history_count_open(u_char *p,
    ngx_http_gonsters_history_ctx_t *ctx)
{
    p = ngx_cpymem(p, "SELECT count(\"machine_id\") AS \"rows\" FROM (SELECT ",
                   sizeof("SELECT count(\"machine_id\") AS \"rows\" FROM (SELECT ")
                   - 1);
    p = ngx_http_gonsters_history_select(p, ctx, NULL);

    return ngx_cpymem(p, ", \"machine_id\" FROM ",
                      sizeof(", \"machine_id\" FROM ") - 1);
}


/* decides the segments of 1h and 1d */
static void
ngx_http_gonsters_history_plan(ngx_http_request_t *r,
    ngx_http_gonsters_history_ctx_t *ctx)
{
    int64_t                                interval, settle, whole_to, done;
    const ngx_http_gonsters_interval_t    *iv;
    ngx_http_gonsters_ingest_main_conf_t  *imcf;

    iv = &ngx_http_gonsters_intervals[ctx->interval];

    if (iv->tier < 0) {
        return;
    }

    imcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_ingest_module);
    settle = (int64_t) imcf->settle * 1000000;
    interval = iv->ns;

    /* whole windows inside [start, end]: [ceil(start), floor(end + 1)) */
    ctx->tier_from = gn_tier_ceil(ctx->start, interval);
    whole_to = (ctx->end == INT64_MAX) ? ctx->end
               : gn_tier_floor(ctx->end + 1, interval);

    done = gn_tier_complete_before(interval, ngx_http_gonsters_now_ns(),
                                   settle);

    ctx->tier_to = ngx_min(whole_to, done);
    ctx->tiered = (ctx->tier_from < ctx->tier_to);
    ctx->has_head = (ctx->start < ctx->tier_from);

    /* buckets of [tier_to, end]: the most rows the tail can have */
    if (ctx->tiered) {
        ctx->tail_max = (ngx_uint_t) ((gn_tier_floor(ctx->end, interval)
                                       - ctx->tier_to) / interval + 1);
    }
}


/* SELECT the selected fields of the tier, newest first, a page of it */
static u_char *
ngx_http_gonsters_history_tier_page(u_char *p,
    ngx_http_gonsters_history_ctx_t *ctx, ngx_uint_t limit, ngx_uint_t offset)
{
    p = ngx_cpymem(p, "SELECT ", 7);
    p = ngx_http_gonsters_history_select(p, ctx, NULL);
    p = ngx_sprintf(p, " FROM \"%s\".\"" GN_MEASUREMENT "\"",
                    gn_tiers[ngx_http_gonsters_intervals[ctx->interval].tier]
                    .rp);
    p = ngx_http_gonsters_history_where(p, ctx, ctx->tier_from, ctx->tier_to,
                                        0);

    return ngx_sprintf(p, " ORDER BY time DESC LIMIT %ui OFFSET %ui",
                       limit, offset);
}


ngx_int_t
ngx_http_gonsters_history_first(ngx_http_request_t *r,
    ngx_http_gonsters_history_ctx_t *ctx, ngx_str_t *q)
{
    u_char  *p;

    ngx_http_gonsters_history_plan(r, ctx);

    q->data = ngx_pnalloc(r->pool, 4096);
    if (q->data == NULL) {
        return NGX_ERROR;
    }

    p = q->data;

    if (ctx->tiered) {
        /* tail */
        p = ngx_http_gonsters_history_buckets(p, ctx, ctx->tier_to, ctx->end,
                                              1);
        p = ngx_cpymem(p, " ORDER BY time DESC; ", 21);

        /* tier count */
        p = ngx_http_gonsters_history_count_open(p, ctx);
        p = ngx_sprintf(p, "\"%s\".\"" GN_MEASUREMENT "\"",
                        gn_tiers[ngx_http_gonsters_intervals[ctx->interval]
                                 .tier].rp);
        p = ngx_http_gonsters_history_where(p, ctx, ctx->tier_from,
                                            ctx->tier_to, 0);
        *p++ = ')';

        /* head */
        if (ctx->has_head) {
            p = ngx_cpymem(p, "; ", 2);
            p = ngx_http_gonsters_history_buckets(p, ctx, ctx->start,
                                                  ctx->tier_from, 0);
        }

        /*
         * The tail holds at most tail_max buckets (the windows from
         * tier_to to end: a few when end is about now), so the page's tier
         * rows are among the limit + tail_max rows from offset - tail_max:
         * asked for at once, which saves a round trip; the page is cut
         * from them when the tail's size is known.
         */
        if (ctx->tail_max <= NGX_HTTP_GONSTERS_HISTORY_TAIL_MAX) {
            ctx->tier_skip = ctx->offset > ctx->tail_max
                             ? ctx->offset - ctx->tail_max : 0;
            ctx->tier_fetched = 1;
            p = ngx_cpymem(p, "; ", 2);
            p = ngx_http_gonsters_history_tier_page(p, ctx,
                                                ctx->limit + ctx->tail_max,
                                                ctx->tier_skip);
        }

        q->len = p - q->data;
        return NGX_OK;
    }

    /* count, then the page */
    p = ngx_http_gonsters_history_count_open(p, ctx);

    if (ctx->interval == NGX_HTTP_GONSTERS_INTERVAL_RAW) {
        p = ngx_cpymem(p, NGX_HTTP_GONSTERS_RAW,
                       sizeof(NGX_HTTP_GONSTERS_RAW) - 1);
        p = ngx_http_gonsters_history_where(p, ctx, ctx->start, ctx->end, 1);
        p = ngx_cpymem(p, "); SELECT ", 10);
        p = ngx_http_gonsters_history_select(p, ctx, NULL);
        p = ngx_cpymem(p, " FROM " NGX_HTTP_GONSTERS_RAW,
                       sizeof(" FROM " NGX_HTTP_GONSTERS_RAW) - 1);
        p = ngx_http_gonsters_history_where(p, ctx, ctx->start, ctx->end, 1);

    } else {
        *p++ = '(';
        p = ngx_http_gonsters_history_buckets_by(p, ctx, ctx->start, ctx->end,
                                                 1, 1);
        *p++ = ')';

        /*
         * The page selects from the buckets as rows: LIMIT and OFFSET
         * applied to "SELECT mean(a), mean(b) ... fill(none)" directly
         * count each field's buckets separately (InfluxDB 1.x), which
         * misaligns the fields of a page when one field has gaps.
         */
        p = ngx_cpymem(p, "); SELECT ", 10);
        p = ngx_http_gonsters_history_select(p, ctx, NULL);
        p = ngx_cpymem(p, " FROM (", 7);
        p = ngx_http_gonsters_history_buckets(p, ctx, ctx->start, ctx->end, 1);
        *p++ = ')';
    }

    p = ngx_sprintf(p, " ORDER BY time DESC LIMIT %ui OFFSET %ui",
                    ctx->limit, ctx->offset);

    q->len = p - q->data;
    return NGX_OK;
}


ngx_int_t
ngx_http_gonsters_history_query(ngx_http_request_t *r,
    ngx_http_gonsters_history_ctx_t *ctx)
{
    ngx_str_t  q;

    if (ngx_http_gonsters_history_first(r, ctx, &q) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "gonsters: history: %V", &q);

    if (ngx_http_gonsters_influxdb_query(r, &q, NULL,
                                         ngx_http_gonsters_history_first_done,
                                         ctx)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


/* the value of a count statement (no row: nothing counted) */
static ngx_uint_t
ngx_http_gonsters_history_count(ngx_http_gonsters_rows_t *rows)
{
    double  v;

    if (rows->n == 0 || rows->ncols < 2) {
        return 0;
    }

    v = gn_influx_double(rows->values[0].p, rows->values[0].len);

    /* below 2^53: an exact integer, converted without overflow */
    return (v == v && v > 0 && v < 9007199254740992.0) ? (ngx_uint_t) v : 0;
}


static ngx_int_t
ngx_http_gonsters_history_first_done(ngx_http_request_t *r,
    ngx_http_gonsters_influxdb_result_t *res, void *data)
{
    ngx_http_gonsters_history_ctx_t  *ctx = data;

    /* the body is in r->pool */
    ctx->first_status = res->status;
    ctx->first_http_status = res->http_status;
    ctx->first_body = res->body;

    return ngx_http_gonsters_history_join(r, ctx);
}


ngx_int_t
ngx_http_gonsters_history_first_answer(ngx_http_request_t *r,
    ngx_http_gonsters_history_ctx_t *ctx)
{
    u_char                               *p;
    ngx_int_t                             rc;
    ngx_str_t                             q;
    ngx_uint_t                            lo, hi, n;
    ngx_http_gonsters_rows_t              count, *rows[4];
    ngx_http_gonsters_influxdb_result_t   first, *res;

    res = &first;
    first.status = ctx->first_status;
    first.http_status = ctx->first_http_status;
    first.body = ctx->first_body;

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        return ngx_http_gonsters_history_failed(r, res);
    }

    if (!ctx->tiered) {
        rows[0] = &count;
        rows[1] = &ctx->tail;
        rc = ngx_http_gonsters_history_parse(r, &res->body, rows, 2);
        if (rc != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->total = ngx_http_gonsters_history_count(&count);
        return ngx_http_gonsters_history_reply(r, ctx);
    }

    n = 0;
    rows[n++] = &ctx->tail;
    rows[n++] = &count;

    if (ctx->has_head) {
        rows[n++] = &ctx->head;
    }

    if (ctx->tier_fetched) {
        rows[n++] = &ctx->tier;
    }

    rc = ngx_http_gonsters_history_parse(r, &res->body, rows, n);
    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->tier_count = ngx_http_gonsters_history_count(&count);
    ctx->total = ctx->tail.n + ctx->tier_count + ctx->head.n;

    /* the page's rows inside the tier: [lo, hi) of the whole answer */
    lo = ngx_max(ctx->offset, ctx->tail.n);
    hi = ngx_min(ctx->offset + ctx->limit, ctx->tail.n + ctx->tier_count);

    if (lo >= hi || ctx->tier_fetched) {
        return ngx_http_gonsters_history_reply(r, ctx);
    }

    ctx->tier_skip = lo - ctx->tail.n;

    q.data = ngx_pnalloc(r->pool, 1024);
    if (q.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_http_gonsters_history_tier_page(q.data, ctx, hi - lo,
                                            ctx->tier_skip);
    q.len = p - q.data;

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "gonsters: history tier: %V", &q);

    if (ngx_http_gonsters_influxdb_query(r, &q, NULL,
                                         ngx_http_gonsters_history_tier_done,
                                         ctx)
        != NGX_DONE)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_gonsters_history_tier_done(ngx_http_request_t *r,
    ngx_http_gonsters_influxdb_result_t *res, void *data)
{
    ngx_http_gonsters_history_ctx_t  *ctx = data;

    ngx_http_gonsters_rows_t  *rows[1];

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        return ngx_http_gonsters_history_failed(r, res);
    }

    rows[0] = &ctx->tier;

    if (ngx_http_gonsters_history_parse(r, &res->body, rows, 1) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_history_reply(r, ctx);
}


static ngx_int_t
ngx_http_gonsters_history_failed(ngx_http_request_t *r,
    ngx_http_gonsters_influxdb_result_t *res)
{
    if (res->status == NGX_HTTP_GONSTERS_BACKEND_ERROR) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters: influxdb refused a history query (%ui): %V",
                      res->http_status, &res->body);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_send_unavailable(r, NGX_HTTP_GONSTERS_INFLUXDB,
                                              res->status);
}
