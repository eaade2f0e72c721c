
/*
 * Gonsters: industrial-IoT telemetry API inside nginx.
 * Declarations shared by the files of ngx_http_gonsters_module.
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
    NGX_HTTP_GONSTERS_ENDPOINT_HEALTH
} ngx_http_gonsters_endpoint_e;


typedef struct {
    ngx_uint_t                    endpoint;
} ngx_http_gonsters_loc_conf_t;


ngx_int_t ngx_http_gonsters_health_handler(ngx_http_request_t *r);

ngx_int_t ngx_http_gonsters_send_json(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *json);
ngx_int_t ngx_http_gonsters_add_header(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value);
ngx_int_t ngx_http_gonsters_send_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *message);


extern ngx_module_t  ngx_http_gonsters_module;


#endif /* _NGX_HTTP_GONSTERS_MODULE_H_INCLUDED_ */
