/*
 * Unit tests: gn_telemetry (JSON parsing, reading rules, MQTT payloads,
 * ingest bodies, the line of a reading), with hostile inputs.
 */

#include <stdlib.h>

#include "gn_lineproto.h"
#include "gn_telemetry.h"
#include "gn_test.h"


#define NERR  64

static gn_error_t   items[NERR];
static gn_errors_t  errs;

/* what test_alloc handed out, freed by reset() the way nginx frees a
 * request pool */
static void        *allocs[256];
static size_t       nallocs;


static void
reset(size_t cap)
{
    while (nallocs > 0) {
        free(allocs[--nallocs]);
    }

    memset(items, 0, sizeof(items));
    errs.items = items;
    errs.cap = cap;
    errs.n = 0;
    errs.dropped = 0;
}


/* 1 if an error with this field and an error text starting with prefix
 * was reported */
static int
has_error(const char *field, const char *prefix)
{
    size_t  i;

    for (i = 0; i < errs.n; i++) {
        if (strcmp(items[i].field, field) == 0
            && strncmp(items[i].error, prefix, strlen(prefix)) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static void
dump_errors(void)
{
    size_t  i;

    for (i = 0; i < errs.n; i++) {
        fprintf(stderr, "    %s: %s\n", items[i].field, items[i].error);
    }
}


static void *
test_alloc(void *ctx, size_t size)
{
    int  *budget = ctx;

    if ((budget != NULL && (*budget)-- <= 0)
        || nallocs == sizeof(allocs) / sizeof(allocs[0]))
    {
        return NULL;
    }

    allocs[nallocs] = calloc(1, size);

    return allocs[nallocs++];
}


static gn_ingest_status_e ingest(const char *body,
    const gn_ingest_limits_t *lim, gn_ingest_t *in, int *budget);


static void
test_json_parse(void)
{
    static const struct {
        const char  *text;
        size_t       depth;
        const char  *error;     /* NULL: parses */
        size_t       offset;
    } cases[] = {
        { "{}", 1, NULL, 0 },
        { " [1, {\"a\": [2]}] \n", 3, NULL, 0 },
        { "[[[]]]", 3, NULL, 0 },
        { "[[[[]]]]", 3, "nested too deeply", 3 },
        { "\"[[[[[\"", 1, NULL, 0 },            /* brackets in a string */
        { "\"\\\"[[\"", 1, NULL, 0 },           /* after an escaped quote */
        { "", 4, "empty", 0 },
        { "   ", 4, "syntax error", 2 },
        { "{} {}", 4, "unexpected data after the JSON value", 3 },
        { "{}x", 4, "unexpected data after the JSON value", 2 },
        { "{\"a\":}", 4, "syntax error", 5 },
        { "[\"a\nb\"]", 4, "control character in a string", 3 },
        { "[\"\xff\"]", 4, "invalid UTF-8", 2 },
        { "[\"\xc0\xaf\"]", 4, "invalid UTF-8", 2 },    /* overlong '/' */
        { "[\"\xed\xa0\x80\"]", 4, "invalid UTF-8", 2 }, /* surrogate */
        { "[NaN]", 4, "syntax error", 1 },
        { "[Infinity]", 4, "syntax error", 1 },
        { "[\"\xc3\xa9\"]", 4, NULL, 0 },
    };

    size_t              i;
    gn_ingest_t         in;
    gn_ingest_status_e  st;
    gn_ingest_limits_t  lim = { 8, 8, 0 };
    char                want[96];

    /* through gn_ingest_parse: every text is refused as malformed, or
     * passes the JSON rules (and is then judged by the ingest's) */
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        reset(NERR);
        lim.max_depth = cases[i].depth;
        st = ingest(cases[i].text, &lim, &in, NULL);

        if (cases[i].error == NULL) {
            GN_CHECK_MSG(st != GN_INGEST_MALFORMED, "case %zu: %s", i,
                         errs.n ? items[0].error : "");
        } else {
            snprintf(want, sizeof(want), "Malformed JSON: %s at byte %zu",
                     cases[i].error, cases[i].offset);
            GN_CHECK_MSG(st == GN_INGEST_MALFORMED, "case %zu", i);
            GN_CHECK_MSG(errs.n == 1 && strcmp(items[0].field, "body") == 0
                         && strcmp(items[0].error, want) == 0,
                         "case %zu: got \"%s\"", i,
                         errs.n ? items[0].error : "");
            GN_CHECK_MSG(in.json_offset == cases[i].offset,
                         "case %zu: offset %zu", i, in.json_offset);
        }
    }

    /* a NUL inside the text is data, not the end */
    reset(NERR);
    lim.max_depth = 4;
    st = gn_ingest_parse("{}\0{}", 5, &lim, test_alloc, NULL, &in, &errs);
    GN_CHECK_INT(st, GN_INGEST_MALFORMED);
}


static size_t
reading(const char *json, gn_reading_t *r)
{
    return gn_reading_parse(json, strlen(json), "r", r, &errs);
}


static void
test_reading(void)
{
    gn_reading_t  r;

    reset(NERR);
    GN_CHECK_INT(reading("{\"timestamp\":\"2025-12-13T10:00:00Z\","
                         "\"temperature\":60.5,\"pressure\":102.0,"
                         "\"speed\":1400}", &r), 0);
    GN_CHECK_INT(r.ts_ns, 1765620000LL * 1000000000LL);
    GN_CHECK_INT(r.present, 7);
    GN_CHECK(r.value[GN_FIELD_TEMPERATURE] == 60.5);
    GN_CHECK(r.value[GN_FIELD_SPEED] == 1400);

    reset(NERR);
    GN_CHECK_INT(reading("{\"timestamp\":\"2025-12-13T10:00:00.123456789"
                         "+07:00\",\"speed\":-0.0,\"extra\":\"ignored\"}",
                         &r), 0);
    GN_CHECK_INT(r.present, 1 << GN_FIELD_SPEED);
    GN_CHECK_INT(r.ts_ns, (1765620000LL - 7 * 3600) * 1000000000LL
                          + 123456789);

    /* each failure names its field */
    static const struct {
        const char  *json;
        const char  *field;
        const char  *error;
    } bad[] = {
        { "{\"temperature\":1}", "r.timestamp", "Required field missing" },
        { "{\"timestamp\":\"2025-13-45\",\"speed\":1}", "r.timestamp",
          "Invalid ISO 8601 format" },
        { "{\"timestamp\":\"2025-12-13T10:00:00\",\"speed\":1}",
          "r.timestamp", "Invalid ISO 8601 format" },
        { "{\"timestamp\":1765620000,\"speed\":1}", "r.timestamp",
          "Invalid ISO 8601 format" },
        { "{\"timestamp\":null,\"speed\":1}", "r.timestamp",
          "Invalid ISO 8601 format" },
        { "{\"timestamp\":\"2025-12-13T10:00:00Z\"}", "r",
          "At least one of temperature, pressure, speed" },
        { "{\"timestamp\":\"2025-12-13T10:00:00Z\",\"temperature\":\"60.5\"}",
          "r.temperature", "Must be a number" },
        { "{\"timestamp\":\"2025-12-13T10:00:00Z\",\"pressure\":true}",
          "r.pressure", "Must be a number" },
        { "{\"timestamp\":\"2025-12-13T10:00:00Z\",\"pressure\":null}",
          "r.pressure", "Must be a number" },
        { "{\"timestamp\":\"2025-12-13T10:00:00Z\",\"speed\":[1]}",
          "r.speed", "Must be a number" },
        { "{\"timestamp\":\"2025-12-13T10:00:00Z\",\"speed\":1e999}",
          "r.speed", "Must be a finite number" },
        { "{\"timestamp\":\"2025-12-13T10:00:00Z\",\"speed\":-1e999}",
          "r.speed", "Must be a finite number" },
        { "{\"timestamp\":\"2025-12-13T10:00:00Z\",\"speed\":1,\"speed\":2}",
          "r.speed", "Duplicate key" },
        { "{\"timestamp\":\"2025-12-13T10:00:00Z\",\"speed\":1,"
          "\"timestamp\":\"2030-01-01T00:00:00Z\"}",
          "r.timestamp", "Duplicate key" },
        { "[1]", "r", "Must be an object" },
        { "\"x\"", "r", "Must be an object" },
        { "{\"timestamp\":\"2262-04-12T00:00:00Z\",\"speed\":1}",
          "r.timestamp", "Invalid ISO 8601 format" },
        { "{\"timestamp\":\"2025-12-13T10:00:00Z                        "
          "                                           \",\"speed\":1}",
          "r.timestamp", "Invalid ISO 8601 format" },
    };

    size_t  i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        reset(NERR);
        GN_CHECK_MSG(reading(bad[i].json, &r) > 0, "%s", bad[i].json);
        GN_CHECK_MSG(has_error(bad[i].field, bad[i].error), "%s",
                     bad[i].json);
        if (!has_error(bad[i].field, bad[i].error)) {
            dump_errors();
        }
    }

    /* the seed's text, once */
    reset(NERR);
    GN_CHECK_INT(reading("{\"timestamp\":\"2025-13-45\",\"speed\":1}", &r),
                 1);
    GN_CHECK(strcmp(items[0].error, "Invalid ISO 8601 format") == 0);
    reset(NERR);
    GN_CHECK_INT(reading("{\"timestamp\":\"2025-12-13T10:00:00\","
                         "\"speed\":1}", &r), 1);
    GN_CHECK(strcmp(items[0].error, "Invalid ISO 8601 format: Timestamp "
                                    "must include a time zone (Z or "
                                    "\xc2\xb1hh:mm)") == 0);

    /* every error of one reading is reported, not just the first */
    reset(NERR);
    GN_CHECK_INT(reading("{\"timestamp\":\"x\",\"temperature\":\"a\","
                         "\"pressure\":false}", &r), 3);

    /* a full list counts what it cannot keep */
    reset(1);
    GN_CHECK_INT(reading("{\"timestamp\":\"x\",\"temperature\":\"a\","
                         "\"pressure\":false}", &r), 3);
    GN_CHECK_INT(errs.n, 1);
    GN_CHECK_INT(errs.dropped, 2);
}


static void
test_payload(void)
{
    gn_reading_t         r;
    gn_payload_status_e  st;
    const char          *ok = "{\"timestamp\":\"2025-12-13T10:00:00Z\","
                              "\"sensor_type\":\"Temperature\","
                              "\"temperature\":60.5}";
    char                 big[600];

    reset(NERR);
    st = gn_payload_parse(ok, strlen(ok), 512, &r, &errs);
    GN_CHECK_INT(st, GN_PAYLOAD_OK);
    GN_CHECK_INT(errs.n, 0);
    GN_CHECK(r.value[GN_FIELD_TEMPERATURE] == 60.5);

    reset(NERR);
    st = gn_payload_parse(ok, strlen(ok), 20, &r, &errs);
    GN_CHECK_INT(st, GN_PAYLOAD_TOO_LARGE);
    GN_CHECK(strcmp(gn_payload_reason(st), "payload_too_large") == 0);

    reset(NERR);
    st = gn_payload_parse("{\"timestamp\":", 13, 512, &r, &errs);
    GN_CHECK_INT(st, GN_PAYLOAD_NOT_JSON);
    GN_CHECK(strcmp(gn_payload_reason(st), "invalid_json") == 0);
    GN_CHECK(has_error("payload", "Malformed JSON: syntax error at byte"));

    reset(NERR);
    memset(big, '[', sizeof(big));
    st = gn_payload_parse(big, 100, 512, &r, &errs);
    GN_CHECK_INT(st, GN_PAYLOAD_NOT_JSON);
    GN_CHECK(has_error("payload", "Malformed JSON: nested too deeply"));

    reset(NERR);
    st = gn_payload_parse("{\"timestamp\":\"2025-12-13T10:00:00Z\","
                          "\"speed\":NaN,\"sensor_type\":\"x\"}", 61, 512,
                          &r, &errs);
    GN_CHECK_INT(st, GN_PAYLOAD_NOT_JSON);

    static const struct {
        const char  *json;
        const char  *field;
    } bad[] = {
        { "{\"timestamp\":\"2025-12-13T10:00:00Z\",\"temperature\":1}",
          "sensor_type" },
        { "{\"timestamp\":\"2025-12-13T10:00:00Z\",\"sensor_type\":7,"
          "\"temperature\":1}", "sensor_type" },
        { "{\"timestamp\":\"2025-12-13T10:00:00Z\",\"sensor_type\":\"\","
          "\"temperature\":1}", "sensor_type" },
        { "{\"timestamp\":\"2025-12-13T10:00:00Z\",\"sensor_type\":"
          "\"a\\u0001b\",\"temperature\":1}", "sensor_type" },
        { "{\"timestamp\":\"2025-12-13 10:00\",\"sensor_type\":\"T\","
          "\"temperature\":1}", "timestamp" },
        { "{\"timestamp\":\"2025-12-13T10:00:00Z\",\"sensor_type\":\"T\","
          "\"temperature\":\"hot\"}", "temperature" },
        { "{\"timestamp\":\"2025-12-13T10:00:00Z\",\"sensor_type\":\"T\"}",
          "" },
        { "[]", "" },
        { "42", "" },
    };

    size_t  i, j;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        reset(NERR);
        st = gn_payload_parse(bad[i].json, strlen(bad[i].json), 512, &r,
                              &errs);
        GN_CHECK_MSG(st == GN_PAYLOAD_INVALID, "%s", bad[i].json);
        GN_CHECK_MSG(has_error(bad[i].field, ""), "%s", bad[i].json);
        GN_CHECK(strcmp(gn_payload_reason(st), "invalid_payload") == 0);

        /* the tree is gone: no error may point into it */
        for (j = 0; j < errs.n; j++) {
            GN_CHECK(items[j].value.text == NULL);
        }
    }

    /* sensor_type at its bound and one past it */
    char  st100[300];

    snprintf(st100, sizeof(st100), "{\"timestamp\":\"2025-12-13T10:00:00Z\","
             "\"sensor_type\":\"%0100d\",\"speed\":1}", 0);
    reset(NERR);
    GN_CHECK_INT(gn_payload_parse(st100, strlen(st100), 512, &r, &errs),
                 GN_PAYLOAD_OK);
    snprintf(st100, sizeof(st100), "{\"timestamp\":\"2025-12-13T10:00:00Z\","
             "\"sensor_type\":\"%0101d\",\"speed\":1}", 0);
    reset(NERR);
    GN_CHECK_INT(gn_payload_parse(st100, strlen(st100), 512, &r, &errs),
                 GN_PAYLOAD_INVALID);
    GN_CHECK(has_error("sensor_type", "Longer than 100 bytes"));
}


