/*
 * Unit tests of the durable spool (worker/spool.c) and the PostgreSQL
 * queue records (worker/pgq.c): order, release and deletion, a torn tail
 * and a damaged record cut on open, replay from the checkpoint and without
 * it, the byte bound blocking an append until space is released, a
 * process killed (SIGKILL) in the middle of appends, and the mapped
 * active segment: its unused zeros after an exit without close, a record
 * cut before its header, and a record larger than the mapping.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gn_test.h"
#include "log.h"
#include "pgq.h"
#include "spool.h"


static wk_log_t  test_log;
static char      base[256];


static void
rm_rf(const char *dir)
{
    char  cmd[600];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot remove %s\n", dir);
    }
}


static int
count_segments(const char *dir)
{
    DIR            *d = opendir(dir);
    struct dirent  *de;
    int             n = 0;

    if (d == NULL) {
        return -1;
    }

    while ((de = readdir(d)) != NULL) {
        if (strstr(de->d_name, ".seg")) {
            n++;
        }
    }

    closedir(d);

    return n;
}


static int
append_num(wk_spool_t *sp, uint32_t n, size_t pad)
{
    char          buf[4096];
    struct iovec  iov;

    memset(buf, 'x', sizeof(buf));
    memcpy(buf, &n, sizeof(n));
    iov.iov_base = buf;
    iov.iov_len = sizeof(n) + pad;

    return wk_spool_append(sp, &iov, 1);
}


/* reads everything available; checks the numbers run first, first+1...;
 * returns how many, and the position after the last */
static int
read_all(wk_spool_t *sp, wk_spool_pos_t *cur, uint32_t first,
    wk_spool_pos_t *end)
{
    wk_spool_rec_t  rec;
    uint32_t        n;
    int             count = 0, rc;

    while ((rc = wk_spool_next(sp, cur, &rec, 0)) == 1) {
        GN_CHECK(rec.len >= sizeof(n));
        memcpy(&n, rec.body, sizeof(n));
        GN_CHECK_MSG(n == first + (uint32_t) count, "got %u want %u", n,
                     first + (uint32_t) count);
        *end = rec.end;
        count++;
    }

    GN_CHECK_INT(rc, 0);

    return count;
}


static void
test_order_release(void)
{
    char            dir[300];
    wk_spool_t      sp;
    wk_spool_pos_t  cur = { 0, 0 }, end = { 0, 0 };
    uint32_t        i;

    snprintf(dir, sizeof(dir), "%s/order", base);

    GN_CHECK_INT(wk_spool_open(&sp, dir, "t", 1 << 20, 4096, &test_log), 0);

    /* 100-byte records, 4 KiB segments: several segments */
    for (i = 0; i < 200; i++) {
        GN_CHECK_INT(append_num(&sp, i, 96), 0);
    }

    GN_CHECK(count_segments(dir) > 4);
    GN_CHECK_INT(read_all(&sp, &cur, 0, &end), 200);
    GN_CHECK(wk_spool_caught_up(&sp, &cur));

    wk_spool_release(&sp, end);
    GN_CHECK_INT(count_segments(dir), 1);     /* a fresh active one */
    GN_CHECK_INT(wk_spool_bytes(&sp), 0);

    /* go on after a release */
    GN_CHECK_INT(append_num(&sp, 200, 10), 0);
    GN_CHECK_INT(read_all(&sp, &cur, 200, &end), 1);

    wk_spool_close(&sp);
}


/* one record of len bytes: n, then a pattern that depends on n */
static int
append_big(wk_spool_t *sp, uint32_t n, size_t len)
{
    struct iovec  iov;
    char         *buf;
    size_t        i;
    int           rc;

    buf = malloc(len);
    GN_CHECK(buf != NULL && len >= sizeof(n));
    if (buf == NULL) {
        return -1;
    }

    memcpy(buf, &n, sizeof(n));
    for (i = sizeof(n); i < len; i++) {
        buf[i] = (char) (n * 31 + i);
    }

    iov.iov_base = buf;
    iov.iov_len = len;
    rc = wk_spool_append(sp, &iov, 1);
    free(buf);

    return rc;
}


