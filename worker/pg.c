/*
 * The PostgreSQL thread, see pg.h.
 */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "clock.h"
#include "pg.h"
#include "pgq.h"


#define WK_PG_LOGGER        "worker.pg"
#define WK_PG_BATCH         500
#define WK_PG_SEEN_MAX      4096
#define WK_PG_POLL_MS       100
#define WK_PG_RETRY_MAX     10000

#define WK_PG_EPOCH_US(n)   "(timestamptz 'epoch' + (" n ")::bigint " \
                            "* interval '1 microsecond')"

static const char  wk_sql_dead_letter[] =
    "INSERT INTO ingest_dead_letters (msg_key, source, topic, payload, "
    "payload_size, reason, detail, worker_id, received_at) "
    "VALUES ($1::bigint, 'mqtt', $2, $3::bytea, $4::int, $5, $6, $7, "
    WK_PG_EPOCH_US("$8") ") ON CONFLICT (msg_key) DO NOTHING";

static const char  wk_sql_alert[] =
    "INSERT INTO alerts (machine_id, factory_id, alert_type, value, "
    "threshold, reading_time, received_at, worker_id) "
    "VALUES ($1::uuid, $2, $3, $4::float8, $5::float8, "
    WK_PG_EPOCH_US("$6") ", " WK_PG_EPOCH_US("$7") ", $8) "
    "ON CONFLICT (machine_id, alert_type, reading_time) DO NOTHING";

static const char  wk_sql_status[] =
    "UPDATE machine_metadata SET status = $2 "
    "WHERE id = $1::uuid AND status IS DISTINCT FROM $2";

static const char  wk_sql_last_seen[] =
    "UPDATE machine_metadata m SET last_seen = " WK_PG_EPOCH_US("v.us")
    " FROM unnest($1::uuid[], $2::bigint[]) AS v(id, us) "
    "WHERE m.id = v.id AND (m.last_seen IS NULL OR m.last_seen < "
    WK_PG_EPOCH_US("v.us") ")";

static const char  wk_sql_inactive[] =
    "INSERT INTO alerts (machine_id, factory_id, alert_type, value, "
    "threshold, reading_time, worker_id) "
    "SELECT m.id, m.factory_id, 'inactive', "
    "extract(epoch FROM now() - m.last_seen), $1::float8, m.last_seen, $2 "
    "FROM machine_metadata m WHERE m.status = 'active' "
    "AND m.last_seen < now() - make_interval(secs => $1::float8) "
    "ON CONFLICT (machine_id, alert_type, reading_time) DO NOTHING "
    "RETURNING machine_id::text, factory_id, value, threshold, "
    "(extract(epoch FROM reading_time) * 1000000)::bigint";

static const char  wk_sql_machines[] =
    "SELECT id::text, factory_id, location, sensor_type "
    "FROM machine_metadata";
static const char  wk_sql_machines_old[] =
    "SELECT id::text, '', location, sensor_type FROM machine_metadata";


static void
wk_pg_sleep(wk_pg_t *pg, int64_t ms)
{
    struct timespec  ts;
    int64_t          until = wk_now_ms() + ms, left;

    while (!atomic_load(&pg->stop) && (left = until - wk_now_ms()) > 0) {
        left = left > 100 ? 100 : left;
        ts.tv_sec = 0;
        ts.tv_nsec = left * 1000000;
        nanosleep(&ts, NULL);
    }
}


static void
wk_pg_error(wk_pg_t *pg, const char *what, const PGresult *res)
{
    const char  *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
                             : NULL;

    atomic_fetch_add(&pg->metrics->pg_errors, 1);

    wk_log(pg->log, WK_LOG_ERROR, WK_PG_LOGGER, what,
           WK_STR("sqlstate", state),
           WK_STR("error", pg->conn ? PQerrorMessage(pg->conn) : ""));
}


static int
wk_pg_broken(wk_pg_t *pg)
{
    return pg->conn == NULL || PQstatus(pg->conn) != CONNECTION_OK;
}


/* a statement without parameters that returns no rows */
static int
wk_pg_command(wk_pg_t *pg, const char *sql)
{
    PGresult  *res = PQexec(pg->conn, sql);
    int        ok = PQresultStatus(res) == PGRES_COMMAND_OK;

    if (!ok) {
        wk_pg_error(pg, sql, res);
    }

    PQclear(res);

    return ok ? 0 : -1;
}


