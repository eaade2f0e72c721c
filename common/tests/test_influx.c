/*
 * gn_influx: InfluxDB /query answers (real ones, hostile ones), and
 * gn_influx_number(): for the texts InfluxDB writes (Go's shortest form
 * that reads back, modelled here), exactly what gn_lp_format_double()
 * writes for the value.
 */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "gn_test.h"
#include "../gn_influx.h"
#include "../gn_lineproto.h"


static uint64_t  state = 0x2545f4914f6cdd1dULL;



/*
 * What encoding/json writes for a float64: the shortest digits that read
 * back, in fixed notation for 1e-6 <= |v| < 1e21, else d.ddde-7 / e+21.
 */
static void
go_format(char *dst, double v)
{
    int    prec, exp, ndig, i;
    char   sci[64], digits[32], *p, *e;

    for (prec = 0; prec < 17; prec++) {
        snprintf(sci, sizeof(sci), "%.*e", prec, v);
        if (strtod(sci, NULL) == v) {
            break;
        }
    }

    p = sci;
    if (*p == '-') {
        p++;
    }

    ndig = 0;
    for (; *p != 'e'; p++) {
        if (*p != '.') {
            digits[ndig++] = *p;
        }
    }
    while (ndig > 1 && digits[ndig - 1] == '0') {
        ndig--;
    }
    exp = atoi(p + 1);

    e = dst;
    if (signbit(v)) {
        *e++ = '-';
    }

    if (v == 0) {
        strcpy(e, "0");
        return;
    }

    if (fabs(v) < 1e-6 || fabs(v) >= 1e21) {
        *e++ = digits[0];
        if (ndig > 1) {
            *e++ = '.';
            memcpy(e, digits + 1, ndig - 1);
            e += ndig - 1;
        }
        sprintf(e, "e%c%d", exp < 0 ? '-' : '+', abs(exp));
        return;
    }

    if (exp < 0) {
        *e++ = '0';
        *e++ = '.';
        for (i = 0; i < -exp - 1; i++) {
            *e++ = '0';
        }
        memcpy(e, digits, ndig);
        e[ndig] = '\0';
        return;
    }

    for (i = 0; i <= exp || i < ndig; i++) {
        if (i == exp + 1) {
            *e++ = '.';
        }
        *e++ = (i < ndig) ? digits[i] : '0';
    }
    *e = '\0';
}


static int
check_number(double v)
{
    char   text[64], got[GN_INFLUX_NUMBER_MAX + 1], want[GN_LP_DOUBLE_MAX];
    char  *end;

    go_format(text, v);
    gn_lp_format_double(want, v);

    end = gn_influx_number(got, text, strlen(text));
    if (end == NULL) {
        GN_CHECK_MSG(0, "%s: no number", text);
        return 0;
    }

    *end = '\0';
    GN_CHECK_MSG(strcmp(got, want) == 0, "InfluxDB's \"%s\": got \"%s\", "
                 "want \"%s\"", text, got, want);
    GN_CHECK_MSG(strtod(text, NULL) == v, "the model's \"%s\" reads back",
                 text);

    return strcmp(got, want) == 0;
}


