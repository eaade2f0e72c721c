/*
 * Unit tests: gn_telemetry (JSON parsing, reading rules, MQTT payloads,
 * ingest bodies, the line of a reading), with hostile inputs.
 */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "gn_lineproto.h"
#include "gn_telemetry.h"
#include "gn_test.h"
#include "gn_ref_telemetry.h"


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


/*
 * Differential tests: the one-pass parser against the cJSON-based one it
 * replaced (gn_ref_telemetry.h), on generated bodies and their mutations.
 * Everything observable must agree: status, error fields, texts and
 * values (printed by cJSON, as the nginx answer does), dropped counts,
 * json_offset, and the readings bit for bit.  Texts where the parsers
 * differ on purpose are skipped (ndeviant counts them): see
 * ref_deviant(), and keys of a body or entry given twice (refused now,
 * the first one taken before).
 */

static size_t  ndiff, ndeviant;


/* an error value as the nginx answer prints it */
static void
print_value(const cJSON *item, char *buf, size_t size)
{
    char  *text;

    if (item == NULL) {
        snprintf(buf, size, "null");
        return;
    }

    text = cJSON_PrintUnformatted(item);
    snprintf(buf, size, "%s", text ? text : "(nomem)");
    cJSON_free(text);
}


static void
print_new_value(const gn_json_text_t *v, char *buf, size_t size)
{
    cJSON  *item;

    if (v->text == NULL) {
        snprintf(buf, size, "null");
        return;
    }

    item = cJSON_ParseWithLength(v->text, v->len);
    if (item == NULL) {
        snprintf(buf, size, "%.*s", (int) v->len, v->text);
        return;
    }

    print_value(item, buf, size);
    cJSON_Delete(item);
}


static int
same_errors(const gn_errors_t *a, const ref_errors_t *b, const char *what)
{
    size_t  i;
    char    va[512], vb[512];

    if (a->n != b->n || a->dropped != b->dropped) {
        GN_CHECK_MSG(0, "%s: %zu+%zu errors, reference %zu+%zu", what, a->n,
                     a->dropped, b->n, b->dropped);
        return 0;
    }

    for (i = 0; i < a->n; i++) {
        print_new_value(&a->items[i].value, va, sizeof(va));
        print_value(b->items[i].value, vb, sizeof(vb));

        if (strcmp(a->items[i].field, b->items[i].field) != 0
            || strcmp(a->items[i].error, b->items[i].error) != 0
            || strcmp(va, vb) != 0)
        {
            GN_CHECK_MSG(0, "%s: error %zu: %s: %s (%s), reference %s: %s "
                         "(%s)", what, i, a->items[i].field,
                         a->items[i].error, va, b->items[i].field,
                         b->items[i].error, vb);
            return 0;
        }
    }

    return 1;
}


static size_t
count_dups(const gn_errors_t *e)
{
    size_t  i, n = 0;

    for (i = 0; i < e->n; i++) {
        n += strcmp(e->items[i].error, "Duplicate key") == 0;
    }

    return n;
}


static size_t
count_ref_dups(const ref_errors_t *e)
{
    size_t  i, n = 0;

    for (i = 0; i < e->n; i++) {
        n += strcmp(e->items[i].error, "Duplicate key") == 0;
    }

    return n;
}


#define DIFF_NERR  512

static gn_error_t   diff_items[DIFF_NERR];
static ref_error_t  diff_ref_items[DIFF_NERR];


/* one text through both parsers with a list of cap errors; 0 when it
 * was skipped as deviant */
