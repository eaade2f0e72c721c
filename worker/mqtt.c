/*
 * MQTT 5 connection of gonsters-worker, see mqtt.h.
 *
 * Session: cleanstart = 0 plus a Session Expiry Interval and a stable
 * client id, so the broker keeps our session (and, later, the QoS 1
 * telemetry queued for us) while the worker restarts.
 *
 * Status: a retained last will {"status":"offline",...,"reason":
 * "connection lost"} on status_topic; a retained {"status":"online",...}
 * after every successful (re)connect; a retained {"status":"offline",...,
 * "reason":"shutdown"} before a clean DISCONNECT (which discards the will).
 *
 * Reconnects: paho's automaticReconnect (1 s doubling up to
 * connect_retry_max) handles a connection lost after a successful connect.
 * A failed FIRST connect is retried here with our own backoff: older paho
 * releases do not retry it at all, and the 1.3.11 library of Debian 12
 * does retry it but calls onFailure only once and then retries silently.
 * Our retry re-arms onSuccess5/onFailure5 on every attempt, so every
 * failure is logged; a CONNECT that paho queues while another one is in
 * progress (or after it succeeded) is dropped by paho, so the two retry
 * loops do not open two connections.
 *
 * Subscriptions (after every connect; idempotent on a present session):
 *   $share/<share_group>/factory/+/machine/+/telemetry   QoS 1
 *   $share/<share_group>/factory/+/machine/+/status      QoS 1
 * paho sends the PUBACK of a QoS 1 message once the arrival callback
 * returns, so the callback appends the message to the spool first; while
 * the spool is full the callback waits, paho stops reading the socket and
 * the broker keeps the messages (TCP back-pressure).
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gn_json.h"
#include "gn_time.h"

#include "clock.h"
#include "mqtt.h"


#define WK_MQTT_LOGGER              "worker.mqtt"

#define WK_MQTT_EV_CONNECTED        0x01u
#define WK_MQTT_EV_CONNECT_FAILED   0x02u

#define WK_MQTT_QOS                 1
#define WK_MQTT_CONNECT_TIMEOUT     10      /* s */
#define WK_MQTT_MAX_BUFFERED        65536   /* paho default 100, see notes */

#define WK_MQTT_SHUTDOWN_PUBLISH_MS 2000
#define WK_MQTT_DISCONNECT_MS       1000
#define WK_MQTT_DISCONNECT_WAIT_MS  2000
#define WK_MQTT_MSG_HDR             14      /* WK_MSG_HDR of writer.h */


/* status payloads */

static size_t
wk_mqtt_field_len(const char *key, const char *value)
{
    /* ,"key":"value" */
    return 6 + strlen(key) + gn_json_escape_len(value, strlen(value));
}


static char *
wk_mqtt_field(char *p, const char *key, const char *value)
{
    size_t  len = strlen(key);

    *p++ = ',';
    *p++ = '"';
    memcpy(p, key, len);
    p += len;
    *p++ = '"';
    *p++ = ':';
    *p++ = '"';
    p = gn_json_escape(p, value, strlen(value));
    *p++ = '"';

    return p;
}


/*
 * {"status":S,"client_id":C[,"reason":R][,"timestamp":T]}, NUL-terminated
 * (the will is passed to paho as a C string); returns the length without
 * the NUL, or -1 if it does not fit
 */
static int
wk_mqtt_status_json(const wk_mqtt_t *m, char *buf, size_t size,
    const char *status, const char *reason, int stamp)
{
    const char       *keys[4] = { "status", "client_id", "reason",
                                  "timestamp" };
    const char       *values[4];
    char              ts[GN_TIME_ISO8601_MAX];
    struct timespec   now;
    size_t            need = 3, i;      /* '{' '}' NUL */
    char             *p = buf;

    clock_gettime(CLOCK_REALTIME, &now);

    if (gn_time_format_iso8601((int64_t) now.tv_sec * 1000000000
                               + now.tv_nsec, 3, ts, sizeof(ts)) == 0)
    {
        return -1;
    }

    values[0] = status;
    values[1] = m->conf->client_id;
    values[2] = reason;
    values[3] = stamp ? ts : NULL;

    for (i = 0; i < 4; i++) {
        need += values[i] ? wk_mqtt_field_len(keys[i], values[i]) : 0;
    }

    if (need > size) {
        return -1;
    }

    for (i = 0; i < 4; i++) {
        p = values[i] ? wk_mqtt_field(p, keys[i], values[i]) : p;
    }

    buf[0] = '{';           /* overwrites the first field's ',' */
    *p++ = '}';
    *p = '\0';

    return (int) (p - buf);
}


