/*
 * PostgreSQL queue records, see pgq.h.
 */

#include <stdlib.h>
#include <string.h>

#include "gn_utf8.h"

#include "pgq.h"


int
wk_buf_reserve(wk_buf_t *b, size_t more)
{
    size_t   cap;
    char    *n;

    if (b->len + more <= b->cap) {
        return 0;
    }

    cap = b->cap ? b->cap : 1024;
    while (cap < b->len + more) {
        cap *= 2;
    }

    n = realloc(b->p, cap);
    if (n == NULL) {
        return -1;
    }

    b->p = n;
    b->cap = cap;

    return 0;
}


int
wk_buf_add(wk_buf_t *b, const void *p, size_t len)
{
    if (wk_buf_reserve(b, len) != 0) {
        return -1;
    }

    if (len) {
        memcpy(b->p + b->len, p, len);
    }
    b->len += len;

    return 0;
}


void
wk_buf_free(wk_buf_t *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}


static int
wk_put64(wk_buf_t *b, uint64_t v)
{
    unsigned char  x[8];
    int            i;

    for (i = 0; i < 8; i++) {
        x[i] = (unsigned char) (v >> (8 * i));
    }

    return wk_buf_add(b, x, 8);
}


static int
wk_putstr(wk_buf_t *b, wk_str_t s)
{
    unsigned char  x[4];
    uint32_t       n = (uint32_t) s.len;

    x[0] = (unsigned char) n;
    x[1] = (unsigned char) (n >> 8);
    x[2] = (unsigned char) (n >> 16);
    x[3] = (unsigned char) (n >> 24);

    return wk_buf_add(b, x, 4) || wk_buf_add(b, s.p, s.len) ? -1 : 0;
}


static int
wk_putdbl(wk_buf_t *b, double d)
{
    uint64_t  v;

    memcpy(&v, &d, 8);

    return wk_put64(b, v);
}


int
wk_pgq_encode(wk_buf_t *b, const wk_pgq_rec_t *r)
{
    unsigned char  t = (unsigned char) r->type;
    int            rc;

    b->len = 0;

    rc = wk_buf_add(b, &t, 1) | wk_put64(b, (uint64_t) r->received_ns);

    switch (r->type) {
    case WK_PGQ_DEAD_LETTER:
        rc |= wk_put64(b, r->key) | wk_put64(b, r->payload_size)
              | wk_putstr(b, r->reason)
              | wk_putstr(b, r->detail) | wk_putstr(b, r->topic)
              | wk_putstr(b, r->payload);
        break;
    case WK_PGQ_ALERT:
        rc |= wk_put64(b, (uint64_t) r->reading_ns)
              | wk_putstr(b, r->machine_id) | wk_putstr(b, r->factory_id)
              | wk_putstr(b, r->alert_type) | wk_putdbl(b, r->value)
              | wk_putdbl(b, r->threshold);
        break;
    case WK_PGQ_STATUS:
        rc |= wk_putstr(b, r->machine_id) | wk_putstr(b, r->status);
        break;
    default:
        return -1;
    }

    return rc ? -1 : 0;
}


typedef struct {
    const unsigned char  *p, *end;
    int                   bad;
} wk_rd_t;


static uint64_t
wk_get64(wk_rd_t *r)
{
    uint64_t  v = 0;
    int       i;

    if (r->end - r->p < 8) {
        r->bad = 1;
        return 0;
    }

    for (i = 0; i < 8; i++) {
        v |= (uint64_t) r->p[i] << (8 * i);
    }

    r->p += 8;

    return v;
}


static wk_str_t
wk_getstr(wk_rd_t *r)
{
    wk_str_t  s = { "", 0 };
    uint32_t  n;

    if (r->end - r->p < 4) {
        r->bad = 1;
        return s;
    }

    n = (uint32_t) r->p[0] | (uint32_t) r->p[1] << 8
        | (uint32_t) r->p[2] << 16 | (uint32_t) r->p[3] << 24;
    r->p += 4;

    if ((size_t) (r->end - r->p) < n) {
        r->bad = 1;
        return s;
    }

    s.p = (const char *) r->p;
    s.len = n;
    r->p += n;

    return s;
}


static double
wk_getdbl(wk_rd_t *r)
{
    uint64_t  v = wk_get64(r);
    double    d;

    memcpy(&d, &v, 8);

    return d;
}


int
wk_pgq_decode(const char *p, size_t len, wk_pgq_rec_t *rec)
{
    wk_rd_t  r = { (const unsigned char *) p,
                   (const unsigned char *) p + len, 0 };

    memset(rec, 0, sizeof(*rec));

    if (len < 9) {
        return -1;
    }

    rec->type = *r.p++;
    rec->received_ns = (int64_t) wk_get64(&r);

    switch (rec->type) {
    case WK_PGQ_DEAD_LETTER:
        rec->key = wk_get64(&r);
        rec->payload_size = wk_get64(&r);
        rec->reason = wk_getstr(&r);
        rec->detail = wk_getstr(&r);
        rec->topic = wk_getstr(&r);
        rec->payload = wk_getstr(&r);
        break;
    case WK_PGQ_ALERT:
        rec->reading_ns = (int64_t) wk_get64(&r);
        rec->machine_id = wk_getstr(&r);
        rec->factory_id = wk_getstr(&r);
        rec->alert_type = wk_getstr(&r);
        rec->value = wk_getdbl(&r);
        rec->threshold = wk_getdbl(&r);
        break;
    case WK_PGQ_STATUS:
        rec->machine_id = wk_getstr(&r);
        rec->status = wk_getstr(&r);
        break;
    default:
        return -1;
    }

    return r.bad || r.p != r.end ? -1 : 0;
}


static uint64_t
wk_fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char  *p = data;

    while (len--) {
        h ^= *p++;
        h *= 0x100000001b3ULL;
    }

    return h;
}


uint64_t
wk_msg_key(int64_t received_ns, const char *topic, size_t topic_len,
    const char *payload, size_t payload_len)
{
    uint64_t  h = 0xcbf29ce484222325ULL;
    uint64_t  n = topic_len;

    h = wk_fnv(h, &received_ns, sizeof(received_ns));
    h = wk_fnv(h, &n, sizeof(n));
    h = wk_fnv(h, topic, topic_len);

    return wk_fnv(h, payload, payload_len);
}


size_t
wk_sanitize_utf8(char *dst, size_t size, const char *s, size_t len)
{
    const unsigned char  *p = (const unsigned char *) s, *end = p + len;
    size_t                n = 0;
    uint32_t              cp;
    int                   k;

    while (p < end && n + 4 < size) {
        k = gn_utf8_next(p, end, &cp);

        if (k <= 0 || (k == 1 && (*p < 0x20 || *p == 0x7f))) {
            dst[n++] = '?';
            p++;
            continue;
        }

        memcpy(dst + n, p, (size_t) k);
        n += (size_t) k;
        p += k;
    }

    return n;
}
