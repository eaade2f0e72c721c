/*
 * Unit tests of gn_time: ISO 8601 parsing and formatting.
 */

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "gn_test.h"
#include "gn_time.h"


#define NS  1000000000LL


typedef struct {
    const char  *in;
    int          rc;
    int64_t      ns;
} time_case_t;


static const time_case_t  cases[] = {

    /* epoch and neighbours */
    { "1970-01-01T00:00:00Z", 0, 0 },
    { "1970-01-01T00:00:00.000000001Z", 0, 1 },
    { "1969-12-31T23:59:59.999999999Z", 0, -1 },
    { "1969-12-31T23:59:59Z", 0, -NS },

    /* the seed's example shape and its variants */
    { "2024-01-15T10:30:00Z", 0, 1705314600 * NS },
    { "2024-01-15T10:30:00z", 0, 1705314600 * NS },
    { "2024-01-15t10:30:00Z", 0, 1705314600 * NS },
    { "2024-01-15 10:30:00Z", 0, 1705314600 * NS },
    { "2024-01-15T10:30:00.1Z", 0, 1705314600 * NS + 100000000 },
    { "2024-01-15T10:30:00.123Z", 0, 1705314600 * NS + 123000000 },
    { "2024-01-15T10:30:00.123456Z", 0, 1705314600 * NS + 123456000 },
    { "2024-01-15T10:30:00.123456789Z", 0, 1705314600 * NS + 123456789 },
    { "2024-01-15T10:30:00.000000000Z", 0, 1705314600 * NS },

    /* offsets: the same instant */
    { "2024-01-15T12:30:00+02:00", 0, 1705314600 * NS },
    { "2024-01-15T12:30:00+0200", 0, 1705314600 * NS },
    { "2024-01-15T05:00:00-05:30", 0, 1705314600 * NS },
    { "2024-01-15T05:00:00-0530", 0, 1705314600 * NS },
    { "2024-01-15T10:30:00+00:00", 0, 1705314600 * NS },
    { "2024-01-15T10:30:00-00:00", 0, 1705314600 * NS },
    { "2024-01-16T10:29:00+23:59", 0, 1705314600 * NS },
    { "2024-01-14T10:31:00-23:59", 0, 1705314600 * NS },
    { "2024-01-15T10:30:00.5+01:00", 0, 1705311000 * NS + 500000000 },
    /* offset that crosses a year boundary */
    { "2024-01-01T00:30:00+01:00", 0, 1704065400 * NS },

    /* leap years */
    { "2000-02-29T00:00:00Z", 0, 951782400 * NS },
    { "2024-02-29T23:59:59Z", 0, 1709251199 * NS },
    { "1900-02-29T00:00:00Z", GN_TIME_EINVALID, 0 },
    { "2023-02-29T00:00:00Z", GN_TIME_EINVALID, 0 },
    { "2100-02-29T00:00:00Z", GN_TIME_EINVALID, 0 },
    { "2200-02-29T00:00:00Z", GN_TIME_EINVALID, 0 },
    { "2024-02-30T00:00:00Z", GN_TIME_EINVALID, 0 },
    { "2023-02-28T00:00:00Z", 0, 1677542400 * NS },

    /* field ranges */
    { "2025-13-45T00:00:00Z", GN_TIME_EINVALID, 0 },
    { "2025-13-01T00:00:00Z", GN_TIME_EINVALID, 0 },
    { "2025-00-01T00:00:00Z", GN_TIME_EINVALID, 0 },
    { "2025-01-00T00:00:00Z", GN_TIME_EINVALID, 0 },
    { "2025-01-32T00:00:00Z", GN_TIME_EINVALID, 0 },
    { "2025-04-31T00:00:00Z", GN_TIME_EINVALID, 0 },
    { "2025-06-31T00:00:00Z", GN_TIME_EINVALID, 0 },
    { "2025-09-31T00:00:00Z", GN_TIME_EINVALID, 0 },
    { "2025-11-31T00:00:00Z", GN_TIME_EINVALID, 0 },
    { "2025-12-31T00:00:00Z", 0, 1767139200 * NS },
    { "2025-01-01T24:00:00Z", GN_TIME_EINVALID, 0 },
    { "2025-01-01T23:60:00Z", GN_TIME_EINVALID, 0 },
    { "2025-01-01T23:59:60Z", GN_TIME_EINVALID, 0 },   /* leap second */
    { "2016-12-31T23:59:60Z", GN_TIME_EINVALID, 0 },   /* a real one */
    { "2025-06-30T23:59:59Z", 0, 1751327999 * NS },
    { "2025-01-01T99:99:99Z", GN_TIME_EINVALID, 0 },

    /* InfluxDB's range, and one nanosecond beyond */
    { "1677-09-21T00:12:43.145224194Z", 0, GN_TIME_MIN_NS },
    { "1677-09-21T00:12:43.145224193Z", GN_TIME_ERANGE, 0 },
    { "1677-09-21T00:12:43.145224192Z", GN_TIME_ERANGE, 0 },
    { "1677-09-21T00:12:43Z", GN_TIME_ERANGE, 0 },
    { "1677-09-21T00:12:44Z", 0, -9223372036 * NS },
    { "1677-09-20T23:59:59Z", GN_TIME_ERANGE, 0 },
    { "2262-04-11T23:47:16.854775806Z", 0, GN_TIME_MAX_NS },
    { "2262-04-11T23:47:16.854775807Z", GN_TIME_ERANGE, 0 },
    { "2262-04-11T23:47:16.854775808Z", GN_TIME_ERANGE, 0 },
    { "2262-04-11T23:47:17Z", GN_TIME_ERANGE, 0 },
    { "2262-04-11T23:47:16Z", 0, 9223372036 * NS },
    { "2262-04-12T00:00:00Z", GN_TIME_ERANGE, 0 },
    { "0000-01-01T00:00:00Z", GN_TIME_ERANGE, 0 },
    { "9999-12-31T23:59:59.999999999Z", GN_TIME_ERANGE, 0 },
    { "9999-12-31T23:59:59.999999999-23:59", GN_TIME_ERANGE, 0 },
    { "0000-01-01T00:00:00+23:59", GN_TIME_ERANGE, 0 },
    { "2400-02-29T00:00:00Z", GN_TIME_ERANGE, 0 },     /* valid date */
    /* the zone moves an in-range local time out of range, and back in */
    { "2262-04-11T23:47:16.854775806-00:01", GN_TIME_ERANGE, 0 },
    { "2262-04-11T23:48:16.854775806+00:01", 0, GN_TIME_MAX_NS },
    { "1677-09-21T00:12:43.145224194+00:01", GN_TIME_ERANGE, 0 },
    { "1677-09-21T00:13:43.145224194+00:01", 0, GN_TIME_MIN_NS },
    { "1677-09-20T23:12:43.145224194-01:00", 0, GN_TIME_MIN_NS },
    { "1677-09-20T23:12:43.145224193-01:00", GN_TIME_ERANGE, 0 },

    /* no zone: a distinct error, also after a fraction */
    { "2024-01-15T10:30:00", GN_TIME_ENOZONE, 0 },
    { "2024-01-15T10:30:00.5", GN_TIME_ENOZONE, 0 },
    { "2024-01-15 10:30:00.123456789", GN_TIME_ENOZONE, 0 },
    { "2025-13-45T00:00:00", GN_TIME_ENOZONE, 0 },

    /* format errors */
    { "", GN_TIME_EFORMAT, 0 },
    { "Z", GN_TIME_EFORMAT, 0 },
    { "2024", GN_TIME_EFORMAT, 0 },
    { "2024-01-15", GN_TIME_EFORMAT, 0 },
    { "2024-01-15Z", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30Z", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10Z", GN_TIME_EFORMAT, 0 },
    { "2024-1-15T10:30:00Z", GN_TIME_EFORMAT, 0 },
    { "2024-01-5T10:30:00Z", GN_TIME_EFORMAT, 0 },
    { "24-01-15T10:30:00Z", GN_TIME_EFORMAT, 0 },
    { "02024-01-15T10:30:00Z", GN_TIME_EFORMAT, 0 },
    { "20240115T103000Z", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T103000Z", GN_TIME_EFORMAT, 0 },
    { "+2024-01-15T10:30:00Z", GN_TIME_EFORMAT, 0 },
    { "-2024-01-15T10:30:00Z", GN_TIME_EFORMAT, 0 },
    { "2024-+1-15T10:30:00Z", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T-1:30:00Z", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T 1:30:00Z", GN_TIME_EFORMAT, 0 },
    { " 2024-01-15T10:30:00Z", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00Z ", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00Z\n", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00ZZ", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00 Z", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00UTC", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00GMT", GN_TIME_EFORMAT, 0 },
    { "2024-01-15  10:30:00Z", GN_TIME_EFORMAT, 0 },
    { "2024-01-15_10:30:00Z", GN_TIME_EFORMAT, 0 },
    { "2024-01-15X10:30:00Z", GN_TIME_EFORMAT, 0 },
    { "2024/01/15T10:30:00Z", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10.30.00Z", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00.Z", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00.", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00..5Z", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00.5.Z", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00,5Z", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00.1234567890Z", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00.-5Z", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00.5e3Z", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00+2", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00+02", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00+02:", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00+02:0", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00+02:000", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00+020", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00+02000", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00+0200Z", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00Z+02:00", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00+02-00", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00+24:00", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00+02:60", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00++2:00", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00+-2:00", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00+ 2:00", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00\xe2\x88\x92" "02:00", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00\xc2\xb1" "02:00", GN_TIME_EFORMAT, 0 },
    { "\xef\xbc\x92" "024-01-15T10:30:00Z", GN_TIME_EFORMAT, 0 },
    { "2024-01-15T10:30:00.\xd9\xa1Z", GN_TIME_EFORMAT, 0 },   /* ١ */
    { "abcd-ef-ghTij:kl:mnZ", GN_TIME_EFORMAT, 0 },
    { "1705314600", GN_TIME_EFORMAT, 0 },
    { "1705314600000000000", GN_TIME_EFORMAT, 0 },
    { "null", GN_TIME_EFORMAT, 0 },
    { "now", GN_TIME_EFORMAT, 0 },
};


static void
test_table(void)
{
    int64_t  ns;
    size_t   i;
    int      rc;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ns = 42;
        rc = gn_time_parse_iso8601(cases[i].in, strlen(cases[i].in), &ns);

        GN_CHECK_MSG(rc == cases[i].rc, "\"%s\": rc %d, want %d",
                     cases[i].in, rc, cases[i].rc);

        if (cases[i].rc == 0) {
            GN_CHECK_MSG(ns == cases[i].ns, "\"%s\": %lld, want %lld",
                         cases[i].in, (long long) ns,
                         (long long) cases[i].ns);
        } else {
            GN_CHECK_MSG(ns == 42, "\"%s\": *ns written on error",
                         cases[i].in);
        }
    }
}


