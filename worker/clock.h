/*
 * Monotonic milliseconds for timers and bounded waits.
 */

#ifndef WK_CLOCK_H
#define WK_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t
wk_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif /* WK_CLOCK_H */
