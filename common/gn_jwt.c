/*
 * Gonsters common: JSON Web Token pre-parsing.
 */

#include <string.h>

#include "gn_jwt.h"
#include "gn_utf8.h"


typedef struct {
    char  *p;
    char  *end;
} gn_jr_t;


typedef enum {
    GN_JC_STRING = 0,
    GN_JC_DATE,
    GN_JC_AUD,
    GN_JC_PERMISSIONS
} gn_jwt_claim_kind_e;


typedef struct {
    const char           *name;
    size_t                len;
    gn_jwt_claim_kind_e   kind;
    size_t                offset;
} gn_jwt_claim_def_t;


#define GN_JWT_CLAIM(name, kind, field)                                       \
    { name, sizeof(name) - 1, kind, offsetof(gn_jwt_claims_t, field) }

static const gn_jwt_claim_def_t  gn_jwt_claim_defs[] = {
    GN_JWT_CLAIM("sub", GN_JC_STRING, sub),
    GN_JWT_CLAIM("username", GN_JC_STRING, username),
    GN_JWT_CLAIM("email", GN_JC_STRING, email),
    GN_JWT_CLAIM("role", GN_JC_STRING, role),
    GN_JWT_CLAIM("factory_id", GN_JC_STRING, factory_id),
    GN_JWT_CLAIM("department", GN_JC_STRING, department),
    GN_JWT_CLAIM("jti", GN_JC_STRING, jti),
    GN_JWT_CLAIM("fam", GN_JC_STRING, fam),
    GN_JWT_CLAIM("type", GN_JC_STRING, type),
    GN_JWT_CLAIM("iss", GN_JC_STRING, iss),
    GN_JWT_CLAIM("exp", GN_JC_DATE, exp),
    GN_JWT_CLAIM("nbf", GN_JC_DATE, nbf),
    GN_JWT_CLAIM("iat", GN_JC_DATE, iat),
    GN_JWT_CLAIM("aud", GN_JC_AUD, aud),
    GN_JWT_CLAIM("permissions", GN_JC_PERMISSIONS, permissions)
};

#define GN_JWT_NCLAIMS                                                        \
    (sizeof(gn_jwt_claim_defs) / sizeof(gn_jwt_claim_defs[0]))


static int gn_jr_value(gn_jr_t *r, int depth);


/* base64url */

