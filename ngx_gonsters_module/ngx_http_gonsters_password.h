
/*
 * Password hashing in an nginx thread pool (ngx_http_gonsters_password_
 * module): crypt_rn() from libcrypt, bcrypt ($2b$) and yescrypt ($y$).  A
 * cost-12 bcrypt takes ~0.25 s of CPU: it never runs on the event loop.
 *
 * Directives (http):
 *   gonsters_password_thread_pool NAME;      default "default" (declare it
 *                                            with thread_pool to size it)
 *   gonsters_password_hash bcrypt|yescrypt [COST];
 *                                            method and cost of new hashes
 *                                            (default bcrypt 12)
 */


#ifndef _NGX_HTTP_GONSTERS_PASSWORD_H_INCLUDED_
#define _NGX_HTTP_GONSTERS_PASSWORD_H_INCLUDED_


#include "ngx_http_gonsters_module.h"


/* match: 1 the password matches, 0 it does not (or the hash is malformed),
 * -1 the check could not run */
typedef ngx_int_t (*ngx_http_gonsters_password_verify_pt)(
    ngx_http_request_t *r, ngx_int_t match, void *data);

/* hash: the new hash in r->pool, NULL on failure */
typedef ngx_int_t (*ngx_http_gonsters_password_hash_pt)(
    ngx_http_request_t *r, ngx_str_t *hash, void *data);


/* Both suspend r; NGX_DONE when started.  The password is copied: the
 * caller may clear its buffer at once. */
ngx_int_t ngx_http_gonsters_password_verify(ngx_http_request_t *r,
    ngx_str_t *password, ngx_str_t *hash,
    ngx_http_gonsters_password_verify_pt handler, void *data);

ngx_int_t ngx_http_gonsters_password_hash(ngx_http_request_t *r,
    ngx_str_t *password, ngx_http_gonsters_password_hash_pt handler,
    void *data);


extern ngx_module_t  ngx_http_gonsters_password_module;


#endif /* _NGX_HTTP_GONSTERS_PASSWORD_H_INCLUDED_ */
