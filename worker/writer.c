/*
 * The writer thread, see writer.h.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "gn_topic.h"

#include "clock.h"
#include "writer.h"


#define WK_WRITER_LOGGER     "worker.writer"
#define WK_WRITER_RETRY_MIN  100        /* ms, first backoff */
#define WK_STATUS_MAX        32
#define WK_WRITER_NAP_MS     5          /* poll period with a batch open */


static const char *const  wk_statuses[] = {
    "active", "inactive", "maintenance", "error"
};


static void
wk_sleep_ms(int64_t ms)
{
    struct timespec  ts = { ms / 1000, (ms % 1000) * 1000000 };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        /* void */
    }
}


static int64_t
wk_now_real_ns(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}


/* the deadline of a drain has passed: give up, the spool replays it */
static int
wk_writer_expired(wk_writer_t *w)
{
    return atomic_load(&w->draining)
           && wk_now_ms() >= atomic_load(&w->deadline_ms);
}


int
wk_msg_decode(const char *body, size_t len, int64_t *received_ns,
    uint32_t *payload_len, const char **topic, size_t *topic_len,
    const char **payload, size_t *stored_len)
{
    const unsigned char  *p = (const unsigned char *) body;
    uint64_t              ns = 0;
    int                   i;

    if (len < WK_MSG_HDR) {
        return -1;
    }

    for (i = 0; i < 8; i++) {
        ns |= (uint64_t) p[i] << (8 * i);
    }

    *received_ns = (int64_t) ns;
    *payload_len = (uint32_t) p[8] | (uint32_t) p[9] << 8
                   | (uint32_t) p[10] << 16 | (uint32_t) p[11] << 24;
    *topic_len = (size_t) p[12] | (size_t) p[13] << 8;

    if (*topic_len > len - WK_MSG_HDR) {
        return -1;
    }

    *topic = body + WK_MSG_HDR;
    *payload = *topic + *topic_len;
    *stored_len = len - WK_MSG_HDR - *topic_len;

    return *stored_len <= *payload_len ? 0 : -1;
}


/* the PostgreSQL queue */

static int
wk_writer_pgq(wk_writer_t *w, const wk_pgq_rec_t *rec)
{
    struct iovec  iov;

    if (wk_pgq_encode(&w->scratch, rec) != 0) {
        wk_log0(w->log, WK_LOG_ERROR, WK_WRITER_LOGGER,
                "cannot encode a PostgreSQL queue record: out of memory");
        return -1;
    }

    iov.iov_base = w->scratch.p;
    iov.iov_len = w->scratch.len;

    /* blocks while the queue is full (PostgreSQL down for long): then the
     * telemetry spool fills, then the broker holds the messages */
    while (wk_spool_append(w->pgq, &iov, 1) != 0) {
        if (wk_writer_expired(w)) {
            return -1;
        }
        wk_sleep_ms(1000);
    }

    w->pgq_pending++;

    return 0;
}


static int
wk_writer_dead_letter(wk_writer_t *w, wk_dl_reason_e reason,
    const char *detail, int64_t received_ns, const char *topic,
    size_t topic_len, const char *payload, size_t payload_len)
{
    wk_pgq_rec_t  rec;
    char          t[1024];
    size_t        tlen;

    tlen = wk_sanitize_utf8(t, sizeof(t), topic, topic_len);
    t[tlen] = '\0';

    memset(&rec, 0, sizeof(rec));
    rec.type = WK_PGQ_DEAD_LETTER;
    rec.received_ns = received_ns;
    rec.key = wk_msg_key(received_ns, topic, topic_len, payload, payload_len);
    rec.payload_size = w->payload_size;
    rec.reason = (wk_str_t) { wk_dl_reasons[reason],
                              strlen(wk_dl_reasons[reason]) };
    rec.detail = (wk_str_t) { detail, strlen(detail) };
    rec.topic = (wk_str_t) { t, tlen };
    rec.payload = (wk_str_t) { payload, payload_len };

    atomic_fetch_add(&w->metrics->dead_letters[reason], 1);

    wk_log(w->log, WK_LOG_WARNING, WK_WRITER_LOGGER, "dead letter",
           WK_STR("reason", wk_dl_reasons[reason]), WK_STR("detail", detail),
           WK_STR("topic", t[0] ? t : ""));

    return wk_writer_pgq(w, &rec);
}


