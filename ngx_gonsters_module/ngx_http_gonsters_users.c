/*
 * ngx_http_gonsters_users_module: the directives of the users and tokens
 * endpoints (see ngx_http_gonsters_users.h for the files that serve them).
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_users.h"


static void *ngx_http_gonsters_users_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gonsters_users_init_main_conf(ngx_conf_t *cf,
    void *conf);


static ngx_conf_enum_t  ngx_http_gonsters_registration_modes[] = {
    { ngx_string("off"), 0 },
    { ngx_string("open"), 1 },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_gonsters_users_commands[] = {

    { ngx_string("gonsters_jwt_access_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_users_main_conf_t, access_ttl),
      NULL },

    { ngx_string("gonsters_jwt_refresh_ttl"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_users_main_conf_t, refresh_ttl),
      NULL },

    { ngx_string("gonsters_login_max_failures"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_users_main_conf_t, max_failures),
      NULL },

    { ngx_string("gonsters_login_failure_window"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_users_main_conf_t, failure_window),
      NULL },

    { ngx_string("gonsters_login_lockout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_users_main_conf_t, lockout),
      NULL },

    { ngx_string("gonsters_registration"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_users_main_conf_t, registration),
      &ngx_http_gonsters_registration_modes },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gonsters_users_module_ctx = {
    NULL,                                      /* preconfiguration */
    NULL,                                      /* postconfiguration */
    ngx_http_gonsters_users_create_main_conf,  /* create main configuration */
    ngx_http_gonsters_users_init_main_conf,    /* init main configuration */
    NULL,                                      /* create server configuration */
    NULL,                                      /* merge server configuration */
    NULL,                                      /* create location configuration */
    NULL                                       /* merge location configuration */
};


ngx_module_t  ngx_http_gonsters_users_module = {
    NGX_MODULE_V1,
    &ngx_http_gonsters_users_module_ctx,   /* module context */
    ngx_http_gonsters_users_commands,      /* module directives */
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


static void *
ngx_http_gonsters_users_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gonsters_users_main_conf_t  *umcf;

    umcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gonsters_users_main_conf_t));
    if (umcf == NULL) {
        return NULL;
    }

    umcf->access_ttl = NGX_CONF_UNSET;
    umcf->refresh_ttl = NGX_CONF_UNSET;
    umcf->max_failures = NGX_CONF_UNSET_UINT;
    umcf->failure_window = NGX_CONF_UNSET;
    umcf->lockout = NGX_CONF_UNSET;
    umcf->registration = NGX_CONF_UNSET_UINT;

    return umcf;
}


static char *
ngx_http_gonsters_users_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gonsters_users_main_conf_t  *umcf = conf;

    ngx_conf_init_value(umcf->access_ttl, 900);
    ngx_conf_init_value(umcf->refresh_ttl, 7 * 86400);
    ngx_conf_init_uint_value(umcf->max_failures, 5);
    ngx_conf_init_value(umcf->failure_window, 900);
    ngx_conf_init_value(umcf->lockout, 900);
    ngx_conf_init_uint_value(umcf->registration, 1);

    if (umcf->access_ttl < 1 || umcf->refresh_ttl < 1
        || umcf->failure_window < 1 || umcf->lockout < 1)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gonsters: token lifetimes, the login failure "
                           "window and the lockout must be at least 1s");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}