static const signed char  gn_b64url[256] = {
    ['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
    ['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
    ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18,
    ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24,
    ['Y'] = 25, ['Z'] = 26,
    ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
    ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37, ['l'] = 38,
    ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44,
    ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50,
    ['y'] = 51, ['z'] = 52,
    ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57, ['5'] = 58,
    ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62,
    ['-'] = 63, ['_'] = 64
};

/* the table holds value + 1 so that 0 means "not in the alphabet" */
#define gn_b64_value(c)  (gn_b64url[(unsigned char) (c)] - 1)


int
gn_jwt_split(const char *token, size_t len, gn_jwt_parts_t *parts)
{
    size_t       i, dots[2], ndots;
    const char  *t = token;

    if (len > GN_JWT_MAX_LEN) {
        return GN_JWT_ETOOLONG;
    }

    ndots = 0;

    for (i = 0; i < len; i++) {

        if (t[i] == '.') {
            if (ndots == 2) {
                return GN_JWT_EFORMAT;
            }
            dots[ndots++] = i;
            continue;
        }

        if (gn_b64_value(t[i]) < 0) {
            return GN_JWT_EFORMAT;
        }
    }

    if (ndots != 2 || dots[0] == 0 || dots[1] == dots[0] + 1
        || dots[1] == len - 1)
    {
        return GN_JWT_EFORMAT;
    }

    parts->header.data = t;
    parts->header.len = dots[0];
    parts->payload.data = t + dots[0] + 1;
    parts->payload.len = dots[1] - dots[0] - 1;
    parts->signature.data = t + dots[1] + 1;
    parts->signature.len = len - dots[1] - 1;
    parts->signed_part.data = t;
    parts->signed_part.len = dots[1];

    return GN_JWT_OK;
}


size_t
gn_jwt_b64url_decoded_len(size_t len)
{
    return len / 4 * 3 + (len % 4 == 3 ? 2 : len % 4 == 2 ? 1 : 0);
}


int
gn_jwt_b64url_decode(const char *src, size_t len, unsigned char *dst)
{
    size_t    i, k;
    uint32_t  acc;
    int       v;

    if (len % 4 == 1) {
        return GN_JWT_EBASE64;
    }

    acc = 0;
    k = 0;

    for (i = 0; i < len; i++) {
        v = gn_b64_value(src[i]);
        if (v < 0) {
            return GN_JWT_EBASE64;
        }

        acc = (acc << 6) | (uint32_t) v;

        if (i % 4 == 3) {
            dst[k++] = (unsigned char) (acc >> 16);
            dst[k++] = (unsigned char) (acc >> 8);
            dst[k++] = (unsigned char) acc;
            acc = 0;
        }
    }

    /* the unused low bits of the last character must be zero */

    switch (len % 4) {

    case 2:
        if (acc & 0x0f) {
            return GN_JWT_EBASE64;
        }
        dst[k] = (unsigned char) (acc >> 4);
        break;

    case 3:
        if (acc & 0x03) {
            return GN_JWT_EBASE64;
        }
        dst[k] = (unsigned char) (acc >> 10);
        dst[k + 1] = (unsigned char) (acc >> 2);
        break;
    }

    return GN_JWT_OK;
}


/* the JSON reader */

static void
gn_jr_ws(gn_jr_t *r)
{
    while (r->p < r->end
           && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n'
               || *r->p == '\r'))
    {
        r->p++;
    }
}


static int
gn_jr_expect(gn_jr_t *r, char c)
{
    gn_jr_ws(r);

    if (r->p == r->end || *r->p != c) {
        return GN_JWT_EJSON;
    }

    r->p++;

    return GN_JWT_OK;
}


static int
gn_jr_hex4(const char *p, uint32_t *u)
{
    int       i;
    char      c;
    uint32_t  v = 0;

    for (i = 0; i < 4; i++) {
        c = p[i];
        v <<= 4;

        if (c >= '0' && c <= '9') {
            v |= (uint32_t) (c - '0');
        } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
            v |= (uint32_t) ((c | 0x20) - 'a' + 10);
        } else {
            return -1;
        }
    }

    *u = v;

    return 0;
}


static char *
gn_jr_put_utf8(char *w, uint32_t cp)
{
    if (cp < 0x80) {
        *w++ = (char) cp;
    } else if (cp < 0x800) {
        *w++ = (char) (0xc0 | (cp >> 6));
        *w++ = (char) (0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *w++ = (char) (0xe0 | (cp >> 12));
        *w++ = (char) (0x80 | ((cp >> 6) & 0x3f));
        *w++ = (char) (0x80 | (cp & 0x3f));
    } else {
        *w++ = (char) (0xf0 | (cp >> 18));
        *w++ = (char) (0x80 | ((cp >> 12) & 0x3f));
        *w++ = (char) (0x80 | ((cp >> 6) & 0x3f));
        *w++ = (char) (0x80 | (cp & 0x3f));
    }

    return w;
}


/* \uXXXX at r->p (after the backslash and 'u'), with a surrogate pair */

static int
gn_jr_unicode_escape(gn_jr_t *r, uint32_t *cp)
{
    uint32_t  hi, lo;

    if (r->end - r->p < 4 || gn_jr_hex4(r->p, &hi) != 0) {
        return GN_JWT_EJSON;
    }

    r->p += 4;

    if (hi < 0xd800 || hi > 0xdfff) {
        *cp = hi;
        return GN_JWT_OK;
    }

    if (hi > 0xdbff || r->end - r->p < 6 || r->p[0] != '\\'
        || r->p[1] != 'u' || gn_jr_hex4(r->p + 2, &lo) != 0
        || lo < 0xdc00 || lo > 0xdfff)
    {
        return GN_JWT_EJSON;        /* a lone surrogate */
    }

    r->p += 6;
    *cp = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);

    return GN_JWT_OK;
}


