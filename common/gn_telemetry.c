/*
 * Gonsters common: the rules of a telemetry reading (see gn_telemetry.h).
 *
 * Ingest bodies and MQTT payloads are parsed in one pass by the parser
 * below, which validates the JSON (RFC 8259) and the reading rules at the
 * same time and fills gn_reading_t / gn_ingest_t directly: no tree, no
 * strtod for ordinary numbers, one comparison per key.  The errors keep
 * the order and texts of the rules as written (fixed order per object,
 * whatever the order of the keys in the text): errors of an object's own
 * keys are added when the object ends and spliced in front of those of
 * its children.
 *
 * Only a malformed text pays for more: where it went wrong is said as it
 * always was (the strict pre-scan, then cJSON's position), so that the
 * answers to malformed bodies do not change.
 */

#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "gn_lineproto.h"
#include "gn_telemetry.h"
#include "gn_time.h"
#include "gn_utf8.h"


const char *const  gn_field_names[GN_FIELD_N] = {
    "temperature", "pressure", "speed"
};


/* the keys of a reading whose repetition is an error */
#define GN_KEY_TIMESTAMP    GN_FIELD_N
#define GN_KEY_SENSOR_TYPE  (GN_FIELD_N + 1)
#define GN_KEY_READING_N    (GN_FIELD_N + 2)

static const char *const  gn_reading_keys[GN_KEY_READING_N] = {
    "temperature", "pressure", "speed", "timestamp", "sensor_type"
};

/* the keys of a batch entry */
enum {
    GN_KEY_MACHINE_ID = 0,
    GN_KEY_ENTRY_SENSOR_TYPE,
    GN_KEY_LOCATION,
    GN_KEY_READINGS,
    GN_KEY_ENTRY_N
};

static const char *const  gn_entry_keys[GN_KEY_ENTRY_N] = {
    "machine_id", "sensor_type", "location", "readings"
};

/* the keys of a body */
enum {
    GN_KEY_GATEWAY_ID = 0,
    GN_KEY_BODY_TIMESTAMP,
    GN_KEY_BATCH,
    GN_KEY_BODY_N
};

static const char *const  gn_body_keys[GN_KEY_BODY_N] = {
    "gateway_id", "timestamp", "batch"
};


#define GN_PAYLOAD_MAX_DEPTH  8


void
gn_errors_add(gn_errors_t *errs, const char *path, const char *field,
    const gn_json_text_t *value, const char *error, ...)
{
    gn_error_t  *e;
    va_list      ap;

    if (errs == NULL) {
        return;
    }

    if (errs->n == errs->cap) {
        errs->dropped++;
        return;
    }

    e = &errs->items[errs->n++];

    if (field == NULL) {
        snprintf(e->field, sizeof(e->field), "%s", path);

    } else if (path[0] == '\0') {
        snprintf(e->field, sizeof(e->field), "%s", field);

    } else {
        snprintf(e->field, sizeof(e->field), "%s.%s", path, field);
    }

    va_start(ap, error);
    vsnprintf(e->error, sizeof(e->error), error, ap);
    va_end(ap);

    if (value != NULL) {
        e->value = *value;

    } else {
        e->value.text = NULL;
        e->value.len = 0;
    }
}


/*
 * Puts the errors of loc in front of those added to errs since it held
 * (n0, d0): the list then keeps what it would have kept had loc's errors
 * been added first (the first cap of them all), the others counted.
 */
static void
gn_errors_splice(gn_errors_t *errs, size_t n0, size_t d0,
    const gn_errors_t *loc)
{
    size_t  kept, later, room, k, move;

    if (loc->n == 0 && loc->dropped == 0) {
        return;
    }

    kept = errs->n - n0;
    later = kept + (errs->dropped - d0);
    room = errs->cap - n0;
    k = loc->n < room ? loc->n : room;
    move = kept < room - k ? kept : room - k;

    memmove(&errs->items[n0 + k], &errs->items[n0],
            move * sizeof(gn_error_t));
    memcpy(&errs->items[n0], loc->items, k * sizeof(gn_error_t));

    errs->n = n0 + k + move;
    errs->dropped = d0 + (loc->n - k) + loc->dropped + (later - move);
}


/* forgets what was added since (n0, d0) */
static void
gn_errors_truncate(gn_errors_t *errs, size_t n0, size_t d0)
{
    errs->n = n0;
    errs->dropped = d0;
}


/*
 * Where a malformed text went wrong, said as it always was: the strict
 * pre-scan (invalid UTF-8 and raw control characters in strings, which
 * cJSON lets through, and the nesting), then cJSON's own position.  Only
 * called once the one-pass parser has refused the text.
 */

/* bytes that end a run: inside strings '"', '\\', controls and non-ASCII;
 * outside them also the brackets */
#define GN_SCAN_STRING  1
#define GN_SCAN_OUTSIDE 2

static const unsigned char  gn_scan_stop[256] = {
    [0x00 ... 0x1f] = GN_SCAN_STRING,
    ['"'] = GN_SCAN_STRING | GN_SCAN_OUTSIDE,
    ['\\'] = GN_SCAN_STRING,
    ['['] = GN_SCAN_OUTSIDE,
    [']'] = GN_SCAN_OUTSIDE,
    ['{'] = GN_SCAN_OUTSIDE,
    ['}'] = GN_SCAN_OUTSIDE,
    [0x80 ... 0xff] = GN_SCAN_STRING | GN_SCAN_OUTSIDE,
};


static const char *
gn_json_scan(const char *text, size_t len, size_t max_depth, size_t *offset)
{
    const unsigned char  *p = (const unsigned char *) text, *end = p + len;
    const unsigned char  *start = p;
    size_t                depth = 0;
    unsigned              stop = GN_SCAN_OUTSIDE;
    int                   n;
    uint32_t              cp;

    for ( ;; ) {
        while (p < end && !(gn_scan_stop[*p] & stop)) {
            p++;
        }

        if (p == end) {
            return NULL;
        }

        if (*p >= 0x80) {
            n = gn_utf8_next(p, end, &cp);
            if (n < 0) {
                *offset = (size_t) (p - start);
                return "invalid UTF-8";
            }
            p += n;
            continue;
        }

        if (stop == GN_SCAN_STRING) {
            if (*p == '\\') {
                p += (p + 1 < end) ? 2 : 1;
                continue;
            }

            if (*p < 0x20) {
                *offset = (size_t) (p - start);
                return "control character in a string";
            }

            stop = GN_SCAN_OUTSIDE;     /* the closing quote */
            p++;
            continue;
        }

        switch (*p) {
        case '"':
            stop = GN_SCAN_STRING;
            break;

        case '[':
        case '{':
            if (++depth > max_depth) {
                *offset = (size_t) (p - start);
                return "nested too deeply";
            }
            break;

        default:                        /* ']' '}' */
            if (depth > 0) {
                depth--;
            }
            break;
        }

        p++;
    }
}