static int
check_big(const wk_spool_rec_t *rec, uint32_t n, size_t len)
{
    uint32_t  got;
    size_t    i;

    if (rec->len != len) {
        return 0;
    }

    memcpy(&got, rec->body, sizeof(got));

    for (i = sizeof(n); i < len; i++) {
        if (rec->body[i] != (char) (n * 31 + i)) {
            return 0;
        }
    }

    return got == n;
}


/* the reader reads ahead: records bigger than a read-ahead, records
 * appended after a read-ahead, a damaged record inside one */
static void
test_read_ahead(void)
{
    static const size_t  sizes[] = {
        40, (300u << 10), 100, (1u << 20) + 7, 4, (256u << 10) - 12,
        (256u << 10) - 11, 64, (3u << 20)
    };
    char                 dir[300], path[600];
    wk_spool_t           sp;
    wk_spool_rec_t       rec;
    wk_spool_pos_t       cur = { 0, 0 }, end = { 0, 0 };
    uint32_t             i, n;
    int                  fd;

    snprintf(dir, sizeof(dir), "%s/ahead", base);

    GN_CHECK_INT(wk_spool_open(&sp, dir, "t", 64u << 20, 16u << 20,
                               &test_log), 0);

    for (i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
        GN_CHECK_INT(append_big(&sp, i, sizes[i]), 0);
    }

    for (i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
        GN_CHECK_INT(wk_spool_next(&sp, &cur, &rec, 0), 1);
        GN_CHECK_MSG(check_big(&rec, i, sizes[i]), "record %u", i);
    }
    GN_CHECK_INT(wk_spool_next(&sp, &cur, &rec, 0), 0);

    /* small records: the first read buffers three; two more arrive */
    for (n = 100; n < 103; n++) {
        GN_CHECK_INT(append_num(&sp, n, 20), 0);
    }
    GN_CHECK_INT(wk_spool_next(&sp, &cur, &rec, 0), 1);
    memcpy(&n, rec.body, sizeof(n));
    GN_CHECK_INT(n, 100);
    for (n = 103; n < 105; n++) {
        GN_CHECK_INT(append_num(&sp, n, 20), 0);
    }
    GN_CHECK_INT(read_all(&sp, &cur, 101, &end), 4);

    /* reading an earlier record again (a refused line is re-read) */
    cur = sp.start;
    GN_CHECK_INT(wk_spool_next(&sp, &cur, &rec, 0), 1);
    GN_CHECK(check_big(&rec, 0, sizes[0]));
    wk_spool_close(&sp);

    /* a flipped byte in the second of three buffered records: the first
     * is returned, the second is refused */
    rm_rf(dir);
    GN_CHECK_INT(wk_spool_open(&sp, dir, "t", 1 << 20, 1 << 16, &test_log),
                 0);
    for (n = 0; n < 3; n++) {
        GN_CHECK_INT(append_num(&sp, n, 20), 0);
    }
    snprintf(path, sizeof(path), "%s/%016x.seg", dir, 1);
    fd = open(path, O_RDWR);
    GN_CHECK(fd >= 0);
    GN_CHECK_INT(pwrite(fd, "Z", 1, 2 * WK_SPOOL_HDR + 24 + 10), 1);
    close(fd);

    cur = sp.start;
    GN_CHECK_INT(wk_spool_next(&sp, &cur, &rec, 0), 1);
    GN_CHECK_INT(wk_spool_next(&sp, &cur, &rec, 0), -1);
    wk_spool_close(&sp);
}


/* everything released and its segments deleted, then a restart: the new
 * records must not hide behind the checkpoint of the old ones */
