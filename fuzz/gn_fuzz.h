/*
 * Gonsters fuzz targets: the libFuzzer entry point and reference models,
 * written independently of common/ so that an invariant is not checked
 * with the code under test.
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


/* UTF-8 by decoding and refusing overlong / surrogate / too large */

static int __attribute__((unused))
ref_utf8_valid(const unsigned char *p, size_t len)
{
    size_t    i, k, n;
    uint32_t  cp, min;

    for (i = 0; i < len; i += n) {

        if (p[i] < 0x80) {
            n = 1;
            continue;
        }

        if ((p[i] & 0xe0) == 0xc0) {
            n = 2; cp = p[i] & 0x1f; min = 0x80;
        } else if ((p[i] & 0xf0) == 0xe0) {
            n = 3; cp = p[i] & 0x0f; min = 0x800;
        } else if ((p[i] & 0xf8) == 0xf0) {
            n = 4; cp = p[i] & 0x07; min = 0x10000;
        } else {
            return 0;
        }

        if (i + n > len) {
            return 0;
        }

        for (k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }

        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return 0;
        }
    }

    return 1;
}


#endif /* GN_FUZZ_H */
