/*
 * Fuzz target: gn_jwt.  The input is used twice: as a token (split, decode
 * the segments, parse the header and the claims) and directly as JSON for
 * the header and the claims parsers (base64url hides JSON structure from
 * the fuzzer).  Invariants: only the documented codes; split agrees with
 * an independent check and its segments rebuild the input; a segment
 * decodes exactly when an independent canonical-base64url check says so,
 * and re-encodes to itself; everything the parsers return points inside
 * their buffer, strings are valid UTF-8 without control characters, lists
 * have count - 1 separators, and an accepted header has a non-empty alg
 * and a typ of "JWT".
 */

#include "gn_fuzz.h"
#include "gn_ref.h"
#include "gn_jwt.h"


static const char  ref_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";


static int
ref_index(uint8_t c)
{
    const char  *p;

    if (c == '\0') {
        return -1;
    }

    p = strchr(ref_alphabet, c);

    return p ? (int) (p - ref_alphabet) : -1;
}


/* three non-empty runs of the alphabet separated by two dots */
static int
ref_split_ok(const uint8_t *data, size_t size)
{
    size_t  i, run = 0, dots = 0;

    for (i = 0; i < size; i++) {
        if (data[i] == '.') {
            if (run == 0) {
                return 0;
            }
            dots++;
            run = 0;
        } else if (ref_index(data[i]) < 0) {
            return 0;
        } else {
            run++;
        }
    }

    return dots == 2 && run > 0;
}


/* canonical: not 4n+1 long, and the last character's unused bits zero */
static int
ref_b64_canonical(const char *s, size_t len)
{
    int  last;

    if (len % 4 == 1) {
        return 0;
    }

    if (len % 4 == 0) {
        return 1;
    }

    last = ref_index((uint8_t) s[len - 1]);

    return (len % 4 == 2) ? (last & 0x0f) == 0 : (last & 0x03) == 0;
}


static void
ref_encode_equals(const unsigned char *bin, size_t n, const char *b64,
    size_t len)
{
    size_t    i, k = 0;
    uint32_t  v;

    for (i = 0; i < n; i += 3) {
        v = (uint32_t) bin[i] << 16;
        v |= (i + 1 < n) ? (uint32_t) bin[i + 1] << 8 : 0;
        v |= (i + 2 < n) ? bin[i + 2] : 0;

        GN_FUZZ_ASSERT(k < len && b64[k++] == ref_alphabet[v >> 18]);
        GN_FUZZ_ASSERT(k < len && b64[k++] == ref_alphabet[(v >> 12) & 63]);
        if (i + 1 < n) {
            GN_FUZZ_ASSERT(k < len && b64[k++] == ref_alphabet[(v >> 6) & 63]);
        }
        if (i + 2 < n) {
            GN_FUZZ_ASSERT(k < len && b64[k++] == ref_alphabet[v & 63]);
        }
    }

    GN_FUZZ_ASSERT(k == len);
}


static void
check_str(const gn_jwt_str_t *s, const char *buf, size_t size)
{
    size_t  i;

    if (s->data == NULL) {
        return;
    }

    GN_FUZZ_ASSERT(s->data >= buf && s->data + s->len <= buf + size);
    GN_FUZZ_ASSERT(ref_utf8_valid((const unsigned char *) s->data, s->len));

    for (i = 0; i < s->len; i++) {
        GN_FUZZ_ASSERT((unsigned char) s->data[i] >= 0x20
                       && s->data[i] != 0x7f);
    }
}


static void
check_list(const gn_jwt_list_t *l, const char *buf, size_t size)
{
    size_t        i, nul = 0, pos = 0, n = 0;
    gn_jwt_str_t  item;

    if (l->count == 0) {
        GN_FUZZ_ASSERT(l->len == 0);
        return;
    }

    GN_FUZZ_ASSERT(l->data >= buf && l->data + l->len <= buf + size);

    for (i = 0; i < l->len; i++) {
        nul += (l->data[i] == '\0');
    }

    GN_FUZZ_ASSERT(nul == l->count - 1);

    while (gn_jwt_list_next(l, &pos, &item)) {
        check_str(&item, buf, size);
        GN_FUZZ_ASSERT(gn_jwt_list_contains(l, item.data, item.len));
        n++;
    }

    GN_FUZZ_ASSERT(n == l->count);
}


