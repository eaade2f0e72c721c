
/*
 * Gonsters: industrial-IoT telemetry API inside nginx.
 * Directive table, configuration, the content dispatcher and the
 * suspend/resume convention of backend calls.
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_users.h"
#include "ngx_http_gonsters_auth.h"
#include "ngx_http_gonsters_revoke.h"
#include "ngx_http_gonsters_machines.h"
#include "ngx_http_gonsters_ingest.h"
#include "ngx_http_gonsters_history.h"
#include "ngx_http_gonsters_config.h"


typedef ngx_int_t (*ngx_http_gonsters_endpoint_pt)(ngx_http_request_t *r);


static ngx_int_t ngx_http_gonsters_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_gonsters_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_gonsters_init_process(ngx_cycle_t *cycle);
static void *ngx_http_gonsters_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gonsters_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_gonsters_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gonsters_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_gonsters_endpoint(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


/* the accepted values of "gonsters_endpoint", for its error message */
#define NGX_HTTP_GONSTERS_ENDPOINT_NAMES                                     \
    "health, health_postgres, health_redis, health_influxdb, metrics, "     \
    "login, refresh, me, register, logout, jwks, machine_create, "       \
    "machines, machine, ingest, history, config, config_update, "    \
    "config_reset"

static ngx_conf_enum_t  ngx_http_gonsters_endpoints[] = {
    { ngx_string("health"), NGX_HTTP_GONSTERS_ENDPOINT_HEALTH },
    { ngx_string("health_postgres"), NGX_HTTP_GONSTERS_ENDPOINT_HEALTH_POSTGRES },
    { ngx_string("health_redis"), NGX_HTTP_GONSTERS_ENDPOINT_HEALTH_REDIS },
    { ngx_string("health_influxdb"), NGX_HTTP_GONSTERS_ENDPOINT_HEALTH_INFLUXDB },
    { ngx_string("metrics"), NGX_HTTP_GONSTERS_ENDPOINT_METRICS },
    { ngx_string("login"), NGX_HTTP_GONSTERS_ENDPOINT_LOGIN },
    { ngx_string("refresh"), NGX_HTTP_GONSTERS_ENDPOINT_REFRESH },
    { ngx_string("me"), NGX_HTTP_GONSTERS_ENDPOINT_ME },
    { ngx_string("register"), NGX_HTTP_GONSTERS_ENDPOINT_REGISTER },
    { ngx_string("logout"), NGX_HTTP_GONSTERS_ENDPOINT_LOGOUT },
    { ngx_string("jwks"), NGX_HTTP_GONSTERS_ENDPOINT_JWKS },
    { ngx_string("machine_create"), NGX_HTTP_GONSTERS_ENDPOINT_MACHINE_CREATE },
    { ngx_string("machines"), NGX_HTTP_GONSTERS_ENDPOINT_MACHINES },
    { ngx_string("machine"), NGX_HTTP_GONSTERS_ENDPOINT_MACHINE },
    { ngx_string("ingest"), NGX_HTTP_GONSTERS_ENDPOINT_INGEST },
    { ngx_string("history"), NGX_HTTP_GONSTERS_ENDPOINT_HISTORY },
    { ngx_string("config"), NGX_HTTP_GONSTERS_ENDPOINT_CONFIG },
    { ngx_string("config_update"), NGX_HTTP_GONSTERS_ENDPOINT_CONFIG_UPDATE },
    { ngx_string("config_reset"), NGX_HTTP_GONSTERS_ENDPOINT_CONFIG_RESET },
    { ngx_null_string, 0 }
};


static ngx_http_gonsters_endpoint_pt
    ngx_http_gonsters_endpoint_handlers[NGX_HTTP_GONSTERS_ENDPOINT_N] = {
    NULL,
    ngx_http_gonsters_health_handler,
    ngx_http_gonsters_health_handler,
    ngx_http_gonsters_health_handler,
    ngx_http_gonsters_health_handler,
    ngx_http_gonsters_metrics_handler,
    ngx_http_gonsters_login_handler,
    ngx_http_gonsters_refresh_handler,
    ngx_http_gonsters_me_handler,
    ngx_http_gonsters_register_handler,
    ngx_http_gonsters_logout_handler,
    ngx_http_gonsters_jwks_handler,
    ngx_http_gonsters_machine_create_handler,
    ngx_http_gonsters_machines_list_handler,
    ngx_http_gonsters_machine_handler,
    ngx_http_gonsters_ingest_handler,
    ngx_http_gonsters_history_handler,
    ngx_http_gonsters_config_get_handler,
    ngx_http_gonsters_config_update_handler,
    ngx_http_gonsters_config_reset_handler
};


