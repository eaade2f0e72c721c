/*
 * Gonsters common: JSON string escaping for API responses and log lines.
 * The output is always valid JSON string content (without the quotes) and
 * always valid UTF-8, whatever the input bytes are.
 */

#ifndef GN_JSON_H
#define GN_JSON_H

#include <stddef.h>


/* Exact number of bytes gn_json_escape() writes for src[0..len). */
size_t gn_json_escape_len(const char *src, size_t len);

/*
 * Writes the escaped form of src[0..len) to dst (no quotes, no NUL) and
 * returns the end pointer, as ngx_escape_* do.  Escapes '"', '\\', control
 * characters (\b \f \n \r \t, others and DEL as \u00XX) and U+2028/U+2029
 * (legal JSON, but they end a line in JavaScript before ES2019).  Every
 * maximal ill-formed UTF-8 subpart (overlong, surrogate, > U+10FFFF,
 * truncated, stray continuation) becomes one \ufffd.
 */
char *gn_json_escape(char *dst, const char *src, size_t len);


#endif /* GN_JSON_H */
