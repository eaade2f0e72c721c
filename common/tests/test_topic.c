/*
 * Unit tests of gn_topic and gn_uuid.
 */

#include <stdlib.h>

#include "gn_test.h"
#include "gn_topic.h"
#include "gn_uuid.h"


#define UUID   "6f1c2a9e-0d4b-4c1e-9a53-2b7f8e1d4c60"
#define UUIDU  "6F1C2A9E-0D4B-4C1E-9A53-2B7F8E1D4C60"


typedef struct {
    const char  *topic;
    int          rc;
    const char  *factory;
    int          kind;
} topic_case_t;


static const topic_case_t  cases[] = {
    { "factory/f1/machine/" UUID "/telemetry", 0, "f1", GN_TOPIC_TELEMETRY },
    { "factory/f1/machine/" UUID "/status", 0, "f1", GN_TOPIC_STATUS },
    { "factory/f1/machine/" UUIDU "/telemetry", 0, "f1", GN_TOPIC_TELEMETRY },
    { "factory/Plant-A_1.x/machine/" UUID "/telemetry", 0, "Plant-A_1.x",
      GN_TOPIC_TELEMETRY },
    { "factory/\xc3\x9c" "berlingen/machine/" UUID "/status", 0,
      "\xc3\x9c" "berlingen", GN_TOPIC_STATUS },
    { "factory/a b/machine/" UUID "/telemetry", 0, "a b",
      GN_TOPIC_TELEMETRY },
    { "factory/$SYS/machine/" UUID "/telemetry", 0, "$SYS",
      GN_TOPIC_TELEMETRY },
    { "factory/0123456789012345678901234567890123456789012345678901234567890123"
      "/machine/" UUID "/telemetry", 0,
      "0123456789012345678901234567890123456789012345678901234567890123",
      GN_TOPIC_TELEMETRY },

    /* too long factory_id: 65 bytes */
    { "factory/01234567890123456789012345678901234567890123456789012345678901234"
      "/machine/" UUID "/telemetry", GN_TOPIC_ETOOLONG, NULL, 0 },

    /* segment counts */
    { "", GN_TOPIC_EFORMAT, NULL, 0 },
    { "/", GN_TOPIC_EFORMAT, NULL, 0 },
    { "////", GN_TOPIC_EFORMAT, NULL, 0 },
    { "/////", GN_TOPIC_EFORMAT, NULL, 0 },
    { "factory", GN_TOPIC_EFORMAT, NULL, 0 },
    { "factory/f1/machine/" UUID, GN_TOPIC_EFORMAT, NULL, 0 },
    { "factory/f1/machine/" UUID "/", GN_TOPIC_EFORMAT, NULL, 0 },
    { "factory/f1/machine/" UUID "/telemetry/", GN_TOPIC_EFORMAT, NULL, 0 },
    { "factory/f1/machine/" UUID "/telemetry/x", GN_TOPIC_EFORMAT, NULL, 0 },
    { "/factory/f1/machine/" UUID "/telemetry", GN_TOPIC_EFORMAT, NULL, 0 },
    { "factory/f1/x/machine/" UUID "/telemetry", GN_TOPIC_EFORMAT, NULL, 0 },
    { "factory/f/1/machine/" UUID "/telemetry", GN_TOPIC_EFORMAT, NULL, 0 },

    /* literal segments, case-sensitive */
    { "Factory/f1/machine/" UUID "/telemetry", GN_TOPIC_EFORMAT, NULL, 0 },
    { "factory/f1/Machine/" UUID "/telemetry", GN_TOPIC_EFORMAT, NULL, 0 },
    { "factory/f1/machine/" UUID "/Telemetry", GN_TOPIC_EFORMAT, NULL, 0 },
    { "factory/f1/machine/" UUID "/telemetr", GN_TOPIC_EFORMAT, NULL, 0 },
    { "factory/f1/machine/" UUID "/telemetryy", GN_TOPIC_EFORMAT, NULL, 0 },
    { "factory/f1/machine/" UUID "/statuss", GN_TOPIC_EFORMAT, NULL, 0 },
    { "factory/f1/machine/" UUID "/alerts", GN_TOPIC_EFORMAT, NULL, 0 },
    { "factoryy/f1/machine/" UUID "/status", GN_TOPIC_EFORMAT, NULL, 0 },
    { "factor/f1/machine/" UUID "/status", GN_TOPIC_EFORMAT, NULL, 0 },
    { "factory/f1/machines/" UUID "/status", GN_TOPIC_EFORMAT, NULL, 0 },
    { "factory /f1/machine/" UUID "/status", GN_TOPIC_EFORMAT, NULL, 0 },

    /* empty segments */
    { "factory//machine/" UUID "/telemetry", GN_TOPIC_EEMPTY, NULL, 0 },
    { "factory/f1/machine//telemetry", GN_TOPIC_EEMPTY, NULL, 0 },
    { "factory//machine//status", GN_TOPIC_EEMPTY, NULL, 0 },

    /* wildcards: a subscription filter is not a topic name */
    { "factory/+/machine/+/telemetry", GN_TOPIC_EWILDCARD, NULL, 0 },
    { "factory/+/machine/" UUID "/telemetry", GN_TOPIC_EWILDCARD, NULL, 0 },
    { "factory/f1/machine/+/telemetry", GN_TOPIC_EWILDCARD, NULL, 0 },
    { "factory/f1/machine/#", GN_TOPIC_EWILDCARD, NULL, 0 },
    { "factory/#", GN_TOPIC_EWILDCARD, NULL, 0 },
    { "#", GN_TOPIC_EWILDCARD, NULL, 0 },
    { "factory/f+1/machine/" UUID "/telemetry", GN_TOPIC_EWILDCARD, NULL, 0 },
    { "factory/f#1/machine/" UUID "/telemetry", GN_TOPIC_EWILDCARD, NULL, 0 },
    { "$share/g/factory/+/machine/+/telemetry", GN_TOPIC_EWILDCARD, NULL, 0 },

    /* characters */
    { "factory/f\x01/machine/" UUID "/telemetry", GN_TOPIC_ECHAR, NULL, 0 },
    { "factory/f\n/machine/" UUID "/telemetry", GN_TOPIC_ECHAR, NULL, 0 },
    { "factory/f\t/machine/" UUID "/telemetry", GN_TOPIC_ECHAR, NULL, 0 },
    { "factory/f\x7f/machine/" UUID "/telemetry", GN_TOPIC_ECHAR, NULL, 0 },
    { "factory/f\xc2\x85/machine/" UUID "/telemetry", GN_TOPIC_ECHAR, NULL,
      0 },                                                  /* U+0085 */
    { "factory/f\xff/machine/" UUID "/telemetry", GN_TOPIC_ECHAR, NULL, 0 },
    { "factory/f\xc0\xaf/machine/" UUID "/telemetry", GN_TOPIC_ECHAR, NULL,
      0 },                                                  /* overlong / */
    { "factory/f\xed\xa0\x80/machine/" UUID "/telemetry", GN_TOPIC_ECHAR,
      NULL, 0 },
    { "factory/f1/machine/" UUID "/telemetry\r", GN_TOPIC_ECHAR, NULL, 0 },

    /* machine_id must be a canonical UUID */
    { "factory/f1/machine/m1/telemetry", GN_TOPIC_EUUID, NULL, 0 },
    { "factory/f1/machine/6f1c2a9e0d4b4c1e9a532b7f8e1d4c60/telemetry",
      GN_TOPIC_EUUID, NULL, 0 },
    { "factory/f1/machine/{6f1c2a9e-0d4b-4c1e-9a53-2b7f8e1d4c60}/telemetry",
      GN_TOPIC_EUUID, NULL, 0 },
    { "factory/f1/machine/6f1c2a9e-0d4b-4c1e-9a53-2b7f8e1d4c6/telemetry",
      GN_TOPIC_EUUID, NULL, 0 },
    { "factory/f1/machine/6f1c2a9e-0d4b-4c1e-9a53-2b7f8e1d4c600/telemetry",
      GN_TOPIC_EUUID, NULL, 0 },
    { "factory/f1/machine/6f1c2a9e-0d4b-4c1e-9a53-2b7f8e1d4c6g/telemetry",
      GN_TOPIC_EUUID, NULL, 0 },
    { "factory/f1/machine/6f1c2a9e_0d4b-4c1e-9a53-2b7f8e1d4c60/telemetry",
      GN_TOPIC_EUUID, NULL, 0 },
    { "factory/f1/machine/ 6f1c2a9e-0d4b-4c1e-9a53-2b7f8e1d4c6/telemetry",
      GN_TOPIC_EUUID, NULL, 0 },
    { "factory/f1/machine/urn:uuid:6f1c2a9e-0d4b-4c1e-9a53-2b7f8e1d4c60"
      "/telemetry", GN_TOPIC_EUUID, NULL, 0 },
};


