/*
 * Unit tests of gn_jwt: splitting, base64url, the header and the claims,
 * with hostile input.
 */

#include <stdlib.h>

#include "gn_test.h"
#include "gn_jwt.h"


/* an independent encoder, to build tokens */

static size_t
b64url(const char *src, size_t len, char *dst)
{
    static const char  a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char  *s = (const unsigned char *) src;
    size_t                i, k = 0;

    for (i = 0; i + 2 < len; i += 3) {
        dst[k++] = a[s[i] >> 2];
        dst[k++] = a[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
        dst[k++] = a[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)];
        dst[k++] = a[s[i + 2] & 63];
    }

    if (len - i == 1) {
        dst[k++] = a[s[i] >> 2];
        dst[k++] = a[(s[i] & 3) << 4];
    } else if (len - i == 2) {
        dst[k++] = a[s[i] >> 2];
        dst[k++] = a[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
        dst[k++] = a[(s[i + 1] & 15) << 2];
    }

    dst[k] = '\0';

    return k;
}


/* parse a C-string JSON in a heap copy of exact size (ASan sees overreads) */

static int
header(const char *json, gn_jwt_header_t *h, char **copy)
{
    size_t  len = strlen(json);

    *copy = malloc(len ? len : 1);
    memcpy(*copy, json, len);

    return gn_jwt_parse_header(*copy, len, h);
}


static int
claims_len(const char *json, size_t len, gn_jwt_claims_t *c, char **copy)
{
    *copy = malloc(len ? len : 1);
    memcpy(*copy, json, len);

    return gn_jwt_parse_claims(*copy, len, c);
}


static int
claims(const char *json, gn_jwt_claims_t *c, char **copy)
{
    return claims_len(json, strlen(json), c, copy);
}


static void
test_split(void)
{
    static const struct {
        const char  *token;
        int          rc;
    } cases[] = {
        { "a.b.c", GN_JWT_OK },
        { "eyJhbGciOiJIUzI1NiJ9.e30.sig-_09AZaz", GN_JWT_OK },
        { "", GN_JWT_EFORMAT },
        { ".", GN_JWT_EFORMAT },
        { "..", GN_JWT_EFORMAT },
        { "...", GN_JWT_EFORMAT },
        { "a.b", GN_JWT_EFORMAT },
        { "a.b.", GN_JWT_EFORMAT },           /* alg none: no signature */
        { ".b.c", GN_JWT_EFORMAT },
        { "a..c", GN_JWT_EFORMAT },
        { "a.b.c.d", GN_JWT_EFORMAT },
        { "a.b.c.d.e", GN_JWT_EFORMAT },      /* JWE has five parts */
        { "a.b.c=", GN_JWT_EFORMAT },         /* padding */
        { "a.b.c==", GN_JWT_EFORMAT },
        { "a+b.c.d", GN_JWT_EFORMAT },        /* base64, not base64url */
        { "a/b.c.d", GN_JWT_EFORMAT },
        { "a.b c.d", GN_JWT_EFORMAT },
        { "a.b.c ", GN_JWT_EFORMAT },
        { " a.b.c", GN_JWT_EFORMAT },
        { "a.b.c\n", GN_JWT_EFORMAT },
        { "a.b.\xc3\xa9", GN_JWT_EFORMAT },
    };

    size_t          i;
    gn_jwt_parts_t  p;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        GN_CHECK_MSG(gn_jwt_split(cases[i].token, strlen(cases[i].token), &p)
                     == cases[i].rc, "case %zu \"%s\"", i, cases[i].token);
    }

    GN_CHECK_INT(gn_jwt_split("hh.ppp.ssss", 11, &p), GN_JWT_OK);
    GN_CHECK_STR(p.header.data, p.header.len, "hh");
    GN_CHECK_STR(p.payload.data, p.payload.len, "ppp");
    GN_CHECK_STR(p.signature.data, p.signature.len, "ssss");
    GN_CHECK_STR(p.signed_part.data, p.signed_part.len, "hh.ppp");

    /* NUL inside: the length rules, not the terminator */
    GN_CHECK_INT(gn_jwt_split("a.b\0.c", 6, &p), GN_JWT_EFORMAT);
    GN_CHECK_INT(gn_jwt_split("a.b.c\0", 6, &p), GN_JWT_EFORMAT);
    GN_CHECK_INT(gn_jwt_split("a.b.c", 4, &p), GN_JWT_EFORMAT);

    /* the length limit */
    {
        char  *t = malloc(GN_JWT_MAX_LEN + 2);

        memset(t, 'A', GN_JWT_MAX_LEN + 1);
        t[1] = '.';
        t[3] = '.';
        GN_CHECK_INT(gn_jwt_split(t, GN_JWT_MAX_LEN, &p), GN_JWT_OK);
        GN_CHECK_INT(gn_jwt_split(t, GN_JWT_MAX_LEN + 1, &p),
                     GN_JWT_ETOOLONG);
        free(t);
    }
}


