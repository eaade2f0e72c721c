/*
 * Gonsters common: retention tiers and the re-aggregation of late windows
 * (see gn_tiers.h).
 */

#include <stdio.h>
#include <string.h>

#include "gn_tiers.h"
#include "gn_uuid.h"


const gn_tier_t  gn_tiers[GN_TIER_N] = {
    { "sensor_data_hourly", "1h", 3600 * GN_NS_PER_SEC },
    { "sensor_data_daily", "1d", 86400 * GN_NS_PER_SEC }
};


int64_t
gn_tier_floor(int64_t t, int64_t interval)
{
    int64_t  r;

    r = t % interval;

    return r < 0 ? t - r - interval : t - r;
}


int64_t
gn_tier_ceil(int64_t t, int64_t interval)
{
    int64_t  f;

    f = gn_tier_floor(t, interval);

    return f == t ? t : f + interval;
}


int64_t
gn_tier_complete_before(int64_t interval, int64_t now_ns, int64_t settle_ns)
{
    /* windows [w, w + interval) with w + interval <= now - settle */
    return gn_tier_floor(now_ns - settle_ns, interval);
}


void
gn_tier_dirty_init(gn_tier_dirty_t *d)
{
    memset(d, 0, sizeof(gn_tier_dirty_t));
}


void
gn_tier_dirty_add(gn_tier_dirty_t *d, int64_t ts_ns, int64_t now_ns,
    int64_t settle_ns)
{
    int      i;
    int64_t  start, end;

    for (i = 0; i < GN_TIER_N; i++) {
        start = gn_tier_floor(ts_ns, gn_tiers[i].interval_ns);
        end = start + gn_tiers[i].interval_ns;

        /* the continuous query may have run before this reading lands */
        if (end > now_ns + settle_ns) {
            continue;
        }

        if (!(d->dirty & (1u << i))) {
            d->from[i] = start;
            d->to[i] = end;
            d->dirty |= 1u << i;
            continue;
        }

        if (start < d->from[i]) {
            d->from[i] = start;
        }

        if (end > d->to[i]) {
            d->to[i] = end;
        }
    }
}


size_t
gn_tier_reaggregate(char *dst, size_t size, const char *machine_id,
    const gn_tier_dirty_t *d)
{
    int     i, n;
    size_t  len;

    if (d->dirty == 0 || size == 0
        || !gn_uuid_is_valid(machine_id, strlen(machine_id)))
    {
        return 0;
    }

    len = 0;
    dst[0] = '\0';

    for (i = 0; i < GN_TIER_N; i++) {

        if (!(d->dirty & (1u << i))) {
            continue;
        }

        /* the id is a UUID: hex digits and '-', nothing to escape */
        n = snprintf(dst + len, size - len,
                     "%sSELECT mean(temperature) AS temperature, "
                     "mean(pressure) AS pressure, mean(speed) AS speed, "
                     "count(temperature) AS temperature_count, "
                     "count(pressure) AS pressure_count, "
                     "count(speed) AS speed_count "
                     "INTO \"%s\".\"sensor_readings\" "
                     "FROM \"" GN_RP_RAW "\".\"sensor_readings\" "
                     "WHERE \"machine_id\" = '%s' "
                     "AND time >= %lld AND time < %lld "
                     "GROUP BY time(%s), * fill(none)",
                     len ? "; " : "", gn_tiers[i].rp, machine_id,
                     (long long) d->from[i], (long long) d->to[i],
                     gn_tiers[i].group);

        if (n < 0 || (size_t) n >= size - len) {
            dst[0] = '\0';
            return 0;
        }

        len += n;
    }

    return len;
}