static void
check_header(char *buf, size_t size)
{
    int              rc;
    gn_jwt_header_t  h;

    rc = gn_jwt_parse_header(buf, size, &h);

    GN_FUZZ_ASSERT(rc == GN_JWT_OK || rc == GN_JWT_EJSON
                   || rc == GN_JWT_EHEADER);

    if (rc != GN_JWT_OK) {
        return;
    }

    GN_FUZZ_ASSERT(h.alg.data != NULL && h.alg.len > 0);
    check_str(&h.alg, buf, size);
    check_str(&h.kid, buf, size);
    check_str(&h.typ, buf, size);
    GN_FUZZ_ASSERT(h.typ.data == NULL || h.typ.len == 3);
}


static void
check_claims(char *buf, size_t size)
{
    int              rc;
    gn_jwt_claims_t  c;

    rc = gn_jwt_parse_claims(buf, size, &c);

    GN_FUZZ_ASSERT(rc == GN_JWT_OK || rc == GN_JWT_EJSON
                   || rc == GN_JWT_ECLAIM);

    if (rc != GN_JWT_OK) {
        return;
    }

    check_str(&c.sub, buf, size);
    check_str(&c.username, buf, size);
    check_str(&c.email, buf, size);
    check_str(&c.role, buf, size);
    check_str(&c.factory_id, buf, size);
    check_str(&c.department, buf, size);
    check_str(&c.jti, buf, size);
    check_str(&c.fam, buf, size);
    check_str(&c.type, buf, size);
    check_str(&c.iss, buf, size);

    GN_FUZZ_ASSERT(c.has_aud || c.aud.count == 0);
    check_list(&c.aud, buf, size);

    GN_FUZZ_ASSERT(c.permissions_state == GN_JWT_ABSENT
                   || c.permissions_state == GN_JWT_PRESENT
                   || c.permissions_state == GN_JWT_INVALID);
    if (c.permissions_state == GN_JWT_PRESENT) {
        check_list(&c.permissions, buf, size);
    }

    GN_FUZZ_ASSERT(c.exp > -1000000000000000000LL
                   && c.exp < 1000000000000000000LL);
}


/* a segment decoded into an exact-size heap buffer, then parse() */
static void
check_segment(const gn_jwt_str_t *seg, void (*parse)(char *, size_t))
{
    int             rc;
    size_t          n;
    unsigned char  *buf;

    n = gn_jwt_b64url_decoded_len(seg->len);
    buf = malloc(n ? n : 1);
    GN_FUZZ_ASSERT(buf != NULL);

    rc = gn_jwt_b64url_decode(seg->data, seg->len, buf);

    GN_FUZZ_ASSERT((rc == GN_JWT_OK) == ref_b64_canonical(seg->data,
                                                          seg->len));
    GN_FUZZ_ASSERT(rc == GN_JWT_OK || rc == GN_JWT_EBASE64);

    if (rc == GN_JWT_OK) {
        ref_encode_equals(buf, n, seg->data, seg->len);

        if (parse) {
            parse((char *) buf, n);
        }
    }

    free(buf);
}


static void
check_token(const uint8_t *data, size_t size)
{
    int             rc;
    gn_jwt_parts_t  p;

    rc = gn_jwt_split((const char *) data, size, &p);

    if (size > GN_JWT_MAX_LEN) {
        GN_FUZZ_ASSERT(rc == GN_JWT_ETOOLONG);
        return;
    }

    GN_FUZZ_ASSERT((rc == GN_JWT_OK) == ref_split_ok(data, size));
    GN_FUZZ_ASSERT(rc == GN_JWT_OK || rc == GN_JWT_EFORMAT);

    if (rc != GN_JWT_OK) {
        return;
    }

    GN_FUZZ_ASSERT(p.header.data == (const char *) data);
    GN_FUZZ_ASSERT(p.header.len + p.payload.len + p.signature.len + 2
                   == size);
    GN_FUZZ_ASSERT(p.payload.data == p.header.data + p.header.len + 1);
    GN_FUZZ_ASSERT(p.signature.data == p.payload.data + p.payload.len + 1);
    GN_FUZZ_ASSERT(p.signed_part.len == p.header.len + 1 + p.payload.len);

    check_segment(&p.header, check_header);
    check_segment(&p.payload, check_claims);
    check_segment(&p.signature, NULL);
}


/* the parsers directly, on an exact-size copy (they write in place) */
static void
check_json(const uint8_t *data, size_t size,
    void (*parse)(char *, size_t))
{
    char  *copy;

    copy = malloc(size ? size : 1);
    GN_FUZZ_ASSERT(copy != NULL);
    memcpy(copy, data, size);

    parse(copy, size);

    free(copy);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_token(data, size);
    check_json(data, size, check_header);
    check_json(data, size, check_claims);

    GN_FUZZ_ASSERT(gn_jwt_strerror(GN_JWT_EFORMAT) != NULL);

    return 0;
}
