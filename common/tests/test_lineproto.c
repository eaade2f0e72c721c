/*
 * Unit tests of gn_lineproto.
 *
 * The VERIFIED tables were produced against a real InfluxDB 1.6.7
 * (influxd from Debian, v1 /write then /query) on 2026-11-26: each input
 * was checked and escaped by this library, written in a line, and read
 * back with SELECT ... GROUP BY * / SHOW MEASUREMENTS.  "stored" is what
 * the server returned.  For refused inputs the comment says what the
 * server did with the escaped bytes anyway, i.e. why the check refuses.
 */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "gn_test.h"
#include "gn_ref.h"
#include "gn_lineproto.h"


#define S(lit)  lit, sizeof(lit) - 1


typedef struct {
    const char  *in;
    size_t       in_len;
    int          rc;
    const char  *esc;
    size_t       esc_len;
} lp_case_t;


/* tag values (and, identically, tag keys and field keys): stored == in */

static const lp_case_t  verified_tags[] = {
    { S("a,b"),          0, S("a\\,b") },
    { S("a b"),          0, S("a\\ b") },
    { S("a=b"),          0, S("a\\=b") },
    { S("a\\b"),         0, S("a\\b") },
    { S("a\\,b"),        0, S("a\\\\,b") },
    { S("a\\ b"),        0, S("a\\\\ b") },
    { S("a\\=b"),        0, S("a\\\\=b") },
    { S("a\\\\,b"),      0, S("a\\\\\\,b") },
    { S("a\\\\\\,b"),    0, S("a\\\\\\\\,b") },
    { S("a\\\\=b"),      0, S("a\\\\\\=b") },
    { S("\\,"),          0, S("\\\\,") },
    { S("\\ "),          0, S("\\\\ ") },
    { S("\\="),          0, S("\\\\=") },
    { S("\\a"),          0, S("\\a") },
    { S(","),            0, S("\\,") },
    { S(" "),            0, S("\\ ") },
    { S("="),            0, S("\\=") },
    { S("=a"),           0, S("\\=a") },
    { S(" lead"),        0, S("\\ lead") },
    { S("trail "),       0, S("trail\\ ") },
    { S("#x"),           0, S("#x") },
    { S("\"q\""),        0, S("\"q\"") },
    { S("a\"b"),         0, S("a\"b") },
    { S("a'b"),          0, S("a'b") },
    { S("\xc3\xa9"),     0, S("\xc3\xa9") },
    { S("\xf0\x9f\x98\x80"), 0, S("\xf0\x9f\x98\x80") },
    { S("x\\\\\\ y"),    0, S("x\\\\\\\\ y") },
    { S("a,b=c d\\e"),   0, S("a\\,b\\=c\\ d\\e") },
    { S("\\,=\\ "),      0, S("\\\\,\\=\\\\ ") },
    { S("{\"k\":1}"),    0, S("{\"k\":1}") },
    { S("sensor_readings"), 0, S("sensor_readings") },

    /* 400 "invalid tag format" / "missing tag value": the trailing
     * backslash escapes the separator after it */
    { S("a\\"),          GN_LP_EBACKSLASH, S("a\\") },
    { S("a\\\\"),        GN_LP_EBACKSLASH, S("a\\\\") },
    { S("\\\\"),         GN_LP_EBACKSLASH, S("\\\\") },
    /* 400 "missing tag value" */
    { S(""),             GN_LP_EEMPTY, S("") },
    /* the newline ends the line: 400 "partial write ... missing fields";
     * with a crafted value it would inject a second point */
    { S("a\nb"),         GN_LP_ECTRL, S("a\nb") },
    /* stored as is, refused as control characters anyway */
    { S("a\tb"),         GN_LP_ECTRL, S("a\tb") },
    { S("a\rb"),         GN_LP_ECTRL, S("a\rb") },
    /* stored, but read back as "a\ufffdb": lossy */
    { S("a\xff" "b"),    GN_LP_EUTF8, S("a\xff" "b") },
};


/* measurements: the server unescapes names twice, so backslashes are
 * refused; stored == in for the accepted ones */