static void
test_restart_after_release(void)
{
    char            dir[300];
    wk_spool_t      sp;
    wk_spool_pos_t  cur = { 0, 0 }, end = { 0, 0 };
    uint32_t        i;
    int             round;

    snprintf(dir, sizeof(dir), "%s/restart", base);

    for (round = 0; round < 3; round++) {
        GN_CHECK_INT(wk_spool_open(&sp, dir, "t", 1 << 20, 64 << 10,
                                   &test_log), 0);
        cur = sp.start;
        /* 20 KiB > a quarter segment: a full release rotates and deletes */
        for (i = 0; i < 200; i++) {
            GN_CHECK_INT(append_num(&sp, round * 1000 + i, 96), 0);
        }
        GN_CHECK_INT(read_all(&sp, &cur, round * 1000, &end), 200);
        wk_spool_release(&sp, end);
        GN_CHECK_INT(wk_spool_bytes(&sp), 0);
        wk_spool_close(&sp);
    }

    /* and records appended but not released before a restart come back */
    GN_CHECK_INT(wk_spool_open(&sp, dir, "t", 1 << 20, 64 << 10, &test_log),
                 0);
    GN_CHECK_INT(append_num(&sp, 5000, 10), 0);
    wk_spool_close(&sp);
    GN_CHECK_INT(wk_spool_open(&sp, dir, "t", 1 << 20, 64 << 10, &test_log),
                 0);
    cur = sp.start;
    GN_CHECK_INT(read_all(&sp, &cur, 5000, &end), 1);
    wk_spool_close(&sp);
}


static void
test_torn_tail(void)
{
    char            dir[300], path[600];
    wk_spool_t      sp;
    wk_spool_pos_t  cur, end;
    unsigned char   junk[64];
    int             fd;
    uint32_t        i;

    snprintf(dir, sizeof(dir), "%s/torn", base);

    GN_CHECK_INT(wk_spool_open(&sp, dir, "t", 1 << 20, 1 << 16, &test_log),
                 0);
    for (i = 0; i < 10; i++) {
        GN_CHECK_INT(append_num(&sp, i, 20), 0);
    }
    wk_spool_close(&sp);

    /* a crash in the middle of an append: a header and half a body */
    snprintf(path, sizeof(path), "%s/%016x.seg", dir, 1);
    fd = open(path, O_WRONLY | O_APPEND);
    GN_CHECK(fd >= 0);
    memset(junk, 'j', sizeof(junk));
    junk[0] = 0x47; junk[1] = 0x53; junk[2] = 0x4e; junk[3] = 0x31;
    junk[4] = 100;      /* length 100, only 20 bytes follow */
    junk[5] = junk[6] = junk[7] = 0;
    GN_CHECK_INT(write(fd, junk, 32), 32);
    close(fd);

    GN_CHECK_INT(wk_spool_open(&sp, dir, "t", 1 << 20, 1 << 16, &test_log),
                 0);
    GN_CHECK_INT(sp.replayed, 10);
    GN_CHECK_INT(sp.cut, 32);

    cur = sp.start;
    GN_CHECK_INT(append_num(&sp, 10, 20), 0);
    GN_CHECK_INT(read_all(&sp, &cur, 0, &end), 11);
    wk_spool_close(&sp);

    /* a damaged body (bit flip in the last record) is cut as well */
    snprintf(path, sizeof(path), "%s/%016x.seg", dir, 2);
    fd = open(path, O_RDWR);
    GN_CHECK(fd >= 0);
    GN_CHECK_INT(pwrite(fd, "Z", 1, WK_SPOOL_HDR + 5), 1);
    close(fd);

    unlink(strcat(strcpy(path, dir), "/checkpoint"));

    GN_CHECK_INT(wk_spool_open(&sp, dir, "t", 1 << 20, 1 << 16, &test_log),
                 0);
    GN_CHECK_INT(sp.replayed, 10);      /* segment 2 lost its one record */
    cur = sp.start;
    GN_CHECK_INT(read_all(&sp, &cur, 0, &end), 10);
    wk_spool_close(&sp);
}