static void
test_numbers(void)
{
    int       i, bad, k, digits;
    char      text[64], out[GN_INFLUX_NUMBER_MAX + 1], *end;
    double    v;
    uint64_t  bits, d;

    static const double  edges[] = {
        0, 1, 0.1, 0.5, 25.5, 72.5, 101.3, 1450, 1e-4, 9.9999999999999991e-5,
        1.0000000000000001e-4, 0.00012, 1e-6, 1e-7, 1.5e-7, 999999999999999,
        999999999999999.9, 1e15, 1e16, 1e20, 1e21, 1e22, 123456789012345.6,
        0.1 + 0.2, 1.0 / 3, 2.0 / 3, 25.123456789012344, 9007199254740993.0,
        5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
        100.00000000000001
    };

    static const struct {
        const char  *in;
        const char  *out;          /* NULL: no number */
    } texts[] = {
        { "0", "0" }, { "-0", "-0" }, { "25.5", "25.5" }, { "1e-7", "1e-07" },
        { "1E+2", "100" }, { "0.00001", "1e-05" }, { "100.50", "100.5" },
        { "0.0", "0" }, { "1e400", NULL }, { "-1e400", NULL }, { "", NULL },
        { "1e-400", "0" }, { "123456789012345678901234567890", "1.2345678901234568e+29" },
        { "0.000100", "0.0001" }, { "00012", NULL }
    };

    bad = 0;

    for (i = 0; i < (int) (sizeof(edges) / sizeof(edges[0])); i++) {
        bad += !check_number(edges[i]);
        bad += !check_number(-edges[i]);
    }

    /* decimals as sensors send them and means of them */
    for (i = 0; i < 200000; i++) {
        digits = 1 + (int) (gn_test_rand(&state) % 17);
        k = (int) (gn_test_rand(&state) % 18);
        d = gn_test_rand(&state) % 100000000000000000ULL;
        snprintf(text, sizeof(text), "%.*llu", digits, (unsigned long long) d);
        text[digits] = '\0';
        v = strtod(text, NULL) / pow(10, k);
        bad += !check_number((gn_test_rand(&state) & 1) ? -v : v);
        bad += !check_number(v / 7);
    }

    for (i = 0; i < 200000; i++) {
        bits = gn_test_rand(&state);
        memcpy(&v, &bits, sizeof(v));
        if (isfinite(v)) {
            bad += !check_number(v);
        }
    }

    GN_CHECK_INT(bad, 0);

    for (i = 0; i < (int) (sizeof(texts) / sizeof(texts[0])); i++) {
        if (strcmp(texts[i].in, "00012") == 0) {
            /* not JSON: the scan refuses it; here only no overflow */
            end = gn_influx_number(out, texts[i].in, strlen(texts[i].in));
            GN_CHECK(end == NULL || end - out < GN_INFLUX_NUMBER_MAX);
            continue;
        }

        end = gn_influx_number(out, texts[i].in, strlen(texts[i].in));

        if (texts[i].out == NULL) {
            GN_CHECK_MSG(end == NULL, "%s", texts[i].in);
            continue;
        }

        GN_CHECK_MSG(end != NULL, "%s", texts[i].in);
        if (end) {
            GN_CHECK_STR(out, (size_t) (end - out), texts[i].out);
        }
    }

    GN_CHECK(isnan(gn_influx_double("", 0)));
    GN_CHECK(gn_influx_double("169", 3) == 169);
    GN_CHECK(gn_influx_double("1.5e3,", 5) == 1500);
}


#define SCAN(text, res, n, ans)                                               \
    gn_influx_scan(text, strlen(text), ans, res, n)


