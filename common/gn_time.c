/*
 * Gonsters common: ISO 8601 timestamps.
 *
 * Calendar arithmetic is the proleptic Gregorian civil <-> days algorithm
 * (H. Hinnant, "chrono-compatible low-level date algorithms"): it is exact
 * for every year we can see, needs no tables, no locale, no TZ database and
 * no gmtime()/timegm() (not thread-safe or not portable, and time_t limits).
 */

#include "gn_time.h"


#define GN_NS_PER_SEC  1000000000LL
#define GN_SEC_PER_DAY 86400LL


static const char *const  gn_time_errors[] = {
    "OK",
    "Invalid ISO 8601 format",
    "Timestamp must include a time zone (Z or \xc2\xb1hh:mm)",
    "Invalid date or time in timestamp",
    "Timestamp out of range",
};


static int
gn_digits(const unsigned char *p, int n, int *val)
{
    int  i, v;

    v = 0;

    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }

        v = v * 10 + (p[i] - '0');
    }

    *val = v;

    return 0;
}


static int
gn_is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}


static int
gn_days_in_month(int64_t y, int m)
{
    static const unsigned char  days[] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    if (m == 2 && gn_is_leap(y)) {
        return 29;
    }

    return days[m - 1];
}


/* days since 1970-01-01 of a valid proleptic Gregorian date */

static int64_t
gn_days_from_civil(int64_t y, int m, int d)
{
    int64_t  era, yoe, doy, doe;

    y -= (m <= 2);
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}


static void
gn_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t  era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;

    *d = (int) (doy - (153 * mp + 2) / 5 + 1);
    *m = (int) (mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}


/*
 * Parses the zone at p; returns the offset east of UTC in seconds through
 * *off and 0, or -1 on a format error or an offset beyond 23:59.
 */

static int
gn_parse_zone(const unsigned char *p, const unsigned char *end, int *off)
{
    int  sign, hh, mm;

    if (end - p == 1 && (*p == 'Z' || *p == 'z')) {
        *off = 0;
        return 0;
    }

    if (*p != '+' && *p != '-') {
        return -1;
    }

    sign = (*p == '-') ? -1 : 1;
    p++;

    if (end - p == 5 && p[2] == ':') {
        if (gn_digits(p, 2, &hh) != 0 || gn_digits(p + 3, 2, &mm) != 0) {
            return -1;
        }

    } else if (end - p == 4) {
        if (gn_digits(p, 2, &hh) != 0 || gn_digits(p + 2, 2, &mm) != 0) {
            return -1;
        }

    } else {
        return -1;
    }

    if (hh > 23 || mm > 59) {
        return -1;
    }

    *off = sign * (hh * 3600 + mm * 60);

    return 0;
}


