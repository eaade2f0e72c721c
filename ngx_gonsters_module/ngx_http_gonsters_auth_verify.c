/*
 * Verification of one token.  The order matters:
 *
 *   1. common/gn_jwt splits the token and reads its header: three
 *      base64url segments, a JSON header with a string alg;
 *   2. the header's alg must be exactly the configured one (libjwt takes
 *      the algorithm from the token: an HS256 token "signed" with the bytes
 *      of our RSA public key, or alg=none, must never reach it);
 *   3. the kid selects the key (never NULL: libjwt accepts alg=none when
 *      no key is given);
 *   4. the claims are parsed (types only, values are not trusted yet);
 *   5. libjwt verifies the signature; jwt_get_alg() must again be the
 *      configured algorithm; the jwt_t is freed right there;
 *   6. the claim values: exp, nbf, iat with leeway, iss, aud, type, sub.
 *
 * Error strings become the RFC 6750 error_description: static, short,
 * without quotes or backslashes.
 */


#include <errno.h>
#include <jwt.h>

#include "ngx_http_gonsters_auth.h"


static ngx_int_t ngx_http_gonsters_auth_decode(ngx_http_request_t *r,
    gn_jwt_str_t *segment, char **json, size_t *len);
static ngx_int_t ngx_http_gonsters_auth_signature(ngx_http_request_t *r,
    ngx_http_gonsters_auth_main_conf_t *amcf, ngx_str_t *token,
    ngx_http_gonsters_auth_key_t *key);
static const char *ngx_http_gonsters_auth_check_claims(
    ngx_http_gonsters_auth_main_conf_t *amcf, gn_jwt_claims_t *c, time_t now);
static void ngx_http_gonsters_auth_set_claims(
    ngx_http_gonsters_auth_claims_t *claims, gn_jwt_claims_t *c);


static const jwt_alg_t  ngx_http_gonsters_auth_jwt_algs[] = {
    JWT_ALG_HS256, JWT_ALG_RS256, JWT_ALG_ES256
};


ngx_int_t
ngx_http_gonsters_auth_verify(ngx_http_request_t *r,
    ngx_http_gonsters_auth_main_conf_t *amcf, ngx_str_t *token,
    ngx_http_gonsters_auth_claims_t *claims, const char **error)
{
    char                          *json;
    size_t                         len;
    ngx_int_t                      rc;
    const char                    *alg;
    gn_jwt_parts_t                 parts;
    gn_jwt_header_t                h;
    gn_jwt_claims_t                c;
    ngx_http_gonsters_auth_key_t  *key;

    if (gn_jwt_split((char *) token->data, token->len, &parts) != GN_JWT_OK) {
        *error = "malformed token";
        return NGX_DECLINED;
    }

    rc = ngx_http_gonsters_auth_decode(r, &parts.header, &json, &len);
    if (rc != NGX_OK || gn_jwt_parse_header(json, len, &h) != GN_JWT_OK) {
        *error = "malformed token header";
        return rc == NGX_ERROR ? NGX_ERROR : NGX_DECLINED;
    }

    alg = ngx_http_gonsters_auth_alg_name(amcf->algorithm);

    if (h.alg.len != ngx_strlen(alg)
        || ngx_memcmp(h.alg.data, alg, h.alg.len) != 0)
    {
        *error = "algorithm not allowed";
        return NGX_DECLINED;
    }

    key = ngx_http_gonsters_auth_find_key(amcf, &h.kid);
    if (key == NULL) {
        *error = h.kid.data ? "unknown key id" : "token has no key id";
        return NGX_DECLINED;
    }

    rc = ngx_http_gonsters_auth_decode(r, &parts.payload, &json, &len);
    if (rc != NGX_OK || gn_jwt_parse_claims(json, len, &c) != GN_JWT_OK) {
        *error = "malformed token claims";
        return rc == NGX_ERROR ? NGX_ERROR : NGX_DECLINED;
    }

    rc = ngx_http_gonsters_auth_signature(r, amcf, token, key);
    if (rc != NGX_OK) {
        *error = "invalid signature";
        return rc;
    }

    *error = ngx_http_gonsters_auth_check_claims(amcf, &c, ngx_time());
    if (*error != NULL) {
        return NGX_DECLINED;
    }

    ngx_http_gonsters_auth_set_claims(claims, &c);

    return NGX_OK;
}


/* a base64url segment into a buffer of the request pool */

