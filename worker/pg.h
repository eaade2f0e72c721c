/*
 * The PostgreSQL thread: one libpq connection, blocking calls on a thread
 * of its own, so that a slow or dead PostgreSQL never holds up telemetry.
 *
 *   - LISTEN gonsters_machines, gonsters_config; the registry cache and
 *     the alert thresholds are loaded at (re)connect, refreshed on NOTIFY
 *     (within the 100 ms poll) and fully reloaded every registry_ttl
 *   - applies the PostgreSQL queue (dead letters, alerts, status) in
 *     transactions of up to 500 records; a record is released only after
 *     COMMIT, so a lost connection or a killed worker retries it (every
 *     statement is idempotent)
 *   - writes last_seen of the machines every last_seen_interval_ms (one
 *     UPDATE for all of them)
 *   - raises inactivity alerts every inactivity_check_s
 *   - reconnects with a capped exponential backoff
 */

#ifndef WK_PG_H
#define WK_PG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "alerts.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "mqtt.h"
#include "registry.h"
#include "spool.h"

typedef struct {
    const wk_config_t  *conf;
    wk_log_t           *log;
    wk_metrics_t       *metrics;
    wk_spool_t         *pgq;
    wk_registry_t      *registry;
    wk_thresholds_t    *thresholds;
    wk_mqtt_t          *mqtt;

    PGconn             *conn;
    pthread_t           thread;
    int                 started;
    atomic_int          stop;
    atomic_int          done;

    wk_spool_pos_t      cur;
    int64_t             retry_ms;
    int64_t             reload_at;
    int64_t             seen_at;
    int64_t             inactivity_at;
    int                 no_factory_column;  /* before sql/007 */
    int                 no_last_seen;
} wk_pg_t;

int  wk_pg_start(wk_pg_t *pg);

/*
 * one more pass over the queue, then join; -1 when the thread is still
 * blocked at deadline_ms (a stalled PostgreSQL: the queue is durable, the
 * caller exits without waiting and without freeing what it shares)
 */
int wk_pg_stop(wk_pg_t *pg, int64_t deadline_ms);

#endif /* WK_PG_H */