static void
test_checkpoint(void)
{
    char            dir[300], path[600];
    wk_spool_t      sp;
    wk_spool_pos_t  cur = { 0, 0 }, end, mid = { 0, 0 };
    wk_spool_rec_t  rec;
    uint32_t        i;

    snprintf(dir, sizeof(dir), "%s/ckpt", base);

    GN_CHECK_INT(wk_spool_open(&sp, dir, "t", 1 << 20, 1 << 16, &test_log),
                 0);
    for (i = 0; i < 100; i++) {
        GN_CHECK_INT(append_num(&sp, i, 30), 0);
    }
    for (i = 0; i < 40; i++) {
        GN_CHECK_INT(wk_spool_next(&sp, &cur, &rec, 0), 1);
        mid = rec.end;
    }
    wk_spool_release(&sp, mid);
    wk_spool_close(&sp);      /* as if killed: nothing else written */

    GN_CHECK_INT(wk_spool_open(&sp, dir, "t", 1 << 20, 1 << 16, &test_log),
                 0);
    cur = sp.start;
    GN_CHECK_INT(read_all(&sp, &cur, 40, &end), 60);
    wk_spool_close(&sp);

    /* without the checkpoint: everything not deleted comes again */
    snprintf(path, sizeof(path), "%s/checkpoint", dir);
    GN_CHECK_INT(unlink(path), 0);

    GN_CHECK_INT(wk_spool_open(&sp, dir, "t", 1 << 20, 1 << 16, &test_log),
                 0);
    cur = sp.start;
    GN_CHECK_INT(read_all(&sp, &cur, 0, &end), 100);
    wk_spool_close(&sp);
}


typedef struct {
    wk_spool_t  *sp;
    int          done;
} appender_t;

static void *
appender(void *arg)
{
    appender_t  *a = arg;

    append_num(a->sp, 999, 1000);
    __atomic_store_n(&a->done, 1, __ATOMIC_SEQ_CST);

    return NULL;
}


static void
test_bound(void)
{
    char            dir[300];
    wk_spool_t      sp;
    wk_spool_pos_t  cur = { 0, 0 }, end;
    appender_t      a;
    pthread_t       t;
    uint32_t        i;
    int             k;

    snprintf(dir, sizeof(dir), "%s/bound", base);

    /* 64 KiB bound, 16 KiB segments, ~1 KiB records */
    GN_CHECK_INT(wk_spool_open(&sp, dir, "t", 64 << 10, 16 << 10,
                               &test_log), 0);

    for (i = 0; wk_spool_bytes(&sp) + 2 * (1004 + WK_SPOOL_HDR)
                < (64 << 10); i++)
    {
        GN_CHECK_INT(append_num(&sp, i, 1000), 0);
    }
    GN_CHECK_INT(append_num(&sp, i, 1000), 0);
    i++;

    a.sp = &sp;
    a.done = 0;
    pthread_create(&t, NULL, appender, &a);

    /* it must wait: the spool is full */
    for (k = 0; k < 20; k++) {
        usleep(10000);
        if (wk_spool_blocked(&sp)) {
            break;
        }
    }
    GN_CHECK(wk_spool_blocked(&sp));
    GN_CHECK(!__atomic_load_n(&a.done, __ATOMIC_SEQ_CST));
    GN_CHECK(wk_spool_bytes(&sp) <= (64 << 10));

    /* release everything written so far: the append goes through */
    GN_CHECK_INT(read_all(&sp, &cur, 0, &end), (int) i);
    wk_spool_release(&sp, end);
    pthread_join(t, NULL);
    GN_CHECK(__atomic_load_n(&a.done, __ATOMIC_SEQ_CST));
    GN_CHECK_INT(read_all(&sp, &cur, 999, &end), 1);

    /* stopping: a full spool takes the message anyway, never drops it */
    for (i = 0; wk_spool_bytes(&sp) + 1004 + WK_SPOOL_HDR < (64 << 10);
         i++)
    {
        GN_CHECK_INT(append_num(&sp, i, 1000), 0);
    }
    wk_spool_stop(&sp);
    GN_CHECK_INT(append_num(&sp, 5000, 1000), 0);

    wk_spool_close(&sp);
}