/* paho threads: log, record, wake the main loop */

static void
wk_mqtt_post(wk_mqtt_t *m, unsigned ev)
{
    atomic_fetch_or(&m->events, ev);

    /* a full pipe already guarantees a wakeup */
    if (write(m->wake_fd, "m", 1) < 0 && errno != EAGAIN) {
        wk_log(m->log, WK_LOG_ERROR, WK_MQTT_LOGGER, "wakeup write failed",
               WK_STR("error", strerror(errno)));
    }
}


static void
wk_mqtt_on_connect(void *ctx, MQTTAsync_successData5 *resp)
{
    wk_mqtt_t  *m = ctx;

    wk_log(m->log, WK_LOG_DEBUG, WK_MQTT_LOGGER, "connect succeeded",
           WK_INT("session_present", resp->alt.connect.sessionPresent),
           WK_INT("mqtt_version", resp->alt.connect.MQTTVersion));
}


static void
wk_mqtt_on_connect_failure(void *ctx, MQTTAsync_failureData5 *resp)
{
    wk_mqtt_t   *m = ctx;
    const char  *error;

    error = resp->message ? resp->message : MQTTAsync_strerror(resp->code);

    if (resp->reasonCode == MQTTREASONCODE_SUCCESS) {
        /* TCP level: refused, unreachable, timed out */
        wk_log(m->log, WK_LOG_WARNING, WK_MQTT_LOGGER, "connect failed",
               WK_STR("uri", m->conf->mqtt_uri),
               WK_INT("code", resp->code), WK_STR("error", error));

    } else {
        /* the broker refused the CONNECT */
        wk_log(m->log, WK_LOG_WARNING, WK_MQTT_LOGGER, "connect refused",
               WK_STR("uri", m->conf->mqtt_uri),
               WK_INT("code", resp->code), WK_STR("error", error),
               WK_INT("reason_code", resp->reasonCode),
               WK_STR("reason", MQTTReasonCode_toString(resp->reasonCode)));
    }

    wk_mqtt_post(m, WK_MQTT_EV_CONNECT_FAILED);
}


static void
wk_mqtt_on_connected(void *ctx, char *cause)
{
    wk_mqtt_t  *m = ctx;

    wk_log(m->log, WK_LOG_INFO, WK_MQTT_LOGGER, "connected",
           WK_STR("uri", m->conf->mqtt_uri),
           WK_STR("client_id", m->conf->client_id),
           WK_STR("cause", cause));

    atomic_store(&m->metrics->mqtt_connected, 1);
    wk_mqtt_post(m, WK_MQTT_EV_CONNECTED);
}


static void
wk_mqtt_on_connection_lost(void *ctx, char *cause)
{
    wk_mqtt_t  *m = ctx;

    atomic_store(&m->metrics->mqtt_connected, 0);

    /* paho's automatic reconnect takes over from here */
    wk_log(m->log, WK_LOG_WARNING, WK_MQTT_LOGGER, "connection lost",
           WK_STR("uri", m->conf->mqtt_uri),
           WK_STR("cause", cause));
}


/* paho calls it before each attempt of its automatic reconnect */
static int
wk_mqtt_on_reconnect(void *ctx, MQTTAsync_connectData *data)
{
    wk_mqtt_t  *m = ctx;

    (void) data;

    wk_log(m->log, WK_LOG_INFO, WK_MQTT_LOGGER, "reconnecting",
           WK_STR("uri", m->conf->mqtt_uri));

    return 0;       /* credentials unchanged */
}