/* alerts */

static void
wk_writer_alerts(wk_writer_t *w, const gn_topic_t *tp, const char *id,
    const gn_reading_t *r, int64_t received_ns)
{
    wk_alert_hit_t  hits[3];
    wk_pgq_rec_t    rec;
    char            json[WK_ALERT_JSON_MAX], topic[128];
    size_t          n, i;
    int             len;

    n = wk_alerts_check(w->thresholds, r, hits);

    for (i = 0; i < n; i++) {
        memset(&rec, 0, sizeof(rec));
        rec.type = WK_PGQ_ALERT;
        rec.received_ns = received_ns;
        rec.reading_ns = r->ts_ns;
        rec.machine_id = (wk_str_t) { id, GN_UUID_LEN };
        rec.factory_id = (wk_str_t) { tp->factory_id, tp->factory_id_len };
        rec.alert_type = (wk_str_t) { hits[i].type, strlen(hits[i].type) };
        rec.value = hits[i].value;
        rec.threshold = hits[i].threshold;

        if (wk_writer_pgq(w, &rec) != 0) {
            continue;
        }

        atomic_fetch_add(&w->metrics->alerts, 1);

        len = wk_alert_json(json, sizeof(json), hits[i].type, id,
                            GN_UUID_LEN, tp->factory_id, tp->factory_id_len,
                            hits[i].value, hits[i].threshold, r->ts_ns);

        snprintf(topic, sizeof(topic), "factory/%.*s/alerts",
                 (int) tp->factory_id_len, tp->factory_id);

        if (len > 0) {
            (void) wk_mqtt_publish(w->mqtt, topic, json, (size_t) len);
        }
    }
}


/* late readings: the tier windows to re-aggregate after the write */

static size_t
wk_dirty_slot(const wk_dirty_t *t, size_t cap, const char *id)
{
    uint64_t  h = 0xcbf29ce484222325ULL;
    size_t    i;

    for (i = 0; i < GN_UUID_LEN; i++) {
        h = (h ^ (unsigned char) id[i]) * 0x100000001b3ULL;
    }

    for (i = (size_t) h & (cap - 1); t[i].id[0] != '\0'
         && memcmp(t[i].id, id, GN_UUID_LEN) != 0; i = (i + 1) & (cap - 1))
    {
        /* void */
    }

    return i;
}


static int
wk_writer_dirty(wk_writer_t *w, const char *id, int64_t ts_ns)
{
    gn_tier_dirty_t   d;
    wk_dirty_t       *t, *n;
    size_t            i, k, cap;
    int64_t           now, settle;

    if (!w->conf->reaggregate) {
        return 0;
    }

    now = wk_now_real_ns();
    settle = (int64_t) w->conf->late_settle_s * GN_NS_PER_SEC;

    gn_tier_dirty_init(&d);
    gn_tier_dirty_add(&d, ts_ns, now, settle);

    if (!gn_tier_dirty_any(&d)) {
        return 0;       /* the usual case: the windows are still open */
    }

    if (2 * (w->ndirty + 1) > w->dirty_cap) {
        cap = w->dirty_cap ? w->dirty_cap * 2 : 64;
        n = calloc(cap, sizeof(*n));
        if (n == NULL) {
            return -1;
        }

        for (i = 0; i < w->dirty_cap; i++) {
            if (w->dirty[i].id[0] != '\0') {
                k = wk_dirty_slot(n, cap, w->dirty[i].id);
                n[k] = w->dirty[i];
            }
        }

        free(w->dirty);
        w->dirty = n;
        w->dirty_cap = cap;
    }

    t = &w->dirty[wk_dirty_slot(w->dirty, w->dirty_cap, id)];

    if (t->id[0] == '\0') {
        memcpy(t->id, id, GN_UUID_LEN + 1);
        gn_tier_dirty_init(&t->d);
        w->ndirty++;
    }

    gn_tier_dirty_add(&t->d, ts_ns, now, settle);

    return 0;
}


/* one record */

