/*
 * A paho MQTTAsync subscriber that does nothing: the worker's client
 * library, protocol and QoS with none of its work, for scripts/bench-worker.sh
 * (it tells what paho itself costs on the bench's cores).
 *
 *   idle-subscriber URI CLIENT_ID FILTER COUNT TIMEOUT_S [EVERY]
 *
 * Connects as the worker does (MQTT 5, no clean start, a session expiry:
 * the broker keeps a session for it), subscribes to FILTER at QoS 1, acknowledges and drops every message, exits 0 after
 * COUNT of them, 1 on a failure or when TIMEOUT_S pass first.  With EVERY,
 * prints the count on stdout each EVERY messages (the bench posts a batch
 * to InfluxDB on each line).  The caller removes the session afterwards.
 */

#include <errno.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <MQTTAsync.h>


#define IDLE_SESSION_EXPIRY  300        /* seconds */


typedef struct {
    MQTTAsync     client;
    const char   *filter;
    long          want;
    long          every;
    atomic_long   got;
    atomic_int    failed;
    sem_t         done;
} idle_sub_t;


static int
idle_on_message(void *ctx, char *topic, int topic_len, MQTTAsync_message *msg)
{
    idle_sub_t  *s = ctx;
    long         got;

    (void) topic_len;

    MQTTAsync_freeMessage(&msg);
    MQTTAsync_free(topic);

    got = atomic_fetch_add(&s->got, 1) + 1;

    if (s->every > 0 && got % s->every == 0) {
        printf("%ld\n", got);
        fflush(stdout);
    }

    if (got == s->want) {
        sem_post(&s->done);
    }

    return 1;
}


static void
idle_fail(idle_sub_t *s, const char *what, int code)
{
    fprintf(stderr, "idle-subscriber: %s failed: %s\n", what,
            MQTTAsync_strerror(code));
    atomic_store(&s->failed, 1);
    sem_post(&s->done);
}


static void
idle_on_subscribe(void *ctx, MQTTAsync_successData5 *resp)
{
    idle_sub_t  *s = ctx;

    /* one filter: its code is reasonCode (alt.sub is for several) */
    if (resp->reasonCode > MQTTREASONCODE_GRANTED_QOS_2) {
        fprintf(stderr, "idle-subscriber: subscription refused: %s\n",
                MQTTReasonCode_toString(resp->reasonCode));
        atomic_store(&s->failed, 1);
        sem_post(&s->done);
    }
}


static void
idle_on_subscribe_failure(void *ctx, MQTTAsync_failureData5 *resp)
{
    idle_fail(ctx, "subscribe", resp->code);
}


static void
idle_on_connect(void *ctx, MQTTAsync_successData5 *resp)
{
    idle_sub_t                 *s = ctx;
    MQTTAsync_responseOptions   ro = MQTTAsync_responseOptions_initializer;
    int                         rc;

    (void) resp;

    ro.onSuccess5 = idle_on_subscribe;
    ro.onFailure5 = idle_on_subscribe_failure;
    ro.context = s;

    rc = MQTTAsync_subscribe(s->client, s->filter, 1, &ro);
    if (rc != MQTTASYNC_SUCCESS) {
        idle_fail(s, "subscribe", rc);
    }
}


static void
idle_on_connect_failure(void *ctx, MQTTAsync_failureData5 *resp)
{
    idle_fail(ctx, "connect", resp->code);
}


int
main(int argc, char **argv)
{
    MQTTAsync_createOptions   co = MQTTAsync_createOptions_initializer5;
    MQTTAsync_connectOptions  opts = MQTTAsync_connectOptions_initializer5;
    MQTTProperties            props = MQTTProperties_initializer;
    MQTTProperty              expiry;
    idle_sub_t                s;
    struct timespec           deadline;
    int                       rc;

    if (argc < 6 || argc > 7 || atol(argv[4]) <= 0 || atoi(argv[5]) <= 0
        || (argc == 7 && atol(argv[6]) <= 0))
    {
        fprintf(stderr, "usage: idle-subscriber URI CLIENT_ID FILTER COUNT "
                        "TIMEOUT_S [EVERY]\n");
        return 2;
    }

    memset(&s, 0, sizeof(s));
    s.filter = argv[3];
    s.want = atol(argv[4]);
    s.every = argc == 7 ? atol(argv[6]) : 0;
    atomic_init(&s.got, 0);
    atomic_init(&s.failed, 0);
    sem_init(&s.done, 0, 0);

    /* as the worker: paho's per-call trace ring off */
    MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);

    rc = MQTTAsync_createWithOptions(&s.client, argv[1], argv[2],
                                     MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
    if (rc != MQTTASYNC_SUCCESS) {
        fprintf(stderr, "idle-subscriber: create failed: %s\n",
                MQTTAsync_strerror(rc));
        return 1;
    }

    rc = MQTTAsync_setCallbacks(s.client, &s, NULL, idle_on_message, NULL);

    memset(&expiry, 0, sizeof(expiry));
    expiry.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
    expiry.value.integer4 = IDLE_SESSION_EXPIRY;

    if (rc == MQTTASYNC_SUCCESS) {
        rc = MQTTProperties_add(&props, &expiry) == 0 ? MQTTASYNC_SUCCESS
                                                      : MQTTASYNC_FAILURE;
    }

    if (rc == MQTTASYNC_SUCCESS) {
        opts.cleanstart = 0;
        opts.connectProperties = &props;
        opts.onSuccess5 = idle_on_connect;
        opts.onFailure5 = idle_on_connect_failure;
        opts.context = &s;
        rc = MQTTAsync_connect(s.client, &opts);
    }

    MQTTProperties_free(&props);

    if (rc != MQTTASYNC_SUCCESS) {
        fprintf(stderr, "idle-subscriber: connect failed: %s\n",
                MQTTAsync_strerror(rc));
        MQTTAsync_destroy(&s.client);
        return 1;
    }

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += atoi(argv[5]);

    while ((rc = sem_timedwait(&s.done, &deadline)) != 0 && errno == EINTR) {
        /* again */
    }

    if (rc != 0) {
        fprintf(stderr, "idle-subscriber: %ld of %ld messages in %s s\n",
                atomic_load(&s.got), s.want, argv[5]);
    }

    rc = rc == 0 && !atomic_load(&s.failed) ? 0 : 1;

    MQTTAsync_disconnect(s.client, NULL);
    MQTTAsync_destroy(&s.client);

    return rc;
}