static void
wk_mqtt_on_disconnected(void *ctx, MQTTProperties *props,
    enum MQTTReasonCodes reason)
{
    wk_mqtt_t  *m = ctx;

    (void) props;

    wk_log(m->log, WK_LOG_WARNING, WK_MQTT_LOGGER, "disconnected by broker",
           WK_INT("reason_code", reason),
           WK_STR("reason", MQTTReasonCode_toString(reason)));
}


static void
wk_mqtt_on_publish(void *ctx, MQTTAsync_successData5 *resp)
{
    wk_mqtt_t  *m = ctx;

    wk_log(m->log, WK_LOG_DEBUG, WK_MQTT_LOGGER, "status published",
           WK_STR("topic", m->conf->status_topic),
           WK_INT("token", resp->token));
}


static void
wk_mqtt_on_publish_failure(void *ctx, MQTTAsync_failureData5 *resp)
{
    wk_mqtt_t  *m = ctx;

    wk_log(m->log, WK_LOG_ERROR, WK_MQTT_LOGGER, "status publish failed",
           WK_STR("topic", m->conf->status_topic),
           WK_INT("token", resp->token),
           WK_INT("code", resp->code),
           WK_STR("error", resp->message ? resp->message
                                         : MQTTAsync_strerror(resp->code)));
}


/*
 * paho's receive thread.  The record (see writer.h) is made durable
 * against a killed process (write(2) into the page cache; the group
 * commit fsyncs) before returning 1, which lets paho send the PUBACK.
 */
static int
wk_mqtt_on_message(void *ctx, char *topic, int topic_len,
    MQTTAsync_message *msg)
{
    wk_mqtt_t       *m = ctx;
    unsigned char    hdr[WK_MQTT_MSG_HDR];
    struct iovec     iov[3];
    struct timespec  now;
    uint64_t         ns;
    size_t           tlen, plen, stored;
    int              i, logged = 0;

    clock_gettime(CLOCK_REALTIME, &now);
    ns = (uint64_t) now.tv_sec * 1000000000 + (uint64_t) now.tv_nsec;

    tlen = topic_len > 0 ? (size_t) topic_len : strlen(topic);
    plen = msg->payloadlen > 0 ? (size_t) msg->payloadlen : 0;

    /* an oversized payload is kept cut, for its dead letter */
    stored = plen > (size_t) m->conf->payload_max_bytes
             ? (size_t) m->conf->payload_max_bytes + 1 : plen;

    if (tlen > 65535) {
        tlen = 65535;       /* MQTT's own limit: cannot happen */
    }

    for (i = 0; i < 8; i++) {
        hdr[i] = (unsigned char) (ns >> (8 * i));
    }
    for (i = 0; i < 4; i++) {
        hdr[8 + i] = (unsigned char) ((uint64_t) plen >> (8 * i));
    }
    hdr[12] = (unsigned char) tlen;
    hdr[13] = (unsigned char) (tlen >> 8);

    iov[0].iov_base = hdr;
    iov[0].iov_len = sizeof(hdr);
    iov[1].iov_base = topic;
    iov[1].iov_len = tlen;
    iov[2].iov_base = msg->payload;
    iov[2].iov_len = stored;

    /* never return before the message is stored: an I/O error (disk
     * full) is retried; the broker redelivers whatever is unacknowledged
     * if the process dies meanwhile */
    while (wk_spool_append(m->spool, iov, 3) != 0) {
        if (!logged) {
            wk_log(m->log, WK_LOG_ERROR, WK_MQTT_LOGGER,
                   "cannot spool a message: retrying",
                   WK_INT("topic_len", tlen), WK_INT("payload_len", plen));
            logged = 1;
        }
        sleep(1);
    }

    atomic_fetch_add(&m->metrics->received, 1);

    MQTTAsync_freeMessage(&msg);
    MQTTAsync_free(topic);

    return 1;
}


