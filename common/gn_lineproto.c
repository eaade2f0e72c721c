/*
 * Gonsters common: InfluxDB 1.x line protocol encoding.
 * See gn_lineproto.h for the verified server behaviour behind each rule.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include "gn_lineproto.h"
#include "gn_utf8.h"


static const char *const  gn_lp_errors[] = {
    "OK",
    "must not be empty",
    "must not contain control characters",
    "must not end with a backslash",
    "must be valid UTF-8",
    "measurement must not start with '#'",
    "\"time\" is a reserved key",
    "must be a finite number",
    "measurement, tags and field key too long",
};


int
gn_lp_check_tag(const char *s, size_t len)
{
    size_t         i;
    unsigned char  c;

    if (len == 0) {
        return GN_LP_EEMPTY;
    }

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c < 0x20 || c == 0x7f) {
            return GN_LP_ECTRL;
        }
    }

    if (s[len - 1] == '\\') {
        return GN_LP_EBACKSLASH;
    }

    if (!gn_utf8_valid(s, len)) {
        return GN_LP_EUTF8;
    }

    return GN_LP_OK;
}


int
gn_lp_check_key(const char *s, size_t len)
{
    int  rc;

    rc = gn_lp_check_tag(s, len);
    if (rc != GN_LP_OK) {
        return rc;
    }

    if (len == 4 && memcmp(s, "time", 4) == 0) {
        return GN_LP_ERESERVED;
    }

    return GN_LP_OK;
}


int
gn_lp_check_measurement(const char *s, size_t len)
{
    int  rc;

    rc = gn_lp_check_tag(s, len);
    if (rc != GN_LP_OK) {
        return rc;
    }

    if (memchr(s, '\\', len) != NULL) {
        return GN_LP_EBACKSLASH;
    }

    if (s[0] == '#') {
        return GN_LP_ECOMMENT;
    }

    return GN_LP_OK;
}


int
gn_lp_check_string(const char *s, size_t len)
{
    return gn_utf8_valid(s, len) ? GN_LP_OK : GN_LP_EUTF8;
}


int
gn_lp_check_double(double v)
{
    return isfinite(v) ? GN_LP_OK : GN_LP_ENONFINITE;
}


int
gn_lp_check_key_len(size_t series_len, size_t field_key_len)
{
    /* 4: the "#!~#" between series key and field key in the storage key */

    if (series_len > GN_LP_KEY_MAX || field_key_len > GN_LP_KEY_MAX
        || series_len + 4 + field_key_len > GN_LP_KEY_MAX)
    {
        return GN_LP_ETOOLONG;
    }

    return GN_LP_OK;
}


const char *
gn_lp_strerror(int rc)
{
    if (rc > 0 || rc < GN_LP_ETOOLONG) {
        return "invalid line protocol value";
    }

    return gn_lp_errors[-rc];
}


/* the escapers differ only in the set of bytes that get a backslash */

#define GN_LP_MEAS  1
#define GN_LP_TAG   2
#define GN_LP_STR   4

static const unsigned char  gn_lp_esc[256] = {
    [','] = GN_LP_MEAS | GN_LP_TAG,
    [' '] = GN_LP_MEAS | GN_LP_TAG,
    ['='] = GN_LP_TAG,
    ['"'] = GN_LP_STR,
    ['\\'] = GN_LP_STR,
};


static size_t
gn_lp_len(const char *s, size_t len, unsigned set)
{
    size_t  i, n;

    n = len;

    for (i = 0; i < len; i++) {
        if (gn_lp_esc[(unsigned char) s[i]] & set) {
            n++;
        }
    }

    return n;
}


static char *
gn_lp_escape(char *dst, const char *s, size_t len, unsigned set)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (gn_lp_esc[(unsigned char) s[i]] & set) {
            *dst++ = '\\';
        }

        *dst++ = s[i];
    }

    return dst;
}


size_t
gn_lp_escape_measurement_len(const char *s, size_t len)
{
    return gn_lp_len(s, len, GN_LP_MEAS);
}


