
/*
 * Gonsters: industrial-IoT telemetry API inside nginx.
 * Directive table, configuration create/merge and the content dispatcher.
 */


#include "ngx_http_gonsters_module.h"


#define NGX_HTTP_GONSTERS_ENDPOINT_NAMES  "health"


static ngx_int_t ngx_http_gonsters_handler(ngx_http_request_t *r);
static void *ngx_http_gonsters_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gonsters_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_gonsters_endpoint(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


/* keep NGX_HTTP_GONSTERS_ENDPOINT_NAMES in step with this table */
static ngx_conf_enum_t  ngx_http_gonsters_endpoints[] = {
    { ngx_string("health"), NGX_HTTP_GONSTERS_ENDPOINT_HEALTH },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_gonsters_commands[] = {

    { ngx_string("gonsters_endpoint"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_gonsters_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gonsters_loc_conf_t, endpoint),
      &ngx_http_gonsters_endpoints },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gonsters_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gonsters_create_loc_conf,     /* create location configuration */
    ngx_http_gonsters_merge_loc_conf       /* merge location configuration */
};


ngx_module_t  ngx_http_gonsters_module = {
    NGX_MODULE_V1,
    &ngx_http_gonsters_module_ctx,         /* module context */
    ngx_http_gonsters_commands,            /* module directives */
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


static ngx_int_t
ngx_http_gonsters_handler(ngx_http_request_t *r)
{
    ngx_http_gonsters_loc_conf_t  *glcf;

    glcf = ngx_http_get_module_loc_conf(r, ngx_http_gonsters_module);

    switch (glcf->endpoint) {

    case NGX_HTTP_GONSTERS_ENDPOINT_HEALTH:
        return ngx_http_gonsters_health_handler(r);

    default:
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "gonsters: location has no endpoint");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


static void *
ngx_http_gonsters_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gonsters_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gonsters_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->endpoint = NGX_CONF_UNSET_UINT;

    return conf;
}


static char *
ngx_http_gonsters_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_gonsters_loc_conf_t *prev = parent;
    ngx_http_gonsters_loc_conf_t *conf = child;

    /*
     * The endpoint is not inherited: a nested location serves what its own
     * directive says (the content handler is per location as well).
     */
    (void) prev;

    if (conf->endpoint == NGX_CONF_UNSET_UINT) {
        conf->endpoint = NGX_HTTP_GONSTERS_ENDPOINT_UNSET;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_gonsters_endpoint(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                      *rv;
    ngx_str_t                 *value;
    ngx_conf_enum_t           *e;
    ngx_http_core_loc_conf_t  *clcf;

    value = cf->args->elts;

    /*
     * Checked here rather than by ngx_conf_set_enum_slot() alone, whose
     * message names neither the directive nor the accepted values.
     */
    for (e = ngx_http_gonsters_endpoints; e->name.len; e++) {
        if (e->name.len == value[1].len
            && ngx_strcasecmp(e->name.data, value[1].data) == 0)
        {
            break;
        }
    }

    if (e->name.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive, "
                           "it must be one of: %s",
                           &value[1], &cmd->name,
                           NGX_HTTP_GONSTERS_ENDPOINT_NAMES);
        return NGX_CONF_ERROR;
    }

    rv = ngx_conf_set_enum_slot(cf, cmd, conf);
    if (rv != NGX_CONF_OK) {
        return rv;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_gonsters_handler;

    return NGX_CONF_OK;
}