static int
gn_jr_escape(gn_jr_t *r, char **w)
{
    uint32_t  cp;
    char      c;

    if (r->p == r->end) {
        return GN_JWT_EJSON;
    }

    c = *r->p++;

    switch (c) {
    case '"': case '\\': case '/':
        *(*w)++ = c;
        return GN_JWT_OK;
    case 'b': *(*w)++ = '\b'; return GN_JWT_OK;
    case 'f': *(*w)++ = '\f'; return GN_JWT_OK;
    case 'n': *(*w)++ = '\n'; return GN_JWT_OK;
    case 'r': *(*w)++ = '\r'; return GN_JWT_OK;
    case 't': *(*w)++ = '\t'; return GN_JWT_OK;
    case 'u':
        break;
    default:
        return GN_JWT_EJSON;
    }

    if (gn_jr_unicode_escape(r, &cp) != GN_JWT_OK) {
        return GN_JWT_EJSON;
    }

    /* 6 or 12 bytes of input become at most 3 or 4: w stays behind r->p */
    *w = gn_jr_put_utf8(*w, cp);

    return GN_JWT_OK;
}


/*
 * A string at r->p (after optional whitespace), unescaped in place; *s
 * points to the decoded bytes, which start right after the opening quote.
 */

static int
gn_jr_string(gn_jr_t *r, gn_jwt_str_t *s)
{
    int     n;
    char   *w;
    uint32_t  cp;

    if (gn_jr_expect(r, '"') != GN_JWT_OK) {
        return GN_JWT_EJSON;
    }

    w = r->p;
    s->data = w;

    for ( ;; ) {

        if (r->p == r->end) {
            return GN_JWT_EJSON;
        }

        if (*r->p == '"') {
            r->p++;
            break;
        }

        if (*r->p == '\\') {
            r->p++;
            if (gn_jr_escape(r, &w) != GN_JWT_OK) {
                return GN_JWT_EJSON;
            }
            continue;
        }

        if ((unsigned char) *r->p < 0x20) {
            return GN_JWT_EJSON;
        }

        n = gn_utf8_next((const unsigned char *) r->p,
                         (const unsigned char *) r->end, &cp);
        if (n < 0) {
            return GN_JWT_EJSON;
        }

        while (n--) {
            *w++ = *r->p++;
        }
    }

    s->len = (size_t) (w - s->data);

    return GN_JWT_OK;
}


/*
 * A number (RFC 8259 grammar).  *value gets the integer part when it has
 * at most 18 digits; *plain says there was no exponent.
 */

static int
gn_jr_number(gn_jr_t *r, int64_t *value, int *plain)
{
    int       neg = 0, digits = 0;
    int64_t   v = 0;

    *plain = 1;

    if (r->p < r->end && *r->p == '-') {
        neg = 1;
        r->p++;
    }

    if (r->p == r->end || *r->p < '0' || *r->p > '9') {
        return GN_JWT_EJSON;
    }

    if (*r->p == '0') {
        r->p++;
        digits = 1;

    } else {
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
            if (++digits <= 18) {
                v = v * 10 + (*r->p - '0');
            }
            r->p++;
        }
    }

    if (digits > 18) {
        *plain = 0;
    }

    if (r->p < r->end && *r->p == '.') {
        r->p++;
        if (r->p == r->end || *r->p < '0' || *r->p > '9') {
            return GN_JWT_EJSON;
        }
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
            r->p++;
        }
    }

    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        *plain = 0;
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-')) {
            r->p++;
        }
        if (r->p == r->end || *r->p < '0' || *r->p > '9') {
            return GN_JWT_EJSON;
        }
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
            r->p++;
        }
    }

    *value = neg ? -v : v;

    return GN_JWT_OK;
}


