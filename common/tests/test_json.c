/*
 * Unit tests of gn_json (string escaping) and gn_utf8.
 */

#include <stdint.h>
#include <stdlib.h>

#include "gn_test.h"
#include "gn_ref.h"
#include "gn_json.h"
#include "gn_utf8.h"


/* escapes into an exact-size heap buffer (ASan catches an overrun),
 * checks the length and the JSON/UTF-8 validity of the result; returns
 * the escaped string (malloc'ed, NUL-terminated) */

static char *
escape(const char *in, size_t len, size_t *olen)
{
    char    *out, *end, *dec;
    size_t   n;
    long     dlen;

    n = gn_json_escape_len(in, len);
    out = malloc(n + 1);
    end = gn_json_escape(out, in, len);

    GN_CHECK_MSG((size_t) (end - out) == n, "len %zu, wrote %zu", n,
                 (size_t) (end - out));
    out[n] = '\0';

    GN_CHECK(ref_utf8_valid((const unsigned char *) out, n));

    dec = malloc(n + 1);
    dlen = ref_json_unescape(out, n, dec);
    GN_CHECK_MSG(dlen >= 0, "not valid JSON: %s", out);

    /* valid UTF-8 comes back unchanged */
    if (dlen >= 0 && ref_utf8_valid((const unsigned char *) in, len)) {
        GN_CHECK_MEM(dec, (size_t) dlen, in, len);
    }

    GN_CHECK_INT(gn_utf8_valid(in, len),
                 ref_utf8_valid((const unsigned char *) in, len));

    free(dec);
    *olen = n;

    return out;
}


#define CASE(in, want)                                                        \
    do {                                                                      \
        size_t  n_;                                                           \
        char   *o_ = escape(in, sizeof(in) - 1, &n_);                         \
        GN_CHECK_STR(o_, n_, want);                                           \
        free(o_);                                                             \
    } while (0)


static void
test_cases(void)
{
    size_t  n;

    GN_CHECK_INT(gn_json_escape_len(NULL, 0), 0);
    GN_CHECK(gn_json_escape((char *) &n, NULL, 0) == (char *) &n);

    CASE("", "");
    CASE("plain text 123", "plain text 123");
    CASE("\"", "\\\"");
    CASE("\\", "\\\\");
    CASE("a/b", "a/b");
    CASE("\"}],\"admin\":true,\"x\":[{\"", "\\\"}],\\\"admin\\\":true,"
         "\\\"x\\\":[{\\\"");
    CASE("\b\f\n\r\t", "\\b\\f\\n\\r\\t");
    CASE("\x00", "\\u0000");
    CASE("a\x00" "b", "a\\u0000b");
    CASE("\x01\x1f\x7f", "\\u0001\\u001f\\u007f");
    CASE("\x1b[31mred", "\\u001b[31mred");
    CASE("line1\r\nline2", "line1\\r\\nline2");
    CASE("\x0b", "\\u000b");

    /* valid UTF-8 passes through */
    CASE("\xc3\xa9", "\xc3\xa9");                       /* é */
    CASE("\xc2\x80", "\xc2\x80");                       /* U+0080 */
    CASE("\xdf\xbf", "\xdf\xbf");                       /* U+07FF */
    CASE("\xe0\xa0\x80", "\xe0\xa0\x80");               /* U+0800 */
    CASE("\xe2\x82\xac", "\xe2\x82\xac");               /* € */
    CASE("\xed\x9f\xbf", "\xed\x9f\xbf");               /* U+D7FF */
    CASE("\xee\x80\x80", "\xee\x80\x80");               /* U+E000 */
    CASE("\xef\xbf\xbd", "\xef\xbf\xbd");               /* U+FFFD */
    CASE("\xef\xbf\xbf", "\xef\xbf\xbf");               /* U+FFFF */
    CASE("\xf0\x90\x80\x80", "\xf0\x90\x80\x80");       /* U+10000 */
    CASE("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");       /* emoji */
    CASE("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf");       /* U+10FFFF */
    CASE("\xef\xbb\xbf" "bom", "\xef\xbb\xbf" "bom");

    /* JavaScript line terminators */
    CASE("\xe2\x80\xa8", "\\u2028");
    CASE("a\xe2\x80\xa9" "b", "a\\u2029b");

    /* ill-formed: one \ufffd per maximal subpart */
    CASE("\x80", "\\ufffd");
    CASE("\xbf", "\\ufffd");
    CASE("\x80\x80", "\\ufffd\\ufffd");
    CASE("\xc0\x80", "\\ufffd\\ufffd");                 /* overlong NUL */
    CASE("\xc0\xaf", "\\ufffd\\ufffd");                 /* overlong '/' */
    CASE("\xc1\xbf", "\\ufffd\\ufffd");
    CASE("\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd");      /* overlong */
    CASE("\xe0\x9f\xbf", "\\ufffd\\ufffd\\ufffd");      /* overlong */
    CASE("\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd");      /* U+D800 */
    CASE("\xed\xbf\xbf", "\\ufffd\\ufffd\\ufffd");      /* U+DFFF */
    CASE("\xed\xa0\xbd\xed\xb8\x80",                    /* CESU-8 emoji */
         "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd");
    CASE("\xf0\x80\x80\xaf", "\\ufffd\\ufffd\\ufffd\\ufffd");
    CASE("\xf0\x8f\xbf\xbf", "\\ufffd\\ufffd\\ufffd\\ufffd");
    CASE("\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"); /* >10FFFF */
    CASE("\xf5\x80\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd");
    CASE("\xf8\x88\x80\x80\x80",
         "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd");
    CASE("\xfe\xff", "\\ufffd\\ufffd");
    CASE("\xff\xfe\x00", "\\ufffd\\ufffd\\u0000");

    /* truncated sequences: the valid prefix is one subpart */
    CASE("\xc3", "\\ufffd");
    CASE("\xe2\x82", "\\ufffd");
    CASE("\xf0\x9f\x98", "\\ufffd");
    CASE("\xe2\x82" "A", "\\ufffdA");
    CASE("\xf0\x9f" "\"", "\\ufffd\\\"");
    CASE("\xf0\x9f\x98" "\n", "\\ufffd\\n");
    CASE("\xc3\xc3\xa9", "\\ufffd\xc3\xa9");
    CASE("\xe2\x82\xe2\x82\xac", "\\ufffd\xe2\x82\xac");

    /* Unicode 15, table 3-8 */
    CASE("\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64",
         "a\\ufffd\\ufffd\\ufffdb\\ufffdc\\ufffd\\ufffdd");
}