static void
test_base64(void)
{
    static const char  *plain[] = {
        "", "f", "fo", "foo", "foob", "fooba", "foobar",
        "\xff\xfe\xfd", "\x00\x01", "{\"alg\":\"HS256\"}"
    };

    size_t          i, n, plen;
    char            enc[64];
    unsigned char   dec[64];

    for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
        plen = (i == 8) ? 2 : strlen(plain[i]);
        n = b64url(plain[i], plen, enc);
        GN_CHECK_INT(gn_jwt_b64url_decoded_len(n), plen);
        GN_CHECK_MSG(gn_jwt_b64url_decode(enc, n, dec) == GN_JWT_OK,
                     "case %zu", i);
        GN_CHECK_MEM(dec, plen, plain[i], plen);
    }

    GN_CHECK_INT(gn_jwt_b64url_decode("-_-_", 4, dec), GN_JWT_OK);
    GN_CHECK_MEM(dec, 3, "\xfb\xff\xbf", 3);

    /* 4n+1 characters cannot be base64 */
    GN_CHECK_INT(gn_jwt_b64url_decode("A", 1, dec), GN_JWT_EBASE64);
    GN_CHECK_INT(gn_jwt_b64url_decode("AAAAA", 5, dec), GN_JWT_EBASE64);

    /* non-canonical: unused bits set ("Zg" is "f"; "Zh" decodes to "f"
     * in lenient decoders) */
    GN_CHECK_INT(gn_jwt_b64url_decode("Zg", 2, dec), GN_JWT_OK);
    GN_CHECK_INT(gn_jwt_b64url_decode("Zh", 2, dec), GN_JWT_EBASE64);
    GN_CHECK_INT(gn_jwt_b64url_decode("Zm8", 3, dec), GN_JWT_OK);
    GN_CHECK_INT(gn_jwt_b64url_decode("Zm9", 3, dec), GN_JWT_EBASE64);

    /* outside the alphabet, padding */
    GN_CHECK_INT(gn_jwt_b64url_decode("Zg==", 4, dec), GN_JWT_EBASE64);
    GN_CHECK_INT(gn_jwt_b64url_decode("Z+8A", 4, dec), GN_JWT_EBASE64);
    GN_CHECK_INT(gn_jwt_b64url_decode("Z/8A", 4, dec), GN_JWT_EBASE64);
    GN_CHECK_INT(gn_jwt_b64url_decode("Zm\0A", 4, dec), GN_JWT_EBASE64);
    GN_CHECK_INT(gn_jwt_b64url_decode("Zm.A", 4, dec), GN_JWT_EBASE64);
}