static ngx_command_t  ngx_http_gonsters_commands[] = {

    { ngx_string("gonsters_endpoint"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_gonsters_endpoint,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gonsters_loc_conf_t, endpoint),
      &ngx_http_gonsters_endpoints },

    { ngx_string("gonsters_health_cache_time"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_main_conf_t, health_cache_time),
      NULL },

    { ngx_string("gonsters_retry_after"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_main_conf_t, retry_after),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gonsters_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_gonsters_postconfiguration,   /* postconfiguration */

    ngx_http_gonsters_create_main_conf,    /* create main configuration */
    ngx_http_gonsters_init_main_conf,      /* init main configuration */

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
    ngx_http_gonsters_init_process,        /* init process */
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

    if (glcf->endpoint == NGX_HTTP_GONSTERS_ENDPOINT_UNSET
        || glcf->endpoint >= NGX_HTTP_GONSTERS_ENDPOINT_N)
    {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "gonsters: location has no endpoint");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_endpoint_handlers[glcf->endpoint](r);
}


/*
 * A backend call holds the request with one more reference: the content
 * handler returns NGX_DONE (which drops the handler's own reference), and
 * the call's completion finalizes with the handler's result.  The request
 * therefore stays valid until the call completes, even when the client
 * has gone away.
 */

ngx_int_t
ngx_http_gonsters_suspend(ngx_http_request_t *r)
{
    r->main->count++;
    return NGX_DONE;
}


void
ngx_http_gonsters_resume(ngx_http_request_t *r, ngx_int_t rc)
{
    ngx_connection_t  *c;

    c = r->connection;

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}


/*
 * Logout promises that the token is refused by every node: it needs the
 * revocation zone, and the verified claims of "gonsters_auth jwt".
 */

static ngx_int_t
ngx_http_gonsters_check_logout(ngx_conf_t *cf)
{
    ngx_uint_t                          i;
    ngx_http_gonsters_main_conf_t      *gmcf;
    ngx_http_gonsters_endpoint_use_t   *use;
    ngx_http_gonsters_auth_loc_conf_t  *alcf;

    gmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gonsters_module);

    if (gmcf->logout == NULL) {
        return NGX_OK;
    }

    use = gmcf->logout->elts;

    for (i = 0; i < gmcf->logout->nelts; i++) {

        if (!ngx_http_gonsters_revoke_enabled(cf)) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"gonsters_endpoint logout\" in %V:%ui needs "
                          "\"gonsters_revocation_zone\": a logged-out token "
                          "must be refused by every node",
                          &use[i].file, use[i].line);
            return NGX_ERROR;
        }

        alcf = use[i].auth_conf;

        if (!alcf->enabled) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "\"gonsters_endpoint logout\" in %V:%ui needs "
                          "\"gonsters_auth jwt\" on its location",
                          &use[i].file, use[i].line);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * The configuration endpoints act for a user (audit rows, updated_by) and
 * change what every worker and the MQTT workers do: a location that serves
 * one must verify tokens and require the permission of the seed's RBAC, so
 * that a forgotten directive cannot open them to everyone.
 */

/* 1 if a request with this method needs the permission (the rule naming
 * the method, or the location's permissions) */
