/*
 * Gonsters common: JSON string escaping.
 *
 * gn_json_escape_len() and gn_json_escape() walk the input with the same
 * classification (gn_json_class) so that the length cannot drift from
 * what is written.
 */

#include "gn_json.h"
#include "gn_utf8.h"


/* how one input unit is written */

enum {
    GN_JSON_RAW,        /* copied as is, n bytes */
    GN_JSON_SHORT,      /* \" \\ \b \f \n \r \t */
    GN_JSON_U,          /* \u00XX, \u2028, \u2029 */
    GN_JSON_INVALID     /* \ufffd */
};


static const char  gn_hex[] = "0123456789abcdef";


/*
 * Classifies the unit at p; *n is the number of input bytes it spans and
 * *cp its code point (for GN_JSON_SHORT and GN_JSON_U).
 */

static int
gn_json_class(const unsigned char *p, const unsigned char *end, int *n,
    uint32_t *cp)
{
    int  k;

    if (*p >= 0x80) {
        k = gn_utf8_next(p, end, cp);

        if (k < 0) {
            *n = -k;
            return GN_JSON_INVALID;
        }

        *n = k;

        return (*cp == 0x2028 || *cp == 0x2029) ? GN_JSON_U : GN_JSON_RAW;
    }

    *n = 1;
    *cp = *p;

    switch (*p) {
    case '"': case '\\': case '\b': case '\f': case '\n': case '\r': case '\t':
        return GN_JSON_SHORT;
    }

    if (*p < 0x20 || *p == 0x7f) {
        return GN_JSON_U;
    }

    return GN_JSON_RAW;
}


size_t
gn_json_escape_len(const char *src, size_t len)
{
    int                   n;
    size_t                size;
    uint32_t              cp;
    const unsigned char  *p, *end;

    if (len == 0) {
        return 0;               /* src may be NULL */
    }

    p = (const unsigned char *) src;
    end = p + len;
    size = 0;

    while (p < end) {

        switch (gn_json_class(p, end, &n, &cp)) {
        case GN_JSON_RAW:
            size += n;
            break;
        case GN_JSON_SHORT:
            size += 2;
            break;
        default:
            size += 6;
            break;
        }

        p += n;
    }

    return size;
}


char *
gn_json_escape(char *dst, const char *src, size_t len)
{
    int                   n, i;
    uint32_t              cp;
    const unsigned char  *p, *end;

    if (len == 0) {
        return dst;             /* src may be NULL */
    }

    p = (const unsigned char *) src;
    end = p + len;

    while (p < end) {

        switch (gn_json_class(p, end, &n, &cp)) {

        case GN_JSON_RAW:
            for (i = 0; i < n; i++) {
                *dst++ = (char) p[i];
            }
            break;

        case GN_JSON_SHORT:
            *dst++ = '\\';

            switch (cp) {
            case '\b': *dst++ = 'b'; break;
            case '\f': *dst++ = 'f'; break;
            case '\n': *dst++ = 'n'; break;
            case '\r': *dst++ = 'r'; break;
            case '\t': *dst++ = 't'; break;
            default:   *dst++ = (char) cp; break;
            }

            break;

        case GN_JSON_INVALID:
            cp = 0xfffd;
            /* fall through */

        default:
            *dst++ = '\\';
            *dst++ = 'u';
            *dst++ = gn_hex[(cp >> 12) & 0xf];
            *dst++ = gn_hex[(cp >> 8) & 0xf];
            *dst++ = gn_hex[(cp >> 4) & 0xf];
            *dst++ = gn_hex[cp & 0xf];
            break;
        }

        p += n;
    }

    return dst;
}
