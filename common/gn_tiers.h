/*
 * Gonsters common: the retention tiers of InfluxDB (seed §1.1 C) and the
 * re-aggregation of windows that late readings touched, one implementation
 * for the REST ingest and the MQTT worker.
 *
 * sensor_data_hourly and sensor_data_daily are filled by continuous
 * queries (sql/influxdb/001_retention_tiers.iql) that run once, right after
 * a window closes, and never look back.  A reading written after its
 * window closed (a gateway catching up) would leave the tier stale, so
 * every writer, after InfluxDB accepted its lines and BEFORE it
 * acknowledges them, re-runs the downsampling for exactly the windows it
 * touched that are closed or about to close:
 *
 *     gn_tier_dirty_t  d;
 *     gn_tier_dirty_init(&d);
 *     for each reading of machine M: gn_tier_dirty_add(&d, ts_ns, now_ns,
 *                                                      settle_ns);
 *     if (gn_tier_dirty_any(&d))
 *         n = gn_tier_reaggregate(buf, size, M, &d);   -> POST /query
 *
 * and treats a failure of that query like a failed write (no ack, the
 * client or the spool retries; points are idempotent, so the retry writes
 * the same points and re-aggregates again).
 *
 * A window [start, start + interval) is "dirty" when start + interval <=
 * now + settle: the continuous query may already have run (or run before
 * the write lands).  Readers use the tier only for windows that ended at
 * least settle ago (gn_tier_complete_before()), so settle must cover the
 * continuous query's delay after a window closes, a write's duration and
 * clock skew between the writers and InfluxDB.
 */

#ifndef GN_TIERS_H
#define GN_TIERS_H

#include <stddef.h>
#include <stdint.h>


#define GN_NS_PER_SEC       INT64_C(1000000000)
#define GN_TIER_SETTLE_NS   (60 * GN_NS_PER_SEC)    /* default settle */

#define GN_RP_RAW           "sensor_data_raw"

typedef enum {
    GN_TIER_HOURLY = 0,
    GN_TIER_DAILY,
    GN_TIER_N
} gn_tier_e;

typedef struct {
    const char       *rp;           /* "sensor_data_hourly" */
    const char       *group;        /* "1h", for GROUP BY time() */
    int64_t           interval_ns;
} gn_tier_t;

extern const gn_tier_t  gn_tiers[GN_TIER_N];


/* floor and ceiling of t to a multiple of interval (t may be negative) */
int64_t gn_tier_floor(int64_t t, int64_t interval);
int64_t gn_tier_ceil(int64_t t, int64_t interval);

/* the start of the first window of this interval that the tier may not
 * hold yet: windows starting before it ended at least settle ago */
int64_t gn_tier_complete_before(int64_t interval, int64_t now_ns,
    int64_t settle_ns);


/* the dirty windows of one machine, per tier, as one range [from, to) */
typedef struct {
    int64_t           from[GN_TIER_N];
    int64_t           to[GN_TIER_N];
    unsigned          dirty;            /* bit 1 << gn_tier_e */
} gn_tier_dirty_t;

void gn_tier_dirty_init(gn_tier_dirty_t *d);
void gn_tier_dirty_add(gn_tier_dirty_t *d, int64_t ts_ns, int64_t now_ns,
    int64_t settle_ns);
#define gn_tier_dirty_any(d)  ((d)->dirty != 0)


/*
 * InfluxQL re-aggregating the dirty windows of machine_id (a canonical
 * lower-case UUID, checked: 0 is returned otherwise) into their tiers, the
 * same aggregates as the continuous queries (mean and count of each field,
 * GROUP BY time(interval), * so that the tags are kept), one statement per
 * dirty tier separated by ';'.  Writes at most size bytes with a NUL and
 * returns the length without it, or 0 when nothing is dirty, the id is
 * not a UUID or size is too small (GN_TIER_REAGGREGATE_MAX always fits).
 */
#define GN_TIER_REAGGREGATE_MAX  1024

size_t gn_tier_reaggregate(char *dst, size_t size, const char *machine_id,
    const gn_tier_dirty_t *d);


#endif /* GN_TIERS_H */
