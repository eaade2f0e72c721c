/*
 * Fuzz target: gn_lineproto.  The input is used as a tag value, key,
 * measurement and string field value; its first 8 bytes as a double.
 * Invariants: announced lengths are written lengths; in an escaped tag or
 * measurement every separator is preceded by a backslash; whatever the
 * checks accept reads back unchanged through a model of the InfluxDB
 * 1.6.7 parser (common/tests/gn_ref.h; common/tests/test_lineproto.c has
 * the server results behind the model); finite doubles format to <= 24
 * bytes that read back bit for bit.
 */

#include <math.h>

#include "gn_fuzz.h"
#include "gn_ref.h"
#include "gn_lineproto.h"


static void
check_separators(const char *out, size_t n, const char *seps)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (strchr(seps, out[i]) != NULL && out[i] != '\0') {
            GN_FUZZ_ASSERT(i > 0 && out[i - 1] == '\\');
        }
    }
}


static void
check_controls(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        GN_FUZZ_ASSERT((unsigned char) s[i] >= 0x20 && s[i] != 0x7f);
    }
}


static void
check_double(const uint8_t *data)
{
    char    buf[GN_LP_DOUBLE_MAX], *end;
    double  v, back;

    memcpy(&v, data, sizeof(v));

    end = gn_lp_format_double(buf, v);

    if (gn_lp_check_double(v) != 0) {
        GN_FUZZ_ASSERT(!isfinite(v) && end == buf);
        return;
    }

    GN_FUZZ_ASSERT(isfinite(v));
    GN_FUZZ_ASSERT(end > buf && end - buf <= 24 && *end == '\0');
    GN_FUZZ_ASSERT(strspn(buf, "0123456789.e+-") == (size_t) (end - buf));

    back = strtod(buf, NULL);
    GN_FUZZ_ASSERT(memcmp(&back, &v, sizeof(v)) == 0);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char  *in = (const char *) data;
    char        *out, *back;
    size_t       n;
    long         m;
    int          rc;

    out = malloc(2 * size + 1);
    back = malloc(2 * size + 1);

    /* tag values, tag keys, field keys */

    n = gn_lp_escape_tag_len(in, size);
    GN_FUZZ_ASSERT(n >= size && n <= 2 * size);
    GN_FUZZ_ASSERT((size_t) (gn_lp_escape_tag(out, in, size) - out) == n);
    check_separators(out, n, ", =");

    rc = gn_lp_check_tag(in, size);
    GN_FUZZ_ASSERT(rc <= 0 && rc >= GN_LP_ETOOLONG);
    GN_FUZZ_ASSERT(gn_lp_strerror(rc) != NULL);

    if (rc == 0) {
        check_controls(in, size);
        GN_FUZZ_ASSERT(size > 0 && ref_utf8_valid(data, size));
        GN_FUZZ_ASSERT(out[n - 1] != '\\');

        m = ref_lp_tag(out, n, back);
        GN_FUZZ_ASSERT(m == (long) size && memcmp(back, in, size) == 0);
    }

    rc = gn_lp_check_key(in, size);
    if (rc == 0) {
        GN_FUZZ_ASSERT(gn_lp_check_tag(in, size) == 0);
        GN_FUZZ_ASSERT(!(size == 4 && memcmp(in, "time", 4) == 0));
    }

    /* measurements */

    n = gn_lp_escape_measurement_len(in, size);
    GN_FUZZ_ASSERT((size_t) (gn_lp_escape_measurement(out, in, size) - out)
                   == n);
    check_separators(out, n, ", ");

    if (gn_lp_check_measurement(in, size) == 0) {
        GN_FUZZ_ASSERT(gn_lp_check_tag(in, size) == 0);
        GN_FUZZ_ASSERT(memchr(in, '\\', size) == NULL && in[0] != '#');
    }

    /* string field values */

    n = gn_lp_escape_string_len(in, size);
    GN_FUZZ_ASSERT(n >= size && n <= 2 * size);
    GN_FUZZ_ASSERT((size_t) (gn_lp_escape_string(out, in, size) - out) == n);

    /* whatever the check says, the quotes cannot be broken */
    m = ref_lp_string(out, n, back);
    GN_FUZZ_ASSERT(m == (long) size && memcmp(back, in, size) == 0);

    GN_FUZZ_ASSERT((gn_lp_check_string(in, size) == 0)
                   == ref_utf8_valid(data, size));

    if (size >= sizeof(double)) {
        check_double(data);
    }

    free(back);
    free(out);

    return 0;
}
