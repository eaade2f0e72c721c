/*
 * last_seen without a PostgreSQL write per reading: the ids touched are
 * kept in a per-worker set (the latest time of each), and a timer writes
 * them all with one UPDATE ... FROM unnest() every
 * gonsters_machine_touch_interval.  A flush that fails keeps its ids (the
 * later time wins), so nothing is lost while PostgreSQL is down.  The set
 * is bounded: past its size a touch of a new id waits for the next flush
 * to make room (last_seen is a hint, not a reading).
 */


#include "ngx_http_gonsters_module.h"
#include "ngx_http_gonsters_machines.h"
#include "ngx_http_gonsters_pg.h"
#include "gn_uuid.h"


#define NGX_HTTP_GONSTERS_TOUCH_MAX  8192


typedef struct {
    u_char                        id[GN_UUID_LEN];
    time_t                        sec;
    ngx_uint_t                    msec;
} ngx_http_gonsters_touch_entry_t;


typedef struct {
    ngx_http_gonsters_touch_entry_t  *set;      /* touched since the flush */
    ngx_uint_t                        n;
    ngx_http_gonsters_touch_entry_t  *sent;     /* the flush in flight */
    ngx_uint_t                        nsent;
    ngx_uint_t                        exiting;
    ngx_pool_t                       *pool;     /* of the flush in flight */
    ngx_event_t                       timer;
    ngx_msec_t                        interval;
    ngx_log_t                        *log;
} ngx_http_gonsters_touch_t;


static void ngx_http_gonsters_touch_flush(ngx_event_t *ev);
static void ngx_http_gonsters_touch_done(ngx_http_gonsters_pg_result_t *res,
    void *data);


static ngx_http_gonsters_touch_t  ngx_http_gonsters_touch;


static const char  gn_sql_touch[] =
    "UPDATE machine_metadata m SET last_seen = t.seen "
    "FROM (SELECT id, to_timestamp(ms / 1000.0) AS seen "
    "FROM unnest($1::uuid[], $2::float8[]) AS u(id, ms)) t "
    "WHERE m.id = t.id AND (m.last_seen IS NULL OR m.last_seen < t.seen)";


/* the index of id in the set, or t->n */
static ngx_uint_t
ngx_http_gonsters_touch_find(ngx_http_gonsters_touch_t *t, u_char *id)
{
    ngx_uint_t  i;

    /* the set is small (machines touched within one interval by one
     * worker): a scan of 36-byte keys is cheaper than hashing here */
    for (i = 0; i < t->n; i++) {
        if (ngx_memcmp(t->set[i].id, id, GN_UUID_LEN) == 0) {
            break;
        }
    }

    return i;
}


void
ngx_http_gonsters_machines_touch(ngx_log_t *log, ngx_str_t *id)
{
    u_char                      lower[GN_UUID_LEN];
    ngx_uint_t                  i;
    ngx_time_t                 *tp;
    ngx_http_gonsters_touch_t  *t = &ngx_http_gonsters_touch;

    if (t->set == NULL || t->exiting
        || !gn_uuid_is_valid((char *) id->data, id->len))
    {
        return;
    }

    gn_uuid_lower((char *) lower, (char *) id->data);

    i = ngx_http_gonsters_touch_find(t, lower);

    if (i == t->n) {
        if (t->n == NGX_HTTP_GONSTERS_TOUCH_MAX) {
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, log, 0,
                           "gonsters: last_seen set full");
            return;
        }

        ngx_memcpy(t->set[i].id, lower, GN_UUID_LEN);
        t->n++;
    }

    tp = ngx_timeofday();
    t->set[i].sec = tp->sec;
    t->set[i].msec = tp->msec;

    if (!t->timer.timer_set && t->pool == NULL) {
        ngx_add_timer(&t->timer, t->interval);
    }
}


