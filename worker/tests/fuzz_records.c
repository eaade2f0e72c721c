/*
 * Fuzz target: the decoders of what the worker reads back from disk, the
 * telemetry spool record (wk_msg_decode) and the PostgreSQL queue record
 * (wk_pgq_decode).  A damaged disk can hand them anything.
 *
 * Invariants:
 * - never a read outside the input (ASan);
 * - a decoded spool record's topic and payload lie inside the input, and
 *   the stored payload is never longer than the size it claims;
 * - a decoded queue record encodes back to exactly the input bytes;
 * - a status payload is accepted only as one of the four words, bare or
 *   as the "status" string of a JSON object.
 *
 * Replayed over worker/tests/corpus/records by `make unit-worker`; run with
 * libFuzzer by `make fuzz-worker`.
 */

#include <stdio.h>

#include "gn_fuzz.h"
#include "pgq.h"
#include "writer.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char    *p = (const char *) data, *topic, *payload;
    wk_pgq_rec_t   rec;
    wk_buf_t       b = { NULL, 0, 0 };
    int64_t        received_ns;
    uint32_t       payload_len;
    size_t         topic_len, stored_len;

    if (wk_msg_decode(p, size, &received_ns, &payload_len, &topic,
                      &topic_len, &payload, &stored_len) == 0)
    {
        GN_FUZZ_ASSERT(size >= WK_MSG_HDR);
        GN_FUZZ_ASSERT(topic == p + WK_MSG_HDR);
        GN_FUZZ_ASSERT(payload == topic + topic_len);
        GN_FUZZ_ASSERT(payload + stored_len == p + size);
        GN_FUZZ_ASSERT(stored_len <= payload_len);
    }

    if (wk_pgq_decode(p, size, &rec) == 0) {
        GN_FUZZ_ASSERT(wk_pgq_encode(&b, &rec) == 0);
        GN_FUZZ_ASSERT(b.len == size);
        GN_FUZZ_ASSERT(memcmp(b.p, data, size) == 0);
    }

    {
        int          st = wk_status_parse(p, size);
        const char  *name = wk_status_name(st);

        GN_FUZZ_ASSERT(st >= -1 && st < 4);
        if (st >= 0) {
            GN_FUZZ_ASSERT(name != NULL);
            /* bare: exactly the word; else JSON that contains it */
            GN_FUZZ_ASSERT((size == strlen(name)
                            && memcmp(p, name, size) == 0)
                           || memchr(p, '{', size) != NULL);
        }
    }

    wk_buf_free(&b);

    return 0;
}
