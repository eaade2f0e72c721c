/*
 * Gonsters common: InfluxDB 1.x line protocol encoding.
 * See gn_lineproto.h for the verified server behaviour behind each rule.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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


char *
gn_lp_format_double(char *dst, double v)
{
    int  prec, n;

    if (!isfinite(v)) {
        *dst = '\0';
        return dst;
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
