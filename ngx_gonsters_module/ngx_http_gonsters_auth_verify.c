/*
 * Verification of one token.  The order matters:
 *
 *   1. common/gn_jwt splits the token and reads its header: three
 *      base64url segments, a JSON header with a string alg;
 *   2. the header's alg must be exactly the configured one, before any
 *      crypto: the algorithm is never taken from the token (an HS256 token
 *      "signed" with the bytes of our RSA public key, or alg=none, never
 *      reaches a signature check);
 *   3. the kid selects the key;
 *   4. the claims are parsed (types only, values are not trusted yet);
 *   5. the signature, for the configured algorithm only
 *      (ngx_http_gonsters_auth_verify_signature(), which refresh tokens use
 *      too): HS256 compares the HMAC in constant time, RS256 and ES256
 *      verify with the EVP_PKEY parsed at configuration time;
 *   6. the claim values: exp, nbf, iat with leeway, iss, aud, type, sub.
 *
 * Error strings become the RFC 6750 error_description: static, short,
 * without quotes or backslashes.
 */


#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ngx_http_gonsters_auth.h"


static ngx_int_t ngx_http_gonsters_auth_decode(ngx_http_request_t *r,
    gn_jwt_str_t *segment, char **json, size_t *len);
static ngx_int_t ngx_http_gonsters_auth_pkey_verify(EVP_PKEY *pkey,
    ngx_uint_t alg, u_char *in, size_t len, u_char *sig, size_t siglen);
static const char *ngx_http_gonsters_auth_check_claims(
    ngx_http_gonsters_auth_main_conf_t *amcf, gn_jwt_claims_t *c, time_t now);
static void ngx_http_gonsters_auth_set_claims(
    ngx_http_gonsters_auth_claims_t *claims, gn_jwt_claims_t *c);


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

    rc = ngx_http_gonsters_auth_verify_signature(r, amcf, key, &parts);
    if (rc != NGX_OK) {
        *error = "invalid signature";
        return rc == NGX_ERROR ? NGX_ERROR : NGX_DECLINED;
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
 * The signature of a split token, checked with the key its kid selected for
 * the configured algorithm (the callers have pinned the header's alg to it
 * already): HS256 compares the HMAC in constant time, RS256 and ES256
 * verify with the key parsed at configuration time.  Access tokens (above)
 * and refresh tokens (ngx_http_gonsters_auth_verify_refresh()) both come
 * here.
 *
 * NGX_OK: the signature is right; NGX_DECLINED: it is not, or the key
 * cannot verify; NGX_ABORT: the signature segment is not canonical
 * base64url; NGX_ERROR.
 */

ngx_int_t
ngx_http_gonsters_auth_verify_signature(ngx_http_request_t *r,
    ngx_http_gonsters_auth_main_conf_t *amcf,
    ngx_http_gonsters_auth_key_t *key, gn_jwt_parts_t *parts)
{
    int            ok;
    size_t         len;
    u_char        *sig;
    unsigned int   mdlen;
    u_char         md[EVP_MAX_MD_SIZE];

    if (key->key.len == 0
        || (amcf->algorithm != NGX_HTTP_GONSTERS_AUTH_HS256
            && key->pkey == NULL))
    {
        return NGX_DECLINED;
    }

    len = gn_jwt_b64url_decoded_len(parts->signature.len);

    sig = ngx_pnalloc(r->pool, len + 1);
    if (sig == NULL) {
        return NGX_ERROR;
    }

    if (gn_jwt_b64url_decode(parts->signature.data, parts->signature.len, sig)
        != GN_JWT_OK)
    {
        return NGX_ABORT;
    }

    if (amcf->algorithm != NGX_HTTP_GONSTERS_AUTH_HS256) {
        return ngx_http_gonsters_auth_pkey_verify(key->pkey, amcf->algorithm,
                                            (u_char *) parts->signed_part.data,
                                            parts->signed_part.len, sig, len);
    }

    if (HMAC(EVP_sha256(), key->key.data, (int) key->key.len,
             (u_char *) parts->signed_part.data, parts->signed_part.len,
             md, &mdlen)
        == NULL)
    {
        ERR_clear_error();
        return NGX_ERROR;
    }

    ok = (len == mdlen && CRYPTO_memcmp(sig, md, mdlen) == 0);

    ngx_explicit_memzero(md, sizeof(md));

    return ok ? NGX_OK : NGX_DECLINED;
}


/*
 * RS256 / ES256: PKCS#1 v1.5, or ECDSA with the raw 64-byte r || s of JWS
 * (RFC 7518 3.4) turned into DER first.  NGX_OK: the signature is right;
 * NGX_DECLINED: it is not.
 */

static ngx_int_t
ngx_http_gonsters_auth_pkey_verify(EVP_PKEY *pkey, ngx_uint_t alg,
    u_char *in, size_t len, u_char *sig, size_t siglen)
{
    int          ok, n;
    BIGNUM      *br, *bs;
    u_char      *p;
    ECDSA_SIG   *es;
    EVP_MD_CTX  *md;
    u_char       der[128];

    if (alg == NGX_HTTP_GONSTERS_AUTH_ES256) {

        if (siglen != 64) {
            return NGX_DECLINED;
        }

        es = ECDSA_SIG_new();
        br = BN_bin2bn(sig, 32, NULL);
        bs = BN_bin2bn(sig + 32, 32, NULL);

        if (es == NULL || br == NULL || bs == NULL
            || ECDSA_SIG_set0(es, br, bs) != 1)
        {
            ECDSA_SIG_free(es);
            BN_free(br);
            BN_free(bs);
            ERR_clear_error();
            return NGX_ERROR;
        }

        n = i2d_ECDSA_SIG(es, NULL);

        if (n <= 0 || n > (int) sizeof(der)) {
            ECDSA_SIG_free(es);
            return NGX_ERROR;
        }

        p = der;
        n = i2d_ECDSA_SIG(es, &p);
        ECDSA_SIG_free(es);

        if (n <= 0) {
            ERR_clear_error();
            return NGX_ERROR;
        }

        sig = der;
        siglen = n;
    }

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return NGX_ERROR;
    }

    ok = EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1
         && EVP_DigestVerify(md, sig, siglen, in, len) == 1;

    EVP_MD_CTX_free(md);
    ERR_clear_error();

    return ok ? NGX_OK : NGX_DECLINED;
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
