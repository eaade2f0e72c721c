/*
 * Gonsters common: InfluxDB /query answers without a JSON tree (see
 * gn_influx.h).  A cursor walks the text; objects and arrays call a
 * function per member or element, everything not needed is checked and
 * skipped.
 */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gn_influx.h"
#include "gn_lineproto.h"


typedef struct {
    const char           *p;
    const char           *end;
    const char           *invalid;
} gn_cur_t;

typedef int (*gn_member_pt)(gn_cur_t *c, const char *key, size_t len,
    int depth, void *arg);
typedef int (*gn_element_pt)(gn_cur_t *c, size_t i, int depth, void *arg);


/* a series being read: the scan checks, gn_influx_rows() fills */
typedef struct {
    size_t                ncols;
    size_t                nrows;       /* scanned (the limit when filling) */
    size_t                read;        /* rows read */
    size_t                row;
    size_t                cells;
    const char           *values;
    size_t                values_len;
    unsigned              has_columns:1;
    unsigned              has_values:1;
    int64_t              *time;        /* NULL while scanning */
    gn_influx_value_t    *out;
} gn_series_t;

typedef struct {
    gn_influx_result_t   *r;
    unsigned              has_series:1;
    unsigned              has_error:1;
} gn_result_t;

typedef struct {
    gn_influx_answer_t   *ans;
    gn_influx_result_t   *res;
    size_t                n;
    unsigned              has_results:1;
    unsigned              has_error:1;
} gn_scan_t;


_Static_assert(GN_INFLUX_NUMBER_MAX >= GN_LP_DOUBLE_MAX,
               "gn_influx_number() writes through gn_lp_format_double()");


#define gn_digit(ch)  ((ch) >= '0' && (ch) <= '9')
#define gn_key(k, s, n)  ((n) == sizeof(k) - 1 && memcmp(s, k, n) == 0)


static int gn_skip(gn_cur_t *c, int depth);


static int
gn_fail(gn_cur_t *c, const char *why)
{
    if (c->invalid == NULL) {
        c->invalid = why;
    }

    return -1;
}


static int
gn_peek(gn_cur_t *c)
{
    while (c->p < c->end
           && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n'
               || *c->p == '\r'))
    {
        c->p++;
    }

    return c->p < c->end ? (unsigned char) *c->p : -1;
}


static int
gn_accept(gn_cur_t *c, char ch)
{
    if (gn_peek(c) != (unsigned char) ch) {
        return 0;
    }

    c->p++;
    return 1;
}


static int
gn_hex(int ch)
{
    return gn_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}


