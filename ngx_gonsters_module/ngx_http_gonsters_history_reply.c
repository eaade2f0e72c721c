/*
 * InfluxDB answers of the history queries, and the answer of the
 * endpoint: the seed's JSON (status, machine, query, data newest first,
 * pagination) or, with "Accept: text/csv", the same rows as CSV.
 *
 * The /query answers (epoch=ns) are read with gn_influx (common/): one
 * pass that checks the text, a second that reads the rows, no tree; the
 * times as integers, the values as InfluxDB's number text, copied to the
 * answer (gn_influx_number), so that no value is read and printed again.
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_history.h"
#include "ngx_http_gonsters_ingest.h"
#include "gn_time.h"
#include "gn_json.h"


static ngx_str_t  ngx_http_gonsters_csv_type =
    ngx_string("text/csv; charset=utf-8");


static ngx_int_t
ngx_http_gonsters_history_series(ngx_http_request_t *r,
    gn_influx_result_t *res, ngx_http_gonsters_rows_t *rows)
{
    ngx_memzero(rows, sizeof(ngx_http_gonsters_rows_t));

    if (res->ncols == 0) {
        return NGX_OK;
    }

    rows->ncols = res->ncols;
    rows->n = res->nrows;
    rows->time = ngx_palloc(r->pool, rows->n * sizeof(int64_t) + 1);
    rows->values = ngx_palloc(r->pool, rows->n * (rows->ncols - 1)
                                       * sizeof(gn_influx_value_t) + 1);
    if (rows->time == NULL || rows->values == NULL) {
        return NGX_ERROR;
    }

    return gn_influx_rows(res, rows->time, rows->values) == 0
           ? NGX_OK : NGX_ERROR;
}


ngx_int_t
ngx_http_gonsters_history_parse(ngx_http_request_t *r, ngx_str_t *body,
    ngx_http_gonsters_rows_t **rows, ngx_uint_t n)
{
    ngx_uint_t           i;
    gn_influx_answer_t   ans;
    gn_influx_result_t   res[4];

    if (n > 4) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "gonsters: history: %ui statements", n);
        return NGX_ERROR;
    }

    if (gn_influx_scan((char *) body->data, body->len, &ans, res, n) != 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters: history: unexpected influxdb answer: %s",
                      ans.invalid);
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {

        if (i >= ans.nresults || res[i].error) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "gonsters: history: influxdb statement %ui "
                          "failed: %*s", i,
                          i < ans.nresults ? res[i].error_len
                          : ans.error ? ans.error_len : sizeof("no result") - 1,
                          i < ans.nresults ? res[i].error
                          : ans.error ? ans.error : "no result");
            return NGX_DECLINED;
        }

        if (ngx_http_gonsters_history_series(r, &res[i], rows[i]) != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "gonsters: history: unexpected influxdb answer");
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


void
ngx_http_gonsters_history_format_time(int64_t ns, u_char *buf, size_t *len)
{
    int      digits;
    int64_t  frac;

    frac = ns % GN_NS_PER_SEC;
    if (frac < 0) {
        frac += GN_NS_PER_SEC;
    }

    /* as many fraction digits as the time needs: 0, 3, 6 or 9 */
    digits = (frac == 0) ? 0 : (frac % 1000000 == 0) ? 3
             : (frac % 1000 == 0) ? 6 : 9;

    *len = gn_time_format_iso8601(ns, digits, (char *) buf,
                                  GN_TIME_ISO8601_MAX);
}


/* one output row: a time and nfields values (len 0: null) */
typedef struct {
    int64_t                       time;
    gn_influx_value_t            *values;
} ngx_http_gonsters_out_row_t;


