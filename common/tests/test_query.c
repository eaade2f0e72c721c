/*
 * Unit tests of gn_query: the query strings of the REST endpoints,
 * hostile ones included.
 */

#include <stdlib.h>

#include "gn_test.h"
#include "gn_query.h"


typedef struct {
    const char  *query;
    const char  *pairs;    /* "name=value" joined by '\n', decoded */
} query_case_t;


static const query_case_t  cases[] = {
    { "", "" },
    { "&", "" },
    { "&&&", "" },
    { "a=1", "a=1\n" },
    { "a=1&b=2", "a=1\nb=2\n" },
    { "&a=1&&b=2&", "a=1\nb=2\n" },
    { "a", "a=\n" },
    { "a=", "a=\n" },
    { "=v", "=v\n" },
    { "a==b", "a==b\n" },
    { "location=Factory+Floor+1", "location=Factory Floor 1\n" },
    { "location=Factory%20Floor%201", "location=Factory Floor 1\n" },
    { "l=%27%3B%20DROP%20TABLE%20machine_metadata%3B--",
      "l='; DROP TABLE machine_metadata;--\n" },
    { "l=%2B", "l=+\n" },
    { "l=%26b%3Dc", "l=&b=c\n" },
    { "%6c%6F=x", "lo=x\n" },
    { "l=%", "l=%\n" },
    { "l=%4", "l=%4\n" },
    { "l=%zz", "l=%zz\n" },
    { "l=%4g", "l=%4g\n" },
    { "l=%%41", "l=%A\n" },
    { "l=\xc3\xa9", "l=\xc3\xa9\n" },
    { "l=%c3%a9", "l=\xc3\xa9\n" },
};


static void
check_case(const query_case_t *c)
{
    gn_query_t   q;
    size_t       len, nl, vl, off;
    char        *name, *value, *got;

    len = strlen(c->query);
    name = malloc(len + 1);
    value = malloc(len + 1);
    got = malloc(2 * len + 64);
    off = 0;

    gn_query_init(&q, c->query, len);

    while (gn_query_next(&q, name, &nl, value, &vl)) {
        GN_CHECK_MSG(name[nl] == '\0' && value[vl] == '\0', "%s", c->query);
        memcpy(got + off, name, nl);
        off += nl;
        got[off++] = '=';
        memcpy(got + off, value, vl);
        off += vl;
        got[off++] = '\n';
    }

    GN_CHECK_MEM(got, off, c->pairs, strlen(c->pairs));

    /* at the end it stays at the end */
    GN_CHECK_INT(gn_query_next(&q, name, &nl, value, &vl), 0);

    free(name);
    free(value);
    free(got);
}


static void
test_nul(void)
{
    /* %00 decodes to a NUL byte inside the value: lengths carry it */
    static const char  s[] = "a=x%00y";
    gn_query_t         q;
    char               name[8], value[8];
    size_t             nl, vl;

    gn_query_init(&q, s, sizeof(s) - 1);
    GN_CHECK_INT(gn_query_next(&q, name, &nl, value, &vl), 1);
    GN_CHECK_MEM(value, vl, "x\0y", 3);

    /* a raw NUL in the input is data, not an end */
    gn_query_init(&q, "a\0=b", 4);
    GN_CHECK_INT(gn_query_next(&q, name, &nl, value, &vl), 1);
    GN_CHECK_MEM(name, nl, "a\0", 2);
    GN_CHECK_MEM(value, vl, "b", 1);
}


static void
test_uint(void)
{
    uint64_t  n;

    n = 7;
    GN_CHECK_INT(gn_query_uint("0", 1, 0, 10, &n), 0);
    GN_CHECK_INT(n, 0);
    GN_CHECK_INT(gn_query_uint("10", 2, 0, 10, &n), 0);
    GN_CHECK_INT(n, 10);
    GN_CHECK_INT(gn_query_uint("0010", 4, 0, 10, &n), 0);
    GN_CHECK_INT(n, 10);
    GN_CHECK_INT(gn_query_uint("11", 2, 0, 10, &n), -1);
    GN_CHECK_INT(gn_query_uint("0", 1, 1, 10, &n), -1);
    GN_CHECK_INT(gn_query_uint("", 0, 0, 10, &n), -1);
    GN_CHECK_INT(gn_query_uint("-1", 2, 0, 10, &n), -1);
    GN_CHECK_INT(gn_query_uint("+1", 2, 0, 10, &n), -1);
    GN_CHECK_INT(gn_query_uint(" 1", 2, 0, 10, &n), -1);
    GN_CHECK_INT(gn_query_uint("1 ", 2, 0, 10, &n), -1);
    GN_CHECK_INT(gn_query_uint("1e3", 3, 0, 10000, &n), -1);
    GN_CHECK_INT(gn_query_uint("0x10", 4, 0, 10000, &n), -1);
    GN_CHECK_INT(gn_query_uint("abc", 3, 0, 10000, &n), -1);
    GN_CHECK_INT(gn_query_uint("1\0", 2, 0, 10, &n), -1);
    /* no overflow: 19 digits fit, 20 are refused */
    GN_CHECK_INT(gn_query_uint("9999999999999999999", 19, 0, UINT64_MAX, &n),
                 0);
    GN_CHECK(n == 9999999999999999999ULL);
    GN_CHECK_INT(gn_query_uint("18446744073709551616", 20, 0, UINT64_MAX, &n),
                 -1);
    GN_CHECK_INT(gn_query_uint("99999999999999999999", 20, 0, UINT64_MAX, &n),
                 -1);
}


int
main(void)
{
    size_t  i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        check_case(&cases[i]);
    }

    test_nul();
    test_uint();

    GN_TEST_DONE();
}