static void
test_answer(void)
{
    int                 rc;
    int64_t             t[4];
    gn_influx_value_t   v[8];
    gn_influx_answer_t  ans;
    gn_influx_result_t  res[4];

    /* a history query of InfluxDB 1.6: tail, count, head, tier page */
    static const char  answer[] =
        "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":"
        "\"sensor_readings\",\"columns\":[\"time\",\"temperature\","
        "\"pressure\"],\"values\":[[1795752000000000000,25.123456789012344,"
        "null],[1795748400000000000,-3,1e-7]]}]},{\"statement_id\":1,"
        "\"series\":[{\"name\":\"sensor_readings\",\"columns\":[\"time\","
        "\"rows\"],\"values\":[[0,167]]}]},{\"statement_id\":2},"
        "{\"statement_id\":3,\"series\":[{\"name\":\"x\",\"tags\":{\"a\":"
        "\"b\"},\"columns\":[\"time\",\"t\"],\"values\":[[-5,\"str\"]],"
        "\"partial\":true},{\"name\":\"second\",\"columns\":[],\"values\":"
        "[[[[]]]]}]}]}\n";

    rc = SCAN(answer, res, 3, &ans);
    GN_CHECK_INT(rc, 0);
    GN_CHECK_INT(ans.nresults, 4);
    GN_CHECK(ans.error == NULL);

    GN_CHECK_INT(res[0].ncols, 3);
    GN_CHECK_INT(res[0].nrows, 2);
    GN_CHECK_INT(gn_influx_rows(&res[0], t, v), 0);
    GN_CHECK(t[0] == INT64_C(1795752000000000000));
    GN_CHECK(t[1] == INT64_C(1795748400000000000));
    GN_CHECK_STR(v[0].p, v[0].len, "25.123456789012344");
    GN_CHECK_INT(v[1].len, 0);
    GN_CHECK_STR(v[2].p, v[2].len, "-3");
    GN_CHECK_STR(v[3].p, v[3].len, "1e-7");

    GN_CHECK_INT(res[1].nrows, 1);
    GN_CHECK_INT(gn_influx_rows(&res[1], t, v), 0);
    GN_CHECK(t[0] == 0);
    GN_CHECK(gn_influx_double(v[0].p, v[0].len) == 167);

    GN_CHECK_INT(res[2].ncols, 0);
    GN_CHECK_INT(res[2].nrows, 0);
    GN_CHECK(res[2].error == NULL);
    GN_CHECK_INT(gn_influx_rows(&res[2], t, v), 0);

    rc = SCAN(answer, res, 4, &ans);
    GN_CHECK_INT(rc, 0);
    GN_CHECK_INT(res[3].ncols, 2);
    GN_CHECK_INT(gn_influx_rows(&res[3], t, v), 0);
    GN_CHECK(t[0] == -5);
    GN_CHECK_INT(v[0].len, 0);

    /* a statement that failed, and a query that did not parse */
    rc = SCAN("{\"results\":[{\"statement_id\":0,\"error\":\"bad \\\"x\\\"\"}]}",
              res, 1, &ans);
    GN_CHECK_INT(rc, 0);
    GN_CHECK(res[0].error != NULL);
    if (res[0].error) {
        GN_CHECK_STR(res[0].error, res[0].error_len, "bad \\\"x\\\"");
    }

    rc = SCAN("{\"error\":\"error parsing query: found EOF\"}", res, 1, &ans);
    GN_CHECK_INT(rc, 0);
    GN_CHECK_INT(ans.nresults, 0);
    GN_CHECK(ans.error != NULL);

    /* times at the ends of int64_t */
    rc = SCAN("{\"results\":[{\"series\":[{\"columns\":[\"time\"],\"values\":"
              "[[9223372036854775807],[-9223372036854775808]]}]}]}",
              res, 1, &ans);
    GN_CHECK_INT(rc, 0);
    GN_CHECK_INT(gn_influx_rows(&res[0], t, v), 0);
    GN_CHECK(t[0] == INT64_MAX);
    GN_CHECK(t[1] == INT64_MIN);

    /* "values" before "columns" */
    rc = SCAN("{\"results\":[{\"series\":[{\"values\":[[1,2]],\"columns\":"
              "[\"time\",\"a\"]}]}]}", res, 1, &ans);
    GN_CHECK_INT(rc, 0);
    GN_CHECK_INT(res[0].ncols, 2);
}