static ngx_uint_t
ngx_http_gonsters_history_rows(ngx_http_gonsters_history_ctx_t *ctx,
    ngx_http_gonsters_out_row_t *out)
{
    ngx_uint_t                 i, n, idx, end, k, nf;
    ngx_http_gonsters_rows_t  *src;

    nf = ctx->nfields;
    n = 0;

    if (!ctx->tiered) {
        for (i = 0; i < ctx->tail.n && i < ctx->limit; i++) {
            out[n].time = ctx->tail.time[i];
            out[n].values = &ctx->tail.values[i * nf];
            n++;
        }
        return n;
    }

    end = ngx_min(ctx->offset + ctx->limit, ctx->total);

    for (idx = ctx->offset; idx < end; idx++) {

        if (idx < ctx->tail.n) {
            src = &ctx->tail;
            k = idx;

        } else if (idx < ctx->tail.n + ctx->tier_count) {
            src = &ctx->tier;
            k = idx - ctx->tail.n - ctx->tier_skip;

        } else {
            src = &ctx->head;
            k = idx - ctx->tail.n - ctx->tier_count;
        }

        if (k >= src->n) {
            continue;
        }

        out[n].time = src->time[k];
        out[n].values = &src->values[k * nf];
        n++;
    }

    return n;
}


/* a value, or `null` (CSV: nothing) */
static u_char *
ngx_http_gonsters_history_number(u_char *p, gn_influx_value_t *v,
    ngx_uint_t csv)
{
    char  *end;

    end = gn_influx_number((char *) p, v->p, v->len);

    if (end != NULL) {
        return (u_char *) end;
    }

    return csv ? p : ngx_cpymem(p, "null", 4);
}