static int
diff_one(const char *text, size_t len, const gn_ingest_limits_t *lim,
    size_t cap)
{
    gn_errors_t          a = { diff_items, cap, 0, 0 };
    ref_errors_t         b = { diff_ref_items, cap, 0, 0 };
    gn_errors_t          big = { diff_items, DIFF_NERR, 0, 0 };
    ref_errors_t         rbig = { diff_ref_items, DIFF_NERR, 0, 0 };
    gn_ingest_t          in;
    ref_ingest_t         rin;
    gn_ingest_status_e   st, rst;
    gn_payload_status_e  pst, rpst;
    gn_reading_t         r1, r2;
    size_t               i, j;
    int                  ok = 1, dev;

    dev = ref_deviant(text, len);

    /* the duplicates of a body's or entry's keys: refused now */
    reset(0);
    st = gn_ingest_parse(text, len, lim, test_alloc, NULL, &in, &big);
    rst = ref_ingest_parse(text, len, lim, test_alloc, NULL, &rin, &rbig);
    cJSON_Delete(rin.root);

    if (count_dups(&big) != count_ref_dups(&rbig)
        || (big.dropped && count_dups(&big)))
    {
        dev = 1;
    }

    if (dev) {
        /* still: no crash, and a status the caller knows */
        GN_CHECK(st <= GN_INGEST_NOMEM && rst <= GN_INGEST_NOMEM);
        ndeviant++;
        reset(0);
        return 0;
    }

    reset(0);
    st = gn_ingest_parse(text, len, lim, test_alloc, NULL, &in, &a);
    rst = ref_ingest_parse(text, len, lim, test_alloc, NULL, &rin, &b);

    if (st != rst) {
        GN_CHECK_MSG(0, "status %d, reference %d: %.*s", st, rst,
                     (int) (len > 300 ? 300 : len), text);
        ok = 0;
    }

    if (ok && !same_errors(&a, &b, "ingest")) {
        ok = 0;
    }

    if (ok && st == GN_INGEST_MALFORMED && in.json_offset != rin.json_offset)
    {
        GN_CHECK_MSG(0, "json_offset %zu, reference %zu", in.json_offset,
                     rin.json_offset);
        ok = 0;
    }

    if (ok && st != GN_INGEST_MALFORMED && st != GN_INGEST_NOMEM) {
        if (in.nmachines != rin.nmachines || in.nvalid != rin.nvalid
            || in.nreadings != rin.nreadings
            || (in.gateway_id == NULL) != (rin.gateway_id == NULL)
            || (in.gateway_id && strcmp(in.gateway_id, rin.gateway_id)))
        {
            GN_CHECK_MSG(0, "summary differs: %zu/%zu/%zu, reference "
                         "%zu/%zu/%zu", in.nmachines, in.nvalid,
                         in.nreadings, rin.nmachines, rin.nvalid,
                         rin.nreadings);
            ok = 0;
        }

        for (i = 0; ok && i < in.nmachines; i++) {
            gn_ingest_machine_t   *m = &in.machines[i];
            ref_ingest_machine_t  *rm = &rin.machines[i];
            const char            *sent = NULL;

            if (cJSON_IsString(rm->machine_id_value)) {
                sent = rm->machine_id_value->valuestring;
            }

            ok = m->valid == rm->valid
                 && strcmp(m->machine_id, rm->machine_id) == 0
                 && (m->machine_id[0] != '\0'
                     || (m->machine_id_sent == NULL) == (sent == NULL))
                 && (m->machine_id[0] != '\0' || sent == NULL
                     || strcmp(m->machine_id_sent, sent) == 0);

            if (ok && m->valid) {
                ok = m->nreadings == rm->nreadings;

                for (j = 0; ok && j < m->nreadings; j++) {
                    ok = ref_same_reading(&m->readings[j], &rm->readings[j]);
                }
            }

            GN_CHECK_MSG(ok, "entry %zu differs", i);
        }
    }

    cJSON_Delete(rin.root);

    /* the same text as an MQTT payload */
    reset(0);
    a.n = a.dropped = b.n = b.dropped = 0;
    pst = gn_payload_parse(text, len, 1 << 20, &r1, &a);
    rpst = ref_payload_parse(text, len, 1 << 20, &r2, &b);

    if (ok && pst != rpst) {
        GN_CHECK_MSG(0, "payload status %d, reference %d", pst, rpst);
        ok = 0;
    }

    if (ok && !same_errors(&a, &b, "payload")) {
        ok = 0;
    }

    if (ok && pst == GN_PAYLOAD_OK && !ref_same_reading(&r1, &r2)) {
        GN_CHECK_MSG(0, "payload reading differs%s", "");
        ok = 0;
    }

    if (!ok) {
        fprintf(stderr, "    text: %.*s\n", (int) (len > 400 ? 400 : len),
                text);
    }

    reset(0);
    ndiff++;

    return ok;
}