int
gn_time_parse_iso8601(const char *s, size_t len, int64_t *ns)
{
    int                   year, mon, day, hour, min, sec, frac, nfrac, off;
    int64_t               secs;
    const unsigned char  *p, *end;

    /* the fixed-width part: "YYYY-MM-DDTHH:MM:SS" */

    if (len < 19) {
        return GN_TIME_EFORMAT;     /* s may be NULL if len is 0 */
    }

    p = (const unsigned char *) s;
    end = p + len;

    if (gn_digits(p, 4, &year) != 0 || p[4] != '-'
        || gn_digits(p + 5, 2, &mon) != 0 || p[7] != '-'
        || gn_digits(p + 8, 2, &day) != 0
        || (p[10] != 'T' && p[10] != 't' && p[10] != ' ')
        || gn_digits(p + 11, 2, &hour) != 0 || p[13] != ':'
        || gn_digits(p + 14, 2, &min) != 0 || p[16] != ':'
        || gn_digits(p + 17, 2, &sec) != 0)
    {
        return GN_TIME_EFORMAT;
    }

    p += 19;

    /* fraction: 1 to 9 digits, scaled to nanoseconds; more digits would
     * be silently dropped precision, so they are a format error */

    frac = 0;

    if (p < end && *p == '.') {
        p++;

        for (nfrac = 0; p < end && *p >= '0' && *p <= '9'; nfrac++, p++) {
            if (nfrac == 9) {
                return GN_TIME_EFORMAT;
            }

            frac = frac * 10 + (*p - '0');
        }

        if (nfrac == 0) {
            return GN_TIME_EFORMAT;
        }

        for ( /* void */ ; nfrac < 9; nfrac++) {
            frac *= 10;
        }
    }

    if (p == end) {
        return GN_TIME_ENOZONE;
    }

    if (gn_parse_zone(p, end, &off) != 0) {
        return GN_TIME_EFORMAT;
    }

    if (mon < 1 || mon > 12
        || day < 1 || day > gn_days_in_month(year, mon)
        || hour > 23 || min > 59 || sec > 59)
    {
        return GN_TIME_EINVALID;
    }

    secs = gn_days_from_civil(year, mon, day) * GN_SEC_PER_DAY
           + hour * 3600 + min * 60 + sec - off;

    /* |secs| < 2^39 here, so the comparisons cannot overflow; the
     * multiplication below is done only once the result is known to fit */

    if (secs > GN_TIME_MAX_NS / GN_NS_PER_SEC
        || (secs == GN_TIME_MAX_NS / GN_NS_PER_SEC
            && frac > GN_TIME_MAX_NS % GN_NS_PER_SEC))
    {
        return GN_TIME_ERANGE;
    }

    /* GN_TIME_MIN_NS = -9223372037 s + 145224194 ns */

    if (secs < GN_TIME_MIN_NS / GN_NS_PER_SEC - 1
        || (secs == GN_TIME_MIN_NS / GN_NS_PER_SEC - 1
            && frac < GN_NS_PER_SEC + GN_TIME_MIN_NS % GN_NS_PER_SEC))
    {
        return GN_TIME_ERANGE;
    }

    if (secs < 0) {
        /* (secs + 1) s - (1 s - frac): no intermediate below INT64_MIN */
        *ns = (secs + 1) * GN_NS_PER_SEC - (GN_NS_PER_SEC - frac);

    } else {
        *ns = secs * GN_NS_PER_SEC + frac;
    }

    return GN_TIME_OK;
}


const char *
gn_time_strerror(int rc)
{
    if (rc > 0 || rc < GN_TIME_ERANGE) {
        return "Unknown timestamp error";
    }

    return gn_time_errors[-rc];
}


static char *
gn_put_digits(char *p, int64_t v, int n)
{
    int  i;

    for (i = n - 1; i >= 0; i--) {
        p[i] = (char) ('0' + v % 10);
        v /= 10;
    }

    return p + n;
}


size_t
gn_time_format_iso8601(int64_t ns, int frac_digits, char *buf, size_t size)
{
    int      mon, day, i;
    char    *p;
    size_t   len;
    int64_t  secs, frac, days, sod, year;

    if (frac_digits < 0 || frac_digits > 9) {
        return 0;
    }

    len = 20 + (frac_digits ? 1 + frac_digits : 0);

    if (size < len + 1) {
        return 0;
    }

    /* floor division: the fraction is always the non-negative remainder */

    secs = ns / GN_NS_PER_SEC;
    frac = ns % GN_NS_PER_SEC;

    if (frac < 0) {
        frac += GN_NS_PER_SEC;
        secs--;
    }

    days = secs / GN_SEC_PER_DAY;
    sod = secs % GN_SEC_PER_DAY;

    if (sod < 0) {
        sod += GN_SEC_PER_DAY;
        days--;
    }

    gn_civil_from_days(days, &year, &mon, &day);

    /* int64 nanoseconds span years 1677..2262: always four digits */

    p = gn_put_digits(buf, year, 4);
    *p++ = '-';
    p = gn_put_digits(p, mon, 2);
    *p++ = '-';
    p = gn_put_digits(p, day, 2);
    *p++ = 'T';
    p = gn_put_digits(p, sod / 3600, 2);
    *p++ = ':';
    p = gn_put_digits(p, sod / 60 % 60, 2);
    *p++ = ':';
    p = gn_put_digits(p, sod % 60, 2);

    if (frac_digits) {
        for (i = frac_digits; i < 9; i++) {
            frac /= 10;
        }

        *p++ = '.';
        p = gn_put_digits(p, frac, frac_digits);
    }

    *p++ = 'Z';
    *p = '\0';

    return len;
}