/* NULL when the old rules accept the text (which the one-pass parser
 * refuses when it breaks RFC 8259 where cJSON is lenient: leading zeros,
 * control characters as white space) */
static const char *
gn_json_error(const char *text, size_t len, size_t max_depth, size_t *offset)
{
    cJSON       *root;
    const char  *error, *end = NULL;

    error = gn_json_scan(text, len, max_depth, offset);
    if (error != NULL) {
        return error;
    }

    if (len == 0) {
        *offset = 0;
        return "empty";
    }

    root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root == NULL) {
        *offset = end != NULL ? (size_t) (end - text) : 0;
        return "syntax error";
    }

    cJSON_Delete(root);

    while (end < text + len
           && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
    {
        end++;
    }

    if (end != text + len) {
        *offset = (size_t) (end - text);
        return "unexpected data after the JSON value";
    }

    return NULL;
}


/*
 * The one-pass parser.  Each function starts at the first byte of its
 * token (white space skipped by the caller) and returns 0, or -1 with
 * jp->error_at set (jp->nomem when an allocation failed).
 */

typedef struct {
    const unsigned char  *start;
    const unsigned char  *p;
    const unsigned char  *end;
    const unsigned char  *error_at;
    size_t                depth;
    size_t                max_depth;
    int                   nomem;
} gn_jp_t;


/* a value as the rules need it */
enum {
    GN_JV_NONE = 0,             /* absent */
    GN_JV_STRING,
    GN_JV_NUMBER,
    GN_JV_OBJECT,
    GN_JV_ARRAY,
    GN_JV_LITERAL               /* true, false, null */
};

typedef struct {
    int                   type;
    int                   escaped;      /* a string with escapes */
    gn_json_text_t        text;         /* the whole value as sent */
    double                number;       /* GN_JV_NUMBER, when asked for */
} gn_jv_t;


static int
gn_jp_fail(gn_jp_t *jp)
{
    jp->error_at = jp->p;
    return -1;
}


static void
gn_jp_ws(gn_jp_t *jp)
{
    const unsigned char  *p = jp->p, *end = jp->end;

    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    {
        p++;
    }

    jp->p = p;
}


/* 1..4 hex digits' value, or -1 */
static int32_t
gn_hex4(const unsigned char *p)
{
    int32_t  v = 0;
    int      i, d;

    for (i = 0; i < 4; i++) {
        if (p[i] >= '0' && p[i] <= '9') {
            d = p[i] - '0';

        } else if ((p[i] | 0x20) >= 'a' && (p[i] | 0x20) <= 'f') {
            d = (p[i] | 0x20) - 'a' + 10;

        } else {
            return -1;
        }

        v = v * 16 + d;
    }

    return v;
}


/* the length of the escape at p ('\\'), or -1; *cp its code point */
static int
gn_escape(const unsigned char *p, const unsigned char *end, uint32_t *cp)
{
    int32_t  hi, lo;

    if (end - p < 2) {
        return -1;
    }

    switch (p[1]) {
    case '"': *cp = '"'; return 2;
    case '\\': *cp = '\\'; return 2;
    case '/': *cp = '/'; return 2;
    case 'b': *cp = '\b'; return 2;
    case 'f': *cp = '\f'; return 2;
    case 'n': *cp = '\n'; return 2;
    case 'r': *cp = '\r'; return 2;
    case 't': *cp = '\t'; return 2;
    case 'u': break;
    default: return -1;
    }

    if (end - p < 6 || (hi = gn_hex4(p + 2)) < 0) {
        return -1;
    }

    if (hi >= 0xdc00 && hi <= 0xdfff) {
        return -1;                      /* a lone low surrogate */
    }

    if (hi < 0xd800 || hi > 0xdbff) {
        *cp = (uint32_t) hi;
        return 6;
    }

    if (end - p < 12 || p[6] != '\\' || p[7] != 'u'
        || (lo = gn_hex4(p + 8)) < 0xdc00 || lo > 0xdfff)
    {
        return -1;
    }

    *cp = 0x10000 + (((uint32_t) hi - 0xd800) << 10)
          + ((uint32_t) lo - 0xdc00);
    return 12;
}


/* bytes a string's plain run stops at */
static const unsigned char  gn_str_stop[256] = {
    [0x00 ... 0x1f] = 1,
    ['"'] = 1,
    ['\\'] = 1,
    [0x80 ... 0xff] = 1,
};


static int
gn_jp_string(gn_jp_t *jp, gn_jv_t *v)
{
    int                   n, escaped = 0;
    uint32_t              cp;
    const unsigned char  *p = jp->p + 1, *end = jp->end;

    for ( ;; ) {
        while (p < end && !gn_str_stop[*p]) {
            p++;
        }

        if (p == end) {
            break;
        }

        if (*p == '"') {
            if (v != NULL) {
                v->type = GN_JV_STRING;
                v->escaped = escaped;
                v->text.text = (const char *) jp->p;
                v->text.len = (size_t) (p + 1 - jp->p);
            }

            jp->p = p + 1;
            return 0;
        }

        if (*p == '\\') {
            n = gn_escape(p, end, &cp);
            escaped = 1;

        } else if (*p < 0x20) {
            n = -1;

        } else {
            n = gn_utf8_next(p, end, &cp);
        }

        if (n < 0) {
            break;
        }

        p += n;
    }

    jp->p = p;
    return gn_jp_fail(jp);
}


/*
 * The decoded form of a string's content (between the quotes), written to
 * dst when dst is not NULL (room for the content's length: no escape
 * grows); returns its length and sets *ctl when it holds a control
 * character (C0 or DEL).
 */