static void
test_header(void)
{
    char             *copy;
    gn_jwt_header_t   h;

    GN_CHECK_INT(header("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", &h, &copy),
                 GN_JWT_OK);
    GN_CHECK_STR(h.alg.data, h.alg.len, "HS256");
    GN_CHECK_STR(h.typ.data, h.typ.len, "JWT");
    GN_CHECK(h.kid.data == NULL);
    free(copy);

    GN_CHECK_INT(header(" {\n\"kid\" : \"k-1\", \"alg\":\"RS256\" ,"
                        "\"x5c\":[\"a\",{\"b\":[1,2,{}]}],\"jwk\":{}} \r\n",
                        &h, &copy), GN_JWT_OK);
    GN_CHECK_STR(h.alg.data, h.alg.len, "RS256");
    GN_CHECK_STR(h.kid.data, h.kid.len, "k-1");
    free(copy);

    /* escapes in keys and values are JSON: "\u0061lg" is "alg" */
    GN_CHECK_INT(header("{\"\\u0061lg\":\"ES\\u00325\\u0036\",\"typ\":\"jwt\"}",
                        &h, &copy), GN_JWT_OK);
    GN_CHECK_STR(h.alg.data, h.alg.len, "ES256");
    free(copy);

    /* kid with UTF-8 and an escaped slash */
    GN_CHECK_INT(header("{\"alg\":\"HS256\",\"kid\":\"\xc3\xa9t\\u00e9\\/2\"}",
                        &h, &copy), GN_JWT_OK);
    GN_CHECK_STR(h.kid.data, h.kid.len, "\xc3\xa9t\xc3\xa9/2");
    free(copy);

    static const struct {
        const char  *json;
        int          rc;
    } bad[] = {
        { "", GN_JWT_EJSON },
        { "{", GN_JWT_EJSON },
        { "}", GN_JWT_EJSON },
        { "[]", GN_JWT_EJSON },
        { "\"alg\"", GN_JWT_EJSON },
        { "null", GN_JWT_EJSON },
        { "{}", GN_JWT_EHEADER },
        { "{\"alg\":\"\"}", GN_JWT_EHEADER },
        { "{\"alg\":null}", GN_JWT_EHEADER },
        { "{\"alg\":256}", GN_JWT_EHEADER },
        { "{\"alg\":[\"HS256\"]}", GN_JWT_EHEADER },
        { "{\"alg\":{\"x\":\"HS256\"}}", GN_JWT_EHEADER },
        { "{\"alg\":true}", GN_JWT_EHEADER },
        { "{\"alg\":\"HS256\",\"alg\":\"none\"}", GN_JWT_EHEADER },
        { "{\"alg\":\"HS256\",\"kid\":\"a\",\"kid\":\"b\"}", GN_JWT_EHEADER },
        { "{\"alg\":\"HS256\",\"kid\":1}", GN_JWT_EHEADER },
        { "{\"alg\":\"HS256\",\"kid\":\"a\\nb\"}", GN_JWT_EHEADER },
        { "{\"alg\":\"HS256\",\"kid\":\"a\\u0000b\"}", GN_JWT_EHEADER },
        { "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", GN_JWT_EHEADER },
        { "{\"alg\":\"HS256\",\"typ\":\"JWS\"}", GN_JWT_EHEADER },
        { "{\"alg\":\"HS256\",\"typ\":1}", GN_JWT_EHEADER },
        { "{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}",
          GN_JWT_EHEADER },
        /* not JSON */
        { "{\"alg\":\"HS256\"", GN_JWT_EJSON },
        { "{\"alg\":\"HS256\",}", GN_JWT_EJSON },
        { "{\"alg\":\"HS256\"}}", GN_JWT_EJSON },
        { "{\"alg\":\"HS256\"} x", GN_JWT_EJSON },
        { "{\"alg\":\"HS256\"}{}", GN_JWT_EJSON },
        { "{\"alg\" \"HS256\"}", GN_JWT_EJSON },
        { "{alg:\"HS256\"}", GN_JWT_EJSON },
        { "{'alg':'HS256'}", GN_JWT_EJSON },
        { "{\"alg\":\"HS256\",\"x\":tru}", GN_JWT_EJSON },
        { "{\"alg\":\"HS256\",\"x\":01}", GN_JWT_EJSON },
        { "{\"alg\":\"HS256\",\"x\":1.}", GN_JWT_EJSON },
        { "{\"alg\":\"HS256\",\"x\":-}", GN_JWT_EJSON },
        { "{\"alg\":\"HS256\",\"x\":1e}", GN_JWT_EJSON },
        { "{\"alg\":\"HS256\",\"x\":[1,]}", GN_JWT_EJSON },
        { "{\"alg\":\"HS256\",\"x\":[1 2]}", GN_JWT_EJSON },
        { "{\"alg\":\"HS\\x56\"}", GN_JWT_EJSON },
        { "{\"alg\":\"HS\\u00\"}", GN_JWT_EJSON },
        { "{\"alg\":\"HS\\ud800\"}", GN_JWT_EJSON },      /* lone surrogate */
        { "{\"alg\":\"HS\\udc00\\ud800\"}", GN_JWT_EJSON },
        { "{\"alg\":\"HS\x01\"}", GN_JWT_EJSON },        /* raw control */
        { "{\"alg\":\"HS\xc0\xaf\"}", GN_JWT_EJSON },    /* overlong */
        { "{\"alg\":\"HS\xed\xa0\x80\"}", GN_JWT_EJSON },/* surrogate */
        { "{\"alg\":\"HS\xff\"}", GN_JWT_EJSON },
        { "{\"alg\":\"HS256", GN_JWT_EJSON },
        { "{\"alg\":\"HS256\\", GN_JWT_EJSON },
    };

    size_t  i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        GN_CHECK_MSG(header(bad[i].json, &h, &copy) == bad[i].rc,
                     "case %zu %s", i, bad[i].json);
        free(copy);
    }

    /* NUL inside the header JSON */
    copy = malloc(20);
    memcpy(copy, "{\"alg\":\"HS256\"}\0", 16);
    GN_CHECK_INT(gn_jwt_parse_header(copy, 16, &h), GN_JWT_EJSON);
    memcpy(copy, "{\"alg\":\"HS\0\"}", 13);
    GN_CHECK_INT(gn_jwt_parse_header(copy, 13, &h), GN_JWT_EJSON);
    free(copy);
}