static off_t
file_size(const char *dir, uint64_t seg)
{
    char         path[600];
    struct stat  st;

    snprintf(path, sizeof(path), "%s/%016" PRIx64 ".seg", dir, seg);

    return stat(path, &st) == 0 ? st.st_size : -1;
}


/* a process that ends without closing leaves its preallocated, mapped
 * segment full size: the zeros after the records go quietly on open */
static void
test_mapped_exit(void)
{
    char            dir[300];
    wk_spool_t      sp;
    wk_spool_pos_t  cur, end;
    pid_t           pid;
    int             st;

    snprintf(dir, sizeof(dir), "%s/mapped", base);

    pid = fork();
    if (pid == 0) {
        wk_spool_t  c;
        uint32_t    i;

        if (wk_spool_open(&c, dir, "child", 1 << 20, 1 << 16, &test_log)
            != 0 || c.map == NULL)
        {
            _exit(2);
        }
        for (i = 0; i < 100; i++) {
            if (append_num(&c, i, 50) != 0) {
                _exit(3);
            }
        }
        _exit(0);
    }

    waitpid(pid, &st, 0);
    GN_CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d",
                 st);
    GN_CHECK_INT(file_size(dir, 1), 1 << 16);

    GN_CHECK_INT(wk_spool_open(&sp, dir, "t", 1 << 20, 1 << 16, &test_log),
                 0);
    GN_CHECK_INT(sp.replayed, 100);
    GN_CHECK_INT(sp.cut, 0);
    GN_CHECK_INT(file_size(dir, 1), 100 * (WK_SPOOL_HDR + 54));

    /* a copy killed before its header (a zero header, 30 bytes of body
     * after it) is cut, loudly */
    cur = sp.start;
    GN_CHECK_INT(read_all(&sp, &cur, 0, &end), 100);
    wk_spool_release(&sp, end);
    GN_CHECK(sp.map != NULL);
    GN_CHECK_INT(append_num(&sp, 100, 10), 0);
    memset(sp.map + sp.segs[sp.nsegs - 1].size + WK_SPOOL_HDR, 'b', 30);
    munmap(sp.map, sp.map_len);     /* as if killed: no seal */
    sp.map = NULL;
    close(sp.fd);
    sp.fd = -1;
    wk_spool_close(&sp);

    GN_CHECK_INT(wk_spool_open(&sp, dir, "t", 1 << 20, 1 << 16, &test_log),
                 0);
    GN_CHECK_INT(sp.cut, WK_SPOOL_HDR + 30);
    cur = sp.start;
    GN_CHECK_INT(read_all(&sp, &cur, 100, &end), 1);
    wk_spool_close(&sp);
}


/* a record larger than the mapping: its segment is written with pwritev,
 * the next one is mapped again */