static size_t
gn_jv_decode(const gn_jv_t *v, char *dst, int *ctl)
{
    int                   n;
    size_t                len = 0;
    uint32_t              cp;
    const unsigned char  *p, *end;

    p = (const unsigned char *) v->text.text + 1;
    end = (const unsigned char *) v->text.text + v->text.len - 1;
    *ctl = 0;

    if (!v->escaped) {
        len = (size_t) (end - p);
        *ctl = memchr(p, 0x7f, len) != NULL;

        if (dst != NULL) {
            memcpy(dst, p, len);
        }

        return len;
    }

    while (p < end) {
        if (*p != '\\') {
            if (*p == 0x7f) {
                *ctl = 1;
            }

            if (dst != NULL) {
                dst[len] = (char) *p;
            }

            len++;
            p++;
            continue;
        }

        n = gn_escape(p, end, &cp);     /* validated: n > 0 */
        p += n;

        if (cp < 0x20 || cp == 0x7f) {
            *ctl = 1;
        }

        if (cp < 0x80) {
            if (dst != NULL) {
                dst[len] = (char) cp;
            }
            len++;

        } else if (cp < 0x800) {
            if (dst != NULL) {
                dst[len] = (char) (0xc0 | (cp >> 6));
                dst[len + 1] = (char) (0x80 | (cp & 0x3f));
            }
            len += 2;

        } else if (cp < 0x10000) {
            if (dst != NULL) {
                dst[len] = (char) (0xe0 | (cp >> 12));
                dst[len + 1] = (char) (0x80 | ((cp >> 6) & 0x3f));
                dst[len + 2] = (char) (0x80 | (cp & 0x3f));
            }
            len += 3;

        } else {
            if (dst != NULL) {
                dst[len] = (char) (0xf0 | (cp >> 18));
                dst[len + 1] = (char) (0x80 | ((cp >> 12) & 0x3f));
                dst[len + 2] = (char) (0x80 | ((cp >> 6) & 0x3f));
                dst[len + 3] = (char) (0x80 | (cp & 0x3f));
            }
            len += 4;
        }
    }

    return len;
}


/* the decoded string when it is at most max bytes long (an escape is at
 * most 6 bytes for 1), in buf of GN_DECODE_ROOM(max); -1 if longer */
#define GN_DECODE_ROOM(max)  (6 * (max) + 6)

static long
gn_jv_decode_short(const gn_jv_t *v, size_t max, char *buf)
{
    int     ctl;
    size_t  len;

    if (v->text.len - 2 > GN_DECODE_ROOM(max)) {
        return -1;
    }

    len = gn_jv_decode(v, buf, &ctl);

    return len > max ? -1 : (long) len;
}


/*
 * Numbers: the RFC's grammar, and the value strtod() gives (bit for bit).
 * A mantissa of at most 19 digits that is exact in a double (<= 2^53),
 * scaled by a power of ten that is exact too (<= 10^22), is one correctly
 * rounded multiplication or division (Clinger's fast path): nearly every
 * sensor value.  The others go to strtod.
 */

static const double  gn_pow10[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};


static double
gn_strtod(const unsigned char *s, size_t len)
{
    char    buf[128], *copy, point;
    double  d;
    size_t  i;

    copy = len < sizeof(buf) ? buf : malloc(len + 1);
    if (copy == NULL) {
        return NAN;                     /* refused as not finite */
    }

    memcpy(copy, s, len);
    copy[len] = '\0';

    /* strtod reads the locale's decimal point */
    point = localeconv()->decimal_point[0];

    if (point != '.') {
        for (i = 0; i < len; i++) {
            if (copy[i] == '.') {
                copy[i] = point;
            }
        }
    }

    d = strtod(copy, NULL);

    if (copy != buf) {
        free(copy);
    }

    return d;
}


#define GN_IS_DIGIT(c)  ((unsigned) ((c) - '0') < 10)

static int
gn_jp_number(gn_jp_t *jp, double *out)
{
    int                   neg = 0, nd = 0, exact = 1, eneg = 0;
    long                  exp10 = 0, e = 0;
    uint64_t              m = 0;
    const unsigned char  *p = jp->p, *end = jp->end, *start = jp->p;

    if (*p == '-') {
        neg = 1;
        p++;
    }

    if (p == end || !GN_IS_DIGIT(*p)) {
        jp->p = p;
        return gn_jp_fail(jp);
    }

    if (*p == '0') {
        p++;

    } else {
        while (p < end && GN_IS_DIGIT(*p)) {
            if (nd < 19) {
                m = m * 10 + (uint64_t) (*p - '0');
                nd++;

            } else {
                exact = 0;
            }
            p++;
        }
    }

    if (p < end && *p == '.') {
        p++;

        if (p == end || !GN_IS_DIGIT(*p)) {
            jp->p = p;
            return gn_jp_fail(jp);
        }

        while (p < end && GN_IS_DIGIT(*p)) {
            if (m == 0 && *p == '0') {
                exp10--;                /* a leading zero of the fraction */

            } else if (nd < 19) {
                m = m * 10 + (uint64_t) (*p - '0');
                nd++;
                exp10--;

            } else {
                exact = 0;
            }
            p++;
        }
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < end && (*p == '+' || *p == '-')) {
            eneg = (*p == '-');
            p++;
        }

        if (p == end || !GN_IS_DIGIT(*p)) {
            jp->p = p;
            return gn_jp_fail(jp);
        }

        while (p < end && GN_IS_DIGIT(*p)) {
            if (e < 100000) {
                e = e * 10 + (*p - '0');
            }
            p++;
        }

        exp10 += eneg ? -e : e;
    }

    jp->p = p;

    if (out == NULL) {
        return 0;
    }

    if (exact && m <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
        *out = exp10 >= 0 ? (double) m * gn_pow10[exp10]
                          : (double) m / gn_pow10[-exp10];

    } else if (exact && m == 0) {
        *out = 0.0;

    } else {
        *out = gn_strtod(start, (size_t) (p - start));
        return 0;                       /* strtod gave the sign */
    }

    if (neg) {
        *out = -*out;
    }

    return 0;
}


static int
gn_jp_literal(gn_jp_t *jp, const char *word, size_t len)
{
    if ((size_t) (jp->end - jp->p) < len || memcmp(jp->p, word, len) != 0) {
        return gn_jp_fail(jp);
    }

    jp->p += len;
    return 0;
}


static int gn_jp_value(gn_jp_t *jp, gn_jv_t *v, int want_number);


/* after a member or an element: 1 when another follows, 0 at the end */
static int
gn_jp_next(gn_jp_t *jp, unsigned char close)
{
    gn_jp_ws(jp);

    if (jp->p < jp->end) {
        if (*jp->p == ',') {
            jp->p++;
            gn_jp_ws(jp);
            return 1;
        }

        if (*jp->p == close) {
            jp->p++;
            jp->depth--;
            return 0;
        }
    }

    return gn_jp_fail(jp);
}


/* opens an object or array: 1 when it has members, 0 when empty */
static int
gn_jp_open(gn_jp_t *jp, unsigned char close)
{
    if (++jp->depth > jp->max_depth) {
        return gn_jp_fail(jp);
    }

    jp->p++;
    gn_jp_ws(jp);

    if (jp->p < jp->end && *jp->p == close) {
        jp->p++;
        jp->depth--;
        return 0;
    }

    return 1;
}


