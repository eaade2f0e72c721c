/*
 * Unit tests of the worker configuration parser (worker/config.c), with
 * hostile inputs.  Built with SAN_FLAGS by `make unit-worker`.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gn_test.h"
#include "config.h"


#define NAME  "test.conf"

static const char *const  env_keys[] = {
    "MQTT_URI", "CLIENT_ID", "SESSION_EXPIRY", "KEEPALIVE", "STATUS_TOPIC",
    "LOG_LEVEL", "CONNECT_RETRY_MAX"
};


static void
clear_env(void)
{
    char    name[64];
    size_t  i;

    /* a shell that sourced a stack.env exports some of these */
    for (i = 0; i < sizeof(env_keys) / sizeof(env_keys[0]); i++) {
        snprintf(name, sizeof(name), "GONSTERS_WORKER_%s", env_keys[i]);
        unsetenv(name);
    }
}


static int
parse_len(const char *text, size_t len, wk_config_t *conf,
    wk_config_err_t *err)
{
    memset(err, 0, sizeof(*err));
    wk_config_init(conf);

    return wk_config_parse(conf, NAME, text, len, err);
}


static int
parse(const char *text, wk_config_t *conf, wk_config_err_t *err)
{
    return parse_len(text, strlen(text), conf, err);
}


/* the input must fail, at `line`, naming `key` and containing `part` */
#define CHECK_FAILS(in_, line_, key_, part_)                                 \
    do {                                                                      \
        wk_config_t      c_;                                                  \
        wk_config_err_t  e_;                                                  \
        GN_CHECK_MSG(parse((in_), &c_, &e_) == -1, "input %s", #in_);         \
        GN_CHECK_INT(e_.line, (line_));                                       \
        GN_CHECK_MSG(strcmp(e_.key, (key_)) == 0, "key \"%s\"", e_.key);      \
        GN_CHECK_MSG(strstr(e_.text, (part_)) != NULL, "text \"%s\"",         \
                     e_.text);                                                \
    } while (0)


static void
test_defaults(void)
{
    wk_config_t      conf;
    wk_config_err_t  err;
    char             want[256];

    GN_CHECK(parse("", &conf, &err) == 0);
    GN_CHECK(wk_config_finalize(&conf, &err) == 0);

    GN_CHECK(strcmp(conf.mqtt_uri, "tcp://127.0.0.1:1883") == 0);
    GN_CHECK(strncmp(conf.client_id, "gonsters-worker-", 16) == 0);
    GN_CHECK(strlen(conf.client_id) > 16);
    GN_CHECK_INT(conf.session_expiry, 3600);
    GN_CHECK_INT(conf.keepalive, 30);
    GN_CHECK_INT(conf.log_level, WK_LOG_INFO);
    GN_CHECK_INT(conf.connect_retry_max, 30);

    snprintf(want, sizeof(want), "gonsters/worker/%s/status", conf.client_id);
    GN_CHECK_MSG(strcmp(conf.status_topic, want) == 0, "%s",
                 conf.status_topic);
}


static void
test_valid_file(void)
{
    wk_config_t      conf;
    wk_config_err_t  err;
    static const char  text[] =
        "# gonsters-worker\n"
        "\n"
        "   # indented comment\n"
        "mqtt_uri=tcp://broker.example:1884\n"
        "\tclient_id \t=  worker-a.1:x  \r\n"            /* CRLF, tabs */
        "session_expiry = 4294967295\n"                 /* max four-byte */
        "keepalive = 0\n"
        "status_topic = plant/a=b/status\n"             /* '=' in value */
        "log_level = warning\n"
        "connect_retry_max = 007";                      /* no final '\n' */

    GN_CHECK_MSG(parse(text, &conf, &err) == 0, "%s", err.text);
    GN_CHECK(wk_config_finalize(&conf, &err) == 0);

    GN_CHECK(strcmp(conf.mqtt_uri, "tcp://broker.example:1884") == 0);
    GN_CHECK(strcmp(conf.client_id, "worker-a.1:x") == 0);
    GN_CHECK(conf.session_expiry == 4294967295u);
    GN_CHECK_INT(conf.keepalive, 0);
    GN_CHECK(strcmp(conf.status_topic, "plant/a=b/status") == 0);
    GN_CHECK_INT(conf.log_level, WK_LOG_WARNING);
    GN_CHECK_INT(conf.connect_retry_max, 7);
    GN_CHECK_INT(conf.set_at[0], 4);
    GN_CHECK_INT(conf.set_at[1], 5);
}


static void
test_syntax(void)
{
    CHECK_FAILS("keepalive 30\n", 1, "", "test.conf:1: missing '='");
    CHECK_FAILS("# c\n\nkeepalive\n", 3, "", "test.conf:3: missing '='");
    CHECK_FAILS("= 30\n", 1, "", "test.conf:1: invalid key");
    CHECK_FAILS("Keep-Alive = 30\n", 1, "Keep-Alive", "invalid key");
    CHECK_FAILS("KEEPALIVE = 30\n", 1, "KEEPALIVE", "invalid key");
    CHECK_FAILS("keep alive = 30\n", 1, "keep alive", "invalid key");
    CHECK_FAILS("keepalive = 30\nfoo = bar\n", 2, "foo",
                "test.conf:2: unknown key \"foo\"");
    CHECK_FAILS("keepalive =\n", 1, "keepalive", "empty value");
    CHECK_FAILS("keepalive =   \t \n", 1, "keepalive", "empty value");
    CHECK_FAILS("client_id=\n", 1, "client_id", "empty value");
}


static void
test_duplicates(void)
{
    /* decided: a key may appear once per file */
    CHECK_FAILS("keepalive = 10\n\nkeepalive = 10\n", 3, "keepalive",
                "test.conf:3: duplicate key \"keepalive\" "
                "(first set at line 1)");
}


static void
test_overlong(void)
{
    wk_config_t      conf;
    wk_config_err_t  err;
    size_t           n = 8192;
    char            *text = malloc(n + 64);

    if (text == NULL) {
        GN_CHECK(text != NULL);
        return;
    }

    /* 4095 bytes of comment: accepted */
    memset(text, ' ', WK_CONFIG_LINE_MAX - 1);
    text[0] = '#';
    text[WK_CONFIG_LINE_MAX - 1] = '\n';
    GN_CHECK_MSG(parse_len(text, WK_CONFIG_LINE_MAX, &conf, &err) == 0,
                 "%s", err.text);

    /* 4096 bytes: refused, with or without a final '\n' */
    text[WK_CONFIG_LINE_MAX - 1] = ' ';
    text[WK_CONFIG_LINE_MAX] = '\n';
    GN_CHECK(parse_len(text, WK_CONFIG_LINE_MAX + 1, &conf, &err) == -1);
    GN_CHECK(strstr(err.text, "test.conf:1: line too long") != NULL);
    GN_CHECK(parse_len(text, WK_CONFIG_LINE_MAX, &conf, &err) == -1);

    /* an 8 KB value on line 2 */
    memcpy(text, "keepalive = 1\nclient_id = ", 26);
    memset(text + 26, 'a', n);
    GN_CHECK(parse_len(text, 26 + n, &conf, &err) == -1);
    GN_CHECK_INT(err.line, 2);
    GN_CHECK(strstr(err.text, "test.conf:2: line too long") != NULL);

    /* a value that fits a line but not the field */
    memset(text + 26, 'a', WK_CONFIG_CLIENT_ID_MAX + 1);
    text[26 + WK_CONFIG_CLIENT_ID_MAX + 1] = '\n';
    GN_CHECK(parse_len(text, 26 + WK_CONFIG_CLIENT_ID_MAX + 2, &conf,
                       &err) == -1);
    GN_CHECK(strstr(err.text, "value too long") != NULL);
    GN_CHECK(parse_len(text, 26 + WK_CONFIG_CLIENT_ID_MAX, &conf, &err) == 0);

    free(text);
}


static void
test_nul(void)
{
    wk_config_t      conf;
    wk_config_err_t  err;
    static const char  text[] = "keepalive = 1\nclient_id = a\0b\n";
    static const char  comment[] = "# a\0b\n";

    GN_CHECK(parse_len(text, sizeof(text) - 1, &conf, &err) == -1);
    GN_CHECK_INT(err.line, 2);
    GN_CHECK(strstr(err.text, "test.conf:2: NUL byte") != NULL);

    /* even in a comment */
    GN_CHECK(parse_len(comment, sizeof(comment) - 1, &conf, &err) == -1);
}


static void
test_numbers(void)
{
    CHECK_FAILS("keepalive = 99999999999999999999999\n", 1, "keepalive",
                "out of range");
    CHECK_FAILS("keepalive = 65536\n", 1, "keepalive", "out of range");
    CHECK_FAILS("session_expiry = 4294967296\n", 1, "session_expiry",
                "out of range");
    CHECK_FAILS("connect_retry_max = 0\n", 1, "connect_retry_max",
                "out of range");
    CHECK_FAILS("connect_retry_max = 3601\n", 1, "connect_retry_max",
                "out of range");

    CHECK_FAILS("keepalive = -1\n", 1, "keepalive", "non-negative");
    CHECK_FAILS("keepalive = -0\n", 1, "keepalive", "non-negative");
    CHECK_FAILS("keepalive = +5\n", 1, "keepalive", "non-negative");

    CHECK_FAILS("keepalive = 30s\n", 1, "keepalive",
                "test.conf:1: invalid value \"30s\" for key \"keepalive\"");
    CHECK_FAILS("keepalive = 30 # seconds\n", 1, "keepalive", "invalid");
    CHECK_FAILS("keepalive = 3 0\n", 1, "keepalive", "invalid");
    CHECK_FAILS("keepalive = 0x10\n", 1, "keepalive", "invalid");
    CHECK_FAILS("keepalive = 1e3\n", 1, "keepalive", "invalid");
    CHECK_FAILS("keepalive = 1.5\n", 1, "keepalive", "invalid");
}


static void
test_values(void)
{
    wk_config_t      conf;
    wk_config_err_t  err;

    CHECK_FAILS("log_level = verbose\n", 1, "log_level", "expected debug");
    CHECK_FAILS("log_level = INFO\n", 1, "log_level", "expected debug");

    CHECK_FAILS("mqtt_uri = ssl://h:8883\n", 1, "mqtt_uri", "TLS");
    CHECK_FAILS("mqtt_uri = http://h\n", 1, "mqtt_uri", "must start");
    CHECK_FAILS("mqtt_uri = tcp://\n", 1, "mqtt_uri", "missing host");
    CHECK_FAILS("mqtt_uri = tcp://:1883\n", 1, "mqtt_uri", "missing host");
    CHECK_FAILS("mqtt_uri = tcp://h:1883 x\n", 1, "mqtt_uri", "whitespace");

    CHECK_FAILS("client_id = a/b\n", 1, "client_id", "allowed characters");
    CHECK_FAILS("client_id = a#\n", 1, "client_id", "allowed characters");
    CHECK_FAILS("client_id = a b\n", 1, "client_id", "allowed characters");

    CHECK_FAILS("status_topic = a/+/b\n", 1, "status_topic", "wildcards");
    CHECK_FAILS("status_topic = a/#\n", 1, "status_topic", "wildcards");
    CHECK_FAILS("status_topic = $SYS/x\n", 1, "status_topic", "reserved");
    CHECK_FAILS("status_topic = a b\n", 1, "status_topic", "whitespace");

    GN_CHECK(parse("mqtt_uri = ws://h:9001/mqtt\nlog_level = debug\n",
                   &conf, &err) == 0);
    GN_CHECK_INT(conf.log_level, WK_LOG_DEBUG);

    /* client_id sets the default status_topic */
    GN_CHECK(parse("client_id = w1\n", &conf, &err) == 0);
    GN_CHECK(wk_config_finalize(&conf, &err) == 0);
    GN_CHECK(strcmp(conf.status_topic, "gonsters/worker/w1/status") == 0);
}


static void
test_env(void)
{
    wk_config_t      conf;
    wk_config_err_t  err;

    /* the environment wins over the file */
    setenv("GONSTERS_WORKER_KEEPALIVE", " 20 ", 1);
    setenv("GONSTERS_WORKER_CLIENT_ID", "from-env", 1);
    GN_CHECK(parse("keepalive = 10\nclient_id = from-file\n", &conf,
                   &err) == 0);
    GN_CHECK(wk_config_apply_env(&conf, &err) == 0);
    GN_CHECK(wk_config_finalize(&conf, &err) == 0);
    GN_CHECK_INT(conf.keepalive, 20);
    GN_CHECK(strcmp(conf.client_id, "from-env") == 0);
    GN_CHECK(strcmp(conf.status_topic, "gonsters/worker/from-env/status")
             == 0);
    GN_CHECK_INT(conf.set_at[3], -1);

    /* a bad value names the variable and the key */
    setenv("GONSTERS_WORKER_KEEPALIVE", "-5", 1);
    GN_CHECK(parse("", &conf, &err) == 0);
    GN_CHECK(wk_config_apply_env(&conf, &err) == -1);
    GN_CHECK(strstr(err.text, "GONSTERS_WORKER_KEEPALIVE") != NULL);
    GN_CHECK(strcmp(err.key, "keepalive") == 0);

    setenv("GONSTERS_WORKER_KEEPALIVE", "", 1);
    GN_CHECK(parse("", &conf, &err) == 0);
    GN_CHECK(wk_config_apply_env(&conf, &err) == -1);
    GN_CHECK(strstr(err.text, "empty value") != NULL);

    /* unrelated GONSTERS_WORKER_* variables are ignored */
    clear_env();
    setenv("GONSTERS_WORKER_BIN", "/x/gonsters-worker", 1);
    GN_CHECK(parse("", &conf, &err) == 0);
    GN_CHECK(wk_config_apply_env(&conf, &err) == 0);
    unsetenv("GONSTERS_WORKER_BIN");
}


static void
test_files(void)
{
    wk_config_t      conf;
    wk_config_err_t  err;
    char             path[] = "/tmp/gn-test-config-XXXXXX";
    static const char  text[] = "keepalive = 5\nlog_level = loud\n";
    int              fd;

    wk_config_init(&conf);
    GN_CHECK(wk_config_load_file(&conf, "/nonexistent/w.conf", 1, &err)
             == 0);
    GN_CHECK(wk_config_load_file(&conf, "/nonexistent/w.conf", 0, &err)
             == -1);
    GN_CHECK(strstr(err.text, "/nonexistent/w.conf: cannot open") != NULL);

    GN_CHECK(wk_config_load_file(&conf, "/tmp", 0, &err) == -1);
    GN_CHECK(strstr(err.text, "not a regular file") != NULL);

    fd = mkstemp(path);
    GN_CHECK(fd >= 0);
    if (fd < 0) {
        return;
    }

    GN_CHECK(write(fd, text, sizeof(text) - 1) == (ssize_t) sizeof(text) - 1);
    close(fd);

    wk_config_init(&conf);
    GN_CHECK(wk_config_load(&conf, path, 0, &err) == -1);
    GN_CHECK_INT(err.line, 2);
    GN_CHECK(strncmp(err.text, path, strlen(path)) == 0);
    GN_CHECK(strstr(err.text, ":2: invalid value \"loud\" for key "
                    "\"log_level\"") != NULL);

    unlink(path);
}


int
main(void)
{
    clear_env();

    test_defaults();
    test_valid_file();
    test_syntax();
    test_duplicates();
    test_overlong();
    test_nul();
    test_numbers();
    test_values();
    test_env();
    test_files();

    GN_TEST_DONE();
}