static ngx_int_t
ngx_http_gonsters_history_csv(ngx_http_request_t *r,
    ngx_http_gonsters_history_ctx_t *ctx, ngx_http_gonsters_out_row_t *rows,
    ngx_uint_t n)
{
    u_char      *p, ts[GN_TIME_ISO8601_MAX];
    size_t       len;
    ngx_str_t    body, name, value;
    ngx_uint_t   i, f, c;

    body.data = ngx_pnalloc(r->pool, 64 + n * (GN_TIME_ISO8601_MAX + 2
                                     + GN_FIELD_N * (GN_INFLUX_NUMBER_MAX + 1)));
    value.data = ngx_pnalloc(r->pool, NGX_INT_T_LEN);
    if (body.data == NULL || value.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body.data, "timestamp", 9);

    for (f = 0; f < GN_FIELD_N; f++) {
        if (ctx->fields & (1u << f)) {
            p = ngx_sprintf(p, ",%s", gn_field_names[f]);
        }
    }

    *p++ = '\n';

    for (i = 0; i < n; i++) {
        ngx_http_gonsters_history_format_time(rows[i].time, ts, &len);
        p = ngx_cpymem(p, ts, len);

        for (c = 0; c < ctx->nfields; c++) {
            *p++ = ',';
            p = ngx_http_gonsters_history_number(p, &rows[i].values[c], 1);
        }

        *p++ = '\n';
    }

    body.len = p - body.data;

    ngx_str_set(&name, "X-Total-Count");
    value.len = ngx_sprintf(value.data, "%ui", ctx->total) - value.data;

    if (ngx_http_gonsters_add_header(r, &name, &value) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_send_body(r, NGX_HTTP_OK,
                                       &ngx_http_gonsters_csv_type, &body);
}


static u_char *
ngx_http_gonsters_history_string(u_char *p, const char *key, ngx_str_t *s)
{
    p = ngx_sprintf(p, "\"%s\":\"", key);
    p = (u_char *) gn_json_escape((char *) p, (char *) s->data, s->len);
    *p++ = '"';

    return p;
}


static u_char *
ngx_http_gonsters_history_head(u_char *p, ngx_http_gonsters_history_ctx_t *ctx)
{
    u_char      ts[GN_TIME_ISO8601_MAX];
    size_t      len;
    ngx_str_t   id;
    ngx_uint_t  f, first;

    p = ngx_cpymem(p, "{\"status\":\"success\",\"machine\":{", 31);
    p = ngx_http_gonsters_history_string(p, "location",
                                         &ctx->machine.location);
    id.data = ctx->id;
    id.len = GN_UUID_LEN;
    *p++ = ',';
    p = ngx_http_gonsters_history_string(p, "machine_id", &id);
    *p++ = ',';
    p = ngx_http_gonsters_history_string(p, "name", &ctx->machine.name);
    *p++ = ',';
    p = ngx_http_gonsters_history_string(p, "sensor_type",
                                         &ctx->machine.sensor_type);

    ngx_http_gonsters_history_format_time(ctx->end, ts, &len);
    p = ngx_cpymem(p, "},\"query\":{\"end_time\":\"", 23);
    p = ngx_cpymem(p, ts, len);
    p = ngx_cpymem(p, "\",\"fields\":[", 12);

    first = 1;
    for (f = 0; f < GN_FIELD_N; f++) {
        if (ctx->fields & (1u << f)) {
            p = ngx_sprintf(p, "%s\"%s\"", first ? "" : ",", gn_field_names[f]);
            first = 0;
        }
    }

    ngx_http_gonsters_history_format_time(ctx->start, ts, &len);
    p = ngx_sprintf(p, "],\"interval\":\"%s\",\"start_time\":\"",
                    ngx_http_gonsters_intervals[ctx->interval].name);
    p = ngx_cpymem(p, ts, len);

    return ngx_cpymem(p, "\"},\"data\":[", 11);
}


ngx_int_t
ngx_http_gonsters_history_reply(ngx_http_request_t *r,
    ngx_http_gonsters_history_ctx_t *ctx)
{
    u_char                       *p, ts[GN_TIME_ISO8601_MAX];
    size_t                        len;
    ngx_str_t                     body;
    ngx_uint_t                    i, f, c, n;
    ngx_http_gonsters_out_row_t  *rows;

    rows = ngx_palloc(r->pool,
                      (ctx->limit + 1) * sizeof(ngx_http_gonsters_out_row_t));
    if (rows == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = ngx_http_gonsters_history_rows(ctx, rows);

    if (ctx->csv) {
        return ngx_http_gonsters_history_csv(r, ctx, rows, n);
    }

    len = 1024 + 2 * gn_json_escape_len((char *) ctx->machine.location.data,
                                        ctx->machine.location.len)
          + 2 * gn_json_escape_len((char *) ctx->machine.name.data,
                                   ctx->machine.name.len)
          + 2 * gn_json_escape_len((char *) ctx->machine.sensor_type.data,
                                   ctx->machine.sensor_type.len)
          + n * (GN_TIME_ISO8601_MAX + 20
                 + GN_FIELD_N * (GN_INFLUX_NUMBER_MAX + 20));

    body.data = ngx_pnalloc(r->pool, len);
    if (body.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_http_gonsters_history_head(body.data, ctx);

    for (i = 0; i < n; i++) {
        ngx_http_gonsters_history_format_time(rows[i].time, ts, &len);
        p = ngx_sprintf(p, "%s{\"timestamp\":\"", i ? "," : "");
        p = ngx_cpymem(p, ts, len);
        *p++ = '"';

        c = 0;
        for (f = 0; f < GN_FIELD_N; f++) {
            if (ctx->fields & (1u << f)) {
                p = ngx_sprintf(p, ",\"%s\":", gn_field_names[f]);
                p = ngx_http_gonsters_history_number(p, &rows[i].values[c++],
                                                     0);
            }
        }

        *p++ = '}';
    }

    p = ngx_sprintf(p, "],\"pagination\":{\"has_more\":%s,\"limit\":%ui,"
                    "\"offset\":%ui,\"returned_records\":%ui,"
                    "\"total_records\":%ui}}",
                    ctx->offset + n < ctx->total ? "true" : "false",
                    ctx->limit, ctx->offset, n, ctx->total);

    body.len = p - body.data;

    return ngx_http_gonsters_send_json(r, NGX_HTTP_OK, &body);
}