/* every 1-, 2- and 3-byte input: lengths agree, output valid, and the
 * shared validator agrees with the independent one */

static void
test_exhaustive(void)
{
    unsigned char  in[3];
    char           out[32], dec[32];
    char          *end;
    unsigned       a, b, c;
    size_t         n;
    long           dl;
    int            fails = gn_test_failures;

    for (a = 0; a < 256; a++) {
        for (b = 0; b < 256; b++) {
            for (c = 0; c < 256; c++) {

                /* all 2-byte inputs, and 3-byte ones from E0 on, where
                 * the 3-byte sequences start */
                if (c > 0 && a < 0xe0) {
                    break;
                }

                in[0] = (unsigned char) a;
                in[1] = (unsigned char) b;
                in[2] = (unsigned char) c;
                n = (c > 0 || a >= 0xe0) ? 3 : 2;

                end = gn_json_escape(out, (char *) in, n);

                if ((size_t) (end - out)
                    != gn_json_escape_len((char *) in, n)
                    || !ref_utf8_valid((unsigned char *) out, end - out)
                    || gn_utf8_valid((char *) in, n)
                       != ref_utf8_valid(in, n))
                {
                    GN_CHECK_MSG(0, "%02x %02x %02x", a, b, c);
                    continue;
                }

                dl = ref_json_unescape(out, end - out, dec);
                if (dl < 0 || (ref_utf8_valid(in, n)
                               && ((size_t) dl != n
                                   || memcmp(dec, in, n) != 0)))
                {
                    GN_CHECK_MSG(0, "%02x %02x %02x", a, b, c);
                }

                if (gn_test_failures > fails + 20) {
                    return;
                }
            }
        }
    }

    GN_CHECK(gn_test_failures == fails);
}


/* every 4-byte sequence with a 4-byte lead: valid iff the reference says so */

static void
test_four_byte(void)
{
    unsigned char  in[4];
    unsigned       a, b, c, d;
    int            fails = gn_test_failures;

    for (a = 0xf0; a < 0x100; a++) {
        for (b = 0x70; b < 0xd0; b++) {
            for (c = 0x70; c < 0xd0; c++) {
                for (d = 0x70; d < 0xd0; d++) {
                    in[0] = (unsigned char) a;
                    in[1] = (unsigned char) b;
                    in[2] = (unsigned char) c;
                    in[3] = (unsigned char) d;

                    if (gn_utf8_valid((char *) in, 4)
                        != ref_utf8_valid(in, 4))
                    {
                        GN_CHECK_MSG(0, "%02x %02x %02x %02x", a, b, c, d);
                        if (gn_test_failures > fails + 20) {
                            return;
                        }
                    }
                }
            }
        }
    }
}


/* truncation of a mixed string at every position */

static void
test_truncations(void)
{
    static const char  s[] = "h\xc3\xa9\"llo\n\xe2\x82\xac\x01\\"
                             "\xf0\x9f\x98\x80\xe2\x80\xa8" "end";
    size_t             i, n;
    char              *heap, *out;

    for (i = 0; i < sizeof(s); i++) {
        heap = malloc(i + 1);
        memcpy(heap, s, i);
        out = escape(heap, i, &n);
        free(out);
        free(heap);
    }
}


static void
test_huge(void)
{
    size_t    n = 1 << 20, i, olen;
    char     *in, *out;
    uint64_t  st = 99;

    in = malloc(n);

    /* random bytes */
    for (i = 0; i < n; i++) {
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        in[i] = (char) (st >> 56);
    }

    out = escape(in, n, &olen);
    free(out);

    /* worst case: six bytes out for every byte in */
    memset(in, 0x01, n);
    GN_CHECK_INT(gn_json_escape_len(in, n), 6 * n);
    memset(in, 0xff, n);
    GN_CHECK_INT(gn_json_escape_len(in, n), 6 * n);

    free(in);
}


int
main(void)
{
    test_cases();
    test_exhaustive();
    test_four_byte();
    test_truncations();
    test_huge();

    GN_TEST_DONE();
}