/* length is what counts, not the NUL: nothing outside [s, s + len) */

static void
test_lengths(void)
{
    int64_t      ns;
    const char  *s = "2024-01-15T10:30:00Z";
    char        *heap;
    size_t       i, len;

    GN_CHECK_INT(gn_time_parse_iso8601(NULL, 0, &ns), GN_TIME_EFORMAT);
    GN_CHECK_INT(gn_time_parse_iso8601("", 0, &ns), GN_TIME_EFORMAT);

    /* a valid timestamp followed by more bytes that len excludes */
    GN_CHECK_INT(gn_time_parse_iso8601("2024-01-15T10:30:00Zjunk", 20, &ns),
                 0);
    GN_CHECK_INT(ns, 1705314600 * NS);
    GN_CHECK_INT(gn_time_parse_iso8601("2024-01-15T10:30:00+02:00", 20, &ns),
                 GN_TIME_EFORMAT);

    /* embedded NULs, at every position of a valid timestamp */
    len = strlen(s);
    heap = malloc(len);

    for (i = 0; i < len; i++) {
        memcpy(heap, s, len);
        heap[i] = '\0';
        GN_CHECK_MSG(gn_time_parse_iso8601(heap, len, &ns) == GN_TIME_EFORMAT,
                     "NUL at %zu", i);
    }

    /* trailing NUL counted in len */
    GN_CHECK_INT(gn_time_parse_iso8601("2024-01-15T10:30:00Z", 21, &ns),
                 GN_TIME_EFORMAT);
    GN_CHECK_INT(gn_time_parse_iso8601("2024-01-15T10:30:00", 20, &ns),
                 GN_TIME_EFORMAT);

    /* exact-size heap copies, so ASan sees any read past the end */
    for (i = 0; i <= len; i++) {
        memcpy(heap, s, i);
        GN_CHECK_MSG(gn_time_parse_iso8601(heap, i, &ns)
                     == (i == 19 ? GN_TIME_ENOZONE
                                 : i == len ? 0 : GN_TIME_EFORMAT),
                     "prefix of %zu bytes", i);
    }

    free(heap);
}