static void
wk_mqtt_on_subscribe(void *ctx, MQTTAsync_successData5 *resp)
{
    wk_mqtt_t  *m = ctx;
    int         i, rc;

    for (i = 0; i < resp->alt.sub.reasonCodeCount && i < 2; i++) {
        rc = resp->alt.sub.reasonCodes[i];
        wk_log(m->log, rc <= MQTTREASONCODE_GRANTED_QOS_2 ? WK_LOG_INFO
                                                          : WK_LOG_ERROR,
               WK_MQTT_LOGGER, rc <= MQTTREASONCODE_GRANTED_QOS_2
                               ? "subscribed" : "subscription refused",
               WK_STR("filter", m->filters[i]), WK_INT("reason_code", rc),
               WK_STR("reason", MQTTReasonCode_toString(rc)));
    }

    if (resp->alt.sub.reasonCodeCount == 1) {
        /* paho reports one code when the broker sent one for all */
        wk_log(m->log, WK_LOG_INFO, WK_MQTT_LOGGER, "subscribed",
               WK_STR("filter", m->filters[1]),
               WK_INT("reason_code", resp->reasonCode));
    }
}


static void
wk_mqtt_on_subscribe_failure(void *ctx, MQTTAsync_failureData5 *resp)
{
    wk_mqtt_t  *m = ctx;

    wk_log(m->log, WK_LOG_ERROR, WK_MQTT_LOGGER, "subscribe failed",
           WK_INT("code", resp->code),
           WK_INT("reason_code", resp->reasonCode),
           WK_STR("error", resp->message ? resp->message
                                         : MQTTAsync_strerror(resp->code)));
}


int
wk_mqtt_publish(wk_mqtt_t *m, const char *topic, const char *payload,
    size_t len)
{
    MQTTAsync_message  msg = MQTTAsync_message_initializer;
    int                rc;

    msg.payload = (void *) payload;         /* paho copies it */
    msg.payloadlen = (int) len;
    msg.qos = WK_MQTT_QOS;
    msg.retained = 0;

    rc = MQTTAsync_sendMessage(m->client, topic, &msg, NULL);

    if (rc != MQTTASYNC_SUCCESS) {
        wk_log(m->log, WK_LOG_WARNING, WK_MQTT_LOGGER, "publish refused",
               WK_STR("topic", topic), WK_INT("code", rc),
               WK_STR("error", MQTTAsync_strerror(rc)));
        return -1;
    }

    return 0;
}


static void
wk_mqtt_subscribe(wk_mqtt_t *m)
{
    MQTTAsync_responseOptions  ro = MQTTAsync_responseOptions_initializer;
    char                      *filters[2] = { m->filters[0], m->filters[1] };
    int                        qos[2] = { WK_MQTT_QOS, WK_MQTT_QOS };
    int                        rc;

    ro.onSuccess5 = wk_mqtt_on_subscribe;
    ro.onFailure5 = wk_mqtt_on_subscribe_failure;
    ro.context = m;

    rc = MQTTAsync_subscribeMany(m->client, 2, filters, qos, &ro);

    if (rc != MQTTASYNC_SUCCESS) {
        wk_log(m->log, WK_LOG_ERROR, WK_MQTT_LOGGER, "subscribe refused",
               WK_INT("code", rc), WK_STR("error", MQTTAsync_strerror(rc)));
    }
}


/* main thread */

void
wk_mqtt_init(wk_mqtt_t *m, const wk_config_t *conf, wk_log_t *log,
    int wake_fd, wk_spool_t *spool, wk_metrics_t *metrics)
{
    memset(m, 0, sizeof(*m));

    m->conf = conf;
    m->log = log;
    m->wake_fd = wake_fd;
    m->spool = spool;
    m->metrics = metrics;

    snprintf(m->filters[0], sizeof(m->filters[0]),
             "$share/%s/factory/+/machine/+/telemetry", conf->share_group);
    snprintf(m->filters[1], sizeof(m->filters[1]),
             "$share/%s/factory/+/machine/+/status", conf->share_group);
    m->retry_delay = 1;
    atomic_init(&m->events, 0);
}


