/*
 * A per-worker cache of verified tokens, so that the hot path of a
 * protected location costs a hash and a memcmp instead of a signature
 * check.  4-way set associative, least recently used within a set; an
 * entry holds the whole token (compared byte for byte, not only its hash)
 * and its claims in one allocation, and expires at the token's exp (plus
 * leeway).  Only tokens that passed every check are stored; revocation is
 * checked on every request, hit or miss, by the access handler.
 */


#include "ngx_http_gonsters_auth.h"


#define NGX_HTTP_GONSTERS_AUTH_CACHE_WAYS  4


typedef struct {
    u_char                           *blob;     /* NULL: free slot */
    uint32_t                          hash;
    time_t                            expires;
    ngx_uint_t                        used;
    ngx_str_t                         token;
    ngx_http_gonsters_auth_claims_t   claims;
} ngx_http_gonsters_auth_cache_entry_t;


static ngx_http_gonsters_auth_cache_entry_t  *ngx_http_gonsters_auth_cache;
static ngx_uint_t                             ngx_http_gonsters_auth_nsets;
static ngx_uint_t                             ngx_http_gonsters_auth_tick;


ngx_int_t
ngx_http_gonsters_auth_cache_init(ngx_uint_t size)
{
    ngx_uint_t  n;

    if (size == 0) {
        return NGX_OK;
    }

    n = ngx_align(size, NGX_HTTP_GONSTERS_AUTH_CACHE_WAYS);
    ngx_http_gonsters_auth_nsets = n / NGX_HTTP_GONSTERS_AUTH_CACHE_WAYS;

    ngx_http_gonsters_auth_cache = ngx_calloc(
        n * sizeof(ngx_http_gonsters_auth_cache_entry_t), ngx_cycle->log);

    if (ngx_http_gonsters_auth_cache == NULL) {
        ngx_http_gonsters_auth_nsets = 0;
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_http_gonsters_auth_cache_done(void)
{
    ngx_uint_t  i, n;

    if (ngx_http_gonsters_auth_cache == NULL) {
        return;
    }

    n = ngx_http_gonsters_auth_nsets * NGX_HTTP_GONSTERS_AUTH_CACHE_WAYS;

    for (i = 0; i < n; i++) {
        ngx_free(ngx_http_gonsters_auth_cache[i].blob);
    }

    ngx_free(ngx_http_gonsters_auth_cache);
    ngx_http_gonsters_auth_cache = NULL;
    ngx_http_gonsters_auth_nsets = 0;
}


static ngx_http_gonsters_auth_cache_entry_t *
ngx_http_gonsters_auth_cache_set(uint32_t hash)
{
    return ngx_http_gonsters_auth_cache
           + (hash % ngx_http_gonsters_auth_nsets)
             * NGX_HTTP_GONSTERS_AUTH_CACHE_WAYS;
}


static void
ngx_http_gonsters_auth_cache_free(ngx_http_gonsters_auth_cache_entry_t *e)
{
    ngx_free(e->blob);
    ngx_memzero(e, sizeof(ngx_http_gonsters_auth_cache_entry_t));
}


ngx_http_gonsters_auth_claims_t *
ngx_http_gonsters_auth_cache_get(ngx_str_t *token, time_t now)
{
    uint32_t                               hash;
    ngx_uint_t                             i;
    ngx_http_gonsters_auth_cache_entry_t  *e;

    if (ngx_http_gonsters_auth_nsets == 0) {
        return NULL;
    }

    hash = ngx_murmur_hash2(token->data, token->len);
    e = ngx_http_gonsters_auth_cache_set(hash);

    for (i = 0; i < NGX_HTTP_GONSTERS_AUTH_CACHE_WAYS; i++, e++) {

        if (e->blob == NULL || e->hash != hash || e->token.len != token->len
            || ngx_memcmp(e->token.data, token->data, token->len) != 0)
        {
            continue;
        }

        if (now >= e->expires) {
            ngx_http_gonsters_auth_cache_free(e);
            return NULL;
        }

        e->used = ++ngx_http_gonsters_auth_tick;

        return &e->claims;
    }

    return NULL;
}


/* a free slot, else an expired one, else the least recently used */

static ngx_http_gonsters_auth_cache_entry_t *
ngx_http_gonsters_auth_cache_victim(uint32_t hash, time_t now)
{
    ngx_uint_t                             i;
    ngx_http_gonsters_auth_cache_entry_t  *e, *victim;

    e = ngx_http_gonsters_auth_cache_set(hash);
    victim = e;

    for (i = 0; i < NGX_HTTP_GONSTERS_AUTH_CACHE_WAYS; i++, e++) {

        if (e->blob == NULL || now >= e->expires) {
            return e;
        }

        if (e->used < victim->used) {
            victim = e;
        }
    }

    return victim;
}


void
ngx_http_gonsters_auth_cache_put(ngx_str_t *token,
    ngx_http_gonsters_auth_claims_t *claims, time_t expires)
{
    u_char                                *blob, *p;
    uint32_t                               hash;
    ngx_http_gonsters_auth_cache_entry_t  *e;

    if (ngx_http_gonsters_auth_nsets == 0) {
        return;
    }

    /* the whole entry in one allocation: token, then the claims' strings */

    blob = ngx_alloc(token->len + ngx_http_gonsters_auth_claims_size(claims),
                     ngx_cycle->log);
    if (blob == NULL) {
        return;
    }

    hash = ngx_murmur_hash2(token->data, token->len);

    e = ngx_http_gonsters_auth_cache_victim(hash, ngx_time());
    ngx_free(e->blob);

    e->blob = blob;
    e->hash = hash;
    e->expires = expires;
    e->used = ++ngx_http_gonsters_auth_tick;

    e->token.data = blob;
    e->token.len = token->len;
    p = ngx_cpymem(blob, token->data, token->len);

    (void) ngx_http_gonsters_auth_claims_copy(&e->claims, claims, p);
}


/* the claims' strings, copied one after the other at p */

size_t
ngx_http_gonsters_auth_claims_size(ngx_http_gonsters_auth_claims_t *c)
{
    return c->sub.len + c->username.len + c->email.len + c->role.len
           + c->factory_id.len + c->department.len + c->jti.len
           + c->fam.len + c->permissions.len;
}


static u_char *
ngx_http_gonsters_auth_copy_str(ngx_str_t *dst, ngx_str_t *src, u_char *p)
{
    dst->data = p;
    dst->len = src->len;

    return src->len ? ngx_cpymem(p, src->data, src->len) : p;
}


u_char *
ngx_http_gonsters_auth_claims_copy(ngx_http_gonsters_auth_claims_t *dst,
    ngx_http_gonsters_auth_claims_t *src, u_char *p)
{
    *dst = *src;

    p = ngx_http_gonsters_auth_copy_str(&dst->sub, &src->sub, p);
    p = ngx_http_gonsters_auth_copy_str(&dst->username, &src->username, p);
    p = ngx_http_gonsters_auth_copy_str(&dst->email, &src->email, p);
    p = ngx_http_gonsters_auth_copy_str(&dst->role, &src->role, p);
    p = ngx_http_gonsters_auth_copy_str(&dst->factory_id, &src->factory_id, p);
    p = ngx_http_gonsters_auth_copy_str(&dst->department, &src->department, p);
    p = ngx_http_gonsters_auth_copy_str(&dst->jti, &src->jti, p);
    p = ngx_http_gonsters_auth_copy_str(&dst->fam, &src->fam, p);
    p = ngx_http_gonsters_auth_copy_str(&dst->permissions, &src->permissions,
                                        p);

    return p;
}