char *
gn_lp_escape_measurement(char *dst, const char *s, size_t len)
{
    return gn_lp_escape(dst, s, len, GN_LP_MEAS);
}


size_t
gn_lp_escape_tag_len(const char *s, size_t len)
{
    return gn_lp_len(s, len, GN_LP_TAG);
}


char *
gn_lp_escape_tag(char *dst, const char *s, size_t len)
{
    return gn_lp_escape(dst, s, len, GN_LP_TAG);
}


size_t
gn_lp_escape_string_len(const char *s, size_t len)
{
    return gn_lp_len(s, len, GN_LP_STR);
}


char *
gn_lp_escape_string(char *dst, const char *s, size_t len)
{
    return gn_lp_escape(dst, s, len, GN_LP_STR);
}


/*
 * The fast path of gn_lp_format_double(), for the values sensors send (a
 * few decimals, magnitude 1e-4 .. 1e15): the smallest k such that
 * D = round(|v| * 10^k) < 2^53 and D / 10^k == |v| in IEEE arithmetic.
 * D and 10^k (k <= 15) are exact doubles, so the division is correctly
 * rounded: D * 10^-k reads back as v (Clinger's fast path, run backwards).
 * With at most 15 significant digits that decimal is the one %.15g
 * prints (DBL_DIG), in the fixed notation %g uses for this range, so the
 * output is byte for byte that of the slow path, without snprintf and
 * strtod (which cost most of the ingest's CPU).  NULL: not applicable.
 */
static char *
gn_lp_format_double_fast(char *dst, double v)
{
    int        k, digits, i;
    char       tmp[24], *p;
    double     a, d;
    uint64_t   D, ip, fp, p10;

    static const double  pow10[16] = {
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
        1e13, 1e14, 1e15
    };

    a = fabs(v);

    if (!(a >= 1e-4 && a < 1e15)) {
        return NULL;
    }

    for (k = 0; k < 16; k++) {
        d = a * pow10[k];

        if (d >= 9007199254740992.0) {      /* 2^53 */
            return NULL;
        }

        D = (uint64_t) (d + 0.5);

        if ((double) D / pow10[k] == a) {
            break;
        }
    }

    if (k == 16) {
        return NULL;
    }

    /* at most 15 significant digits */
    for (digits = 1, p10 = 10; p10 <= D && digits < 20; p10 *= 10) {
        digits++;
    }

    if (digits > 15) {
        return NULL;
    }

    p10 = (uint64_t) pow10[k];
    ip = D / p10;
    fp = D % p10;

    p = dst;

    if (v < 0) {
        *p++ = '-';
    }

    i = 0;
    do {
        tmp[i++] = (char) ('0' + ip % 10);
        ip /= 10;
    } while (ip);

    while (i) {
        *p++ = tmp[--i];
    }

    if (fp) {
        /* k digits, leading zeros kept, trailing zeros dropped */
        for (i = 0; i < k; i++) {
            tmp[k - 1 - i] = (char) ('0' + fp % 10);
            fp /= 10;
        }

        while (k > 0 && tmp[k - 1] == '0') {
            k--;
        }

        *p++ = '.';
        memcpy(p, tmp, k);
        p += k;
    }

    *p = '\0';

    return p;
}


char *
gn_lp_format_double(char *dst, double v)
{
    int    prec, n;
    char  *end;

    if (!isfinite(v)) {
        *dst = '\0';
        return dst;
    }

    end = gn_lp_format_double_fast(dst, v);
    if (end != NULL) {
        return end;
    }

    /* 17 significant digits always round-trip an IEEE 754 double; fewer
     * usually do, and %g drops trailing zeros, so the first precision
     * that reads back exactly gives the short form ("0.1", not
     * "0.10000000000000001") */

    for (prec = 15; prec < 17; prec++) {
        n = snprintf(dst, GN_LP_DOUBLE_MAX, "%.*g", prec, v);

        if (n > 0 && n < GN_LP_DOUBLE_MAX && strtod(dst, NULL) == v) {
            return dst + n;
        }
    }

    n = snprintf(dst, GN_LP_DOUBLE_MAX, "%.17g", v);

    return dst + n;
}