static int
wk_pg_undefined_column(const PGresult *res)
{
    const char  *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

    return state && strcmp(state, "42703") == 0;
}


/* registry */

static wk_machine_t *
wk_pg_machine(const PGresult *res, int row)
{
    return wk_machine_new(PQgetvalue(res, row, 0), PQgetvalue(res, row, 1),
                          PQgetvalue(res, row, 2), PQgetvalue(res, row, 3));
}


static int
wk_pg_load_registry(wk_pg_t *pg)
{
    PGresult       *res;
    wk_machine_t  **items;
    int             i, n, k = 0;

    res = PQexec(pg->conn, pg->no_factory_column ? wk_sql_machines_old
                                                 : wk_sql_machines);

    if (PQresultStatus(res) != PGRES_TUPLES_OK && wk_pg_undefined_column(res)
        && !pg->no_factory_column)
    {
        /* a database without sql/007: no factory check */
        wk_log0(pg->log, WK_LOG_WARNING, WK_PG_LOGGER,
                "machine_metadata has no factory_id column: topics are not "
                "checked against the machine's factory");
        PQclear(res);
        pg->no_factory_column = 1;
        res = PQexec(pg->conn, wk_sql_machines_old);
    }

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        wk_pg_error(pg, "cannot load the machine registry", res);
        PQclear(res);
        return -1;
    }

    n = PQntuples(res);
    items = calloc((size_t) n + 1, sizeof(*items));
    if (items == NULL) {
        PQclear(res);
        return -1;
    }

    for (i = 0; i < n; i++) {
        items[k] = wk_pg_machine(res, i);
        if (items[k]) {
            k++;
        }
    }

    PQclear(res);

    wk_registry_replace(pg->registry, items, (size_t) k);
    atomic_store(&pg->metrics->registry_machines, (unsigned long long) k);

    pg->reload_at = wk_now_ms() + (int64_t) pg->conf->registry_ttl * 1000;

    wk_log(pg->log, WK_LOG_INFO, WK_PG_LOGGER, "machine registry loaded",
           WK_INT("machines", k));

    return 0;
}


static int
wk_pg_load_machine(wk_pg_t *pg, const char *id)
{
    const char    *params[1] = { id };
    char           sql[256];
    PGresult      *res;
    wk_machine_t  *m;

    snprintf(sql, sizeof(sql), "%s WHERE id = $1::uuid",
             pg->no_factory_column ? wk_sql_machines_old : wk_sql_machines);

    res = PQexecParams(pg->conn, sql, 1, NULL, params, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        wk_pg_error(pg, "cannot load a machine", res);
        PQclear(res);
        return -1;
    }

    if (PQntuples(res) == 0) {
        wk_registry_remove(pg->registry, id);

    } else {
        m = wk_pg_machine(res, 0);
        if (m) {
            wk_registry_upsert(pg->registry, m);
        }
    }

    PQclear(res);

    atomic_store(&pg->metrics->registry_machines,
                 wk_registry_count(pg->registry));

    wk_log(pg->log, WK_LOG_DEBUG, WK_PG_LOGGER, "machine reloaded",
           WK_STR("machine_id", id));

    return 0;
}


static int
wk_pg_load_thresholds(wk_pg_t *pg)
{
    PGresult  *res;
    int        i;

    res = PQexec(pg->conn, "SELECT setting_name, setting_value "
                           "FROM system_config");

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        wk_pg_error(pg, "cannot load system_config", res);
        PQclear(res);
        return -1;
    }

    for (i = 0; i < PQntuples(res); i++) {
        if (wk_thresholds_set(pg->thresholds, PQgetvalue(res, i, 0),
                              PQgetvalue(res, i, 1)) < 0)
        {
            wk_log(pg->log, WK_LOG_WARNING, WK_PG_LOGGER,
                   "threshold is not a number: ignored",
                   WK_STR("setting", PQgetvalue(res, i, 0)),
                   WK_STR("value", PQgetvalue(res, i, 1)));
        }
    }

    PQclear(res);

    return 0;
}


/* NOTIFY */

