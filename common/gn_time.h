/*
 * Gonsters common: ISO 8601 / RFC 3339 timestamps <-> nanoseconds since the
 * Unix epoch (UTC), the unit InfluxDB stores.
 */

#ifndef GN_TIME_H
#define GN_TIME_H

#include <stddef.h>
#include <stdint.h>


#define GN_TIME_OK          0
#define GN_TIME_EFORMAT    -1   /* not YYYY-MM-DDTHH:MM:SS[.f]zone */
#define GN_TIME_ENOZONE    -2   /* well formed but without a zone */
#define GN_TIME_EINVALID   -3   /* month 13, Feb 30, hour 24, second 60 */
#define GN_TIME_ERANGE     -4   /* outside InfluxDB's time range */

/* InfluxDB 1.x refuses points outside this range (verified against 1.6.7:
 * "time outside range -9223372036854775806 - 9223372036854775806") */
#define GN_TIME_MIN_NS  (-INT64_MAX + 1)    /* 1677-09-21T00:12:43.145224194Z */
#define GN_TIME_MAX_NS  (INT64_MAX - 1)     /* 2262-04-11T23:47:16.854775806Z */

/* buffer size that always fits gn_time_format_iso8601() with its NUL */
#define GN_TIME_ISO8601_MAX  40


/*
 * Parses YYYY-MM-DD{T|t| }HH:MM:SS[.f{1,9}]{Z|z|+hh:mm|-hh:mm|+hhmm|-hhmm}.
 * s need not be NUL-terminated; every byte of s[0..len) must be consumed.
 * A leap second (SS = 60) is refused: Unix time cannot represent it, and
 * folding it onto the next second would silently overwrite the reading
 * stored there (points with the same series and time overwrite each other).
 * Returns GN_TIME_OK and sets *ns, or a negative GN_TIME_E* code.
 */
int gn_time_parse_iso8601(const char *s, size_t len, int64_t *ns);

/* Short message for an API error body; never NULL. */
const char *gn_time_strerror(int rc);

/*
 * Writes YYYY-MM-DDTHH:MM:SS[.f]Z with frac_digits (0..9) fraction digits,
 * truncated, and a NUL.  Any int64_t is accepted.  Returns the length
 * without the NUL, or 0 if frac_digits is out of range or size too small.
 */
size_t gn_time_format_iso8601(int64_t ns, int frac_digits, char *buf,
    size_t size);


#endif /* GN_TIME_H */