static const lp_case_t  verified_measurements[] = {
    { S("a,b"),          0, S("a\\,b") },
    { S("a b"),          0, S("a\\ b") },
    { S("a=b"),          0, S("a=b") },
    { S(","),            0, S("\\,") },
    { S(" "),            0, S("\\ ") },
    { S("="),            0, S("=") },
    { S("=a"),           0, S("=a") },
    { S(" lead"),        0, S("\\ lead") },    /* unescaped: trimmed */
    { S("trail "),       0, S("trail\\ ") },
    { S("\"q\""),        0, S("\"q\"") },
    { S("a\"b"),         0, S("a\"b") },
    { S("time"),         0, S("time") },
    { S("\xc3\xa9"),     0, S("\xc3\xa9") },
    { S("sensor_readings"), 0, S("sensor_readings") },

    /* "a\\,b" -> stored "a,b"; "a\\\\,b" -> "a\\,b"; "a\\=b" -> "a=b" */
    { S("a\\,b"),        GN_LP_EBACKSLASH, S("a\\\\,b") },
    { S("a\\\\,b"),      GN_LP_EBACKSLASH, S("a\\\\\\,b") },
    { S("a\\=b"),        GN_LP_EBACKSLASH, S("a\\=b") },
    { S("\\ "),          GN_LP_EBACKSLASH, S("\\\\ ") },
    /* stored as is, but refused with the rest */
    { S("a\\b"),         GN_LP_EBACKSLASH, S("a\\b") },
    /* 204 and nothing stored: the line is a comment */
    { S("#x"),           GN_LP_ECOMMENT, S("#x") },
    { S("a\\"),          GN_LP_EBACKSLASH, S("a\\") },
    /* 400 "missing measurement" */
    { S(""),             GN_LP_EEMPTY, S("") },
    { S("a\nb"),         GN_LP_ECTRL, S("a\nb") },
};


/* string field values, inside the quotes: stored == in */

static const lp_case_t  verified_strings[] = {
    { S("a,b"),          0, S("a,b") },
    { S("a b"),          0, S("a b") },
    { S("a=b"),          0, S("a=b") },
    { S("a\\b"),         0, S("a\\\\b") },
    { S("a\\,b"),        0, S("a\\\\,b") },
    { S("\\\\"),         0, S("\\\\\\\\") },
    { S("a\\"),          0, S("a\\\\") },
    { S("a\\\\"),        0, S("a\\\\\\\\") },
    { S("\"q\""),        0, S("\\\"q\\\"") },
    { S("a\"b"),         0, S("a\\\"b") },
    { S("{\"k\":1}"),    0, S("{\\\"k\\\":1}") },
    { S("x\\\\\\ y"),    0, S("x\\\\\\\\\\\\ y") },
    { S("a\nb"),         0, S("a\nb") },
    { S("a\tb"),         0, S("a\tb") },
    { S("a\rb"),         0, S("a\rb") },
    { S(""),             0, S("") },
    { S("#x"),           0, S("#x") },
    { S("\xf0\x9f\x98\x80"), 0, S("\xf0\x9f\x98\x80") },
    /* stored, read back as "a\ufffdb" */
    { S("a\xff" "b"),    GN_LP_EUTF8, S("a\xff" "b") },
};


typedef size_t (*len_pt)(const char *s, size_t len);
typedef char *(*esc_pt)(char *dst, const char *s, size_t len);
typedef int (*check_pt)(const char *s, size_t len);


static void
run_table(const char *name, const lp_case_t *t, size_t n, check_pt check,
    len_pt len, esc_pt esc)
{
    size_t  i, l;
    char   *out, *end;
    int     rc;

    for (i = 0; i < n; i++) {
        rc = check(t[i].in, t[i].in_len);
        GN_CHECK_MSG(rc == t[i].rc, "%s #%zu: rc %d, want %d", name, i, rc,
                     t[i].rc);

        l = len(t[i].in, t[i].in_len);
        out = malloc(l + 1);
        end = esc(out, t[i].in, t[i].in_len);

        GN_CHECK_INT(end - out, l);
        GN_CHECK_MEM(out, (size_t) (end - out), t[i].esc, t[i].esc_len);

        free(out);
    }
}


/* the model agrees with the server on the verified tables */

