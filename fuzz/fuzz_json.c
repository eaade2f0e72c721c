/*
 * Fuzz target: gn_json.  Invariants: the announced length is the written
 * length; the output is valid UTF-8 with no raw control character and no
 * unescaped '"', and decodes as a JSON string; valid UTF-8 input decodes
 * back to itself; gn_utf8_valid() agrees with an independent validator.
 */

#include "gn_fuzz.h"
#include "gn_ref.h"
#include "gn_json.h"
#include "gn_utf8.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char     *in = (const char *) data;
    char           *out, *end, *dec;
    size_t          n, i;
    long            dl;
    int             valid;

    valid = ref_utf8_valid(data, size);
    GN_FUZZ_ASSERT(gn_utf8_valid(in, size) == valid);

    n = gn_json_escape_len(in, size);
    GN_FUZZ_ASSERT(n >= size && n <= 6 * size);

    out = malloc(n + 1);
    end = gn_json_escape(out, in, size);
    GN_FUZZ_ASSERT((size_t) (end - out) == n);

    for (i = 0; i < n; i++) {
        GN_FUZZ_ASSERT((unsigned char) out[i] >= 0x20);
        GN_FUZZ_ASSERT(out[i] != 0x7f);
    }

    GN_FUZZ_ASSERT(ref_utf8_valid((unsigned char *) out, n));

    dec = malloc(n + 1);
    dl = ref_json_unescape(out, n, dec);
    GN_FUZZ_ASSERT(dl >= 0);

    if (valid) {
        GN_FUZZ_ASSERT((size_t) dl == size && memcmp(dec, data, size) == 0);
    }

    free(dec);
    free(out);

    return 0;
}