/* every prefix of valid timestamps: never OK, "no zone" only where the
 * prefix is a complete local time */

static void
test_truncations(void)
{
    static const char  *valid[] = {
        "2024-01-15T10:30:00Z",
        "2024-01-15T10:30:00.123456789Z",
        "2024-01-15T10:30:00.5+02:00",
        "2024-01-15 10:30:00.12-0530",
        "1677-09-21T00:12:43.145224194Z",
    };

    int64_t  ns;
    size_t   i, k, len;
    char    *heap;
    int      rc, want;

    for (k = 0; k < sizeof(valid) / sizeof(valid[0]); k++) {
        len = strlen(valid[k]);

        for (i = 0; i < len; i++) {
            heap = malloc(i + 1);
            memcpy(heap, valid[k], i);

            rc = gn_time_parse_iso8601(heap, i, &ns);

            want = GN_TIME_EFORMAT;

            if (i == 19
                || (i > 20 && valid[k][19] == '.'
                    && valid[k][i - 1] >= '0' && valid[k][i - 1] <= '9'
                    && strspn(valid[k] + 20, "0123456789") >= i - 20))
            {
                want = GN_TIME_ENOZONE;
            }

            GN_CHECK_MSG(rc == want, "\"%.*s\": rc %d, want %d",
                         (int) i, valid[k], rc, want);

            free(heap);
        }

        GN_CHECK_MSG(gn_time_parse_iso8601(valid[k], len, &ns) == 0,
                     "%s", valid[k]);
    }
}