static void
test_table(void)
{
    gn_topic_t   t;
    size_t       i, len;
    char        *heap;
    int          rc;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        len = strlen(cases[i].topic);

        /* exact-size heap copy: ASan sees any read past the end */
        heap = malloc(len + 1);
        memcpy(heap, cases[i].topic, len);

        memset(&t, 0xa5, sizeof(t));
        rc = gn_topic_parse(heap, len, &t);

        GN_CHECK_MSG(rc == cases[i].rc, "\"%s\": rc %d, want %d",
                     cases[i].topic, rc, cases[i].rc);

        if (rc == 0 && cases[i].rc == 0) {
            GN_CHECK_STR(t.factory_id, t.factory_id_len, cases[i].factory);
            GN_CHECK(t.factory_id == heap + 8);
            GN_CHECK_INT(t.machine_id_len, GN_UUID_LEN);
            GN_CHECK(t.machine_id == heap + 8 + t.factory_id_len + 9);
            GN_CHECK_INT(t.kind, cases[i].kind);
        }

        if (rc != 0) {
            GN_CHECK_MSG(t.factory_id_len == (size_t) 0xa5a5a5a5a5a5a5a5ULL,
                         "\"%s\": out written on error", cases[i].topic);
        }

        free(heap);
    }
}


static void
test_lengths(void)
{
    static const char  ok[] = "factory/f1/machine/" UUID "/telemetry";
    gn_topic_t         t;
    char              *big, *heap;
    size_t             i, n;
    int                rc;

    GN_CHECK_INT(gn_topic_parse(NULL, 0, &t), GN_TOPIC_EFORMAT);

    /* len shorter than the string: "telemetr" */
    GN_CHECK_INT(gn_topic_parse(ok, sizeof(ok) - 2, &t), GN_TOPIC_EFORMAT);

    /* a NUL at every position */
    for (i = 0; i < sizeof(ok) - 1; i++) {
        heap = malloc(sizeof(ok) - 1);
        memcpy(heap, ok, sizeof(ok) - 1);
        heap[i] = '\0';
        GN_CHECK_MSG(gn_topic_parse(heap, sizeof(ok) - 1, &t)
                     == GN_TOPIC_ECHAR, "NUL at %zu", i);
        free(heap);
    }

    /* trailing NUL counted in len */
    GN_CHECK_INT(gn_topic_parse(ok, sizeof(ok), &t), GN_TOPIC_ECHAR);

    /* every prefix: only the full topic parses */
    for (i = 0; i < sizeof(ok); i++) {
        heap = malloc(i + 1);
        memcpy(heap, ok, i);
        rc = gn_topic_parse(heap, i, &t);
        GN_CHECK_MSG((rc == 0) == (i == sizeof(ok) - 1), "prefix %zu: %d", i,
                     rc);
        free(heap);
    }

    /* MQTT's limit, and a factory_id of a megabyte */
    n = 1 << 20;
    big = malloc(n);
    memset(big, 'a', n);
    GN_CHECK_INT(gn_topic_parse(big, n, &t), GN_TOPIC_ETOOLONG);
    GN_CHECK_INT(gn_topic_parse(big, GN_TOPIC_MAX, &t), GN_TOPIC_EFORMAT);
    GN_CHECK_INT(gn_topic_parse(big, GN_TOPIC_MAX + 1, &t),
                 GN_TOPIC_ETOOLONG);

    memcpy(big, "factory/", 8);
    memcpy(big + GN_TOPIC_MAX - 46, "/machine/" UUID "/status", 52);
    GN_CHECK_INT(gn_topic_parse(big, GN_TOPIC_MAX + 6, &t),
                 GN_TOPIC_ETOOLONG);

    /* within MQTT's limit, but a factory_id of 65 KB */
    memcpy(big + GN_TOPIC_MAX - 52, "/machine/" UUID "/status", 52);
    GN_CHECK_INT(gn_topic_parse(big, GN_TOPIC_MAX, &t), GN_TOPIC_ETOOLONG);

    /* a megabyte of slashes */
    memset(big, '/', n);
    GN_CHECK_INT(gn_topic_parse(big, GN_TOPIC_MAX, &t), GN_TOPIC_EFORMAT);

    free(big);
}


