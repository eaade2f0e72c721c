/*
 * Gonsters common: URL query strings (application/x-www-form-urlencoded),
 * as the REST endpoints receive them: name=value pairs split on '&', '+'
 * for a space, %XX for any byte.  A '%' not followed by two hex digits is
 * kept as it is.  Strict decimal numbers for limits and offsets.
 */

#ifndef GN_QUERY_H
#define GN_QUERY_H

#include <stddef.h>
#include <stdint.h>


typedef struct {
    const char  *p;
    const char  *end;
} gn_query_t;


void gn_query_init(gn_query_t *q, const char *s, size_t len);

/*
 * The next pair: 1 with the decoded name and value in name[] and value[]
 * (each buffer must hold the whole remaining query, i.e. len bytes, plus
 * one for a NUL that is always written; the decoded bytes may contain NUL,
 * use the lengths), 0 at the end.  Empty pieces ("&&") are skipped; a
 * piece without '=' has an empty value.
 */
int gn_query_next(gn_query_t *q, char *name, size_t *name_len, char *value,
    size_t *value_len);

/*
 * s[0..len) as a decimal of 1 to 19 digits (no sign, no space, no
 * leading '+') within [min, max]: 0 with *out set, or -1.
 */
int gn_query_uint(const char *s, size_t len, uint64_t min, uint64_t max,
    uint64_t *out);


#endif /* GN_QUERY_H */