/* a member's key and the colon; the value's first byte follows */
static int
gn_jp_key(gn_jp_t *jp, gn_jv_t *key)
{
    if (jp->p == jp->end || *jp->p != '"') {
        return gn_jp_fail(jp);
    }

    if (gn_jp_string(jp, key) != 0) {
        return -1;
    }

    gn_jp_ws(jp);

    if (jp->p == jp->end || *jp->p != ':') {
        return gn_jp_fail(jp);
    }

    jp->p++;
    gn_jp_ws(jp);

    return 0;
}


/* which of keys[0..n) the key is, or -1 */
static int
gn_jp_key_index(const gn_jv_t *key, const char *const *keys, int n)
{
    char         buf[GN_DECODE_ROOM(16)];
    const char  *s;
    long         len;
    int          i;

    if (key->escaped) {
        len = gn_jv_decode_short(key, 16, buf);
        if (len < 0) {
            return -1;
        }
        s = buf;

    } else {
        s = key->text.text + 1;
        len = (long) key->text.len - 2;
    }

    if (len == 0) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        if (s[0] == keys[i][0] && strlen(keys[i]) == (size_t) len
            && memcmp(s, keys[i], (size_t) len) == 0)
        {
            return i;
        }
    }

    return -1;
}


static int
gn_jp_container(gn_jp_t *jp, int object)
{
    gn_jv_t        key;
    int            more;
    unsigned char  close = object ? '}' : ']';

    more = gn_jp_open(jp, close);

    while (more > 0) {
        if (object && gn_jp_key(jp, &key) != 0) {
            return -1;
        }

        if (gn_jp_value(jp, NULL, 0) != 0) {
            return -1;
        }

        more = gn_jp_next(jp, close);
    }

    return more;
}


/* any value; v (may be NULL) describes it, with the number's value when
 * want_number */
static int
gn_jp_value(gn_jp_t *jp, gn_jv_t *v, int want_number)
{
    int                   rc, type;
    const unsigned char  *start = jp->p;

    if (jp->p == jp->end) {
        return gn_jp_fail(jp);
    }

    switch (*jp->p) {

    case '"':
        return gn_jp_string(jp, v);

    case '{':
    case '[':
        type = (*jp->p == '{') ? GN_JV_OBJECT : GN_JV_ARRAY;
        rc = gn_jp_container(jp, type == GN_JV_OBJECT);
        break;

    case 't':
        type = GN_JV_LITERAL;
        rc = gn_jp_literal(jp, "true", 4);
        break;

    case 'f':
        type = GN_JV_LITERAL;
        rc = gn_jp_literal(jp, "false", 5);
        break;

    case 'n':
        type = GN_JV_LITERAL;
        rc = gn_jp_literal(jp, "null", 4);
        break;

    default:
        type = GN_JV_NUMBER;
        rc = gn_jp_number(jp, (v != NULL && want_number) ? &v->number : NULL);
        break;
    }

    if (rc != 0) {
        return -1;
    }

    if (v != NULL) {
        v->type = type;
        v->escaped = 0;
        v->text.text = (const char *) start;
        v->text.len = (size_t) (jp->p - start);
    }

    return 0;
}


/* the root: an optional byte order mark (as cJSON skips it), white space */
static void
gn_jp_init(gn_jp_t *jp, const char *text, size_t len, size_t max_depth)
{
    jp->start = (const unsigned char *) text;
    jp->p = jp->start;
    jp->end = jp->start + len;
    jp->error_at = jp->start;
    jp->depth = 0;
    jp->max_depth = max_depth;
    jp->nomem = 0;

    if (len > 4 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        jp->p += 3;
    }

    gn_jp_ws(jp);
}


/* nothing but white space after the root */
static int
gn_jp_end(gn_jp_t *jp)
{
    gn_jp_ws(jp);

    return jp->p == jp->end ? 0 : gn_jp_fail(jp);
}


/* the message and offset of a text the parser refused */
static const char *
gn_jp_error(gn_jp_t *jp, size_t *offset)
{
    const char  *error;

    error = gn_json_error((const char *) jp->start,
                          (size_t) (jp->end - jp->start), jp->max_depth,
                          offset);
    if (error != NULL) {
        return error;
    }

    *offset = (size_t) (jp->error_at - jp->start);
    return "syntax error";
}


/* rules of the values */

/* a string of 1..max bytes without control characters */
static int
gn_check_string(const gn_jv_t *v, const char *path, const char *field,
    size_t max, gn_errors_t *errs)
{
    int     ctl;
    size_t  len;

    if (v->type == GN_JV_NONE) {
        gn_errors_add(errs, path, field, NULL, "Required field missing");
        return 0;
    }

    if (v->type != GN_JV_STRING) {
        gn_errors_add(errs, path, field, &v->text, "Must be a string");
        return 0;
    }

    len = gn_jv_decode(v, NULL, &ctl);

    if (len == 0) {
        gn_errors_add(errs, path, field, &v->text, "Must not be empty");
        return 0;
    }

    if (len > max) {
        gn_errors_add(errs, path, field, &v->text,
                      "Longer than %zu bytes", max);
        return 0;
    }

    if (ctl) {
        gn_errors_add(errs, path, field, &v->text,
                      "Must not contain control characters");
        return 0;
    }

    return 1;
}


static int
gn_check_timestamp(const gn_jv_t *v, const char *path, const char *field,
    int64_t *ns, gn_errors_t *errs)
{
    char  buf[GN_DECODE_ROOM(GN_TIMESTAMP_MAX)];
    long  len;
    int   rc;

    if (v->type == GN_JV_NONE) {
        gn_errors_add(errs, path, field, NULL, "Required field missing");
        return 0;
    }

    if (v->type != GN_JV_STRING) {
        gn_errors_add(errs, path, field, &v->text,
                      "Invalid ISO 8601 format: must be a string");
        return 0;
    }

    if (!v->escaped) {
        len = (long) v->text.len - 2;
        rc = len > GN_TIMESTAMP_MAX
             ? GN_TIME_EFORMAT
             : gn_time_parse_iso8601(v->text.text + 1, (size_t) len, ns);

    } else {
        len = gn_jv_decode_short(v, GN_TIMESTAMP_MAX, buf);
        rc = len < 0 ? GN_TIME_EFORMAT
                     : gn_time_parse_iso8601(buf, (size_t) len, ns);
    }

    if (rc == GN_TIME_EFORMAT) {
        gn_errors_add(errs, path, field, &v->text, "%s", gn_time_strerror(rc));
        return 0;
    }

    if (rc != GN_TIME_OK) {
        gn_errors_add(errs, path, field, &v->text,
                      "Invalid ISO 8601 format: %s", gn_time_strerror(rc));
        return 0;
    }

    return 1;
}