static void
test_depth(void)
{
    char             *json, *copy;
    size_t            i, n;
    gn_jwt_header_t   h;

    /* nesting up to the limit is accepted, one more is not, and a huge
     * nesting costs no stack */
    for (n = GN_JWT_MAX_DEPTH - 1; n <= 100000; n = n < 100 ? n + 1 : n * 10) {
        json = malloc(2 * n + 32);
        strcpy(json, "{\"alg\":\"HS256\",\"x\":");
        i = strlen(json);
        memset(json + i, '[', n);
        memset(json + i + n, ']', n);
        json[i + 2 * n] = '\0';
        strcat(json, "}");

        GN_CHECK_MSG(header(json, &h, &copy)
                     == (n < GN_JWT_MAX_DEPTH ? GN_JWT_OK : GN_JWT_EJSON),
                     "depth %zu", n);
        free(copy);
        free(json);

        if (n >= 40 && n < 100) {
            n = 99;
        }
    }
}


static void
test_claims(void)
{
    char             *copy;
    gn_jwt_claims_t   c;
    size_t            pos;
    gn_jwt_str_t      item;

    GN_CHECK_INT(claims("{\"sub\":\"d1c2084b-f16a-4eea-89d9-4402095d3af5\","
        "\"username\":\"john.doe\",\"email\":\"john.doe@factory.com\","
        "\"role\":\"Management\","
        "\"permissions\":[\"read:machines\",\"write:config\"],"
        "\"factory_id\":\"factory-A\",\"department\":\"Operations\","
        "\"iat\":1702435200,\"exp\":1702438800,"
        "\"iss\":\"gonsters-backend-api\",\"aud\":\"gonsters-dashboard\","
        "\"jti\":\"j1\",\"fam\":\"f1\",\"type\":\"access\",\"extra\":{\"a\":[null,true]}}",
        &c, &copy), GN_JWT_OK);

    GN_CHECK_STR(c.sub.data, c.sub.len,
                 "d1c2084b-f16a-4eea-89d9-4402095d3af5");
    GN_CHECK_STR(c.username.data, c.username.len, "john.doe");
    GN_CHECK_STR(c.email.data, c.email.len, "john.doe@factory.com");
    GN_CHECK_STR(c.role.data, c.role.len, "Management");
    GN_CHECK_STR(c.factory_id.data, c.factory_id.len, "factory-A");
    GN_CHECK_STR(c.department.data, c.department.len, "Operations");
    GN_CHECK_STR(c.iss.data, c.iss.len, "gonsters-backend-api");
    GN_CHECK_STR(c.jti.data, c.jti.len, "j1");
    GN_CHECK_STR(c.fam.data, c.fam.len, "f1");
    GN_CHECK_STR(c.type.data, c.type.len, "access");
    GN_CHECK(c.has_iat && c.iat == 1702435200);
    GN_CHECK(c.has_exp && c.exp == 1702438800);
    GN_CHECK(!c.has_nbf);
    GN_CHECK(c.has_aud && c.aud.count == 1);
    GN_CHECK(gn_jwt_list_contains(&c.aud, "gonsters-dashboard", 18));
    GN_CHECK(!gn_jwt_list_contains(&c.aud, "gonsters-dashboar", 17));
    GN_CHECK_INT(c.permissions_state, GN_JWT_PRESENT);
    GN_CHECK_INT(c.permissions.count, 2);
    GN_CHECK_MEM(c.permissions.data, c.permissions.len,
                 "read:machines\0write:config", 26);
    GN_CHECK(gn_jwt_list_contains(&c.permissions, "write:config", 12));
    GN_CHECK(!gn_jwt_list_contains(&c.permissions, "write:conf", 10));
    GN_CHECK(!gn_jwt_list_contains(&c.permissions, "read:machines\0write", 19));
    free(copy);

    /* aud array, escaped elements, non-ASCII, fractions */
    GN_CHECK_INT(claims("{\"aud\":[ \"a\" , \"gonsters-\\u0064ashboard\","
                        "\"\xe2\x82\xac\"],\"exp\":1702438800.75,"
                        "\"nbf\":-5,\"permissions\":[]}", &c, &copy),
                 GN_JWT_OK);
    GN_CHECK_INT(c.aud.count, 3);
    GN_CHECK(gn_jwt_list_contains(&c.aud, "gonsters-dashboard", 18));
    GN_CHECK(gn_jwt_list_contains(&c.aud, "\xe2\x82\xac", 3));
    GN_CHECK(c.exp == 1702438800 && c.has_exp);
    GN_CHECK(c.nbf == -5 && c.has_nbf);
    GN_CHECK_INT(c.permissions_state, GN_JWT_PRESENT);
    GN_CHECK_INT(c.permissions.count, 0);
    GN_CHECK(!gn_jwt_list_contains(&c.permissions, "", 0));
    pos = 0;
    GN_CHECK(!gn_jwt_list_next(&c.permissions, &pos, &item));
    free(copy);

    /* a list of empty strings is not an empty list */
    GN_CHECK_INT(claims("{\"aud\":[\"\",\"\"]}", &c, &copy), GN_JWT_OK);
    GN_CHECK_INT(c.aud.count, 2);
    GN_CHECK(gn_jwt_list_contains(&c.aud, "", 0));
    pos = 0;
    GN_CHECK(gn_jwt_list_next(&c.aud, &pos, &item) && item.len == 0);
    GN_CHECK(gn_jwt_list_next(&c.aud, &pos, &item) && item.len == 0);
    GN_CHECK(!gn_jwt_list_next(&c.aud, &pos, &item));
    free(copy);

    /* permissions of the wrong type: not an error, the state says so */
    static const char  *invalid_perms[] = {
        "{\"permissions\":\"write:config\"}",
        "{\"permissions\":null}",
        "{\"permissions\":{\"write:config\":true}}",
        "{\"permissions\":[\"write:config\",1]}",
        "{\"permissions\":[[\"write:config\"]]}",
        "{\"permissions\":7}",
    };

    size_t  i;

    for (i = 0; i < sizeof(invalid_perms) / sizeof(invalid_perms[0]); i++) {
        GN_CHECK_MSG(claims(invalid_perms[i], &c, &copy) == GN_JWT_OK
                     && c.permissions_state == GN_JWT_INVALID,
                     "case %zu", i);
        free(copy);
    }

    GN_CHECK_INT(claims("{}", &c, &copy), GN_JWT_OK);
    GN_CHECK(c.sub.data == NULL && !c.has_exp && !c.has_aud
             && c.permissions_state == GN_JWT_ABSENT);
    free(copy);

    static const struct {
        const char  *json;
        int          rc;
    } bad[] = {
        { "{\"sub\":123}", GN_JWT_ECLAIM },
        { "{\"sub\":null}", GN_JWT_ECLAIM },
        { "{\"fam\":[\"f\"]}", GN_JWT_ECLAIM },
        { "{\"sub\":[\"a\"]}", GN_JWT_ECLAIM },
        { "{\"sub\":{\"a\":1}}", GN_JWT_ECLAIM },
        { "{\"sub\":\"a\",\"sub\":\"b\"}", GN_JWT_ECLAIM },
        { "{\"exp\":1,\"exp\":2}", GN_JWT_ECLAIM },
        { "{\"username\":\"a\\r\\nX-Admin: 1\"}", GN_JWT_ECLAIM },
        { "{\"role\":\"a\\u0000\"}", GN_JWT_ECLAIM },
        { "{\"email\":\"a\\u007f\"}", GN_JWT_ECLAIM },
        { "{\"exp\":\"1702438800\"}", GN_JWT_ECLAIM },
        { "{\"exp\":1.7e9}", GN_JWT_ECLAIM },
        { "{\"exp\":1E3}", GN_JWT_ECLAIM },
        { "{\"exp\":12345678901234567890}", GN_JWT_ECLAIM },
        { "{\"exp\":true}", GN_JWT_ECLAIM },
        { "{\"exp\":null}", GN_JWT_ECLAIM },
        { "{\"iat\":[1]}", GN_JWT_ECLAIM },
        { "{\"aud\":1}", GN_JWT_ECLAIM },
        { "{\"aud\":null}", GN_JWT_ECLAIM },
        { "{\"aud\":{\"a\":\"b\"}}", GN_JWT_ECLAIM },
        { "{\"aud\":[\"a\",1]}", GN_JWT_ECLAIM },
        { "{\"aud\":[\"a\\nb\"]}", GN_JWT_ECLAIM },
        { "{\"aud\":[\"a\\u0000b\"]}", GN_JWT_ECLAIM },
        { "{\"permissions\":[\"a\\nb\"]}", GN_JWT_ECLAIM },
        { "{\"permissions\":[\"a\",\"b\"],\"permissions\":[]}",
          GN_JWT_ECLAIM },
        { "{\"type\":\"access\",\"type\":\"refresh\"}", GN_JWT_ECLAIM },
        { "", GN_JWT_EJSON },
        { "[]", GN_JWT_EJSON },
        { "{\"sub\":\"a\"", GN_JWT_EJSON },
        { "{\"exp\":-}", GN_JWT_EJSON },
        { "{\"exp\":--1}", GN_JWT_EJSON },
        { "{\"exp\":+1}", GN_JWT_EJSON },
        { "{\"exp\":.5}", GN_JWT_EJSON },
        { "{\"exp\":0x10}", GN_JWT_EJSON },
        { "{\"aud\":[\"a\",]}", GN_JWT_EJSON },
        { "{\"aud\":[\"a\"}", GN_JWT_EJSON },
        { "{\"permissions\":[\"a\",]}", GN_JWT_EJSON },
        { "{\"permissions\":[1,}", GN_JWT_EJSON },
        { "{\"sub\":\"a\"} {}", GN_JWT_EJSON },
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        GN_CHECK_MSG(claims(bad[i].json, &c, &copy) == bad[i].rc,
                     "case %zu %s", i, bad[i].json);
        free(copy);
    }

    /* largest and smallest accepted dates */
    GN_CHECK_INT(claims("{\"exp\":999999999999999999}", &c, &copy),
                 GN_JWT_OK);
    GN_CHECK(c.exp == 999999999999999999LL);
    free(copy);
    GN_CHECK_INT(claims("{\"exp\":-999999999999999999}", &c, &copy),
                 GN_JWT_OK);
    GN_CHECK(c.exp == -999999999999999999LL);
    free(copy);
    GN_CHECK_INT(claims("{\"exp\":0}", &c, &copy), GN_JWT_OK);
    GN_CHECK(c.exp == 0 && c.has_exp);
    free(copy);

    /* NUL after the object */
    GN_CHECK_INT(claims_len("{\"sub\":\"a\"}\0", 12, &c, &copy),
                 GN_JWT_EJSON);
    free(copy);
}