/* reproducible: the generator of gn_test.h */
static uint64_t  rng = 88172645463325252ULL;

static unsigned
rnd(unsigned n)
{
    return (unsigned) (gn_test_rand(&rng) % n);
}


typedef struct {
    char    *p;
    size_t   len;
    size_t   cap;
} buf_t;


static void
put(buf_t *b, const char *s)
{
    size_t  n = strlen(s);

    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
    }

    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}


static void
ws(buf_t *b)
{
    static const char *const  w[] = { "", "", "", " ", "\n", "\t ", "\r\n  " };

    put(b, w[rnd(sizeof(w) / sizeof(w[0]))]);
}


static void
gen_number(buf_t *b)
{
    static const char *const  n[] = {
        "0", "-0", "1", "60.5", "102.0", "1400", "-1.5e-7", "1e400",
        "-1e999", "1e-400", "0.1", "123456789012345678901234567890",
        "9007199254740993", "4.9e-324", "2.2250738585072014e-308",
        "1.7976931348623157e308", "1.7976931348623159e308", "1E+2",
        "2147483648", "-2147483649", "0.30000000000000004", "1e22",
        "1e23", "12345.678e-3", "-0.0e0"
    };
    char  tmp[48];

    if (rnd(3) == 0) {
        snprintf(tmp, sizeof(tmp), "%s%u.%ue%d", rnd(2) ? "-" : "",
                 rnd(100000), rnd(1000), (int) rnd(80) - 40);
        put(b, tmp);
        return;
    }

    put(b, n[rnd(sizeof(n) / sizeof(n[0]))]);
}


static void
gen_string(buf_t *b, const char *plain)
{
    static const char *const  s[] = {
        "\"\"", "\"x\"", "\"a\\nb\"", "\"\\u0041bc\"", "\"caf\xc3\xa9\"",
        "\"\\ud83d\\ude00\"", "\"\\u007f\"", "\"\\\"q\\\\\"", "\"a\\/b\"",
        "\"\\u00e9\\u2028\"", "\"\x7f\""
    };

    if (plain != NULL && rnd(4) != 0) {
        put(b, "\"");
        put(b, plain);
        put(b, "\"");
        return;
    }

    put(b, s[rnd(sizeof(s) / sizeof(s[0]))]);
}


static void gen_value(buf_t *b, int depth);


static void
gen_any(buf_t *b, int depth)
{
    switch (rnd(depth > 2 ? 5 : 7)) {
    case 0: gen_number(b); break;
    case 1: gen_string(b, NULL); break;
    case 2: put(b, "true"); break;
    case 3: put(b, "null"); break;
    case 4: put(b, "false"); break;
    default: gen_value(b, depth + 1); break;
    }
}


static void
gen_value(buf_t *b, int depth)
{
    unsigned  i, n = rnd(3);

    put(b, rnd(2) ? "[" : "{");
    if (b->p[b->len - 1] == '[') {
        for (i = 0; i < n; i++) {
            if (i) put(b, ",");
            ws(b);
            gen_any(b, depth);
            ws(b);
        }
        put(b, "]");
        return;
    }

    for (i = 0; i < n; i++) {
        if (i) put(b, ",");
        ws(b);
        put(b, rnd(2) ? "\"k\"" : "\"speed\"");
        ws(b);
        put(b, ":");
        gen_any(b, depth);
    }
    put(b, "}");
}


static const char *const  ts_good[] = {
    "2025-12-13T10:00:00Z", "2025-12-13T10:00:00.123456789+07:00",
    "2025-12-13T10:00:00\\u005a", "1970-01-01T00:00:00Z"
};
static const char *const  ts_bad[] = {
    "2025-13-45", "2025-12-13T10:00:00", "2262-04-12T00:00:00Z", "x",
    "2025-12-13T10:00:00Z                                               "
    "     "
};


static void
gen_timestamp(buf_t *b)
{
    switch (rnd(8)) {
    case 0: put(b, "\""); put(b, ts_bad[rnd(5)]); put(b, "\""); break;
    case 1: gen_any(b, 3); break;
    default: put(b, "\""); put(b, ts_good[rnd(4)]); put(b, "\""); break;
    }
}


