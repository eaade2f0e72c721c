/*
 * Gonsters: sensor history, GET /api/v1/data/machine/{id}
 * (ngx_http_gonsters_history_module, seed §1.2 B).
 *
 *   ngx_http_gonsters_history.c         the module, the handler
 *   ngx_http_gonsters_history_params.c  query parameters, every error
 *                                       reported at once
 *   ngx_http_gonsters_history_query.c   InfluxQL (built only from
 *                                       validated values), the retention
 *                                       tiers, pagination
 *   ngx_http_gonsters_history_reply.c   InfluxDB answers, JSON and CSV
 *
 * Intervals 1h and 1d read the downsampled tier for the whole windows
 * inside the range that ended at least gonsters_tier_settle ago, and
 * aggregate the raw data for the rest (the partial window at the start,
 * the open windows at the end), so that an answer equals the same
 * aggregate over raw data; raw, 1m and 5m read the raw tier.  Pagination
 * (LIMIT/OFFSET) and field selection happen inside InfluxQL; the total is
 * an aggregate query (count).
 */


#ifndef _NGX_HTTP_GONSTERS_HISTORY_H_INCLUDED_
#define _NGX_HTTP_GONSTERS_HISTORY_H_INCLUDED_


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_machines.h"
#include "gn_telemetry.h"
#include "gn_tiers.h"
#include "gn_influx.h"


#define NGX_HTTP_GONSTERS_HISTORY_MAX_LIMIT  10000
#define NGX_HTTP_GONSTERS_HISTORY_MAX_ERRORS 8
/* a tail of at most this many buckets lets the tier page come with the
 * first query */
#define NGX_HTTP_GONSTERS_HISTORY_TAIL_MAX   16


enum {
    NGX_HTTP_GONSTERS_INTERVAL_RAW = 0,
    NGX_HTTP_GONSTERS_INTERVAL_1M,
    NGX_HTTP_GONSTERS_INTERVAL_5M,
    NGX_HTTP_GONSTERS_INTERVAL_1H,
    NGX_HTTP_GONSTERS_INTERVAL_1D,
    NGX_HTTP_GONSTERS_INTERVAL_N
};


typedef struct {
    const char                   *name;       /* "5m" */
    int64_t                       ns;         /* 0 for raw */
    ngx_int_t                     tier;       /* gn_tier_e, or -1 */
} ngx_http_gonsters_interval_t;

extern const ngx_http_gonsters_interval_t
    ngx_http_gonsters_intervals[NGX_HTTP_GONSTERS_INTERVAL_N];


typedef struct {
    const char                   *parameter;
    const char                   *error;
    ngx_str_t                     value;
    ngx_uint_t                    has_value;
} ngx_http_gonsters_history_error_t;


/* rows of one InfluxDB series: time[i] (ns), and the selected fields
 * values[i * (ncols - 1) + c - 1] as InfluxDB's number text (len 0: null),
 * pointing into its answer in r->pool */
typedef struct {
    ngx_uint_t                    n;
    ngx_uint_t                    ncols;
    int64_t                      *time;
    gn_influx_value_t            *values;     /* n * (ncols - 1) */
} ngx_http_gonsters_rows_t;


typedef struct {
    /* the parameters */
    u_char                        id[GN_UUID_LEN + 1];
    int64_t                       start;      /* ns, inclusive */
    int64_t                       end;        /* ns, inclusive */
    ngx_uint_t                    interval;
    unsigned                      fields;     /* 1 << gn_field_e */
    ngx_uint_t                    nfields;
    ngx_uint_t                    limit;
    ngx_uint_t                    offset;
    ngx_uint_t                    csv;

    ngx_uint_t                    nerrors;
    ngx_http_gonsters_history_error_t
                              errors[NGX_HTTP_GONSTERS_HISTORY_MAX_ERRORS];

    ngx_http_gonsters_machine_t   machine;

    /* the registry lookup and the first InfluxDB query run at once */
    ngx_uint_t                    pending;
    ngx_int_t                     machine_rc;
    ngx_http_gonsters_backend_status_e  machine_status;
    ngx_uint_t                    first_failed;
    ngx_http_gonsters_backend_status_e  first_status;
    ngx_uint_t                    first_http_status;
    ngx_str_t                     first_body;

    /* the plan: a tier segment [tier_from, tier_to) between raw head
     * [start, tier_from) and raw tail [tier_to, end] */
    ngx_uint_t                    tiered;
    int64_t                       tier_from;
    int64_t                       tier_to;
    ngx_uint_t                    has_head;

    ngx_uint_t                    total;
    ngx_http_gonsters_rows_t      tail;       /* newest first */
    ngx_http_gonsters_rows_t      tier;
    ngx_http_gonsters_rows_t      head;
    ngx_uint_t                    tier_count;
    ngx_uint_t                    tier_skip;  /* tier rows before those
                                                 fetched */
    ngx_uint_t                    tail_max;   /* buckets of the tail */
    ngx_uint_t                    tier_fetched;  /* by the first query */
} ngx_http_gonsters_history_ctx_t;


/* ngx_http_gonsters_history_params.c: NGX_OK, or errors in ctx */
ngx_int_t ngx_http_gonsters_history_params(ngx_http_request_t *r,
    ngx_http_gonsters_history_ctx_t *ctx);
ngx_int_t ngx_http_gonsters_history_bad_params(ngx_http_request_t *r,
    ngx_http_gonsters_history_ctx_t *ctx);

/* ngx_http_gonsters_history_query.c: the first query (NGX_DONE when
 * started), and what follows when it and the registry lookup are done */
ngx_int_t ngx_http_gonsters_history_query(ngx_http_request_t *r,
    ngx_http_gonsters_history_ctx_t *ctx);
ngx_int_t ngx_http_gonsters_history_first_answer(ngx_http_request_t *r,
    ngx_http_gonsters_history_ctx_t *ctx);
/* the InfluxQL of the first call, and of the second (tier page); exposed
 * for `make bench`, which sends the same text straight to InfluxDB */
ngx_int_t ngx_http_gonsters_history_first(ngx_http_request_t *r,
    ngx_http_gonsters_history_ctx_t *ctx, ngx_str_t *q);

/* ngx_http_gonsters_history_reply.c */
/* the answer of a /query with n statements into rows[]: NGX_OK,
 * NGX_DECLINED (a statement failed: logged), NGX_ERROR */
ngx_int_t ngx_http_gonsters_history_parse(ngx_http_request_t *r,
    ngx_str_t *body, ngx_http_gonsters_rows_t **rows, ngx_uint_t n);
ngx_int_t ngx_http_gonsters_history_reply(ngx_http_request_t *r,
    ngx_http_gonsters_history_ctx_t *ctx);
void ngx_http_gonsters_history_format_time(int64_t ns, u_char *buf,
    size_t *len);

/* ngx_http_gonsters_history.c: the endpoint (also GET of the machine
 * endpoint, which owns /api/v1/data/machine/{id}) */
ngx_int_t ngx_http_gonsters_history_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_gonsters_history_join(ngx_http_request_t *r,
    ngx_http_gonsters_history_ctx_t *ctx);


extern ngx_module_t  ngx_http_gonsters_history_module;


#endif /* _NGX_HTTP_GONSTERS_HISTORY_H_INCLUDED_ */