static ngx_uint_t
ngx_http_gonsters_requires(ngx_http_gonsters_auth_loc_conf_t *alcf,
    ngx_uint_t method, ngx_str_t *need)
{
    ngx_str_t                             *perm;
    ngx_uint_t                             i;
    ngx_array_t                           *perms;
    ngx_http_gonsters_auth_method_rule_t  *rule;

    if (!alcf->enabled) {
        return 0;
    }

    perms = alcf->permissions;

    if (alcf->method_rules != NULL) {
        rule = alcf->method_rules->elts;

        for (i = 0; i < alcf->method_rules->nelts; i++) {
            if (rule[i].methods & method) {
                perms = rule[i].permissions;
                break;
            }
        }
    }

    if (perms == NULL) {
        return 0;
    }

    perm = perms->elts;

    for (i = 0; i < perms->nelts; i++) {
        if (perm[i].len == need->len
            && ngx_strncmp(perm[i].data, need->data, need->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static ngx_int_t
ngx_http_gonsters_check_config(ngx_conf_t *cf)
{
    ngx_str_t                           need;
    ngx_uint_t                          i, ok;
    ngx_http_gonsters_main_conf_t      *gmcf;
    ngx_http_gonsters_endpoint_use_t   *use;
    ngx_http_gonsters_auth_loc_conf_t  *alcf;

    gmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gonsters_module);

    if (gmcf->config == NULL) {
        return NGX_OK;
    }

    use = gmcf->config->elts;

    for (i = 0; i < gmcf->config->nelts; i++) {
        alcf = use[i].auth_conf;

        /* the methods each handler serves */
        if (use[i].endpoint == NGX_HTTP_GONSTERS_ENDPOINT_CONFIG) {
            ngx_str_set(&need, "read:config");
            ok = ngx_http_gonsters_requires(alcf, NGX_HTTP_GET, &need)
                 && ngx_http_gonsters_requires(alcf, NGX_HTTP_HEAD, &need);

        } else {
            ngx_str_set(&need, "write:config");
            ok = ngx_http_gonsters_requires(alcf, NGX_HTTP_POST, &need);
        }

        if (!ok) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "the configuration endpoint in %V:%ui needs "
                          "\"gonsters_auth jwt\" and "
                          "\"gonsters_require_permission %V\" on its "
                          "location", &use[i].file, use[i].line, &need);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_gonsters_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    if (ngx_http_gonsters_metrics_init_zone(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_gonsters_check_logout(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_gonsters_check_config(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gonsters_metrics_log_handler;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gonsters_init_process(ngx_cycle_t *cycle)
{
    ngx_http_gonsters_json_hooks();

    return NGX_OK;
}


static void *
ngx_http_gonsters_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gonsters_main_conf_t  *gmcf;

    gmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gonsters_main_conf_t));
    if (gmcf == NULL) {
        return NULL;
    }

    gmcf->health_cache_time = NGX_CONF_UNSET_MSEC;
    gmcf->retry_after = NGX_CONF_UNSET;

    return gmcf;
}


static char *
ngx_http_gonsters_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gonsters_main_conf_t  *gmcf = conf;

    ngx_conf_init_msec_value(gmcf->health_cache_time, 1000);
    ngx_conf_init_value(gmcf->retry_after, 5);

    return NGX_CONF_OK;
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
    ngx_http_gonsters_loc_conf_t  *conf = child;

    /*
     * The endpoint is not inherited: a nested location serves what its own
     * directive says (the content handler is per location as well).
     */

    if (conf->endpoint == NGX_CONF_UNSET_UINT) {
        conf->endpoint = NGX_HTTP_GONSTERS_ENDPOINT_UNSET;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_gonsters_endpoint(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char                              *rv;
    ngx_str_t                         *value;
    ngx_array_t                      **uses;
    ngx_conf_enum_t                   *e;
    ngx_http_core_loc_conf_t          *clcf;
    ngx_http_gonsters_main_conf_t     *gmcf;
    ngx_http_gonsters_endpoint_use_t  *use;

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

    gmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gonsters_module);
    uses = NULL;

    if (e->value == NGX_HTTP_GONSTERS_ENDPOINT_LOGOUT) {
        uses = &gmcf->logout;

    } else if (e->value == NGX_HTTP_GONSTERS_ENDPOINT_CONFIG
               || e->value == NGX_HTTP_GONSTERS_ENDPOINT_CONFIG_UPDATE
               || e->value == NGX_HTTP_GONSTERS_ENDPOINT_CONFIG_RESET)
    {
        uses = &gmcf->config;
    }

    if (uses) {
        if (*uses == NULL) {
            *uses = ngx_array_create(cf->pool, 1,
                                     sizeof(ngx_http_gonsters_endpoint_use_t));
            if (*uses == NULL) {
                return NGX_CONF_ERROR;
            }
        }

        use = ngx_array_push(*uses);
        if (use == NULL) {
            return NGX_CONF_ERROR;
        }

        use->auth_conf = ngx_http_conf_get_module_loc_conf(cf,
                                                ngx_http_gonsters_auth_module);
        use->endpoint = e->value;
        use->file = cf->conf_file->file.name;
        use->line = cf->conf_file->line;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_gonsters_handler;

    return NGX_CONF_OK;
}
