/*
 * What clients send to the machine registry: the machine body of POST and
 * PATCH, the query arguments of the list, the id in the path; and the 400
 * answers that name a "field" or a "parameter".
 */


#include "ngx_http_gonsters_module.h"

#include <cjson/cJSON.h>

#include "ngx_http_gonsters_machines.h"
#include "ngx_http_gonsters_machines_parse.h"
#include "gn_utf8.h"
#include "gn_uuid.h"
#include "gn_json.h"
#include "gn_query.h"


static const char  *ngx_http_gonsters_machine_statuses[] = {
    "active", "inactive", "maintenance", "error", NULL
};


/* the fields of a machine, their column bounds in characters */
static ngx_http_gonsters_machine_field_t  ngx_http_gonsters_machine_fields[] =
{
    { "name", 255, "must be 1 to 255 characters" },
    { "location", 500, "must be 1 to 500 characters" },
    { "sensor_type", 100, "must be 1 to 100 characters" },
    { "status", 0, "must be one of: active, inactive, maintenance, error" },
    { "factory_id", 50, "must be 1 to 50 characters" },
    { NULL, 0, NULL }
};


size_t
ngx_http_gonsters_utf8_length(ngx_str_t *s)
{
    size_t  i, n;

    for (i = 0, n = 0; i < s->len; i++) {
        if ((s->data[i] & 0xc0) != 0x80) {
            n++;
        }
    }

    return n;
}


