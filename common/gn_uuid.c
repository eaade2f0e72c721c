/*
 * Gonsters common: UUID text form.
 */

#include "gn_uuid.h"


static int
gn_is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9')
           || (c >= 'a' && c <= 'f')
           || (c >= 'A' && c <= 'F');
}


int
gn_uuid_is_valid(const char *s, size_t len)
{
    size_t  i;

    if (len != GN_UUID_LEN) {
        return 0;
    }

    for (i = 0; i < GN_UUID_LEN; i++) {

        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }

            continue;
        }

        if (!gn_is_hex((unsigned char) s[i])) {
            return 0;
        }
    }

    return 1;
}


void
gn_uuid_lower(char *dst, const char *src)
{
    size_t  i;
    char    c;

    for (i = 0; i < GN_UUID_LEN; i++) {
        c = src[i];
        dst[i] = (c >= 'A' && c <= 'F') ? (char) (c | 0x20) : c;
    }
}
