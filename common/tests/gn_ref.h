/*
 * Gonsters reference models, shared by the unit tests (common/tests/) and
 * the fuzz targets (fuzz/).  They are written independently of common/,
 * and the other way round from it where that is possible, so that an
 * invariant is never checked with the code under test.
 */

#ifndef GN_REF_H
#define GN_REF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>


/* an independent UTF-8 decoder, written the other way round from
 * gn_utf8_next(): decode by the lead byte, then refuse the results that
 * are overlong, surrogates or too large */

static int __attribute__((unused))
ref_utf8_valid(const unsigned char *p, size_t len)
{
    size_t    i, k, n;
    uint32_t  cp, min;

    for (i = 0; i < len; i += n) {

        if (p[i] < 0x80) {
            n = 1;
            continue;
        }

        if ((p[i] & 0xe0) == 0xc0) {
            n = 2; cp = p[i] & 0x1f; min = 0x80;
        } else if ((p[i] & 0xf0) == 0xe0) {
            n = 3; cp = p[i] & 0x0f; min = 0x800;
        } else if ((p[i] & 0xf8) == 0xf0) {
            n = 4; cp = p[i] & 0x07; min = 0x10000;
        } else {
            return 0;
        }

        if (i + n > len) {
            return 0;
        }

        for (k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }

        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }
    }

    return 1;
}


static int __attribute__((unused))
ref_hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}


/*
 * Strict JSON string-content decoder (RFC 8259): no raw '"', no raw
 * control characters, only the defined escapes.  Writes UTF-8 to out (at
 * most len bytes) and returns its length, or -1.
 */

static long __attribute__((unused))
ref_json_unescape(const char *s, size_t len, char *out)
{
    size_t         i;
    long           o;
    uint32_t       cp;
    int            k, h;
    unsigned char  c;

    o = 0;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        if (c < 0x20 || c == '"') {
            return -1;
        }

        if (c != '\\') {
            out[o++] = (char) c;
            continue;
        }

        if (++i == len) {
            return -1;
        }

        switch (s[i]) {
        case '"':  out[o++] = '"'; break;
        case '\\': out[o++] = '\\'; break;
        case '/':  out[o++] = '/'; break;
        case 'b':  out[o++] = '\b'; break;
        case 'f':  out[o++] = '\f'; break;
        case 'n':  out[o++] = '\n'; break;
        case 'r':  out[o++] = '\r'; break;
        case 't':  out[o++] = '\t'; break;
        case 'u':
            if (len - i < 5) {
                return -1;
            }
            cp = 0;
            for (k = 1; k <= 4; k++) {
                h = ref_hexval(s[i + k]);
                if (h < 0) {
                    return -1;
                }
                cp = cp << 4 | (uint32_t) h;
            }
            i += 4;
            /* we never emit surrogate escapes */
            if (cp >= 0xd800 && cp <= 0xdfff) {
                return -1;
            }
            if (cp < 0x80) {
                out[o++] = (char) cp;
            } else if (cp < 0x800) {
                out[o++] = (char) (0xc0 | cp >> 6);
                out[o++] = (char) (0x80 | (cp & 0x3f));
            } else {
                out[o++] = (char) (0xe0 | cp >> 12);
                out[o++] = (char) (0x80 | ((cp >> 6) & 0x3f));
                out[o++] = (char) (0x80 | (cp & 0x3f));
            }
            break;
        default:
            return -1;
        }
    }

    return o;
}


/*
 * Model of the InfluxDB 1.6.7 tag parser (tag keys, tag values, field
 * keys), as observed (common/tests/test_lineproto.c has the server results
 * behind it): the value ends at the first ',' ' ' or '=' NOT preceded by a
 * backslash; the escaped text is followed by the separator ',' in a line,
 * so it must end exactly there ('=' ends it in error, and a trailing
 * backslash swallows the ','); then "\," "\ " "\=" are replaced, in that
 * order, each pass left to right.  Writes at most len bytes to out and
 * returns the unescaped length, or -1.
 */

static long __attribute__((unused))
ref_lp_tag(const char *s, size_t len, char *out)
{
    static const char  pass[3] = { ',', ' ', '=' };
    size_t             i, j, o, t;
    int                k;

    for (i = 0; i <= len; i++) {
        char  c = (i == len) ? ',' : s[i];

        if ((c == ',' || c == ' ' || c == '=')
            && (i == 0 || s[i - 1] != '\\'))
        {
            break;
        }
    }

    if (i != len) {
        return -1;              /* ended early, or swallowed the ',' */
    }

    memcpy(out, s, len);
    o = len;

    /* each pass only drops bytes: compact in place (t <= j) */
    for (k = 0; k < 3; k++) {
        for (j = 0, t = 0; j < o; j++) {
            if (out[j] == '\\' && j + 1 < o && out[j + 1] == pass[k]) {
                j++;
            }
            out[t++] = out[j];
        }

        o = t;
    }

    return (long) o;
}


/* Model of the InfluxDB string field parser: '\' skips the next byte while
 * looking for the closing quote; then "\\" -> '\' and "\"" -> '"' left to
 * right.  Writes at most len bytes to out and returns the unescaped
 * length, or -1 if the text would end the quotes early. */

static long __attribute__((unused))
ref_lp_string(const char *s, size_t len, char *out)
{
    size_t  i, o;

    for (i = 0; i < len; i++) {
        if (s[i] == '\\') {
            i++;
        } else if (s[i] == '"') {
            return -1;
        }
    }

    if (i != len) {
        return -1;              /* the last backslash ate the quote */
    }

    for (i = 0, o = 0; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len
            && (s[i + 1] == '\\' || s[i + 1] == '"'))
        {
            i++;
        }
        out[o++] = s[i];
    }

    return (long) o;
}


/* 1 if s (NUL-terminated) follows JSON's number grammar (RFC 8259 §6) */
static int __attribute__((unused))
ref_json_number(const char *s)
{
    if (*s == '-') {
        s++;
    }

    if (*s == '0') {
        s++;

    } else if (*s >= '1' && *s <= '9') {
        while (*s >= '0' && *s <= '9') {
            s++;
        }

    } else {
        return 0;
    }

    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9')) {
            return 0;
        }
        while (*s >= '0' && *s <= '9') {
            s++;
        }
    }

    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-') {
            s++;
        }
        if (!(*s >= '0' && *s <= '9')) {
            return 0;
        }
        while (*s >= '0' && *s <= '9') {
            s++;
        }
    }

    return *s == '\0';
}


#endif /* GN_REF_H */