static int
wk_writer_line(wk_writer_t *w, const wk_machine_t *m, const gn_reading_t *r,
    const wk_spool_rec_t *rec)
{
    gn_series_t   s;
    wk_line_t    *idx;
    size_t        len, cap;
    char         *end;

    s.machine_id = m->id;
    s.location = m->location;
    s.location_len = m->location_len;
    s.sensor_type = m->sensor_type;
    s.sensor_type_len = m->sensor_type_len;

    len = gn_reading_line_len(&s, r);

    if (w->n == w->cap) {
        cap = w->cap ? w->cap * 2 : 1024;
        idx = realloc(w->idx, cap * sizeof(*idx));
        if (idx == NULL) {
            return -1;
        }
        w->idx = idx;
        w->cap = cap;
    }

    if (wk_buf_reserve(&w->lines, len) != 0) {
        return -1;
    }

    end = gn_reading_line(w->lines.p + w->lines.len, &s, r);

    w->idx[w->n].off = w->lines.len;
    w->idx[w->n].len = (size_t) (end - (w->lines.p + w->lines.len));
    w->idx[w->n].pos = rec->pos;
    w->lines.len += w->idx[w->n].len;
    w->n++;

    return 0;
}


static void
wk_writer_errors_text(const gn_errors_t *errs, char *buf, size_t size)
{
    size_t  i, n = 0;
    int     k;

    buf[0] = '\0';

    for (i = 0; i < errs->n && n < size; i++) {
        k = snprintf(buf + n, size - n, "%s%s: %s", i ? "; " : "",
                     errs->items[i].field, errs->items[i].error);
        if (k < 0) {
            break;
        }
        n += (size_t) k;
    }
}


static int
wk_writer_telemetry(wk_writer_t *w, const wk_spool_rec_t *rec,
    const gn_topic_t *tp, int64_t received_ns, uint32_t payload_len,
    const char *topic, size_t topic_len, const char *payload,
    size_t stored_len)
{
    gn_error_t            items[4];
    gn_errors_t           errs = { items, 4, 0, 0 };
    gn_reading_t          r;
    gn_payload_status_e   st;
    const wk_machine_t   *m;
    char                  detail[512], id[GN_UUID_LEN + 1];
    wk_dl_reason_e        reason;
    int                   rc;

    memset(items, 0, sizeof(items));

    if (payload_len > (uint32_t) w->conf->payload_max_bytes) {
        snprintf(detail, sizeof(detail),
                 "payload of %u bytes, over payload_max_bytes %d",
                 payload_len, w->conf->payload_max_bytes);
        return wk_writer_dead_letter(w, WK_DL_PAYLOAD_TOO_LARGE, detail,
                                     received_ns, topic, topic_len, payload,
                                     stored_len);
    }

    st = gn_payload_parse(payload, stored_len,
                          (size_t) w->conf->payload_max_bytes, &r, &errs);

    if (st != GN_PAYLOAD_OK) {
        wk_writer_errors_text(&errs, detail, sizeof(detail));
        reason = st == GN_PAYLOAD_TOO_LARGE ? WK_DL_PAYLOAD_TOO_LARGE
                 : st == GN_PAYLOAD_NOT_JSON ? WK_DL_INVALID_JSON
                 : WK_DL_INVALID_PAYLOAD;
        return wk_writer_dead_letter(w, reason, detail, received_ns, topic,
                                     topic_len, payload, stored_len);
    }

    gn_uuid_lower(id, tp->machine_id);
    id[GN_UUID_LEN] = '\0';

    wk_registry_rdlock(w->registry);

    m = wk_registry_find(w->registry, id);

    if (m == NULL) {
        wk_registry_unlock(w->registry);
        snprintf(detail, sizeof(detail), "machine %s is not registered", id);
        return wk_writer_dead_letter(w, WK_DL_UNKNOWN_MACHINE, detail,
                                     received_ns, topic, topic_len, payload,
                                     stored_len);
    }

    if (m->factory_id[0] != '\0'
        && (strlen(m->factory_id) != tp->factory_id_len
            || memcmp(m->factory_id, tp->factory_id, tp->factory_id_len)
               != 0))
    {
        snprintf(detail, sizeof(detail),
                 "machine %s belongs to factory \"%.64s\"", id,
                 m->factory_id);
        wk_registry_unlock(w->registry);
        return wk_writer_dead_letter(w, WK_DL_FACTORY_MISMATCH, detail,
                                     received_ns, topic, topic_len, payload,
                                     stored_len);
    }

    if (!m->taggable) {
        snprintf(detail, sizeof(detail), "location or sensor_type of "
                 "machine %s cannot be an InfluxDB tag value", id);
        wk_registry_unlock(w->registry);
        return wk_writer_dead_letter(w, WK_DL_UNTAGGABLE_MACHINE, detail,
                                     received_ns, topic, topic_len, payload,
                                     stored_len);
    }

    rc = wk_writer_line(w, m, &r, rec);

    if (rc == 0) {
        rc = wk_writer_dirty(w, id, r.ts_ns);
    }

    if (atomic_load(&((wk_machine_t *) m)->seen_ns) < received_ns) {
        atomic_store(&((wk_machine_t *) m)->seen_ns, received_ns);
    }

    wk_registry_unlock(w->registry);

    if (rc != 0) {
        return -1;
    }

    if (received_ns > w->newest_received_ns) {
        w->newest_received_ns = received_ns;
    }

    wk_writer_alerts(w, tp, id, &r, received_ns);

    return 0;
}


