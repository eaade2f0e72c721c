/*
 * Durable on-disk spool, see spool.h.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"


#define WK_SPOOL_LOGGER     "worker.spool"
#define WK_SPOOL_READAHEAD  (256u << 10)
#define WK_SPOOL_SUFFIX     ".seg"


/* CRC-32C (Castagnoli): the SSE 4.2 instruction where the CPU has it (the
 * checksum was 5% of the worker's CPU under load with a table), else a
 * bytewise table; both give the same values (test_spool.c checks) */

static uint32_t  wk_crc_table[256];
static int       wk_crc_hw;
static pthread_once_t  wk_crc_once = PTHREAD_ONCE_INIT;

static void
wk_crc_init(void)
{
    uint32_t  c;
    int       i, k;

    for (i = 0; i < 256; i++) {
        c = (uint32_t) i;
        for (k = 0; k < 8; k++) {
            c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        }
        wk_crc_table[i] = c;
    }

#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    wk_crc_hw = __builtin_cpu_supports("sse4.2")
                && getenv("GONSTERS_WORKER_NO_HW_CRC") == NULL;
#endif
}


uint32_t
wk_crc32c_sw(uint32_t crc, const void *data, size_t len)
{
    const unsigned char  *p = data;

    pthread_once(&wk_crc_once, wk_crc_init);

    crc = ~crc;

    while (len--) {
        crc = wk_crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    }

    return ~crc;
}


#if defined(__x86_64__) && defined(__GNUC__)

__attribute__((target("sse4.2")))
static uint32_t
wk_crc32c_hw(uint32_t crc, const void *data, size_t len)
{
    const unsigned char  *p = data;
    uint64_t              c = ~crc & 0xffffffffu, v;

    while (len >= 8) {
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        len -= 8;
    }

    while (len--) {
        c = __builtin_ia32_crc32qi((uint32_t) c, *p++);
    }

    return ~(uint32_t) c;
}

#endif


uint32_t
wk_crc32c(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&wk_crc_once, wk_crc_init);

#if defined(__x86_64__) && defined(__GNUC__)
    if (wk_crc_hw) {
        return wk_crc32c_hw(crc, data, len);
    }
#endif

    return wk_crc32c_sw(crc, data, len);
}


static void
wk_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) v;
    p[1] = (unsigned char) (v >> 8);
    p[2] = (unsigned char) (v >> 16);
    p[3] = (unsigned char) (v >> 24);
}


static uint32_t
wk_get32(const unsigned char *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16
           | (uint32_t) p[3] << 24;
}


static void
wk_spool_path(const wk_spool_t *sp, uint64_t id, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%016" PRIx64 WK_SPOOL_SUFFIX, sp->dir, id);
}


static int
wk_mkdir_p(const char *dir)
{
    char   tmp[512];
    char  *p;

    if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int) sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }

    for (p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
                return -1;
            }
            *p = '/';
        }
    }

    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
        return -1;
    }

    return 0;
}


static void
wk_spool_sync_dir(wk_spool_t *sp)
{
    int  fd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        (void) fsync(fd);
        close(fd);
    }
}


static int
wk_spool_push(wk_spool_t *sp, uint64_t id, uint64_t size)
{
    wk_spool_seg_t  *n;

    if (sp->nsegs == sp->cap) {
        sp->cap = sp->cap ? sp->cap * 2 : 16;
        n = realloc(sp->segs, sp->cap * sizeof(*n));
        if (n == NULL) {
            return -1;
        }
        sp->segs = n;
    }

    sp->segs[sp->nsegs].id = id;
    sp->segs[sp->nsegs].size = size;
    sp->nsegs++;

    return 0;
}


static int
wk_spool_cmp_id(const void *a, const void *b)
{
    const wk_spool_seg_t  *x = a, *y = b;

    return x->id < y->id ? -1 : x->id > y->id;
}


/* the offset after the last non-zero byte at or after off (in blocks of
 * the scan's buffer), or off when there is none: -1 on an I/O error */