static int
gn_jr_literal(gn_jr_t *r, const char *word, size_t len)
{
    if ((size_t) (r->end - r->p) < len || memcmp(r->p, word, len) != 0) {
        return GN_JWT_EJSON;
    }

    r->p += len;

    return GN_JWT_OK;
}


/* the members of an object after its '{', to the closing '}' */

static int
gn_jr_object(gn_jr_t *r, int depth)
{
    gn_jwt_str_t  key;

    gn_jr_ws(r);

    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return GN_JWT_OK;
    }

    for ( ;; ) {
        if (gn_jr_string(r, &key) != GN_JWT_OK
            || gn_jr_expect(r, ':') != GN_JWT_OK
            || gn_jr_value(r, depth) != GN_JWT_OK)
        {
            return GN_JWT_EJSON;
        }

        gn_jr_ws(r);

        if (r->p == r->end) {
            return GN_JWT_EJSON;
        }

        if (*r->p++ == '}') {
            return GN_JWT_OK;
        }

        if (r->p[-1] != ',') {
            return GN_JWT_EJSON;
        }
    }
}


/* the elements of an array after its '[', to the closing ']' */

static int
gn_jr_array(gn_jr_t *r, int depth)
{
    gn_jr_ws(r);

    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return GN_JWT_OK;
    }

    for ( ;; ) {
        if (gn_jr_value(r, depth) != GN_JWT_OK) {
            return GN_JWT_EJSON;
        }

        gn_jr_ws(r);

        if (r->p == r->end) {
            return GN_JWT_EJSON;
        }

        if (*r->p++ == ']') {
            return GN_JWT_OK;
        }

        if (r->p[-1] != ',') {
            return GN_JWT_EJSON;
        }
    }
}


/* any value, checked and skipped; depth counts the enclosing containers */

static int
gn_jr_value(gn_jr_t *r, int depth)
{
    int           plain;
    int64_t       n;
    gn_jwt_str_t  s;

    gn_jr_ws(r);

    if (r->p == r->end) {
        return GN_JWT_EJSON;
    }

    switch (*r->p) {

    case '"':
        return gn_jr_string(r, &s);

    case '{':
    case '[':
        if (depth >= GN_JWT_MAX_DEPTH) {
            return GN_JWT_EJSON;
        }
        r->p++;
        return r->p[-1] == '{' ? gn_jr_object(r, depth + 1)
                               : gn_jr_array(r, depth + 1);

    case 't':
        return gn_jr_literal(r, "true", 4);

    case 'f':
        return gn_jr_literal(r, "false", 5);

    case 'n':
        return gn_jr_literal(r, "null", 4);

    default:
        return gn_jr_number(r, &n, &plain);
    }
}


/*
 * An array whose string elements are unescaped and moved to the start of
 * the array's text, separated by '\0'.  *all_strings is 0 when an element
 * is not a string (it is still checked and skipped).
 */

static int
gn_jr_string_list(gn_jr_t *r, gn_jwt_list_t *list, int *all_strings)
{
    char          *w;
    gn_jwt_str_t   s;

    *all_strings = 1;

    if (gn_jr_expect(r, '[') != GN_JWT_OK) {
        return GN_JWT_EJSON;
    }

    w = r->p - 1;
    list->data = w;
    list->len = 0;
    list->count = 0;

    gn_jr_ws(r);

    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return GN_JWT_OK;
    }

    for ( ;; ) {
        gn_jr_ws(r);

        if (r->p < r->end && *r->p == '"') {
            if (gn_jr_string(r, &s) != GN_JWT_OK) {
                return GN_JWT_EJSON;
            }

            if (list->count++) {
                *w++ = '\0';
            }

            memmove(w, s.data, s.len);
            w += s.len;

        } else {
            if (gn_jr_value(r, 2) != GN_JWT_OK) {
                return GN_JWT_EJSON;
            }
            *all_strings = 0;
        }

        gn_jr_ws(r);

        if (r->p == r->end) {
            return GN_JWT_EJSON;
        }

        if (*r->p++ == ']') {
            break;
        }

        if (r->p[-1] != ',') {
            return GN_JWT_EJSON;
        }
    }

    list->len = (size_t) (w - list->data);

    return GN_JWT_OK;
}