#define WK_NSTATUSES  (sizeof(wk_statuses) / sizeof(*wk_statuses))

static int
wk_status_index(const char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < WK_NSTATUSES; i++) {
        if (strlen(wk_statuses[i]) == len
            && memcmp(s, wk_statuses[i], len) == 0)
        {
            return (int) i;
        }
    }

    return -1;
}


int
wk_status_parse(const char *payload, size_t len)
{
    cJSON        *root;
    const cJSON  *s;
    int           i = -1;

    if (len <= WK_STATUS_MAX && memchr(payload, '{', len) == NULL) {
        return wk_status_index(payload, len);
    }

    root = cJSON_ParseWithLength(payload, len);
    s = cJSON_GetObjectItemCaseSensitive(root, "status");

    if (cJSON_IsString(s)) {
        i = wk_status_index(s->valuestring, strlen(s->valuestring));
    }

    cJSON_Delete(root);

    return i;
}


const char *
wk_status_name(int i)
{
    return i >= 0 && (size_t) i < WK_NSTATUSES ? wk_statuses[i] : NULL;
}


/* status payload: {"status":"maintenance"} or the bare word */
static int
wk_writer_status(wk_writer_t *w, const gn_topic_t *tp, int64_t received_ns,
    const char *topic, size_t topic_len, const char *payload,
    size_t stored_len, uint32_t payload_len)
{
    wk_pgq_rec_t   rec;
    char           id[GN_UUID_LEN + 1];
    int            known, i = -1;

    if (payload_len == stored_len) {
        i = wk_status_parse(payload, stored_len);
    }

    if (i < 0) {
        return wk_writer_dead_letter(w, WK_DL_INVALID_STATUS,
                                     "expected {\"status\":\"active|inactive|"
                                     "maintenance|error\"}", received_ns,
                                     topic, topic_len, payload, stored_len);
    }

    gn_uuid_lower(id, tp->machine_id);
    id[GN_UUID_LEN] = '\0';

    wk_registry_rdlock(w->registry);
    known = wk_registry_find(w->registry, id) != NULL;
    wk_registry_unlock(w->registry);

    if (!known) {
        return wk_writer_dead_letter(w, WK_DL_UNKNOWN_MACHINE,
                                     "machine is not registered",
                                     received_ns, topic, topic_len, payload,
                                     stored_len);
    }

    memset(&rec, 0, sizeof(rec));
    rec.type = WK_PGQ_STATUS;
    rec.received_ns = received_ns;
    rec.machine_id = (wk_str_t) { id, GN_UUID_LEN };
    rec.status = (wk_str_t) { wk_statuses[i], strlen(wk_statuses[i]) };

    return wk_writer_pgq(w, &rec);
}


