/*
 * Test-only module: locations that call the revocation API of
 * ngx_http_gonsters_revoke_module the way logout and refresh will.
 *
 *   gonsters_test_revoke;         location: revokes ?jti=JTI (URI-unescaped)
 *       until ?exp=UNIX-SECONDS (default now + 3600) with
 *       ngx_http_gonsters_revoke().  200 {"status":"ok"} when stored; the
 *       module's 503 (Retry-After) when PostgreSQL is unavailable or timed
 *       out, 500 on an SQL error, 400 for a bad jti.
 *   gonsters_test_revoke_state;   location: {"configured":..,"ready":..,
 *       "count":..,"pruned":..,"syncs":..,"failures":..,"overflows":..,
 *       "watermark":..,"pid":..} of this node's zone.
 */


#include "ngx_http_gonsters_revoke.h"


static ngx_int_t ngx_http_gonsters_test_revoke_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_gonsters_test_revoke_done(ngx_http_request_t *r,
    ngx_http_gonsters_backend_status_e status, void *data);
static ngx_int_t ngx_http_gonsters_test_revoke_state(ngx_http_request_t *r);
static char *ngx_http_gonsters_test_revoke(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


static ngx_command_t  ngx_http_gonsters_test_revoke_commands[] = {

    { ngx_string("gonsters_test_revoke"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_gonsters_test_revoke,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      (void *) ngx_http_gonsters_test_revoke_handler },

    { ngx_string("gonsters_test_revoke_state"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_gonsters_test_revoke,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      (void *) ngx_http_gonsters_test_revoke_state },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gonsters_test_revoke_module_ctx = {
    NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
};


ngx_module_t  ngx_http_gonsters_test_revoke_module = {
    NGX_MODULE_V1,
    &ngx_http_gonsters_test_revoke_module_ctx, /* module context */
    ngx_http_gonsters_test_revoke_commands, /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_gonsters_test_revoke_handler(ngx_http_request_t *r)
{
    u_char     *dst, *src;
    time_t      exp;
    ngx_int_t   rc;
    ngx_str_t   jti, value;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_arg(r, (u_char *) "jti", 3, &value) != NGX_OK) {
        return ngx_http_gonsters_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            "jti is missing");
    }

    jti.data = ngx_pnalloc(r->pool, value.len);
    if (jti.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    dst = jti.data;
    src = value.data;
    ngx_unescape_uri(&dst, &src, value.len, 0);
    jti.len = dst - jti.data;

    exp = ngx_time() + 3600;

    if (ngx_http_arg(r, (u_char *) "exp", 3, &value) == NGX_OK) {
        exp = ngx_atotm(value.data, value.len);
        if (exp == NGX_ERROR) {
            return ngx_http_gonsters_send_error(r, NGX_HTTP_BAD_REQUEST,
                                                "bad exp");
        }
    }

    rc = ngx_http_gonsters_revoke(r, &jti, exp,
                                  ngx_http_gonsters_test_revoke_done, NULL);
    if (rc == NGX_ERROR) {
        return ngx_http_gonsters_send_error(r, NGX_HTTP_BAD_REQUEST,
                                            "not started");
    }

    return rc;
}


static ngx_int_t
ngx_http_gonsters_test_revoke_done(ngx_http_request_t *r,
    ngx_http_gonsters_backend_status_e status, void *data)
{
    ngx_str_t  ok = ngx_string("{\"status\":\"ok\"}");

    switch (status) {

    case NGX_HTTP_GONSTERS_BACKEND_OK:
        return ngx_http_gonsters_send_json(r, NGX_HTTP_OK, &ok);

    case NGX_HTTP_GONSTERS_BACKEND_ERROR:
        return ngx_http_gonsters_send_error(r,
                                            NGX_HTTP_INTERNAL_SERVER_ERROR,
                                            "revocation failed");

    default:
        return ngx_http_gonsters_send_unavailable(r, NGX_HTTP_GONSTERS_POSTGRES,
                                                  status);
    }
}


static ngx_int_t
ngx_http_gonsters_test_revoke_state(ngx_http_request_t *r)
{
    ngx_int_t                          rc;
    ngx_str_t                          json;
    ngx_http_gonsters_revoke_state_t   st;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ngx_http_gonsters_revoke_get_state(r, &st);

    json.data = ngx_pnalloc(r->pool, 256 + 8 * NGX_INT64_LEN);
    if (json.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    json.len = ngx_sprintf(json.data,
                           "{\"configured\":%ui,\"ready\":%ui,\"count\":%ui,"
                           "\"pruned\":%ui,\"syncs\":%ui,\"failures\":%ui,"
                           "\"overflows\":%ui,\"watermark\":%L,\"pid\":%P}",
                           st.configured, st.ready, st.count, st.pruned,
                           st.syncs, st.failures, st.overflows, st.watermark,
                           ngx_pid)
               - json.data;

    return ngx_http_gonsters_send_json(r, NGX_HTTP_OK, &json);
}


static char *
ngx_http_gonsters_test_revoke(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = (ngx_http_handler_pt) cmd->post;

    return NGX_CONF_OK;
}
