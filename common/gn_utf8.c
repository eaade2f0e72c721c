/*
 * Gonsters common: UTF-8 decoding.
 */

#include "gn_utf8.h"


int
gn_utf8_next(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
    int            i, n;
    uint32_t       u;
    unsigned char  c, lo, hi;

    c = p[0];

    if (c < 0x80) {
        *cp = c;
        return 1;
    }

    /* the second byte has a narrower range after E0, ED, F0 and F4:
     * that is what excludes overlongs, surrogates and values > U+10FFFF */

    lo = 0x80;
    hi = 0xbf;

    if (c < 0xc2) {
        return -1;              /* continuation byte or overlong C0/C1 */

    } else if (c < 0xe0) {
        n = 2;
        u = c & 0x1f;

    } else if (c < 0xf0) {
        n = 3;
        u = c & 0x0f;

        if (c == 0xe0) {
            lo = 0xa0;
        } else if (c == 0xed) {
            hi = 0x9f;
        }

    } else if (c < 0xf5) {
        n = 4;
        u = c & 0x07;

        if (c == 0xf0) {
            lo = 0x90;
        } else if (c == 0xf4) {
            hi = 0x8f;
        }

    } else {
        return -1;
    }

    for (i = 1; i < n; i++) {

        if (end - p <= i || p[i] < lo || p[i] > hi) {
            return -i;
        }

        u = (u << 6) | (p[i] & 0x3f);
        lo = 0x80;
        hi = 0xbf;
    }

    *cp = u;

    return n;
}


int
gn_utf8_valid(const char *s, size_t len)
{
    int                   n;
    uint32_t              cp;
    const unsigned char  *p, *end;

    if (len == 0) {
        return 1;               /* s may be NULL */
    }

    p = (const unsigned char *) s;
    end = p + len;

    while (p < end) {

        if (*p < 0x80) {
            p++;
            continue;
        }

        n = gn_utf8_next(p, end, &cp);
        if (n < 0) {
            return 0;
        }

        p += n;
    }

    return 1;
}
