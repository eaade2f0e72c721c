/*
 * Token revocation (ngx_http_gonsters_revoke_module): the set of revoked
 * token ids (jti) of this node in shared memory, so that the access phase
 * checks it without a network round trip.
 *
 * PostgreSQL (table token_revocations, sql/006_token_revocations.sql) is
 * the source of truth; Redis pub/sub only spreads a revocation to the other
 * nodes faster (ARCHITECTURE rule 4):
 *
 *   - at start, one worker of the node loads every unexpired revocation;
 *     until that load has completed the set is "not ready" and the access
 *     check fails closed (503 with Retry-After): a restarted node never lets
 *     a revoked token in.  The zone survives a reload (HUP) with the same
 *     size, and stays ready;
 *   - every gonsters_revocation_sync one worker of the node reads the rows
 *     revoked since the newest revoked_at it has seen (minus a margin of 60
 *     seconds for transactions that committed late), which heals any missed
 *     Redis message, and prunes expired entries;
 *   - every worker subscribes to the Redis channel and adds what it hears;
 *   - ngx_http_gonsters_revoke() writes the row first (no promise without
 *     it), then adds the jti to this node's set and publishes it.
 *
 * When the zone is full even after pruning, the node becomes "not ready"
 * (503, logged at crit) and reloads everything at its next sync: it fails
 * closed rather than forget a revocation.
 *
 * Directives (http):
 *   gonsters_revocation_zone SIZE;      enables revocation; e.g. 10m (about
 *                                       40000 entries per megabyte with
 *                                       36-byte jtis); needs gonsters_postgres
 *   gonsters_revocation_sync TIME;      default 5s
 *   gonsters_revocation_channel NAME;   default "gonsters:revocations";
 *                                       messages are "JTI EXPIRES" (unix
 *                                       seconds); used when gonsters_redis
 *                                       is configured
 *
 * With a zone configured, a token without a jti is refused: the tokens this
 * service issues always carry one, and a token that cannot be revoked must
 * not be accepted where revocation is promised.
 */


#ifndef _NGX_HTTP_GONSTERS_REVOKE_H_INCLUDED_
#define _NGX_HTTP_GONSTERS_REVOKE_H_INCLUDED_


#include "ngx_http_gonsters_module.h"
#include "gn_revocation.h"


/* a jti longer than this, or with bytes outside 0x21..0x7e, is refused by
 * ngx_http_gonsters_revoke() and in Redis messages */
#define NGX_HTTP_GONSTERS_REVOKE_JTI_MAX  GN_JTI_MAX


/* status: OK when the revocation is stored in PostgreSQL (then it is in
 * this node's set too, and published); anything else: nothing is
 * promised.  Returns what a content handler would return. */
typedef ngx_int_t (*ngx_http_gonsters_revoke_handler_pt)(
    ngx_http_request_t *r, ngx_http_gonsters_backend_status_e status,
    void *data);


typedef struct {
    ngx_uint_t                    configured;
    ngx_uint_t                    ready;
    ngx_uint_t                    count;      /* entries in the zone */
    ngx_uint_t                    pruned;     /* expired entries removed */
    ngx_uint_t                    syncs;      /* completed loads and syncs */
    ngx_uint_t                    failures;   /* failed loads and syncs */
    ngx_uint_t                    overflows;  /* zone full */
    int64_t                       watermark;  /* newest revoked_at, usec */
} ngx_http_gonsters_revoke_state_t;


/*
 * Revoke a token until expires (its exp claim): INSERT ... ON CONFLICT DO
 * NOTHING, then this node's set, then PUBLISH (a Redis failure is logged
 * at warn: the other nodes catch up at their next sync).  Suspends r like
 * ngx_http_gonsters_pg_query(): NGX_DONE when started (the handler's
 * return value goes to ngx_http_gonsters_resume()), NGX_ERROR when not
 * (bad jti, no PostgreSQL configured, no memory).
 */
ngx_int_t ngx_http_gonsters_revoke(ngx_http_request_t *r, ngx_str_t *jti,
    time_t expires, ngx_http_gonsters_revoke_handler_pt handler, void *data);

/*
 * A whole session: the entry "fam:<fam>" revokes every access token whose
 * "fam" claim is fam (the tokens issued from one login and its refreshes).
 * Revoke it until now + the access token lifetime: no token of the family
 * outlives that.  key is set in r->pool; NGX_ERROR for a bad fam.
 */
#define NGX_HTTP_GONSTERS_REVOKE_FAMILY  "fam:"

ngx_int_t ngx_http_gonsters_revoke_family_key(ngx_http_request_t *r,
    ngx_str_t *fam, ngx_str_t *key);

/*
 * The access check of a token by its jti and its family (fam may be
 * empty): NGX_OK (not revoked, or revocation not configured), NGX_DECLINED
 * (revoked, or no jti while revocation is configured), NGX_AGAIN (the set
 * of this node is not ready: answer 503).  Only lookups in shared memory.
 */
ngx_int_t ngx_http_gonsters_revoke_check(ngx_http_request_t *r,
    ngx_str_t *jti, ngx_str_t *fam);

/* the 503 (with Retry-After) for NGX_AGAIN, from the access phase:
 * sends the answer and returns NGX_DONE (or an error code) */
ngx_int_t ngx_http_gonsters_revoke_unavailable(ngx_http_request_t *r);

void ngx_http_gonsters_revoke_get_state(ngx_http_request_t *r,
    ngx_http_gonsters_revoke_state_t *st);

/* 1 when gonsters_revocation_zone is configured: for checks at
 * configuration time (a postconfiguration handler) */
ngx_uint_t ngx_http_gonsters_revoke_enabled(ngx_conf_t *cf);


extern ngx_module_t  ngx_http_gonsters_revoke_module;


#endif /* _NGX_HTTP_GONSTERS_REVOKE_H_INCLUDED_ */