static int
wk_pg_notify(wk_pg_t *pg, const PGnotify *n)
{
    cJSON        *root;
    const cJSON  *a, *b;
    int           rc = 0, set;

    root = cJSON_Parse(n->extra);

    if (strcmp(n->relname, "gonsters_machines") == 0) {
        a = cJSON_GetObjectItemCaseSensitive(root, "op");
        b = cJSON_GetObjectItemCaseSensitive(root, "machine_id");

        if (!cJSON_IsString(a) || !cJSON_IsString(b)) {
            rc = wk_pg_load_registry(pg);

        } else if (strcmp(a->valuestring, "delete") == 0) {
            wk_registry_remove(pg->registry, b->valuestring);
            atomic_store(&pg->metrics->registry_machines,
                         wk_registry_count(pg->registry));

        } else {
            rc = wk_pg_load_machine(pg, b->valuestring);
        }

    } else if (strcmp(n->relname, "gonsters_config") == 0) {
        a = cJSON_GetObjectItemCaseSensitive(root, "setting");
        b = cJSON_GetObjectItemCaseSensitive(root, "value");

        if (cJSON_IsString(a) && cJSON_IsString(b)) {
            set = wk_thresholds_set(pg->thresholds, a->valuestring,
                                    b->valuestring);
            if (set != 0) {
                wk_log(pg->log, set > 0 ? WK_LOG_INFO : WK_LOG_WARNING,
                       WK_PG_LOGGER,
                       set > 0 ? "threshold changed"
                               : "threshold is not a number: ignored",
                       WK_STR("setting", a->valuestring),
                       WK_STR("value", b->valuestring));
            }

        } else {
            rc = wk_pg_load_thresholds(pg);
        }
    }

    cJSON_Delete(root);

    return rc;
}


static int
wk_pg_notifications(wk_pg_t *pg, int wait_ms)
{
    struct pollfd   pfd;
    PGnotify       *n;
    int             rc = 0;

    pfd.fd = PQsocket(pg->conn);
    pfd.events = POLLIN;
    pfd.revents = 0;

    if (wait_ms > 0 && poll(&pfd, 1, wait_ms) < 0 && errno != EINTR) {
        return -1;
    }

    if (!PQconsumeInput(pg->conn)) {
        wk_pg_error(pg, "connection lost", NULL);
        return -1;
    }

    while ((n = PQnotifies(pg->conn)) != NULL) {
        if (wk_pg_notify(pg, n) != 0) {
            rc = -1;
        }
        PQfreemem(n);
    }

    return rc;
}


/* the queue */

static int
wk_pg_exec(wk_pg_t *pg, const char *sql, int n, const char *const *values,
    const int *lengths, const int *formats)
{
    PGresult  *res;
    int        ok;

    res = PQexecParams(pg->conn, sql, n, NULL, values, lengths, formats, 0);
    ok = PQresultStatus(res) == PGRES_COMMAND_OK;

    if (!ok) {
        wk_pg_error(pg, "queue statement failed", res);
    }

    PQclear(res);

    return ok ? 0 : -1;
}