static int
wk_mqtt_publish_status(wk_mqtt_t *m, const char *status, const char *reason,
    MQTTAsync_token *token)
{
    MQTTAsync_message          msg = MQTTAsync_message_initializer;
    MQTTAsync_responseOptions  ro = MQTTAsync_responseOptions_initializer;
    char                       payload[WK_MQTT_PAYLOAD_MAX];
    int                        len, rc;

    len = wk_mqtt_status_json(m, payload, sizeof(payload), status, reason, 1);
    if (len < 0) {
        wk_log0(m->log, WK_LOG_ERROR, WK_MQTT_LOGGER,
                "status payload does not fit");
        return -1;
    }

    msg.payload = payload;              /* paho copies it */
    msg.payloadlen = len;
    msg.qos = WK_MQTT_QOS;
    msg.retained = 1;

    ro.onSuccess5 = wk_mqtt_on_publish;
    ro.onFailure5 = wk_mqtt_on_publish_failure;
    ro.context = m;

    rc = MQTTAsync_sendMessage(m->client, m->conf->status_topic, &msg, &ro);
    if (rc != MQTTASYNC_SUCCESS) {
        wk_log(m->log, WK_LOG_ERROR, WK_MQTT_LOGGER, "status publish refused",
               WK_STR("status", status), WK_INT("code", rc),
               WK_STR("error", MQTTAsync_strerror(rc)));
        return -1;
    }

    wk_log(m->log, WK_LOG_INFO, WK_MQTT_LOGGER, "status sent",
           WK_STR("topic", m->conf->status_topic), WK_STR("status", status),
           WK_INT("token", ro.token));

    if (token) {
        *token = ro.token;
    }

    return 0;
}


static int
wk_mqtt_connect(wk_mqtt_t *m)
{
    MQTTAsync_connectOptions  opts = MQTTAsync_connectOptions_initializer5;
    MQTTAsync_willOptions     will = MQTTAsync_willOptions_initializer;
    MQTTProperties            props = MQTTProperties_initializer;
    MQTTProperty              expiry;
    int                       rc;

    memset(&expiry, 0, sizeof(expiry));
    expiry.identifier = MQTTPROPERTY_CODE_SESSION_EXPIRY_INTERVAL;
    expiry.value.integer4 = m->conf->session_expiry;

    if (MQTTProperties_add(&props, &expiry) != 0) {
        wk_log0(m->log, WK_LOG_ERROR, WK_MQTT_LOGGER,
                "cannot build CONNECT properties");
        return -1;
    }

    will.topicName = m->conf->status_topic;
    will.message = m->will;
    will.retained = 1;
    will.qos = WK_MQTT_QOS;

    opts.keepAliveInterval = m->conf->keepalive;
    opts.cleanstart = 0;
    opts.connectProperties = &props;
    opts.will = &will;
    opts.connectTimeout = WK_MQTT_CONNECT_TIMEOUT;
    opts.automaticReconnect = 1;
    opts.minRetryInterval = 1;
    opts.maxRetryInterval = m->conf->connect_retry_max;
    opts.onSuccess5 = wk_mqtt_on_connect;
    opts.onFailure5 = wk_mqtt_on_connect_failure;
    opts.context = m;

    m->attempts++;

    wk_log(m->log, WK_LOG_INFO, WK_MQTT_LOGGER, "connecting",
           WK_STR("uri", m->conf->mqtt_uri),
           WK_STR("client_id", m->conf->client_id),
           WK_INT("attempt", m->attempts),
           WK_INT("session_expiry", m->conf->session_expiry));

    /* paho copies the options, the will and the properties */
    rc = MQTTAsync_connect(m->client, &opts);

    MQTTProperties_free(&props);

    if (rc != MQTTASYNC_SUCCESS) {
        wk_log(m->log, WK_LOG_ERROR, WK_MQTT_LOGGER, "connect not started",
               WK_INT("code", rc), WK_STR("error", MQTTAsync_strerror(rc)));
        return -1;
    }

    return 0;
}


