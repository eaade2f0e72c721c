/*
 * Durable on-disk spool: append-only segment files in one directory.
 *
 *   <dir>/<16 hex digits>.seg     segments, in id order
 *
 * A record is a 12-byte header (magic, body length, CRC-32C of the body)
 * and the body.  One appender thread and one reader thread.  The active
 * segment is preallocated (fallocate) and mapped (MAP_SHARED): an append
 * is a copy into the page cache, no system call, which alone survives a
 * killed process.  The body is copied before the header, so a process
 * killed in the middle leaves a zero header, and the zeros after the last
 * record are the end of a segment when it is opened again (what follows
 * is cut).  Where the file system cannot preallocate, and for a record
 * larger than the mapping, a record is one pwritev(2) instead, and a
 * killed process leaves at most one torn record, cut the same way.  A
 * segment is truncated to its records when it is sealed.
 * wk_spool_sync() (fdatasync, which writes mapped pages too; called every
 * fsync_interval by the owner: group commit) bounds what a power cut can
 * take.
 *
 * The reader walks the records in order and, once everything before a
 * position is safely elsewhere, releases it: segments wholly before the
 * position are deleted.  The active segment is never deleted; when it is
 * fully released and big enough it is sealed and a new one started.  The
 * released position is also written to <dir>/checkpoint (no fsync: it
 * only saves work), and on open the reader starts there (sp->start);
 * without a valid checkpoint every segment is replayed from its first
 * record (at-least-once: the consumer's writes are idempotent).
 *
 * Bounded: an append that would take the bytes on disk over max_bytes
 * waits until the reader releases space (or wk_spool_stop() is called, in
 * which case it writes anyway: a message the broker already handed us is
 * never dropped).
 */

#ifndef WK_SPOOL_H
#define WK_SPOOL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "log.h"

#define WK_SPOOL_HDR        12
#define WK_SPOOL_MAGIC      0x314e5347u     /* "GSN1" little endian */
#define WK_SPOOL_REC_MAX    (4u << 20)      /* largest body */

typedef struct {
    uint64_t          id;
    uint64_t          size;         /* bytes of complete records */
} wk_spool_seg_t;

typedef struct {
    uint64_t          seg;
    uint64_t          off;
} wk_spool_pos_t;

typedef struct {
    char              dir[512];
    const char       *name;         /* for logs: "main", "pg" */
    wk_log_t         *log;
    uint64_t          max_bytes;
    uint64_t          segment_bytes;

    pthread_mutex_t   mutex;
    pthread_cond_t    space;        /* signalled on release and stop */
    pthread_cond_t    data;         /* signalled on append and stop */

    /* under mutex */
    wk_spool_seg_t   *segs;         /* oldest first; the last is active */
    size_t            nsegs;
    size_t            cap;
    uint64_t          bytes;        /* on disk, all segments */
    int               fd;           /* active segment */
    char             *map;          /* its mapping, or NULL: pwritev */
    size_t            map_len;
    int               map_warned;   /* that it cannot map, logged once */
    int               dirty;        /* written since the last sync */
    int               stopping;
    int               blocked;      /* an append is waiting for space */
    uint64_t          appended;     /* records, since open */
    uint64_t          replayed;     /* records found on open */
    uint64_t          cut;          /* bytes of torn or damaged tails cut
                                       on open, up to the last non-zero */
    wk_spool_pos_t    start;        /* the checkpoint found on open */
    uint64_t          next_id;      /* ids only grow: the checkpoint names
                                       a segment by id */
    int               ckfd;         /* <dir>/checkpoint */

    /* reader only: rbuf holds [rbuf_off, rbuf_off + rbuf_len) of segment
     * rbuf_seg, complete records that were visible when it was read */
    int               rfd;
    uint64_t          rseg;         /* id of the segment rfd reads */
    char             *rbuf;
    size_t            rbuf_cap;
    uint64_t          rbuf_seg;
    uint64_t          rbuf_off;
    size_t            rbuf_len;
} wk_spool_t;

/* a record returned by wk_spool_next(): body valid until the next call */
typedef struct {
    const char       *body;
    size_t            len;
    wk_spool_pos_t    pos;          /* where the record starts */
    wk_spool_pos_t    end;          /* just after it: release up to here */
} wk_spool_rec_t;

/* creates dir if needed, scans and repairs the segments, opens a new
 * active segment; cursor at the first record */
int wk_spool_open(wk_spool_t *sp, const char *dir, const char *name,
    uint64_t max_bytes, uint64_t segment_bytes, wk_log_t *log);

void wk_spool_close(wk_spool_t *sp);

/* appender: writes iov[] as one record; blocks while full */
int wk_spool_append(wk_spool_t *sp, const struct iovec *iov, int iovcnt);

/* fdatasync the active segment if anything was written since last time */
int wk_spool_sync(wk_spool_t *sp);

/* appends stop waiting for space; readers stop waiting for data */
void wk_spool_stop(wk_spool_t *sp);

uint64_t wk_spool_bytes(wk_spool_t *sp);

/* 1 while an append waits for space */
int wk_spool_blocked(wk_spool_t *sp);

/*
 * reader: the record at *cur, advancing *cur past it.  Returns 1 with
 * *rec, 0 when there is none yet (after waiting up to wait_ms), -1 on an
 * I/O error.  The cursor starts as {0, 0} = the oldest record.
 */
int wk_spool_next(wk_spool_t *sp, wk_spool_pos_t *cur, wk_spool_rec_t *rec,
    int wait_ms);

/* reader: everything before pos is done; deletes whole segments */
void wk_spool_release(wk_spool_t *sp, wk_spool_pos_t pos);

/* reader: 1 when *cur is at the end of what was appended */
int wk_spool_caught_up(wk_spool_t *sp, const wk_spool_pos_t *cur);

uint32_t wk_crc32c(uint32_t crc, const void *data, size_t len);
uint32_t wk_crc32c_sw(uint32_t crc, const void *data, size_t len);

#endif /* WK_SPOOL_H */