static int
wk_pg_apply(wk_pg_t *pg, const char *body, size_t len)
{
    wk_pgq_rec_t  r;
    const char   *v[8];
    int           l[8], f[8] = { 0 };
    char          key[24], size[24], recv[24], reading[24], val[40],
                  thr[40], detail[2048], *t[6];
    size_t        i, dlen;

    if (wk_pgq_decode(body, len, &r) != 0) {
        wk_log0(pg->log, WK_LOG_ERROR, WK_PG_LOGGER,
                "undecodable queue record skipped");
        return 0;
    }

    snprintf(recv, sizeof(recv), "%" PRId64, r.received_ns / 1000);

    switch (r.type) {
    case WK_PGQ_DEAD_LETTER:
        snprintf(key, sizeof(key), "%" PRId64, (int64_t) r.key);
        snprintf(size, sizeof(size), "%" PRIu64, r.payload_size);
        dlen = wk_sanitize_utf8(detail, sizeof(detail), r.detail.p,
                                r.detail.len);
        detail[dlen] = '\0';

        t[0] = strndup(r.topic.p, r.topic.len);
        t[1] = strndup(r.reason.p, r.reason.len);

        v[0] = key; v[1] = t[0]; v[2] = r.payload.p; v[3] = size;
        v[4] = t[1]; v[5] = detail; v[6] = pg->conf->client_id; v[7] = recv;
        for (i = 0; i < 8; i++) {
            l[i] = 0;
        }
        l[2] = (int) r.payload.len;
        f[2] = 1;

        if (t[0] == NULL || t[1] == NULL) {
            free(t[0]);
            free(t[1]);
            return -1;
        }

        i = (size_t) wk_pg_exec(pg, wk_sql_dead_letter, 8, v, l, f);
        free(t[0]);
        free(t[1]);
        return (int) i;

    case WK_PGQ_ALERT:
        snprintf(reading, sizeof(reading), "%" PRId64, r.reading_ns / 1000);
        snprintf(val, sizeof(val), "%.17g", r.value);
        snprintf(thr, sizeof(thr), "%.17g", r.threshold);

        t[0] = strndup(r.machine_id.p, r.machine_id.len);
        t[1] = strndup(r.factory_id.p, r.factory_id.len);
        t[2] = strndup(r.alert_type.p, r.alert_type.len);

        v[0] = t[0]; v[1] = t[1]; v[2] = t[2]; v[3] = val; v[4] = thr;
        v[5] = reading; v[6] = recv; v[7] = pg->conf->client_id;

        i = t[0] && t[1] && t[2]
            ? (size_t) wk_pg_exec(pg, wk_sql_alert, 8, v, NULL, NULL)
            : (size_t) -1;
        free(t[0]);
        free(t[1]);
        free(t[2]);
        return (int) i;

    case WK_PGQ_STATUS:
        t[0] = strndup(r.machine_id.p, r.machine_id.len);
        t[1] = strndup(r.status.p, r.status.len);
        v[0] = t[0]; v[1] = t[1];

        i = t[0] && t[1]
            ? (size_t) wk_pg_exec(pg, wk_sql_status, 2, v, NULL, NULL)
            : (size_t) -1;
        free(t[0]);
        free(t[1]);

        if ((int) i == 0) {
            atomic_fetch_add(&pg->metrics->status_updates, 1);
        }
        return (int) i;
    }

    return 0;
}


/*
 * Up to WK_PG_BATCH records in one transaction.  A record that fails on
 * a healthy connection is retried alone; failing alone too, it is logged
 * and skipped (it can never succeed, and must not wedge the queue).
 */
static int
wk_pg_drain(wk_pg_t *pg)
{
    wk_spool_rec_t  rec;
    wk_spool_pos_t  start = pg->cur, cur = pg->cur;
    int             n = 0, rc;

    rc = wk_spool_next(pg->pgq, &cur, &rec, 0);
    if (rc != 1) {
        return rc;
    }

    if (wk_pg_command(pg, "BEGIN") != 0) {
        return -1;
    }

    do {
        if (wk_pg_apply(pg, rec.body, rec.len) != 0) {
            (void) wk_pg_command(pg, "ROLLBACK");

            if (wk_pg_broken(pg) || n > 0) {
                /* retried from start, smaller, next time */
                return -1;
            }

            /* alone and refused: skip */
            wk_log(pg->log, WK_LOG_ERROR, WK_PG_LOGGER,
                   "queue record refused by PostgreSQL, skipped",
                   WK_INT("segment", rec.pos.seg),
                   WK_INT("offset", rec.pos.off));
            pg->cur = rec.end;
            wk_spool_release(pg->pgq, pg->cur);
            return 0;
        }

        n++;
    } while (n < WK_PG_BATCH
             && (rc = wk_spool_next(pg->pgq, &cur, &rec, 0)) == 1);

    if (wk_pg_command(pg, "COMMIT") != 0) {
        pg->cur = start;
        return -1;
    }

    pg->cur = cur;
    wk_spool_release(pg->pgq, pg->cur);
    atomic_fetch_add(&pg->metrics->pg_applied, (unsigned long long) n);
    atomic_store(&pg->metrics->pg_spool_bytes, wk_spool_bytes(pg->pgq));

    return n;
}


/* last_seen */