/* a member "key": value, the key sometimes escaped or repeated */
static void
gen_key(buf_t *b, const char *key, int *first)
{
    if (!*first) {
        put(b, ",");
    }
    *first = 0;
    ws(b);

    if (rnd(20) == 0 && key[0] == 't') {
        put(b, "\"\\u0074");
        put(b, key + 1);
        put(b, "\"");
    } else {
        put(b, "\"");
        put(b, key);
        put(b, "\"");
    }

    ws(b);
    put(b, ":");
    ws(b);
}


static void
gen_reading(buf_t *b)
{
    static const char *const  keys[] = {
        "timestamp", "temperature", "pressure", "speed", "extra",
        "sensor_type"
    };
    unsigned  i, n, k;
    int       first = 1;

    if (rnd(15) == 0) {
        gen_any(b, 2);
        return;
    }

    put(b, "{");
    n = rnd(6);

    if (rnd(6) != 0) {
        gen_key(b, "timestamp", &first);
        gen_timestamp(b);
    }

    for (i = 0; i < n; i++) {
        k = rnd(6);
        gen_key(b, keys[k], &first);

        if (k == 0) {
            gen_timestamp(b);
        } else if (k < 4) {
            if (rnd(8) == 0) {
                gen_any(b, 2);
            } else {
                gen_number(b);
            }
        } else if (k == 5) {
            gen_string(b, "Temperature");
        } else {
            gen_any(b, 2);
        }
    }

    ws(b);
    put(b, "}");
}


static void
gen_entry(buf_t *b, unsigned max_readings)
{
    static const char *const  ids[] = {
        M1, M2, "E21C1CFA-4AF9-4CCC-A53C-78A967195439", "invalid-uuid",
        "e21c1cfa-4af9-4ccc-a53c-78a96719543"
    };
    unsigned  i, n, order[4], k, t;
    int       first = 1;

    if (rnd(20) == 0) {
        gen_any(b, 2);
        return;
    }

    for (i = 0; i < 4; i++) {
        order[i] = i;
    }
    for (i = 0; i < 4; i++) {
        k = rnd(4);
        t = order[i];
        order[i] = order[k];
        order[k] = t;
    }

    put(b, "{");

    for (i = 0; i < 4; i++) {
        if (rnd(12) == 0) {
            continue;                   /* a missing key */
        }

        switch (order[i]) {
        case 0:
            gen_key(b, "machine_id", &first);
            if (rnd(10) == 0) {
                gen_any(b, 3);
            } else {
                gen_string(b, ids[rnd(5)]);
            }
            break;

        case 1:
            gen_key(b, "sensor_type", &first);
            rnd(6) ? gen_string(b, "Vibration") : gen_any(b, 3);
            break;

        case 2:
            gen_key(b, "location", &first);
            rnd(6) ? gen_string(b, "Test Floor") : gen_any(b, 3);
            break;

        default:
            gen_key(b, "readings", &first);
            if (rnd(12) == 0) {
                gen_any(b, 3);
                break;
            }
            put(b, "[");
            n = rnd(max_readings + 2);
            for (k = 0; k < n; k++) {
                if (k) put(b, ",");
                ws(b);
                gen_reading(b);
            }
            ws(b);
            put(b, "]");
            break;
        }

        if (rnd(40) == 0) {
            gen_key(b, "location", &first);     /* a key twice */
            gen_string(b, "Other");
        }
    }

    if (rnd(4) == 0) {
        gen_key(b, "extra", &first);
        gen_any(b, 2);
    }

    ws(b);
    put(b, "}");
}


static void
gen_body(buf_t *b, const gn_ingest_limits_t *lim)
{
    unsigned  i, n;
    int       first = 1;

    b->len = 0;
    put(b, rnd(30) == 0 ? "\xef\xbb\xbf" : "");
    ws(b);

    if (rnd(30) == 0) {
        gen_any(b, 1);
        return;
    }

    put(b, "{");

    if (rnd(10) != 0) {
        gen_key(b, "gateway_id", &first);
        rnd(8) ? gen_string(b, "GW-TEST-01") : gen_any(b, 2);
    }

    if (rnd(10) != 0) {
        gen_key(b, "timestamp", &first);
        gen_timestamp(b);
    }

    if (rnd(12) != 0) {
        gen_key(b, "batch", &first);
        if (rnd(15) == 0) {
            gen_any(b, 2);
        } else {
            put(b, "[");
            n = rnd((unsigned) lim->max_machines + 2);
            for (i = 0; i < n; i++) {
                if (i) put(b, ",");
                ws(b);
                gen_entry(b, (unsigned) lim->max_readings);
            }
            ws(b);
            put(b, "]");
        }
    }

    ws(b);
    put(b, "}");
    ws(b);
}