static int64_t
wk_spool_nonzero_end(int fd, uint64_t off, uint64_t size, char *buf)
{
    uint64_t  end = off;
    ssize_t   n, i;

    while (off < size) {
        n = pread(fd, buf, size - off < WK_SPOOL_REC_MAX
                           ? (size_t) (size - off) : WK_SPOOL_REC_MAX,
                  (off_t) off);
        if (n <= 0) {
            return -1;
        }

        for (i = n; i > 0 && buf[i - 1] == 0; i--) {
            /* back to the last non-zero byte */
        }

        if (i > 0) {
            end = off + (uint64_t) i;
        }

        off += (uint64_t) n;
    }

    return (int64_t) end;
}


/*
 * Validates the records of one segment; cuts a torn or corrupt tail.
 * Zeros after the last record are the unused part of a preallocated
 * segment (or a record whose copy was cut before its header): cut quietly.
 * Returns the size of the valid part, or -1 on an I/O error.
 */
static int64_t
wk_spool_scan(wk_spool_t *sp, uint64_t id)
{
    char            path[600];
    unsigned char   hdr[WK_SPOOL_HDR];
    struct stat     st;
    char           *body = NULL;
    uint64_t        off = 0, len, records = 0;
    uint32_t        crc;
    ssize_t         n;
    int64_t         used;
    int             fd;
    const char     *why = NULL;

    wk_spool_path(sp, id, path, sizeof(path));

    fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0) {
        wk_log(sp->log, WK_LOG_ERROR, WK_SPOOL_LOGGER, "cannot open segment",
               WK_STR("spool", sp->name), WK_STR("path", path),
               WK_STR("error", strerror(errno)));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }

    body = malloc(WK_SPOOL_REC_MAX);
    if (body == NULL) {
        close(fd);
        return -1;
    }

    while (off < (uint64_t) st.st_size) {
        n = pread(fd, hdr, sizeof(hdr), (off_t) off);
        if (n != (ssize_t) sizeof(hdr)) {
            why = "torn header";
            break;
        }

        len = wk_get32(hdr + 4);

        if (wk_get32(hdr) == 0 && len == 0 && wk_get32(hdr + 8) == 0) {
            why = "no header";
            break;
        }

        if (wk_get32(hdr) != WK_SPOOL_MAGIC || len > WK_SPOOL_REC_MAX) {
            why = "bad header";
            break;
        }

        if (off + WK_SPOOL_HDR + len > (uint64_t) st.st_size) {
            why = "torn record";
            break;
        }

        n = pread(fd, body, len, (off_t) (off + WK_SPOOL_HDR));
        if (n != (ssize_t) len) {
            why = "short read";
            break;
        }

        crc = wk_crc32c(0, body, len);
        if (crc != wk_get32(hdr + 8)) {
            why = "checksum mismatch";
            break;
        }

        off += WK_SPOOL_HDR + len;
        records++;
    }

    /* only the non-zero bytes after the records are a torn or damaged
     * tail; zeros are what was preallocated and never written */
    used = why ? wk_spool_nonzero_end(fd, off, (uint64_t) st.st_size, body)
               : (int64_t) off;

    free(body);

    if (used < 0) {
        wk_log(sp->log, WK_LOG_ERROR, WK_SPOOL_LOGGER,
               "cannot read segment", WK_STR("spool", sp->name),
               WK_STR("path", path), WK_STR("error", strerror(errno)));
        close(fd);
        return -1;
    }

    if (why && (uint64_t) used > off) {
        /* a killed process tears at most the last record; anything else
         * is a damaged disk, and is logged as such */
        wk_log(sp->log, WK_LOG_WARNING, WK_SPOOL_LOGGER,
               "cutting the tail of a segment",
               WK_STR("spool", sp->name), WK_STR("path", path),
               WK_STR("reason", why), WK_INT("valid_bytes", off),
               WK_INT("cut_bytes", (uint64_t) used - off));

        sp->cut += (uint64_t) used - off;
    }

    if (why) {
        if (ftruncate(fd, (off_t) off) != 0 || fdatasync(fd) != 0) {
            wk_log(sp->log, WK_LOG_ERROR, WK_SPOOL_LOGGER,
                   "cannot cut segment", WK_STR("path", path),
                   WK_STR("error", strerror(errno)));
            close(fd);
            return -1;
        }
    }

    close(fd);
    sp->replayed += records;

    return (int64_t) off;
}


/* "<seg> <off>\n" padded to a fixed size, rewritten in place */
#define WK_SPOOL_CKPT_LEN  48

