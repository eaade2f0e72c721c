/*
 * Fuzz target: gn_time.  Invariants: only the documented codes; accepted
 * input is 20..35 bytes and in InfluxDB's range; parse(format(x)) == x;
 * for a "Z" input the formatted fields equal the input's; any int64 the
 * input spells formats and parses back to itself truncated to the chosen
 * precision.
 */

#include "gn_fuzz.h"
#include "gn_time.h"


static const int64_t  units[] = {
    1000000000, 100000000, 10000000, 1000000, 100000, 10000, 1000, 100,
    10, 1
};


static void
check_accepted(const uint8_t *data, size_t size, int64_t ns)
{
    char     buf[GN_TIME_ISO8601_MAX];
    size_t   n;
    int64_t  ns2;

    GN_FUZZ_ASSERT(size >= 20 && size <= 35);
    GN_FUZZ_ASSERT(ns >= GN_TIME_MIN_NS && ns <= GN_TIME_MAX_NS);

    n = gn_time_format_iso8601(ns, 9, buf, sizeof(buf));
    GN_FUZZ_ASSERT(n == 30 && buf[30] == '\0');
    GN_FUZZ_ASSERT(gn_time_parse_iso8601(buf, n, &ns2) == 0 && ns2 == ns);

    /* no offset: the date and time fields come back as they went in */
    if (data[size - 1] == 'Z' || data[size - 1] == 'z') {
        GN_FUZZ_ASSERT(memcmp(buf, data, 10) == 0);
        GN_FUZZ_ASSERT(memcmp(buf + 11, data + 11, 8) == 0);

        if (size > 21) {
            /* ".fff" then 'Z': the digits given, the rest zeros */
            GN_FUZZ_ASSERT(memcmp(buf + 19, data + 19, size - 20) == 0);
            GN_FUZZ_ASSERT(strspn(buf + size - 1, "0") == 30 - size);
        } else {
            GN_FUZZ_ASSERT(memcmp(buf + 19, ".000000000", 10) == 0);
        }
    }
}


static void
check_number(const uint8_t *data)
{
    char      buf[GN_TIME_ISO8601_MAX];
    int64_t   x, want, got, r;
    size_t    n;
    int       d, rc;

    memcpy(&x, data, sizeof(x));
    d = data[8] % 10;

    n = gn_time_format_iso8601(x, d, buf, sizeof(buf));
    GN_FUZZ_ASSERT(n == (size_t) (d ? 21 + d : 20) && strlen(buf) == n);

    /* the same with a buffer one byte short */
    GN_FUZZ_ASSERT(gn_time_format_iso8601(x, d, buf, n) == 0);
    n = gn_time_format_iso8601(x, d, buf, sizeof(buf));

    rc = gn_time_parse_iso8601(buf, n, &got);

    /* x rounded down to the precision; "below range" if that overflows */
    r = x % units[d];
    if (r < 0 && __builtin_sub_overflow(x - r, units[d], &want)) {
        want = INT64_MIN;
    } else if (r >= 0) {
        want = x - r;
    }

    if (want < GN_TIME_MIN_NS || want > GN_TIME_MAX_NS) {
        GN_FUZZ_ASSERT(rc == GN_TIME_ERANGE);
        return;
    }

    GN_FUZZ_ASSERT(rc == 0 && got == want);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t  ns;
    int      rc;

    rc = gn_time_parse_iso8601((const char *) data, size, &ns);

    GN_FUZZ_ASSERT(rc <= 0 && rc >= GN_TIME_ERANGE);
    GN_FUZZ_ASSERT(gn_time_strerror(rc) != NULL);

    if (rc == 0) {
        check_accepted(data, size, ns);
    }

    if (size >= 9) {
        check_number(data);
    }

    return 0;
}