ngx_uint_t
ngx_http_gonsters_machines_valid_status(ngx_str_t *s)
{
    ngx_uint_t  i;

    for (i = 0; ngx_http_gonsters_machine_statuses[i]; i++) {
        if (s->len == ngx_strlen(ngx_http_gonsters_machine_statuses[i])
            && ngx_strncmp(s->data, ngx_http_gonsters_machine_statuses[i],
                           s->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


/* a value of a field: NGX_OK, or the error text */
static const char *
ngx_http_gonsters_machine_check(ngx_http_gonsters_machine_field_t *f,
    ngx_str_t *v)
{
    size_t  chars;

    if (f->max == 0) {
        return ngx_http_gonsters_machines_valid_status(v) ? NULL : f->error;
    }

    chars = ngx_http_gonsters_utf8_length(v);

    if (chars == 0 || chars > f->max) {
        return f->error;
    }

    /* a name made of blanks or holding line breaks is a mistake, not data */
    if (ngx_strlchr(v->data, v->data + v->len, '\n')
        || ngx_strlchr(v->data, v->data + v->len, '\r'))
    {
        return "must not contain line breaks";
    }

    return NULL;
}


/*
 * The machine in a POST (create: name, location and sensor_type required)
 * or PATCH body (at least one field).  Members that are not fields of a
 * machine are errors, so that a typo is never silently ignored.
 */
ngx_int_t
ngx_http_gonsters_machines_body(ngx_http_gonsters_users_ctx_t *ctx,
    ngx_uint_t create, ngx_http_gonsters_machine_body_t *mb,
    ngx_http_gonsters_field_errors_t *errs)
{
    cJSON                              *item;
    ngx_int_t                           rc;
    ngx_str_t                           v;
    ngx_uint_t                          i;
    const char                         *error;
    ngx_http_gonsters_machine_field_t  *f;

    ngx_memzero(mb, sizeof(ngx_http_gonsters_machine_body_t));

    for (i = 0, f = ngx_http_gonsters_machine_fields; f->name; i++, f++) {

        error = NULL;
        rc = ngx_http_gonsters_users_string(ctx, f->name, &v, &error);

        if (rc == NGX_DECLINED) {
            if (create && i <= GN_MF_SENSOR_TYPE) {
                ngx_http_gonsters_users_error(errs, f->name, "is required");
            } else if (cJSON_GetObjectItemCaseSensitive(ctx->body, f->name)) {
                ngx_http_gonsters_users_error(errs, f->name,
                                              "must be a string");
            }
            continue;
        }

        if (rc == NGX_OK) {
            error = ngx_http_gonsters_machine_check(f, &v);
        }

        if (error) {
            ngx_http_gonsters_users_error(errs, f->name, error);
            continue;
        }

        mb->value[i] = v;
        mb->present[i] = 1;
        mb->n++;
    }

    cJSON_ArrayForEach(item, ctx->body) {
        for (f = ngx_http_gonsters_machine_fields; f->name; f++) {
            if (ngx_strcmp(item->string, f->name) == 0) {
                break;
            }
        }

        if (f->name == NULL) {
            ngx_http_gonsters_users_error(errs, item->string,
                                          "is not a field of a machine");
        }
    }

    if (!create && mb->n == 0 && errs->n == 0) {
        ngx_http_gonsters_users_error(errs, "body",
                                      "must have at least one of: name, "
                                      "location, sensor_type, status, "
                                      "factory_id");
    }

    return errs->n ? NGX_ERROR : NGX_OK;
}


/* ---- query arguments ---------------------------------------------------- */


void
ngx_http_gonsters_param_error(ngx_http_gonsters_param_errors_t *errs,
    const char *parameter, const char *error, ngx_str_t *value)
{
    if (errs->n == NGX_HTTP_GONSTERS_MAX_ERRORS) {
        return;
    }

    errs->e[errs->n].parameter = parameter;
    errs->e[errs->n].error = error;

    if (value) {
        errs->e[errs->n].value = *value;
        errs->e[errs->n].has_value = 1;

    } else {
        errs->e[errs->n].has_value = 0;
    }

    errs->n++;
}


/* the seed's 400: {"status":"error","message":...,"errors":[{"parameter",
 * "error","value"}]} */
ngx_int_t
ngx_http_gonsters_param_errors(ngx_http_request_t *r, const char *message,
    ngx_http_gonsters_param_errors_t *errs)
{
    cJSON       *root, *arr, *e;
    size_t       len;
    ngx_uint_t   i;
    u_char      *v, *p;

    root = cJSON_CreateObject();
    if (root == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cJSON_AddStringToObject(root, "status", "error");
    cJSON_AddStringToObject(root, "message", message);
    arr = cJSON_AddArrayToObject(root, "errors");

    for (i = 0; arr && i < errs->n; i++) {
        e = cJSON_CreateObject();
        if (e == NULL) {
            break;
        }

        cJSON_AddStringToObject(e, "parameter", errs->e[i].parameter);
        cJSON_AddStringToObject(e, "error", errs->e[i].error);

        if (errs->e[i].has_value) {
            /* any bytes, as valid JSON (invalid UTF-8 replaced) */
            len = gn_json_escape_len((char *) errs->e[i].value.data,
                                     errs->e[i].value.len);
            v = ngx_pnalloc(r->pool, len + 3);
            if (v == NULL) {
                cJSON_Delete(root);
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
            v[0] = '"';
            p = (u_char *) gn_json_escape((char *) v + 1,
                                          (char *) errs->e[i].value.data,
                                          errs->e[i].value.len);
            *p++ = '"';
            *p = '\0';
            cJSON_AddRawToObject(e, "value", (char *) v);
        }

        cJSON_AddItemToArray(arr, e);
    }

    return ngx_http_gonsters_send_cjson(r, NGX_HTTP_BAD_REQUEST, root);
}


static ngx_int_t
ngx_http_gonsters_machines_number(ngx_str_t *v, ngx_int_t min, ngx_int_t max,
    ngx_int_t *out)
{
    uint64_t  n;

    if (gn_query_uint((char *) v->data, v->len, (uint64_t) min,
                      (uint64_t) max, &n)
        != 0)
    {
        return NGX_ERROR;
    }

    *out = (ngx_int_t) n;

    return NGX_OK;
}


static void ngx_http_gonsters_machines_arg(ngx_http_gonsters_list_query_t *q,
    ngx_str_t *name, ngx_str_t *value, ngx_http_gonsters_param_errors_t *errs);


static void
ngx_http_gonsters_machines_filter(ngx_http_gonsters_list_query_t *q,
    ngx_uint_t i, const char *name, size_t max, const char *error,
    ngx_str_t *v, ngx_http_gonsters_param_errors_t *errs)
{
    size_t  chars;

    if (q->present[i]) {
        ngx_http_gonsters_param_error(errs, name, "is given more than once",
                                      v);
        return;
    }

    q->present[i] = 1;

    if (!gn_utf8_valid((char *) v->data, v->len)) {
        ngx_http_gonsters_param_error(errs, name, "must be valid UTF-8", v);
        return;
    }

    /* no stored value holds one (bodies refuse \u0000), and PostgreSQL
     * parameters are C strings */
    if (ngx_strlchr(v->data, v->data + v->len, '\0')) {
        ngx_http_gonsters_param_error(errs, name,
                                      "must not contain NUL characters", v);
        return;
    }

    chars = ngx_http_gonsters_utf8_length(v);

    if (max == 0 ? !ngx_http_gonsters_machines_valid_status(v)
                 : chars == 0 || chars > max)
    {
        ngx_http_gonsters_param_error(errs, name, error, v);
        return;
    }

    q->filter[i] = *v;
}


ngx_int_t
ngx_http_gonsters_machines_query(ngx_http_request_t *r,
    ngx_http_gonsters_list_query_t *q, ngx_http_gonsters_param_errors_t *errs)
{
    size_t      nl, vl;
    ngx_str_t   name, value;
    gn_query_t  gq;

    ngx_memzero(q, sizeof(ngx_http_gonsters_list_query_t));
    q->limit = NGX_HTTP_GONSTERS_MACHINES_LIMIT_DEFAULT;

    gn_query_init(&gq, (char *) r->args.data, r->args.len);

    for ( ;; ) {
        /* fresh buffers: the filters keep pointing into them */
        name.data = ngx_pnalloc(r->pool, r->args.len + 1);
        value.data = ngx_pnalloc(r->pool, r->args.len + 1);
        if (name.data == NULL || value.data == NULL) {
            return NGX_ERROR;
        }

        if (!gn_query_next(&gq, (char *) name.data, &nl, (char *) value.data,
                           &vl))
        {
            break;
        }

        name.len = nl;
        value.len = vl;

        ngx_http_gonsters_machines_arg(q, &name, &value, errs);
    }

    return errs->n ? NGX_DECLINED : NGX_OK;
}


static void
ngx_http_gonsters_machines_arg(ngx_http_gonsters_list_query_t *q,
    ngx_str_t *name, ngx_str_t *value, ngx_http_gonsters_param_errors_t *errs)
{
    ngx_int_t  n;

#define GN_IS(s)  (name->len == sizeof(s) - 1                                \
                   && ngx_strncmp(name->data, s, sizeof(s) - 1) == 0)

    if (GN_IS("location")) {
        ngx_http_gonsters_machines_filter(q, GN_MQ_LOCATION, "location", 500,
                                          "must be 1 to 500 characters",
                                          value, errs);

    } else if (GN_IS("status")) {
        ngx_http_gonsters_machines_filter(q, GN_MQ_STATUS, "status", 0,
                                          "Invalid status value. Must be one "
                                          "of: active, inactive, maintenance,"
                                          " error", value, errs);

    } else if (GN_IS("sensor_type")) {
        ngx_http_gonsters_machines_filter(q, GN_MQ_SENSOR_TYPE, "sensor_type", 100,
                                          "must be 1 to 100 characters",
                                          value, errs);

    } else if (GN_IS("limit")) {
        if (q->has_limit++) {
            ngx_http_gonsters_param_error(errs, "limit",
                                          "is given more than once", value);

        } else if (ngx_http_gonsters_machines_number(value, 1,
                                      NGX_HTTP_GONSTERS_MACHINES_LIMIT_MAX, &n)
                   != NGX_OK)
        {
            ngx_http_gonsters_param_error(errs, "limit",
                                          "Invalid limit. Must be an integer "
                                          "from 1 to 1000", value);
        } else {
            q->limit = n;
        }

    } else if (GN_IS("offset")) {
        if (q->has_offset++) {
            ngx_http_gonsters_param_error(errs, "offset",
                                          "is given more than once", value);

        } else if (ngx_http_gonsters_machines_number(value, 0,
                                    NGX_HTTP_GONSTERS_MACHINES_OFFSET_MAX, &n)
                   != NGX_OK)
        {
            ngx_http_gonsters_param_error(errs, "offset",
                                          "Invalid offset. Must be an "
                                          "integer from 0 to 1000000000",
                                          value);
        } else {
            q->offset = n;
        }

    } else {
        /* the parameter's name is what is wrong: it goes in "value" */
        ngx_http_gonsters_param_error(errs, "query",
                                      "Unknown parameter. Known: location, "
                                      "status, sensor_type, limit, offset",
                                      name);
    }

#undef GN_IS
}


/*
 * The query in one unambiguous string for the list cache's key: each
 * filter as "-" or "<bytes>:<value>", then limit and offset.
 */
ngx_int_t
ngx_http_gonsters_machines_query_key(ngx_pool_t *pool,
    ngx_http_gonsters_list_query_t *q, ngx_str_t *key)
{
    u_char      *p;
    size_t       len;
    ngx_uint_t   i;

    len = 2 * (NGX_INT_T_LEN + 1);
    for (i = 0; i < GN_MQ_N; i++) {
        len += NGX_SIZE_T_LEN + 2 + q->filter[i].len;
    }

    key->data = ngx_pnalloc(pool, len);
    if (key->data == NULL) {
        return NGX_ERROR;
    }

    p = key->data;

    for (i = 0; i < GN_MQ_N; i++) {
        if (q->filter[i].data == NULL) {
            *p++ = '-';
        } else {
            p = ngx_sprintf(p, "%uz:%V", q->filter[i].len, &q->filter[i]);
        }
        *p++ = '|';
    }

    p = ngx_sprintf(p, "%i|%i", q->limit, q->offset);
    key->len = p - key->data;

    return NGX_OK;
}


/*
 * The machine id of /api/v1/data/machine/{id}: the rest of the URI after
 * a prefix location's name, or the last path segment under a regex
 * location; lower-cased into id (GN_UUID_LEN bytes in r->pool).
 * NGX_OK, or NGX_DECLINED with the raw text in *raw.
 */
ngx_int_t
ngx_http_gonsters_machines_path_id(ngx_http_request_t *r, ngx_str_t *id,
    ngx_str_t *raw)
{
    u_char                    *p;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

#if (NGX_PCRE)
    if (clcf->regex == NULL
#else
    if (1
#endif
        && r->uri.len >= clcf->name.len
        && ngx_strncmp(r->uri.data, clcf->name.data, clcf->name.len) == 0)
    {
        raw->data = r->uri.data + clcf->name.len;
        raw->len = r->uri.len - clcf->name.len;

    } else {
        p = r->uri.data + r->uri.len;
        while (p > r->uri.data && p[-1] != '/') {
            p--;
        }
        raw->data = p;
        raw->len = r->uri.data + r->uri.len - p;
    }

    if (!gn_uuid_is_valid((char *) raw->data, raw->len)) {
        return NGX_DECLINED;
    }

    id->data = ngx_pnalloc(r->pool, GN_UUID_LEN + 1);
    if (id->data == NULL) {
        return NGX_ERROR;
    }

    gn_uuid_lower((char *) id->data, (char *) raw->data);
    id->data[GN_UUID_LEN] = '\0';
    id->len = GN_UUID_LEN;

    return NGX_OK;
}