static void
wk_spool_checkpoint_read(wk_spool_t *sp)
{
    char                buf[WK_SPOOL_CKPT_LEN + 1];
    unsigned long long  seg, off;
    ssize_t             n;

    n = pread(sp->ckfd, buf, WK_SPOOL_CKPT_LEN, 0);
    if (n <= 0) {
        return;
    }

    buf[n] = '\0';

    if (sscanf(buf, "%llu %llu", &seg, &off) == 2) {
        sp->start.seg = seg;
        sp->start.off = off;
    }
}


static void
wk_spool_checkpoint_write(wk_spool_t *sp, wk_spool_pos_t pos)
{
    char  buf[WK_SPOOL_CKPT_LEN];

    memset(buf, ' ', sizeof(buf));
    snprintf(buf, sizeof(buf), "%llu %llu", (unsigned long long) pos.seg,
             (unsigned long long) pos.off);
    buf[strlen(buf)] = ' ';
    buf[sizeof(buf) - 1] = '\n';

    if (sp->ckfd >= 0
        && pwrite(sp->ckfd, buf, sizeof(buf), 0) != (ssize_t) sizeof(buf))
    {
        /* only costs a longer replay */
        wk_log(sp->log, WK_LOG_WARNING, WK_SPOOL_LOGGER,
               "cannot write checkpoint", WK_STR("spool", sp->name),
               WK_STR("error", strerror(errno)));
    }
}


static int
wk_spool_load(wk_spool_t *sp)
{
    DIR            *d;
    struct dirent  *de;
    char           *end;
    uint64_t        id;
    size_t          i, j;
    int64_t         size;
    char            path[600];

    d = opendir(sp->dir);
    if (d == NULL) {
        return -1;
    }

    while ((de = readdir(d)) != NULL) {
        if (strlen(de->d_name) != 16 + strlen(WK_SPOOL_SUFFIX)
            || strcmp(de->d_name + 16, WK_SPOOL_SUFFIX) != 0)
        {
            continue;
        }

        errno = 0;
        id = strtoull(de->d_name, &end, 16);
        if (errno || end != de->d_name + 16 || id == 0) {
            continue;
        }

        if (wk_spool_push(sp, id, 0) != 0) {
            closedir(d);
            return -1;
        }

        if (id >= sp->next_id) {
            sp->next_id = id + 1;
        }
    }

    closedir(d);

    if (sp->start.seg >= sp->next_id) {
        sp->next_id = sp->start.seg + 1;
    }

    if (sp->nsegs > 1) {
        qsort(sp->segs, sp->nsegs, sizeof(sp->segs[0]), wk_spool_cmp_id);
    }

    for (i = 0, j = 0; i < sp->nsegs; i++) {
        if (sp->segs[i].id < sp->start.seg) {
            /* released before the crash, not yet deleted */
            wk_spool_path(sp, sp->segs[i].id, path, sizeof(path));
            (void) unlink(path);
            continue;
        }

        size = wk_spool_scan(sp, sp->segs[i].id);
        if (size < 0) {
            return -1;
        }

        if (sp->segs[i].id == sp->start.seg
            && sp->start.off > (uint64_t) size)
        {
            sp->start.off = 0;      /* cannot be: replay all of it */
        }

        if (size == 0) {
            wk_spool_path(sp, sp->segs[i].id, path, sizeof(path));
            (void) unlink(path);
            continue;
        }

        sp->segs[j].id = sp->segs[i].id;
        sp->segs[j].size = (uint64_t) size;
        sp->bytes += (uint64_t) size;
        j++;
    }

    sp->nsegs = j;

    return 0;
}


/*
 * under mutex: maps the new active segment fd, preallocated, so that
 * appends are copies; NULL where the file system cannot (then pwritev)
 */
static char *
wk_spool_map(wk_spool_t *sp, int fd, const char *path)
{
    char  *map;
    int    err;

    /* blocks reserved: a full disk cannot fault (SIGBUS) a mapped write */
    err = fallocate(fd, 0, 0, (off_t) sp->map_len) == 0 ? 0 : errno;

    if (err == 0) {
        map = mmap(NULL, sp->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                   0);
        if (map != MAP_FAILED) {
            return map;
        }
        err = errno;
    }

    if (!sp->map_warned) {
        wk_log(sp->log, err == ENOSPC ? WK_LOG_ERROR : WK_LOG_WARNING,
               WK_SPOOL_LOGGER, "cannot preallocate and map a segment: "
               "appending with write calls", WK_STR("spool", sp->name),
               WK_STR("path", path), WK_STR("error", strerror(err)));
        sp->map_warned = 1;
    }

    if (ftruncate(fd, 0) != 0) {
        /* a failed fallocate may have left blocks: pwritev starts at 0 */
        wk_log(sp->log, WK_LOG_WARNING, WK_SPOOL_LOGGER,
               "cannot truncate a new segment", WK_STR("spool", sp->name),
               WK_STR("path", path), WK_STR("error", strerror(errno)));
    }

    return NULL;
}


