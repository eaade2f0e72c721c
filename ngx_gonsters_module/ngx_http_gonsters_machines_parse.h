/*
 * The machine registry's inputs (ngx_http_gonsters_machines_parse.c):
 * bodies, query arguments, the id in the path, and their 400 answers.
 */


#ifndef _NGX_HTTP_GONSTERS_MACHINES_PARSE_H_INCLUDED_
#define _NGX_HTTP_GONSTERS_MACHINES_PARSE_H_INCLUDED_


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_users.h"


#define NGX_HTTP_GONSTERS_MACHINES_LIMIT_DEFAULT  100
#define NGX_HTTP_GONSTERS_MACHINES_LIMIT_MAX      1000
#define NGX_HTTP_GONSTERS_MACHINES_OFFSET_MAX     1000000000


/* the body fields in this order */
enum {
    GN_MF_NAME = 0, GN_MF_LOCATION, GN_MF_SENSOR_TYPE, GN_MF_STATUS,
    GN_MF_FACTORY, GN_MF_N
};

/* the list filters in this order */
enum {
    GN_MQ_LOCATION = 0, GN_MQ_STATUS, GN_MQ_SENSOR_TYPE, GN_MQ_N
};


typedef struct {
    const char                   *name;
    size_t                        max;     /* characters; 0: the status */
    const char                   *error;
} ngx_http_gonsters_machine_field_t;


typedef struct {
    ngx_str_t                     value[GN_MF_N];
    ngx_uint_t                    present[GN_MF_N];
    ngx_uint_t                    n;
} ngx_http_gonsters_machine_body_t;


typedef struct {
    ngx_str_t                     filter[GN_MQ_N];   /* data NULL: absent */
    ngx_uint_t                    present[GN_MQ_N];
    ngx_int_t                     limit;
    ngx_int_t                     offset;
    ngx_uint_t                    has_limit;
    ngx_uint_t                    has_offset;
} ngx_http_gonsters_list_query_t;


typedef struct {
    const char                   *parameter;
    const char                   *error;
    ngx_str_t                     value;
    ngx_uint_t                    has_value;
} ngx_http_gonsters_param_error_t;


typedef struct {
    ngx_uint_t                        n;
    ngx_http_gonsters_param_error_t   e[NGX_HTTP_GONSTERS_MAX_ERRORS];
} ngx_http_gonsters_param_errors_t;


size_t ngx_http_gonsters_utf8_length(ngx_str_t *s);
ngx_uint_t ngx_http_gonsters_machines_valid_status(ngx_str_t *s);

/* NGX_OK, or NGX_ERROR with the field errors in errs */
ngx_int_t ngx_http_gonsters_machines_body(ngx_http_gonsters_users_ctx_t *ctx,
    ngx_uint_t create, ngx_http_gonsters_machine_body_t *mb,
    ngx_http_gonsters_field_errors_t *errs);

/* NGX_OK, NGX_DECLINED (errs set), NGX_ERROR */
ngx_int_t ngx_http_gonsters_machines_query(ngx_http_request_t *r,
    ngx_http_gonsters_list_query_t *q, ngx_http_gonsters_param_errors_t *errs);
ngx_int_t ngx_http_gonsters_machines_query_key(ngx_pool_t *pool,
    ngx_http_gonsters_list_query_t *q, ngx_str_t *key);

void ngx_http_gonsters_param_error(ngx_http_gonsters_param_errors_t *errs,
    const char *parameter, const char *error, ngx_str_t *value);
ngx_int_t ngx_http_gonsters_param_errors(ngx_http_request_t *r,
    const char *message, ngx_http_gonsters_param_errors_t *errs);


#endif /* _NGX_HTTP_GONSTERS_MACHINES_PARSE_H_INCLUDED_ */
