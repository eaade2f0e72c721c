/*
 * Fuzz target: gn_telemetry, the parsers of REST ingest bodies and MQTT
 * payloads.  Invariants: only the documented statuses; the error list
 * never overflows; whatever is accepted is a reading InfluxDB takes (a
 * canonical lower-case machine id, at least one finite value, a time in
 * range) and becomes exactly one line of the announced length.  And,
 * differentially, the one-pass parser says what the cJSON-based one it
 * replaced said (common/tests/gn_ref_telemetry.h): status, errors,
 * offset, readings, except where it differs on purpose.
 */

#include <math.h>

#include "gn_fuzz.h"
#include "gn_telemetry.h"
#include "gn_time.h"
#include "gn_ref_telemetry.h"


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


#define NALL  4096

static gn_error_t   all_items[NALL];
static ref_error_t  rall_items[NALL];


static size_t
dups(const char *error, size_t n, size_t stride)
{
    size_t  i, k = 0;

    for (i = 0; i < n; i++) {
        k += strcmp(error + i * stride, "Duplicate key") == 0;
    }

    return k;
}


static void
free_mem(void)
{
    while (nmem > 0) {
        free(mem[--nmem]);
    }
}


static void
differential(const char *text, size_t size)
{
    static const gn_ingest_limits_t  limits = { 8, 8, 8 };
    gn_error_t                       items[NERR];
    gn_errors_t                      errs = { items, NERR, 0, 0 };
    ref_error_t                      ritems[NERR];
    ref_errors_t                     rerrs = { ritems, NERR, 0, 0 };
    gn_ingest_t                      in;
    ref_ingest_t                     rin;
    gn_ingest_status_e               st, rst;
    gn_payload_status_e              pst, rpst;
    gn_reading_t                     r1, r2;
    size_t                           i, j, nd, rnd;
    gn_errors_t                      all = { all_items, NALL, 0, 0 };
    ref_errors_t                     rall = { rall_items, NALL, 0, 0 };

    if (ref_deviant(text, size)) {
        return;
    }

    /* keys of a body or entry given twice are refused now: counted with
     * lists that keep every error */
    nmem = 0;
    st = gn_ingest_parse(text, size, &limits, fuzz_alloc, NULL, &in,
                         &all);
    free_mem();
    rst = ref_ingest_parse(text, size, &limits, fuzz_alloc, NULL, &rin,
                           &rall);
    cJSON_Delete(rin.root);
    free_mem();

    nd = dups(all_items[0].error, all.n, sizeof(gn_error_t));
    rnd = dups(rall_items[0].error, rall.n, sizeof(ref_error_t));

    /* out of memory: either may stop first */
    if (nd != rnd || ((all.dropped || rall.dropped) && (nd || rnd))
        || st == GN_INGEST_NOMEM || rst == GN_INGEST_NOMEM)
    {
        return;
    }

    st = gn_ingest_parse(text, size, &limits, fuzz_alloc, NULL, &in, &errs);
    rst = ref_ingest_parse(text, size, &limits, fuzz_alloc, NULL, &rin,
                           &rerrs);

    if (st == GN_INGEST_NOMEM || rst == GN_INGEST_NOMEM) {
        cJSON_Delete(rin.root);
        free_mem();
        return;
    }

    GN_FUZZ_ASSERT(st == rst);
    GN_FUZZ_ASSERT(errs.n == rerrs.n && errs.dropped == rerrs.dropped);

    for (i = 0; i < errs.n; i++) {
        GN_FUZZ_ASSERT(strcmp(items[i].field, ritems[i].field) == 0);
        GN_FUZZ_ASSERT(strcmp(items[i].error, ritems[i].error) == 0);
        GN_FUZZ_ASSERT((items[i].value.text == NULL)
                       == (ritems[i].value == NULL));
    }

    if (st == GN_INGEST_MALFORMED) {
        GN_FUZZ_ASSERT(in.json_offset == rin.json_offset);
    }

    if (st == GN_INGEST_OK || st == GN_INGEST_PARTIAL) {
        GN_FUZZ_ASSERT(in.nmachines == rin.nmachines
                       && in.nvalid == rin.nvalid
                       && in.nreadings == rin.nreadings);

        for (i = 0; i < in.nmachines; i++) {
            GN_FUZZ_ASSERT(in.machines[i].valid == rin.machines[i].valid);
            GN_FUZZ_ASSERT(strcmp(in.machines[i].machine_id,
                                  rin.machines[i].machine_id) == 0);

            if (!in.machines[i].valid) {
                continue;
            }

            for (j = 0; j < in.machines[i].nreadings; j++) {
                GN_FUZZ_ASSERT(ref_same_reading(&in.machines[i].readings[j],
                                            &rin.machines[i].readings[j]));
            }
        }
    }

    cJSON_Delete(rin.root);
    free_mem();

    errs.n = errs.dropped = rerrs.n = rerrs.dropped = 0;
    pst = gn_payload_parse(text, size, 512, &r1, &errs);
    rpst = ref_payload_parse(text, size, 512, &r2, &rerrs);

    if (dups(items[0].error, errs.n, sizeof(gn_error_t))
        != dups(ritems[0].error, rerrs.n, sizeof(ref_error_t)))
    {
        return;
    }

    GN_FUZZ_ASSERT(pst == rpst);
    GN_FUZZ_ASSERT(errs.n == rerrs.n);

    for (i = 0; i < errs.n; i++) {
        GN_FUZZ_ASSERT(strcmp(items[i].error, ritems[i].error) == 0);
    }

    if (pst == GN_PAYLOAD_OK) {
        GN_FUZZ_ASSERT(ref_same_reading(&r1, &r2));
    }
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

    differential((const char *) data, size);

    return 0;
}
