
/*
 * Gonsters: industrial-IoT telemetry API inside nginx.
 * Declarations shared by the files of the module.
 *
 * The .so holds several nginx modules, one per concern, each with its own
 * directives and configuration:
 *
 *   ngx_http_gonsters_module           endpoints, JSON replies, health,
 *                                      metrics (this header)
 *   ngx_http_gonsters_pg_module        PostgreSQL pool   (ngx_http_gonsters_pg.h)
 *   ngx_http_gonsters_redis_module     Redis             (ngx_http_gonsters_redis.h)
 *   ngx_http_gonsters_influxdb_module  InfluxDB          (ngx_http_gonsters_influxdb.h)
 *   ngx_http_gonsters_password_module  password hashing  (ngx_http_gonsters_password.h)
 *
 * Every backend call has the same shape: it suspends the request (the
 * request's count holds it alive even if the client goes away), runs on
 * nginx events or in a thread pool, and calls the caller's handler with the
 * outcome.  The handler returns what a content handler would return; the
 * backend layer passes that to ngx_http_gonsters_resume().  A handler that
 * starts another backend call returns NGX_DONE.
 */


#ifndef _NGX_HTTP_GONSTERS_MODULE_H_INCLUDED_
#define _NGX_HTTP_GONSTERS_MODULE_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


#define NGX_HTTP_GONSTERS_VERSION  "0.1.0"


/* what a location serves; set by "gonsters_endpoint" */
typedef enum {
    NGX_HTTP_GONSTERS_ENDPOINT_UNSET = 0,
    NGX_HTTP_GONSTERS_ENDPOINT_HEALTH,
    NGX_HTTP_GONSTERS_ENDPOINT_HEALTH_POSTGRES,
    NGX_HTTP_GONSTERS_ENDPOINT_HEALTH_REDIS,
    NGX_HTTP_GONSTERS_ENDPOINT_HEALTH_INFLUXDB,
    NGX_HTTP_GONSTERS_ENDPOINT_METRICS,
    NGX_HTTP_GONSTERS_ENDPOINT_LOGIN,
    NGX_HTTP_GONSTERS_ENDPOINT_REFRESH,
    NGX_HTTP_GONSTERS_ENDPOINT_ME,
    NGX_HTTP_GONSTERS_ENDPOINT_REGISTER,
    NGX_HTTP_GONSTERS_ENDPOINT_LOGOUT,
    NGX_HTTP_GONSTERS_ENDPOINT_JWKS,
    NGX_HTTP_GONSTERS_ENDPOINT_MACHINE_CREATE,
    NGX_HTTP_GONSTERS_ENDPOINT_MACHINES,
    NGX_HTTP_GONSTERS_ENDPOINT_MACHINE,
    NGX_HTTP_GONSTERS_ENDPOINT_INGEST,
    NGX_HTTP_GONSTERS_ENDPOINT_HISTORY,
    NGX_HTTP_GONSTERS_ENDPOINT_CONFIG,
    NGX_HTTP_GONSTERS_ENDPOINT_CONFIG_UPDATE,
    NGX_HTTP_GONSTERS_ENDPOINT_CONFIG_RESET,
    NGX_HTTP_GONSTERS_ENDPOINT_N
} ngx_http_gonsters_endpoint_e;


/* the outcome of any backend call */
typedef enum {
    NGX_HTTP_GONSTERS_BACKEND_OK = 0,
    /* the store answered with an error: SQL error, Redis error reply,
     * InfluxDB 4xx; the caller decides what it means */
    NGX_HTTP_GONSTERS_BACKEND_ERROR,
    /* down, refused, broken connection, no connection in time, 5xx */
    NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE,
    /* no answer before the deadline */
    NGX_HTTP_GONSTERS_BACKEND_TIMEOUT
} ngx_http_gonsters_backend_status_e;


/* the stores, for metrics and health */
typedef enum {
    NGX_HTTP_GONSTERS_POSTGRES = 0,
    NGX_HTTP_GONSTERS_REDIS,
    NGX_HTTP_GONSTERS_INFLUXDB,
    NGX_HTTP_GONSTERS_PASSWORD,
    NGX_HTTP_GONSTERS_BACKEND_N
} ngx_http_gonsters_backend_e;


