/*
 * Gonsters common: the revocation message nginx nodes exchange over Redis
 * pub/sub, "<jti> <expires>" (expires: Unix seconds, decimal), so that a
 * token revoked on one node is refused by every node within a second.
 */

#ifndef GN_REVOCATION_H
#define GN_REVOCATION_H

#include <stddef.h>
#include <stdint.h>


/* a jti is 1..GN_JTI_MAX bytes of 0x21..0x7e (printable, no space) */
#define GN_JTI_MAX              255

/* the longest message: jti, space, a signed 64-bit decimal */
#define GN_REVOCATION_MSG_MAX   (GN_JTI_MAX + 1 + 20)


/* 1 if jti[0..len) may be a jti */
int gn_jti_valid(const char *jti, size_t len);

/* writes the message (no NUL) and returns the end; dst holds
 * GN_REVOCATION_MSG_MAX bytes; the jti must be valid */
char *gn_revocation_format(char *dst, const char *jti, size_t len,
    int64_t expires);

/* 0 and the jti (pointing into msg) and expiry when msg[0..len) is exactly
 * a valid jti, one space and 1..18 decimal digits; -1 otherwise */
int gn_revocation_parse(const char *msg, size_t len, const char **jti,
    size_t *jti_len, int64_t *expires);


#endif /* GN_REVOCATION_H */