/* an extracted string: valid UTF-8 (the reader checked) and no control */

static int
gn_jwt_printable(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == 0x7f) {
            return 0;
        }
    }

    return 1;
}


/* a list's elements are separated by '\0': one more means a control char */

static int
gn_jwt_list_printable(const gn_jwt_list_t *list)
{
    size_t  i, nul = 0;

    for (i = 0; i < list->len; i++) {
        if (list->data[i] == '\0') {
            nul++;
        } else if ((unsigned char) list->data[i] < 0x20
                   || list->data[i] == 0x7f)
        {
            return 0;
        }
    }

    return list->count == 0 || nul == list->count - 1;
}


/*
 * Calls member() for each member of the top-level object json[0..len);
 * member() reads the value.  The object must be all the input.
 */

typedef int (*gn_jwt_member_pt)(gn_jr_t *r, gn_jwt_str_t *key, void *data);

static int
gn_jwt_object(char *json, size_t len, gn_jwt_member_pt member, void *data)
{
    int           rc;
    gn_jr_t       r;
    gn_jwt_str_t  key;

    r.p = json;
    r.end = json + len;

    if (gn_jr_expect(&r, '{') != GN_JWT_OK) {
        return GN_JWT_EJSON;
    }

    gn_jr_ws(&r);

    if (r.p < r.end && *r.p == '}') {
        r.p++;
        goto done;
    }

    for ( ;; ) {
        if (gn_jr_string(&r, &key) != GN_JWT_OK
            || gn_jr_expect(&r, ':') != GN_JWT_OK)
        {
            return GN_JWT_EJSON;
        }

        rc = member(&r, &key, data);
        if (rc != GN_JWT_OK) {
            return rc;
        }

        gn_jr_ws(&r);

        if (r.p == r.end) {
            return GN_JWT_EJSON;
        }

        if (*r.p++ == '}') {
            break;
        }

        if (r.p[-1] != ',') {
            return GN_JWT_EJSON;
        }
    }

done:

    gn_jr_ws(&r);

    return r.p == r.end ? GN_JWT_OK : GN_JWT_EJSON;
}


static int
gn_jwt_key_is(const gn_jwt_str_t *key, const char *name)
{
    size_t  len = strlen(name);

    return key->len == len && memcmp(key->data, name, len) == 0;
}


/* the header */

static int
gn_jwt_header_string(gn_jr_t *r, gn_jwt_str_t *dst)
{
    gn_jr_ws(r);

    if (dst->data != NULL || r->p == r->end || *r->p != '"') {
        /* a duplicate, or not a string: checked as JSON first */
        return gn_jr_value(r, 1) != GN_JWT_OK ? GN_JWT_EJSON : GN_JWT_EHEADER;
    }

    if (gn_jr_string(r, dst) != GN_JWT_OK) {
        return GN_JWT_EJSON;
    }

    return gn_jwt_printable(dst->data, dst->len) ? GN_JWT_OK : GN_JWT_EHEADER;
}