/* caches whose hits and misses /metrics reports */
typedef enum {
    NGX_HTTP_GONSTERS_CACHE_HEALTH = 0,
    NGX_HTTP_GONSTERS_CACHE_MACHINE,
    NGX_HTTP_GONSTERS_CACHE_MACHINE_LIST,
    NGX_HTTP_GONSTERS_CACHE_N
} ngx_http_gonsters_cache_e;


typedef struct {
    ngx_msec_t                    health_cache_time;
    time_t                        retry_after;
    /* locations of "gonsters_endpoint logout", checked at postconfiguration:
     * ngx_http_gonsters_endpoint_use_t */
    ngx_array_t                  *logout;
    /* locations of the configuration endpoints, likewise */
    ngx_array_t                  *config;
} ngx_http_gonsters_main_conf_t;


typedef struct {
    void                         *auth_conf;  /* the location's auth conf */
    ngx_uint_t                    endpoint;
    ngx_str_t                     file;
    ngx_uint_t                    line;
} ngx_http_gonsters_endpoint_use_t;


typedef struct {
    ngx_uint_t                    endpoint;
} ngx_http_gonsters_loc_conf_t;


/* ngx_http_gonsters_module.c */
ngx_int_t ngx_http_gonsters_suspend(ngx_http_request_t *r);
void ngx_http_gonsters_resume(ngx_http_request_t *r, ngx_int_t rc);

/* ngx_http_gonsters_reply.c */
ngx_int_t ngx_http_gonsters_send_json(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *json);
/* prints root (a cJSON tree, deleted here; NULL: 500) compactly */
struct cJSON;
ngx_int_t ngx_http_gonsters_send_cjson(ngx_http_request_t *r,
    ngx_uint_t status, struct cJSON *root);
ngx_int_t ngx_http_gonsters_send_body(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *type, ngx_str_t *body);
ngx_int_t ngx_http_gonsters_send_not_allowed(ngx_http_request_t *r,
    const char *allow);
ngx_int_t ngx_http_gonsters_send_wrapped(ngx_http_request_t *r,
    ngx_uint_t status, const char *head, ngx_str_t *middle, const char *tail);
ngx_int_t ngx_http_gonsters_arg(ngx_http_request_t *r, const char *name,
    ngx_str_t *value);
ngx_int_t ngx_http_gonsters_unescape(ngx_pool_t *pool, ngx_str_t *raw,
    ngx_str_t *value);
ngx_int_t ngx_http_gonsters_add_header(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value);
ngx_int_t ngx_http_gonsters_send_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *message);
ngx_int_t ngx_http_gonsters_add_retry_after(ngx_http_request_t *r);
ngx_int_t ngx_http_gonsters_send_unavailable(ngx_http_request_t *r,
    ngx_http_gonsters_backend_e backend,
    ngx_http_gonsters_backend_status_e status);
const char *ngx_http_gonsters_backend_name(ngx_http_gonsters_backend_e b);

/* ngx_http_gonsters_json.c: cJSON allocates from pool until called again
 * with NULL; trees made meanwhile are freed with the pool, never with
 * cJSON_Delete().  The hooks are installed once per process. */
void ngx_http_gonsters_json_hooks(void);
void ngx_http_gonsters_json_pool(ngx_pool_t *pool);

/* ngx_http_gonsters_health.c */
ngx_int_t ngx_http_gonsters_health_handler(ngx_http_request_t *r);

/* ngx_http_gonsters_metrics.c: counters in shared memory, all workers */
ngx_int_t ngx_http_gonsters_metrics_init_zone(ngx_conf_t *cf);
ngx_int_t ngx_http_gonsters_metrics_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_gonsters_metrics_log_handler(ngx_http_request_t *r);
void ngx_http_gonsters_metrics_backend(ngx_http_gonsters_backend_e backend,
    ngx_http_gonsters_backend_status_e status, ngx_msec_t latency);
/* connections of this worker to a store: open and busy (gauges) */
void ngx_http_gonsters_metrics_pool(ngx_http_gonsters_backend_e backend,
    ngx_int_t open_delta, ngx_int_t busy_delta);
void ngx_http_gonsters_metrics_cache(ngx_http_gonsters_cache_e cache,
    ngx_uint_t hit);


extern ngx_module_t  ngx_http_gonsters_module;


#endif /* _NGX_HTTP_GONSTERS_MODULE_H_INCLUDED_ */