/* under mutex: unmaps the active segment and cuts its file to size */
static void
wk_spool_unmap(wk_spool_t *sp, uint64_t size)
{
    if (sp->map == NULL) {
        return;
    }

    munmap(sp->map, sp->map_len);
    sp->map = NULL;

    if (ftruncate(sp->fd, (off_t) size) != 0) {
        /* harmless: the zeros after the records end it on open */
        wk_log(sp->log, WK_LOG_WARNING, WK_SPOOL_LOGGER,
               "cannot truncate a segment", WK_STR("spool", sp->name),
               WK_STR("error", strerror(errno)));
    }
}


/* under mutex: a new, empty active segment after the last one */
static int
wk_spool_new_active(wk_spool_t *sp)
{
    char      path[600];
    char     *map;
    uint64_t  id;
    int       fd;

    id = sp->nsegs ? sp->segs[sp->nsegs - 1].id + 1 : 1;

    /* never reuse an id: after every segment was deleted, the checkpoint
     * still names the last one */
    if (id < sp->next_id) {
        id = sp->next_id;
    }

    wk_spool_path(sp, id, path, sizeof(path));

    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        wk_log(sp->log, WK_LOG_ERROR, WK_SPOOL_LOGGER,
               "cannot create segment", WK_STR("spool", sp->name),
               WK_STR("path", path), WK_STR("error", strerror(errno)));
        return -1;
    }

    map = wk_spool_map(sp, fd, path);

    if (wk_spool_push(sp, id, 0) != 0) {
        if (map != NULL) {
            munmap(map, sp->map_len);
        }
        close(fd);
        (void) unlink(path);
        return -1;
    }

    sp->next_id = id + 1;

    if (sp->fd >= 0) {
        /* seal the one before */
        wk_spool_unmap(sp, sp->segs[sp->nsegs - 2].size);
        close(sp->fd);
    }

    sp->fd = fd;
    sp->map = map;
    wk_spool_sync_dir(sp);

    return 0;
}


int
wk_spool_open(wk_spool_t *sp, const char *dir, const char *name,
    uint64_t max_bytes, uint64_t segment_bytes, wk_log_t *log)
{
    uint64_t  unfinished = 0;
    size_t    i;

    memset(sp, 0, sizeof(*sp));

    sp->fd = -1;
    sp->rfd = -1;
    sp->ckfd = -1;
    sp->name = name;
    sp->log = log;
    sp->max_bytes = max_bytes;
    sp->segment_bytes = segment_bytes;

    /* whole pages; a record larger (one of up to WK_SPOOL_REC_MAX in a
     * smaller segment) is written with pwritev */
    sp->map_len = (size_t) (segment_bytes + 4095) & ~(size_t) 4095;

    if (snprintf(sp->dir, sizeof(sp->dir), "%s", dir)
        >= (int) sizeof(sp->dir))
    {
        return -1;
    }

    pthread_mutex_init(&sp->mutex, NULL);
    pthread_cond_init(&sp->space, NULL);
    pthread_cond_init(&sp->data, NULL);

    if (wk_mkdir_p(sp->dir) != 0) {
        wk_log(log, WK_LOG_ERROR, WK_SPOOL_LOGGER, "cannot create directory",
               WK_STR("spool", name), WK_STR("dir", dir),
               WK_STR("error", strerror(errno)));
        return -1;
    }

    {
        char  path[600];

        snprintf(path, sizeof(path), "%s/checkpoint", sp->dir);
        sp->ckfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (sp->ckfd >= 0) {
            wk_spool_checkpoint_read(sp);
        }
    }

    if (wk_spool_load(sp) != 0 || wk_spool_new_active(sp) != 0) {
        return -1;
    }

    for (i = 0; i + 1 < sp->nsegs; i++) {
        if (sp->segs[i].id > sp->start.seg) {
            unfinished += sp->segs[i].size;
        } else if (sp->segs[i].id == sp->start.seg) {
            unfinished += sp->segs[i].size - sp->start.off;
        }
    }

    wk_log(log, WK_LOG_INFO, WK_SPOOL_LOGGER, "opened",
           WK_STR("spool", name), WK_STR("dir", dir),
           WK_INT("segments_to_replay", sp->nsegs - 1),
           WK_INT("checkpoint_segment", sp->start.seg),
           WK_INT("checkpoint_offset", sp->start.off),
           WK_INT("records_to_replay", sp->replayed),
           WK_INT("bytes", sp->bytes), WK_INT("unfinished_bytes", unfinished),
           WK_INT("cut_bytes", sp->cut),
           WK_INT("max_bytes", max_bytes));

    return 0;
}