static void
test_large_record(void)
{
    char            dir[300], big[20000];
    wk_spool_t      sp;
    wk_spool_pos_t  cur, end;
    wk_spool_rec_t  rec;
    struct iovec    iov;
    uint32_t        n = 1;

    snprintf(dir, sizeof(dir), "%s/large", base);

    GN_CHECK_INT(wk_spool_open(&sp, dir, "t", 1 << 20, 4096, &test_log), 0);
    GN_CHECK_INT(append_num(&sp, 0, 10), 0);

    memset(big, 'B', sizeof(big));
    memcpy(big, &n, sizeof(n));
    iov.iov_base = big;
    iov.iov_len = sizeof(big);
    GN_CHECK_INT(wk_spool_append(&sp, &iov, 1), 0);   /* a new segment */
    GN_CHECK(sp.map == NULL);
    GN_CHECK_INT(sp.nsegs, 2);

    GN_CHECK_INT(append_num(&sp, 2, 10), 0);          /* and another */
    GN_CHECK(sp.map != NULL);
    GN_CHECK_INT(sp.nsegs, 3);
    GN_CHECK_INT(file_size(dir, 1), WK_SPOOL_HDR + 14);
    GN_CHECK_INT(file_size(dir, 2), WK_SPOOL_HDR + sizeof(big));
    wk_spool_close(&sp);

    GN_CHECK_INT(wk_spool_open(&sp, dir, "t", 1 << 20, 4096, &test_log), 0);
    GN_CHECK_INT(sp.replayed, 3);
    GN_CHECK_INT(sp.cut, 0);
    cur = sp.start;
    GN_CHECK_INT(wk_spool_next(&sp, &cur, &rec, 0), 1);
    GN_CHECK_INT(wk_spool_next(&sp, &cur, &rec, 0), 1);
    GN_CHECK_INT(rec.len, sizeof(big));
    GN_CHECK(memcmp(rec.body, big, sizeof(big)) == 0);
    GN_CHECK_INT(read_all(&sp, &cur, 2, &end), 1);
    wk_spool_close(&sp);
}


/* a child appends numbered records as fast as it can and is killed */
static void
test_kill(void)
{
    char            dir[300];
    wk_spool_t      sp;
    wk_spool_pos_t  cur, end;
    pid_t           pid;
    int             st, n, round;
    uint32_t        next = 0;

    snprintf(dir, sizeof(dir), "%s/kill", base);

    for (round = 0; round < 3; round++) {
        pid = fork();
        if (pid == 0) {
            wk_spool_t  c;
            uint32_t    i;

            if (wk_spool_open(&c, dir, "child", 1ULL << 30, 1 << 16,
                              &test_log) != 0)
            {
                _exit(2);
            }
            /* continue the numbering after what the parent saw */
            for (i = next; ; i++) {
                if (append_num(&c, i, i % 200) != 0) {
                    _exit(3);
                }
            }
        }

        usleep(30000 + round * 20000);
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        GN_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

        GN_CHECK_INT(wk_spool_open(&sp, dir, "t", 1ULL << 30, 1 << 16,
                                   &test_log), 0);
        cur = sp.start;
        n = read_all(&sp, &cur, next, &end);
        GN_CHECK_MSG(n > 0, "round %d: the child wrote something", round);
        next += (uint32_t) n;
        wk_spool_release(&sp, end);
        wk_spool_close(&sp);
    }
}


static void
test_crc(void)
{
    unsigned char  buf[1000];
    uint32_t       a, b;
    size_t         i, len, off;

    /* the published check value of CRC-32C */
    GN_CHECK_INT(wk_crc32c(0, "123456789", 9), 0xe3069283u);
    GN_CHECK_INT(wk_crc32c_sw(0, "123456789", 9), 0xe3069283u);

    for (i = 0; i < sizeof(buf); i++) {
        buf[i] = (unsigned char) (i * 131 + 7);
    }

    /* the hardware path (when the CPU has one) agrees at every length,
     * alignment, and when chained */
    for (len = 0; len < 300; len++) {
        for (off = 0; off < 8; off++) {
            a = wk_crc32c(0, buf + off, len);
            b = wk_crc32c_sw(0, buf + off, len);
            GN_CHECK_MSG(a == b, "len %zu off %zu", len, off);
        }
    }

    a = wk_crc32c(wk_crc32c(0, buf, 123), buf + 123, 400);
    GN_CHECK_INT(a, wk_crc32c_sw(0, buf, 523));
}