static void
ngx_http_gonsters_touch_flush(ngx_event_t *ev)
{
    u_char                           *p, *q;
    ngx_uint_t                        i;
    ngx_pool_t                       *pool;
    const char                      **values;
    ngx_http_gonsters_pg_stmt_t      *stmt;
    ngx_http_gonsters_touch_entry_t  *swap;
    ngx_http_gonsters_touch_t        *t = &ngx_http_gonsters_touch;

    if (t->pool || t->exiting || t->n == 0) {
        return;
    }

    pool = ngx_create_pool(4096, t->log);
    if (pool == NULL) {
        ngx_add_timer(&t->timer, t->interval);
        return;
    }

    values = ngx_palloc(pool, 2 * sizeof(char *));
    stmt = ngx_pcalloc(pool, sizeof(ngx_http_gonsters_pg_stmt_t));
    p = ngx_pnalloc(pool, t->n * (GN_UUID_LEN + 1) + 3);
    q = ngx_pnalloc(pool, t->n * (NGX_TIME_T_LEN + 5) + 3);

    if (values == NULL || stmt == NULL || p == NULL || q == NULL) {
        ngx_destroy_pool(pool);
        ngx_add_timer(&t->timer, t->interval);
        return;
    }

    values[0] = (char *) p;
    values[1] = (char *) q;

    *p++ = '{';
    *q++ = '{';

    for (i = 0; i < t->n; i++) {
        if (i) {
            *p++ = ',';
            *q++ = ',';
        }
        p = ngx_cpymem(p, t->set[i].id, GN_UUID_LEN);
        q = ngx_sprintf(q, "%T%03ui", t->set[i].sec, t->set[i].msec);
    }

    *p++ = '}'; *p = '\0';
    *q++ = '}'; *q = '\0';

    stmt->name = "gn_machines_touch";
    stmt->sql = gn_sql_touch;
    stmt->nparams = 2;
    stmt->values = values;

    if (ngx_http_gonsters_pg_call(pool, t->log, stmt, 1, 0,
                                  ngx_http_gonsters_touch_done, t)
        != NGX_OK)
    {
        ngx_destroy_pool(pool);
        ngx_add_timer(&t->timer, t->interval);
        return;
    }

    /* the ids sent leave the set now; a failure puts them back */
    swap = t->sent;
    t->sent = t->set;
    t->nsent = t->n;
    t->set = swap;
    t->n = 0;
    t->pool = pool;
}


static void
ngx_http_gonsters_touch_done(ngx_http_gonsters_pg_result_t *res, void *data)
{
    ngx_http_gonsters_touch_t  *t = data;

    ngx_uint_t  i;

    if (t->exiting) {
        return;
    }

    if (res->status != NGX_HTTP_GONSTERS_BACKEND_OK) {
        ngx_log_error(NGX_LOG_WARN, t->log, 0,
                      "gonsters: last_seen of %ui machines not written (%V),"
                      " kept for the next flush", t->nsent, &res->message);

        /* back into the set, unless a newer touch is there already */
        for (i = 0; i < t->nsent; i++) {
            if (ngx_http_gonsters_touch_find(t, t->sent[i].id) == t->n
                && t->n < NGX_HTTP_GONSTERS_TOUCH_MAX)
            {
                t->set[t->n++] = t->sent[i];
            }
        }
    }

    t->nsent = 0;

    ngx_destroy_pool(t->pool);
    t->pool = NULL;

    if (t->n && !t->timer.timer_set) {
        ngx_add_timer(&t->timer, t->interval);
    }
}


void
ngx_http_gonsters_machines_touch_init(ngx_cycle_t *cycle)
{
    ngx_http_gonsters_touch_t               *t = &ngx_http_gonsters_touch;
    ngx_http_gonsters_machines_main_conf_t  *mmcf;

    ngx_memzero(t, sizeof(ngx_http_gonsters_touch_t));

    if (ngx_http_gonsters_pg_configured(cycle) != NGX_OK) {
        return;
    }

    mmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                         ngx_http_gonsters_machines_module);
    if (mmcf == NULL) {
        return;
    }

    /* in the cycle's pool: freed with it when the worker exits */
    t->set = ngx_palloc(cycle->pool, NGX_HTTP_GONSTERS_TOUCH_MAX
                                     * sizeof(ngx_http_gonsters_touch_entry_t));
    t->sent = ngx_palloc(cycle->pool, NGX_HTTP_GONSTERS_TOUCH_MAX
                                      * sizeof(ngx_http_gonsters_touch_entry_t));
    if (t->set == NULL || t->sent == NULL) {
        t->set = NULL;
        return;
    }

    t->interval = mmcf->touch_interval;
    t->log = cycle->log;
    t->timer.handler = ngx_http_gonsters_touch_flush;
    t->timer.log = cycle->log;
    t->timer.data = t;
    t->timer.cancelable = 1;
}


/*
 * On exit the ids not yet written are lost: last_seen is a hint, and a
 * flush at exit could hold a worker that is asked to leave.
 */
void
ngx_http_gonsters_machines_touch_exit(ngx_cycle_t *cycle)
{
    ngx_http_gonsters_touch_t  *t = &ngx_http_gonsters_touch;

    t->exiting = 1;

    if (t->timer.timer_set) {
        ngx_del_timer(&t->timer);
    }

    /* abandons a flush in flight (its done will not run) */
    if (t->pool) {
        ngx_destroy_pool(t->pool);
        t->pool = NULL;
    }
}
