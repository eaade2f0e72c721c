/*
 * Issuing tokens: HS256 signatures with the first "gonsters_jwt_key" of
 * the auth module (its kid, if any, goes into the header), or RS256/ES256
 * signatures with "gonsters_jwt_signing_key" (its kid in the header);
 * verification of our own refresh tokens, random ids and token hashes.
 *
 * Refresh tokens are verified here rather than by the access-phase code,
 * which accepts only type "access": same pinned algorithm (the header's
 * alg must be exactly the configured one), key by kid, the signature check
 * of the access tokens (ngx_http_gonsters_auth_verify_signature() in
 * ngx_http_gonsters_auth_verify.c), then the claims.
 */


#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "ngx_http_gonsters_auth.h"
#include "ngx_http_gonsters_users.h"


ngx_int_t
ngx_http_gonsters_auth_random_hex(u_char *dst, size_t n)
{
    u_char  buf[64];

    if (n > sizeof(buf) || RAND_bytes(buf, (int) n) != 1) {
        return NGX_ERROR;
    }

    (void) ngx_hex_dump(dst, buf, n);

    return NGX_OK;
}


void
ngx_http_gonsters_auth_token_hash(ngx_str_t *token, u_char *hex)
{
    u_char  md[SHA256_DIGEST_LENGTH];

    (void) EVP_Digest(token->data, token->len, md, NULL, EVP_sha256(), NULL);
    (void) ngx_hex_dump(hex, md, sizeof(md));
}


static ngx_http_gonsters_auth_key_t *
ngx_http_gonsters_auth_issuing_key(ngx_http_request_t *r,
    ngx_http_gonsters_auth_main_conf_t *amcf)
{
    ngx_http_gonsters_auth_key_t  *keys;

    if (amcf != NULL && amcf->algorithm != NGX_HTTP_GONSTERS_AUTH_HS256) {

        if (amcf->signing != NULL && amcf->signing->pkey != NULL) {
            return amcf->signing;
        }

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters: issuing %s tokens needs a "
                      "\"gonsters_jwt_signing_key\"",
                      ngx_http_gonsters_auth_alg_name(amcf->algorithm));
        return NULL;
    }

    if (amcf == NULL || amcf->keys == NULL || amcf->keys->nelts == 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters: issuing tokens needs a "
                      "\"gonsters_jwt_key\" (HS256) or a "
                      "\"gonsters_jwt_signing_key\" (RS256, ES256)");
        return NULL;
    }

    keys = amcf->keys->elts;

    return keys[0].key.len ? &keys[0] : NULL;
}


static ngx_int_t
ngx_http_gonsters_auth_b64(ngx_http_request_t *r, u_char *data, size_t len,
    ngx_str_t *out)
{
    ngx_str_t  src;

    src.data = data;
    src.len = len;

    out->data = ngx_pnalloc(r->pool, ngx_base64_encoded_length(len));
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_encode_base64url(out, &src);

    return NGX_OK;
}


/*
 * RS256 / ES256 signature of "in" into "sig" (at least EVP_PKEY_get_size()
 * bytes): PKCS#1 v1.5, or ECDSA with the DER signature turned into the raw
 * 64-byte r || s of JWS (RFC 7518 3.4).
 */

static ngx_int_t
ngx_http_gonsters_auth_pkey_sign(EVP_PKEY *pkey, ngx_uint_t alg,
    u_char *in, size_t len, u_char *sig, size_t *siglen)
{
    int              ok;
    size_t           n;
    EVP_MD_CTX      *md;
    ECDSA_SIG       *es;
    const BIGNUM    *br, *bs;
    const u_char    *p;
    u_char           der[EVP_MAX_MD_SIZE * 4];

    md = EVP_MD_CTX_new();
    if (md == NULL) {
        return NGX_ERROR;
    }

    n = (alg == NGX_HTTP_GONSTERS_AUTH_ES256) ? sizeof(der) : *siglen;

    ok = EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) == 1
         && EVP_DigestSign(md,
                           (alg == NGX_HTTP_GONSTERS_AUTH_ES256) ? der : sig,
                           &n, in, len) == 1;

    EVP_MD_CTX_free(md);

    if (!ok) {
        ERR_clear_error();
        return NGX_ERROR;
    }

    if (alg != NGX_HTTP_GONSTERS_AUTH_ES256) {
        *siglen = n;
        return NGX_OK;
    }

    p = der;
    es = d2i_ECDSA_SIG(NULL, &p, (long) n);
    if (es == NULL) {
        ERR_clear_error();
        return NGX_ERROR;
    }

    ECDSA_SIG_get0(es, &br, &bs);

    ok = *siglen >= 64
         && BN_bn2binpad(br, sig, 32) == 32
         && BN_bn2binpad(bs, sig + 32, 32) == 32;

    ECDSA_SIG_free(es);

    if (!ok) {
        return NGX_ERROR;
    }

    *siglen = 64;

    return NGX_OK;
}


