/*
 * Query parameters of GET /api/v1/data/machine/{id} (seed §1.2 B):
 * start_time (required), end_time (default now), interval (raw, 1m, 5m,
 * 1h, 1d), fields (comma-separated temperature, pressure, speed or all),
 * limit (1..10000, default 1000), offset (default 0).  Every error is
 * reported together: {"parameter","error","value"}.  Times are parsed
 * into nanoseconds and printed again by us: no text of the request ever
 * reaches InfluxQL.  "Accept: text/csv" asks for CSV.
 */


#include "ngx_http_gonsters_module.h"

#include <cjson/cJSON.h>

#include "ngx_http_gonsters_history.h"
#include "ngx_http_gonsters_ingest.h"
#include "gn_time.h"


#define NGX_HTTP_GONSTERS_HISTORY_MAX_OFFSET  1000000000


const ngx_http_gonsters_interval_t
    ngx_http_gonsters_intervals[NGX_HTTP_GONSTERS_INTERVAL_N] = {
    { "raw", 0, -1 },
    { "1m", 60 * GN_NS_PER_SEC, -1 },
    { "5m", 300 * GN_NS_PER_SEC, -1 },
    { "1h", 3600 * GN_NS_PER_SEC, GN_TIER_HOURLY },
    { "1d", 86400 * GN_NS_PER_SEC, GN_TIER_DAILY }
};


static void
ngx_http_gonsters_history_error(ngx_http_gonsters_history_ctx_t *ctx,
    const char *parameter, const char *error, ngx_str_t *value)
{
    ngx_http_gonsters_history_error_t  *e;

    if (ctx->nerrors == NGX_HTTP_GONSTERS_HISTORY_MAX_ERRORS) {
        return;
    }

    e = &ctx->errors[ctx->nerrors++];
    e->parameter = parameter;
    e->error = error;

    if (value) {
        e->value = *value;
        e->has_value = 1;
    }
}


static void
ngx_http_gonsters_history_time(ngx_http_gonsters_history_ctx_t *ctx,
    const char *parameter, ngx_str_t *value, int64_t *ns)
{
    int  rc;

    rc = gn_time_parse_iso8601((char *) value->data, value->len, ns);

    if (rc != GN_TIME_OK) {
        ngx_http_gonsters_history_error(ctx, parameter, gn_time_strerror(rc),
                                        value);
    }
}


/* a decimal integer in [min, max], nothing else */
static ngx_int_t
ngx_http_gonsters_history_int(ngx_str_t *value, ngx_uint_t min,
    ngx_uint_t max, ngx_uint_t *out)
{
    ngx_int_t  n;

    if (value->len == 0 || value->len > 10) {
        return NGX_ERROR;
    }

    n = ngx_atoi(value->data, value->len);

    if (n == NGX_ERROR || (ngx_uint_t) n < min || (ngx_uint_t) n > max) {
        return NGX_ERROR;
    }

    *out = n;
    return NGX_OK;
}


static void
ngx_http_gonsters_history_fields(ngx_http_gonsters_history_ctx_t *ctx,
    ngx_str_t *value)
{
    u_char      *p, *last, *comma;
    size_t       len;
    ngx_uint_t   i, found;

    p = value->data;
    last = p + value->len;

    do {
        comma = ngx_strlchr(p, last, ',');
        len = (comma ? comma : last) - p;
        found = 0;

        if (len == 3 && ngx_strncmp(p, "all", 3) == 0) {
            ctx->fields = (1u << GN_FIELD_N) - 1;
            found = 1;
        }

        for (i = 0; !found && i < GN_FIELD_N; i++) {
            if (len == ngx_strlen(gn_field_names[i])
                && ngx_strncmp(p, gn_field_names[i], len) == 0)
            {
                ctx->fields |= 1u << i;
                found = 1;
            }
        }

        if (!found) {
            ngx_http_gonsters_history_error(ctx, "fields",
                "Invalid field. Must be a comma-separated list of: "
                "temperature, pressure, speed, all", value);
            return;
        }

        p = comma ? comma + 1 : last;

    } while (comma);
}


static void
ngx_http_gonsters_history_accept(ngx_http_request_t *r,
    ngx_http_gonsters_history_ctx_t *ctx)
{
    ngx_str_t  *accept;

    if (r->headers_in.accept == NULL) {
        return;
    }

    accept = &r->headers_in.accept->value;

    ctx->csv = ngx_strlcasestrn(accept->data, accept->data + accept->len,
                                (u_char *) "text/csv", 8 - 1)
               != NULL;
}


