/*
 * Answers of the ingest endpoint, field for field as the seed's §1.2 A:
 * 201 {"status":"success","message","summary","details"}, 207 the same
 * with "partial_success" and "errors", 400 {"status":"error","message",
 * "errors":[{"field","error","value"}]}.  Errors beyond
 * gonsters_ingest_max_errors are counted in "errors_omitted".
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_ingest.h"
#include "gn_time.h"


ngx_int_t
ngx_http_gonsters_ingest_send(ngx_http_request_t *r, ngx_uint_t status,
    cJSON *root)
{
    char       *text;
    ngx_str_t   json;

    if (root == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);

    if (text == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    json.len = ngx_strlen(text);
    json.data = ngx_pnalloc(r->pool, json.len);
    if (json.data == NULL) {
        cJSON_free(text);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(json.data, text, json.len);
    cJSON_free(text);

    return ngx_http_gonsters_send_json(r, status, &json);
}


static cJSON *
ngx_http_gonsters_ingest_errors(ngx_http_gonsters_ingest_ctx_t *ctx,
    cJSON *root)
{
    cJSON       *arr, *e, *v;
    ngx_uint_t   i;

    arr = cJSON_AddArrayToObject(root, "errors");
    if (arr == NULL) {
        return NULL;
    }

    for (i = 0; i < ctx->errs.n; i++) {
        e = cJSON_CreateObject();
        if (e == NULL) {
            return NULL;
        }

        cJSON_AddItemToArray(arr, e);

        if (cJSON_AddStringToObject(e, "field", ctx->errs.items[i].field)
            == NULL
            || cJSON_AddStringToObject(e, "error", ctx->errs.items[i].error)
               == NULL)
        {
            return NULL;
        }

        v = ctx->errs.items[i].value
            ? cJSON_Duplicate(ctx->errs.items[i].value, 1) : cJSON_CreateNull();
        if (v == NULL) {
            return NULL;
        }

        cJSON_AddItemToObject(e, "value", v);

        if (ngx_strcmp(ctx->errs.items[i].field, "body") == 0
            && ctx->in.json_offset
            && cJSON_AddNumberToObject(e, "position",
                                       (double) ctx->in.json_offset)
               == NULL)
        {
            return NULL;
        }
    }

    if (ctx->errs.dropped
        && cJSON_AddNumberToObject(root, "errors_omitted",
                                   (double) ctx->errs.dropped)
           == NULL)
    {
        return NULL;
    }

    return arr;
}


ngx_int_t
ngx_http_gonsters_ingest_invalid(ngx_http_request_t *r,
    ngx_http_gonsters_ingest_ctx_t *ctx, const char *message)
{
    cJSON  *root;

    root = cJSON_CreateObject();
    if (root == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (cJSON_AddStringToObject(root, "status", "error") == NULL
        || cJSON_AddStringToObject(root, "message", message) == NULL
        || ngx_http_gonsters_ingest_errors(ctx, root) == NULL)
    {
        cJSON_Delete(root);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_ingest_send(r, NGX_HTTP_BAD_REQUEST, root);
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

    return ngx_http_gonsters_ingest_send(r, status, root);
}


static cJSON *
ngx_http_gonsters_ingest_details(ngx_http_gonsters_ingest_ctx_t *ctx,
    cJSON *root)
{
    cJSON                *arr, *d;
    ngx_uint_t            i;
    gn_ingest_machine_t  *m;

    arr = cJSON_AddArrayToObject(root, "details");
    if (arr == NULL) {
        return NULL;
    }

    for (i = 0; i < ctx->in.nmachines; i++) {
        m = &ctx->in.machines[i];

        d = cJSON_CreateObject();
        if (d == NULL) {
            return NULL;
        }

        cJSON_AddItemToArray(arr, d);

        /* as sent when it was not a UUID (or null) */
        if (m->machine_id[0]) {
            cJSON_AddStringToObject(d, "machine_id", m->machine_id);

        } else if (cJSON_IsString(m->machine_id_value)) {
            cJSON_AddStringToObject(d, "machine_id",
                                    m->machine_id_value->valuestring);

        } else {
            cJSON_AddNullToObject(d, "machine_id");
        }

        if (ctx->state[i] == NGX_HTTP_GONSTERS_INGEST_WRITTEN) {
            cJSON_AddNumberToObject(d, "readings_count", (double) m->nreadings);
            cJSON_AddStringToObject(d, "status", "success");

        } else {
            cJSON_AddNumberToObject(d, "readings_count", 0);
            cJSON_AddStringToObject(d, "status", "failed");
        }
    }

    return arr;
}


ngx_int_t
ngx_http_gonsters_ingest_reply(ngx_http_request_t *r,
    ngx_http_gonsters_ingest_ctx_t *ctx)
{
    char        processed[GN_TIME_ISO8601_MAX];
    cJSON      *root, *summary;
    ngx_uint_t  partial;

    partial = (ctx->machines < ctx->in.nmachines);

    (void) gn_time_format_iso8601(ngx_http_gonsters_now_ns(), 6, processed,
                                  sizeof(processed));

    root = cJSON_CreateObject();
    if (root == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    summary = cJSON_CreateObject();
    if (summary == NULL) {
        cJSON_Delete(root);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cJSON_AddStringToObject(root, "status",
                            partial ? "partial_success" : "success");
    cJSON_AddStringToObject(root, "message",
                            partial ? "Batch ingestion completed with errors"
                                    : "Batch ingestion completed");
    cJSON_AddItemToObject(root, "summary", summary);

    if (ctx->in.gateway_id) {
        cJSON_AddStringToObject(summary, "gateway_id", ctx->in.gateway_id);
    } else {
        cJSON_AddNullToObject(summary, "gateway_id");
    }

    cJSON_AddStringToObject(summary, "processed_at", processed);
    cJSON_AddNumberToObject(summary, "total_machines",
                            (double) ctx->in.nmachines);
    cJSON_AddNumberToObject(summary, "total_readings", (double) ctx->readings);

    if (ngx_http_gonsters_ingest_details(ctx, root) == NULL
        || (partial && ngx_http_gonsters_ingest_errors(ctx, root) == NULL))
    {
        cJSON_Delete(root);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_ingest_send(r, partial ? 207 : NGX_HTTP_CREATED,
                                         root);
}