static int
wk_writer_record(wk_writer_t *w, const wk_spool_rec_t *rec)
{
    gn_topic_t    tp;
    int64_t       received_ns;
    uint32_t      payload_len;
    const char   *topic, *payload;
    size_t        topic_len, stored_len;
    char          detail[128];
    int           rc;

    atomic_fetch_add(&w->metrics->processed, 1);

    if (wk_msg_decode(rec->body, rec->len, &received_ns, &payload_len,
                      &topic, &topic_len, &payload, &stored_len) != 0)
    {
        wk_log(w->log, WK_LOG_ERROR, WK_WRITER_LOGGER,
               "undecodable spool record skipped",
               WK_INT("segment", rec->pos.seg),
               WK_INT("offset", rec->pos.off));
        return 0;
    }

    w->payload_size = payload_len;

    rc = gn_topic_parse(topic, topic_len, &tp);

    if (rc != GN_TOPIC_OK) {
        snprintf(detail, sizeof(detail), "%s", gn_topic_strerror(rc));
        return wk_writer_dead_letter(w, WK_DL_INVALID_TOPIC, detail,
                                     received_ns, topic, topic_len, payload,
                                     stored_len);
    }

    if (tp.kind == GN_TOPIC_STATUS) {
        return wk_writer_status(w, &tp, received_ns, topic, topic_len,
                                payload, stored_len, payload_len);
    }

    return wk_writer_telemetry(w, rec, &tp, received_ns, payload_len, topic,
                               topic_len, payload, stored_len);
}


/* InfluxDB */

static int64_t
wk_writer_backoff(wk_writer_t *w, int attempt)
{
    int64_t  d = WK_WRITER_RETRY_MIN;

    while (attempt-- > 0 && d < w->conf->retry_max_ms) {
        d *= 2;
    }

    if (d > w->conf->retry_max_ms) {
        d = w->conf->retry_max_ms;
    }

    /* "equal jitter": half fixed, half random, so that several workers
     * do not come back in step */
    return d / 2 + (int64_t) (rand_r(&w->seed) % (unsigned) (d / 2 + 1));
}


/* sleeps ms, in slices, unless the drain deadline passes: 0 / -1 */
static int
wk_writer_wait(wk_writer_t *w, int64_t ms)
{
    int64_t  until = wk_now_ms() + ms;

    while (wk_now_ms() < until) {
        if (wk_writer_expired(w)) {
            return -1;
        }
        wk_sleep_ms(until - wk_now_ms() < 100 ? until - wk_now_ms() : 100);
    }

    return 0;
}


static int wk_writer_range(wk_writer_t *w, size_t lo, size_t hi);


static int
wk_writer_refused(wk_writer_t *w, size_t i)
{
    wk_spool_pos_t   pos = w->idx[i].pos;
    wk_spool_rec_t   rec;
    int64_t          received_ns;
    uint32_t         payload_len;
    const char      *topic, *payload;
    size_t           topic_len, stored_len;
    char             detail[WK_INFLUX_ERROR_MAX + 32];

    snprintf(detail, sizeof(detail), "InfluxDB %ld: %s", w->influx.status,
             w->influx.error);

    if (wk_spool_next(w->spool, &pos, &rec, 0) != 1
        || wk_msg_decode(rec.body, rec.len, &received_ns, &payload_len,
                         &topic, &topic_len, &payload, &stored_len) != 0)
    {
        wk_log(w->log, WK_LOG_ERROR, WK_WRITER_LOGGER,
               "cannot re-read a refused record",
               WK_INT("segment", pos.seg), WK_INT("offset", pos.off));
        return -1;
    }

    w->payload_size = payload_len;

    return wk_writer_dead_letter(w, WK_DL_INFLUX_REJECTED, detail,
                                 received_ns, topic, topic_len, payload,
                                 stored_len);
}


