/*
 * Gonsters common: revocation messages (see gn_revocation.h).
 */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "gn_revocation.h"


/* more digits could overflow; 18 cover any expiry until year 3e10 */
#define GN_EXPIRES_DIGITS_MAX  18


int
gn_jti_valid(const char *jti, size_t len)
{
    size_t  i;

    if (len == 0 || len > GN_JTI_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) jti[i] <= 0x20 || (unsigned char) jti[i] >= 0x7f) {
            return 0;
        }
    }

    return 1;
}


char *
gn_revocation_format(char *dst, const char *jti, size_t len, int64_t expires)
{
    char  num[24];
    int   n;

    memcpy(dst, jti, len);
    dst += len;
    n = snprintf(num, sizeof(num), " %" PRId64, expires);
    memcpy(dst, num, (size_t) n);

    return dst + n;
}


int
gn_revocation_parse(const char *msg, size_t len, const char **jti,
    size_t *jti_len, int64_t *expires)
{
    const char  *sp, *p, *end = msg + len;
    int64_t      v = 0;

    sp = memchr(msg, ' ', len);
    if (sp == NULL || !gn_jti_valid(msg, (size_t) (sp - msg))) {
        return -1;
    }

    p = sp + 1;
    if (p == end || end - p > GN_EXPIRES_DIGITS_MAX) {
        return -1;
    }

    for (/* void */; p < end; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }

        v = v * 10 + (*p - '0');
    }

    *jti = msg;
    *jti_len = (size_t) (sp - msg);
    *expires = v;

    return 0;
}