/* every byte value at every position: no crash, and nothing accepted
 * except the few substitutions that keep the timestamp valid */

static void
test_substitutions(void)
{
    const char  *s = "2024-02-29T23:59:59.999+01:00";
    char         buf[64];
    int64_t      ns, orig;
    size_t       i, len;
    int          c, rc, ok;

    len = strlen(s);
    GN_CHECK_INT(gn_time_parse_iso8601(s, len, &orig), 0);

    for (i = 0; i < len; i++) {
        for (c = 0; c < 256; c++) {
            memcpy(buf, s, len);
            buf[i] = (char) c;

            rc = gn_time_parse_iso8601(buf, len, &ns);

            ok = (rc == 0 || rc == GN_TIME_EFORMAT || rc == GN_TIME_EINVALID
                  || rc == GN_TIME_ENOZONE || rc == GN_TIME_ERANGE);
            GN_CHECK_MSG(ok, "pos %zu byte %d: rc %d", i, c, rc);

            if (rc == 0 && c == (unsigned char) s[i]) {
                GN_CHECK(ns == orig);
            }

            /* a non-digit where a digit belongs is always a format error */
            if (s[i] >= '0' && s[i] <= '9' && (c < '0' || c > '9')) {
                GN_CHECK_MSG(rc == GN_TIME_EFORMAT, "pos %zu byte %d", i, c);
            }
        }
    }
}


static void
test_huge(void)
{
    size_t   n = 1 << 20;
    char    *big;
    int64_t  ns;

    big = malloc(n);
    memset(big, '9', n);
    GN_CHECK_INT(gn_time_parse_iso8601(big, n, &ns), GN_TIME_EFORMAT);

    /* a valid timestamp with a megabyte of fraction digits */
    memcpy(big, "2024-01-15T10:30:00.", 20);
    big[n - 1] = 'Z';
    GN_CHECK_INT(gn_time_parse_iso8601(big, n, &ns), GN_TIME_EFORMAT);

    /* and with a megabyte of trailing garbage */
    memcpy(big, "2024-01-15T10:30:00Z", 20);
    memset(big + 20, ' ', n - 20);
    GN_CHECK_INT(gn_time_parse_iso8601(big, n, &ns), GN_TIME_EFORMAT);

    free(big);
}