ngx_int_t
ngx_http_gonsters_auth_sign(ngx_http_request_t *r, cJSON *claims,
    ngx_str_t *token)
{
    char                                *json;
    u_char                              *p, *sig;
    cJSON                               *header;
    size_t                               siglen;
    unsigned int                         mdlen;
    ngx_str_t                            h, c, s;
    u_char                               md[EVP_MAX_MD_SIZE];
    ngx_http_gonsters_auth_key_t        *key;
    ngx_http_gonsters_auth_main_conf_t  *amcf;

    amcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_auth_module);

    key = ngx_http_gonsters_auth_issuing_key(r, amcf);
    if (key == NULL) {
        return NGX_DECLINED;
    }

    header = cJSON_CreateObject();
    if (header == NULL) {
        return NGX_ERROR;
    }

    if (cJSON_AddStringToObject(header, "alg",
            ngx_http_gonsters_auth_alg_name(amcf->algorithm)) == NULL
        || cJSON_AddStringToObject(header, "typ", "JWT") == NULL
        || (key->kid.len
            && cJSON_AddItemToObject(header, "kid",
                   cJSON_CreateString((char *) key->kid.data)) == 0))
    {
        cJSON_Delete(header);
        return NGX_ERROR;
    }

    json = cJSON_PrintUnformatted(header);
    cJSON_Delete(header);

    if (json == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_gonsters_auth_b64(r, (u_char *) json, ngx_strlen(json), &h)
        != NGX_OK)
    {
        cJSON_free(json);
        return NGX_ERROR;
    }

    cJSON_free(json);

    /* iss and aud as the verifiers expect them */
    cJSON_DeleteItemFromObject(claims, "iss");
    cJSON_DeleteItemFromObject(claims, "aud");

    if (cJSON_AddItemToObject(claims, "iss",
            cJSON_CreateString((char *) amcf->issuer.data)) == 0
        || cJSON_AddItemToObject(claims, "aud",
            cJSON_CreateString((char *) amcf->audience.data)) == 0)
    {
        return NGX_ERROR;
    }

    json = cJSON_PrintUnformatted(claims);
    if (json == NULL) {
        return NGX_ERROR;
    }

    if (ngx_http_gonsters_auth_b64(r, (u_char *) json, ngx_strlen(json), &c)
        != NGX_OK)
    {
        cJSON_free(json);
        return NGX_ERROR;
    }

    cJSON_free(json);

    siglen = EVP_MAX_MD_SIZE;

    if (key->pkey != NULL) {
        siglen = ngx_max((size_t) EVP_PKEY_get_size(key->pkey), 64);
    }

    token->data = ngx_pnalloc(r->pool,
                              h.len + 1 + c.len + 1
                              + ngx_base64_encoded_length(siglen));
    if (token->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(token->data, h.data, h.len);
    *p++ = '.';
    p = ngx_cpymem(p, c.data, c.len);

    if (key->pkey != NULL) {
        sig = ngx_pnalloc(r->pool, siglen);
        if (sig == NULL) {
            return NGX_ERROR;
        }

        if (ngx_http_gonsters_auth_pkey_sign(key->pkey, amcf->algorithm,
                                             token->data, p - token->data,
                                             sig, &siglen)
            != NGX_OK)
        {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "gonsters: %s signing failed",
                          ngx_http_gonsters_auth_alg_name(amcf->algorithm));
            return NGX_ERROR;
        }

        *p++ = '.';

        s.data = p;
        c.data = sig;
        c.len = siglen;
        ngx_encode_base64url(&s, &c);

        token->len = p + s.len - token->data;

        return NGX_OK;
    }

    if (HMAC(EVP_sha256(), key->key.data, (int) key->key.len, token->data,
             p - token->data, md, &mdlen)
        == NULL)
    {
        return NGX_ERROR;
    }

    *p++ = '.';

    s.data = p;
    c.data = md;
    c.len = mdlen;
    ngx_encode_base64url(&s, &c);

    token->len = p + s.len - token->data;

    ngx_explicit_memzero(md, sizeof(md));

    return NGX_OK;
}


static ngx_int_t
ngx_http_gonsters_auth_claim_str(ngx_http_request_t *r, cJSON *obj,
    const char *name, ngx_str_t *out)
{
    cJSON  *item;

    item = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsString(item) || item->valuestring[0] == '\0') {
        return NGX_DECLINED;
    }

    out->len = ngx_strlen(item->valuestring);
    out->data = ngx_pnalloc(r->pool, out->len);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(out->data, item->valuestring, out->len);

    return NGX_OK;
}


static ngx_uint_t
ngx_http_gonsters_auth_json_eq(cJSON *item, ngx_str_t *want)
{
    return cJSON_IsString(item)
           && ngx_strlen(item->valuestring) == want->len
           && ngx_memcmp(item->valuestring, want->data, want->len) == 0;
}