static int
wk_mqtt_set_callbacks(wk_mqtt_t *m)
{
    if (MQTTAsync_setMessageArrivedCallback(m->client, m,
                                            wk_mqtt_on_message)
        != MQTTASYNC_SUCCESS
        || MQTTAsync_setConnectionLostCallback(m->client, m,
                                            wk_mqtt_on_connection_lost)
        != MQTTASYNC_SUCCESS
        || MQTTAsync_setConnected(m->client, m, wk_mqtt_on_connected)
           != MQTTASYNC_SUCCESS
        || MQTTAsync_setDisconnected(m->client, m, wk_mqtt_on_disconnected)
           != MQTTASYNC_SUCCESS
        || MQTTAsync_setUpdateConnectOptions(m->client, m,
                                             wk_mqtt_on_reconnect)
           != MQTTASYNC_SUCCESS)
    {
        wk_log0(m->log, WK_LOG_ERROR, WK_MQTT_LOGGER,
                "cannot set paho callbacks");
        return -1;
    }

    return 0;
}


int
wk_mqtt_start(wk_mqtt_t *m)
{
    MQTTAsync_createOptions  co = MQTTAsync_createOptions_initializer5;
    int                      rc;

    if (wk_mqtt_status_json(m, m->will, sizeof(m->will), "offline",
                            "connection lost", 0) < 0)
    {
        wk_log0(m->log, WK_LOG_ERROR, WK_MQTT_LOGGER,
                "last-will payload does not fit");
        return -1;
    }

    /*
     * maxBufferedMessages also limits the queue while CONNECTED (the
     * default 100 makes the 101st send fail with -12); nothing is sent
     * while disconnected: the spool, not paho's memory, will hold data.
     */
    co.maxBufferedMessages = WK_MQTT_MAX_BUFFERED;
    co.sendWhileDisconnected = 0;

    /*
     * paho keeps an in-memory trace of every function entry and protocol
     * packet by default (a timestamp, a copy and a printf under a global
     * mutex, several per message): at error level it records only errors
     */
    MQTTAsync_setTraceLevel(MQTTASYNC_TRACE_ERROR);

    rc = MQTTAsync_createWithOptions(&m->client, m->conf->mqtt_uri,
                                     m->conf->client_id,
                                     MQTTCLIENT_PERSISTENCE_NONE, NULL, &co);
    if (rc != MQTTASYNC_SUCCESS) {
        m->client = NULL;
        wk_log(m->log, WK_LOG_ERROR, WK_MQTT_LOGGER, "cannot create client",
               WK_STR("uri", m->conf->mqtt_uri), WK_INT("code", rc),
               WK_STR("error", MQTTAsync_strerror(rc)));
        return -1;
    }

    if (wk_mqtt_set_callbacks(m) != 0) {
        return -1;
    }

    return wk_mqtt_connect(m);
}


static void
wk_mqtt_schedule_retry(wk_mqtt_t *m, int64_t now)
{
    if (m->connected_once || m->retry_pending) {
        return;     /* paho reconnects / a retry is already scheduled */
    }

    m->retry_pending = 1;
    m->retry_at = now + (int64_t) m->retry_delay * 1000;

    wk_log(m->log, WK_LOG_INFO, WK_MQTT_LOGGER, "connect retry scheduled",
           WK_STR("uri", m->conf->mqtt_uri),
           WK_INT("attempt", m->attempts),
           WK_INT("retry_in_s", m->retry_delay));

    m->retry_delay *= 2;

    if (m->retry_delay > m->conf->connect_retry_max) {
        m->retry_delay = m->conf->connect_retry_max;
    }
}


static void
wk_mqtt_handle_connected(wk_mqtt_t *m)
{
    m->connected_once = 1;
    m->retry_pending = 0;
    m->retry_delay = 1;

    wk_mqtt_subscribe(m);

    /* a failure is logged; the next reconnect publishes again */
    (void) wk_mqtt_publish_status(m, "online", NULL, NULL);
}


static void
wk_mqtt_handle_timer(wk_mqtt_t *m, int64_t now)
{
    if (!m->retry_pending || now < m->retry_at) {
        return;
    }

    m->retry_pending = 0;

    if (MQTTAsync_isConnected(m->client)) {
        return;     /* paho's own retry got there first */
    }

    if (wk_mqtt_connect(m) != 0) {
        wk_mqtt_schedule_retry(m, now);
    }
}


