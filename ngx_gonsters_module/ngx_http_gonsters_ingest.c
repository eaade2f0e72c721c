/*
 * ngx_http_gonsters_ingest_module: the directives of the ingest endpoint
 * and its entry point (see ngx_http_gonsters_ingest.h for the files that
 * serve it).
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_ingest.h"


static void *ngx_http_gonsters_ingest_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gonsters_ingest_init_main_conf(ngx_conf_t *cf,
    void *conf);
static void *ngx_http_gonsters_ingest_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gonsters_ingest_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);


/* bounds whose message names the directive (nginx's own does not) */
typedef struct {
    ngx_conf_post_handler_pt      post_handler;
    const char                   *name;
    ngx_uint_t                    low;
    ngx_uint_t                    high;
} ngx_http_gonsters_ingest_bounds_t;

static char *ngx_http_gonsters_ingest_check_bounds(ngx_conf_t *cf, void *post,
    void *data);

static ngx_http_gonsters_ingest_bounds_t  ngx_http_gonsters_ingest_machines_bounds = {
    ngx_http_gonsters_ingest_check_bounds, "gonsters_ingest_max_machines",
    1, NGX_HTTP_GONSTERS_MACHINES_RESOLVE_MAX
};

static ngx_http_gonsters_ingest_bounds_t  ngx_http_gonsters_ingest_readings_bounds = {
    ngx_http_gonsters_ingest_check_bounds, "gonsters_ingest_max_readings",
    1, 1000000
};

/* root, batch, entry, readings, reading: a valid body is 5 deep */
static ngx_http_gonsters_ingest_bounds_t  ngx_http_gonsters_ingest_depth_bounds = {
    ngx_http_gonsters_ingest_check_bounds, "gonsters_ingest_max_depth", 5, 64
};

static ngx_http_gonsters_ingest_bounds_t  ngx_http_gonsters_ingest_errors_bounds = {
    ngx_http_gonsters_ingest_check_bounds, "gonsters_ingest_max_errors",
    1, 10000
};


static ngx_command_t  ngx_http_gonsters_ingest_commands[] = {

    { ngx_string("gonsters_ingest_max_body_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gonsters_ingest_loc_conf_t, max_body),
      NULL },

    { ngx_string("gonsters_ingest_max_machines"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gonsters_ingest_loc_conf_t, max_machines),
      &ngx_http_gonsters_ingest_machines_bounds },

    { ngx_string("gonsters_ingest_max_readings"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gonsters_ingest_loc_conf_t, max_readings),
      &ngx_http_gonsters_ingest_readings_bounds },

    { ngx_string("gonsters_ingest_max_depth"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gonsters_ingest_loc_conf_t, max_depth),
      &ngx_http_gonsters_ingest_depth_bounds },

    { ngx_string("gonsters_ingest_max_errors"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gonsters_ingest_loc_conf_t, max_errors),
      &ngx_http_gonsters_ingest_errors_bounds },

    { ngx_string("gonsters_ingest_max_age"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gonsters_ingest_loc_conf_t, max_age),
      NULL },

    { ngx_string("gonsters_tier_settle"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_ingest_main_conf_t, settle),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gonsters_ingest_module_ctx = {
    NULL,                                       /* preconfiguration */
    NULL,                                       /* postconfiguration */
    ngx_http_gonsters_ingest_create_main_conf,  /* create main configuration */
    ngx_http_gonsters_ingest_init_main_conf,    /* init main configuration */
    NULL,                                       /* create server configuration */
    NULL,                                       /* merge server configuration */
    ngx_http_gonsters_ingest_create_loc_conf,   /* create location configuration */
    ngx_http_gonsters_ingest_merge_loc_conf     /* merge location configuration */
};


ngx_module_t  ngx_http_gonsters_ingest_module = {
    NGX_MODULE_V1,
    &ngx_http_gonsters_ingest_module_ctx,  /* module context */
    ngx_http_gonsters_ingest_commands,     /* module directives */
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


ngx_int_t
ngx_http_gonsters_ingest_handler(ngx_http_request_t *r)
{
    if (r->method != NGX_HTTP_POST) {
        return ngx_http_gonsters_send_not_allowed(r, "POST");
    }

    return ngx_http_gonsters_ingest_read(r);
}


/* wall clock in ns: readings' windows are judged against it */
int64_t
ngx_http_gonsters_now_ns(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_REALTIME, &ts);

    return (int64_t) ts.tv_sec * GN_NS_PER_SEC + ts.tv_nsec;
}


static void *
ngx_http_gonsters_ingest_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gonsters_ingest_main_conf_t  *imcf;

    imcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gonsters_ingest_main_conf_t));
    if (imcf == NULL) {
        return NULL;
    }

    imcf->settle = NGX_CONF_UNSET_MSEC;

    return imcf;
}


static char *
ngx_http_gonsters_ingest_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gonsters_ingest_main_conf_t  *imcf = conf;

    ngx_conf_init_msec_value(imcf->settle,
                             (ngx_msec_t) (GN_TIER_SETTLE_NS / 1000000));

    return NGX_CONF_OK;
}


static void *
ngx_http_gonsters_ingest_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gonsters_ingest_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gonsters_ingest_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->max_body = NGX_CONF_UNSET_SIZE;
    conf->max_machines = NGX_CONF_UNSET_UINT;
    conf->max_readings = NGX_CONF_UNSET_UINT;
    conf->max_depth = NGX_CONF_UNSET_UINT;
    conf->max_errors = NGX_CONF_UNSET_UINT;
    conf->max_age = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_gonsters_ingest_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_gonsters_ingest_loc_conf_t  *prev = parent;
    ngx_http_gonsters_ingest_loc_conf_t  *conf = child;

    ngx_conf_merge_size_value(conf->max_body, prev->max_body, 4 * 1024 * 1024);
    ngx_conf_merge_uint_value(conf->max_machines, prev->max_machines, 1000);
    ngx_conf_merge_uint_value(conf->max_readings, prev->max_readings, 1000);
    ngx_conf_merge_uint_value(conf->max_depth, prev->max_depth, 8);
    ngx_conf_merge_uint_value(conf->max_errors, prev->max_errors, 100);
    ngx_conf_merge_value(conf->max_age, prev->max_age, 364 * 86400);

    if (conf->max_body == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"gonsters_ingest_max_body_size\" must not be 0");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_gonsters_ingest_check_bounds(ngx_conf_t *cf, void *post, void *data)
{
    ngx_http_gonsters_ingest_bounds_t  *b = post;
    ngx_uint_t                         *np = data;

    if (*np >= b->low && *np <= b->high) {
        return NGX_CONF_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%s\" must be between %ui and %ui",
                       b->name, b->low, b->high);

    return NGX_CONF_ERROR;
}