static void
test_hostile(void)
{
    int                 i;
    gn_influx_answer_t  ans;
    gn_influx_result_t  res[2];

    static const char *const  bad[] = {
        "",
        "   ",
        "[]",
        "{}",
        "null",
        "{\"results\":[]",
        "{\"results\":[]}x",
        "{\"results\":[]}{}",
        "{\"results\":{}}",
        "{\"results\":[1]}",
        "{\"results\":[],\"results\":[]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\"]}]}]}",
        "{\"results\":[{\"series\":[{\"values\":[[1]]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[],\"values\":[]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\",\"a\"],\"values\":[[1]]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\"],\"values\":[[1,2]]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\"],\"values\":[[]]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\"],\"values\":[[1.5]]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\"],\"values\":[[1e3]]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\"],\"values\":[[\"1\"]]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\"],\"values\":[[9223372036854775808]]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\"],\"values\":[[-9223372036854775809]]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\"],\"values\":[[99999999999999999999]]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\",\"a\"],\"values\":[[1,[2]]]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\",\"a\"],\"values\":[[1,{}]]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\",\"a\"],\"values\":[[1,01]]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\",\"a\"],\"values\":[[1,1.]]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\",\"a\"],\"values\":[[1,.5]]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\",\"a\"],\"values\":[[1,+5]]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\",\"a\"],\"values\":[[1,1e]]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\",\"a\"],\"values\":[[1,-]]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\",\"a\"],\"values\":[[1,NaN]]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\",\"a\"],\"values\":[[1,nul]]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\",\"a\"],\"values\":[[1,2],]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\",\"a\"],\"values\":[[1,2]]}],}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\",\"a\"],\"values\":[[1,2]],\"values\":[]}]}]}",
        "{\"results\":[{\"series\":[{\"columns\":[\"time\",1],\"values\":[]}]}]}",
        "{\"results\":[{\"series\":[1]}]}",
        "{\"results\":[{\"error\":1}]}",
        "{\"results\":[{\"error\":\"a\",\"error\":\"b\"}]}",
        "{\"results\":[{\"error\":\"\x01\"}]}",
        "{\"results\":[{\"error\":\"\\x\"}]}",
        "{\"results\":[{\"error\":\"\\u12g4\"}]}",
        "{\"results\":[{\"error\":\"\\u12\"}]}",
        "{\"results\":[{\"error\":\"abc}]}",
        "{\"results\":[{\"error\":\"abc\\",
        "{\"results\" [] }",
        "{\"results\":[] \"error\":\"x\"}",
        "{results:[]}",
        "{\"a\":tru}",
    };

    for (i = 0; i < (int) (sizeof(bad) / sizeof(bad[0])); i++) {
        GN_CHECK_MSG(SCAN(bad[i], res, 2, &ans) == -1 && ans.invalid != NULL,
                     "refused: %s", bad[i]);
    }

    /* a truncated answer is refused at every length */
    {
        static const char  ok[] =
            "{\"results\":[{\"statement_id\":0,\"series\":[{\"name\":\"s\","
            "\"columns\":[\"time\",\"a\"],\"values\":[[1,2.5],[2,null]]}]}]}";
        size_t  n;

        GN_CHECK_INT(SCAN(ok, res, 2, &ans), 0);

        for (n = 0; n < sizeof(ok) - 1; n++) {
            GN_CHECK_MSG(gn_influx_scan(ok, n, &ans, res, 2) == -1,
                         "cut at %zu", n);
        }
    }

    /* nesting: refused beyond the limit, without recursing further */
    {
        char    deep[4096], *p;
        size_t  k;

        p = deep;
        p += sprintf(p, "{\"x\":");
        for (k = 0; k < 1000; k++) {
            *p++ = '[';
        }
        *p = '\0';
        GN_CHECK(SCAN(deep, res, 2, &ans) == -1);

        p = deep;
        p += sprintf(p, "{\"results\":[],\"x\":");
        for (k = 0; k < GN_INFLUX_MAX_DEPTH - 2; k++) {
            *p++ = '[';
        }
        for (k = 0; k < GN_INFLUX_MAX_DEPTH - 2; k++) {
            *p++ = ']';
        }
        strcpy(p, "}");
        GN_CHECK_INT(SCAN(deep, res, 2, &ans), 0);
    }
}


int
main(void)
{
    test_numbers();
    test_answer();
    test_hostile();

    GN_TEST_DONE();
}
