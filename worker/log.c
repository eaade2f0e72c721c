/*
 * JSON log lines, see log.h.
 */

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gn_json.h"
#include "gn_time.h"

#include "log.h"


#define WK_LOG_STACK_LINE  4096
#define WK_LOG_INT_MAX     24       /* "-9223372036854775808" + slack */
#define WK_LOG_OVERHEAD    128      /* fixed keys, quotes, braces, '\n' */

static const char *const  wk_log_levels[] = {
    "DEBUG", "INFO", "WARNING", "ERROR"
};


int
wk_log_init(wk_log_t *log, int fd, int level)
{
    log->fd = fd;
    log->level = level;

    return pthread_mutex_init(&log->mutex, NULL) == 0 ? 0 : -1;
}


void
wk_log_destroy(wk_log_t *log)
{
    pthread_mutex_destroy(&log->mutex);
}


static size_t
wk_log_str_len(const char *s)
{
    if (s == NULL) {
        return 4;                                   /* null */
    }

    return 2 + gn_json_escape_len(s, strlen(s));    /* quotes */
}


static char *
wk_log_str(char *p, const char *s)
{
    if (s == NULL) {
        memcpy(p, "null", 4);
        return p + 4;
    }

    *p++ = '"';
    p = gn_json_escape(p, s, strlen(s));
    *p++ = '"';

    return p;
}


static char *
wk_log_lit(char *p, const char *s)
{
    size_t  len = strlen(s);

    memcpy(p, s, len);

    return p + len;
}


static size_t
wk_log_size(const char *logger, const char *message, const wk_kv_t *kv,
    size_t nkv)
{
    size_t  size, i;

    size = WK_LOG_OVERHEAD + GN_TIME_ISO8601_MAX
           + wk_log_str_len(logger) + wk_log_str_len(message);

    for (i = 0; i < nkv; i++) {
        size += 2 + wk_log_str_len(kv[i].key);      /* ',' ':' */

        size += kv[i].type == WK_KV_INT ? WK_LOG_INT_MAX
                                        : wk_log_str_len(kv[i].str);
    }

    return size;
}


static char *
wk_log_context(char *p, const wk_kv_t *kv, size_t nkv)
{
    size_t  i;

    *p++ = '{';

    for (i = 0; i < nkv; i++) {
        if (i > 0) {
            *p++ = ',';
        }

        p = wk_log_str(p, kv[i].key);
        *p++ = ':';

        if (kv[i].type == WK_KV_INT) {
            p += snprintf(p, WK_LOG_INT_MAX, "%lld", kv[i].num);
        } else {
            p = wk_log_str(p, kv[i].str);
        }
    }

    *p++ = '}';

    return p;
}


static size_t
wk_log_format(char *buf, int level, const char *logger, const char *message,
    const wk_kv_t *kv, size_t nkv)
{
    struct timespec  ts;
    char             stamp[GN_TIME_ISO8601_MAX];
    int64_t          ns;
    char            *p = buf;

    clock_gettime(CLOCK_REALTIME, &ts);
    ns = (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;

    if (gn_time_format_iso8601(ns, 6, stamp, sizeof(stamp)) == 0) {
        stamp[0] = '\0';
    }

    p = wk_log_lit(p, "{\"timestamp\":");
    p = wk_log_str(p, stamp);
    p = wk_log_lit(p, ",\"level\":");
    p = wk_log_str(p, wk_log_levels[level]);
    p = wk_log_lit(p, ",\"logger\":");
    p = wk_log_str(p, logger);
    p = wk_log_lit(p, ",\"message\":");
    p = wk_log_str(p, message);
    p = wk_log_lit(p, ",\"context\":");
    p = wk_log_context(p, kv, nkv);
    p = wk_log_lit(p, "}\n");

    return (size_t) (p - buf);
}


static void
wk_log_write(wk_log_t *log, const char *buf, size_t len)
{
    ssize_t  n;

    pthread_mutex_lock(&log->mutex);

    while (len > 0) {
        n = write(log->fd, buf, len);

        if (n < 0 && errno == EINTR) {
            continue;
        }

        if (n <= 0) {
            break;                  /* nowhere left to report it */
        }

        buf += n;
        len -= (size_t) n;
    }

    pthread_mutex_unlock(&log->mutex);
}


void
wk_log_kv(wk_log_t *log, int level, const char *logger, const char *message,
    const wk_kv_t *kv, size_t nkv)
{
    char     stack[WK_LOG_STACK_LINE];
    char    *buf = stack;
    size_t   size, len;
    int      saved = errno;

    if (level < log->level || level > WK_LOG_ERROR) {
        return;
    }

    size = wk_log_size(logger, message, kv, nkv);

    if (size > sizeof(stack)) {
        buf = malloc(size);
    }

    if (buf == NULL) {
        /* out of memory: keep the event, drop its context */
        buf = stack;
        message = "log line dropped: out of memory";
        nkv = 0;
    }

    len = wk_log_format(buf, level, logger, message, kv, nkv);
    wk_log_write(log, buf, len);

    if (buf != stack) {
        free(buf);
    }

    errno = saved;
}
