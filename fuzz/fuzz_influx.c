/*
 * Fuzz target: gn_influx (InfluxDB /query answers).  Invariants: the scan
 * accepts or refuses with a reason; the rows of every statement it
 * described read back in full, each time within int64_t and each value
 * the text of a JSON number inside the input; gn_influx_number() writes
 * at most GN_INFLUX_NUMBER_MAX bytes, and what it writes reads back as the
 * input's value (any input bytes).
 */

#include <math.h>

#include "gn_fuzz.h"
#include "gn_influx.h"


#define NRES  4


static int
json_number(const char *s, size_t len)
{
    size_t  i;

    if (len == 0 || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (strchr("0123456789+-.eE", s[i]) == NULL) {
            return 0;
        }
    }

    return 1;
}


static void
number(const char *s, size_t len)
{
    char    out[GN_INFLUX_NUMBER_MAX + 8], *end, *copy;
    double  v, w;

    memset(out, 'X', sizeof(out));
    end = gn_influx_number(out, s, len);

    if (end == NULL) {
        return;
    }

    GN_FUZZ_ASSERT(end > out && end - out < GN_INFLUX_NUMBER_MAX);
    GN_FUZZ_ASSERT(out[GN_INFLUX_NUMBER_MAX] == 'X');

    if (!json_number(s, len)) {
        return;
    }

    copy = malloc(len + 1);
    memcpy(copy, s, len);
    copy[len] = '\0';
    v = strtod(copy, NULL);
    free(copy);

    *end = '\0';
    w = strtod(out, NULL);
    GN_FUZZ_ASSERT(isfinite(v) && v == w);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char          *in = (const char *) data;
    size_t               i, k, nv;
    int64_t             *time;
    gn_influx_value_t   *values;
    gn_influx_answer_t   ans;
    gn_influx_result_t   res[NRES];

    number(in, size < 64 ? size : 64);

    if (gn_influx_scan(in, size, &ans, res, NRES) != 0) {
        GN_FUZZ_ASSERT(ans.invalid != NULL);
        return 0;
    }

    for (i = 0; i < ans.nresults && i < NRES; i++) {
        if (res[i].ncols == 0) {
            GN_FUZZ_ASSERT(res[i].nrows == 0);
            continue;
        }

        GN_FUZZ_ASSERT(res[i].values >= in
                       && res[i].values + res[i].values_len <= in + size);

        nv = res[i].nrows * (res[i].ncols - 1);
        time = malloc(res[i].nrows * sizeof(int64_t) + 1);
        values = malloc(nv * sizeof(gn_influx_value_t) + 1);

        GN_FUZZ_ASSERT(gn_influx_rows(&res[i], time, values) == 0);

        for (k = 0; k < nv; k++) {
            if (values[k].len == 0) {
                continue;
            }

            GN_FUZZ_ASSERT(values[k].p >= in
                           && values[k].p + values[k].len <= in + size);
            GN_FUZZ_ASSERT(json_number(values[k].p, values[k].len));
            number(values[k].p, values[k].len);
        }

        free(values);
        free(time);
    }

    return 0;
}