void
wk_spool_close(wk_spool_t *sp)
{
    if (sp->fd >= 0) {
        wk_spool_unmap(sp, sp->segs[sp->nsegs - 1].size);
        (void) fdatasync(sp->fd);
        close(sp->fd);
        sp->fd = -1;
    }

    if (sp->rfd >= 0) {
        close(sp->rfd);
        sp->rfd = -1;
    }

    if (sp->ckfd >= 0) {
        close(sp->ckfd);
        sp->ckfd = -1;
    }

    free(sp->segs);
    free(sp->rbuf);
    sp->segs = NULL;
    sp->rbuf = NULL;
    sp->rbuf_len = 0;
    sp->nsegs = 0;

    pthread_cond_destroy(&sp->data);
    pthread_cond_destroy(&sp->space);
    pthread_mutex_destroy(&sp->mutex);
}


static void
wk_spool_deadline(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long) (ms % 1000) * 1000000;

    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}


/* under mutex */
static int
wk_spool_write(wk_spool_t *sp, const struct iovec *iov, int iovcnt,
    size_t len)
{
    struct iovec     v[18];
    unsigned char    hdr[WK_SPOOL_HDR];
    wk_spool_seg_t  *active = &sp->segs[sp->nsegs - 1];
    uint32_t         crc = 0;
    char            *p;
    ssize_t          n;
    int              i;

    for (i = 0; i < iovcnt; i++) {
        crc = wk_crc32c(crc, iov[i].iov_base, iov[i].iov_len);
    }

    wk_put32(hdr, WK_SPOOL_MAGIC);
    wk_put32(hdr + 4, (uint32_t) len);
    wk_put32(hdr + 8, crc);

    if (sp->map != NULL && active->size + WK_SPOOL_HDR + len > sp->map_len) {
        /* only a first record can be larger than the mapping (appends
         * rotate at segment_bytes): this segment is written with pwritev */
        wk_spool_unmap(sp, active->size);
    }

    if (sp->map != NULL) {
        /* the header last: killed in between, a zero header ends the
         * segment on open */
        p = sp->map + active->size + WK_SPOOL_HDR;

        for (i = 0; i < iovcnt; i++) {
            memcpy(p, iov[i].iov_base, iov[i].iov_len);
            p += iov[i].iov_len;
        }

        memcpy(sp->map + active->size, hdr, WK_SPOOL_HDR);

    } else {
        v[0].iov_base = hdr;
        v[0].iov_len = sizeof(hdr);
        memcpy(&v[1], iov, (size_t) iovcnt * sizeof(*iov));

        do {
            n = pwritev(sp->fd, v, iovcnt + 1, (off_t) active->size);
        } while (n < 0 && errno == EINTR);

        if (n != (ssize_t) (WK_SPOOL_HDR + len)) {
            wk_log(sp->log, WK_LOG_ERROR, WK_SPOOL_LOGGER, "write failed",
                   WK_STR("spool", sp->name),
                   WK_STR("error", n < 0 ? strerror(errno) : "short write"));

            /* no torn record in the middle of a segment */
            if (n > 0 && ftruncate(sp->fd, (off_t) active->size) != 0) {
                wk_log(sp->log, WK_LOG_ERROR, WK_SPOOL_LOGGER,
                       "cannot undo a short write", WK_STR("spool", sp->name),
                       WK_STR("error", strerror(errno)));
            }
            return -1;
        }
    }

    active->size += WK_SPOOL_HDR + len;
    sp->bytes += WK_SPOOL_HDR + len;
    sp->dirty = 1;
    sp->appended++;

    return 0;
}