/* a whole token through split, decode and parse */

static void
test_token(void)
{
    const char       *hj = "{\"alg\":\"HS256\",\"typ\":\"JWT\","
                           "\"kid\":\"2024\"}";
    const char       *pj = "{\"sub\":\"u1\",\"exp\":2000000000}";
    char              token[256], *hbuf, *pbuf;
    size_t            n;
    gn_jwt_parts_t    p;
    gn_jwt_header_t   h;
    gn_jwt_claims_t   c;

    n = b64url(hj, strlen(hj), token);
    token[n++] = '.';
    n += b64url(pj, strlen(pj), token + n);
    memcpy(token + n, ".c2ln", 6);
    n += 5;

    GN_CHECK_INT(gn_jwt_split(token, n, &p), GN_JWT_OK);

    hbuf = malloc(gn_jwt_b64url_decoded_len(p.header.len));
    pbuf = malloc(gn_jwt_b64url_decoded_len(p.payload.len));

    GN_CHECK_INT(gn_jwt_b64url_decode(p.header.data, p.header.len,
                                      (unsigned char *) hbuf), GN_JWT_OK);
    GN_CHECK_INT(gn_jwt_parse_header(hbuf,
                     gn_jwt_b64url_decoded_len(p.header.len), &h), GN_JWT_OK);
    GN_CHECK_STR(h.kid.data, h.kid.len, "2024");

    GN_CHECK_INT(gn_jwt_b64url_decode(p.payload.data, p.payload.len,
                                      (unsigned char *) pbuf), GN_JWT_OK);
    GN_CHECK_INT(gn_jwt_parse_claims(pbuf,
                     gn_jwt_b64url_decoded_len(p.payload.len), &c), GN_JWT_OK);
    GN_CHECK_STR(c.sub.data, c.sub.len, "u1");
    GN_CHECK(c.exp == 2000000000);

    free(hbuf);
    free(pbuf);

    GN_CHECK(strcmp(gn_jwt_strerror(GN_JWT_ECLAIM), "invalid claim") == 0);
    GN_CHECK(gn_jwt_strerror(42) != NULL);
}


int
main(void)
{
    test_split();
    test_base64();
    test_header();
    test_depth();
    test_claims();
    test_token();

    GN_TEST_DONE();
}
