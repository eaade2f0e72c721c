/*
 * Gonsters common: UUID text form.
 */

#ifndef GN_UUID_H
#define GN_UUID_H

#include <stddef.h>


#define GN_UUID_LEN  36


/* 1 if s[0..len) is the canonical 8-4-4-4-12 hex form (either case). */
int gn_uuid_is_valid(const char *s, size_t len);

/*
 * Copies a valid UUID (GN_UUID_LEN bytes, no NUL) in lower case, the form
 * PostgreSQL prints, so that one machine is one InfluxDB series whatever
 * case a gateway used.
 */
void gn_uuid_lower(char *dst, const char *src);


#endif /* GN_UUID_H */
