/*
 * Answers of the ingest endpoint, field for field as the seed's §1.2 A:
 * 201 {"status":"success","message","summary","details"}, 207 the same
 * with "partial_success" and "errors", 400 {"status":"error","message",
 * "errors":[{"field","error","value"}]}.  Errors beyond
 * gonsters_ingest_max_errors are counted in "errors_omitted".
 */


#include "ngx_http_gonsters_module.h"

#include <cjson/cJSON.h>

#include "ngx_http_gonsters_ingest.h"
#include "gn_time.h"
#include "gn_json.h"


/*
 * The printed "value" of each error: the value as sent, printed by cJSON
 * as it always was (numbers and strings in cJSON's form), copied into
 * r->pool.  Errors are few and small; a value cJSON cannot read (a number
 * longer than its 63 bytes) is shown as sent.
 */
static ngx_int_t
ngx_http_gonsters_ingest_values(ngx_http_request_t *r,
    ngx_http_gonsters_ingest_ctx_t *ctx, ngx_str_t **values)
{
    char            *text;
    cJSON           *item;
    ngx_str_t       *v;
    ngx_uint_t       i;
    gn_json_text_t  *value;

    v = ngx_palloc(r->pool, (ctx->errs.n + 1) * sizeof(ngx_str_t));
    if (v == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < ctx->errs.n; i++) {
        value = &ctx->errs.items[i].value;

        if (value->text == NULL) {
            ngx_str_set(&v[i], "null");
            continue;
        }

        item = cJSON_ParseWithLength(value->text, value->len);
        if (item == NULL) {
            v[i].data = (u_char *) value->text;
            v[i].len = value->len;
            continue;
        }

        text = cJSON_PrintUnformatted(item);
        cJSON_Delete(item);

        if (text == NULL) {
            return NGX_ERROR;
        }

        v[i].len = ngx_strlen(text);
        v[i].data = ngx_pnalloc(r->pool, v[i].len);
        if (v[i].data == NULL) {
            cJSON_free(text);
            return NGX_ERROR;
        }

        ngx_memcpy(v[i].data, text, v[i].len);
        cJSON_free(text);
    }

    *values = v;
    return NGX_OK;
}


static size_t
ngx_http_gonsters_ingest_escaped_len(const char *s)
{
    return gn_json_escape_len(s, ngx_strlen(s));
}


static u_char *
ngx_http_gonsters_ingest_escape(u_char *p, const char *s)
{
    return (u_char *) gn_json_escape((char *) p, s, ngx_strlen(s));
}


/* ,"errors":[...] and "errors_omitted" when errors were dropped */
static size_t
ngx_http_gonsters_ingest_errors_len(ngx_http_gonsters_ingest_ctx_t *ctx,
    ngx_str_t *values)
{
    size_t      len;
    ngx_uint_t  i;

    len = sizeof(",\"errors\":[],\"errors_omitted\":") + NGX_SIZE_T_LEN;

    for (i = 0; i < ctx->errs.n; i++) {
        len += sizeof("{\"field\":\"\",\"error\":\"\",\"value\":,"
                      "\"position\":},") + NGX_SIZE_T_LEN
               + ngx_http_gonsters_ingest_escaped_len(ctx->errs.items[i].field)
               + ngx_http_gonsters_ingest_escaped_len(ctx->errs.items[i].error)
               + values[i].len;
    }

    return len;
}


static u_char *
ngx_http_gonsters_ingest_errors(u_char *p, ngx_http_gonsters_ingest_ctx_t *ctx,
    ngx_str_t *values)
{
    gn_error_t  *e;
    ngx_uint_t   i;

    p = ngx_cpymem(p, ",\"errors\":[", sizeof(",\"errors\":[") - 1);

    for (i = 0; i < ctx->errs.n; i++) {
        e = &ctx->errs.items[i];

        p = ngx_cpymem(p, i ? ",{\"field\":\"" : "{\"field\":\"",
                       i ? sizeof(",{\"field\":\"") - 1
                         : sizeof("{\"field\":\"") - 1);
        p = ngx_http_gonsters_ingest_escape(p, e->field);
        p = ngx_cpymem(p, "\",\"error\":\"", sizeof("\",\"error\":\"") - 1);
        p = ngx_http_gonsters_ingest_escape(p, e->error);
        p = ngx_cpymem(p, "\",\"value\":", sizeof("\",\"value\":") - 1);
        p = ngx_cpymem(p, values[i].data, values[i].len);

        /* where a malformed body stopped parsing */
        if (ngx_strcmp(e->field, "body") == 0 && ctx->in.json_offset) {
            p = ngx_sprintf(p, ",\"position\":%uz", ctx->in.json_offset);
        }

        *p++ = '}';
    }

    *p++ = ']';

    if (ctx->errs.dropped) {
        p = ngx_sprintf(p, ",\"errors_omitted\":%uz", ctx->errs.dropped);
    }

    return p;
}


