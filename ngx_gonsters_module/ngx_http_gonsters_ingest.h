/*
 * Gonsters: telemetry ingest, POST /api/v1/data/ingest
 * (ngx_http_gonsters_ingest_module, seed §1.2 A).
 *
 *   ngx_http_gonsters_ingest.c        directives, the module, the handler
 *   ngx_http_gonsters_ingest_body.c   content type, size, reading the body
 *                                     (memory or temporary file), parsing
 *                                     and validation (common/gn_telemetry)
 *   ngx_http_gonsters_ingest_line.c   registry lookup of the batch, line
 *                                     protocol, the InfluxDB write and the
 *                                     re-aggregation of late windows
 *   ngx_http_gonsters_ingest_reply.c  the 201 / 207 / 400 answers
 *
 * Directives (http, server, location unless said otherwise):
 *   gonsters_ingest_max_body_size SIZE;     default 4m; 413 beyond
 *                                           (client_max_body_size must be
 *                                           at least as large)
 *   gonsters_ingest_max_machines N;         batch entries, default 1000
 *                                           (at most 1000: one registry
 *                                           lookup per request)
 *   gonsters_ingest_max_readings N;         readings per entry, default 1000
 *   gonsters_ingest_max_depth N;            JSON nesting, default 8
 *   gonsters_ingest_max_errors N;           errors listed in an answer
 *                                           (the others are counted),
 *                                           default 100
 *   gonsters_ingest_max_age T;              readings older are refused,
 *                                           default 364d (the raw tier's
 *                                           52 weeks: InfluxDB would drop
 *                                           them); 0: no bound
 *   gonsters_tier_settle T;                 http; default 60s: writers
 *                                           re-aggregate windows that end
 *                                           before now + T, readers use a
 *                                           tier only for windows that
 *                                           ended before now - T
 */


#ifndef _NGX_HTTP_GONSTERS_INGEST_H_INCLUDED_
#define _NGX_HTTP_GONSTERS_INGEST_H_INCLUDED_


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_machines.h"
#include "gn_telemetry.h"
#include "gn_tiers.h"


typedef struct {
    ngx_msec_t                    settle;
} ngx_http_gonsters_ingest_main_conf_t;


typedef struct {
    size_t                        max_body;
    ngx_uint_t                    max_machines;
    ngx_uint_t                    max_readings;
    ngx_uint_t                    max_depth;
    ngx_uint_t                    max_errors;
    time_t                        max_age;
} ngx_http_gonsters_ingest_loc_conf_t;


/* what became of a batch entry */
enum {
    NGX_HTTP_GONSTERS_INGEST_INVALID = 0,
    NGX_HTTP_GONSTERS_INGEST_PENDING,       /* valid, being looked up */
    NGX_HTTP_GONSTERS_INGEST_UNKNOWN,       /* not in the registry */
    NGX_HTTP_GONSTERS_INGEST_UNTAGGABLE,    /* registry values no tag can
                                               hold */
    NGX_HTTP_GONSTERS_INGEST_WRITTEN
};


typedef struct {
    gn_ingest_t                   in;
    gn_errors_t                   errs;
    u_char                       *state;        /* per entry */
    ngx_str_t                    *ids;          /* of the valid entries */
    ngx_uint_t                   *entry;        /* ids[k] is entry[k] */
    ngx_uint_t                    nids;
    ngx_uint_t                    readings;     /* written */
    ngx_uint_t                    machines;     /* written */
    ngx_str_t                     reaggregate;  /* InfluxQL, or empty */
    int64_t                       now_ns;
    double                        validation_ms;
} ngx_http_gonsters_ingest_ctx_t;


/* ngx_http_gonsters_ingest_body.c */
ngx_int_t ngx_http_gonsters_ingest_read(ngx_http_request_t *r);

/* ngx_http_gonsters_ingest_line.c */
ngx_int_t ngx_http_gonsters_ingest_resolve(ngx_http_request_t *r,
    ngx_http_gonsters_ingest_ctx_t *ctx);

/* ngx_http_gonsters_ingest_reply.c */
ngx_int_t ngx_http_gonsters_ingest_reply(ngx_http_request_t *r,
    ngx_http_gonsters_ingest_ctx_t *ctx);
ngx_int_t ngx_http_gonsters_ingest_invalid(ngx_http_request_t *r,
    ngx_http_gonsters_ingest_ctx_t *ctx, const char *message);
ngx_int_t ngx_http_gonsters_ingest_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *message, const char *error);

/* ngx_http_gonsters_ingest.c: the endpoint */
ngx_int_t ngx_http_gonsters_ingest_handler(ngx_http_request_t *r);
int64_t ngx_http_gonsters_now_ns(void);


extern ngx_module_t  ngx_http_gonsters_ingest_module;


#endif /* _NGX_HTTP_GONSTERS_INGEST_H_INCLUDED_ */
