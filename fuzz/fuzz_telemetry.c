/*
 * Fuzz target: gn_telemetry, the parsers of REST ingest bodies and MQTT
 * payloads.  Invariants: only the documented statuses; the error list
 * never overflows; whatever is accepted is a reading InfluxDB takes (a
 * canonical lower-case machine id, at least one finite value, a time in
 * range) and becomes exactly one line of the announced length.
 */

#include <math.h>

#include "gn_fuzz.h"
#include "gn_telemetry.h"
#include "gn_time.h"


#define NERR  16
#define NMEM  64

static void   *mem[NMEM];
static size_t  nmem;


static void *
fuzz_alloc(void *ctx, size_t size)
{
    (void) ctx;

    if (nmem == NMEM) {
        return NULL;
    }

    mem[nmem] = malloc(size);
    return mem[nmem++];
}


static void
check_reading(const gn_reading_t *r, const char *machine_id)
{
    static const char         location[] = "Hall 1,\"x\"=\\y";
    static const char         sensor_type[] = "T y=p";
    gn_series_t               s = {
        machine_id, location, sizeof(location) - 1,
        sensor_type, sizeof(sensor_type) - 1
    };
    char                      buf[512], *end;
    int                       i;

    GN_FUZZ_ASSERT(r->present != 0 && r->present < (1u << GN_FIELD_N));
    GN_FUZZ_ASSERT(r->ts_ns >= GN_TIME_MIN_NS && r->ts_ns <= GN_TIME_MAX_NS);

    for (i = 0; i < GN_FIELD_N; i++) {
        if (r->present & (1u << i)) {
            GN_FUZZ_ASSERT(isfinite(r->value[i]));
        }
    }

    GN_FUZZ_ASSERT(gn_series_check(&s) == 0);
    GN_FUZZ_ASSERT(gn_reading_line_len(&s, r) < sizeof(buf));
    end = gn_reading_line(buf, &s, r);
    GN_FUZZ_ASSERT((size_t) (end - buf) == gn_reading_line_len(&s, r));
    GN_FUZZ_ASSERT(memchr(buf, '\n', (size_t) (end - buf)) == end - 1);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const gn_ingest_limits_t  limits = { 8, 8, 8 };
    gn_error_t                       items[NERR];
    gn_errors_t                      errs = { items, NERR, 0, 0 };
    gn_ingest_t                      in;
    gn_ingest_status_e               st;
    gn_payload_status_e              pst;
    gn_reading_t                     r;
    size_t                           i, j, nvalid = 0;

    nmem = 0;
    st = gn_ingest_parse((const char *) data, size, &limits, fuzz_alloc,
                         NULL, &in, &errs);

    GN_FUZZ_ASSERT(st <= GN_INGEST_NOMEM);
    GN_FUZZ_ASSERT(errs.n <= NERR);
    GN_FUZZ_ASSERT((st == GN_INGEST_OK) == (errs.n == 0 && errs.dropped == 0
                                            && in.nvalid > 0));

    if (st == GN_INGEST_OK || st == GN_INGEST_PARTIAL) {
        GN_FUZZ_ASSERT(in.nvalid > 0 && in.nmachines <= limits.max_machines);
        GN_FUZZ_ASSERT(st == GN_INGEST_OK || errs.n > 0);

        for (i = 0; i < in.nmachines; i++) {
            if (!in.machines[i].valid) {
                continue;
            }

            nvalid++;
            GN_FUZZ_ASSERT(strlen(in.machines[i].machine_id) == GN_UUID_LEN);
            GN_FUZZ_ASSERT(in.machines[i].nreadings > 0
                           && in.machines[i].nreadings
                              <= limits.max_readings);

            for (j = 0; j < in.machines[i].nreadings; j++) {
                check_reading(&in.machines[i].readings[j],
                              in.machines[i].machine_id);
            }
        }

        GN_FUZZ_ASSERT(nvalid == in.nvalid);
    }

    while (nmem > 0) {
        free(mem[--nmem]);
    }

    errs.n = 0;
    errs.dropped = 0;
    pst = gn_payload_parse((const char *) data, size, 512, &r, &errs);
    GN_FUZZ_ASSERT(pst <= GN_PAYLOAD_INVALID);
    GN_FUZZ_ASSERT((pst == GN_PAYLOAD_OK) == (errs.n == 0));

    if (pst == GN_PAYLOAD_OK) {
        check_reading(&r, "e21c1cfa-4af9-4ccc-a53c-78a967195439");
    }

    for (i = 0; i < errs.n; i++) {
        GN_FUZZ_ASSERT(items[i].value.text == NULL);
        GN_FUZZ_ASSERT(memchr(items[i].field, '\0', sizeof(items[i].field)));
    }

    return 0;
}