static int
wk_writer_range(wk_writer_t *w, size_t lo, size_t hi)
{
    wk_influx_rc_e  rc;
    size_t          off, len, mid;
    int             attempt = 0;

    off = w->idx[lo].off;
    len = w->idx[hi - 1].off + w->idx[hi - 1].len - off;

    for ( ;; ) {
        atomic_fetch_add(&w->metrics->influx_requests, 1);

        rc = wk_influx_write(&w->influx, w->lines.p + off, len);

        switch (rc) {
        case WK_INFLUX_OK:
            atomic_store(&w->metrics->influx_up, 1);
            atomic_store(&w->metrics->last_write_ms,
                         wk_now_real_ns() / 1000000);
            atomic_fetch_add(&w->metrics->written, hi - lo);
            if (attempt > 0) {
                wk_log(w->log, WK_LOG_INFO, WK_WRITER_LOGGER,
                       "InfluxDB write succeeded after retries",
                       WK_INT("attempts", attempt + 1),
                       WK_INT("points", hi - lo));
            }
            return 0;

        case WK_INFLUX_REJECTED:
            /* the valid lines of a partial write are stored; writing them
             * again is harmless (same series and time overwrite), so
             * halve until the refused lines are alone */
            atomic_store(&w->metrics->influx_up, 1);

            if (hi - lo == 1) {
                return wk_writer_refused(w, lo);
            }

            mid = lo + (hi - lo) / 2;
            return wk_writer_range(w, lo, mid) == 0
                   && wk_writer_range(w, mid, hi) == 0 ? 0 : -1;

        case WK_INFLUX_NO_DB:
            if (wk_influx_create_db(&w->influx) == WK_INFLUX_OK) {
                continue;
            }
            /* fall through */

        case WK_INFLUX_RETRY:
        default:
            atomic_store(&w->metrics->influx_up, 0);
            atomic_fetch_add(&w->metrics->influx_retries, 1);

            wk_log(w->log, attempt == 0 ? WK_LOG_WARNING : WK_LOG_DEBUG,
                   WK_WRITER_LOGGER, "InfluxDB write failed, retrying",
                   WK_INT("status", w->influx.status),
                   WK_STR("error", w->influx.error),
                   WK_INT("attempt", attempt + 1),
                   WK_INT("points", hi - lo));

            if (wk_writer_wait(w, wk_writer_backoff(w, attempt)) != 0) {
                return -1;
            }
            attempt++;
        }
    }
}


/* re-aggregates the closed windows late readings touched (gn_tiers.h):
 * retried like a write; the spool is released only after it */
static int
wk_writer_reaggregate(wk_writer_t *w)
{
    char     q[GN_TIER_REAGGREGATE_MAX];
    size_t   i;
    int      attempt;

    for (i = 0; i < w->dirty_cap; i++) {
        if (w->dirty[i].id[0] == '\0'
            || gn_tier_reaggregate(q, sizeof(q), w->dirty[i].id,
                                   &w->dirty[i].d) == 0)
        {
            continue;
        }

        for (attempt = 0;
             wk_influx_query(&w->influx, q) != WK_INFLUX_OK;
             attempt++)
        {
            atomic_fetch_add(&w->metrics->influx_retries, 1);

            wk_log(w->log, attempt == 0 ? WK_LOG_WARNING : WK_LOG_DEBUG,
                   WK_WRITER_LOGGER, "re-aggregation failed, retrying",
                   WK_STR("machine_id", w->dirty[i].id),
                   WK_INT("status", w->influx.status),
                   WK_STR("error", w->influx.error),
                   WK_INT("attempt", attempt + 1));

            if (wk_writer_wait(w, wk_writer_backoff(w, attempt)) != 0) {
                return -1;
            }
        }

        atomic_fetch_add(&w->metrics->reaggregations, 1);
    }

    if (w->ndirty > 0) {
        memset(w->dirty, 0, w->dirty_cap * sizeof(*w->dirty));
        w->ndirty = 0;
    }

    return 0;
}


/* writes the batch, syncs the queue, releases the spool: 0, or -1 when
 * the drain deadline interrupted it (the spool keeps everything) */
static int
wk_writer_flush(wk_writer_t *w)
{
    if (!w->has_end) {
        return 0;
    }

    if (w->n > 0 && wk_writer_range(w, 0, w->n) != 0) {
        return -1;
    }

    if (w->ndirty > 0 && wk_writer_reaggregate(w) != 0) {
        return -1;
    }

    if (w->pgq_pending > 0) {
        while (wk_spool_sync(w->pgq) != 0) {
            if (wk_writer_wait(w, 1000) != 0) {
                return -1;
            }
        }
        w->pgq_pending = 0;
    }

    wk_spool_release(w->spool, w->end);

    if (w->n > 0) {
        atomic_store(&w->metrics->lag_ms,
                     (wk_now_real_ns() - w->newest_received_ns) / 1000000);
    }

    atomic_store(&w->metrics->spool_bytes, wk_spool_bytes(w->spool));

    w->n = 0;
    w->lines.len = 0;
    w->has_end = 0;
    w->newest_received_ns = 0;

    return 0;
}