/* the path of a reading, written only when it has an error */
typedef struct {
    const char           *path;
    size_t                entry;
    size_t                index;
    char                  buf[64];
} gn_rpath_t;


static const char *
gn_rpath(gn_rpath_t *rp)
{
    if (rp->path == NULL) {
        snprintf(rp->buf, sizeof(rp->buf), "batch[%zu].readings[%zu]",
                 rp->entry, rp->index);
        rp->path = rp->buf;
    }

    return rp->path;
}


/*
 * One reading: any value (its rules say an object); *nerr the number of
 * its errors.  sensor_type (may be NULL) receives that key's value.
 */
static int
gn_jp_reading(gn_jp_t *jp, gn_rpath_t *rp, gn_reading_t *out,
    gn_json_text_t *ts_text, gn_jv_t *sensor_type, gn_errors_t *errs,
    size_t *nerr)
{
    gn_jv_t               obj, key, val, ts, field[GN_FIELD_N], *v;
    unsigned              seen = 0;
    int                   more, k, i;
    const unsigned char  *start = jp->p;

    *nerr = 0;
    out->present = 0;
    out->ts_ns = 0;

    if (jp->p == jp->end || *jp->p != '{') {
        if (gn_jp_value(jp, &obj, 0) != 0) {
            return -1;
        }

        gn_errors_add(errs, gn_rpath(rp), NULL, &obj.text,
                      "Must be an object");
        *nerr = 1;
        return 0;
    }

    ts.type = GN_JV_NONE;
    for (i = 0; i < GN_FIELD_N; i++) {
        field[i].type = GN_JV_NONE;
    }

    more = gn_jp_open(jp, '}');

    while (more > 0) {
        if (gn_jp_key(jp, &key) != 0) {
            return -1;
        }

        k = gn_jp_key_index(&key, gn_reading_keys, GN_KEY_READING_N);

        if (k < 0) {
            if (gn_jp_value(jp, NULL, 0) != 0) {
                return -1;
            }

        } else {
            /* a key given twice would let two parsers see two different
             * readings */
            v = (seen & (1u << k)) ? &val
                : k < GN_FIELD_N ? &field[k]
                : k == GN_KEY_TIMESTAMP ? &ts
                : sensor_type != NULL ? sensor_type : &val;

            if (gn_jp_value(jp, v, k < GN_FIELD_N) != 0) {
                return -1;
            }

            if (seen & (1u << k)) {
                gn_errors_add(errs, gn_rpath(rp), gn_reading_keys[k],
                              &val.text, "Duplicate key");
                (*nerr)++;
            }

            seen |= 1u << k;
        }

        more = gn_jp_next(jp, '}');
    }

    if (more < 0) {
        return -1;
    }

    if (ts_text != NULL) {
        *ts_text = ts.text;
    }

    if (ts.type == GN_JV_STRING && ts.text.len - 2 <= GN_TIMESTAMP_MAX
        && !ts.escaped
        && gn_time_parse_iso8601(ts.text.text + 1, ts.text.len - 2,
                                 &out->ts_ns) == GN_TIME_OK)
    {
        /* the common case, without a path */

    } else if (!gn_check_timestamp(&ts, gn_rpath(rp), "timestamp",
                                   &out->ts_ns, errs))
    {
        (*nerr)++;
    }

    for (i = 0; i < GN_FIELD_N; i++) {
        v = &field[i];

        if (v->type == GN_JV_NONE) {
            continue;
        }

        if (v->type != GN_JV_NUMBER) {
            gn_errors_add(errs, gn_rpath(rp), gn_field_names[i], &v->text,
                          "Must be a number");
            (*nerr)++;
            continue;
        }

        if (!isfinite(v->number)) {
            gn_errors_add(errs, gn_rpath(rp), gn_field_names[i], &v->text,
                          "Must be a finite number");
            (*nerr)++;
            continue;
        }

        out->value[i] = v->number;
        out->present |= 1u << i;
    }

    if (out->present == 0 && *nerr == 0) {
        obj.text.text = (const char *) start;
        obj.text.len = (size_t) (jp->p - start);
        gn_errors_add(errs, gn_rpath(rp), NULL, &obj.text,
                      "At least one of temperature, pressure, speed is "
                      "required");
        (*nerr)++;
    }

    return 0;
}


size_t
gn_reading_parse(const char *json, size_t len, const char *path,
    gn_reading_t *out, gn_errors_t *errs)
{
    gn_jp_t      jp;
    gn_rpath_t   rp;
    size_t       nerr, n0 = errs->n, d0 = errs->dropped, offset;
    const char  *error;

    rp.path = path;

    gn_jp_init(&jp, json, len, GN_PAYLOAD_MAX_DEPTH);

    if (gn_jp_reading(&jp, &rp, out, NULL, NULL, errs, &nerr) == 0
        && gn_jp_end(&jp) == 0)
    {
        return nerr;
    }

    gn_errors_truncate(errs, n0, d0);
    error = gn_jp_error(&jp, &offset);
    gn_errors_add(errs, path, NULL, NULL, "Malformed JSON: %s at byte %zu",
                  error, offset);

    return 1;
}


/* MQTT payloads */

const char *
gn_payload_reason(gn_payload_status_e status)
{
    switch (status) {
    case GN_PAYLOAD_OK:
        return "ok";
    case GN_PAYLOAD_TOO_LARGE:
        return "payload_too_large";
    case GN_PAYLOAD_NOT_JSON:
        return "invalid_json";
    default:
        return "invalid_payload";
    }
}


gn_payload_status_e
gn_payload_parse(const char *payload, size_t len, size_t max_bytes,
    gn_reading_t *out, gn_errors_t *errs)
{
    gn_jp_t              jp;
    gn_jv_t              sensor_type;
    gn_rpath_t           rp;
    const char          *error;
    size_t               offset, n0 = errs->n, d0 = errs->dropped, nerr, i;
    int                  root_object;
    gn_payload_status_e  status = GN_PAYLOAD_OK;

    if (len > max_bytes) {
        gn_errors_add(errs, "payload", NULL, NULL,
                      "Larger than %zu bytes", max_bytes);
        return GN_PAYLOAD_TOO_LARGE;
    }

    rp.path = "";
    sensor_type.type = GN_JV_NONE;

    gn_jp_init(&jp, payload, len, GN_PAYLOAD_MAX_DEPTH);
    root_object = (jp.p < jp.end && *jp.p == '{');

    if (gn_jp_reading(&jp, &rp, out, NULL, &sensor_type, errs, &nerr) != 0
        || gn_jp_end(&jp) != 0)
    {
        gn_errors_truncate(errs, n0, d0);
        error = gn_jp_error(&jp, &offset);
        gn_errors_add(errs, "payload", NULL, NULL,
                      "Malformed JSON: %s at byte %zu", error, offset);
        return GN_PAYLOAD_NOT_JSON;
    }

    if (nerr != 0) {
        status = GN_PAYLOAD_INVALID;
    }

    if (root_object
        && !gn_check_string(&sensor_type, "", "sensor_type",
                            GN_SENSOR_TYPE_MAX, errs))
    {
        status = GN_PAYLOAD_INVALID;
    }

    /* the payload is the caller's: no error points into it */
    for (i = n0; i < errs->n; i++) {
        errs->items[i].value.text = NULL;
        errs->items[i].value.len = 0;
    }

    return status;
}