ngx_int_t
ngx_http_gonsters_ingest_invalid(ngx_http_request_t *r,
    ngx_http_gonsters_ingest_ctx_t *ctx, const char *message)
{
    u_char     *p;
    size_t      len;
    ngx_str_t   json, *values;

    if (ngx_http_gonsters_ingest_values(r, ctx, &values) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = sizeof("{\"status\":\"error\",\"message\":\"\"}")
          + ngx_http_gonsters_ingest_escaped_len(message)
          + ngx_http_gonsters_ingest_errors_len(ctx, values);

    json.data = ngx_pnalloc(r->pool, len);
    if (json.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(json.data, "{\"status\":\"error\",\"message\":\"",
                   sizeof("{\"status\":\"error\",\"message\":\"") - 1);
    p = ngx_http_gonsters_ingest_escape(p, message);
    *p++ = '"';
    p = ngx_http_gonsters_ingest_errors(p, ctx, values);
    *p++ = '}';

    json.len = p - json.data;

    return ngx_http_gonsters_send_json(r, NGX_HTTP_BAD_REQUEST, &json);
}


ngx_int_t
ngx_http_gonsters_ingest_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *message, const char *error)
{
    cJSON  *root, *arr, *e;

    root = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(root, "errors");
    e = cJSON_CreateObject();

    if (root == NULL || arr == NULL || e == NULL) {
        cJSON_Delete(root);
        cJSON_Delete(e);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cJSON_AddItemToArray(arr, e);
    cJSON_AddStringToObject(root, "status", "error");
    cJSON_AddStringToObject(root, "message", message);
    cJSON_AddStringToObject(e, "field", "body");
    cJSON_AddStringToObject(e, "error", error);
    cJSON_AddNullToObject(e, "value");

    return ngx_http_gonsters_send_cjson(r, status, root);
}


/* the machine id of a batch entry as given: canonical, the string sent,
 * or null */
static const char *
ngx_http_gonsters_ingest_entry_id(gn_ingest_machine_t *m)
{
    if (m->machine_id[0]) {
        return m->machine_id;
    }

    return m->machine_id_sent;
}


/*
 * Written by hand rather than through a cJSON tree: the answer of a batch
 * of 1000 machines is on every request's path.
 */
ngx_int_t
ngx_http_gonsters_ingest_reply(ngx_http_request_t *r,
    ngx_http_gonsters_ingest_ctx_t *ctx)
{
    u_char               *p;
    size_t                len;
    ngx_str_t             json, *values;
    ngx_uint_t            i, partial;
    const char           *id;
    gn_ingest_machine_t  *m;
    char                  processed[GN_TIME_ISO8601_MAX];

    partial = (ctx->machines < ctx->in.nmachines);
    values = NULL;

    if (partial && ngx_http_gonsters_ingest_values(r, ctx, &values) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) gn_time_format_iso8601(ngx_http_gonsters_now_ns(), 6, processed,
                                  sizeof(processed));

    len = 256 + sizeof(processed)
          + (ctx->in.gateway_id
             ? ngx_http_gonsters_ingest_escaped_len(ctx->in.gateway_id) : 0)
          + (partial ? ngx_http_gonsters_ingest_errors_len(ctx, values) : 0);

    for (i = 0; i < ctx->in.nmachines; i++) {
        id = ngx_http_gonsters_ingest_entry_id(&ctx->in.machines[i]);
        len += sizeof("{\"machine_id\":\"\",\"readings_count\":,"
                      "\"status\":\"success\"},") + NGX_SIZE_T_LEN
               + (id ? ngx_http_gonsters_ingest_escaped_len(id) : 0);
    }

    json.data = ngx_pnalloc(r->pool, len);
    if (json.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(json.data,
                    "{\"status\":\"%s\",\"message\":\"%s\",\"summary\":"
                    "{\"gateway_id\":",
                    partial ? "partial_success" : "success",
                    partial ? "Batch ingestion completed with errors"
                            : "Batch ingestion completed");

    if (ctx->in.gateway_id) {
        *p++ = '"';
        p = ngx_http_gonsters_ingest_escape(p, ctx->in.gateway_id);
        *p++ = '"';
    } else {
        p = ngx_cpymem(p, "null", 4);
    }

    p = ngx_sprintf(p, ",\"processed_at\":\"%s\",\"total_machines\":%uz,"
                    "\"total_readings\":%ui},\"details\":[",
                    processed, ctx->in.nmachines, ctx->readings);

    for (i = 0; i < ctx->in.nmachines; i++) {
        m = &ctx->in.machines[i];
        id = ngx_http_gonsters_ingest_entry_id(m);

        p = ngx_cpymem(p, i ? ",{\"machine_id\":" : "{\"machine_id\":",
                       i ? sizeof(",{\"machine_id\":") - 1
                         : sizeof("{\"machine_id\":") - 1);

        if (id) {
            *p++ = '"';
            p = ngx_http_gonsters_ingest_escape(p, id);
            *p++ = '"';
        } else {
            p = ngx_cpymem(p, "null", 4);
        }

        if (ctx->state[i] == NGX_HTTP_GONSTERS_INGEST_WRITTEN) {
            p = ngx_sprintf(p, ",\"readings_count\":%uz,\"status\":\"success\"}",
                            m->nreadings);
        } else {
            p = ngx_cpymem(p, ",\"readings_count\":0,\"status\":\"failed\"}",
                           sizeof(",\"readings_count\":0,\"status\":\"failed\"}")
                           - 1);
        }
    }

    *p++ = ']';

    if (partial) {
        p = ngx_http_gonsters_ingest_errors(p, ctx, values);
    }

    *p++ = '}';

    json.len = p - json.data;

    return ngx_http_gonsters_send_json(r, partial ? 207 : NGX_HTTP_CREATED,
                                       &json);
}