static void
test_models(void)
{
    char    buf[64];
    size_t  i;
    long    n;

    for (i = 0; i < sizeof(verified_tags) / sizeof(verified_tags[0]); i++) {
        if (verified_tags[i].rc != 0) {
            continue;
        }
        n = ref_lp_tag(verified_tags[i].esc, verified_tags[i].esc_len, buf);
        GN_CHECK_MEM(buf, (size_t) (n < 0 ? 0 : n), verified_tags[i].in,
                     verified_tags[i].in_len);
    }

    /* trailing backslash: the model sees no end */
    GN_CHECK_INT(ref_lp_tag("a\\", 2, buf), -1);

    for (i = 0; i < sizeof(verified_strings) / sizeof(verified_strings[0]);
         i++)
    {
        n = ref_lp_string(verified_strings[i].esc,
                          verified_strings[i].esc_len, buf);
        GN_CHECK_MEM(buf, (size_t) (n < 0 ? 0 : n), verified_strings[i].in,
                     verified_strings[i].in_len);
    }

    GN_CHECK_INT(ref_lp_string("a\\", 2, buf), -1);
    GN_CHECK_INT(ref_lp_string("a\"", 2, buf), -1);
}


/* every string over a small hostile alphabet, up to 6 bytes: what the
 * check accepts escapes to something the server model reads back as is */

static void
test_alphabet(void)
{
    static const char  alpha[] = { 'a', '\\', ',', ' ', '=', '"', '#' };
    char               in[8], out[32], back[32];
    size_t             len, i, k, total, n;
    long               m;
    int                fails = gn_test_failures;

    for (len = 0; len <= 6; len++) {
        total = 1;
        for (i = 0; i < len; i++) {
            total *= sizeof(alpha);
        }

        for (k = 0; k < total; k++) {
            size_t  x = k;

            for (i = 0; i < len; i++) {
                in[i] = alpha[x % sizeof(alpha)];
                x /= sizeof(alpha);
            }

            /* tags */
            n = (size_t) (gn_lp_escape_tag(out, in, len) - out);
            if (n != gn_lp_escape_tag_len(in, len)) {
                GN_CHECK_MSG(0, "tag len %.*s", (int) len, in);
            }

            if (gn_lp_check_tag(in, len) == 0) {
                m = ref_lp_tag(out, n, back);
                if (m != (long) len || memcmp(back, in, len) != 0) {
                    GN_CHECK_MSG(0, "tag round trip \"%.*s\"", (int) len, in);
                }
            } else if (len > 0 && in[len - 1] != '\\') {
                GN_CHECK_MSG(0, "tag refused \"%.*s\"", (int) len, in);
            }

            /* measurements: no backslash reaches the server, so the
             * double unescape is the single one */
            n = (size_t) (gn_lp_escape_measurement(out, in, len) - out);
            if (n != gn_lp_escape_measurement_len(in, len)) {
                GN_CHECK_MSG(0, "measurement len %.*s", (int) len, in);
            }

            if (gn_lp_check_measurement(in, len) == 0) {
                if (memchr(in, '\\', len) || in[0] == '#') {
                    GN_CHECK_MSG(0, "measurement \"%.*s\"", (int) len, in);
                }
                for (i = 0; i < n; i++) {
                    if ((out[i] == ',' || out[i] == ' ')
                        && (i == 0 || out[i - 1] != '\\'))
                    {
                        GN_CHECK_MSG(0, "measurement \"%.*s\"", (int) len, in);
                    }
                }
            }

            /* strings: always accepted here (ASCII) */
            n = (size_t) (gn_lp_escape_string(out, in, len) - out);
            if (n != gn_lp_escape_string_len(in, len)) {
                GN_CHECK_MSG(0, "string len %.*s", (int) len, in);
            }

            m = ref_lp_string(out, n, back);
            if (gn_lp_check_string(in, len) != 0
                || m != (long) len || memcmp(back, in, len) != 0)
            {
                GN_CHECK_MSG(0, "string round trip \"%.*s\"", (int) len, in);
            }

            if (gn_test_failures > fails + 20) {
                return;
            }
        }
    }
}