int
wk_spool_append(wk_spool_t *sp, const struct iovec *iov, int iovcnt)
{
    struct timespec  ts;
    size_t           len = 0;
    int              i, rc, fd;

    if (iovcnt < 1 || iovcnt > 16) {
        return -1;
    }

    for (i = 0; i < iovcnt; i++) {
        len += iov[i].iov_len;
    }

    if (len > WK_SPOOL_REC_MAX) {
        return -1;
    }

    pthread_mutex_lock(&sp->mutex);

    while (!sp->stopping
           && sp->bytes + WK_SPOOL_HDR + len > sp->max_bytes)
    {
        if (!sp->blocked) {
            wk_log(sp->log, WK_LOG_WARNING, WK_SPOOL_LOGGER,
                   "spool full: not taking messages until space is freed",
                   WK_STR("spool", sp->name), WK_INT("bytes", sp->bytes),
                   WK_INT("max_bytes", sp->max_bytes));
        }
        sp->blocked = 1;
        wk_spool_deadline(&ts, 1000);
        pthread_cond_timedwait(&sp->space, &sp->mutex, &ts);
    }

    if (sp->blocked) {
        sp->blocked = 0;
        wk_log(sp->log, WK_LOG_INFO, WK_SPOOL_LOGGER, "spool has space again",
               WK_STR("spool", sp->name), WK_INT("bytes", sp->bytes));
    }

    if (sp->segs[sp->nsegs - 1].size > 0
        && sp->segs[sp->nsegs - 1].size + WK_SPOOL_HDR + len
           > sp->segment_bytes)
    {
        /* the group commit only syncs the active segment: seal this one */
        fd = sp->fd;
        if (sp->dirty && fdatasync(fd) != 0) {
            wk_log(sp->log, WK_LOG_ERROR, WK_SPOOL_LOGGER, "fdatasync failed",
                   WK_STR("spool", sp->name),
                   WK_STR("error", strerror(errno)));
        }
        sp->dirty = 0;

        if (wk_spool_new_active(sp) != 0) {
            pthread_mutex_unlock(&sp->mutex);
            return -1;
        }
    }

    rc = wk_spool_write(sp, iov, iovcnt, len);

    pthread_cond_signal(&sp->data);
    pthread_mutex_unlock(&sp->mutex);

    return rc;
}


int
wk_spool_sync(wk_spool_t *sp)
{
    int  fd, rc = 0;

    pthread_mutex_lock(&sp->mutex);

    if (!sp->dirty || sp->fd < 0) {
        pthread_mutex_unlock(&sp->mutex);
        return 0;
    }

    /* a dup: appends go on while the disk works, and a rotation may close
     * sp->fd meanwhile */
    fd = dup(sp->fd);
    sp->dirty = 0;

    pthread_mutex_unlock(&sp->mutex);

    if (fd < 0 || fdatasync(fd) != 0) {
        wk_log(sp->log, WK_LOG_ERROR, WK_SPOOL_LOGGER, "fdatasync failed",
               WK_STR("spool", sp->name), WK_STR("error", strerror(errno)));
        rc = -1;

        pthread_mutex_lock(&sp->mutex);
        sp->dirty = 1;
        pthread_mutex_unlock(&sp->mutex);
    }

    if (fd >= 0) {
        close(fd);
    }

    return rc;
}


void
wk_spool_stop(wk_spool_t *sp)
{
    pthread_mutex_lock(&sp->mutex);
    sp->stopping = 1;
    pthread_cond_broadcast(&sp->space);
    pthread_cond_broadcast(&sp->data);
    pthread_mutex_unlock(&sp->mutex);
}


uint64_t
wk_spool_bytes(wk_spool_t *sp)
{
    uint64_t  b;

    pthread_mutex_lock(&sp->mutex);
    b = sp->bytes;
    pthread_mutex_unlock(&sp->mutex);

    return b;
}


int
wk_spool_blocked(wk_spool_t *sp)
{
    int  b;

    pthread_mutex_lock(&sp->mutex);
    b = sp->blocked;
    pthread_mutex_unlock(&sp->mutex);

    return b;
}


