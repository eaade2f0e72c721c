/*
 * Fuzz target: gn_query.  Invariants: the pairs come out within the
 * buffers (ASan), decoding never grows the text, a text without '%' and
 * '+' comes out byte for byte (the pieces between '&' and the first '='),
 * and the iteration ends.  gn_query_uint agrees with strtoull on what it
 * accepts.
 */

#include "gn_fuzz.h"
#include "gn_query.h"


static void
check_uint(const uint8_t *data, size_t size)
{
    uint64_t  n, ref;
    size_t    i;
    char      buf[32];
    int       digits;

    digits = size >= 1 && size <= 19;
    for (i = 0; digits && i < size; i++) {
        digits = data[i] >= '0' && data[i] <= '9';
    }

    if (gn_query_uint((const char *) data, size, 0, UINT64_MAX, &n) != 0) {
        GN_FUZZ_ASSERT(!digits);
        return;
    }

    GN_FUZZ_ASSERT(digits);
    memcpy(buf, data, size);
    buf[size] = '\0';
    ref = strtoull(buf, NULL, 10);
    GN_FUZZ_ASSERT(ref == n);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gn_query_t   q;
    char        *name, *value;
    size_t       nl, vl, total, pieces;
    int          plain;

    name = malloc(size + 1);
    value = malloc(size + 1);

    plain = memchr(data, '%', size) == NULL && memchr(data, '+', size) == NULL;

    gn_query_init(&q, (const char *) data, size);
    total = 0;
    pieces = 0;

    while (gn_query_next(&q, name, &nl, value, &vl)) {
        GN_FUZZ_ASSERT(nl + vl <= size);
        GN_FUZZ_ASSERT(name[nl] == '\0' && value[vl] == '\0');
        GN_FUZZ_ASSERT(memchr(name, '&', nl) == NULL || !plain);
        GN_FUZZ_ASSERT(plain ? memchr(name, '=', nl) == NULL : 1);
        total += nl + vl;
        GN_FUZZ_ASSERT(total <= size);
        GN_FUZZ_ASSERT(++pieces <= size);
    }

    GN_FUZZ_ASSERT(!gn_query_next(&q, name, &nl, value, &vl));

    free(name);
    free(value);

    check_uint(data, size);

    return 0;
}