ngx_int_t
ngx_http_gonsters_history_params(ngx_http_request_t *r,
    ngx_http_gonsters_history_ctx_t *ctx)
{
    ngx_int_t   rc, has_start;
    ngx_str_t   v, start;
    ngx_uint_t  i;

    ctx->end = ngx_http_gonsters_now_ns();
    ctx->interval = NGX_HTTP_GONSTERS_INTERVAL_RAW;
    ctx->fields = (1u << GN_FIELD_N) - 1;
    ctx->limit = 1000;
    ctx->offset = 0;

    ngx_http_gonsters_history_accept(r, ctx);

    rc = ngx_http_gonsters_arg(r, "start_time", &start);
    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    has_start = (rc == NGX_OK);

    if (!has_start) {
        ngx_http_gonsters_history_error(ctx, "start_time",
                                        "Required parameter missing", NULL);
    } else {
        ngx_http_gonsters_history_time(ctx, "start_time", &start, &ctx->start);
    }

    if (ngx_http_gonsters_arg(r, "end_time", &v) == NGX_OK) {
        ngx_http_gonsters_history_time(ctx, "end_time", &v, &ctx->end);
    }

    if (ngx_http_gonsters_arg(r, "interval", &v) == NGX_OK) {
        for (i = 0; i < NGX_HTTP_GONSTERS_INTERVAL_N; i++) {
            if (v.len == ngx_strlen(ngx_http_gonsters_intervals[i].name)
                && ngx_strncmp(v.data, ngx_http_gonsters_intervals[i].name,
                               v.len) == 0)
            {
                break;
            }
        }

        if (i == NGX_HTTP_GONSTERS_INTERVAL_N) {
            ngx_http_gonsters_history_error(ctx, "interval",
                "Invalid interval value. Must be one of: raw, 1m, 5m, 1h, 1d",
                &v);
        } else {
            ctx->interval = i;
        }
    }

    if (ngx_http_gonsters_arg(r, "fields", &v) == NGX_OK) {
        ctx->fields = 0;
        ngx_http_gonsters_history_fields(ctx, &v);
    }

    if (ngx_http_gonsters_arg(r, "limit", &v) == NGX_OK
        && ngx_http_gonsters_history_int(&v, 1,
                                         NGX_HTTP_GONSTERS_HISTORY_MAX_LIMIT,
                                         &ctx->limit)
           != NGX_OK)
    {
        ngx_http_gonsters_history_error(ctx, "limit",
                          "Must be an integer between 1 and 10000", &v);
    }

    if (ngx_http_gonsters_arg(r, "offset", &v) == NGX_OK
        && ngx_http_gonsters_history_int(&v, 0,
                                         NGX_HTTP_GONSTERS_HISTORY_MAX_OFFSET,
                                         &ctx->offset)
           != NGX_OK)
    {
        ngx_http_gonsters_history_error(ctx, "offset",
                          "Must be an integer between 0 and 1000000000", &v);
    }

    if (ctx->nerrors == 0 && ctx->start > ctx->end) {
        ngx_http_gonsters_history_error(ctx, "start_time",
                                        "Must not be after end_time", &start);
    }

    for (i = 0; i < GN_FIELD_N; i++) {
        if (ctx->fields & (1u << i)) {
            ctx->nfields++;
        }
    }

    return ctx->nerrors ? NGX_DECLINED : NGX_OK;
}


ngx_int_t
ngx_http_gonsters_history_bad_params(ngx_http_request_t *r,
    ngx_http_gonsters_history_ctx_t *ctx)
{
    char        *value;
    cJSON       *root, *arr, *e;
    ngx_uint_t   i;

    root = cJSON_CreateObject();
    if (root == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cJSON_AddStringToObject(root, "status", "error");
    cJSON_AddStringToObject(root, "message", "Invalid query parameters");
    arr = cJSON_AddArrayToObject(root, "errors");

    for (i = 0; arr && i < ctx->nerrors; i++) {
        e = cJSON_CreateObject();
        if (e == NULL) {
            break;
        }

        cJSON_AddItemToArray(arr, e);
        cJSON_AddStringToObject(e, "parameter", ctx->errors[i].parameter);
        cJSON_AddStringToObject(e, "error", ctx->errors[i].error);

        if (!ctx->errors[i].has_value) {
            cJSON_AddNullToObject(e, "value");
            continue;
        }

        /* unescaped values are NUL-terminated (a %00 cuts them short) */
        value = (char *) ctx->errors[i].value.data;
        cJSON_AddStringToObject(e, "value", value);
    }

    return ngx_http_gonsters_send_cjson(r, NGX_HTTP_BAD_REQUEST, root);
}
