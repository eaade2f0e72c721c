/*
 * Fuzz target: gn_topic and gn_uuid.  Invariants: only the documented
 * codes; an accepted topic has its ids pointing inside the input, is
 * exactly "factory/" id "/machine/" uuid "/" kind rebuilt from the
 * results, and has no wildcard, control character or invalid UTF-8;
 * gn_uuid_is_valid() agrees with an independent check.
 */

#include <ctype.h>

#include "gn_fuzz.h"
#include "gn_ref.h"
#include "gn_topic.h"
#include "gn_uuid.h"


static int
ref_uuid(const char *s, size_t len)
{
    static const char  shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
    size_t             i;

    if (len != sizeof(shape) - 1) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (shape[i] == '-' ? s[i] != '-'
                            : strchr("0123456789abcdefABCDEF", s[i]) == NULL
                              || s[i] == '\0')
        {
            return 0;
        }
    }

    return 1;
}


static void
check_accepted(const uint8_t *data, size_t size, const gn_topic_t *t)
{
    const char  *in = (const char *) data;
    const char  *kind;
    char        *rebuilt, low[GN_UUID_LEN];
    size_t       n, i;

    GN_FUZZ_ASSERT(t->factory_id >= in
                   && t->factory_id + t->factory_id_len <= in + size);
    GN_FUZZ_ASSERT(t->machine_id >= in
                   && t->machine_id + t->machine_id_len <= in + size);
    GN_FUZZ_ASSERT(t->factory_id_len >= 1
                   && t->factory_id_len <= GN_TOPIC_FACTORY_ID_MAX);
    GN_FUZZ_ASSERT(ref_uuid(t->machine_id, t->machine_id_len));
    GN_FUZZ_ASSERT(memchr(t->factory_id, '/', t->factory_id_len) == NULL);
    GN_FUZZ_ASSERT(ref_utf8_valid(data, size));

    for (i = 0; i < size; i++) {
        GN_FUZZ_ASSERT(data[i] >= 0x20 && data[i] != 0x7f
                       && data[i] != '+' && data[i] != '#');
    }

    GN_FUZZ_ASSERT(t->kind == GN_TOPIC_TELEMETRY
                   || t->kind == GN_TOPIC_STATUS);
    kind = (t->kind == GN_TOPIC_TELEMETRY) ? "telemetry" : "status";

    rebuilt = malloc(size + 1);
    n = (size_t) snprintf(rebuilt, size + 1, "factory/%.*s/machine/%.*s/%s",
                          (int) t->factory_id_len, t->factory_id,
                          (int) t->machine_id_len, t->machine_id, kind);
    GN_FUZZ_ASSERT(n == size && memcmp(rebuilt, data, size) == 0);
    free(rebuilt);

    gn_uuid_lower(low, t->machine_id);
    for (i = 0; i < GN_UUID_LEN; i++) {
        GN_FUZZ_ASSERT(low[i] == (char) tolower((unsigned char)
                                                t->machine_id[i]));
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gn_topic_t  t;
    int         rc;

    rc = gn_topic_parse((const char *) data, size, &t);

    GN_FUZZ_ASSERT(rc <= 0 && rc >= GN_TOPIC_EUUID);
    GN_FUZZ_ASSERT(gn_topic_strerror(rc) != NULL);

    if (rc == 0) {
        check_accepted(data, size, &t);
    }

    GN_FUZZ_ASSERT(gn_uuid_is_valid((const char *) data, size)
                   == ref_uuid((const char *) data, size));

    return 0;
}
