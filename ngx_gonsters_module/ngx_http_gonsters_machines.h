
/*
 * Gonsters: the machine registry (ngx_http_gonsters_machines_module).
 *
 *   ngx_http_gonsters_machines.c          directives, the module, the
 *                                         per-worker state
 *   ngx_http_gonsters_machines_cache.c    Redis cache-aside: keys, puts,
 *                                         the list cache, the node's
 *                                         shared state
 *   ngx_http_gonsters_machines_resolve.c  the batch resolve API
 *   ngx_http_gonsters_machines_invalidate.c  invalidation with retries
 *   ngx_http_gonsters_machines_touch.c    last_seen in batches
 *   ngx_http_gonsters_machines_parse.c    bodies and query arguments
 *   ngx_http_gonsters_machines_handlers.c the REST endpoints
 *
 * Redis keys (prefix "gonsters:"):
 *   gonsters:machine:<lower-case uuid>    the machine's JSON object, TTL
 *                                         gonsters_machine_cache_ttl; no
 *                                         negative caching; deleted on
 *                                         every change
 *   gonsters:machines:version             INCR on every change
 *   gonsters:machines:list:<version>:...  a list answer, TTL
 *                                         gonsters_machine_list_cache_ttl
 *
 * Directives (http):
 *   gonsters_machine_cache_ttl T;         default 1h
 *   gonsters_machine_list_cache_ttl T;    default 60s
 *   gonsters_machine_touch_interval T;    last_seen flush period (1s)
 *
 * Directive (http, server, location):
 *   gonsters_machine_cache on|off;        off: this location's list answers
 *                                         come from PostgreSQL, never from
 *                                         nor into Redis (default on)
 */


#ifndef _NGX_HTTP_GONSTERS_MACHINES_H_INCLUDED_
#define _NGX_HTTP_GONSTERS_MACHINES_H_INCLUDED_


#include "ngx_http_gonsters_module.h"
#include <hiredis/hiredis.h>


/* one machine; strings in r->pool, NUL-terminated */
typedef struct {
    ngx_str_t                     id;
    ngx_str_t                     name;
    ngx_str_t                     location;
    ngx_str_t                     sensor_type;
    ngx_str_t                     status;
    ngx_str_t                     factory_id;
} ngx_http_gonsters_machine_t;


/*
 * rc: NGX_OK, or NGX_ERROR when PostgreSQL failed (status says how; the
 * machines found in the cache are filled in all the same).  machines: n
 * entries in the order of the ids; id.len == 0 for an unknown id.
 * The return value goes to ngx_http_gonsters_resume(), as with every
 * backend call; returning NGX_DONE after starting another call is fine.
 */
typedef ngx_int_t (*ngx_http_gonsters_machines_resolve_pt)(
    ngx_http_request_t *r, ngx_int_t rc,
    ngx_http_gonsters_backend_status_e status,
    ngx_http_gonsters_machine_t *machines, void *data);


#define NGX_HTTP_GONSTERS_MACHINES_RESOLVE_MAX  1000


/*
 * The machines of ids (canonical UUIDs, lower case preferred, either case
 * works; duplicates allowed; an id that is not a canonical UUID is
 * reported unknown): one Redis MGET,
 * then one PostgreSQL query (WHERE id = ANY($1::uuid[])) for the misses,
 * whose rows are then written to the cache without waiting.  Redis down
 * or stalled: PostgreSQL alone.  Suspends r; NGX_DONE when started (the
 * handler always runs later, from the event loop), NGX_ERROR when not
 * (nothing suspended, the handler will not run; also for n == 0 or
 * n > NGX_HTTP_GONSTERS_MACHINES_RESOLVE_MAX).  ids must live in r->pool.
 */
ngx_int_t ngx_http_gonsters_machines_resolve(ngx_http_request_t *r,
    ngx_str_t *ids, ngx_uint_t n, ngx_http_gonsters_machines_resolve_pt handler,
    void *data);

/*
 * A reading of machine id (canonical UUID, either case) was accepted now:
 * recorded in this worker's set and written with one UPDATE ... FROM
 * unnest() per gonsters_machine_touch_interval for all machines touched
 * meanwhile.  Never blocks, never fails the caller; a flush that fails is
 * logged and its ids kept for the next one.
 */
void ngx_http_gonsters_machines_touch(ngx_log_t *log, ngx_str_t *id);


/*
 * The machine id of /api/v1/data/machine/{id} (the rest of the URI after a
 * prefix location's name, or the last segment under a regex location),
 * lower-cased into id (in r->pool).  NGX_OK; NGX_DECLINED when it is not
 * a UUID (raw: what was there, for the 400 answer); NGX_ERROR.
 */
ngx_int_t ngx_http_gonsters_machines_path_id(ngx_http_request_t *r,
    ngx_str_t *id, ngx_str_t *raw);

/* the 404 of /api/v1/data/machine/{id} (the seed's body); id is a
 * validated UUID (nothing to escape) */
ngx_int_t ngx_http_gonsters_machine_not_found(ngx_http_request_t *r,
    ngx_str_t *id);


/* ---- shared by the ngx_http_gonsters_machines_*.c files ------------------ */