ngx_int_t
ngx_http_gonsters_auth_verify_refresh(ngx_http_request_t *r, ngx_str_t *token,
    ngx_http_gonsters_refresh_claims_t *claims, const char **error)
{
    char                                *json;
    cJSON                               *root, *item, *el;
    size_t                               len;
    ngx_int_t                            rc;
    ngx_uint_t                           ok;
    gn_jwt_parts_t                       parts;
    gn_jwt_header_t                      h;
    ngx_http_gonsters_auth_key_t        *key;
    ngx_http_gonsters_auth_main_conf_t  *amcf;

    amcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_auth_module);

    if (ngx_http_gonsters_auth_issuing_key(r, amcf) == NULL) {
        return NGX_ERROR;
    }

    *error = "malformed token";

    if (gn_jwt_split((char *) token->data, token->len, &parts) != GN_JWT_OK) {
        return NGX_DECLINED;
    }

    /* header: alg must be exactly the configured one, the kid selects the
     * key */

    len = gn_jwt_b64url_decoded_len(parts.header.len);
    json = ngx_pnalloc(r->pool, len + 1);
    if (json == NULL) {
        return NGX_ERROR;
    }

    if (gn_jwt_b64url_decode(parts.header.data, parts.header.len,
                             (unsigned char *) json) != GN_JWT_OK
        || gn_jwt_parse_header(json, len, &h) != GN_JWT_OK)
    {
        return NGX_DECLINED;
    }

    if (h.alg.len != 5
        || ngx_memcmp(h.alg.data,
                      ngx_http_gonsters_auth_alg_name(amcf->algorithm), 5)
           != 0)
    {
        *error = "algorithm not allowed";
        return NGX_DECLINED;
    }

    key = ngx_http_gonsters_auth_find_key(amcf, &h.kid);
    if (key == NULL || key->key.len == 0
        || (amcf->algorithm != NGX_HTTP_GONSTERS_AUTH_HS256
            && key->pkey == NULL))
    {
        *error = "unknown key id";
        return NGX_DECLINED;
    }

    /* signature */

    rc = ngx_http_gonsters_auth_verify_signature(r, amcf, key, &parts);
    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc == NGX_ABORT) {
        /* the signature segment is not canonical base64url */
        return NGX_DECLINED;
    }

    if (rc != NGX_OK) {
        *error = "invalid signature";
        return NGX_DECLINED;
    }

    /* claims */

    len = gn_jwt_b64url_decoded_len(parts.payload.len);
    json = ngx_pnalloc(r->pool, len + 1);
    if (json == NULL) {
        return NGX_ERROR;
    }

    if (gn_jwt_b64url_decode(parts.payload.data, parts.payload.len,
                             (unsigned char *) json) != GN_JWT_OK)
    {
        return NGX_DECLINED;
    }

    root = cJSON_ParseWithLength(json, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        *error = "malformed token claims";
        return NGX_DECLINED;
    }

    rc = NGX_DECLINED;

    item = cJSON_GetObjectItemCaseSensitive(root, "exp");
    if (!cJSON_IsNumber(item)) {
        *error = "token has no exp";
        goto done;
    }

    claims->exp = (time_t) item->valuedouble;

    if (ngx_time() >= claims->exp + amcf->leeway) {
        *error = "token expired";
        goto done;
    }

    if (!ngx_http_gonsters_auth_json_eq(
            cJSON_GetObjectItemCaseSensitive(root, "iss"), &amcf->issuer))
    {
        *error = "wrong issuer";
        goto done;
    }

    item = cJSON_GetObjectItemCaseSensitive(root, "aud");
    ok = ngx_http_gonsters_auth_json_eq(item, &amcf->audience);

    if (cJSON_IsArray(item)) {
        cJSON_ArrayForEach(el, item) {
            ok |= ngx_http_gonsters_auth_json_eq(el, &amcf->audience);
        }
    }

    if (!ok) {
        *error = "wrong audience";
        goto done;
    }

    if (!ngx_http_gonsters_auth_json_eq(
            cJSON_GetObjectItemCaseSensitive(root, "type"),
            &(ngx_str_t) ngx_string("refresh")))
    {
        *error = "not a refresh token";
        goto done;
    }

    *error = "incomplete token";

    rc = ngx_http_gonsters_auth_claim_str(r, root, "sub", &claims->sub);
    if (rc == NGX_OK) {
        rc = ngx_http_gonsters_auth_claim_str(r, root, "jti", &claims->jti);
    }
    if (rc == NGX_OK) {
        rc = ngx_http_gonsters_auth_claim_str(r, root, "fam", &claims->fam);
    }

    if (rc == NGX_OK) {
        *error = NULL;
    }

done:

    cJSON_Delete(root);

    return rc;
}