static void
test_checks(void)
{
    char  ctl[2] = { 'a', 0 };
    int   c;

    GN_CHECK_INT(gn_lp_check_tag(NULL, 0), GN_LP_EEMPTY);
    GN_CHECK_INT(gn_lp_check_key(NULL, 0), GN_LP_EEMPTY);
    GN_CHECK_INT(gn_lp_check_measurement(NULL, 0), GN_LP_EEMPTY);
    GN_CHECK_INT(gn_lp_check_string(NULL, 0), 0);
    GN_CHECK_INT(gn_lp_escape_tag_len(NULL, 0), 0);
    GN_CHECK_INT(gn_lp_escape_string_len(NULL, 0), 0);
    GN_CHECK_INT(gn_lp_escape_measurement_len(NULL, 0), 0);

    /* every control character, and DEL, in every position kind */
    for (c = 0; c < 256; c++) {
        ctl[1] = (char) c;

        if (c < 0x20 || c == 0x7f) {
            GN_CHECK_MSG(gn_lp_check_tag(ctl, 2) == GN_LP_ECTRL, "0x%02x", c);
            GN_CHECK_MSG(gn_lp_check_tag(ctl + 1, 1) == GN_LP_ECTRL, "%d", c);
            GN_CHECK_MSG(gn_lp_check_key(ctl, 2) == GN_LP_ECTRL, "%d", c);
            GN_CHECK_MSG(gn_lp_check_measurement(ctl, 2) == GN_LP_ECTRL,
                         "%d", c);
        } else if (c >= 0x80) {
            GN_CHECK_MSG(gn_lp_check_tag(ctl, 2) == GN_LP_EUTF8, "%d", c);
            GN_CHECK_MSG(gn_lp_check_string(ctl, 2) == GN_LP_EUTF8, "%d", c);
        } else if (c == '\\') {
            GN_CHECK(gn_lp_check_tag(ctl, 2) == GN_LP_EBACKSLASH);
        } else {
            GN_CHECK_MSG(gn_lp_check_tag(ctl, 2) == 0, "0x%02x", c);
            GN_CHECK_MSG(gn_lp_check_string(ctl, 2) == 0, "0x%02x", c);
        }
    }

    /* a NUL is a control character even with a valid rest */
    GN_CHECK_INT(gn_lp_check_tag("ab\0cd", 5), GN_LP_ECTRL);
    GN_CHECK_INT(gn_lp_check_string("ab\0cd", 5), 0);

    /* "time" is refused as a key (400 "invalid tag key"/"invalid field
     * name"), fine as a tag value or measurement */
    GN_CHECK_INT(gn_lp_check_key(S("time")), GN_LP_ERESERVED);
    GN_CHECK_INT(gn_lp_check_key(S("Time")), 0);
    GN_CHECK_INT(gn_lp_check_key(S("times")), 0);
    GN_CHECK_INT(gn_lp_check_key(S("tim")), 0);
    GN_CHECK_INT(gn_lp_check_tag(S("time")), 0);
    GN_CHECK_INT(gn_lp_check_key(S("machine_id")), 0);

    /* a trailing backslash is refused whatever precedes it; a leading
     * one is fine */
    GN_CHECK_INT(gn_lp_check_tag(S("\\")), GN_LP_EBACKSLASH);
    GN_CHECK_INT(gn_lp_check_tag(S("\\a")), 0);
    GN_CHECK_INT(gn_lp_check_tag(S("a\\\\\\")), GN_LP_EBACKSLASH);

    /* invalid UTF-8 of all kinds; valid multibyte is fine */
    GN_CHECK_INT(gn_lp_check_tag(S("\xc0\x80")), GN_LP_EUTF8);
    GN_CHECK_INT(gn_lp_check_tag(S("\xed\xa0\x80")), GN_LP_EUTF8);
    GN_CHECK_INT(gn_lp_check_tag(S("\xe2\x82")), GN_LP_EUTF8);
    GN_CHECK_INT(gn_lp_check_tag(S("\xf4\x90\x80\x80")), GN_LP_EUTF8);
    GN_CHECK_INT(gn_lp_check_tag(S("Halle \xc3\xa9st \xe2\x82\xac")), 0);

    GN_CHECK_INT(gn_lp_check_measurement(S("#")), GN_LP_ECOMMENT);
    GN_CHECK_INT(gn_lp_check_measurement(S("a#")), 0);

    GN_CHECK_INT(gn_lp_check_double(0.0), 0);
    GN_CHECK_INT(gn_lp_check_double(-1e308), 0);
    GN_CHECK_INT(gn_lp_check_double(NAN), GN_LP_ENONFINITE);
    GN_CHECK_INT(gn_lp_check_double(-NAN), GN_LP_ENONFINITE);
    GN_CHECK_INT(gn_lp_check_double(INFINITY), GN_LP_ENONFINITE);
    GN_CHECK_INT(gn_lp_check_double(-INFINITY), GN_LP_ENONFINITE);

    /* verified: "k5,t=" + 65525 bytes + " f=1" stored, one byte more
     * refused with "max key length exceeded: 65536 > 65535" */
    GN_CHECK_INT(gn_lp_check_key_len(5 + 65525, 1), 0);
    GN_CHECK_INT(gn_lp_check_key_len(5 + 65526, 1), GN_LP_ETOOLONG);
    GN_CHECK_INT(gn_lp_check_key_len(65531, 0), 0);
    GN_CHECK_INT(gn_lp_check_key_len(0, 65531), 0);
    GN_CHECK_INT(gn_lp_check_key_len(0, 65532), GN_LP_ETOOLONG);
    GN_CHECK_INT(gn_lp_check_key_len((size_t) -1, 1), GN_LP_ETOOLONG);
    GN_CHECK_INT(gn_lp_check_key_len(1, (size_t) -1), GN_LP_ETOOLONG);
    GN_CHECK_INT(gn_lp_check_key_len((size_t) -1, (size_t) -1),
                 GN_LP_ETOOLONG);

    for (c = GN_LP_ETOOLONG; c <= 0; c++) {
        GN_CHECK(gn_lp_strerror(c) != NULL && *gn_lp_strerror(c) != '\0');
    }
    GN_CHECK(gn_lp_strerror(1) != NULL);
    GN_CHECK(gn_lp_strerror(-100) != NULL);
    GN_CHECK(strcmp(gn_lp_strerror(GN_LP_EBACKSLASH),
                    "must not end with a backslash") == 0);
}