int64_t
wk_mqtt_timeout(const wk_mqtt_t *m, int64_t now)
{
    if (!m->retry_pending) {
        return -1;
    }

    return m->retry_at > now ? m->retry_at - now : 0;
}


void
wk_mqtt_process(wk_mqtt_t *m, int64_t now)
{
    unsigned  ev = atomic_exchange(&m->events, 0);

    if (ev & WK_MQTT_EV_CONNECTED) {
        wk_mqtt_handle_connected(m);
    }

    if (ev & WK_MQTT_EV_CONNECT_FAILED) {
        wk_mqtt_schedule_retry(m, now);
    }

    wk_mqtt_handle_timer(m, now);
}


static void
wk_mqtt_sleep_ms(long ms)
{
    struct timespec  ts = { ms / 1000, (ms % 1000) * 1000000 };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        /* void */
    }
}


static void
wk_mqtt_publish_offline(wk_mqtt_t *m)
{
    MQTTAsync_token  token;
    int              rc;

    if (!MQTTAsync_isConnected(m->client)) {
        wk_log0(m->log, WK_LOG_WARNING, WK_MQTT_LOGGER,
                "not connected: offline status not published");
        return;
    }

    if (wk_mqtt_publish_status(m, "offline", "shutdown", &token) != 0) {
        return;
    }

    rc = MQTTAsync_waitForCompletion(m->client, token,
                                     WK_MQTT_SHUTDOWN_PUBLISH_MS);
    if (rc != MQTTASYNC_SUCCESS) {
        wk_log(m->log, WK_LOG_WARNING, WK_MQTT_LOGGER,
               "offline status not acknowledged",
               WK_INT("code", rc), WK_STR("error", MQTTAsync_strerror(rc)),
               WK_INT("waited_ms", WK_MQTT_SHUTDOWN_PUBLISH_MS));
        return;
    }

    wk_log(m->log, WK_LOG_INFO, WK_MQTT_LOGGER,
           "offline status acknowledged", WK_INT("token", token));
}


static void
wk_mqtt_disconnect(wk_mqtt_t *m)
{
    MQTTAsync_disconnectOptions  opts =
                                     MQTTAsync_disconnectOptions_initializer5;
    int64_t                      deadline;
    int                          rc;

    opts.timeout = WK_MQTT_DISCONNECT_MS;
    opts.reasonCode = MQTTREASONCODE_NORMAL_DISCONNECTION;  /* no will */

    /* also stops paho's reconnect loop when not connected */
    rc = MQTTAsync_disconnect(m->client, &opts);

    if (rc == MQTTASYNC_DISCONNECTED) {
        return;
    }

    if (rc != MQTTASYNC_SUCCESS) {
        wk_log(m->log, WK_LOG_WARNING, WK_MQTT_LOGGER, "disconnect refused",
               WK_INT("code", rc), WK_STR("error", MQTTAsync_strerror(rc)));
        return;
    }

    deadline = wk_now_ms() + WK_MQTT_DISCONNECT_WAIT_MS;

    while (MQTTAsync_isConnected(m->client) && wk_now_ms() < deadline) {
        wk_mqtt_sleep_ms(10);
    }

    if (MQTTAsync_isConnected(m->client)) {
        wk_log0(m->log, WK_LOG_WARNING, WK_MQTT_LOGGER,
                "disconnect did not complete in time");
        return;
    }

    wk_log0(m->log, WK_LOG_INFO, WK_MQTT_LOGGER, "disconnected");
}


void
wk_mqtt_shutdown(wk_mqtt_t *m)
{
    if (m->client == NULL) {
        return;
    }

    wk_mqtt_publish_offline(m);
    wk_mqtt_disconnect(m);

    atomic_store(&m->metrics->mqtt_connected, 0);
}


void
wk_mqtt_destroy(wk_mqtt_t *m)
{
    if (m->client == NULL) {
        return;
    }

    MQTTAsync_destroy(&m->client);
    m->client = NULL;
}