static void
test_differential(void)
{
    static const char  alphabet[] = "{}[]\",:0123456789-.eE \\u\"ntf\x80\xc3";
    gn_ingest_limits_t  lim = { 3, 3, 8 };
    buf_t               b = { NULL, 0, 0 }, m = { NULL, 0, 0 };
    size_t              i, k, len;
    char                c;

    for (i = 0; i < 3000; i++) {
        lim.max_depth = i % 10 == 0 ? 4 + rnd(4) : 8;
        gen_body(&b, &lim);

        /* a list long enough, and one that fills up */
        diff_one(b.p, b.len, &lim, DIFF_NERR);
        diff_one(b.p, b.len, &lim, 1 + rnd(4));

        /* mutations: a byte changed; every truncation of some */
        for (k = 0; k < 4 && b.len > 0; k++) {
            m.len = 0;
            put(&m, b.p);
            c = alphabet[rnd(sizeof(alphabet) - 1)];
            m.p[rnd((unsigned) m.len)] = c;
            diff_one(m.p, m.len, &lim, 1 + rnd(8));
        }

        if (i % 50 == 0) {
            for (len = 0; len < b.len; len++) {
                diff_one(b.p, len, &lim, DIFF_NERR);
            }
        }
    }

    fprintf(stderr, "    differential: %zu texts compared, %zu skipped as "
            "deviant on purpose\n", ndiff, ndeviant);

    /* the generator must reach the interesting cases, not only skips */
    GN_CHECK(ndiff > 20000 && ndiff > 4 * ndeviant);

    free(b.p);
    free(m.p);
}


/* every number the generator can think of: the parser's double is
 * strtod's, bit for bit (through a reading, as the ingest sees it) */
static void
check_number(const char *num)
{
    char          json[512];
    gn_reading_t  r;
    double        want;
    size_t        n;

    want = strtod(num, NULL);
    snprintf(json, sizeof(json), "{\"timestamp\":\"2025-12-13T10:00:00Z\","
             "\"temperature\":%s}", num);
    reset(NERR);
    n = gn_reading_parse(json, strlen(json), "r", &r, &errs);

    if (!isfinite(want)) {
        GN_CHECK_MSG(n == 1 && has_error("r.temperature",
                                         "Must be a finite number"),
                     "%s", num);
        return;
    }

    GN_CHECK_MSG(n == 0 && memcmp(&r.value[0], &want, sizeof(double)) == 0,
                 "%s: %.17g, strtod %.17g", num, r.value[0], want);
}


