/*
 * Unit tests of common/gn_tiers.c: window arithmetic (negative times
 * included), which windows a late reading makes dirty, and the InfluxQL of
 * the re-aggregation.
 */

#include "gn_test.h"
#include "../gn_tiers.h"


#define H   (3600 * GN_NS_PER_SEC)
#define D   (86400 * GN_NS_PER_SEC)
#define M   "0f4b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"


static void
test_floor_ceil(void)
{
    GN_CHECK_INT(gn_tier_floor(0, H), 0);
    GN_CHECK_INT(gn_tier_floor(H - 1, H), 0);
    GN_CHECK_INT(gn_tier_floor(H, H), H);
    GN_CHECK_INT(gn_tier_floor(-1, H), -H);
    GN_CHECK_INT(gn_tier_floor(-H, H), -H);
    GN_CHECK_INT(gn_tier_floor(-H - 1, H), -2 * H);
    GN_CHECK_INT(gn_tier_ceil(0, H), 0);
    GN_CHECK_INT(gn_tier_ceil(1, H), H);
    GN_CHECK_INT(gn_tier_ceil(H, H), H);
    GN_CHECK_INT(gn_tier_ceil(-1, H), 0);
    GN_CHECK_INT(gn_tier_ceil(-H - 1, H), -H);
}


static void
test_complete_before(void)
{
    int64_t  now = 100 * H + 30 * 60 * GN_NS_PER_SEC;    /* 100:30 */

    /* windows before 100:00 ended at least a minute ago */
    GN_CHECK_INT(gn_tier_complete_before(H, now, GN_TIER_SETTLE_NS), 100 * H);

    /* at 101:00:30 the window 100:00-101:00 closed only 30 s ago */
    now = 101 * H + 30 * GN_NS_PER_SEC;
    GN_CHECK_INT(gn_tier_complete_before(H, now, GN_TIER_SETTLE_NS), 100 * H);
    now = 101 * H + 60 * GN_NS_PER_SEC;
    GN_CHECK_INT(gn_tier_complete_before(H, now, GN_TIER_SETTLE_NS), 101 * H);

    GN_CHECK_INT(gn_tier_complete_before(D, 10 * D + H, GN_TIER_SETTLE_NS),
                 10 * D);
}


static void
test_dirty(void)
{
    gn_tier_dirty_t  d;
    int64_t          now = 50 * D + 10 * H + 5 * 60 * GN_NS_PER_SEC;

    gn_tier_dirty_init(&d);
    GN_CHECK(!gn_tier_dirty_any(&d));

    /* a reading of the open hour: nothing */
    gn_tier_dirty_add(&d, now - GN_NS_PER_SEC, now, GN_TIER_SETTLE_NS);
    GN_CHECK(!gn_tier_dirty_any(&d));

    /* the hour before: hourly only (the day is open) */
    gn_tier_dirty_add(&d, now - H, now, GN_TIER_SETTLE_NS);
    GN_CHECK_INT(d.dirty, 1u << GN_TIER_HOURLY);
    GN_CHECK_INT(d.from[GN_TIER_HOURLY], 50 * D + 9 * H);
    GN_CHECK_INT(d.to[GN_TIER_HOURLY], 50 * D + 10 * H);

    /* two days ago: both, ranges widen */
    gn_tier_dirty_add(&d, 48 * D + 3 * H + 7, now, GN_TIER_SETTLE_NS);
    GN_CHECK_INT(d.dirty, (1u << GN_TIER_HOURLY) | (1u << GN_TIER_DAILY));
    GN_CHECK_INT(d.from[GN_TIER_HOURLY], 48 * D + 3 * H);
    GN_CHECK_INT(d.to[GN_TIER_HOURLY], 50 * D + 10 * H);
    GN_CHECK_INT(d.from[GN_TIER_DAILY], 48 * D);
    GN_CHECK_INT(d.to[GN_TIER_DAILY], 49 * D);

    /* an hour that closes within the settle time counts as closed */
    gn_tier_dirty_init(&d);
    now = 50 * D + 11 * H - 30 * GN_NS_PER_SEC;
    gn_tier_dirty_add(&d, now - 60 * GN_NS_PER_SEC, now, GN_TIER_SETTLE_NS);
    GN_CHECK_INT(d.dirty, 1u << GN_TIER_HOURLY);
    GN_CHECK_INT(d.from[GN_TIER_HOURLY], 50 * D + 10 * H);

    /* before 1970 */
    gn_tier_dirty_init(&d);
    gn_tier_dirty_add(&d, -1, now, GN_TIER_SETTLE_NS);
    GN_CHECK_INT(d.from[GN_TIER_HOURLY], -H);
    GN_CHECK_INT(d.to[GN_TIER_DAILY], 0);
}


static void
test_reaggregate(void)
{
    char             buf[GN_TIER_REAGGREGATE_MAX];
    size_t           n;
    gn_tier_dirty_t  d;

    static const char  want[] =
        "SELECT mean(temperature) AS temperature, mean(pressure) AS pressure, "
        "mean(speed) AS speed, count(temperature) AS temperature_count, "
        "count(pressure) AS pressure_count, count(speed) AS speed_count "
        "INTO \"sensor_data_hourly\".\"sensor_readings\" "
        "FROM \"sensor_data_raw\".\"sensor_readings\" "
        "WHERE \"machine_id\" = '" M "' AND time >= 3600000000000 "
        "AND time < 10800000000000 GROUP BY time(1h), * fill(none)";

    gn_tier_dirty_init(&d);
    GN_CHECK_INT(gn_tier_reaggregate(buf, sizeof(buf), M, &d), 0);

    d.dirty = 1u << GN_TIER_HOURLY;
    d.from[GN_TIER_HOURLY] = H;
    d.to[GN_TIER_HOURLY] = 3 * H;

    n = gn_tier_reaggregate(buf, sizeof(buf), M, &d);
    GN_CHECK_STR(buf, n, want);

    /* both tiers: two statements */
    d.dirty |= 1u << GN_TIER_DAILY;
    d.from[GN_TIER_DAILY] = 0;
    d.to[GN_TIER_DAILY] = D;
    n = gn_tier_reaggregate(buf, sizeof(buf), M, &d);
    GN_CHECK(n > sizeof(want));
    GN_CHECK(strstr(buf, "; SELECT") != NULL);
    GN_CHECK(strstr(buf, "INTO \"sensor_data_daily\"") != NULL);
    GN_CHECK(strstr(buf, "time < 86400000000000 GROUP BY time(1d)") != NULL);
    GN_CHECK(n < GN_TIER_REAGGREGATE_MAX);

    /* hostile ids never reach the text */
    GN_CHECK_INT(gn_tier_reaggregate(buf, sizeof(buf),
                                     "x' OR 1=1 --", &d), 0);
    GN_CHECK_INT(gn_tier_reaggregate(buf, sizeof(buf),
                                     M "' OR 'a'='a", &d), 0);

    /* too small */
    GN_CHECK_INT(gn_tier_reaggregate(buf, 100, M, &d), 0);
    GN_CHECK_INT(buf[0], 0);
}


int
main(void)
{
    test_floor_ceil();
    test_complete_before();
    test_dirty();
    test_reaggregate();

    GN_TEST_DONE();
}
