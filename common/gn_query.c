/*
 * Gonsters common: URL query strings.  See gn_query.h.
 */

#include <string.h>

#include "gn_query.h"


void
gn_query_init(gn_query_t *q, const char *s, size_t len)
{
    q->p = s;
    q->end = s + len;
}


static int
gn_query_hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


static size_t
gn_query_decode(char *dst, const char *src, const char *end)
{
    char  *d = dst;
    int    hi, lo;

    while (src < end) {
        if (*src == '+') {
            *d++ = ' ';
            src++;
            continue;
        }

        if (*src == '%' && end - src >= 3
            && (hi = gn_query_hex(src[1])) >= 0
            && (lo = gn_query_hex(src[2])) >= 0)
        {
            *d++ = (char) (hi << 4 | lo);
            src += 3;
            continue;
        }

        *d++ = *src++;
    }

    *d = '\0';

    return (size_t) (d - dst);
}


int
gn_query_next(gn_query_t *q, char *name, size_t *name_len, char *value,
    size_t *value_len)
{
    const char  *amp, *eq;

    while (q->p < q->end && *q->p == '&') {
        q->p++;
    }

    if (q->p >= q->end) {
        return 0;
    }

    amp = memchr(q->p, '&', (size_t) (q->end - q->p));
    if (amp == NULL) {
        amp = q->end;
    }

    eq = memchr(q->p, '=', (size_t) (amp - q->p));

    *name_len = gn_query_decode(name, q->p, eq ? eq : amp);
    *value_len = gn_query_decode(value, eq ? eq + 1 : amp, amp);

    q->p = amp;

    return 1;
}


int
gn_query_uint(const char *s, size_t len, uint64_t min, uint64_t max,
    uint64_t *out)
{
    uint64_t  n;
    size_t    i;

    if (len == 0 || len > 19) {
        return -1;
    }

    n = 0;

    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        n = n * 10 + (uint64_t) (s[i] - '0');
    }

    if (n < min || n > max) {
        return -1;
    }

    *out = n;

    return 0;
}
