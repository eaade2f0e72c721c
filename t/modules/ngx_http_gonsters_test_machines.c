
/*
 * Test-only module: locations that call the machine registry's API for
 * other endpoints (ngx_http_gonsters_machines.h) the way the ingest
 * handlers do.
 *
 *   gonsters_test_machines_resolve IDS;   location: IDS (a complex value,
 *       URI-unescaped) is a comma-separated list of ids; answers 200
 *       {"rc":"ok"|"error","status":"ok"|"error"|"unavailable"|"timeout",
 *       "machines":[{"machine_id","name","location","sensor_type",
 *       "status","factory_id"} or null, ...]}, one entry per id in order.
 *       An empty list answers 400 (the API refuses it).
 *   gonsters_test_machines_touch IDS;     location: touches every id and
 *       answers 204 at once.
 */


#include "ngx_http_gonsters_machines.h"
#include "ngx_http_gonsters_testlib.h"
#include "gn_json.h"


typedef struct {
    ngx_http_complex_value_t     *ids;
    ngx_uint_t                    touch;
} ngx_http_gonsters_test_machines_loc_conf_t;


static ngx_int_t ngx_http_gonsters_test_machines_handler(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_gonsters_test_machines_resolved(
    ngx_http_request_t *r, ngx_int_t rc,
    ngx_http_gonsters_backend_status_e status,
    ngx_http_gonsters_machine_t *machines, void *data);
static void *ngx_http_gonsters_test_machines_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gonsters_test_machines(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);


static ngx_command_t  ngx_http_gonsters_test_machines_commands[] = {

    { ngx_string("gonsters_test_machines_resolve"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_gonsters_test_machines,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gonsters_test_machines_touch"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_gonsters_test_machines,
      NGX_HTTP_LOC_CONF_OFFSET,
      1,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gonsters_test_machines_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    ngx_http_gonsters_test_machines_create_loc_conf, /* create loc conf */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_gonsters_test_machines_module = {
    NGX_MODULE_V1,
    &ngx_http_gonsters_test_machines_module_ctx, /* module context */
    ngx_http_gonsters_test_machines_commands, /* module directives */
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


/* the comma-separated ids of the location's value, in r->pool */
static ngx_int_t
ngx_http_gonsters_test_machines_ids(ngx_http_request_t *r,
    ngx_http_gonsters_test_machines_loc_conf_t *lcf, ngx_str_t **ids,
    ngx_uint_t *n)
{
    u_char      *p, *end, *comma;
    ngx_str_t    value;
    ngx_uint_t   i;

    if (ngx_http_gonsters_test_unescaped(r, lcf->ids, &value) != NGX_OK) {
        return NGX_ERROR;
    }

    *n = 0;
    if (value.len == 0) {
        return NGX_OK;
    }

    *n = 1;
    for (p = value.data; p < value.data + value.len; p++) {
        *n += (*p == ',');
    }

    *ids = ngx_palloc(r->pool, *n * sizeof(ngx_str_t));
    if (*ids == NULL) {
        return NGX_ERROR;
    }

    p = value.data;
    end = value.data + value.len;

    for (i = 0; i < *n; i++) {
        comma = ngx_strlchr(p, end, ',');
        if (comma == NULL) {
            comma = end;
        }
        (*ids)[i].data = p;
        (*ids)[i].len = comma - p;
        p = comma + 1;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_gonsters_test_machines_handler(ngx_http_request_t *r)
{
    ngx_int_t                                    rc;
    ngx_str_t                                   *ids;
    ngx_uint_t                                   i, n;
    ngx_http_gonsters_test_machines_loc_conf_t  *lcf;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    lcf = ngx_http_get_module_loc_conf(r,
                                       ngx_http_gonsters_test_machines_module);

    ids = NULL;
    if (ngx_http_gonsters_test_machines_ids(r, lcf, &ids, &n) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (lcf->touch) {
        for (i = 0; i < n; i++) {
            ngx_http_gonsters_machines_touch(r->connection->log, &ids[i]);
        }
        return NGX_HTTP_NO_CONTENT;
    }

    /* a client that goes away terminates the request: the call detaches */
    r->read_event_handler = ngx_http_test_reading;

    rc = ngx_http_gonsters_machines_resolve(r, ids, n,
                                    ngx_http_gonsters_test_machines_resolved,
                                    NULL);
    if (rc == NGX_DONE) {
        return NGX_DONE;
    }

    return ngx_http_gonsters_send_error(r, NGX_HTTP_BAD_REQUEST,
                                        "resolve refused the ids");
}


static size_t
ngx_http_gonsters_test_machines_member_len(ngx_str_t *s)
{
    return gn_json_escape_len((char *) s->data, s->len) + 32;
}


static u_char *
ngx_http_gonsters_test_machines_member(u_char *p, const char *name,
    ngx_str_t *s, const char *sep)
{
    p = ngx_sprintf(p, "\"%s\":\"", name);
    p = (u_char *) gn_json_escape((char *) p, (char *) s->data, s->len);
    return ngx_sprintf(p, "\"%s", sep);
}


static ngx_int_t
ngx_http_gonsters_test_machines_resolved(ngx_http_request_t *r, ngx_int_t rc,
    ngx_http_gonsters_backend_status_e status,
    ngx_http_gonsters_machine_t *machines, void *data)
{
    u_char                       *p;
    size_t                        len;
    ngx_str_t                     json, *ids;
    ngx_uint_t                    i, n;
    ngx_http_gonsters_machine_t  *m;

    static const char  *statuses[] = {
        "ok", "error", "unavailable", "timeout"
    };

    ids = NULL;
    if (ngx_http_gonsters_test_machines_ids(r,
               ngx_http_get_module_loc_conf(r,
                                     ngx_http_gonsters_test_machines_module),
               &ids, &n)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = 128;
    for (i = 0; i < n; i++) {
        m = &machines[i];
        len += 16 + ngx_http_gonsters_test_machines_member_len(&m->id)
               + ngx_http_gonsters_test_machines_member_len(&m->name)
               + ngx_http_gonsters_test_machines_member_len(&m->location)
               + ngx_http_gonsters_test_machines_member_len(&m->sensor_type)
               + ngx_http_gonsters_test_machines_member_len(&m->status)
               + ngx_http_gonsters_test_machines_member_len(&m->factory_id);
    }

    json.data = ngx_pnalloc(r->pool, len);
    if (json.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(json.data, "{\"rc\":\"%s\",\"status\":\"%s\","
                               "\"machines\":[",
                    rc == NGX_OK ? "ok" : "error", statuses[status]);

    for (i = 0; i < n; i++) {
        m = &machines[i];

        if (i) {
            *p++ = ',';
        }

        if (m->id.len == 0) {
            p = ngx_cpymem(p, "null", 4);
            continue;
        }

        *p++ = '{';
        p = ngx_http_gonsters_test_machines_member(p, "machine_id", &m->id,
                                                   ",");
        p = ngx_http_gonsters_test_machines_member(p, "name", &m->name, ",");
        p = ngx_http_gonsters_test_machines_member(p, "location",
                                                   &m->location, ",");
        p = ngx_http_gonsters_test_machines_member(p, "sensor_type",
                                                   &m->sensor_type, ",");
        p = ngx_http_gonsters_test_machines_member(p, "status", &m->status,
                                                   ",");
        p = ngx_http_gonsters_test_machines_member(p, "factory_id",
                                                   &m->factory_id, "}");
    }

    p = ngx_cpymem(p, "]}", 2);
    json.len = p - json.data;

    return ngx_http_gonsters_send_json(r, NGX_HTTP_OK, &json);
}


static void *
ngx_http_gonsters_test_machines_create_loc_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_gonsters_test_machines_loc_conf_t));
}


static char *
ngx_http_gonsters_test_machines(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_gonsters_test_machines_loc_conf_t  *lcf = conf;

    ngx_str_t                 *value;
    ngx_http_core_loc_conf_t  *clcf;

    if (lcf->ids) {
        return "is duplicate";
    }

    value = cf->args->elts;

    lcf->ids = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
    if (lcf->ids == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_gonsters_test_compile(cf, &value[1], lcf->ids) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    lcf->touch = cmd->offset;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_gonsters_test_machines_handler;

    return NGX_CONF_OK;
}
