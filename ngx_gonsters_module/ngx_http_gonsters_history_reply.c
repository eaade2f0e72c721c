/*
 * InfluxDB answers of the history queries, and the answer of the
 * endpoint: the seed's JSON (status, machine, query, data newest first,
 * pagination) or, with "Accept: text/csv", the same rows as CSV.
 *
 * The /query answers carry times as nanosecond integers (epoch=ns), which
 * a double cannot hold exactly: before parsing, the first element of every
 * row (the time) is turned into a JSON string, then read with strtoll.
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_history.h"
#include "ngx_http_gonsters_ingest.h"
#include "gn_lineproto.h"
#include "gn_time.h"
#include "gn_json.h"

#include <math.h>


static ngx_str_t  ngx_http_gonsters_csv_type =
    ngx_string("text/csv; charset=utf-8");


/* '[' followed by a number (only a row's time) gets the number quoted;
 * strings are skipped whole */
static ngx_int_t
ngx_http_gonsters_history_quote_times(ngx_pool_t *pool, ngx_str_t *in,
    ngx_str_t *out)
{
    u_char  *p, *last, *d;
    ngx_uint_t  in_string;

    out->data = ngx_pnalloc(pool, in->len * 2 + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    d = out->data;
    p = in->data;
    last = in->data + in->len;
    in_string = 0;

    while (p < last) {

        if (in_string) {
            if (*p == '\\' && p + 1 < last) {
                *d++ = *p++;
            } else if (*p == '"') {
                in_string = 0;
            }
            *d++ = *p++;
            continue;
        }

        if (*p == '"') {
            in_string = 1;
            *d++ = *p++;
            continue;
        }

        if (*p == '[' && p + 1 < last
            && (p[1] == '-' || (p[1] >= '0' && p[1] <= '9')))
        {
            *d++ = *p++;
            *d++ = '"';
            do {
                *d++ = *p++;
            } while (p < last && *p >= '0' && *p <= '9');
            *d++ = '"';
            continue;
        }

        *d++ = *p++;
    }

    *d = '\0';
    out->len = d - out->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gonsters_history_series(ngx_http_request_t *r, cJSON *result,
    ngx_http_gonsters_rows_t *rows)
{
    char        *end;
    cJSON       *series, *columns, *values, *row, *v;
    ngx_uint_t   i, c, ncols;

    ngx_memzero(rows, sizeof(ngx_http_gonsters_rows_t));

    series = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(result,
                                                                 "series"), 0);
    if (series == NULL) {
        return NGX_OK;
    }

    columns = cJSON_GetObjectItemCaseSensitive(series, "columns");
    values = cJSON_GetObjectItemCaseSensitive(series, "values");
    ncols = cJSON_GetArraySize(columns);

    if (!cJSON_IsArray(values) || ncols < 1) {
        return NGX_ERROR;
    }

    rows->ncols = ncols;
    rows->n = cJSON_GetArraySize(values);
    rows->time = ngx_palloc(r->pool, rows->n * sizeof(int64_t) + 1);
    rows->values = ngx_palloc(r->pool,
                              rows->n * (ncols - 1) * sizeof(double) + 1);
    if (rows->time == NULL || rows->values == NULL) {
        return NGX_ERROR;
    }

    i = 0;
    cJSON_ArrayForEach(row, values) {
        v = cJSON_GetArrayItem(row, 0);

        if (!cJSON_IsString(v)) {
            return NGX_ERROR;
        }

        errno = 0;
        rows->time[i] = strtoll(v->valuestring, &end, 10);
        if (errno || *end != '\0') {
            return NGX_ERROR;
        }

        for (c = 1; c < ncols; c++) {
            v = cJSON_GetArrayItem(row, c);
            rows->values[i * (ncols - 1) + c - 1] =
                cJSON_IsNumber(v) ? v->valuedouble : NAN;
        }

        i++;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_gonsters_history_parse(ngx_http_request_t *r, ngx_str_t *body,
    ngx_http_gonsters_rows_t **rows, ngx_uint_t n)
{
    cJSON       *root, *results, *result, *error;
    ngx_int_t    rc;
    ngx_str_t    text;
    ngx_uint_t   i;

    if (ngx_http_gonsters_history_quote_times(r->pool, body, &text) != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the tree in r->pool: no malloc per node, freed with the request */
    ngx_http_gonsters_json_pool(r->pool);
    root = cJSON_ParseWithLength((char *) text.data, text.len);
    ngx_http_gonsters_json_pool(NULL);

    if (root == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters: history: influxdb answer is not JSON");
        return NGX_ERROR;
    }

    results = cJSON_GetObjectItemCaseSensitive(root, "results");
    rc = NGX_OK;

    for (i = 0; i < n; i++) {
        result = cJSON_GetArrayItem(results, i);
        error = cJSON_GetObjectItemCaseSensitive(result, "error");

        if (result == NULL || error != NULL) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "gonsters: history: influxdb statement %ui "
                          "failed: %s", i,
                          cJSON_IsString(error) ? error->valuestring
                                                : "no result");
            rc = NGX_DECLINED;
            break;
        }

        if (ngx_http_gonsters_history_series(r, result, rows[i]) != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "gonsters: history: unexpected influxdb answer");
            rc = NGX_ERROR;
            break;
        }
    }

    return rc;
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


/* one output row: a time and nfields values (NaN: null) */
typedef struct {
    int64_t                       time;
    double                       *values;
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


static u_char *
ngx_http_gonsters_history_number(u_char *p, double v)
{
    if (isnan(v)) {
        return ngx_cpymem(p, "null", 4);
    }

    return (u_char *) gn_lp_format_double((char *) p, v);
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
                                     + GN_FIELD_N * (GN_LP_DOUBLE_MAX + 1)));
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
            if (!isnan(rows[i].values[c])) {
                p = (u_char *) gn_lp_format_double((char *) p,
                                                   rows[i].values[c]);
            }
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
                 + GN_FIELD_N * (GN_LP_DOUBLE_MAX + 20));

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
                p = ngx_http_gonsters_history_number(p, rows[i].values[c++]);
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