static int
wk_pg_last_seen(wk_pg_t *pg)
{
    char        (*ids)[GN_UUID_LEN + 1];
    int64_t      *ns;
    const char   *v[2];
    char         *a, *b, *p, *q;
    size_t        n, i;
    int           rc;
    PGresult     *res;

    if (pg->no_last_seen) {
        return 0;
    }

    ids = malloc(WK_PG_SEEN_MAX * sizeof(*ids));
    ns = malloc(WK_PG_SEEN_MAX * sizeof(*ns));
    a = malloc(WK_PG_SEEN_MAX * (GN_UUID_LEN + 1) + 3);
    b = malloc(WK_PG_SEEN_MAX * 21 + 3);

    if (ids == NULL || ns == NULL || a == NULL || b == NULL) {
        rc = -1;
        goto done;
    }

    n = wk_registry_seen(pg->registry, ids, ns, WK_PG_SEEN_MAX);
    if (n == 0) {
        rc = 0;
        goto done;
    }

    p = a;
    q = b;
    *p++ = '{';
    *q++ = '{';

    for (i = 0; i < n; i++) {
        p += sprintf(p, "%s%s", i ? "," : "", ids[i]);
        q += sprintf(q, "%s%" PRId64, i ? "," : "", ns[i] / 1000);
    }

    *p++ = '}';
    *p = '\0';
    *q++ = '}';
    *q = '\0';

    v[0] = a;
    v[1] = b;

    res = PQexecParams(pg->conn, wk_sql_last_seen, 2, NULL, v, NULL, NULL, 0);
    rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : -1;

    if (rc != 0 && wk_pg_undefined_column(res)) {
        wk_log0(pg->log, WK_LOG_WARNING, WK_PG_LOGGER,
                "machine_metadata has no last_seen column: not written");
        pg->no_last_seen = 1;
        rc = 0;

    } else if (rc != 0) {
        wk_pg_error(pg, "cannot write last_seen", res);

    } else {
        wk_registry_seen_done(pg->registry, ids, ns, n);
    }

    PQclear(res);

done:

    free(ids);
    free(ns);
    free(a);
    free(b);

    return rc;
}


/* inactivity */

static int
wk_pg_inactivity(wk_pg_t *pg)
{
    const char  *v[2];
    char         secs[40], json[WK_ALERT_JSON_MAX], topic[128];
    double       timeout = wk_thresholds_inactivity(pg->thresholds);
    PGresult    *res;
    int          i, len;

    if (pg->no_last_seen || pg->no_factory_column || !(timeout > 0)) {
        return 0;
    }

    snprintf(secs, sizeof(secs), "%.17g", timeout);
    v[0] = secs;
    v[1] = pg->conf->client_id;

    res = PQexecParams(pg->conn, wk_sql_inactive, 2, NULL, v, NULL, NULL, 0);

    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        wk_pg_error(pg, "inactivity check failed", res);
        PQclear(res);
        return -1;
    }

    for (i = 0; i < PQntuples(res); i++) {
        atomic_fetch_add(&pg->metrics->alerts, 1);

        len = wk_alert_json(json, sizeof(json), "inactive",
                            PQgetvalue(res, i, 0),
                            (size_t) PQgetlength(res, i, 0),
                            PQgetvalue(res, i, 1),
                            (size_t) PQgetlength(res, i, 1),
                            strtod(PQgetvalue(res, i, 2), NULL),
                            strtod(PQgetvalue(res, i, 3), NULL),
                            strtoll(PQgetvalue(res, i, 4), NULL, 10) * 1000);

        snprintf(topic, sizeof(topic), "factory/%.64s/alerts",
                 PQgetvalue(res, i, 1));

        wk_log(pg->log, WK_LOG_INFO, WK_PG_LOGGER, "machine inactive",
               WK_STR("machine_id", PQgetvalue(res, i, 0)),
               WK_STR("silent_s", PQgetvalue(res, i, 2)));

        if (len > 0) {
            (void) wk_mqtt_publish(pg->mqtt, topic, json, (size_t) len);
        }
    }

    PQclear(res);

    return 0;
}


/* connection */

static int
wk_pg_connect(wk_pg_t *pg)
{
    static const char *const  keys[] = {
        "connect_timeout", "keepalives_idle", "keepalives_interval",
        "keepalives_count", "dbname", "application_name", NULL
    };
    const char               *values[] = {
        "5", "10", "5", "3", pg->conf->pg_dsn, "gonsters-worker", NULL
    };

    pg->conn = PQconnectdbParams(keys, values, 1);

    if (PQstatus(pg->conn) != CONNECTION_OK) {
        wk_log(pg->log, WK_LOG_WARNING, WK_PG_LOGGER, "connect failed",
               WK_STR("error", PQerrorMessage(pg->conn)),
               WK_INT("retry_in_ms", pg->retry_ms));
        PQfinish(pg->conn);
        pg->conn = NULL;
        return -1;
    }

    if (wk_pg_command(pg, "SET statement_timeout = 10000") != 0
        || wk_pg_command(pg, "LISTEN gonsters_machines") != 0
        || wk_pg_command(pg, "LISTEN gonsters_config") != 0
        || wk_pg_load_thresholds(pg) != 0
        || wk_pg_load_registry(pg) != 0)
    {
        PQfinish(pg->conn);
        pg->conn = NULL;
        return -1;
    }

    wk_log0(pg->log, WK_LOG_INFO, WK_PG_LOGGER, "connected");

    return 0;
}