/* REST ingest bodies */

/* a reading of the entry being parsed, with its timestamp as sent */
typedef struct {
    gn_reading_t          r;
    gn_json_text_t        ts;
} gn_scratch_t;

typedef struct {
    gn_jp_t                    jp;
    const gn_ingest_limits_t  *limits;
    void                    *(*alloc)(void *ctx, size_t size);
    void                      *ctx;
    gn_errors_t               *errs;
    gn_ingest_t               *in;
    size_t                     machines_cap;
    gn_scratch_t              *scratch;
    size_t                     scratch_cap;
    int                        limit_hit;   /* readings of an entry */
} gn_ingest_state_t;


/* an array of n elements with room for one more, at most max */
static void *
gn_grow(gn_ingest_state_t *st, void *old, size_t n, size_t *cap, size_t max,
    size_t size)
{
    void    *a;
    size_t   ncap;

    ncap = *cap ? 2 * *cap : 16;
    if (ncap > max) {
        ncap = max;
    }

    a = st->alloc(st->ctx, ncap * size);
    if (a == NULL) {
        st->jp.nomem = 1;
        st->jp.error_at = st->jp.p;
        return NULL;
    }

    if (n > 0) {
        memcpy(a, old, n * size);
    }

    *cap = ncap;
    return a;
}


/* a decoded copy of a string value, NUL-terminated */
static char *
gn_jv_strdup(gn_ingest_state_t *st, const gn_jv_t *v)
{
    int    ctl;
    char  *s;

    s = st->alloc(st->ctx, v->text.len - 1);
    if (s == NULL) {
        st->jp.nomem = 1;
        return NULL;
    }

    s[gn_jv_decode(v, s, &ctl)] = '\0';

    return s;
}


/* the readings array of entry idx, into st->scratch; past the limit the
 * readings are not looked at and their errors are forgotten */
static int
gn_jp_readings(gn_ingest_state_t *st, size_t idx, size_t n0, size_t d0,
    size_t *count, int *over)
{
    int            more;
    size_t         nerr;
    gn_rpath_t     rp;
    gn_jp_t       *jp = &st->jp;
    gn_scratch_t  *sc;

    more = gn_jp_open(jp, ']');

    while (more > 0) {
        if (!*over && *count == st->limits->max_readings) {
            *over = 1;
            gn_errors_truncate(st->errs, n0, d0);
        }

        if (*over) {
            if (gn_jp_value(jp, NULL, 0) != 0) {
                return -1;
            }

        } else {
            if (*count == st->scratch_cap) {
                st->scratch = gn_grow(st, st->scratch, *count,
                                      &st->scratch_cap,
                                      st->limits->max_readings,
                                      sizeof(gn_scratch_t));
                if (st->scratch == NULL) {
                    return -1;
                }
            }

            sc = &st->scratch[*count];
            rp.path = NULL;
            rp.entry = idx;
            rp.index = *count;

            if (gn_jp_reading(jp, &rp, &sc->r, &sc->ts, NULL, st->errs,
                              &nerr)
                != 0)
            {
                return -1;
            }

            (*count)++;
        }

        more = gn_jp_next(jp, ']');
    }

    return more;
}


/* machine_id: a UUID, kept in canonical lower case */
static void
gn_ingest_machine_id(gn_ingest_state_t *st, const gn_jv_t *v,
    const char *path, gn_ingest_machine_t *m, gn_errors_t *errs)
{
    char         buf[GN_DECODE_ROOM(GN_UUID_LEN)];
    const char  *s;
    long         len;

    if (v->type == GN_JV_NONE) {
        gn_errors_add(errs, path, "machine_id", NULL,
                      "Required field missing");
        return;
    }

    if (v->type == GN_JV_STRING) {
        if (v->escaped) {
            len = gn_jv_decode_short(v, GN_UUID_LEN, buf);
            s = buf;

        } else {
            len = (long) v->text.len - 2;
            s = v->text.text + 1;
        }

        if (len == GN_UUID_LEN && gn_uuid_is_valid(s, GN_UUID_LEN)) {
            gn_uuid_lower(m->machine_id, s);
            m->machine_id[GN_UUID_LEN] = '\0';
            return;
        }

        /* shown as sent in the answer's details */
        m->machine_id_sent = gn_jv_strdup(st, v);
    }

    gn_errors_add(errs, path, "machine_id", &v->text, "Must be a UUID");
}