static int
gn_jwt_header_member(gn_jr_t *r, gn_jwt_str_t *key, void *data)
{
    gn_jwt_header_t  *h = data;

    if (gn_jwt_key_is(key, "alg")) {
        return gn_jwt_header_string(r, &h->alg);
    }

    if (gn_jwt_key_is(key, "kid")) {
        return gn_jwt_header_string(r, &h->kid);
    }

    if (gn_jwt_key_is(key, "typ")) {
        return gn_jwt_header_string(r, &h->typ);
    }

    if (gn_jwt_key_is(key, "crit")) {
        return gn_jr_value(r, 1) != GN_JWT_OK ? GN_JWT_EJSON : GN_JWT_EHEADER;
    }

    return gn_jr_value(r, 1);
}


int
gn_jwt_parse_header(char *json, size_t len, gn_jwt_header_t *h)
{
    int  rc;

    memset(h, 0, sizeof(*h));

    rc = gn_jwt_object(json, len, gn_jwt_header_member, h);
    if (rc != GN_JWT_OK) {
        return rc;
    }

    if (h->alg.data == NULL || h->alg.len == 0) {
        return GN_JWT_EHEADER;
    }

    if (h->typ.data != NULL
        && !(h->typ.len == 3
             && (h->typ.data[0] | 0x20) == 'j'
             && (h->typ.data[1] | 0x20) == 'w'
             && (h->typ.data[2] | 0x20) == 't'))
    {
        return GN_JWT_EHEADER;
    }

    return GN_JWT_OK;
}


/* the claims */

typedef struct {
    gn_jwt_claims_t  *claims;
    uint32_t          seen;
} gn_jwt_claims_ctx_t;


static int
gn_jwt_claim_string(gn_jr_t *r, gn_jwt_str_t *dst)
{
    gn_jr_ws(r);

    if (r->p == r->end || *r->p != '"') {
        return gn_jr_value(r, 1) != GN_JWT_OK ? GN_JWT_EJSON : GN_JWT_ECLAIM;
    }

    if (gn_jr_string(r, dst) != GN_JWT_OK) {
        return GN_JWT_EJSON;
    }

    return gn_jwt_printable(dst->data, dst->len) ? GN_JWT_OK : GN_JWT_ECLAIM;
}


static int
gn_jwt_claim_date(gn_jr_t *r, int64_t *dst)
{
    int  plain;

    gn_jr_ws(r);

    if (r->p == r->end
        || !(*r->p == '-' || (*r->p >= '0' && *r->p <= '9')))
    {
        return gn_jr_value(r, 1) != GN_JWT_OK ? GN_JWT_EJSON : GN_JWT_ECLAIM;
    }

    if (gn_jr_number(r, dst, &plain) != GN_JWT_OK) {
        return GN_JWT_EJSON;
    }

    return plain ? GN_JWT_OK : GN_JWT_ECLAIM;
}


static int
gn_jwt_claim_aud(gn_jr_t *r, gn_jwt_list_t *dst)
{
    int           all;
    gn_jwt_str_t  s;

    gn_jr_ws(r);

    if (r->p < r->end && *r->p == '"') {
        if (gn_jwt_claim_string(r, &s) != GN_JWT_OK) {
            return GN_JWT_ECLAIM;
        }
        dst->data = s.data;
        dst->len = s.len;
        dst->count = 1;
        return GN_JWT_OK;
    }

    if (r->p == r->end || *r->p != '[') {
        return gn_jr_value(r, 1) != GN_JWT_OK ? GN_JWT_EJSON : GN_JWT_ECLAIM;
    }

    if (gn_jr_string_list(r, dst, &all) != GN_JWT_OK) {
        return GN_JWT_EJSON;
    }

    return (all && gn_jwt_list_printable(dst)) ? GN_JWT_OK : GN_JWT_ECLAIM;
}