static void
wk_pg_disconnect(wk_pg_t *pg)
{
    if (pg->conn) {
        PQfinish(pg->conn);
        pg->conn = NULL;
    }

    atomic_store(&pg->metrics->pg_connected, 0);
}


/* one round of work; -1 when the connection must be rebuilt */
static int
wk_pg_round(wk_pg_t *pg, int wait_ms)
{
    int64_t  now;
    int      n;

    if (wk_pg_notifications(pg, wait_ms) != 0 && wk_pg_broken(pg)) {
        return -1;
    }

    do {
        n = wk_pg_drain(pg);
    } while (n > 0 && !atomic_load(&pg->stop));

    if (n < 0 && wk_pg_broken(pg)) {
        return -1;
    }

    now = wk_now_ms();

    if (now >= pg->seen_at) {
        pg->seen_at = now + pg->conf->last_seen_interval_ms;
        (void) wk_pg_last_seen(pg);
    }

    if (now >= pg->inactivity_at) {
        pg->inactivity_at = now + (int64_t) pg->conf->inactivity_check_s
                                  * 1000;
        (void) wk_pg_inactivity(pg);
    }

    if (now >= pg->reload_at) {
        (void) wk_pg_load_registry(pg);
    }

    return wk_pg_broken(pg) ? -1 : 0;
}


static void *
wk_pg_run(void *arg)
{
    wk_pg_t  *pg = arg;

    pg->retry_ms = 100;

    while (!atomic_load(&pg->stop)) {
        if (pg->conn == NULL) {
            if (wk_pg_connect(pg) != 0) {
                atomic_fetch_add(&pg->metrics->pg_errors, 1);
                wk_pg_sleep(pg, pg->retry_ms);
                pg->retry_ms = pg->retry_ms * 2 > WK_PG_RETRY_MAX
                               ? WK_PG_RETRY_MAX : pg->retry_ms * 2;
                continue;
            }

            pg->retry_ms = 100;
            atomic_store(&pg->metrics->pg_connected, 1);
        }

        if (wk_pg_round(pg, WK_PG_POLL_MS) != 0) {
            wk_log0(pg->log, WK_LOG_WARNING, WK_PG_LOGGER,
                    "connection lost: reconnecting");
            wk_pg_disconnect(pg);
        }
    }

    /* last pass: what the writer queued while draining */
    if (pg->conn && !wk_pg_broken(pg)) {
        atomic_store(&pg->stop, 0);
        (void) wk_pg_round(pg, 0);
        (void) wk_pg_last_seen(pg);
    }

    wk_pg_disconnect(pg);
    atomic_store(&pg->done, 1);

    return NULL;
}


int
wk_pg_start(wk_pg_t *pg)
{
    atomic_init(&pg->stop, 0);
    atomic_init(&pg->done, 0);

    if (pthread_create(&pg->thread, NULL, wk_pg_run, pg) != 0) {
        return -1;
    }

    /* for top -H and perf, beside paho's MQTTAsync_rcv / _send */
    (void) pthread_setname_np(pg->thread, "gn-postgres");

    pg->started = 1;

    return 0;
}


int
wk_pg_stop(wk_pg_t *pg, int64_t deadline_ms)
{
    struct timespec  ts = { 0, 10000000 };

    if (!pg->started) {
        return 0;
    }

    atomic_store(&pg->stop, 1);

    /* the statement timeout does not help against a stopped server */
    while (!atomic_load(&pg->done) && wk_now_ms() < deadline_ms + 2000) {
        nanosleep(&ts, NULL);
    }

    if (!atomic_load(&pg->done)) {
        wk_log0(pg->log, WK_LOG_WARNING, WK_PG_LOGGER,
                "PostgreSQL does not answer: exiting without it, the queue "
                "is kept for the next start");
        return -1;
    }

    pthread_join(pg->thread, NULL);
    pg->started = 0;

    return 0;
}