static ngx_int_t
ngx_http_gonsters_auth_decode(ngx_http_request_t *r, gn_jwt_str_t *segment,
    char **json, size_t *len)
{
    *len = gn_jwt_b64url_decoded_len(segment->len);

    *json = ngx_pnalloc(r->pool, *len + 1);
    if (*json == NULL) {
        return NGX_ERROR;
    }

    if (gn_jwt_b64url_decode(segment->data, segment->len,
                             (unsigned char *) *json)
        != GN_JWT_OK)
    {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/*
 * libjwt checks the signature.  It needs a NUL-terminated token; the jwt_t
 * it returns is freed before anything else happens.
 */

static ngx_int_t
ngx_http_gonsters_auth_signature(ngx_http_request_t *r,
    ngx_http_gonsters_auth_main_conf_t *amcf, ngx_str_t *token,
    ngx_http_gonsters_auth_key_t *key)
{
    int         rc;
    jwt_t      *jwt;
    u_char     *s;
    jwt_alg_t   alg;

    if (key->key.len == 0) {
        return NGX_DECLINED;
    }

    s = ngx_pnalloc(r->pool, token->len + 1);
    if (s == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(s, token->data, token->len);
    s[token->len] = '\0';

    jwt = NULL;

    rc = jwt_decode(&jwt, (const char *) s, key->key.data, (int) key->key.len);

    if (rc != 0) {
        /* libjwt has freed what it allocated; jwt is NULL */
        return rc == ENOMEM ? NGX_ERROR : NGX_DECLINED;
    }

    alg = jwt_get_alg(jwt);
    jwt_free(jwt);

    if (alg != ngx_http_gonsters_auth_jwt_algs[amcf->algorithm]) {
        return NGX_DECLINED;
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_gonsters_auth_str_eq(gn_jwt_str_t *s, ngx_str_t *want)
{
    return s->data != NULL && s->len == want->len
           && ngx_memcmp(s->data, want->data, s->len) == 0;
}


static const char *
ngx_http_gonsters_auth_check_claims(ngx_http_gonsters_auth_main_conf_t *amcf,
    gn_jwt_claims_t *c, time_t now)
{
    static ngx_str_t  access = ngx_string("access");

    if (!c->has_exp) {
        return "token has no exp";
    }

    if (now >= c->exp + amcf->leeway) {
        return "token expired";
    }

    if (c->has_nbf && c->nbf > now + amcf->leeway) {
        return "token not yet valid";
    }

    if (c->has_iat && c->iat > now + amcf->leeway) {
        return "token issued in the future";
    }

    if (!ngx_http_gonsters_auth_str_eq(&c->iss, &amcf->issuer)) {
        return "wrong issuer";
    }

    if (!c->has_aud
        || !gn_jwt_list_contains(&c->aud, (char *) amcf->audience.data,
                                 amcf->audience.len))
    {
        return "wrong audience";
    }

    if (!ngx_http_gonsters_auth_str_eq(&c->type, &access)) {
        return "not an access token";
    }

    if (c->sub.data == NULL || c->sub.len == 0) {
        return "token has no sub";
    }

    return NULL;
}


#define ngx_http_gonsters_auth_set_str(dst, src)                             \
    (dst).data = (u_char *) (src).data;                                       \
    (dst).len = (src).data ? (src).len : 0

static void
ngx_http_gonsters_auth_set_claims(ngx_http_gonsters_auth_claims_t *claims,
    gn_jwt_claims_t *c)
{
    ngx_memzero(claims, sizeof(ngx_http_gonsters_auth_claims_t));

    ngx_http_gonsters_auth_set_str(claims->sub, c->sub);
    ngx_http_gonsters_auth_set_str(claims->username, c->username);
    ngx_http_gonsters_auth_set_str(claims->email, c->email);
    ngx_http_gonsters_auth_set_str(claims->role, c->role);
    ngx_http_gonsters_auth_set_str(claims->factory_id, c->factory_id);
    ngx_http_gonsters_auth_set_str(claims->department, c->department);
    ngx_http_gonsters_auth_set_str(claims->jti, c->jti);
    ngx_http_gonsters_auth_set_str(claims->fam, c->fam);

    if (c->permissions_state == GN_JWT_PRESENT) {
        claims->permissions.data = (u_char *) c->permissions.data;
        claims->permissions.len = c->permissions.len;
        claims->npermissions = c->permissions.count;
        claims->permissions_valid = 1;
    }

    claims->exp = (time_t) c->exp;
    claims->iat = c->has_iat ? (time_t) c->iat : 0;
}
