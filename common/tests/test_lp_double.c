/*
 * gn_lp_format_double(): its fast path (no snprintf, no strtod) must print
 * exactly what the general path prints, and every output must read back
 * as the value.  Compared here against the general algorithm on decimals
 * of 1 to 17 significant digits, random doubles of every magnitude, and
 * the edges of the fast path's range.
 */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "gn_test.h"
#include "../gn_lineproto.h"


/* the general path: the first of %.15g, %.16g, %.17g that reads back */
static void
reference(char *dst, double v)
{
    int  prec;

    for (prec = 15; prec < 17; prec++) {
        snprintf(dst, GN_LP_DOUBLE_MAX, "%.*g", prec, v);
        if (strtod(dst, NULL) == v) {
            return;
        }
    }

    snprintf(dst, GN_LP_DOUBLE_MAX, "%.17g", v);
}


static uint64_t  state = 0x9e3779b97f4a7c15ULL;



static int
check(double v)
{
    char  got[GN_LP_DOUBLE_MAX], want[GN_LP_DOUBLE_MAX], *end;

    end = gn_lp_format_double(got, v);
    reference(want, v);

    GN_CHECK_MSG(strcmp(got, want) == 0 && *end == '\0'
                 && (size_t) (end - got) == strlen(got),
                 "%.17g: got \"%s\", want \"%s\"", v, got, want);
    GN_CHECK_MSG(strtod(got, NULL) == v, "%.17g: \"%s\" reads back", v, got);

    return strcmp(got, want) == 0;
}


int
main(void)
{
    int       i, digits, k, bad;
    char      text[64];
    double    v;
    uint64_t  d, bits;

    static const double  edges[] = {
        1e-4, 1.0000000000000001e-4, 9.9999999999999991e-5, 0.1, 0.2, 0.3,
        0.7, 1, 10, 60.5, 102.0, 1400, -0.25, 1e-7, -1.5e-07, 25.5,
        999999999999999, 999999999999999.9, 1e15, 1e15 - 1, 123456789012345.6,
        0.1 + 0.2, 1.0 / 3, 2.0 / 3, 9007199254740991.0, 9007199254740992.0,
        4503599627370495.5, 0.000123456789012345, 5e-324, 1.7976931348623157e308,
        -0.0, 0.0, 100.00000000000001, 72.5, 101.3, 1450.0
    };

    bad = 0;

    for (i = 0; i < (int) (sizeof(edges) / sizeof(edges[0])); i++) {
        bad += !check(edges[i]);
        bad += !check(-edges[i]);
    }

    /* decimals as gateways send them: D / 10^k, 1..17 digits */
    for (i = 0; i < 300000; i++) {
        digits = 1 + (int) (gn_test_rand(&state) % 17);
        k = (int) (gn_test_rand(&state) % 18);
        d = gn_test_rand(&state) % 100000000000000000ULL;
        snprintf(text, sizeof(text), "%s%.*llu", (gn_test_rand(&state) & 1) ? "-" : "",
                 digits, (unsigned long long) d);
        text[digits + (text[0] == '-')] = '\0';
        v = strtod(text, NULL) / pow(10, k);
        bad += !check(v);
        snprintf(text + strlen(text), sizeof(text) - strlen(text), "e-%d", k);
        bad += !check(strtod(text, NULL));
    }

    /* any finite double */
    for (i = 0; i < 300000; i++) {
        bits = gn_test_rand(&state);
        memcpy(&v, &bits, sizeof(v));
        if (isfinite(v)) {
            bad += !check(v);
        }
    }

    GN_CHECK_INT(bad, 0);

    GN_TEST_DONE();
}