static void
test_pgq(void)
{
    wk_pgq_rec_t  r, d;
    wk_buf_t      b = { NULL, 0, 0 };
    char          bin[3] = { 0, (char) 0xff, 'x' };
    char          out[16];

    memset(&r, 0, sizeof(r));
    r.type = WK_PGQ_DEAD_LETTER;
    r.received_ns = 1234567890123456789LL;
    r.key = 0xfedcba9876543210ULL;
    r.payload_size = 99999;
    r.reason = (wk_str_t) { "invalid_json", 12 };
    r.detail = (wk_str_t) { "", 0 };
    r.topic = (wk_str_t) { "a/b", 3 };
    r.payload = (wk_str_t) { bin, 3 };

    GN_CHECK_INT(wk_pgq_encode(&b, &r), 0);
    GN_CHECK_INT(wk_pgq_decode(b.p, b.len, &d), 0);
    GN_CHECK_INT(d.type, WK_PGQ_DEAD_LETTER);
    GN_CHECK(d.received_ns == r.received_ns && d.key == r.key);
    GN_CHECK_INT(d.payload_size, 99999);
    GN_CHECK_MEM(d.payload.p, d.payload.len, bin, 3);
    GN_CHECK_STR(d.reason.p, d.reason.len, "invalid_json");

    /* every truncation is refused, never read past the end */
    for (size_t i = 0; i < b.len; i++) {
        GN_CHECK_MSG(wk_pgq_decode(b.p, i, &d) == -1, "len %zu", i);
    }

    memset(&r, 0, sizeof(r));
    r.type = WK_PGQ_ALERT;
    r.machine_id = (wk_str_t) { "m", 1 };
    r.factory_id = (wk_str_t) { "f", 1 };
    r.alert_type = (wk_str_t) { "max_pressure", 12 };
    r.value = 151.25;
    r.threshold = 150;
    r.reading_ns = -5;
    GN_CHECK_INT(wk_pgq_encode(&b, &r), 0);
    GN_CHECK_INT(wk_pgq_decode(b.p, b.len, &d), 0);
    GN_CHECK(d.value == 151.25 && d.threshold == 150 && d.reading_ns == -5);

    b.p[0] = 'Q';
    GN_CHECK_INT(wk_pgq_decode(b.p, b.len, &d), -1);

    /* the dead-letter topic column gets valid UTF-8 without controls */
    GN_CHECK_INT(wk_sanitize_utf8(out, sizeof(out), "a\n\xff\xc3\xa9", 5),
                 5);
    GN_CHECK_MEM(out, 5, "a??\xc3\xa9", 5);

    /* the idempotency key: same message, same key */
    GN_CHECK(wk_msg_key(1, "t", 1, "p", 1) == wk_msg_key(1, "t", 1, "p", 1));
    GN_CHECK(wk_msg_key(1, "t", 1, "p", 1) != wk_msg_key(2, "t", 1, "p", 1));
    GN_CHECK(wk_msg_key(1, "tp", 2, "", 0) != wk_msg_key(1, "t", 1, "p", 1));

    wk_buf_free(&b);
}


int
main(void)
{
    const char  *tmp = getenv("TMPDIR");
    int          null;

    snprintf(base, sizeof(base), "%s/gonsters-spool-test-%d",
             tmp ? tmp : "/tmp", (int) getpid());

    /* the spool logs warnings (cut tails) on purpose: keep the output
     * for failures */
    null = open("/dev/null", O_WRONLY);
    wk_log_init(&test_log, getenv("TEST_VERBOSE") ? 2 : null, WK_LOG_ERROR);

    test_order_release();
    test_restart_after_release();
    test_torn_tail();
    test_read_ahead();
    test_checkpoint();
    test_bound();
    test_kill();
    test_mapped_exit();
    test_large_record();
    test_crc();
    test_pgq();

    rm_rf(base);
    wk_log_destroy(&test_log);
    close(null);

    GN_TEST_DONE();
}
