
/*
 * Password hashing in an nginx thread pool (ngx_http_gonsters_password_
 * module): crypt_rn() from libcrypt, bcrypt ($2b$, also $2a$/$2y$ hashes)
 * and yescrypt ($y$).  A cost-12 bcrypt takes ~0.25 s of CPU: it never runs
 * on the event loop.
 *
 * Directives (http):
 *   gonsters_password_thread_pool NAME;      default "default"; a pool other
 *                                            than "default" must be declared
 *                                            with thread_pool (main context),
 *                                            which also sizes it; the default
 *                                            one has 32 threads unless declared
 *   gonsters_password_hash bcrypt|yescrypt [COST];
 *                                            method and cost of new hashes:
 *                                            bcrypt 4..31 (default 12),
 *                                            yescrypt 1..11 (default 5)
 *   gonsters_password_timeout TIME;          default 10s: the deadline of a
 *                                            call, queueing in the pool
 *                                            included; past it the handler
 *                                            gets -1 (verify) or NULL (hash)
 *
 * The request is suspended (its count, and r->main->blocked so that nothing
 * tears it down) until the task has finished or the deadline has passed;
 * then the handler runs on the event loop and its result resumes the
 * request.  The task lives in memory of its own, freed when the thread is
 * done with it.  A client that goes away meanwhile changes nothing of this.
 * A graceful shutdown (QUIT, HUP) waits for the calls in flight.
 */


#ifndef _NGX_HTTP_GONSTERS_PASSWORD_H_INCLUDED_
#define _NGX_HTTP_GONSTERS_PASSWORD_H_INCLUDED_


#include "ngx_http_gonsters_module.h"


/* passwords longer than this are refused (match 0, no hash) */
#define NGX_HTTP_GONSTERS_PASSWORD_MAX  4096


/* match: 1 the password matches, 0 it does not (or the hash is malformed,
 * or the password holds a NUL byte or is too long), -1 the check could not
 * run in time (gonsters_password_timeout) */
typedef ngx_int_t (*ngx_http_gonsters_password_verify_pt)(
    ngx_http_request_t *r, ngx_int_t match, void *data);

/* hash: the new hash in r->pool, NULL on failure */
typedef ngx_int_t (*ngx_http_gonsters_password_hash_pt)(
    ngx_http_request_t *r, ngx_str_t *hash, void *data);


/* Both suspend r; NGX_DONE when started, NGX_ERROR when nothing was started
 * (e.g. the thread pool's queue is full; logged).  The password and hash
 * are copied: the caller may clear its buffers at once; the copies are
 * wiped (explicit_bzero) when the task is done.  The comparison with the
 * stored hash takes constant time. */
ngx_int_t ngx_http_gonsters_password_verify(ngx_http_request_t *r,
    ngx_str_t *password, ngx_str_t *hash,
    ngx_http_gonsters_password_verify_pt handler, void *data);

ngx_int_t ngx_http_gonsters_password_hash(ngx_http_request_t *r,
    ngx_str_t *password, ngx_http_gonsters_password_hash_pt handler,
    void *data);


extern ngx_module_t  ngx_http_gonsters_password_module;


#endif /* _NGX_HTTP_GONSTERS_PASSWORD_H_INCLUDED_ */