static void
test_strerror(void)
{
    int  rc;

    for (rc = GN_TOPIC_EUUID; rc <= 0; rc++) {
        GN_CHECK(gn_topic_strerror(rc) != NULL && *gn_topic_strerror(rc));
    }

    GN_CHECK(gn_topic_strerror(1) != NULL);
    GN_CHECK(gn_topic_strerror(-99) != NULL);
}


static void
test_uuid(void)
{
    char    s[GN_UUID_LEN + 1], low[GN_UUID_LEN];
    size_t  i;
    int     c, hex;

    GN_CHECK(gn_uuid_is_valid(UUID, GN_UUID_LEN));
    GN_CHECK(gn_uuid_is_valid(UUIDU, GN_UUID_LEN));
    GN_CHECK(gn_uuid_is_valid("00000000-0000-0000-0000-000000000000", 36));
    GN_CHECK(gn_uuid_is_valid("ffffffff-ffff-ffff-ffff-ffffffffffff", 36));
    GN_CHECK(gn_uuid_is_valid("6f1C2a9E-0d4b-4C1e-9a53-2b7f8E1d4c60", 36));
    GN_CHECK(!gn_uuid_is_valid(NULL, 0));
    GN_CHECK(!gn_uuid_is_valid("", 0));
    GN_CHECK(!gn_uuid_is_valid(UUID, 35));
    GN_CHECK(!gn_uuid_is_valid(UUID "0", 37));
    GN_CHECK(!gn_uuid_is_valid("6f1c2a9e0d4b4c1e9a532b7f8e1d4c60", 32));
    GN_CHECK(!gn_uuid_is_valid("6f1c2a9e-0d4b-4c1e-9a532b7f8e1d4c60-", 36));
    GN_CHECK(!gn_uuid_is_valid("-6f1c2a9e0d4b-4c1e-9a53-2b7f8e1d4c60", 36));
    GN_CHECK(!gn_uuid_is_valid("+6f1c2a9-0d4b-4c1e-9a53-2b7f8e1d4c60", 36));

    /* every byte at every position */
    for (i = 0; i < GN_UUID_LEN; i++) {
        for (c = 0; c < 256; c++) {
            memcpy(s, UUID, GN_UUID_LEN);
            s[i] = (char) c;

            hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
                  || (c >= 'A' && c <= 'F');

            if (i == 8 || i == 13 || i == 18 || i == 23) {
                GN_CHECK_MSG(gn_uuid_is_valid(s, GN_UUID_LEN) == (c == '-'),
                             "pos %zu byte %d", i, c);
            } else {
                GN_CHECK_MSG(gn_uuid_is_valid(s, GN_UUID_LEN) == hex,
                             "pos %zu byte %d", i, c);
            }
        }
    }

    gn_uuid_lower(low, UUIDU);
    GN_CHECK_STR(low, GN_UUID_LEN, UUID);
    gn_uuid_lower(low, UUID);
    GN_CHECK_STR(low, GN_UUID_LEN, UUID);
}


int
main(void)
{
    test_table();
    test_lengths();
    test_strerror();
    test_uuid();

    GN_TEST_DONE();
}