static void *
wk_writer_run(void *arg)
{
    wk_writer_t     *w = arg;
    wk_spool_rec_t   rec;
    int64_t          wait;
    int              rc, draining;

    while (!wk_writer_expired(w)) {
        if (!atomic_load(&w->registry->loaded)) {
            /* nothing can be validated yet; the spool keeps it */
            if (atomic_load(&w->draining)) {
                break;
            }
            wk_sleep_ms(100);
            continue;
        }

        draining = atomic_load(&w->draining);

        /*
         * With a batch open, poll in short naps instead of being woken by
         * every append: one wakeup per message costs a context switch per
         * message, on the cores paho and the broker need
         */
        rc = wk_spool_next(w->spool, &w->cur, &rec,
                           w->has_end || draining ? 0 : 200);

        if (rc == 0 && w->has_end && !draining) {
            wait = w->batch_started_ms + w->conf->batch_max_ms - wk_now_ms();

            if (wait > 0) {
                wk_sleep_ms(wait < WK_WRITER_NAP_MS ? wait : WK_WRITER_NAP_MS);
                continue;
            }
        }

        if (rc < 0) {
            /* a damaged record (disk trouble): skip the rest of its
             * segment, loudly */
            wk_log(w->log, WK_LOG_ERROR, WK_WRITER_LOGGER,
                   "skipping the rest of a damaged segment",
                   WK_INT("segment", w->cur.seg));
            w->cur.seg++;
            w->cur.off = 0;
            continue;
        }

        if (rc == 1) {
            if (!w->has_end) {
                w->batch_started_ms = wk_now_ms();
            }

            if (wk_writer_record(w, &rec) != 0) {
                if (wk_writer_expired(w)) {
                    break;
                }

                /* out of memory: the record again, later (a line it
                 * already added is written twice, harmlessly) */
                w->cur = rec.pos;
                wk_sleep_ms(100);
                continue;
            }

            w->end = rec.end;
            w->has_end = 1;

            if (w->n < (size_t) w->conf->batch_max_points) {
                continue;
            }
        }

        if (!w->has_end) {
            if (atomic_load(&w->draining)
                && wk_spool_caught_up(w->spool, &w->cur))
            {
                break;
            }
            continue;
        }

        if (rc == 1 || atomic_load(&w->draining)
            || wk_now_ms() - w->batch_started_ms >= w->conf->batch_max_ms)
        {
            if (wk_writer_flush(w) != 0) {
                break;
            }
        }
    }

    atomic_store(&w->done, 1);

    return NULL;
}


static int
wk_writer_abort_check(void *ctx)
{
    return wk_writer_expired(ctx);
}


int
wk_writer_start(wk_writer_t *w)
{
    w->seed = (unsigned) getpid() ^ (unsigned) wk_now_ms();
    atomic_init(&w->draining, 0);
    atomic_init(&w->deadline_ms, 0);
    atomic_init(&w->done, 0);

    if (wk_influx_init(&w->influx, w->conf, w->log) != 0) {
        wk_log0(w->log, WK_LOG_ERROR, WK_WRITER_LOGGER,
                "cannot set up the InfluxDB client");
        return -1;
    }

    w->influx.abort_check = wk_writer_abort_check;
    w->influx.abort_ctx = w;

    if (pthread_create(&w->thread, NULL, wk_writer_run, w) != 0) {
        wk_influx_destroy(&w->influx);
        return -1;
    }

    (void) pthread_setname_np(w->thread, "gn-writer");

    w->started = 1;

    return 0;
}


void
wk_writer_stop(wk_writer_t *w, int64_t deadline_ms)
{
    if (!w->started) {
        return;
    }

    atomic_store(&w->deadline_ms, deadline_ms);
    atomic_store(&w->draining, 1);

    pthread_join(w->thread, NULL);
    w->started = 0;

    if (!wk_spool_caught_up(w->spool, &w->cur) || w->has_end) {
        wk_log(w->log, WK_LOG_WARNING, WK_WRITER_LOGGER,
               "stopped with records left in the spool: replayed at the "
               "next start", WK_INT("spool_bytes", wk_spool_bytes(w->spool)));
    } else {
        wk_log0(w->log, WK_LOG_INFO, WK_WRITER_LOGGER, "spool drained");
    }

    wk_influx_destroy(&w->influx);
    wk_buf_free(&w->lines);
    wk_buf_free(&w->scratch);
    free(w->idx);
    free(w->dirty);
    w->idx = NULL;
    w->dirty = NULL;
}
