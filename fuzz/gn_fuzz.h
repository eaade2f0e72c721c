/*
 * Gonsters fuzz targets: the libFuzzer entry point and the assertion.
 * The reference models the targets check common/ against are shared with
 * the unit tests: common/tests/gn_ref.h.
 */

#ifndef GN_FUZZ_H
#define GN_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/* abort() with the failed condition visible in the core / sanitizer trace */
#define GN_FUZZ_ASSERT(cond)                                                  \
    do {                                                                      \
        if (!(cond)) {                                                        \
            gn_fuzz_fail(#cond, __FILE__, __LINE__);                          \
        }                                                                     \
    } while (0)


#include <stdio.h>

static void __attribute__((noreturn, unused))
gn_fuzz_fail(const char *cond, const char *file, int line)
{
    fprintf(stderr, "%s:%d: invariant violated: %s\n", file, line, cond);
    abort();
}


#endif /* GN_FUZZ_H */