static gn_ingest_status_e
ingest(const char *body, const gn_ingest_limits_t *lim, gn_ingest_t *in,
    int *budget)
{
    return gn_ingest_parse(body, strlen(body), lim, test_alloc, budget, in,
                           &errs);
}


#define M1  "e21c1cfa-4af9-4ccc-a53c-78a967195439"
#define M2  "d1c2084b-f16a-4eea-89d9-4402095d3af5"

#define ENTRY(id, readings)                                                  \
    "{\"machine_id\":\"" id "\",\"sensor_type\":\"Vibration\","             \
    "\"location\":\"Test Floor\",\"readings\":[" readings "]}"

#define READING(ts, v)                                                       \
    "{\"timestamp\":\"" ts "\",\"temperature\":" v "}"

#define BODY(entries)                                                        \
    "{\"gateway_id\":\"GW-TEST-01\",\"timestamp\":\"2025-12-13T10:00:00Z\","\
    "\"batch\":[" entries "]}"


static void
test_ingest(void)
{
    gn_ingest_limits_t  lim = { 3, 2, 8 };
    gn_ingest_t         in;
    gn_ingest_status_e  st;
    int                 budget;

    /* the seed's example */
    reset(NERR);
    st = ingest("{\"gateway_id\":\"GW-TEST-01\",\"timestamp\":"
                "\"2025-12-13T10:00:00Z\",\"batch\":[{\"machine_id\":"
                "\"E21C1CFA-4AF9-4CCC-A53C-78A967195439\",\"sensor_type\":"
                "\"Vibration\",\"location\":\"Test Floor\",\"readings\":["
                "{\"timestamp\":\"2025-12-13T10:00:00Z\",\"temperature\":"
                "60.5,\"pressure\":102.0,\"speed\":1400}]}]}", &lim, &in,
                NULL);
    GN_CHECK_INT(st, GN_INGEST_OK);
    GN_CHECK_INT(errs.n, 0);
    GN_CHECK_INT(in.nmachines, 1);
    GN_CHECK_INT(in.nvalid, 1);
    GN_CHECK_INT(in.nreadings, 1);
    GN_CHECK(strcmp(in.gateway_id, "GW-TEST-01") == 0);
    GN_CHECK(strcmp(in.machines[0].machine_id, M1) == 0);  /* lower case */
    GN_CHECK_INT(in.machines[0].readings[0].present, 7);

    /* one bad entry among good ones: partial, with the seed's paths */
    reset(NERR);
    st = ingest(BODY(ENTRY(M1, READING("2025-12-13T10:00:00Z", "1")) ","
                     ENTRY(M2, READING("2025-13-45", "2")) ","
                     ENTRY("invalid-uuid", READING("2025-12-13T10:00:00Z",
                                                    "3"))),
                &lim, &in, NULL);
    GN_CHECK_INT(st, GN_INGEST_PARTIAL);
    GN_CHECK_INT(in.nvalid, 1);
    GN_CHECK_INT(in.nreadings, 1);
    GN_CHECK(in.machines[0].valid && !in.machines[1].valid
             && !in.machines[2].valid);
    GN_CHECK(has_error("batch[1].readings[0].timestamp",
                       "Invalid ISO 8601 format"));
    GN_CHECK(has_error("batch[2].machine_id", "Must be a UUID"));
    GN_CHECK(errs.n == 2 && errs.items[1].value.text != NULL
             && errs.items[1].value.len == 14
             && memcmp(errs.items[1].value.text, "\"invalid-uuid\"", 14)
                == 0);
    GN_CHECK(in.machines[2].machine_id_sent != NULL
             && strcmp(in.machines[2].machine_id_sent, "invalid-uuid") == 0);
    GN_CHECK(strcmp(in.machines[1].machine_id, M2) == 0);
    GN_CHECK(in.machines[2].machine_id[0] == '\0');

    /* nothing valid */
    reset(NERR);
    st = ingest(BODY(ENTRY(M1, READING("2025-12-13T10:00:00Z", "\"hot\""))),
                &lim, &in, NULL);
    GN_CHECK_INT(st, GN_INGEST_INVALID);
    GN_CHECK(has_error("batch[0].readings[0].temperature",
                       "Must be a number"));

    /* errors outside the entries fail the request, entries still checked */
    reset(NERR);
    st = ingest("{\"timestamp\":\"2025-12-13T10:00:00\",\"batch\":["
                ENTRY(M1, READING("x", "1")) "]}", &lim, &in, NULL);
    GN_CHECK_INT(st, GN_INGEST_INVALID);
    GN_CHECK(has_error("gateway_id", "Required field missing"));
    GN_CHECK(has_error("timestamp", "Invalid ISO 8601 format"));
    GN_CHECK(has_error("batch[0].readings[0].timestamp", "Invalid ISO"));

    /* limits are named */
    reset(NERR);
    st = ingest(BODY(ENTRY(M1, READING("2025-12-13T10:00:00Z", "1")) ","
                     ENTRY(M1, READING("2025-12-13T10:00:00Z", "1")) ","
                     ENTRY(M1, READING("2025-12-13T10:00:00Z", "1")) ","
                     ENTRY(M1, READING("2025-12-13T10:00:00Z", "1"))),
                &lim, &in, NULL);
    GN_CHECK_INT(st, GN_INGEST_INVALID);
    GN_CHECK(has_error("batch", "More than 3 machines"));

    reset(NERR);
    st = ingest(BODY(ENTRY(M1, READING("2025-12-13T10:00:00Z", "1") ","
                               READING("2025-12-13T10:00:01Z", "1") ","
                               READING("2025-12-13T10:00:02Z", "1"))),
                &lim, &in, NULL);
    GN_CHECK_INT(st, GN_INGEST_INVALID);
    GN_CHECK(has_error("batch[0].readings", "More than 2 readings"));

    /* shapes */
    static const struct {
        const char          *body;
        gn_ingest_status_e   status;
        const char          *field;
        const char          *error;
    } bad[] = {
        { "[]", GN_INGEST_INVALID, "body", "Must be a JSON object" },
        { "{\"batch\":", GN_INGEST_MALFORMED, "body",
          "Malformed JSON: syntax error at byte 8" },
        { "{\"gateway_id\":\"g\",\"timestamp\":\"2025-12-13T10:00:00Z\"}",
          GN_INGEST_INVALID, "batch", "Required field missing" },
        { BODY(""), GN_INGEST_INVALID, "batch", "Must hold at least one" },
        { "{\"gateway_id\":\"g\",\"timestamp\":\"2025-12-13T10:00:00Z\","
          "\"batch\":{}}", GN_INGEST_INVALID, "batch", "Must be an array" },
        { BODY("7"), GN_INGEST_INVALID, "batch[0]", "Must be an object" },
        { BODY(ENTRY(M1, "")), GN_INGEST_INVALID, "batch[0].readings",
          "Must hold at least one reading" },
        { BODY("{\"machine_id\":\"" M1 "\",\"sensor_type\":\"s\","
               "\"location\":\"l\"}"), GN_INGEST_INVALID,
          "batch[0].readings", "Required field missing" },
        { BODY("{\"machine_id\":\"" M1 "\",\"sensor_type\":\"s\","
               "\"location\":\"l\",\"readings\":{}}"), GN_INGEST_INVALID,
          "batch[0].readings", "Must be an array" },
        { BODY("{\"sensor_type\":\"s\",\"location\":\"l\",\"readings\":["
               READING("2025-12-13T10:00:00Z", "1") "]}"),
          GN_INGEST_INVALID, "batch[0].machine_id", "Required field" },
        { BODY("{\"machine_id\":7,\"sensor_type\":\"s\",\"location\":\"l\","
               "\"readings\":[" READING("2025-12-13T10:00:00Z", "1") "]}"),
          GN_INGEST_INVALID, "batch[0].machine_id", "Must be a UUID" },
        { BODY("{\"machine_id\":\"" M1 "'; DROP TABLE x;--\","
               "\"sensor_type\":\"s\",\"location\":\"l\",\"readings\":["
               READING("2025-12-13T10:00:00Z", "1") "]}"),
          GN_INGEST_INVALID, "batch[0].machine_id", "Must be a UUID" },
        { BODY("{\"machine_id\":\"" M1 "\",\"location\":\"l\","
               "\"readings\":[" READING("2025-12-13T10:00:00Z", "1") "]}"),
          GN_INGEST_INVALID, "batch[0].sensor_type", "Required field" },
        { BODY("{\"machine_id\":\"" M1 "\",\"sensor_type\":\"s\","
               "\"location\":\"a\\nb\",\"readings\":["
               READING("2025-12-13T10:00:00Z", "1") "]}"),
          GN_INGEST_INVALID, "batch[0].location", "Must not contain" },
        { "{\"gateway_id\":[],\"timestamp\":\"2025-12-13T10:00:00Z\","
          "\"batch\":[" ENTRY(M1, READING("2025-12-13T10:00:00Z", "1"))
          "]}", GN_INGEST_INVALID, "gateway_id", "Must be a string" },
    };

    size_t  i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        reset(NERR);
        st = ingest(bad[i].body, &lim, &in, NULL);
        GN_CHECK_MSG(st == bad[i].status, "case %zu: status %d", i, st);
        GN_CHECK_MSG(has_error(bad[i].field, bad[i].error), "case %zu", i);
        if (!has_error(bad[i].field, bad[i].error)) {
            dump_errors();
        }
        if (st == GN_INGEST_MALFORMED) {
            GN_CHECK_INT(in.json_offset, 8);
        }
    }

    /* out of memory is reported, nothing is leaked */
    for (budget = 0; budget < 2; budget++) {
        int  b = budget;

        reset(NERR);
        st = ingest(BODY(ENTRY(M1, READING("2025-12-13T10:00:00Z", "1"))),
                    &lim, &in, &b);
        GN_CHECK_INT(st, GN_INGEST_NOMEM);
        }
}


