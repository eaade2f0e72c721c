/*
 * Gonsters common: the answer of InfluxDB 1.x's /query (JSON, epoch=ns),
 * read without building a tree:
 *
 *     {"results":[{"statement_id":0,"series":[{"name":"...",
 *        "columns":["time","a","b"],"values":[[1700000000000000000,1.5,null],
 *        ...]}]},{"statement_id":1,"error":"..."}]}
 *
 * gn_influx_scan() checks the whole text once (strict JSON, nesting at
 * most GN_INFLUX_MAX_DEPTH) and describes the first series of each
 * statement; gn_influx_rows() then reads its rows: the time of each row as
 * an integer (checked to fit int64_t by the scan) and every other value
 * as the span of its number text in the answer (no strtod), so that the
 * history endpoint copies numbers to its answer as InfluxDB wrote them.
 * Values that are not numbers (null, strings, booleans) are null.
 */

#ifndef GN_INFLUX_H
#define GN_INFLUX_H

#include <stddef.h>
#include <stdint.h>


#define GN_INFLUX_MAX_DEPTH  32

/* the room gn_influx_number() needs (as gn_lp_format_double()) */
#define GN_INFLUX_NUMBER_MAX  32


/* a value of a row: the text of a JSON number, or len 0 for null */
typedef struct {
    const char           *p;
    size_t                len;
} gn_influx_value_t;


/* one statement of the answer */
typedef struct {
    const char           *error;       /* its "error" (the JSON string's
                                          content, escapes kept), or NULL */
    size_t                error_len;
    size_t                ncols;       /* columns of its first series, the
                                          time first; 0: no series */
    size_t                nrows;
    const char           *values;      /* that series' "values" array */
    size_t                values_len;
} gn_influx_result_t;


typedef struct {
    size_t                nresults;    /* statements in the answer (may
                                          exceed the n described) */
    const char           *error;       /* a top-level "error", or NULL */
    size_t                error_len;
    const char           *invalid;     /* why the text was refused */
} gn_influx_answer_t;


/*
 * Scans text[0..len) and describes its first n statements in res[] (the
 * others are checked and counted only).  0, or -1 with ans->invalid when
 * the text is not such an answer: not JSON, a series without "columns" or
 * "values", a row whose length differs from the columns', a row time that
 * is not an integer of int64_t.  The descriptions point into text.
 */
int gn_influx_scan(const char *text, size_t len, gn_influx_answer_t *ans,
    gn_influx_result_t *res, size_t n);

/*
 * The rows of a result described by gn_influx_scan(), in order: time[i],
 * and values[i * (ncols - 1) + c - 1] for column c >= 1.  The arrays hold
 * nrows and nrows * (ncols - 1) elements.  0, or -1 if res was not
 * described by gn_influx_scan() of an unchanged text.
 */
int gn_influx_rows(const gn_influx_result_t *res, int64_t *time,
    gn_influx_value_t *values);

/*
 * Writes the number num[0..len) (JSON number syntax, as the scan checked
 * it) the way gn_lp_format_double() writes its value: InfluxDB's own text
 * when it is already that form (a plain decimal of magnitude 1e-4 .. 1e15,
 * or 0, as InfluxDB writes the shortest form that reads back), else the
 * value read with strtod and formatted.  dst must hold
 * GN_INFLUX_NUMBER_MAX bytes (a NUL may follow the end).  Returns the end,
 * or NULL, writing nothing, for null (len 0) and for numbers beyond the
 * range of a double (JSON has no infinity).
 */
char *gn_influx_number(char *dst, const char *num, size_t len);

/* the value of num[0..len) (a JSON number); NaN for null */
double gn_influx_double(const char *num, size_t len);


#endif /* GN_INFLUX_H */