static void
test_numbers(void)
{
    static const char *const  fixed[] = {
        "0", "-0", "0.0", "-0.0", "0e0", "-0e-5", "1e-400", "-1e-400",
        "1e309", "-1e309", "1e308", "1.7976931348623157e308",
        "1.7976931348623158e308", "1.7976931348623159e308",
        "4.9406564584124654e-324", "2.4703282292062327e-324",
        "2.4703282292062328e-324", "2.2250738585072011e-308",
        "2.2250738585072012e-308", "9007199254740992", "9007199254740993",
        "9007199254740994", "9007199254740995", "18446744073709551615",
        "18446744073709551616", "1e22", "1e23", "1e-22", "1e-23",
        "8.98846567431158e307", "0.1", "0.2", "0.30000000000000004",
        "1234567890123456789", "12345678901234567890",
        "1234567890123456789012345678901234567890e-30",
        "0.000000000000000000000000000000000000001", "3.14159265358979323846",
        "1e999999999999999999", "1e-999999999999999999", "5e-324",
        "123.456e10", "-9999999999999999e22", "9007199254740993e-22"
    };
    char      num[96];
    size_t    i;
    unsigned  d, nd;

    for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        check_number(fixed[i]);
    }

    /* -0 keeps its sign */
    {
        gn_reading_t  r;
        const char   *j = "{\"timestamp\":\"2025-12-13T10:00:00Z\","
                          "\"speed\":-0}";
        reset(NERR);
        GN_CHECK_INT(gn_reading_parse(j, strlen(j), "r", &r, &errs), 0);
        GN_CHECK(r.value[GN_FIELD_SPEED] == 0
                 && signbit(r.value[GN_FIELD_SPEED]));
    }

    for (i = 0; i < 200000; i++) {
        size_t  n = 0;

        nd = 1 + rnd(i % 4 == 0 ? 25 : 17);

        if (rnd(2)) {
            num[n++] = '-';
        }

        num[n++] = (char) ('1' + rnd(9));
        for (d = 1; d < nd; d++) {
            num[n++] = (char) ('0' + rnd(10));
        }

        if (rnd(2)) {
            /* a decimal point somewhere in the digits */
            size_t  at = 1 + rnd(nd), first = num[0] == '-';
            if (first + at < n) {
                memmove(num + first + at + 1, num + first + at,
                        n - first - at);
                num[first + at] = '.';
                n++;
            }
        }

        if (rnd(3)) {
            n += (size_t) snprintf(num + n, sizeof(num) - n, "e%d",
                                   (int) rnd(i % 8 == 0 ? 700 : 60)
                                   - (i % 8 == 0 ? 350 : 30));
        }

        num[n] = '\0';
        check_number(num);
    }
}


