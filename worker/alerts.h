/*
 * Alerts: readings beyond the system_config thresholds and machines silent
 * for longer than inactivity_timeout.
 *
 * The thresholds are loaded by the PostgreSQL thread at connect and on
 * every NOTIFY gonsters_config, and read by the writer for each reading.
 * One alert per offending reading (alert_type max_temperature,
 * min_temperature, max_pressure), one per silence (inactive); alerts
 * (machine_id, alert_type, reading_time) are unique, so a replayed spool
 * or a second worker never stores one twice.  Published (QoS 1, not
 * retained) on factory/{factory_id}/alerts.
 */

#ifndef WK_ALERTS_H
#define WK_ALERTS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "gn_telemetry.h"

#define WK_ALERT_JSON_MAX  1024

typedef struct {
    pthread_mutex_t  mutex;
    double           max_temperature;       /* NaN: not set */
    double           min_temperature;
    double           max_pressure;
    double           inactivity_timeout;    /* s */
} wk_thresholds_t;

typedef struct {
    const char      *type;          /* static */
    double           value;
    double           threshold;
} wk_alert_hit_t;

void wk_thresholds_init(wk_thresholds_t *t);
void wk_thresholds_destroy(wk_thresholds_t *t);

/* one system_config setting; 1 if it is a threshold and was applied,
 * 0 if not a threshold, -1 if the value is not a number */
int wk_thresholds_set(wk_thresholds_t *t, const char *name,
    const char *value);

double wk_thresholds_inactivity(wk_thresholds_t *t);

/* fills hits (at most 3), returns how many */
size_t wk_alerts_check(wk_thresholds_t *t, const gn_reading_t *r,
    wk_alert_hit_t *hits);

/* the published JSON; the length, or -1 if it does not fit */
int wk_alert_json(char *buf, size_t size, const char *type,
    const char *machine_id, size_t machine_id_len, const char *factory_id,
    size_t factory_id_len, double value, double threshold,
    int64_t reading_ns);

#endif /* WK_ALERTS_H */
