/*
 * Counters of gonsters-worker, written as a Prometheus text file.
 *
 * Every thread bumps atomics; the main thread writes metrics_file every
 * metrics_interval_ms (write to a temporary file, rename: a reader never
 * sees half a file).  nginx (or node_exporter's textfile collector) serves
 * the file; `gonsters-worker --check` reads it back: fresh and connected
 * means healthy.
 */

#ifndef WK_METRICS_H
#define WK_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

/* dead-letter reasons: the `reason` column and label */
typedef enum {
    WK_DL_INVALID_TOPIC = 0,
    WK_DL_PAYLOAD_TOO_LARGE,
    WK_DL_INVALID_JSON,
    WK_DL_INVALID_PAYLOAD,
    WK_DL_UNKNOWN_MACHINE,
    WK_DL_FACTORY_MISMATCH,
    WK_DL_INVALID_STATUS,
    WK_DL_UNTAGGABLE_MACHINE,
    WK_DL_INFLUX_REJECTED,
    WK_DL_N
} wk_dl_reason_e;

extern const char *const  wk_dl_reasons[WK_DL_N];

typedef struct {
    atomic_ullong   received;           /* messages spooled */
    atomic_ullong   processed;          /* records taken from the spool */
    atomic_ullong   written;            /* points InfluxDB accepted */
    atomic_ullong   dead_letters[WK_DL_N];
    atomic_ullong   influx_requests;
    atomic_ullong   influx_retries;     /* failed attempts, retried */
    atomic_ullong   reaggregations;     /* tier windows of late readings */
    atomic_ullong   status_updates;
    atomic_ullong   alerts;
    atomic_ullong   pg_errors;
    atomic_ullong   pg_applied;         /* PostgreSQL queue records done */
    atomic_ullong   replayed;           /* records found on start */

    atomic_llong    lag_ms;             /* receive -> InfluxDB, last batch */
    atomic_llong    last_write_ms;      /* Unix ms of the last accepted
                                           write, 0 = none yet */
    atomic_ullong   spool_bytes;
    atomic_ullong   pg_spool_bytes;
    atomic_int      spool_full;
    atomic_int      mqtt_connected;
    atomic_int      pg_connected;
    atomic_int      influx_up;
    atomic_ullong   registry_machines;
} wk_metrics_t;

void wk_metrics_init(wk_metrics_t *m);

/* 0 or -1 with errno */
int wk_metrics_write(wk_metrics_t *m, const char *path,
    const char *client_id);

/*
 * --check: reads the file; prints one line per problem to stdout; returns
 * 0 when it is younger than max_age_ms and says MQTT is connected.
 */
int wk_metrics_check(const char *path, int64_t max_age_ms);

#endif /* WK_METRICS_H */
