/*
 * In-memory cache of the machine registry (machine_metadata): what the
 * writer needs to accept a reading and tag its point.  Filled and kept
 * fresh by the PostgreSQL thread (full load on connect and every
 * registry_ttl seconds, single machines on NOTIFY gonsters_machines);
 * read by the writer thread under a read lock.
 *
 * It also collects last_seen: the writer records the newest receive time
 * per machine, the PostgreSQL thread writes them in one batched UPDATE.
 */

#ifndef WK_REGISTRY_H
#define WK_REGISTRY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gn_uuid.h"

typedef struct {
    char              id[GN_UUID_LEN + 1];      /* lower case */
    char             *factory_id;
    char             *location;
    size_t            location_len;
    char             *sensor_type;
    size_t            sensor_type_len;
    int               taggable;     /* location, sensor_type are tag values */
    atomic_llong      seen_ns;      /* newest receive time, writer */
    int64_t           flushed_ns;   /* last written to PostgreSQL */
} wk_machine_t;

typedef struct {
    pthread_rwlock_t  lock;
    wk_machine_t    **items;        /* sorted by id */
    size_t            n;
    size_t            cap;
    atomic_int        loaded;       /* a full load has happened */
} wk_registry_t;

int  wk_registry_init(wk_registry_t *r);
void wk_registry_destroy(wk_registry_t *r);

/* a new machine record (not yet in the registry) */
wk_machine_t *wk_machine_new(const char *id, const char *factory_id,
    const char *location, const char *sensor_type);
void wk_machine_free(wk_machine_t *m);

/* PostgreSQL thread: replace everything (keeps pending last_seen) */
void wk_registry_replace(wk_registry_t *r, wk_machine_t **items, size_t n);

/* PostgreSQL thread: insert or update one machine (takes m) */
int wk_registry_upsert(wk_registry_t *r, wk_machine_t *m);
void wk_registry_remove(wk_registry_t *r, const char *id);

/* under the caller's read lock: the machine or NULL; id lower case */
const wk_machine_t *wk_registry_find(wk_registry_t *r, const char *id);

#define wk_registry_rdlock(r)  pthread_rwlock_rdlock(&(r)->lock)
#define wk_registry_unlock(r)  pthread_rwlock_unlock(&(r)->lock)

size_t wk_registry_count(wk_registry_t *r);

/*
 * PostgreSQL thread: the machines whose last_seen moved since the last
 * call; fills ids[] (GN_UUID_LEN + 1 each) and ns[], at most max.  The
 * caller calls wk_registry_seen_done() once they are written.
 */
size_t wk_registry_seen(wk_registry_t *r, char (*ids)[GN_UUID_LEN + 1],
    int64_t *ns, size_t max);
void wk_registry_seen_done(wk_registry_t *r, char (*ids)[GN_UUID_LEN + 1],
    const int64_t *ns, size_t n);

#endif /* WK_REGISTRY_H */
