/*
 * JSON log lines on stderr, one line per event:
 *
 * {"timestamp":"2025-01-01T12:00:00.123456Z","level":"INFO",
 *  "logger":"worker.mqtt","message":"connected","context":{"uri":"..."}}
 *
 * Thread-safe: paho calls back on its own threads.  Each line is
 * formatted completely and written with one write(2) under a mutex, so
 * lines never interleave and nothing waits in a stdio buffer on a crash.
 */

#ifndef WK_LOG_H
#define WK_LOG_H

#include <pthread.h>
#include <stddef.h>

#include "config.h"     /* WK_LOG_DEBUG .. WK_LOG_ERROR */

typedef struct {
    pthread_mutex_t  mutex;
    int              level;     /* lines below it are dropped */
    int              fd;        /* STDERR_FILENO */
} wk_log_t;

enum {
    WK_KV_STR = 0,
    WK_KV_INT
};

/* one context entry: a string or an integer */
typedef struct {
    const char  *key;
    int          type;
    const char  *str;          /* WK_KV_STR; NULL logs as null */
    long long    num;          /* WK_KV_INT */
} wk_kv_t;

#define WK_STR(k, v)  ((wk_kv_t) { (k), WK_KV_STR, (v), 0 })
#define WK_INT(k, v)  ((wk_kv_t) { (k), WK_KV_INT, NULL, (long long) (v) })

int  wk_log_init(wk_log_t *log, int fd, int level);
void wk_log_destroy(wk_log_t *log);

void wk_log_kv(wk_log_t *log, int level, const char *logger,
    const char *message, const wk_kv_t *kv, size_t nkv);

/* wk_log(log, WK_LOG_INFO, "worker.mqtt", "connected",
 *        WK_STR("uri", uri), WK_INT("attempt", n)); */
#define wk_log(log, level, logger, message, ...)                             \
    wk_log_kv((log), (level), (logger), (message),                           \
              (const wk_kv_t []) { __VA_ARGS__ },                            \
              sizeof((const wk_kv_t []) { __VA_ARGS__ }) / sizeof(wk_kv_t))

/* no context */
#define wk_log0(log, level, logger, message)                                 \
    wk_log_kv((log), (level), (logger), (message), NULL, 0)

#endif /* WK_LOG_H */
