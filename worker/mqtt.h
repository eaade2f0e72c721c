/*
 * MQTT 5 connection of gonsters-worker (paho MQTTAsync).
 *
 * Threads: paho runs its callbacks on its own send/receive threads.  Those
 * callbacks only log, record an event bit in `events` and write one byte
 * to the main loop's self-pipe (`wake_fd`).  Every decision (publish the
 * online status, schedule a connect retry, shut down) is taken on the main
 * thread in wk_mqtt_process(), so the fields below `events` are touched by
 * the main thread only.
 */

#ifndef WK_MQTT_H
#define WK_MQTT_H

#include <stdatomic.h>
#include <stdint.h>

#include <MQTTAsync.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "spool.h"

#define WK_MQTT_PAYLOAD_MAX  1024

typedef struct {
    const wk_config_t  *conf;
    wk_log_t           *log;
    MQTTAsync           client;
    int                 wake_fd;

    /* messages go to the spool before the arrival callback returns */
    wk_spool_t         *spool;
    wk_metrics_t       *metrics;
    char                filters[2][WK_CONFIG_NAME_MAX + 64];

    atomic_uint         events;             /* WK_MQTT_EV_*, paho threads */

    /* main thread only */
    int                 connected_once;
    int                 retry_pending;
    int64_t             retry_at;           /* monotonic ms */
    int                 retry_delay;        /* s, next first-connect backoff */
    unsigned            attempts;           /* explicit connect attempts */

    char                will[WK_MQTT_PAYLOAD_MAX];
} wk_mqtt_t;

void wk_mqtt_init(wk_mqtt_t *m, const wk_config_t *conf, wk_log_t *log,
    int wake_fd, wk_spool_t *spool, wk_metrics_t *metrics);

/* any thread: QoS 1, not retained; -1 when paho refuses (not connected) */
int wk_mqtt_publish(wk_mqtt_t *m, const char *topic, const char *payload,
    size_t len);

/* create the client and send the first CONNECT */
int wk_mqtt_start(wk_mqtt_t *m);

/* ms until wk_mqtt_process() must run again, -1: only on events */
int64_t wk_mqtt_timeout(const wk_mqtt_t *m, int64_t now_ms);

/* main thread: handle events from paho threads and due timers */
void wk_mqtt_process(wk_mqtt_t *m, int64_t now_ms);

/* retained offline status, clean DISCONNECT; bounded in time */
void wk_mqtt_shutdown(wk_mqtt_t *m);

void wk_mqtt_destroy(wk_mqtt_t *m);

#endif /* WK_MQTT_H */