/* under mutex: index of the first segment with id >= seg, or nsegs */
static size_t
wk_spool_find(const wk_spool_t *sp, uint64_t seg)
{
    size_t  i;

    for (i = 0; i < sp->nsegs; i++) {
        if (sp->segs[i].id >= seg) {
            return i;
        }
    }

    return sp->nsegs;
}


/*
 * under mutex: moves *cur to a readable record; returns the visible end
 * of its segment, or 0 when there is nothing to read
 */
static uint64_t
wk_spool_locate(wk_spool_t *sp, wk_spool_pos_t *cur)
{
    size_t  i;

    for ( ;; ) {
        i = wk_spool_find(sp, cur->seg);

        if (i == sp->nsegs) {
            return 0;       /* cannot happen: the active one is last */
        }

        if (sp->segs[i].id != cur->seg) {
            cur->seg = sp->segs[i].id;
            cur->off = 0;
        }

        if (cur->off < sp->segs[i].size) {
            return sp->segs[i].size;
        }

        if (i == sp->nsegs - 1) {
            return 0;       /* at the end of the active segment */
        }

        cur->seg = sp->segs[i + 1].id;
        cur->off = 0;
    }
}


int
wk_spool_caught_up(wk_spool_t *sp, const wk_spool_pos_t *cur)
{
    wk_spool_pos_t  c = *cur;
    uint64_t        end;

    pthread_mutex_lock(&sp->mutex);
    end = wk_spool_locate(sp, &c);
    pthread_mutex_unlock(&sp->mutex);

    return end == 0;
}


/* reads [off, off + len) of segment seg into sp->rbuf */
static int
wk_spool_pread(wk_spool_t *sp, uint64_t seg, uint64_t off, size_t len)
{
    char     path[600];
    char    *n;
    size_t   done = 0;
    ssize_t  r;

    sp->rbuf_len = 0;

    if (sp->rfd < 0 || sp->rseg != seg) {
        if (sp->rfd >= 0) {
            close(sp->rfd);
        }

        wk_spool_path(sp, seg, path, sizeof(path));
        sp->rfd = open(path, O_RDONLY | O_CLOEXEC);
        if (sp->rfd < 0) {
            wk_log(sp->log, WK_LOG_ERROR, WK_SPOOL_LOGGER,
                   "cannot open segment for reading",
                   WK_STR("spool", sp->name), WK_STR("path", path),
                   WK_STR("error", strerror(errno)));
            return -1;
        }
        sp->rseg = seg;
    }

    if (len > sp->rbuf_cap) {
        n = realloc(sp->rbuf, len);
        if (n == NULL) {
            return -1;
        }
        sp->rbuf = n;
        sp->rbuf_cap = len;
    }

    while (done < len) {
        r = pread(sp->rfd, sp->rbuf + done, len - done,
                  (off_t) (off + done));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            wk_log(sp->log, WK_LOG_ERROR, WK_SPOOL_LOGGER, "read failed",
                   WK_STR("spool", sp->name),
                   WK_STR("error", r < 0 ? strerror(errno) : "short file"));
            return -1;
        }
        done += (size_t) r;
    }

    sp->rbuf_seg = seg;
    sp->rbuf_off = off;
    sp->rbuf_len = len;

    return 0;
}


/*
 * the record at *cur from what rbuf holds: 1, 0 when rbuf does not hold
 * all of it, -1 when it is damaged
 */
static int
wk_spool_buffered(wk_spool_t *sp, const wk_spool_pos_t *cur,
    wk_spool_rec_t *rec)
{
    const unsigned char  *hdr;
    size_t                at, len;

    if (sp->rbuf_len == 0 || cur->seg != sp->rbuf_seg
        || cur->off < sp->rbuf_off
        || cur->off - sp->rbuf_off + WK_SPOOL_HDR > sp->rbuf_len)
    {
        return 0;
    }

    at = (size_t) (cur->off - sp->rbuf_off);
    hdr = (const unsigned char *) sp->rbuf + at;
    len = wk_get32(hdr + 4);

    if (wk_get32(hdr) != WK_SPOOL_MAGIC || len > WK_SPOOL_REC_MAX) {
        return -1;
    }

    if (at + WK_SPOOL_HDR + len > sp->rbuf_len) {
        return 0;
    }

    rec->body = sp->rbuf + at + WK_SPOOL_HDR;
    rec->len = len;

    return wk_crc32c(0, rec->body, len) == wk_get32(hdr + 8) ? 1 : -1;
}