/* one batch entry, any value (its rules say an object) */
static int
gn_jp_entry(gn_ingest_state_t *st, size_t idx, gn_ingest_machine_t *m)
{
    int                   more, k, over = 0, readings_ok;
    char                  path[48];
    size_t                n0, d0, nreadings = 0, j;
    unsigned              seen = 0, dup = 0;
    gn_jv_t               key, f[GN_KEY_ENTRY_N];
    gn_jp_t              *jp = &st->jp;
    gn_error_t            loc_items[2 * GN_KEY_ENTRY_N];
    gn_errors_t           loc = { loc_items, 2 * GN_KEY_ENTRY_N, 0, 0 };
    gn_errors_t          *errs = st->errs;
    const unsigned char  *start;

    memset(m, 0, sizeof(*m));
    n0 = errs->n;
    d0 = errs->dropped;

    if (jp->p == jp->end || *jp->p != '{') {
        if (gn_jp_value(jp, &f[0], 0) != 0) {
            return -1;
        }

        snprintf(path, sizeof(path), "batch[%zu]", idx);
        gn_errors_add(errs, path, NULL, &f[0].text, "Must be an object");
        return 0;
    }

    for (k = 0; k < GN_KEY_ENTRY_N; k++) {
        f[k].type = GN_JV_NONE;
        f[k].text.text = NULL;
        f[k].text.len = 0;
    }

    more = gn_jp_open(jp, '}');

    while (more > 0) {
        if (gn_jp_key(jp, &key) != 0) {
            return -1;
        }

        k = gn_jp_key_index(&key, gn_entry_keys, GN_KEY_ENTRY_N);

        if (k < 0 || (seen & (1u << k))) {
            if (k >= 0) {
                dup |= 1u << k;
            }

            if (gn_jp_value(jp, NULL, 0) != 0) {
                return -1;
            }

        } else if (k == GN_KEY_READINGS && jp->p < jp->end && *jp->p == '[') {
            start = jp->p;

            if (gn_jp_readings(st, idx, n0, d0, &nreadings, &over) != 0) {
                return -1;
            }

            f[k].type = GN_JV_ARRAY;
            f[k].text.text = (const char *) start;
            f[k].text.len = (size_t) (jp->p - start);

        } else if (gn_jp_value(jp, &f[k], 0) != 0) {
            return -1;
        }

        if (k >= 0) {
            seen |= 1u << k;
        }

        more = gn_jp_next(jp, '}');
    }

    if (more < 0) {
        return -1;
    }

    /* the entry's own errors, in the rules' order, then its readings' */
    snprintf(path, sizeof(path), "batch[%zu]", idx);

    for (k = 0; k < GN_KEY_ENTRY_N; k++) {
        if (dup & (1u << k)) {
            gn_errors_add(&loc, path, gn_entry_keys[k], NULL,
                          "Duplicate key");
        }
    }

    m->machine_id_value = f[GN_KEY_MACHINE_ID].text;
    gn_ingest_machine_id(st, &f[GN_KEY_MACHINE_ID], path, m, &loc);
    if (st->jp.nomem) {
        return -1;
    }

    /* required by the seed's schema; the tags come from the registry */
    gn_check_string(&f[GN_KEY_ENTRY_SENSOR_TYPE], path, "sensor_type",
                    GN_SENSOR_TYPE_MAX, &loc);
    gn_check_string(&f[GN_KEY_LOCATION], path, "location",
                    GN_LOCATION_MAX, &loc);

    readings_ok = 0;

    if (f[GN_KEY_READINGS].type == GN_JV_NONE) {
        gn_errors_add(&loc, path, "readings", NULL, "Required field missing");

    } else if (f[GN_KEY_READINGS].type != GN_JV_ARRAY) {
        gn_errors_add(&loc, path, "readings", &f[GN_KEY_READINGS].text,
                      "Must be an array");

    } else if (nreadings == 0 && !over) {
        gn_errors_add(&loc, path, "readings", &f[GN_KEY_READINGS].text,
                      "Must hold at least one reading");

    } else if (over) {
        gn_errors_add(&loc, path, "readings", NULL,
                      "More than %zu readings (the limit per machine)",
                      st->limits->max_readings);
        st->limit_hit = 1;

    } else {
        readings_ok = 1;
    }

    gn_errors_splice(errs, n0, d0, &loc);

    m->valid = (errs->n + errs->dropped == n0 + d0);

    if (!readings_ok) {
        return 0;
    }

    m->nreadings = nreadings;

    if (!m->valid) {
        return 0;
    }

    m->readings = st->alloc(st->ctx, nreadings * (sizeof(gn_reading_t)
                                                  + sizeof(gn_json_text_t)));
    if (m->readings == NULL) {
        st->jp.nomem = 1;
        return -1;
    }

    m->timestamps = (gn_json_text_t *) (m->readings + nreadings);

    for (j = 0; j < nreadings; j++) {
        m->readings[j] = st->scratch[j].r;
        m->timestamps[j] = st->scratch[j].ts;
    }

    return 0;
}


/* the batch array: its entries into in->machines, up to the limit */
static int
gn_jp_batch(gn_ingest_state_t *st, size_t *count, int *over)
{
    int           more;
    size_t        n0 = st->errs->n, d0 = st->errs->dropped;
    gn_jp_t      *jp = &st->jp;
    gn_ingest_t  *in = st->in;

    more = gn_jp_open(jp, ']');

    while (more > 0) {
        if (!*over && *count == st->limits->max_machines) {
            *over = 1;
            gn_errors_truncate(st->errs, n0, d0);
        }

        if (*over) {
            if (gn_jp_value(jp, NULL, 0) != 0) {
                return -1;
            }

        } else {
            if (*count == st->machines_cap) {
                in->machines = gn_grow(st, in->machines, *count,
                                       &st->machines_cap,
                                       st->limits->max_machines,
                                       sizeof(gn_ingest_machine_t));
                if (in->machines == NULL) {
                    return -1;
                }
            }

            if (gn_jp_entry(st, *count, &in->machines[*count]) != 0) {
                return -1;
            }

            (*count)++;
        }

        more = gn_jp_next(jp, ']');
    }

    return more;
}