/* hostile texts, judged without the reference */
static void
test_hostile(void)
{
    gn_ingest_limits_t   lim = { 3, 3, 8 };
    gn_ingest_t          in;
    gn_ingest_status_e   st;
    gn_reading_t         r;
    size_t               len, n;
    char                *deep;
    const char          *good = BODY(ENTRY(M1,
                                     READING("2025-12-13T10:00:00Z", "1")));
    const char          *spaced =
        " \r\n{ \"gateway_id\" :\t\"GW\" , \"timestamp\" : "
        "\"2025-12-13T10:00:00Z\" ,\n\"batch\" : [ { \"machine_id\" : \""
        M1 "\" , \"sensor_type\" : \"s\" , \"location\" : \"l\" , "
        "\"readings\" : [ { \"timestamp\" : \"2025-12-13T10:00:00Z\" , "
        "\"temperature\" : 1.5 , \"speed\" : -2e3 } ] } ] } \n\t";

    /* every truncation of a valid body is malformed */
    for (len = 0; len < strlen(good); len++) {
        reset(NERR);
        st = gn_ingest_parse(good, len, &lim, test_alloc, NULL, &in, &errs);
        GN_CHECK_MSG(st == GN_INGEST_MALFORMED && errs.n == 1,
                     "truncated at %zu", len);
    }

    reset(NERR);
    GN_CHECK_INT(ingest(good, &lim, &in, NULL), GN_INGEST_OK);

    /* white space everywhere the RFC allows it */
    reset(NERR);
    GN_CHECK_INT(ingest(spaced, &lim, &in, NULL), GN_INGEST_OK);
    GN_CHECK(in.nreadings == 1 && in.machines[0].readings[0].present == 5
             && in.machines[0].readings[0].value[GN_FIELD_SPEED] == -2000);

    /* but not elsewhere, and only the RFC's four */
    reset(NERR);
    GN_CHECK_INT(ingest("{\"gateway_id\":\"GW\",\x0b\"batch\":[]}", &lim, &in,
                        NULL), GN_INGEST_MALFORMED);
    reset(NERR);
    GN_CHECK_INT(ingest("{\"batch\":[1\x0c]}", &lim, &in, NULL),
                 GN_INGEST_MALFORMED);

    /* deep nesting: refused before any recursion matters */
    deep = malloc(200001);
    memset(deep, '[', 100000);
    memset(deep + 100000, ']', 100000);
    deep[200000] = '\0';
    reset(NERR);
    GN_CHECK_INT(ingest(deep, &lim, &in, NULL), GN_INGEST_MALFORMED);
    GN_CHECK(has_error("body", "Malformed JSON: nested too deeply at byte 8"));
    memcpy(deep, "{\"gateway_id\":", 14);
    reset(NERR);
    GN_CHECK_INT(ingest(deep, &lim, &in, NULL), GN_INGEST_MALFORMED);
    GN_CHECK(has_error("body", "Malformed JSON: nested too deeply"));
    free(deep);

    reset(NERR);
    GN_CHECK_INT(ingest(BODY(ENTRY(M1, "{\"timestamp\":"
                                   "\"2025-12-13T10:00:00Z\",\"speed\":1,"
                                   "\"x\":[[[[[]]]]]}")), &lim, &in, NULL),
                 GN_INGEST_MALFORMED);

    /* keys given twice, at every level */
    reset(NERR);
    st = ingest("{\"gateway_id\":\"a\",\"gateway_id\":\"b\",\"timestamp\":"
                "\"2025-12-13T10:00:00Z\",\"batch\":["
                ENTRY(M1, READING("2025-12-13T10:00:00Z", "1")) "]}", &lim,
                &in, NULL);
    GN_CHECK_INT(st, GN_INGEST_INVALID);
    GN_CHECK(has_error("gateway_id", "Duplicate key"));
    GN_CHECK(in.gateway_id && strcmp(in.gateway_id, "a") == 0);

    reset(NERR);
    st = ingest(BODY("{\"machine_id\":\"" M1 "\",\"machine_id\":\"" M2 "\","
                     "\"sensor_type\":\"s\",\"location\":\"l\",\"readings\":["
                     READING("2025-12-13T10:00:00Z", "1") "]},"
                     ENTRY(M2, READING("2025-12-13T10:00:00Z", "1"))),
                &lim, &in, NULL);
    GN_CHECK_INT(st, GN_INGEST_PARTIAL);
    GN_CHECK(has_error("batch[0].machine_id", "Duplicate key"));
    GN_CHECK(!in.machines[0].valid && in.machines[1].valid);

    reset(NERR);
    st = ingest(BODY(ENTRY(M1, "{\"timestamp\":\"2025-12-13T10:00:00Z\","
                               "\"temperature\":1,\"\\u0074emperature\":2}")),
                &lim, &in, NULL);
    GN_CHECK_INT(st, GN_INGEST_INVALID);
    GN_CHECK(has_error("batch[0].readings[0].temperature", "Duplicate key"));

    /* invalid UTF-8 in keys and strings */
    reset(NERR);
    GN_CHECK_INT(ingest("{\"gate\xc0\xafway\":1}", &lim, &in, NULL),
                 GN_INGEST_MALFORMED);
    GN_CHECK(has_error("body", "Malformed JSON: invalid UTF-8 at byte 6"));
    reset(NERR);
    GN_CHECK_INT(ingest(BODY(ENTRY(M1, READING("2025-12-13T10:00:00Z\xf4\x90"
                                               "\x80\x80", "1"))),
                        &lim, &in, NULL), GN_INGEST_MALFORMED);
    GN_CHECK(has_error("body", "Malformed JSON: invalid UTF-8"));

    /* escapes: \u0000 is a control character in a string that must have
     * none; surrogate pairs decode, lone surrogates are malformed */
    reset(NERR);
    st = ingest(BODY("{\"machine_id\":\"" M1 "\",\"sensor_type\":"
                     "\"s\\u0000x\",\"location\":\"\\ud83c\\udfed Hall\","
                     "\"readings\":[" READING("2025-12-13T10:00:00Z", "1")
                     "]}"), &lim, &in, NULL);
    GN_CHECK_INT(st, GN_INGEST_INVALID);
    GN_CHECK_INT(errs.n, 1);
    GN_CHECK(has_error("batch[0].sensor_type",
                       "Must not contain control characters"));

    reset(NERR);
    st = ingest(BODY("{\"machine_id\":\"" M1 "\",\"sensor_type\":\"s\","
                     "\"location\":\"\\uD83C\\uDFED\",\"readings\":["
                     READING("2025-12-13T10:00:00Z", "1") "]}"),
                &lim, &in, NULL);
    GN_CHECK_INT(st, GN_INGEST_OK);

    reset(NERR);
    GN_CHECK_INT(ingest(BODY("{\"machine_id\":\"\\ud83c\"}"), &lim, &in,
                        NULL), GN_INGEST_MALFORMED);
    reset(NERR);
    GN_CHECK_INT(ingest(BODY("{\"machine_id\":\"\\udfed\\ud83c\"}"), &lim,
                        &in, NULL), GN_INGEST_MALFORMED);
    reset(NERR);
    GN_CHECK_INT(ingest(BODY("{\"machine_id\":\"\\u12\"}"), &lim, &in, NULL),
                 GN_INGEST_MALFORMED);
    reset(NERR);
    GN_CHECK_INT(ingest(BODY("{\"machine_id\":\"\\x\"}"), &lim, &in, NULL),
                 GN_INGEST_MALFORMED);

    /* an escaped machine id and timestamp are what they decode to */
    reset(NERR);
    st = ingest(BODY("{\"machine_id\":"
                     "\"\\u006521c1cfa-4af9-4ccc-a53c-78a967195439\","
                     "\"sensor_type\":"
                     "\"s\",\"location\":\"l\",\"readings\":["
                     READING("2025-12-13T10:00:00\\u005A", "1") "]}"),
                &lim, &in, NULL);
    GN_CHECK_INT(st, GN_INGEST_OK);
    GN_CHECK(strcmp(in.machines[0].machine_id, M1) == 0);

    /* numbers: the RFC's grammar only */
    static const char *const  badnum[] = {
        "01", "-01", "1.", ".5", "-.5", "+1", "1e", "1e+", "--1", "0x10",
        "1.e5", "Infinity", "NaN", "-", "1ee5", "00"
    };
    char    json[256];
    size_t  i;

    for (i = 0; i < sizeof(badnum) / sizeof(badnum[0]); i++) {
        snprintf(json, sizeof(json), "{\"timestamp\":\"2025-12-13T10:00:00Z\","
                 "\"speed\":%s}", badnum[i]);
        reset(NERR);
        n = gn_reading_parse(json, strlen(json), "r", &r, &errs);
        GN_CHECK_MSG(n == 1 && has_error("r", "Malformed JSON"), "%s",
                     badnum[i]);
    }

    /* huge exponents, tiny values */
    reset(NERR);
    GN_CHECK_INT(reading("{\"timestamp\":\"2025-12-13T10:00:00Z\",\"speed\":"
                         "1e309}", &r), 1);
    GN_CHECK(has_error("r.speed", "Must be a finite number"));
    reset(NERR);
    GN_CHECK_INT(reading("{\"timestamp\":\"2025-12-13T10:00:00Z\",\"speed\":"
                         "1e-400}", &r), 0);
    GN_CHECK(r.value[GN_FIELD_SPEED] == 0);
    reset(NERR);
    GN_CHECK_INT(reading("{\"timestamp\":\"2025-12-13T10:00:00Z\",\"speed\":"
                         "1e99999999999999999999999999}", &r), 1);

    /* a byte order mark is skipped, as before */
    reset(NERR);
    GN_CHECK_INT(ingest("\xef\xbb\xbf" "[]", &lim, &in, NULL),
                 GN_INGEST_INVALID);

    /* errors keep the rules' order whatever the order of the keys */
    reset(NERR);
    st = ingest("{\"batch\":[{\"readings\":[{\"speed\":1}],\"machine_id\":7}],"
                "\"timestamp\":\"x\"}", &lim, &in, NULL);
    GN_CHECK_INT(st, GN_INGEST_INVALID);
    GN_CHECK(errs.n == 6 && strcmp(items[0].field, "gateway_id") == 0
             && strcmp(items[1].field, "timestamp") == 0
             && strcmp(items[2].field, "batch[0].machine_id") == 0
             && strcmp(items[3].field, "batch[0].sensor_type") == 0
             && strcmp(items[4].field, "batch[0].location") == 0
             && strcmp(items[5].field, "batch[0].readings[0].timestamp") == 0);
    if (errs.n != 6) {
        dump_errors();
    }
}



int
main(void)
{
    test_json_parse();
    test_reading();
    test_payload();
    test_ingest();
    test_line();
    test_hostile();
    test_numbers();
    test_differential();
    reset(0);

    GN_TEST_DONE();
}
