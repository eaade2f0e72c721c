/*
 * Prometheus text file of gonsters-worker, see metrics.h.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"


const char *const  wk_dl_reasons[WK_DL_N] = {
    "invalid_topic", "payload_too_large", "invalid_json", "invalid_payload",
    "unknown_machine", "factory_mismatch", "invalid_status",
    "untaggable_machine", "influx_rejected"
};


void
wk_metrics_init(wk_metrics_t *m)
{
    memset(m, 0, sizeof(*m));
    atomic_store(&m->influx_up, 1);
}


#define WK_LOAD(x)  ((unsigned long long) atomic_load(&(x)))

static void
wk_metric(FILE *f, const char *name, const char *type, const char *help,
    const char *client_id, unsigned long long v)
{
    fprintf(f, "# HELP gonsters_worker_%s %s\n# TYPE gonsters_worker_%s %s\n"
               "gonsters_worker_%s{client_id=\"%s\"} %llu\n",
            name, help, name, type, name, client_id, v);
}


int
wk_metrics_write(wk_metrics_t *m, const char *path, const char *client_id)
{
    char       tmp[600];
    FILE      *f;
    int        i, rc;
    long long  last_write;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int) sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }

    f = fopen(tmp, "we");
    if (f == NULL) {
        return -1;
    }

    wk_metric(f, "received_total", "counter",
              "MQTT messages made durable in the spool (then acknowledged)",
              client_id, WK_LOAD(m->received));
    wk_metric(f, "processed_total", "counter",
              "Spool records validated and routed", client_id,
              WK_LOAD(m->processed));
    wk_metric(f, "written_total", "counter",
              "Points InfluxDB accepted", client_id, WK_LOAD(m->written));

    fprintf(f, "# HELP gonsters_worker_dead_letters_total Messages stored "
               "in ingest_dead_letters, by reason\n"
               "# TYPE gonsters_worker_dead_letters_total counter\n");
    for (i = 0; i < WK_DL_N; i++) {
        fprintf(f, "gonsters_worker_dead_letters_total{client_id=\"%s\","
                   "reason=\"%s\"} %llu\n",
                client_id, wk_dl_reasons[i], WK_LOAD(m->dead_letters[i]));
    }

    wk_metric(f, "influx_requests_total", "counter",
              "InfluxDB write requests", client_id,
              WK_LOAD(m->influx_requests));
    wk_metric(f, "retries_total", "counter",
              "InfluxDB writes that failed and were retried", client_id,
              WK_LOAD(m->influx_retries));
    wk_metric(f, "reaggregations_total", "counter",
              "Re-aggregations of tier windows late readings touched",
              client_id, WK_LOAD(m->reaggregations));
    wk_metric(f, "status_updates_total", "counter",
              "Machine status messages applied", client_id,
              WK_LOAD(m->status_updates));
    wk_metric(f, "alerts_total", "counter", "Alerts raised", client_id,
              WK_LOAD(m->alerts));
    wk_metric(f, "pg_errors_total", "counter",
              "PostgreSQL errors (the work is retried)", client_id,
              WK_LOAD(m->pg_errors));
    wk_metric(f, "pg_applied_total", "counter",
              "PostgreSQL queue records applied", client_id,
              WK_LOAD(m->pg_applied));
    wk_metric(f, "replayed_records", "gauge",
              "Spool records found unfinished at start", client_id,
              WK_LOAD(m->replayed));
    wk_metric(f, "lag_milliseconds", "gauge",
              "Receive to InfluxDB acceptance, newest written point",
              client_id, (unsigned long long) atomic_load(&m->lag_ms));
    last_write = atomic_load(&m->last_write_ms);
    fprintf(f, "# HELP gonsters_worker_last_write_timestamp_seconds When "
               "InfluxDB last accepted a write (0: not yet)\n"
               "# TYPE gonsters_worker_last_write_timestamp_seconds gauge\n"
               "gonsters_worker_last_write_timestamp_seconds"
               "{client_id=\"%s\"} %lld.%03lld\n",
            client_id, last_write / 1000, last_write % 1000);
    wk_metric(f, "spool_bytes", "gauge", "Bytes in the telemetry spool",
              client_id, WK_LOAD(m->spool_bytes));
    wk_metric(f, "pg_spool_bytes", "gauge",
              "Bytes queued for PostgreSQL", client_id,
              WK_LOAD(m->pg_spool_bytes));
    wk_metric(f, "spool_full", "gauge",
              "1 while the spool is full and messages are not taken",
              client_id, (unsigned long long) atomic_load(&m->spool_full));
    wk_metric(f, "mqtt_connected", "gauge", "1 when connected to the broker",
              client_id,
              (unsigned long long) atomic_load(&m->mqtt_connected));
    wk_metric(f, "pg_connected", "gauge", "1 when connected to PostgreSQL",
              client_id, (unsigned long long) atomic_load(&m->pg_connected));
    wk_metric(f, "influx_up", "gauge",
              "1 when the last InfluxDB write succeeded", client_id,
              (unsigned long long) atomic_load(&m->influx_up));
    wk_metric(f, "registry_machines", "gauge",
              "Machines in the registry cache", client_id,
              WK_LOAD(m->registry_machines));

    rc = fflush(f) == 0 && !ferror(f) ? 0 : -1;

    if (fclose(f) != 0) {
        rc = -1;
    }

    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
    }

    if (rc != 0) {
        (void) unlink(tmp);
    }

    return rc;
}


int
wk_metrics_check(const char *path, int64_t max_age_ms)
{
    struct stat      st;
    struct timespec  now;
    char             line[512];
    int64_t          age;
    FILE            *f;
    int              rc = 0, connected = -1;
    char            *p;

    f = fopen(path, "re");
    if (f == NULL || fstat(fileno(f), &st) != 0) {
        printf("unhealthy: cannot read %s: %s\n", path, strerror(errno));
        if (f) {
            fclose(f);
        }
        return 1;
    }

    clock_gettime(CLOCK_REALTIME, &now);
    age = ((int64_t) now.tv_sec - st.st_mtim.tv_sec) * 1000
          + (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;

    if (age > max_age_ms) {
        printf("unhealthy: %s is %lld ms old (the worker writes it every "
               "metrics_interval_ms): not running or stuck\n",
               path, (long long) age);
        rc = 1;
    }

    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "gonsters_worker_", 16) != 0) {
            continue;
        }

        p = strchr(line, ' ');
        if (p == NULL) {
            continue;
        }

        if (strncmp(line, "gonsters_worker_mqtt_connected{", 31) == 0) {
            connected = atoi(p + 1);
        }

        if (strncmp(line, "gonsters_worker_spool_full{", 27) == 0
            && atoi(p + 1) != 0)
        {
            printf("warning: the spool is full (InfluxDB behind?)\n");
        }

        if (strncmp(line, "gonsters_worker_pg_connected{", 29) == 0
            && atoi(p + 1) == 0)
        {
            printf("warning: not connected to PostgreSQL\n");
        }

        if (strncmp(line, "gonsters_worker_influx_up{", 26) == 0
            && atoi(p + 1) == 0)
        {
            printf("warning: the last InfluxDB write failed\n");
        }
    }

    fclose(f);

    if (connected != 1) {
        printf("unhealthy: not connected to the MQTT broker\n");
        rc = 1;
    }

    if (rc == 0) {
        printf("healthy\n");
    }

    return rc;
}
