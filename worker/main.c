/*
 * gonsters-worker: MQTT sidecar of Gonsters.
 *
 *   gonsters-worker [-c config_file] [-t | --check]
 *
 * -c       configuration file (default /etc/gonsters/worker.conf; a missing
 *          default file means "defaults and environment only")
 * -t       test the configuration, report, exit 0 (valid) or 1 (invalid)
 * --check  health of the running worker: its metrics file is fresh and
 *          says it is connected to the broker; exit 0 (healthy) or 1
 *
 * Threads: paho's (messages into the spool), the writer (spool ->
 * InfluxDB, PostgreSQL queue), the PostgreSQL thread (queue -> PostgreSQL,
 * registry, thresholds) and this main thread (signals, MQTT events, the
 * group-commit fsync, the metrics file).
 *
 * SIGTERM/SIGINT: stop taking messages (retained offline status, clean
 * DISCONNECT), write what the spool holds to InfluxDB (for at most
 * WK_DRAIN_MS; the rest is replayed at the next start), exit 0.
 *
 * Signals: SIGTERM and SIGINT are blocked in every thread (paho's threads
 * inherit the mask) and only unblocked while the main thread sleeps in
 * ppoll(), so the handler always runs there; it sets a flag and writes
 * to the self-pipe.  paho's threads write to the same pipe.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "mqtt.h"
#include "pg.h"
#include "registry.h"
#include "spool.h"
#include "writer.h"

#include <curl/curl.h>


#define WK_MAIN_LOGGER  "worker.main"
#define WK_USAGE        "usage: gonsters-worker [-c config_file] " \
                        "[-t | --check]"
#define WK_DRAIN_MS     3000


typedef struct {
    wk_config_t             conf;
    wk_log_t                log;
    wk_mqtt_t               mqtt;
    wk_metrics_t            metrics;
    wk_spool_t              spool;          /* telemetry */
    wk_spool_t              pgq;            /* PostgreSQL queue */
    wk_registry_t           registry;
    wk_thresholds_t         thresholds;
    wk_writer_t             writer;
    wk_pg_t                 pg;
    int                     spools_open;

    int64_t                 sync_at;        /* monotonic ms */
    int64_t                 metrics_at;

    const char             *conf_path;
    int                     conf_explicit;  /* -c given */
    int                     test_only;      /* -t given */
    int                     check;          /* --check given */

    int                     wake[2];        /* self-pipe: read, write */
    sigset_t                run_mask;       /* mask while in ppoll() */
    volatile sig_atomic_t   signo;          /* set by the signal handler */
} wk_cycle_t;


/* the one process context: the signal handler can only reach a global */
static wk_cycle_t  wk_cycle;


static void
wk_signal_handler(int signo)
{
    int  saved = errno;

    wk_cycle.signo = signo;

    if (write(wk_cycle.wake[1], "s", 1) < 0) {
        /* the flag alone suffices: ppoll() returns EINTR */
    }

    errno = saved;
}


