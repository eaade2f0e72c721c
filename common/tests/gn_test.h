/*
 * Gonsters common: minimal unit test macros.  A check that fails prints
 * file:line and what was compared, and the test keeps going so one run
 * shows every failure; GN_TEST_DONE() makes main() exit non-zero if any
 * check failed.
 */

#ifndef GN_TEST_H
#define GN_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>


static int  gn_test_checks __attribute__((unused));
static int  gn_test_failures __attribute__((unused));


/* xorshift64: reproducible pseudo-random inputs; *state must not be 0 */
static inline uint64_t
gn_test_rand(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}


#define GN_CHECK(cond)                                                        \
    GN_CHECK_MSG(cond, "%s", "")

/* the message gives the loop context (which input of a table failed) */
#define GN_CHECK_MSG(cond, fmt, ...)                                          \
    do {                                                                      \
        gn_test_checks++;                                                     \
        if (!(cond)) {                                                        \
            gn_test_failures++;                                               \
            fprintf(stderr, "%s:%d: FAILED: %s: " fmt "\n",                   \
                    __FILE__, __LINE__, #cond, __VA_ARGS__);                  \
        }                                                                     \
    } while (0)

#define GN_CHECK_INT(a, b)                                                    \
    do {                                                                      \
        long long  gn_a_ = (long long) (a), gn_b_ = (long long) (b);          \
        gn_test_checks++;                                                     \
        if (gn_a_ != gn_b_) {                                                 \
            gn_test_failures++;                                               \
            fprintf(stderr, "%s:%d: FAILED: %s == %s: %lld != %lld\n",        \
                    __FILE__, __LINE__, #a, #b, gn_a_, gn_b_);                \
        }                                                                     \
    } while (0)

/* compares byte ranges; prints them with non-printables as \xNN */
#define GN_CHECK_MEM(p, plen, q, qlen)                                        \
    do {                                                                      \
        size_t  gn_pl_ = (plen), gn_ql_ = (qlen);                             \
        gn_test_checks++;                                                     \
        if (gn_pl_ != gn_ql_ || memcmp((p), (q), gn_pl_) != 0) {              \
            gn_test_failures++;                                               \
            fprintf(stderr, "%s:%d: FAILED: %s == %s:\n  got  ",              \
                    __FILE__, __LINE__, #p, #q);                              \
            gn_test_dump((const char *) (p), gn_pl_);                         \
            fprintf(stderr, "\n  want ");                                     \
            gn_test_dump((const char *) (q), gn_ql_);                         \
            fprintf(stderr, "\n");                                            \
        }                                                                     \
    } while (0)

#define GN_CHECK_STR(p, plen, s)  GN_CHECK_MEM(p, plen, s, strlen(s))

#define GN_TEST_DONE()                                                        \
    do {                                                                      \
        fprintf(stderr, "%s: %d checks, %d failed\n",                         \
                __FILE__, gn_test_checks, gn_test_failures);                  \
        return gn_test_failures ? 1 : 0;                                      \
    } while (0)


static void __attribute__((unused))
gn_test_dump(const char *s, size_t len)
{
    size_t  i;

    fputc('"', stderr);

    for (i = 0; i < len; i++) {
        unsigned char  c = (unsigned char) s[i];

        if (c < 0x20 || c >= 0x7f || c == '"') {
            fprintf(stderr, "\\x%02x", c);
        } else {
            fputc(c, stderr);
        }
    }

    fprintf(stderr, "\" (%zu)", len);
}


#endif /* GN_TEST_H */