/*
 * Records are read ahead in chunks: one pread and no lock for many of
 * them (the appenders hold the same mutex), instead of two preads and a
 * lock each.  Bytes once visible never change, so what rbuf holds stays
 * true.
 */
int
wk_spool_next(wk_spool_t *sp, wk_spool_pos_t *cur, wk_spool_rec_t *rec,
    int wait_ms)
{
    struct timespec   ts;
    uint64_t          end;
    size_t            len;
    int               rc;

    rc = wk_spool_buffered(sp, cur, rec);

    if (rc == 0) {
        pthread_mutex_lock(&sp->mutex);

        end = wk_spool_locate(sp, cur);

        if (end == 0 && wait_ms > 0 && !sp->stopping) {
            wk_spool_deadline(&ts, wait_ms);
            pthread_cond_timedwait(&sp->data, &sp->mutex, &ts);
            end = wk_spool_locate(sp, cur);
        }

        pthread_mutex_unlock(&sp->mutex);

        if (end == 0) {
            return 0;
        }

        /* complete records only are visible: the header is there */
        len = end - cur->off < WK_SPOOL_READAHEAD
              ? (size_t) (end - cur->off) : WK_SPOOL_READAHEAD;

        if (len < WK_SPOOL_HDR
            || wk_spool_pread(sp, cur->seg, cur->off, len) != 0)
        {
            rc = -1;

        } else {
            rc = wk_spool_buffered(sp, cur, rec);

            if (rc == 0) {
                /* a record longer than the read-ahead */
                len = WK_SPOOL_HDR + wk_get32((unsigned char *) sp->rbuf + 4);

                rc = cur->off + len <= end
                     && wk_spool_pread(sp, cur->seg, cur->off, len) == 0
                     ? wk_spool_buffered(sp, cur, rec) : -1;
            }
        }
    }

    if (rc != 1) {
        wk_log(sp->log, WK_LOG_ERROR, WK_SPOOL_LOGGER,
               "damaged record", WK_STR("spool", sp->name),
               WK_INT("segment", cur->seg), WK_INT("offset", cur->off));
        sp->rbuf_len = 0;
        return -1;
    }

    rec->pos = *cur;
    cur->off += WK_SPOOL_HDR + rec->len;
    rec->end = *cur;

    return 1;
}


void
wk_spool_release(wk_spool_t *sp, wk_spool_pos_t pos)
{
    char             path[600];
    wk_spool_seg_t  *active;
    size_t           i, n = 0;

    pthread_mutex_lock(&sp->mutex);

    /* whole segments before pos; never the active (last) one */
    while (n < sp->nsegs - 1 && sp->segs[n].id < pos.seg) {
        n++;
    }

    active = &sp->segs[sp->nsegs - 1];

    /* the active segment fully done: start a fresh one so that its bytes
     * can go too, when it is big or an append waits for space */
    if (n == sp->nsegs - 1 && active->id == pos.seg
        && pos.off == active->size && active->size > 0
        && (sp->blocked || active->size >= sp->segment_bytes / 4))
    {
        if (wk_spool_new_active(sp) == 0) {
            n++;
            active = NULL;
        }
    }

    for (i = 0; i < n; i++) {
        wk_spool_path(sp, sp->segs[i].id, path, sizeof(path));

        if (unlink(path) != 0 && errno != ENOENT) {
            wk_log(sp->log, WK_LOG_ERROR, WK_SPOOL_LOGGER,
                   "cannot delete segment", WK_STR("spool", sp->name),
                   WK_STR("path", path), WK_STR("error", strerror(errno)));
        }

        if (sp->rfd >= 0 && sp->rseg == sp->segs[i].id) {
            close(sp->rfd);
            sp->rfd = -1;
        }

        if (sp->rbuf_seg == sp->segs[i].id) {
            sp->rbuf_len = 0;
        }

        sp->bytes -= sp->segs[i].size;
    }

    if (n > 0) {
        memmove(sp->segs, sp->segs + n, (sp->nsegs - n) * sizeof(*sp->segs));
        sp->nsegs -= n;
        pthread_cond_broadcast(&sp->space);
    }

    wk_spool_checkpoint_write(sp, pos);

    pthread_mutex_unlock(&sp->mutex);
}
