/*
 * Alert thresholds and checks, see alerts.h.
 */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gn_json.h"
#include "gn_lineproto.h"
#include "gn_time.h"

#include "alerts.h"


void
wk_thresholds_init(wk_thresholds_t *t)
{
    pthread_mutex_init(&t->mutex, NULL);
    t->max_temperature = NAN;
    t->min_temperature = NAN;
    t->max_pressure = NAN;
    t->inactivity_timeout = NAN;
}


void
wk_thresholds_destroy(wk_thresholds_t *t)
{
    pthread_mutex_destroy(&t->mutex);
}


int
wk_thresholds_set(wk_thresholds_t *t, const char *name, const char *value)
{
    double  *slot, v;
    char    *end;

    if (strcmp(name, "max_temperature_threshold") == 0) {
        slot = &t->max_temperature;
    } else if (strcmp(name, "min_temperature_threshold") == 0) {
        slot = &t->min_temperature;
    } else if (strcmp(name, "max_pressure_threshold") == 0) {
        slot = &t->max_pressure;
    } else if (strcmp(name, "inactivity_timeout") == 0) {
        slot = &t->inactivity_timeout;
    } else {
        return 0;
    }

    errno = 0;
    v = strtod(value, &end);

    if (errno || end == value || *end != '\0' || !isfinite(v)) {
        return -1;
    }

    pthread_mutex_lock(&t->mutex);
    *slot = v;
    pthread_mutex_unlock(&t->mutex);

    return 1;
}


double
wk_thresholds_inactivity(wk_thresholds_t *t)
{
    double  v;

    pthread_mutex_lock(&t->mutex);
    v = t->inactivity_timeout;
    pthread_mutex_unlock(&t->mutex);

    return v;
}


size_t
wk_alerts_check(wk_thresholds_t *t, const gn_reading_t *r,
    wk_alert_hit_t *hits)
{
    double  maxt, mint, maxp, v;
    size_t  n = 0;

    pthread_mutex_lock(&t->mutex);
    maxt = t->max_temperature;
    mint = t->min_temperature;
    maxp = t->max_pressure;
    pthread_mutex_unlock(&t->mutex);

    /* comparisons with NaN (unset) are false */
    if (r->present & (1u << GN_FIELD_TEMPERATURE)) {
        v = r->value[GN_FIELD_TEMPERATURE];

        if (v > maxt) {
            hits[n++] = (wk_alert_hit_t) { "max_temperature", v, maxt };
        }

        if (v < mint) {
            hits[n++] = (wk_alert_hit_t) { "min_temperature", v, mint };
        }
    }

    if (r->present & (1u << GN_FIELD_PRESSURE)) {
        v = r->value[GN_FIELD_PRESSURE];

        if (v > maxp) {
            hits[n++] = (wk_alert_hit_t) { "max_pressure", v, maxp };
        }
    }

    return n;
}


int
wk_alert_json(char *buf, size_t size, const char *type,
    const char *machine_id, size_t machine_id_len, const char *factory_id,
    size_t factory_id_len, double value, double threshold,
    int64_t reading_ns)
{
    char    ts[GN_TIME_ISO8601_MAX], v[GN_LP_DOUBLE_MAX],
            th[GN_LP_DOUBLE_MAX], esc[512];
    int     n;

    if (factory_id_len > 64 || machine_id_len > 64
        || gn_time_format_iso8601(reading_ns, 6, ts, sizeof(ts)) == 0)
    {
        return -1;
    }

    gn_lp_format_double(v, value)[0] = '\0';
    gn_lp_format_double(th, threshold)[0] = '\0';
    *gn_json_escape(esc, factory_id, factory_id_len) = '\0';

    n = snprintf(buf, size,
                 "{\"alert_type\":\"%s\",\"machine_id\":\"%.*s\","
                 "\"factory_id\":\"%s\",\"value\":%s,\"threshold\":%s,"
                 "\"timestamp\":\"%s\"}",
                 type, (int) machine_id_len, machine_id, esc,
                 v[0] ? v : "null", th[0] ? th : "null", ts);

    return n > 0 && (size_t) n < size ? n : -1;
}