static void
test_line(void)
{
    /* a hostile location round-trips through the escaping; control
     * characters cannot be tags at all */
    static const char  loc[] = "Hall 1, \"east\"=x\\y";
    gn_series_t        s = { M1, loc, sizeof(loc) - 1, "Temp Sensor", 11 };
    gn_reading_t       r = { 1765620000000000001LL, 5, { 60.5, 0, 0.1 } };
    char               buf[512], *end;
    const char        *want = "sensor_readings,location=Hall\\ 1\\,\\ \"east\""
                              "\\=x\\y,machine_id=" M1 ",sensor_type=Temp\\ "
                              "Sensor temperature=60.5,speed=0.1 "
                              "1765620000000000001\n";

    GN_CHECK_INT(gn_series_check(&s), GN_LP_OK);
    end = gn_reading_line(buf, &s, &r);
    GN_CHECK_STR(buf, (size_t) (end - buf), want);
    GN_CHECK_INT(gn_reading_line_len(&s, &r), (size_t) (end - buf));

    r.present = 2;
    r.value[1] = -1.5e-7;
    r.ts_ns = -1;
    end = gn_reading_line(buf, &s, &r);
    GN_CHECK_INT(gn_reading_line_len(&s, &r), (size_t) (end - buf));
    GN_CHECK(strstr(buf, " pressure=-1.5e-07 -1\n") != NULL);

    s.location = "a\nb";
    s.location_len = 3;
    GN_CHECK(gn_series_check(&s) != GN_LP_OK);
    s.location = "ok";
    s.location_len = 2;
    s.sensor_type = "";
    s.sensor_type_len = 0;
    GN_CHECK(gn_series_check(&s) != GN_LP_OK);
    s.sensor_type = "T";
    s.sensor_type_len = 1;
    s.machine_id = "not-a-uuid";
    GN_CHECK(gn_series_check(&s) != GN_LP_OK);
}


int
main(void)
{
    test_json_parse();
    test_reading();
    test_payload();
    test_ingest();
    test_line();
    reset(0);

    GN_TEST_DONE();
}
