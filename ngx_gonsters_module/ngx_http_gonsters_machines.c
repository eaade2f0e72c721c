/*
 * ngx_http_gonsters_machines_module: the directives of the machine
 * registry and its per-worker timers (see ngx_http_gonsters_machines.h for
 * the files that serve it).
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_machines.h"


static ngx_int_t ngx_http_gonsters_machines_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_gonsters_machines_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_gonsters_machines_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gonsters_machines_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_gonsters_machines_init_main_conf(ngx_conf_t *cf,
    void *conf);
static ngx_int_t ngx_http_gonsters_machines_init_process(ngx_cycle_t *cycle);
static void ngx_http_gonsters_machines_exit_process(ngx_cycle_t *cycle);


static ngx_command_t  ngx_http_gonsters_machines_commands[] = {

    { ngx_string("gonsters_machine_cache_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_machines_main_conf_t, cache_ttl),
      NULL },

    { ngx_string("gonsters_machine_list_cache_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_machines_main_conf_t, list_cache_ttl),
      NULL },

    { ngx_string("gonsters_machine_touch_interval"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_machines_main_conf_t, touch_interval),
      NULL },

    { ngx_string("gonsters_machine_cache"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gonsters_machines_loc_conf_t, cache),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gonsters_machines_module_ctx = {
    NULL,                                         /* preconfiguration */
    ngx_http_gonsters_machines_postconfiguration, /* postconfiguration */
    ngx_http_gonsters_machines_create_main_conf,  /* create main conf */
    ngx_http_gonsters_machines_init_main_conf,    /* init main conf */
    NULL,                                         /* create server conf */
    NULL,                                         /* merge server conf */
    ngx_http_gonsters_machines_create_loc_conf,   /* create location conf */
    ngx_http_gonsters_machines_merge_loc_conf     /* merge location conf */
};


ngx_module_t  ngx_http_gonsters_machines_module = {
    NGX_MODULE_V1,
    &ngx_http_gonsters_machines_module_ctx, /* module context */
    ngx_http_gonsters_machines_commands,   /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_gonsters_machines_init_process, /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_gonsters_machines_exit_process, /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_gonsters_machines_postconfiguration(ngx_conf_t *cf)
{
    return ngx_http_gonsters_machines_init_zone(cf);
}


static void *
ngx_http_gonsters_machines_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gonsters_machines_main_conf_t  *mmcf;

    mmcf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_gonsters_machines_main_conf_t));
    if (mmcf == NULL) {
        return NULL;
    }

    mmcf->cache_ttl = NGX_CONF_UNSET;
    mmcf->list_cache_ttl = NGX_CONF_UNSET;
    mmcf->touch_interval = NGX_CONF_UNSET_MSEC;

    return mmcf;
}


static char *
ngx_http_gonsters_machines_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gonsters_machines_main_conf_t  *mmcf = conf;

    ngx_conf_init_value(mmcf->cache_ttl, 3600);
    ngx_conf_init_value(mmcf->list_cache_ttl, 60);
    ngx_conf_init_msec_value(mmcf->touch_interval, 1000);

    if (mmcf->cache_ttl < 1 || mmcf->list_cache_ttl < 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"gonsters_machine_cache_ttl\" and "
                           "\"gonsters_machine_list_cache_ttl\" must be at "
                           "least 1s");
        return NGX_CONF_ERROR;
    }

    if (mmcf->touch_interval < 10) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"gonsters_machine_touch_interval\" must be at "
                           "least 10ms");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_gonsters_machines_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gonsters_machines_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gonsters_machines_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->cache = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_gonsters_machines_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_gonsters_machines_loc_conf_t  *prev = parent;
    ngx_http_gonsters_machines_loc_conf_t  *conf = child;

    ngx_conf_merge_value(conf->cache, prev->cache, 1);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gonsters_machines_init_process(ngx_cycle_t *cycle)
{
    ngx_http_gonsters_machines_cache_init(cycle);
    ngx_http_gonsters_machines_touch_init(cycle);

    return NGX_OK;
}


static void
ngx_http_gonsters_machines_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_gonsters_machines_touch_exit(cycle);
    ngx_http_gonsters_machines_cache_exit(cycle);
}