/* the content of a string, escapes kept (checked) */
static int
gn_string(gn_cur_t *c, const char **s, size_t *len)
{
    int          i;
    const char  *start;

    if (gn_peek(c) != '"') {
        return gn_fail(c, "a string was expected");
    }

    start = ++c->p;

    while (c->p < c->end) {

        if (*c->p == '"') {
            *s = start;
            *len = c->p - start;
            c->p++;
            return 0;
        }

        if ((unsigned char) *c->p < 0x20) {
            return gn_fail(c, "a control character in a string");
        }

        if (*c->p != '\\') {
            c->p++;
            continue;
        }

        if (c->end - c->p < 2) {
            break;
        }

        switch (c->p[1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r':
        case 't':
            c->p += 2;
            continue;

        case 'u':
            for (i = 2; i < 6; i++) {
                if (c->end - c->p <= i || !gn_hex((unsigned char) c->p[i])) {
                    return gn_fail(c, "a bad \\u escape in a string");
                }
            }
            c->p += 6;
            continue;

        default:
            return gn_fail(c, "a bad escape in a string");
        }
    }

    return gn_fail(c, "an unterminated string");
}


/* JSON's number syntax: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int
gn_number(gn_cur_t *c, const char **s, size_t *len)
{
    const char  *p, *end;

    gn_peek(c);
    p = c->p;
    end = c->end;

    if (p < end && *p == '-') {
        p++;
    }

    if (p == end || !gn_digit(*p)) {
        return gn_fail(c, "a value was expected");
    }

    if (*p == '0') {
        p++;

    } else {
        while (p < end && gn_digit(*p)) {
            p++;
        }
    }

    if (p < end && *p == '.') {
        p++;
        if (p == end || !gn_digit(*p)) {
            return gn_fail(c, "a bad number");
        }
        while (p < end && gn_digit(*p)) {
            p++;
        }
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }
        if (p == end || !gn_digit(*p)) {
            return gn_fail(c, "a bad number");
        }
        while (p < end && gn_digit(*p)) {
            p++;
        }
    }

    *s = c->p;
    *len = p - c->p;
    c->p = p;

    return 0;
}


static int
gn_literal(gn_cur_t *c)
{
    static const char *const  words[] = { "true", "false", "null" };
    size_t                    i, n;

    for (i = 0; i < 3; i++) {
        n = strlen(words[i]);
        if ((size_t) (c->end - c->p) >= n && memcmp(c->p, words[i], n) == 0) {
            c->p += n;
            return 0;
        }
    }

    return gn_fail(c, "a value was expected");
}


static int
gn_object(gn_cur_t *c, int depth, gn_member_pt member, void *arg)
{
    size_t       len;
    const char  *key;

    if (depth > GN_INFLUX_MAX_DEPTH) {
        return gn_fail(c, "nested too deep");
    }

    if (!gn_accept(c, '{')) {
        return gn_fail(c, "an object was expected");
    }

    if (gn_accept(c, '}')) {
        return 0;
    }

    do {
        if (gn_string(c, &key, &len) != 0) {
            return -1;
        }

        if (!gn_accept(c, ':')) {
            return gn_fail(c, "':' was expected");
        }

        if (member(c, key, len, depth, arg) != 0) {
            return -1;
        }

    } while (gn_accept(c, ','));

    return gn_accept(c, '}') ? 0 : gn_fail(c, "',' or '}' was expected");
}


static int
gn_array(gn_cur_t *c, int depth, gn_element_pt element, void *arg)
{
    size_t  i;

    if (depth > GN_INFLUX_MAX_DEPTH) {
        return gn_fail(c, "nested too deep");
    }

    if (!gn_accept(c, '[')) {
        return gn_fail(c, "an array was expected");
    }

    if (gn_accept(c, ']')) {
        return 0;
    }

    i = 0;

    do {
        if (element(c, i++, depth, arg) != 0) {
            return -1;
        }

    } while (gn_accept(c, ','));

    return gn_accept(c, ']') ? 0 : gn_fail(c, "',' or ']' was expected");
}


static int
gn_skip_member(gn_cur_t *c, const char *key, size_t len, int depth, void *arg)
{
    (void) key;
    (void) len;
    (void) arg;

    return gn_skip(c, depth + 1);
}


static int
gn_skip_element(gn_cur_t *c, size_t i, int depth, void *arg)
{
    (void) i;
    (void) arg;

    return gn_skip(c, depth + 1);
}


/* any value */
static int
gn_skip(gn_cur_t *c, int depth)
{
    size_t       len;
    const char  *s;

    switch (gn_peek(c)) {
    case '{':
        return gn_object(c, depth, gn_skip_member, NULL);
    case '[':
        return gn_array(c, depth, gn_skip_element, NULL);
    case '"':
        return gn_string(c, &s, &len);
    case 't': case 'f': case 'n':
        return gn_literal(c);
    default:
        return gn_number(c, &s, &len);
    }
}


/* an integer of int64_t (the number syntax is checked) */
static int
gn_integer(const char *s, size_t len, int64_t *v)
{
    int       neg;
    size_t    i;
    uint64_t  u;

    neg = (*s == '-');
    s += neg;
    len -= neg;

    if (len == 0 || len > 19) {
        return -1;
    }

    u = 0;

    for (i = 0; i < len; i++) {
        if (!gn_digit(s[i])) {
            return -1;
        }
        u = u * 10 + (uint64_t) (s[i] - '0');
    }

    if (u > (uint64_t) INT64_MAX + neg) {
        return -1;
    }

    *v = neg ? (int64_t) (0 - u) : (int64_t) u;

    return 0;
}


/* ---- a series ----------------------------------------------------------- */

static int
gn_cell(gn_cur_t *c, size_t i, int depth, void *arg)
{
    gn_series_t  *se = arg;

    int64_t             t;
    size_t              len;
    const char         *s;
    gn_influx_value_t  *v;
    int                 ch;

    se->cells = i + 1;
    ch = gn_peek(c);

    if (i == 0) {
        if (gn_number(c, &s, &len) != 0 || gn_integer(s, len, &t) != 0) {
            return gn_fail(c, "a row's time is not an integer");
        }

        if (se->time) {
            se->time[se->row] = t;
        }

        return 0;
    }

    v = (se->out && i < se->ncols)
        ? &se->out[se->row * (se->ncols - 1) + i - 1] : NULL;

    if (ch == '-' || gn_digit(ch)) {
        if (gn_number(c, &s, &len) != 0) {
            return -1;
        }

        if (v) {
            v->p = s;
            v->len = len;
        }

        return 0;
    }

    if (ch == '[' || ch == '{') {
        return gn_fail(c, "a value in a row is not a number or null");
    }

    if (v) {
        v->p = NULL;
        v->len = 0;
    }

    return gn_skip(c, depth + 1);
}


static int
gn_row(gn_cur_t *c, size_t i, int depth, void *arg)
{
    gn_series_t  *se = arg;

    if (se->time && i >= se->nrows) {
        return gn_fail(c, "more rows than scanned");
    }

    se->row = i;
    se->cells = 0;

    if (gn_array(c, depth + 1, gn_cell, se) != 0) {
        return -1;
    }

    if (se->cells == 0) {
        return gn_fail(c, "a row without a time");
    }

    /* the scan takes the first row's length; columns are checked after */
    if (i == 0 && se->time == NULL) {
        se->ncols = se->has_columns ? se->ncols : se->cells;
    }

    if (se->cells != se->ncols) {
        return gn_fail(c, "a row's length differs from the columns'");
    }

    se->read = i + 1;

    return 0;
}


static int
gn_column(gn_cur_t *c, size_t i, int depth, void *arg)
{
    size_t       *n = arg;
    size_t        len;
    const char   *s;

    (void) depth;

    *n = i + 1;

    return gn_string(c, &s, &len);
}


static int
gn_series_member(gn_cur_t *c, const char *key, size_t len, int depth,
    void *arg)
{
    gn_series_t  *se = arg;

    size_t        ncols;

    if (gn_key("columns", key, len)) {
        if (se->has_columns) {
            return gn_fail(c, "a series with two \"columns\"");
        }

        ncols = 0;
        if (gn_array(c, depth + 1, gn_column, &ncols) != 0) {
            return -1;
        }

        /* "values" came first: its rows must have this length */
        if (se->has_values && se->nrows && ncols != se->ncols) {
            return gn_fail(c, "a row's length differs from the columns'");
        }

        se->ncols = ncols;
        se->has_columns = 1;
        return 0;
    }

    if (gn_key("values", key, len)) {
        if (se->has_values) {
            return gn_fail(c, "a series with two \"values\"");
        }

        gn_peek(c);
        se->values = c->p;

        if (gn_array(c, depth + 1, gn_row, se) != 0) {
            return -1;
        }

        se->nrows = se->read;
        se->values_len = c->p - se->values;
        se->has_values = 1;
        return 0;
    }

    return gn_skip(c, depth + 1);
}


static int
gn_series(gn_cur_t *c, size_t i, int depth, void *arg)
{
    gn_influx_result_t  *r = arg;

    gn_series_t          se;

    if (i > 0) {
        /* only the first series is read (one machine, no GROUP BY tag) */
        return gn_skip(c, depth + 1);
    }

    memset(&se, 0, sizeof(gn_series_t));

    if (gn_object(c, depth + 1, gn_series_member, &se) != 0) {
        return -1;
    }

    if (!se.has_columns || !se.has_values || se.ncols == 0) {
        return gn_fail(c, "a series without \"columns\" or \"values\"");
    }

    r->ncols = se.ncols;
    r->nrows = se.nrows;
    r->values = se.values;
    r->values_len = se.values_len;

    return 0;
}


/* ---- the answer ----------------------------------------------------------- */

static int
gn_result_member(gn_cur_t *c, const char *key, size_t len, int depth,
    void *arg)
{
    gn_result_t  *rs = arg;

    if (gn_key("series", key, len)) {
        if (rs->has_series) {
            return gn_fail(c, "a result with two \"series\"");
        }

        rs->has_series = 1;
        return gn_array(c, depth + 1, gn_series, rs->r);
    }

    if (gn_key("error", key, len)) {
        if (rs->has_error) {
            return gn_fail(c, "a result with two \"error\"");
        }

        rs->has_error = 1;
        return gn_string(c, &rs->r->error, &rs->r->error_len);
    }

    return gn_skip(c, depth + 1);
}


static int
gn_result(gn_cur_t *c, size_t i, int depth, void *arg)
{
    gn_scan_t  *sc = arg;

    gn_result_t         rs;
    gn_influx_result_t  scratch;

    rs.r = (i < sc->n) ? &sc->res[i] : &scratch;
    rs.has_series = 0;
    rs.has_error = 0;
    memset(rs.r, 0, sizeof(gn_influx_result_t));

    sc->ans->nresults = i + 1;

    return gn_object(c, depth + 1, gn_result_member, &rs);
}


static int
gn_top_member(gn_cur_t *c, const char *key, size_t len, int depth, void *arg)
{
    gn_scan_t  *sc = arg;

    if (gn_key("results", key, len)) {
        if (sc->has_results) {
            return gn_fail(c, "two \"results\"");
        }

        sc->has_results = 1;
        return gn_array(c, depth + 1, gn_result, sc);
    }

    if (gn_key("error", key, len)) {
        if (sc->has_error) {
            return gn_fail(c, "two \"error\"");
        }

        sc->has_error = 1;
        return gn_string(c, &sc->ans->error, &sc->ans->error_len);
    }

    return gn_skip(c, depth + 1);
}


int
gn_influx_scan(const char *text, size_t len, gn_influx_answer_t *ans,
    gn_influx_result_t *res, size_t n)
{
    gn_cur_t   c;
    gn_scan_t  sc;

    memset(ans, 0, sizeof(gn_influx_answer_t));

    c.p = text;
    c.end = text + len;
    c.invalid = NULL;

    sc.ans = ans;
    sc.res = res;
    sc.n = n;
    sc.has_results = 0;
    sc.has_error = 0;

    if (gn_object(&c, 0, gn_top_member, &sc) != 0) {
        ans->invalid = c.invalid;
        return -1;
    }

    if (gn_peek(&c) != -1) {
        ans->invalid = "text after the answer";
        return -1;
    }

    if (!sc.has_results && !sc.has_error) {
        ans->invalid = "neither \"results\" nor \"error\"";
        return -1;
    }

    return 0;
}


int
gn_influx_rows(const gn_influx_result_t *res, int64_t *time,
    gn_influx_value_t *values)
{
    gn_cur_t     c;
    gn_series_t  se;

    if (res->ncols == 0 || res->nrows == 0) {
        return 0;
    }

    memset(&se, 0, sizeof(gn_series_t));
    se.ncols = res->ncols;
    se.nrows = res->nrows;
    se.has_columns = 1;
    se.time = time;
    se.out = values;

    c.p = res->values;
    c.end = res->values + res->values_len;
    c.invalid = NULL;

    if (gn_array(&c, 0, gn_row, &se) != 0 || se.read != res->nrows) {
        return -1;
    }

    return 0;
}


/* ---- numbers -------------------------------------------------------------- */

/*
 * Whether num is what gn_lp_format_double() writes for its value: a
 * plain decimal without trailing zeros, of magnitude 1e-4 .. 1e15 (%g's
 * fixed notation), or 0.  With at most 15 significant digits that holds
 * for any such text (DBL_DIG); with 16 or 17 it holds for the shortest
 * form that reads back, which is the one InfluxDB (Go's strconv) writes.
 */
static int
gn_influx_plain(const char *num, size_t len)
{
    size_t       zeros;
    const char  *p, *end, *ip, *fp;

    if (len >= GN_INFLUX_NUMBER_MAX) {
        return 0;
    }

    p = num;
    end = num + len;

    if (*p == '-') {
        p++;
    }

    for (ip = p; p < end && gn_digit(*p); p++) { /* void */ }

    if (p == ip || p - ip > 15 || (p - ip > 1 && *ip == '0')) {
        return 0;
    }

    if (p == end) {
        return 1;
    }

    if (*p++ != '.') {
        return 0;
    }

    for (fp = p; p < end && gn_digit(*p); p++) { /* void */ }

    if (p != end || p == fp || end[-1] == '0') {
        return 0;
    }

    if (*ip == '0') {
        for (zeros = 0; fp[zeros] == '0'; zeros++) { /* void */ }

        if (zeros > 3) {
            return 0;
        }
    }

    return 1;
}


double
gn_influx_double(const char *num, size_t len)
{
    char    buf[64], *s;
    double  v;

    if (len == 0) {
        return NAN;
    }

    s = (len < sizeof(buf)) ? buf : malloc(len + 1);
    if (s == NULL) {
        return NAN;
    }

    memcpy(s, num, len);
    s[len] = '\0';

    v = strtod(s, NULL);

    if (s != buf) {
        free(s);
    }

    return v;
}


char *
gn_influx_number(char *dst, const char *num, size_t len)
{
    double  v;

    if (len == 0) {
        return NULL;
    }

    if (gn_influx_plain(num, len)) {
        memcpy(dst, num, len);
        return dst + len;
    }

    v = gn_influx_double(num, len);

    if (!isfinite(v)) {
        return NULL;
    }

    return gn_lp_format_double(dst, v);
}
