/*
 * Machine registry cache, see registry.h.  A sorted array of pointers:
 * lookups are a binary search, changes (rare: NOTIFY, reloads) memmove.
 */

#include <stdlib.h>
#include <string.h>

#include "gn_lineproto.h"

#include "registry.h"


int
wk_registry_init(wk_registry_t *r)
{
    memset(r, 0, sizeof(*r));
    atomic_init(&r->loaded, 0);

    return pthread_rwlock_init(&r->lock, NULL) == 0 ? 0 : -1;
}


void
wk_registry_destroy(wk_registry_t *r)
{
    size_t  i;

    for (i = 0; i < r->n; i++) {
        wk_machine_free(r->items[i]);
    }

    free(r->items);
    r->items = NULL;
    r->n = 0;
    pthread_rwlock_destroy(&r->lock);
}


wk_machine_t *
wk_machine_new(const char *id, const char *factory_id, const char *location,
    const char *sensor_type)
{
    wk_machine_t  *m;

    if (strlen(id) != GN_UUID_LEN || !gn_uuid_is_valid(id, GN_UUID_LEN)) {
        return NULL;
    }

    m = calloc(1, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }

    gn_uuid_lower(m->id, id);
    m->factory_id = strdup(factory_id);
    m->location = strdup(location);
    m->sensor_type = strdup(sensor_type);

    if (m->factory_id == NULL || m->location == NULL
        || m->sensor_type == NULL)
    {
        wk_machine_free(m);
        return NULL;
    }

    m->location_len = strlen(location);
    m->sensor_type_len = strlen(sensor_type);
    m->taggable = gn_lp_check_tag(m->location, m->location_len) == GN_LP_OK
                  && gn_lp_check_tag(m->sensor_type, m->sensor_type_len)
                     == GN_LP_OK;
    atomic_init(&m->seen_ns, 0);

    return m;
}


void
wk_machine_free(wk_machine_t *m)
{
    if (m == NULL) {
        return;
    }

    free(m->factory_id);
    free(m->location);
    free(m->sensor_type);
    free(m);
}


/* index of id, or where it would go (*found = 0) */
static size_t
wk_registry_search(const wk_registry_t *r, const char *id, int *found)
{
    size_t  lo = 0, hi = r->n, mid;
    int     c;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = strcmp(r->items[mid]->id, id);

        if (c == 0) {
            *found = 1;
            return mid;
        }

        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }

    *found = 0;

    return lo;
}


static int
wk_machine_cmp(const void *a, const void *b)
{
    const wk_machine_t  *x = *(wk_machine_t *const *) a;
    const wk_machine_t  *y = *(wk_machine_t *const *) b;

    return strcmp(x->id, y->id);
}


void
wk_registry_replace(wk_registry_t *r, wk_machine_t **items, size_t n)
{
    wk_machine_t  **old;
    size_t          i, oldn, k;
    int             found;

    qsort(items, n, sizeof(*items), wk_machine_cmp);

    pthread_rwlock_wrlock(&r->lock);

    old = r->items;
    oldn = r->n;

    /* the pending last_seen survives a reload */
    for (i = 0; i < oldn; i++) {
        r->items = items;
        r->n = n;
        k = wk_registry_search(r, old[i]->id, &found);
        if (found) {
            atomic_store(&items[k]->seen_ns, atomic_load(&old[i]->seen_ns));
            items[k]->flushed_ns = old[i]->flushed_ns;
        }
    }

    r->items = items;
    r->n = n;
    r->cap = n;
    atomic_store(&r->loaded, 1);

    pthread_rwlock_unlock(&r->lock);

    for (i = 0; i < oldn; i++) {
        wk_machine_free(old[i]);
    }

    free(old);
}


int
wk_registry_upsert(wk_registry_t *r, wk_machine_t *m)
{
    wk_machine_t  **n, *old = NULL;
    size_t          i;
    int             found;

    pthread_rwlock_wrlock(&r->lock);

    i = wk_registry_search(r, m->id, &found);

    if (found) {
        old = r->items[i];
        atomic_store(&m->seen_ns, atomic_load(&old->seen_ns));
        m->flushed_ns = old->flushed_ns;
        r->items[i] = m;

    } else {
        if (r->n == r->cap) {
            n = realloc(r->items, (r->cap ? r->cap * 2 : 64) * sizeof(*n));
            if (n == NULL) {
                pthread_rwlock_unlock(&r->lock);
                wk_machine_free(m);
                return -1;
            }
            r->items = n;
            r->cap = r->cap ? r->cap * 2 : 64;
        }

        memmove(r->items + i + 1, r->items + i,
                (r->n - i) * sizeof(*r->items));
        r->items[i] = m;
        r->n++;
    }

    pthread_rwlock_unlock(&r->lock);

    wk_machine_free(old);

    return 0;
}


void
wk_registry_remove(wk_registry_t *r, const char *id)
{
    wk_machine_t  *old = NULL;
    size_t         i;
    int            found;

    pthread_rwlock_wrlock(&r->lock);

    i = wk_registry_search(r, id, &found);

    if (found) {
        old = r->items[i];
        memmove(r->items + i, r->items + i + 1,
                (r->n - i - 1) * sizeof(*r->items));
        r->n--;
    }

    pthread_rwlock_unlock(&r->lock);

    wk_machine_free(old);
}


const wk_machine_t *
wk_registry_find(wk_registry_t *r, const char *id)
{
    size_t  i;
    int     found;

    i = wk_registry_search(r, id, &found);

    return found ? r->items[i] : NULL;
}


size_t
wk_registry_count(wk_registry_t *r)
{
    size_t  n;

    pthread_rwlock_rdlock(&r->lock);
    n = r->n;
    pthread_rwlock_unlock(&r->lock);

    return n;
}


size_t
wk_registry_seen(wk_registry_t *r, char (*ids)[GN_UUID_LEN + 1],
    int64_t *ns, size_t max)
{
    size_t   i, k = 0;
    int64_t  seen;

    pthread_rwlock_rdlock(&r->lock);

    for (i = 0; i < r->n && k < max; i++) {
        seen = atomic_load(&r->items[i]->seen_ns);

        if (seen > r->items[i]->flushed_ns) {
            memcpy(ids[k], r->items[i]->id, GN_UUID_LEN + 1);
            ns[k] = seen;
            k++;
        }
    }

    pthread_rwlock_unlock(&r->lock);

    return k;
}


void
wk_registry_seen_done(wk_registry_t *r, char (*ids)[GN_UUID_LEN + 1],
    const int64_t *ns, size_t n)
{
    size_t  i, k;
    int     found;

    /* flushed_ns is only touched by this (the PostgreSQL) thread, and
     * replace/upsert run on it too: a read lock suffices */
    pthread_rwlock_rdlock(&r->lock);

    for (i = 0; i < n; i++) {
        k = wk_registry_search(r, ids[i], &found);
        if (found && r->items[k]->flushed_ns < ns[i]) {
            r->items[k]->flushed_ns = ns[i];
        }
    }

    pthread_rwlock_unlock(&r->lock);
}
