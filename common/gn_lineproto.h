/*
 * Gonsters common: InfluxDB 1.x line protocol encoding.
 *
 * The rules below were verified against InfluxDB 1.6.7 (see
 * common/tests/test_lineproto.c for the recorded inputs and stored values):
 *
 *  - the parser treats ',', ' ' and '=' as escaped whenever the byte before
 *    them is a backslash, even if that backslash is itself "escaped"; it
 *    then replaces "\," "\ " "\=" and leaves every other backslash alone.
 *    So escaping just ',', ' ' and '=' round-trips any tag key, tag value
 *    and field key, backslashes included, EXCEPT a trailing backslash,
 *    which swallows the separator that follows: gn_lp_check_tag() refuses
 *    it.
 *  - measurement names are unescaped twice on the way back ("a\\\,b" is
 *    listed as "a\,b"), so no backslash survives reliably: refused.  A
 *    measurement starting with '#' makes the line a comment, answered 204
 *    and silently dropped: refused.
 *  - string field values: "\\" -> '\' and "\"" -> '"'; newline, CR and tab
 *    are stored as is inside the quotes.
 *  - the key "time" is refused by the server (tag key and field key).
 *  - invalid UTF-8 is stored but read back as U+FFFD: refused, so that
 *    what we store is what we read.
 *  - NaN and +-Inf floats are refused by the server.
 *  - a point is refused with "max key length exceeded: 65536 > 65535"
 *    when series key (measurement and tags as written) + 4 + field key
 *    exceeds 65535 bytes: gn_lp_check_key_len().
 */

#ifndef GN_LINEPROTO_H
#define GN_LINEPROTO_H

#include <stddef.h>


#define GN_LP_OK           0
#define GN_LP_EEMPTY      -1    /* empty name or tag value */
#define GN_LP_ECTRL       -2    /* control character (newline, CR, tab...) */
#define GN_LP_EBACKSLASH  -3    /* backslash that cannot round-trip */
#define GN_LP_EUTF8       -4    /* invalid UTF-8 */
#define GN_LP_ECOMMENT    -5    /* measurement starting with '#' */
#define GN_LP_ERESERVED   -6    /* key "time" */
#define GN_LP_ENONFINITE  -7    /* NaN or infinity */
#define GN_LP_ETOOLONG    -8    /* series key + field key over the limit */

/* InfluxDB 1.x storage key: series key, "#!~#", field key */
#define GN_LP_KEY_MAX     65535

/* gn_lp_format_double() never writes more than this (with room to spare) */
#define GN_LP_DOUBLE_MAX  32


/* Checks: GN_LP_OK or a negative GN_LP_E* code the caller can report. */

/* tag value: non-empty, no control character, no trailing backslash,
 * valid UTF-8 */
int gn_lp_check_tag(const char *s, size_t len);

/* tag key or field key: as gn_lp_check_tag(), and not "time" */
int gn_lp_check_key(const char *s, size_t len);

/* measurement: as gn_lp_check_tag(), no backslash at all, no leading '#' */
int gn_lp_check_measurement(const char *s, size_t len);

/* string field value: valid UTF-8 (may be empty, may hold newlines) */
int gn_lp_check_string(const char *s, size_t len);

/* float field value: finite */
int gn_lp_check_double(double v);

/* series_len: the escaped "measurement,k=v,..." as written; field_key_len:
 * the longest escaped field key of the point */
int gn_lp_check_key_len(size_t series_len, size_t field_key_len);

const char *gn_lp_strerror(int rc);


/*
 * Escapers: write the escaped form to dst (no NUL) and return the end
 * pointer; the _len variants return the exact size.  They never fail, but
 * their output is only meaningful for input that passed the check above.
 */

/* measurement: escapes ',' and ' ' */
size_t gn_lp_escape_measurement_len(const char *s, size_t len);
char *gn_lp_escape_measurement(char *dst, const char *s, size_t len);

/* tag key, tag value, field key: escapes ',', ' ' and '=' */
size_t gn_lp_escape_tag_len(const char *s, size_t len);
char *gn_lp_escape_tag(char *dst, const char *s, size_t len);

#define gn_lp_escape_field_key_len  gn_lp_escape_tag_len
#define gn_lp_escape_field_key      gn_lp_escape_tag

/* string field value, without the surrounding quotes: escapes '"', '\' */
size_t gn_lp_escape_string_len(const char *s, size_t len);
char *gn_lp_escape_string(char *dst, const char *s, size_t len);

/*
 * Float field value: the shortest of %.15g, %.16g, %.17g that reads back
 * as exactly v (the shortest round-trip form for normal numbers), e.g.
 * "25", "0.1", "-1.5e-07", "1.7976931348623157e+308".  dst must hold
 * GN_LP_DOUBLE_MAX bytes; a NUL follows the returned end.  Writes nothing
 * (returns dst) for NaN and infinities.  Needs the "C" LC_NUMERIC locale,
 * the default unless the program calls setlocale().
 */
char *gn_lp_format_double(char *dst, double v);


#endif /* GN_LINEPROTO_H */