/* float values; the stored column is what InfluxDB 1.6.7 returned for the
 * formatted text (JSON of the query answer) */

static void
test_double(void)
{
    static const struct {
        double       v;
        const char  *out;
    } verified[] = {
        { 0.1, "0.1" },                                     /* 0.1 */
        { 25.5, "25.5" },                                   /* 25.5 */
        { 100.0, "100" },                                   /* 100 */
        { -1.5e-07, "-1.5e-07" },                           /* -1.5e-7 */
        { 1e300, "1e+300" },                                /* 1e+300 */
        { 1e21, "1e+21" },                                  /* 1e+21 */
        { 1e-5, "1e-05" },                                  /* 1e-05 */
        { -273.15, "-273.15" },
        { 1013.25, "1013.25" },
        { 0.30000000000000004, "0.30000000000000004" },
        { 1.0 / 3.0, "0.3333333333333333" },
        { 1.7976931348623157e308, "1.7976931348623157e+308" },
        { 2.2250738585072014e-308, "2.2250738585072014e-308" },
        { 123456789012345680.0, "1.2345678901234568e+17" },
        { 5e-324, "4.94065645841247e-324" },                /* 5e-324 */
        { -0.0, "-0" },                                     /* -0 */
        { 0.0, "0" },
    };

    char     buf[GN_LP_DOUBLE_MAX], *end;
    size_t   i;
    double   v;
    uint64_t st = 7, bits;
    int      k;

    for (i = 0; i < sizeof(verified) / sizeof(verified[0]); i++) {
        end = gn_lp_format_double(buf, verified[i].v);
        GN_CHECK_STR(buf, (size_t) (end - buf), verified[i].out);
        GN_CHECK(*end == '\0');
    }

    end = gn_lp_format_double(buf, NAN);
    GN_CHECK(end == buf && *buf == '\0');
    end = gn_lp_format_double(buf, -INFINITY);
    GN_CHECK(end == buf);

    /* random bit patterns: finite ones round-trip exactly, in <= 24
     * bytes, with only the characters line protocol takes for a float */
    for (k = 0; k < 300000; k++) {
        st = st * 6364136223846793005ULL + 1442695040888963407ULL;
        bits = st;
        memcpy(&v, &bits, sizeof(v));

        if (!isfinite(v)) {
            continue;
        }

        end = gn_lp_format_double(buf, v);

        if (strtod(buf, NULL) != v || end - buf > 24
            || strspn(buf, "0123456789.e+-") != (size_t) (end - buf)
            || signbit(strtod(buf, NULL)) != signbit(v))
        {
            GN_CHECK_MSG(0, "%a -> %s", v, buf);
        }
    }
}


