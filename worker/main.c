/*
 * gonsters-worker: MQTT sidecar of Gonsters.
 *
 *   gonsters-worker [-c config_file] [-t]
 *
 * -c  configuration file (default /etc/gonsters/worker.conf; a missing
 *     default file means "defaults and environment only")
 * -t  test the configuration, report, exit 0 (valid) or 1 (invalid)
 *
 * SIGTERM/SIGINT: retained offline status, clean DISCONNECT, exit 0.
 *
 * Signals: SIGTERM and SIGINT are blocked in every thread (paho's threads
 * inherit the mask) and only unblocked while the main thread sleeps in
 * ppoll(), so the handler always runs there; it sets a flag and writes
 * to the self-pipe.  paho's threads write to the same pipe.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "mqtt.h"


#define WK_MAIN_LOGGER  "worker.main"
#define WK_USAGE        "usage: gonsters-worker [-c config_file] [-t]"


typedef struct {
    wk_config_t             conf;
    wk_log_t                log;
    wk_mqtt_t               mqtt;

    const char             *conf_path;
    int                     conf_explicit;  /* -c given */
    int                     test_only;      /* -t given */

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
    char  opt[2] = "";
    int   c;

    cycle->conf_path = WK_CONFIG_DEFAULT_PATH;
    opterr = 0;

    while ((c = getopt(argc, argv, ":c:th")) != -1) {
        switch (c) {
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
           WK_INT("connect_retry_max", conf->connect_retry_max));
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

    timeout = wk_mqtt_timeout(&cycle->mqtt, wk_now_ms());

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


static int
wk_run(wk_cycle_t *cycle)
{
    while (cycle->signo == 0) {
        if (wk_wait(cycle) != 0) {
            return -1;
        }

        wk_mqtt_process(&cycle->mqtt, wk_now_ms());
    }

    wk_log(&cycle->log, WK_LOG_INFO, WK_MAIN_LOGGER, "stopping",
           WK_STR("signal", strsignal(cycle->signo)),
           WK_INT("signo", cycle->signo));

    return 0;
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

    wk_mqtt_init(&cycle->mqtt, &cycle->conf, &cycle->log, cycle->wake[1]);

    if (wk_mqtt_start(&cycle->mqtt) != 0) {
        return -1;
    }

    wk_log(&cycle->log, WK_LOG_INFO, WK_MAIN_LOGGER, "started",
           WK_INT("pid", getpid()));

    return 0;
}


static void
wk_cleanup(wk_cycle_t *cycle)
{
    wk_mqtt_destroy(&cycle->mqtt);

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

    if (wk_start(cycle) == 0) {
        rc = wk_run(cycle) == 0 ? 0 : 1;
        wk_mqtt_shutdown(&cycle->mqtt);
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