static int
gn_jwt_claim_permissions(gn_jr_t *r, gn_jwt_claims_t *c)
{
    int  all;

    gn_jr_ws(r);

    if (r->p == r->end || *r->p != '[') {
        c->permissions_state = GN_JWT_INVALID;
        return gn_jr_value(r, 1);
    }

    if (gn_jr_string_list(r, &c->permissions, &all) != GN_JWT_OK) {
        return GN_JWT_EJSON;
    }

    if (!gn_jwt_list_printable(&c->permissions)) {
        return GN_JWT_ECLAIM;
    }

    c->permissions_state = all ? GN_JWT_PRESENT : GN_JWT_INVALID;

    return GN_JWT_OK;
}


static int
gn_jwt_claims_member(gn_jr_t *r, gn_jwt_str_t *key, void *data)
{
    gn_jwt_claims_ctx_t       *ctx = data;
    gn_jwt_claims_t           *c = ctx->claims;
    const gn_jwt_claim_def_t  *d;
    size_t                     i;
    int                        rc;

    for (i = 0; i < GN_JWT_NCLAIMS; i++) {
        d = &gn_jwt_claim_defs[i];
        if (key->len == d->len && memcmp(key->data, d->name, d->len) == 0) {
            break;
        }
    }

    if (i == GN_JWT_NCLAIMS) {
        return gn_jr_value(r, 1);
    }

    if (ctx->seen & (1u << i)) {
        return GN_JWT_ECLAIM;
    }

    ctx->seen |= 1u << i;

    switch (d->kind) {

    case GN_JC_STRING:
        return gn_jwt_claim_string(r,
                                   (gn_jwt_str_t *) ((char *) c + d->offset));

    case GN_JC_DATE:
        rc = gn_jwt_claim_date(r, (int64_t *) ((char *) c + d->offset));
        if (rc == GN_JWT_OK) {
            c->has_exp |= (d->offset == offsetof(gn_jwt_claims_t, exp));
            c->has_nbf |= (d->offset == offsetof(gn_jwt_claims_t, nbf));
            c->has_iat |= (d->offset == offsetof(gn_jwt_claims_t, iat));
        }
        return rc;

    case GN_JC_AUD:
        rc = gn_jwt_claim_aud(r, &c->aud);
        c->has_aud = (rc == GN_JWT_OK);
        return rc;

    default:
        return gn_jwt_claim_permissions(r, c);
    }
}


int
gn_jwt_parse_claims(char *json, size_t len, gn_jwt_claims_t *c)
{
    gn_jwt_claims_ctx_t  ctx;

    memset(c, 0, sizeof(*c));

    ctx.claims = c;
    ctx.seen = 0;

    return gn_jwt_object(json, len, gn_jwt_claims_member, &ctx);
}


int
gn_jwt_list_next(const gn_jwt_list_t *list, size_t *pos, gn_jwt_str_t *item)
{
    const char  *p, *end;

    if (list->count == 0 || *pos > list->len) {
        return 0;
    }

    p = list->data + *pos;
    end = memchr(p, '\0', list->len - *pos);
    if (end == NULL) {
        end = list->data + list->len;
    }

    item->data = p;
    item->len = (size_t) (end - p);
    *pos = (size_t) (end - list->data) + 1;

    return 1;
}


int
gn_jwt_list_contains(const gn_jwt_list_t *list, const char *s, size_t len)
{
    size_t        pos = 0;
    gn_jwt_str_t  item;

    while (gn_jwt_list_next(list, &pos, &item)) {
        if (item.len == len && memcmp(item.data, s, len) == 0) {
            return 1;
        }
    }

    return 0;
}


const char *
gn_jwt_strerror(int rc)
{
    switch (rc) {
    case GN_JWT_OK:
        return "ok";
    case GN_JWT_EFORMAT:
        return "malformed token";
    case GN_JWT_ETOOLONG:
        return "token too long";
    case GN_JWT_EBASE64:
        return "invalid base64url";
    case GN_JWT_EJSON:
        return "invalid JSON";
    case GN_JWT_EHEADER:
        return "invalid token header";
    case GN_JWT_ECLAIM:
        return "invalid claim";
    default:
        return "unknown error";
    }
}
