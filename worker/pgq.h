/*
 * Records of the PostgreSQL queue: a second spool (spool_dir/pg) the
 * writer thread appends to and the PostgreSQL thread applies, so that dead
 * letters, alerts and status changes survive a PostgreSQL outage and a
 * killed worker, and telemetry never waits for PostgreSQL.
 *
 * Encoding: a type byte, then fields in a fixed order per type; integers
 * little endian, strings and byte strings as u32 length + bytes.
 */

#ifndef WK_PGQ_H
#define WK_PGQ_H

#include <stddef.h>
#include <stdint.h>

#define WK_PGQ_DEAD_LETTER  'D'
#define WK_PGQ_ALERT        'A'
#define WK_PGQ_STATUS       'S'

typedef struct {
    const char  *p;
    size_t       len;
} wk_str_t;

typedef struct {
    int          type;
    int64_t      received_ns;
    /* dead letter */
    uint64_t     key;           /* idempotency key of the message */
    uint64_t     payload_size;  /* as received (payload may be cut) */
    wk_str_t     reason, detail, topic, payload;
    /* alert, status */
    wk_str_t     machine_id, factory_id, alert_type, status;
    int64_t      reading_ns;
    double       value, threshold;
} wk_pgq_rec_t;

typedef struct {
    char        *p;
    size_t       len;
    size_t       cap;
} wk_buf_t;

int  wk_buf_reserve(wk_buf_t *b, size_t more);
int  wk_buf_add(wk_buf_t *b, const void *p, size_t len);
void wk_buf_free(wk_buf_t *b);

/* encodes rec (strings per its type) into b (cleared first) */
int wk_pgq_encode(wk_buf_t *b, const wk_pgq_rec_t *rec);

/* decodes; strings point into p; -1 when malformed */
int wk_pgq_decode(const char *p, size_t len, wk_pgq_rec_t *rec);

/* 64-bit FNV-1a over received time, topic and payload: the dead letter's
 * idempotency key, the same when a segment is replayed */
uint64_t wk_msg_key(int64_t received_ns, const char *topic, size_t topic_len,
    const char *payload, size_t payload_len);

/* a printable, valid UTF-8 copy for text columns (bad bytes become '?');
 * returns its length, at most size - 4 */
size_t wk_sanitize_utf8(char *dst, size_t size, const char *s, size_t len);

#endif /* WK_PGQ_H */