static void
test_strerror(void)
{
    GN_CHECK(strcmp(gn_time_strerror(GN_TIME_EFORMAT),
                    "Invalid ISO 8601 format") == 0);
    GN_CHECK(strcmp(gn_time_strerror(GN_TIME_ENOZONE),
                    "Timestamp must include a time zone (Z or \xc2\xb1hh:mm)")
             == 0);
    GN_CHECK(strcmp(gn_time_strerror(GN_TIME_ERANGE),
                    "Timestamp out of range") == 0);
    GN_CHECK(strcmp(gn_time_strerror(GN_TIME_EINVALID),
                    "Invalid date or time in timestamp") == 0);
    GN_CHECK(gn_time_strerror(0) != NULL);
    GN_CHECK(gn_time_strerror(1) != NULL);
    GN_CHECK(gn_time_strerror(-5) != NULL);
    GN_CHECK(gn_time_strerror(-1000000) != NULL);
}


static void
test_format(void)
{
    char    buf[GN_TIME_ISO8601_MAX];
    size_t  n;

    n = gn_time_format_iso8601(0, 0, buf, sizeof(buf));
    GN_CHECK_STR(buf, n, "1970-01-01T00:00:00Z");
    GN_CHECK(buf[n] == '\0');

    n = gn_time_format_iso8601(0, 3, buf, sizeof(buf));
    GN_CHECK_STR(buf, n, "1970-01-01T00:00:00.000Z");

    n = gn_time_format_iso8601(-1, 9, buf, sizeof(buf));
    GN_CHECK_STR(buf, n, "1969-12-31T23:59:59.999999999Z");

    /* truncation goes towards the past, also before 1970 */
    n = gn_time_format_iso8601(-1, 0, buf, sizeof(buf));
    GN_CHECK_STR(buf, n, "1969-12-31T23:59:59Z");
    n = gn_time_format_iso8601(-1, 3, buf, sizeof(buf));
    GN_CHECK_STR(buf, n, "1969-12-31T23:59:59.999Z");
    n = gn_time_format_iso8601(1705314600 * NS + 123456789, 6, buf,
                               sizeof(buf));
    GN_CHECK_STR(buf, n, "2024-01-15T10:30:00.123456Z");
    n = gn_time_format_iso8601(1705314600 * NS + 999999999, 1, buf,
                               sizeof(buf));
    GN_CHECK_STR(buf, n, "2024-01-15T10:30:00.9Z");

    n = gn_time_format_iso8601(951782400 * NS, 0, buf, sizeof(buf));
    GN_CHECK_STR(buf, n, "2000-02-29T00:00:00Z");

    n = gn_time_format_iso8601(GN_TIME_MIN_NS, 9, buf, sizeof(buf));
    GN_CHECK_STR(buf, n, "1677-09-21T00:12:43.145224194Z");
    n = gn_time_format_iso8601(GN_TIME_MAX_NS, 9, buf, sizeof(buf));
    GN_CHECK_STR(buf, n, "2262-04-11T23:47:16.854775806Z");
    n = gn_time_format_iso8601(INT64_MIN, 9, buf, sizeof(buf));
    GN_CHECK_STR(buf, n, "1677-09-21T00:12:43.145224192Z");
    n = gn_time_format_iso8601(INT64_MAX, 9, buf, sizeof(buf));
    GN_CHECK_STR(buf, n, "2262-04-11T23:47:16.854775807Z");

    /* sizes: exact fit, one short, bad digit counts */
    GN_CHECK_INT(gn_time_format_iso8601(0, 0, buf, 21), 20);
    GN_CHECK_INT(gn_time_format_iso8601(0, 0, buf, 20), 0);
    GN_CHECK_INT(gn_time_format_iso8601(0, 9, buf, 31), 30);
    GN_CHECK_INT(gn_time_format_iso8601(0, 9, buf, 30), 0);
    GN_CHECK_INT(gn_time_format_iso8601(0, 0, buf, 0), 0);
    GN_CHECK_INT(gn_time_format_iso8601(0, 0, NULL, 0), 0);
    GN_CHECK_INT(gn_time_format_iso8601(0, -1, buf, sizeof(buf)), 0);
    GN_CHECK_INT(gn_time_format_iso8601(0, 10, buf, sizeof(buf)), 0);
    GN_CHECK(30 < GN_TIME_ISO8601_MAX);
}