typedef struct {
    time_t                        cache_ttl;
    time_t                        list_cache_ttl;
    ngx_msec_t                    touch_interval;
} ngx_http_gonsters_machines_main_conf_t;


typedef struct {
    ngx_flag_t                    cache;
} ngx_http_gonsters_machines_loc_conf_t;


/* the timestamps of a machine object, as the users endpoints print them */
#define GN_MACHINE_TS(col)                                                    \
    "to_char(" col " AT TIME ZONE 'UTC', "                                    \
    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"

/* the machine object of the API and of the cache, as compact JSON text
 * with the members in this order (row_to_json keeps the column order) */
#define GN_MACHINE_JSON(m)                                                    \
    "(SELECT row_to_json(gn_m) FROM (SELECT " m ".id AS machine_id, "        \
    m ".name, " m ".location, " m ".sensor_type, " m ".status, "             \
    m ".factory_id, " GN_MACHINE_TS(m ".last_seen") " AS last_seen, "        \
    GN_MACHINE_TS(m ".created_at") " AS created_at, "                        \
    GN_MACHINE_TS(m ".updated_at") " AS updated_at) gn_m)::text"


#define GN_MACHINE_KEY           "gonsters:machine:"
#define GN_MACHINES_VERSION_KEY  "gonsters:machines:version"
#define GN_MACHINES_LIST_KEY     "gonsters:machines:list:"


/* ngx_http_gonsters_machines_cache.c */

/* "gonsters:machine:<id>" into pool, the id lower-cased */
ngx_int_t ngx_http_gonsters_machines_key(ngx_pool_t *pool, ngx_str_t *id,
    ngx_str_t *key);
/* the cache of one machine, without waiting (JSON text as PostgreSQL
 * printed it) */
void ngx_http_gonsters_machines_cache_put(ngx_http_request_t *r,
    ngx_str_t *id, ngx_str_t *json);
/* a write happened: DEL the machine's key (id may be NULL: a create) and
 * INCR the list version; the handler runs when Redis answered, or
 * failed (then the invalidation is retried by the worker, which bypasses
 * the cache until it succeeded).  NGX_DONE, or NGX_DECLINED when Redis is
 * not configured (the handler will not run). */
typedef ngx_int_t (*ngx_http_gonsters_machines_done_pt)(
    ngx_http_request_t *r, void *data);
ngx_int_t ngx_http_gonsters_machines_invalidate(ngx_http_request_t *r,
    ngx_str_t *id, ngx_http_gonsters_machines_done_pt handler, void *data);
/* the seed's WARNING event for a cache read that failed (throttled) */
void ngx_http_gonsters_machines_redis_lost(ngx_http_request_t *r,
    ngx_http_gonsters_backend_status_e status, const char *operation,
    ngx_str_t *machine_id);
/* the cache is usable by this worker: Redis configured, no invalidation
 * pending */
ngx_uint_t ngx_http_gonsters_machines_cache_usable(ngx_http_request_t *r);

/* the list cache: get the answer for args (a normalized query, any
 * bytes); handler gets the body or NULL (miss, Redis failure) and the
 * version to put it under */
typedef ngx_int_t (*ngx_http_gonsters_machines_list_pt)(
    ngx_http_request_t *r, ngx_str_t *body, ngx_str_t *version, void *data);
ngx_int_t ngx_http_gonsters_machines_list_get(ngx_http_request_t *r,
    ngx_str_t *args, ngx_http_gonsters_machines_list_pt handler, void *data);
void ngx_http_gonsters_machines_list_put(ngx_http_request_t *r,
    ngx_str_t *version, ngx_str_t *args, ngx_str_t *body);

/* the node's shared state of failed invalidations (postconfiguration);
 * this worker's slot in it */
ngx_int_t ngx_http_gonsters_machines_init_zone(ngx_conf_t *cf);
void ngx_http_gonsters_machines_slot(ngx_uint_t failed);
/* the done callback of a call whose outcome does not matter */
void ngx_http_gonsters_machines_ignore(
    ngx_http_gonsters_backend_status_e status, redisReply *reply, void *data);

/* ngx_http_gonsters_machines_invalidate.c */
ngx_uint_t ngx_http_gonsters_machines_invalidation_failed(void);
/* the worker's invalidation retries and delayed second deletes */
void ngx_http_gonsters_machines_cache_init(ngx_cycle_t *cycle);
void ngx_http_gonsters_machines_cache_exit(ngx_cycle_t *cycle);

/* ngx_http_gonsters_machines_touch.c */
void ngx_http_gonsters_machines_touch_init(ngx_cycle_t *cycle);
void ngx_http_gonsters_machines_touch_exit(ngx_cycle_t *cycle);

/* ngx_http_gonsters_machines_handlers.c: the endpoints */
ngx_int_t ngx_http_gonsters_machine_create_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_gonsters_machines_list_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_gonsters_machine_handler(ngx_http_request_t *r);


extern ngx_module_t  ngx_http_gonsters_machines_module;


#endif /* _NGX_HTTP_GONSTERS_MACHINES_H_INCLUDED_ */
