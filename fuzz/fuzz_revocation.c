/*
 * Fuzz target: gn_revocation, the revocation message every nginx node
 * reads from Redis pub/sub.  Invariants: an accepted message has a valid
 * jti pointing at the start of the input, a non-negative expiry, and
 * formats back to exactly the input when the expiry has no leading zero.
 */

#include "gn_fuzz.h"
#include "gn_revocation.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char  *msg = (const char *) data, *jti;
    char         out[GN_REVOCATION_MSG_MAX], *end;
    size_t       jti_len;
    int64_t      expires;

    if (gn_revocation_parse(msg, size, &jti, &jti_len, &expires) != 0) {
        return 0;
    }

    GN_FUZZ_ASSERT(jti == msg && gn_jti_valid(jti, jti_len));
    GN_FUZZ_ASSERT(expires >= 0);
    GN_FUZZ_ASSERT(size > jti_len + 1 && msg[jti_len] == ' ');

    end = gn_revocation_format(out, jti, jti_len, expires);
    GN_FUZZ_ASSERT((size_t) (end - out) <= size);

    if (msg[jti_len + 1] != '0' || size == jti_len + 2) {
        GN_FUZZ_ASSERT((size_t) (end - out) == size
                       && memcmp(out, msg, size) == 0);
    }

    return 0;
}