/* 0: go on, 1: exit 0 (help), -1: exit 1 */
static int
wk_parse_args(wk_cycle_t *cycle, int argc, char **argv)
{
    static const struct option  longopts[] = {
        { "check", no_argument, NULL, 'C' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    char                        opt[2] = "";
    int                         c;

    cycle->conf_path = WK_CONFIG_DEFAULT_PATH;
    opterr = 0;

    while ((c = getopt_long(argc, argv, ":c:th", longopts, NULL)) != -1) {
        switch (c) {
        case 'C':
            cycle->check = 1;
            break;
        case 'c':
            cycle->conf_path = optarg;
            cycle->conf_explicit = 1;
            break;
        case 't':
            cycle->test_only = 1;
            break;
        case 'h':
            printf("%s\n", WK_USAGE);
            return 1;
        case ':':
            opt[0] = (char) optopt;
            wk_log(&cycle->log, WK_LOG_ERROR, WK_MAIN_LOGGER,
                   "option requires an argument",
                   WK_STR("option", opt), WK_STR("usage", WK_USAGE));
            return -1;
        default:
            opt[0] = (char) optopt;
            wk_log(&cycle->log, WK_LOG_ERROR, WK_MAIN_LOGGER,
                   "unknown option",
                   WK_STR("option", opt), WK_STR("usage", WK_USAGE));
            return -1;
        }
    }

    if (optind != argc) {
        wk_log(&cycle->log, WK_LOG_ERROR, WK_MAIN_LOGGER,
               "unexpected argument",
               WK_STR("argument", argv[optind]), WK_STR("usage", WK_USAGE));
        return -1;
    }

    return 0;
}


static void
wk_log_config(wk_cycle_t *cycle, const char *message)
{
    wk_config_t  *conf = &cycle->conf;

    wk_log(&cycle->log, WK_LOG_INFO, WK_MAIN_LOGGER, message,
           WK_STR("file", cycle->conf_path),
           WK_STR("mqtt_uri", conf->mqtt_uri),
           WK_STR("client_id", conf->client_id),
           WK_INT("session_expiry", conf->session_expiry),
           WK_INT("keepalive", conf->keepalive),
           WK_STR("status_topic", conf->status_topic),
           WK_STR("log_level", wk_config_log_level_name(conf->log_level)),
           WK_INT("connect_retry_max", conf->connect_retry_max),
           WK_STR("share_group", conf->share_group),
           WK_STR("spool_dir", conf->spool_dir),
           WK_INT("spool_max_bytes", conf->spool_max_bytes),
           WK_INT("fsync_interval_ms", conf->fsync_interval_ms),
           WK_STR("influx_url", conf->influx_url),
           WK_STR("influx_db", conf->influx_db),
           WK_INT("batch_max_points", conf->batch_max_points),
           WK_INT("batch_max_ms", conf->batch_max_ms),
           WK_STR("metrics_file", conf->metrics_file));
}


static int
wk_load_config(wk_cycle_t *cycle)
{
    wk_config_err_t  err;

    memset(&err, 0, sizeof(err));
    wk_config_init(&cycle->conf);

    if (wk_config_load(&cycle->conf, cycle->conf_path,
                       !cycle->conf_explicit, &err) != 0)
    {
        wk_log(&cycle->log, WK_LOG_ERROR, "worker.config", err.text,
               WK_STR("file", cycle->conf_path),
               WK_INT("line", err.line),
               WK_STR("key", err.key));
        return -1;
    }

    /* fixed from here on: paho threads read it without a lock */
    cycle->log.level = cycle->conf.log_level;

    return 0;
}


static int
wk_test_config(wk_cycle_t *cycle)
{
    if (wk_load_config(cycle) != 0) {
        wk_log(&cycle->log, WK_LOG_ERROR, WK_MAIN_LOGGER,
               "configuration test failed",
               WK_STR("file", cycle->conf_path));
        return 1;
    }

    cycle->log.level = WK_LOG_INFO;     /* -t always reports */
    wk_log_config(cycle, "configuration test is successful");

    return 0;
}


static int
wk_init_signals(wk_cycle_t *cycle)
{
    struct sigaction  sa;
    sigset_t          block;

    if (pipe2(cycle->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
        wk_log(&cycle->log, WK_LOG_ERROR, WK_MAIN_LOGGER, "pipe2() failed",
               WK_STR("error", strerror(errno)));
        return -1;
    }

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    sa.sa_handler = wk_signal_handler;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    /* block before paho starts its threads: they inherit the mask */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);

    if (pthread_sigmask(SIG_BLOCK, &block, &cycle->run_mask) != 0) {
        wk_log0(&cycle->log, WK_LOG_ERROR, WK_MAIN_LOGGER,
                "pthread_sigmask() failed");
        return -1;
    }

    sigdelset(&cycle->run_mask, SIGTERM);
    sigdelset(&cycle->run_mask, SIGINT);

    return 0;
}


static void
wk_drain(int fd)
{
    char  buf[256];

    while (read(fd, buf, sizeof(buf)) > 0) {
        /* void */
    }
}


static int
wk_wait(wk_cycle_t *cycle)
{
    struct pollfd     pfd = { cycle->wake[0], POLLIN, 0 };
    struct timespec   ts, *tp = NULL;
    int64_t           timeout;

    int64_t           now = wk_now_ms(), t;

    timeout = wk_mqtt_timeout(&cycle->mqtt, now);

    t = (cycle->sync_at < cycle->metrics_at ? cycle->sync_at
                                            : cycle->metrics_at) - now;
    t = t < 0 ? 0 : t;

    if (timeout < 0 || t < timeout) {
        timeout = t;
    }

    if (timeout >= 0) {
        ts.tv_sec = timeout / 1000;
        ts.tv_nsec = (timeout % 1000) * 1000000;
        tp = &ts;
    }

    if (ppoll(&pfd, 1, tp, &cycle->run_mask) < 0 && errno != EINTR) {
        wk_log(&cycle->log, WK_LOG_ERROR, WK_MAIN_LOGGER, "ppoll() failed",
               WK_STR("error", strerror(errno)));
        return -1;
    }

    wk_drain(cycle->wake[0]);

    return 0;
}


static void
wk_metrics_update(wk_cycle_t *cycle)
{
    wk_metrics_t  *m = &cycle->metrics;

    atomic_store(&m->spool_bytes, wk_spool_bytes(&cycle->spool));
    atomic_store(&m->pg_spool_bytes, wk_spool_bytes(&cycle->pgq));
    atomic_store(&m->spool_full, wk_spool_blocked(&cycle->spool));

    if (wk_metrics_write(m, cycle->conf.metrics_file, cycle->conf.client_id)
        != 0)
    {
        wk_log(&cycle->log, WK_LOG_WARNING, WK_MAIN_LOGGER,
               "cannot write the metrics file",
               WK_STR("path", cycle->conf.metrics_file),
               WK_STR("error", strerror(errno)));
    }
}


static void
wk_timers(wk_cycle_t *cycle)
{
    int64_t  now = wk_now_ms();

    if (now >= cycle->sync_at) {
        /* group commit: one fdatasync covers every message since the
         * last one */
        (void) wk_spool_sync(&cycle->spool);
        (void) wk_spool_sync(&cycle->pgq);
        cycle->sync_at = wk_now_ms() + cycle->conf.fsync_interval_ms;
    }

    if (now >= cycle->metrics_at) {
        wk_metrics_update(cycle);
        cycle->metrics_at = now + cycle->conf.metrics_interval_ms;
    }
}


static int
wk_run(wk_cycle_t *cycle)
{
    while (cycle->signo == 0) {
        if (wk_wait(cycle) != 0) {
            return -1;
        }

        wk_mqtt_process(&cycle->mqtt, wk_now_ms());
        wk_timers(cycle);
    }

    wk_log(&cycle->log, WK_LOG_INFO, WK_MAIN_LOGGER, "stopping",
           WK_STR("signal", strsignal(cycle->signo)),
           WK_INT("signo", cycle->signo));

    return 0;
}


static int
wk_open_state(wk_cycle_t *cycle)
{
    wk_config_t  *conf = &cycle->conf;
    char          dir[WK_CONFIG_PATH_MAX + 16];

    wk_metrics_init(&cycle->metrics);
    wk_thresholds_init(&cycle->thresholds);

    if (wk_registry_init(&cycle->registry) != 0) {
        return -1;
    }

    snprintf(dir, sizeof(dir), "%s/telemetry", conf->spool_dir);
    if (wk_spool_open(&cycle->spool, dir, "telemetry", conf->spool_max_bytes,
                      conf->spool_segment_bytes, &cycle->log) != 0)
    {
        return -1;
    }

    snprintf(dir, sizeof(dir), "%s/pg", conf->spool_dir);
    if (wk_spool_open(&cycle->pgq, dir, "pg", conf->pg_spool_max_bytes,
                      conf->spool_segment_bytes, &cycle->log) != 0)
    {
        wk_spool_close(&cycle->spool);
        return -1;
    }

    cycle->spools_open = 1;
    atomic_store(&cycle->metrics.replayed,
                 cycle->spool.replayed + cycle->pgq.replayed);

    return 0;
}


static int
wk_start_threads(wk_cycle_t *cycle)
{
    wk_writer_t  *w = &cycle->writer;
    wk_pg_t      *pg = &cycle->pg;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        return -1;
    }

    pg->conf = &cycle->conf;
    pg->log = &cycle->log;
    pg->metrics = &cycle->metrics;
    pg->pgq = &cycle->pgq;
    pg->registry = &cycle->registry;
    pg->thresholds = &cycle->thresholds;
    pg->mqtt = &cycle->mqtt;
    pg->cur = cycle->pgq.start;

    if (wk_pg_start(pg) != 0) {
        return -1;
    }

    w->conf = &cycle->conf;
    w->log = &cycle->log;
    w->metrics = &cycle->metrics;
    w->spool = &cycle->spool;
    w->pgq = &cycle->pgq;
    w->registry = &cycle->registry;
    w->thresholds = &cycle->thresholds;
    w->mqtt = &cycle->mqtt;
    w->cur = cycle->spool.start;

    return wk_writer_start(w);
}


/* after the MQTT shutdown: nothing arrives any more */
/* 0, or -1 when the PostgreSQL thread is stuck (see wk_pg_stop) */
static int
wk_stop_threads(wk_cycle_t *cycle)
{
    int64_t  deadline = wk_now_ms() + WK_DRAIN_MS;

    wk_writer_stop(&cycle->writer, deadline);

    return wk_pg_stop(&cycle->pg, deadline);
}


static int
wk_start(wk_cycle_t *cycle)
{
    if (wk_load_config(cycle) != 0) {
        return -1;
    }

    wk_log_config(cycle, "configuration loaded");

    if (wk_init_signals(cycle) != 0) {
        return -1;
    }

    if (wk_open_state(cycle) != 0) {
        return -1;
    }

    wk_mqtt_init(&cycle->mqtt, &cycle->conf, &cycle->log, cycle->wake[1],
                 &cycle->spool, &cycle->metrics);

    if (wk_start_threads(cycle) != 0) {
        return -1;
    }

    if (wk_mqtt_start(&cycle->mqtt) != 0) {
        return -1;
    }

    wk_metrics_update(cycle);

    wk_log(&cycle->log, WK_LOG_INFO, WK_MAIN_LOGGER, "started",
           WK_INT("pid", getpid()));

    return 0;
}


static void
wk_cleanup(wk_cycle_t *cycle)
{
    wk_mqtt_destroy(&cycle->mqtt);

    if (cycle->spools_open) {
        wk_metrics_update(cycle);
        wk_spool_close(&cycle->spool);
        wk_spool_close(&cycle->pgq);
        wk_registry_destroy(&cycle->registry);
        wk_thresholds_destroy(&cycle->thresholds);
        cycle->spools_open = 0;
        curl_global_cleanup();
    }

    if (cycle->wake[0] >= 0) {
        close(cycle->wake[0]);
        close(cycle->wake[1]);
        cycle->wake[0] = cycle->wake[1] = -1;
    }
}


int
main(int argc, char **argv)
{
    wk_cycle_t  *cycle = &wk_cycle;
    int          rc = 1;

    cycle->wake[0] = cycle->wake[1] = -1;

    if (wk_log_init(&cycle->log, STDERR_FILENO, WK_LOG_INFO) != 0) {
        return 1;
    }

    switch (wk_parse_args(cycle, argc, argv)) {
    case 1:
        rc = 0;
        goto done;
    case -1:
        goto done;
    }

    if (cycle->test_only) {
        rc = wk_test_config(cycle);
        goto done;
    }

    if (cycle->check) {
        rc = wk_load_config(cycle) == 0
             ? wk_metrics_check(cycle->conf.metrics_file,
                                3 * (int64_t) cycle->conf.metrics_interval_ms
                                + 2000)
             : 1;
        goto done;
    }

    if (wk_start(cycle) == 0) {
        rc = wk_run(cycle) == 0 ? 0 : 1;

        /* a callback waiting for space must finish before DISCONNECT */
        wk_spool_stop(&cycle->spool);
        wk_mqtt_shutdown(&cycle->mqtt);

        if (wk_stop_threads(cycle) != 0) {
            /* the stuck thread still uses the queue: sync, leave as is */
            (void) wk_spool_sync(&cycle->spool);
            (void) wk_spool_sync(&cycle->pgq);
            wk_log0(&cycle->log, WK_LOG_INFO, WK_MAIN_LOGGER, "stopped");
            _exit(rc);
        }

    } else {
        if (cycle->spools_open) {
            wk_spool_stop(&cycle->spool);
            wk_spool_stop(&cycle->pgq);
        }
        wk_mqtt_shutdown(&cycle->mqtt);
        (void) wk_stop_threads(cycle);
    }

    wk_cleanup(cycle);

    if (rc == 0) {
        wk_log0(&cycle->log, WK_LOG_INFO, WK_MAIN_LOGGER, "stopped");
    } else {
        wk_log0(&cycle->log, WK_LOG_ERROR, WK_MAIN_LOGGER, "exiting on error");
    }

done:

    wk_log_destroy(&cycle->log);

    return rc;
}
