/*
 * Unit tests: gn_revocation, the Redis message "<jti> <expires>".
 */

#include <stdint.h>

#include "gn_revocation.h"
#include "gn_test.h"


int
main(void)
{
    static const char  *bad[] = {
        "", " ", "abc", "abc ", " 123", "abc  123", "abc 12 3", "abc 12a",
        "abc -5", "abc +5", "abc 1234567890123456789", "a\tb 1", "a\x7f 1",
        "\xc3\xa9 1", "abc 0x10", "abc 1 ",
    };

    char         msg[GN_REVOCATION_MSG_MAX + 8], jti[GN_JTI_MAX + 2], *end;
    const char  *got;
    size_t       i, got_len;
    int64_t      expires;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        GN_CHECK_MSG(gn_revocation_parse(bad[i], strlen(bad[i]), &got,
                                         &got_len, &expires) == -1,
                     "\"%s\"", bad[i]);
    }

    /* a NUL is not a terminator */
    GN_CHECK_INT(gn_revocation_parse("ab\0c 5", 6, &got, &got_len, &expires),
                 -1);

    GN_CHECK_INT(gn_revocation_parse("a.b-c_1 1767225600", 18, &got,
                                     &got_len, &expires), 0);
    GN_CHECK_STR(got, got_len, "a.b-c_1");
    GN_CHECK_INT(expires, 1767225600);

    /* the longest jti round-trips with the largest expiry accepted */
    memset(jti, '~', GN_JTI_MAX + 1);
    GN_CHECK(gn_jti_valid(jti, GN_JTI_MAX));
    GN_CHECK(!gn_jti_valid(jti, GN_JTI_MAX + 1));
    GN_CHECK(!gn_jti_valid(jti, 0));

    end = gn_revocation_format(msg, jti, GN_JTI_MAX, 999999999999999999LL);
    GN_CHECK((size_t) (end - msg) <= GN_REVOCATION_MSG_MAX);
    GN_CHECK_INT(gn_revocation_parse(msg, (size_t) (end - msg), &got,
                                     &got_len, &expires), 0);
    GN_CHECK_INT(got_len, GN_JTI_MAX);
    GN_CHECK_INT(expires, 999999999999999999LL);

    /* a jti one byte too long is refused */
    memset(msg, '~', GN_JTI_MAX + 1);
    memcpy(msg + GN_JTI_MAX + 1, " 5", 2);
    GN_CHECK_INT(gn_revocation_parse(msg, GN_JTI_MAX + 3, &got, &got_len,
                                     &expires), -1);

    GN_TEST_DONE();
}