gn_ingest_status_e
gn_ingest_parse(const char *body, size_t len, const gn_ingest_limits_t *limits,
    void *(*alloc)(void *ctx, size_t size), void *ctx, gn_ingest_t *in,
    gn_errors_t *errs)
{
    int                   more, k, over = 0, top_ok, batch_ok;
    size_t                n0, d0, nentries = 0, i;
    unsigned              seen = 0, dup = 0;
    gn_jv_t               key, f[GN_KEY_BODY_N];
    gn_jp_t              *jp;
    gn_error_t            loc_items[2 * GN_KEY_BODY_N];
    gn_errors_t           loc = { loc_items, 2 * GN_KEY_BODY_N, 0, 0 };
    const char           *error;
    gn_ingest_state_t     st;
    const unsigned char  *start;

    memset(in, 0, sizeof(*in));
    memset(&st, 0, sizeof(st));

    st.limits = limits;
    st.alloc = alloc;
    st.ctx = ctx;
    st.errs = errs;
    st.in = in;
    jp = &st.jp;

    n0 = errs->n;
    d0 = errs->dropped;

    gn_jp_init(jp, body, len, limits->max_depth);

    if (jp->p == jp->end || *jp->p != '{') {
        if (gn_jp_value(jp, NULL, 0) != 0 || gn_jp_end(jp) != 0) {
            goto malformed;
        }

        gn_errors_add(errs, "body", NULL, NULL, "Must be a JSON object");
        return GN_INGEST_INVALID;
    }

    for (k = 0; k < GN_KEY_BODY_N; k++) {
        f[k].type = GN_JV_NONE;
    }

    more = gn_jp_open(jp, '}');

    while (more > 0) {
        if (gn_jp_key(jp, &key) != 0) {
            goto malformed;
        }

        k = gn_jp_key_index(&key, gn_body_keys, GN_KEY_BODY_N);

        if (k < 0 || (seen & (1u << k))) {
            if (k >= 0) {
                dup |= 1u << k;
            }

            if (gn_jp_value(jp, NULL, 0) != 0) {
                goto malformed;
            }

        } else if (k == GN_KEY_BATCH && jp->p < jp->end && *jp->p == '[') {
            start = jp->p;

            if (gn_jp_batch(&st, &nentries, &over) != 0) {
                goto malformed;
            }

            f[k].type = GN_JV_ARRAY;
            f[k].text.text = (const char *) start;
            f[k].text.len = (size_t) (jp->p - start);

        } else if (gn_jp_value(jp, &f[k], 0) != 0) {
            goto malformed;
        }

        if (k >= 0) {
            seen |= 1u << k;
        }

        more = gn_jp_next(jp, '}');
    }

    if (more < 0 || gn_jp_end(jp) != 0) {
        goto malformed;
    }

    /* the body's own errors, in the rules' order, before the entries' */
    for (k = 0; k < GN_KEY_BODY_N; k++) {
        if (dup & (1u << k)) {
            gn_errors_add(&loc, "", gn_body_keys[k], NULL, "Duplicate key");
        }
    }

    if (gn_check_string(&f[GN_KEY_GATEWAY_ID], "", "gateway_id",
                        GN_GATEWAY_ID_MAX, &loc))
    {
        in->gateway_id = gn_jv_strdup(&st, &f[GN_KEY_GATEWAY_ID]);
        if (in->gateway_id == NULL) {
            return GN_INGEST_NOMEM;
        }
    }

    gn_check_timestamp(&f[GN_KEY_BODY_TIMESTAMP], "", "timestamp",
                       &in->gateway_ts_ns, &loc);

    top_ok = (loc.n + loc.dropped == 0);
    batch_ok = 0;

    if (f[GN_KEY_BATCH].type == GN_JV_NONE) {
        gn_errors_add(&loc, "batch", NULL, NULL, "Required field missing");

    } else if (f[GN_KEY_BATCH].type != GN_JV_ARRAY) {
        gn_errors_add(&loc, "batch", NULL, &f[GN_KEY_BATCH].text,
                      "Must be an array");

    } else if (nentries == 0 && !over) {
        gn_errors_add(&loc, "batch", NULL, &f[GN_KEY_BATCH].text,
                      "Must hold at least one machine");

    } else if (over) {
        gn_errors_add(&loc, "batch", NULL, NULL,
                      "More than %zu machines (the limit per request)",
                      limits->max_machines);

    } else {
        batch_ok = 1;
    }

    gn_errors_splice(errs, n0, d0, &loc);

    if (!batch_ok) {
        in->machines = NULL;
        return GN_INGEST_INVALID;
    }

    in->nmachines = nentries;

    for (i = 0; i < nentries; i++) {
        if (in->machines[i].valid) {
            in->nvalid++;
            in->nreadings += in->machines[i].nreadings;
        }
    }

    if (!top_ok || st.limit_hit || in->nvalid == 0) {
        return GN_INGEST_INVALID;
    }

    return in->nvalid == in->nmachines ? GN_INGEST_OK : GN_INGEST_PARTIAL;

malformed:

    if (jp->nomem) {
        return GN_INGEST_NOMEM;
    }

    gn_errors_truncate(errs, n0, d0);
    memset(in, 0, sizeof(*in));

    error = gn_jp_error(jp, &in->json_offset);
    gn_errors_add(errs, "body", NULL, NULL, "Malformed JSON: %s at byte %zu",
                  error, in->json_offset);

    return GN_INGEST_MALFORMED;
}


/* line protocol */

int
gn_series_check(const gn_series_t *s)
{
    int  rc;

    if (s->machine_id == NULL
        || !gn_uuid_is_valid(s->machine_id, strlen(s->machine_id)))
    {
        return GN_LP_EEMPTY;
    }

    rc = gn_lp_check_tag(s->location, s->location_len);
    if (rc != GN_LP_OK) {
        return rc;
    }

    return gn_lp_check_tag(s->sensor_type, s->sensor_type_len);
}


static char *
gn_put(char *p, const char *s)
{
    size_t  n = strlen(s);

    memcpy(p, s, n);
    return p + n;
}


/* " <ts>\n" without printf (a line per reading, on the ingest's path) */
static char *
gn_put_time(char *p, int64_t ts)
{
    char      tmp[24];
    int       i = 0;
    uint64_t  u;

    *p++ = ' ';

    if (ts < 0) {
        *p++ = '-';
        u = (uint64_t) 0 - (uint64_t) ts;
    } else {
        u = (uint64_t) ts;
    }

    do {
        tmp[i++] = (char) ('0' + u % 10);
        u /= 10;
    } while (u);

    while (i) {
        *p++ = tmp[--i];
    }

    *p++ = '\n';

    return p;
}


char *
gn_reading_line(char *dst, const gn_series_t *s, const gn_reading_t *r)
{
    char  *p = dst;
    int    i, first = 1;

    p = gn_put(p, GN_MEASUREMENT ",location=");
    p = gn_lp_escape_tag(p, s->location, s->location_len);
    p = gn_put(p, ",machine_id=");
    memcpy(p, s->machine_id, GN_UUID_LEN);
    p += GN_UUID_LEN;
    p = gn_put(p, ",sensor_type=");
    p = gn_lp_escape_tag(p, s->sensor_type, s->sensor_type_len);

    for (i = 0; i < GN_FIELD_N; i++) {
        if (!(r->present & (1u << i))) {
            continue;
        }

        *p++ = first ? ' ' : ',';
        first = 0;
        p = gn_put(p, gn_field_names[i]);
        *p++ = '=';
        p = gn_lp_format_double(p, r->value[i]);
    }

    return gn_put_time(p, r->ts_ns);
}


size_t
gn_reading_line_len(const gn_series_t *s, const gn_reading_t *r)
{
    char    num[GN_LP_DOUBLE_MAX], ts[24];
    size_t  len;
    int     i;

    len = sizeof(GN_MEASUREMENT ",location=") - 1
          + gn_lp_escape_tag_len(s->location, s->location_len)
          + sizeof(",machine_id=") - 1 + GN_UUID_LEN
          + sizeof(",sensor_type=") - 1
          + gn_lp_escape_tag_len(s->sensor_type, s->sensor_type_len);

    for (i = 0; i < GN_FIELD_N; i++) {
        if (r->present & (1u << i)) {
            len += 1 + strlen(gn_field_names[i]) + 1
                   + (size_t) (gn_lp_format_double(num, r->value[i]) - num);
        }
    }

    return len + (size_t) (gn_put_time(ts, r->ts_ns) - ts);
}
