/*
 * cJSON trees in nginx pools.  Trees of thousands of small nodes (cached
 * machines of a batch) cost a malloc and a free per node; instead, between
 * ngx_http_gonsters_json_pool(pool) and
 * ngx_http_gonsters_json_pool(NULL), cJSON allocates from pool and its
 * frees are no-ops: the pool frees the tree at once.  Outside that window
 * cJSON uses malloc and free.  cJSON's hooks are process-wide: the window
 * must open and close within one call on the event loop (nginx threads of
 * the password pool never touch cJSON).
 */


#include "ngx_http_gonsters_module.h"

#include <cjson/cJSON.h>


static void *ngx_http_gonsters_json_malloc(size_t size);
static void ngx_http_gonsters_json_free(void *p);


static ngx_pool_t  *ngx_http_gonsters_json_window;


void
ngx_http_gonsters_json_hooks(void)
{
    cJSON_Hooks  hooks;

    hooks.malloc_fn = ngx_http_gonsters_json_malloc;
    hooks.free_fn = ngx_http_gonsters_json_free;

    cJSON_InitHooks(&hooks);
}


void
ngx_http_gonsters_json_pool(ngx_pool_t *pool)
{
    ngx_http_gonsters_json_window = pool;
}


static void *
ngx_http_gonsters_json_malloc(size_t size)
{
    if (ngx_http_gonsters_json_window) {
        return ngx_palloc(ngx_http_gonsters_json_window, size);
    }

    return malloc(size);
}


static void
ngx_http_gonsters_json_free(void *p)
{
    if (ngx_http_gonsters_json_window == NULL) {
        free(p);
    }
}