/* a whole point, as the ingest path would build it; verified: stored as
 * tags {location: "Hall 1, Bay=3", machine_id: ..., sensor_type:
 * "temperature"}, temperature 25.5, note "say \"hi\" C:\\", time
 * 2024-01-15T10:30:00Z */

static void
test_line(void)
{
    static const char  want[] =
        "sensor_readings,location=Hall\\ 1\\,\\ Bay\\=3,"
        "machine_id=6f1c2a9e-0d4b-4c1e-9a53-2b7f8e1d4c60,"
        "sensor_type=temperature temperature=25.5,note=\"say \\\"hi\\\" "
        "C:\\\\\" 1705314600000000000";

    char    line[512], *p;

    p = line;
    p = gn_lp_escape_measurement(p, S("sensor_readings"));
    p = (char *) memcpy(p, ",location=", 10) + 10;
    p = gn_lp_escape_tag(p, S("Hall 1, Bay=3"));
    p = (char *) memcpy(p, ",machine_id=", 12) + 12;
    p = gn_lp_escape_tag(p, S("6f1c2a9e-0d4b-4c1e-9a53-2b7f8e1d4c60"));
    p = (char *) memcpy(p, ",sensor_type=", 13) + 13;
    p = gn_lp_escape_tag(p, S("temperature"));
    *p++ = ' ';
    p = gn_lp_escape_field_key(p, S("temperature"));
    *p++ = '=';
    p = gn_lp_format_double(p, 25.5);
    p = (char *) memcpy(p, ",note=\"", 7) + 7;
    p = gn_lp_escape_string(p, S("say \"hi\" C:\\"));
    p = (char *) memcpy(p, "\" 1705314600000000000", 21) + 21;

    GN_CHECK_STR(line, (size_t) (p - line), want);
}


static void
test_huge(void)
{
    size_t   n = 1 << 20;
    char    *in, *out;

    in = malloc(n);
    memset(in, ',', n);
    GN_CHECK_INT(gn_lp_escape_tag_len(in, n), 2 * n);
    out = malloc(2 * n);
    GN_CHECK(gn_lp_escape_tag(out, in, n) == out + 2 * n);
    GN_CHECK_INT(gn_lp_check_tag(in, n), 0);

    memset(in, '"', n);
    GN_CHECK_INT(gn_lp_escape_string_len(in, n), 2 * n);
    GN_CHECK(gn_lp_escape_string(out, in, n) == out + 2 * n);

    free(out);
    free(in);
}


int
main(void)
{
    run_table("tag", verified_tags,
              sizeof(verified_tags) / sizeof(verified_tags[0]),
              gn_lp_check_tag, gn_lp_escape_tag_len, gn_lp_escape_tag);

    /* tag keys and field keys follow the same rules (verified with the
     * same inputs), except for "time" */
    run_table("key", verified_tags,
              sizeof(verified_tags) / sizeof(verified_tags[0]),
              gn_lp_check_key, gn_lp_escape_field_key_len,
              gn_lp_escape_field_key);

    run_table("measurement", verified_measurements,
              sizeof(verified_measurements) / sizeof(verified_measurements[0]),
              gn_lp_check_measurement, gn_lp_escape_measurement_len,
              gn_lp_escape_measurement);

    run_table("string", verified_strings,
              sizeof(verified_strings) / sizeof(verified_strings[0]),
              gn_lp_check_string, gn_lp_escape_string_len,
              gn_lp_escape_string);

    test_models();
    test_alphabet();
    test_checks();
    test_double();
    test_line();
    test_huge();

    GN_TEST_DONE();
}
