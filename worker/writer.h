/*
 * The writer thread: takes the records of the telemetry spool in order,
 * validates them (common/gn_telemetry, gn_topic), looks the machine up in
 * the registry cache, batches the points and writes them to InfluxDB;
 * dead letters, alerts and status changes go to the PostgreSQL queue.
 * Spool segments are released only after InfluxDB accepted every point
 * of them and the PostgreSQL queue is synced.
 */

#ifndef WK_WRITER_H
#define WK_WRITER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "gn_tiers.h"

#include "alerts.h"
#include "config.h"
#include "influx.h"
#include "log.h"
#include "metrics.h"
#include "mqtt.h"
#include "pgq.h"
#include "registry.h"
#include "spool.h"

/* the body of a telemetry spool record:
 *   i64 received_ns | u32 payload length as received | u16 topic length |
 *   topic | payload (cut at payload_max_bytes + 1 when longer) */
#define WK_MSG_HDR  14

typedef struct {
    size_t            off;
    size_t            len;
    wk_spool_pos_t    pos;          /* the record it came from */
} wk_line_t;

/* the tier windows late readings of one machine touched (gn_tiers.h) */
typedef struct {
    char              id[GN_UUID_LEN + 1];      /* "" = free slot */
    gn_tier_dirty_t   d;
} wk_dirty_t;

typedef struct {
    const wk_config_t *conf;
    wk_log_t          *log;
    wk_metrics_t      *metrics;
    wk_spool_t        *spool;
    wk_spool_t        *pgq;
    wk_registry_t     *registry;
    wk_thresholds_t   *thresholds;
    wk_mqtt_t         *mqtt;

    wk_influx_t        influx;
    pthread_t          thread;
    int                started;

    atomic_int         draining;
    atomic_llong       deadline_ms;     /* monotonic, when draining */
    atomic_int         done;

    wk_spool_pos_t     cur;
    wk_buf_t           lines;
    wk_line_t         *idx;
    size_t             n;
    size_t             cap;
    wk_spool_pos_t     end;
    int                has_end;
    int64_t            batch_started_ms;
    int64_t            newest_received_ns;
    size_t             pgq_pending;     /* pgq records since the last sync */

    wk_dirty_t        *dirty;           /* open addressing, per batch */
    size_t             dirty_cap;       /* power of 2, or 0 */
    size_t             ndirty;

    wk_buf_t           scratch;
    uint32_t           payload_size;    /* of the record at hand */
    unsigned           seed;
} wk_writer_t;

int wk_writer_start(wk_writer_t *w);

/* finish what the spool holds, until deadline_ms; then join */
void wk_writer_stop(wk_writer_t *w, int64_t deadline_ms);

/* status payload {"status":"maintenance"} or the bare word: the index of
 * the status (active, inactive, maintenance, error), or -1 */
int wk_status_parse(const char *payload, size_t len);
const char *wk_status_name(int i);

/* exported for the unit test and the fuzz target */
int wk_msg_decode(const char *body, size_t len, int64_t *received_ns,
    uint32_t *payload_len, const char **topic, size_t *topic_len,
    const char **payload, size_t *stored_len);

#endif /* WK_WRITER_H */