static uint64_t
lcg(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return *state;
}


/* v rounded down to a multiple of unit; INT64_MIN if that underflows */

static int64_t
floor_to(int64_t v, int64_t unit)
{
    int64_t  r = v % unit, f;

    if (r >= 0) {
        return v - r;
    }

    if (__builtin_sub_overflow(v - r, unit, &f)) {
        return INT64_MIN;
    }

    return f;
}


/* parse(format(x)) == x over the whole range, at every precision */

static void
test_round_trip(void)
{
    static const int64_t  fixed[] = {
        0, 1, -1, NS - 1, -NS, -NS + 1, GN_TIME_MIN_NS, GN_TIME_MAX_NS,
        GN_TIME_MIN_NS + 1, GN_TIME_MAX_NS - 1, 951782400 * NS,
        1705314600 * NS + 123456789,
    };

    char      buf[GN_TIME_ISO8601_MAX];
    int64_t   x, want, got, unit;
    uint64_t  state = 12345;
    size_t    n, i;
    int       d, rc, k;

    for (k = 0; k < 200000 + (int) (sizeof(fixed) / sizeof(fixed[0])); k++) {
        x = k < (int) (sizeof(fixed) / sizeof(fixed[0]))
            ? fixed[k] : (int64_t) lcg(&state);

        if (x < GN_TIME_MIN_NS || x > GN_TIME_MAX_NS) {
            continue;
        }

        for (d = 0, unit = NS; d <= 9; d++, unit /= 10) {
            n = gn_time_format_iso8601(x, d, buf, sizeof(buf));
            GN_CHECK_INT(n, strlen(buf));

            want = floor_to(x, unit);
            rc = gn_time_parse_iso8601(buf, n, &got);

            if (want < GN_TIME_MIN_NS) {
                GN_CHECK_MSG(rc == GN_TIME_ERANGE, "%s", buf);
                continue;
            }

            GN_CHECK_MSG(rc == 0 && got == want, "%lld d=%d -> %s -> %lld",
                         (long long) x, d, buf, (long long) got);
        }

        /* the same instant written with an offset */
        n = gn_time_format_iso8601(x, 9, buf, sizeof(buf));
        i = n - 1;
        memcpy(buf + i, "+00:00", 7);
        GN_CHECK_MSG(gn_time_parse_iso8601(buf, i + 6, &got) == 0 && got == x,
                     "%s", buf);
    }
}


/* every day of the range against an independent calendar walk and, where
 * time_t allows it, against timegm() */

static void
test_every_day(void)
{
    char       buf[GN_TIME_ISO8601_MAX], want[32];
    int64_t    day, got;
    int        y, m, d, dim, leap;
    size_t     n;
    struct tm  tm;
    time_t     t;

    static const int  mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
                                  30, 31 };

    /* 1677-09-22 is day -106751 */
    y = 1677; m = 9; d = 22;

    for (day = -106751; day <= 106750; day++) {

        snprintf(want, sizeof(want), "%04d-%02d-%02dT00:00:00Z", y, m, d);
        n = gn_time_format_iso8601(day * 86400 * NS, 0, buf, sizeof(buf));
        GN_CHECK_STR(buf, n, want);

        GN_CHECK_MSG(gn_time_parse_iso8601(want, strlen(want), &got) == 0
                     && got == day * 86400 * NS, "%s", want);

        if (day % 97 == 0) {
            memset(&tm, 0, sizeof(tm));
            tm.tm_year = y - 1900;
            tm.tm_mon = m - 1;
            tm.tm_mday = d;
            t = timegm(&tm);
            GN_CHECK_MSG((int64_t) t == day * 86400, "timegm %s", want);
        }

        leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        dim = mdays[m - 1] + (m == 2 && leap);

        if (++d > dim) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }

    GN_CHECK_INT(y, 2262);
    GN_CHECK_INT(m, 4);
    GN_CHECK_INT(d, 11);
}


int
main(void)
{
    test_table();
    test_lengths();
    test_truncations();
    test_substitutions();
    test_huge();
    test_strerror();
    test_format();
    test_round_trip();
    test_every_day();

    GN_TEST_DONE();
}
