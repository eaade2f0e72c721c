/*
 * "gonsters_endpoint jwks": the public keys of "gonsters_jwt_key" as an
 * RFC 7517 JWK Set, so that other services of the fleet verify the tokens
 * we issue.  The document is built once, at configuration time; a request
 * only sends it.  HS256 secrets are never published: with HS256 the
 * document is {"keys":[]}.
 */


#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <cjson/cJSON.h>

#include "ngx_http_gonsters_auth.h"


/* a big number as base64url without padding, left-padded to "width" bytes
 * (0: its minimal length) */

static cJSON *
ngx_http_gonsters_jwks_bn(ngx_conf_t *cf, EVP_PKEY *pkey, const char *name,
    int width)
{
    int        len;
    cJSON     *item;
    BIGNUM    *bn;
    u_char    *buf, *out;
    ngx_str_t  src, dst;

    bn = NULL;

    if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) {
        ERR_clear_error();
        return NULL;
    }

    len = width ? width : BN_num_bytes(bn);

    if (len <= 0 || BN_num_bytes(bn) > len) {
        BN_free(bn);
        return NULL;
    }

    buf = ngx_pnalloc(cf->temp_pool, len);
    out = ngx_pnalloc(cf->temp_pool, ngx_base64_encoded_length(len) + 1);

    if (buf == NULL || out == NULL || BN_bn2binpad(bn, buf, len) != len) {
        BN_free(bn);
        return NULL;
    }

    BN_free(bn);

    src.data = buf;
    src.len = len;
    dst.data = out;
    ngx_encode_base64url(&dst, &src);
    out[dst.len] = '\0';

    item = cJSON_CreateString((char *) out);

    return item;
}


static ngx_int_t
ngx_http_gonsters_jwks_add(ngx_conf_t *cf, cJSON *keys,
    ngx_http_gonsters_auth_key_t *k, ngx_uint_t alg)
{
    cJSON  *jwk, *a, *b;

    jwk = cJSON_CreateObject();
    if (jwk == NULL) {
        return NGX_ERROR;
    }

    cJSON_AddItemToArray(keys, jwk);

    if (alg == NGX_HTTP_GONSTERS_AUTH_RS256) {
        a = ngx_http_gonsters_jwks_bn(cf, k->pkey, OSSL_PKEY_PARAM_RSA_N, 0);
        b = ngx_http_gonsters_jwks_bn(cf, k->pkey, OSSL_PKEY_PARAM_RSA_E, 0);

        if (a == NULL || b == NULL
            || cJSON_AddStringToObject(jwk, "kty", "RSA") == NULL)
        {
            cJSON_Delete(a);
            cJSON_Delete(b);
            return NGX_ERROR;
        }

        cJSON_AddItemToObject(jwk, "n", a);
        cJSON_AddItemToObject(jwk, "e", b);

    } else {
        a = ngx_http_gonsters_jwks_bn(cf, k->pkey, OSSL_PKEY_PARAM_EC_PUB_X,
                                      32);
        b = ngx_http_gonsters_jwks_bn(cf, k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y,
                                      32);

        if (a == NULL || b == NULL
            || cJSON_AddStringToObject(jwk, "kty", "EC") == NULL
            || cJSON_AddStringToObject(jwk, "crv", "P-256") == NULL)
        {
            cJSON_Delete(a);
            cJSON_Delete(b);
            return NGX_ERROR;
        }

        cJSON_AddItemToObject(jwk, "x", a);
        cJSON_AddItemToObject(jwk, "y", b);
    }

    /* the kid is printable ASCII (checked by the directive), NUL-ended */
    if ((k->kid.len
         && cJSON_AddStringToObject(jwk, "kid", (char *) k->kid.data) == NULL)
        || cJSON_AddStringToObject(jwk, "alg",
                               ngx_http_gonsters_auth_alg_name(alg)) == NULL
        || cJSON_AddStringToObject(jwk, "use", "sig") == NULL)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


char *
ngx_http_gonsters_auth_build_jwks(ngx_conf_t *cf,
    ngx_http_gonsters_auth_main_conf_t *amcf)
{
    char                          *json;
    cJSON                         *root, *keys;
    ngx_uint_t                     i;
    ngx_http_gonsters_auth_key_t  *k;

    root = cJSON_CreateObject();
    if (root == NULL) {
        return NGX_CONF_ERROR;
    }

    keys = cJSON_AddArrayToObject(root, "keys");
    if (keys == NULL) {
        goto failed;
    }

    if (amcf->algorithm != NGX_HTTP_GONSTERS_AUTH_HS256 && amcf->keys) {
        k = amcf->keys->elts;

        for (i = 0; i < amcf->keys->nelts; i++) {
            if (k[i].pkey == NULL
                || ngx_http_gonsters_jwks_add(cf, keys, &k[i], amcf->algorithm)
                   != NGX_OK)
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "gonsters: cannot build the JWKS entry "
                                   "of \"%V\"", &k[i].file);
                goto failed;
            }
        }
    }

    json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);

    if (json == NULL) {
        return NGX_CONF_ERROR;
    }

    amcf->jwks.len = ngx_strlen(json);
    amcf->jwks.data = ngx_pnalloc(cf->pool, amcf->jwks.len);

    if (amcf->jwks.data == NULL) {
        cJSON_free(json);
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(amcf->jwks.data, json, amcf->jwks.len);
    cJSON_free(json);

    return NGX_CONF_OK;

failed:

    cJSON_Delete(root);

    return NGX_CONF_ERROR;
}


/* GET /.well-known/jwks.json (or wherever the location is) */

ngx_int_t
ngx_http_gonsters_jwks_handler(ngx_http_request_t *r)
{
    ngx_int_t                            rc;
    ngx_http_gonsters_auth_main_conf_t  *amcf;

    static ngx_str_t  type = ngx_string("application/json");

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_gonsters_send_not_allowed(r, "GET, HEAD");
    }

    amcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_auth_module);

    return ngx_http_gonsters_send_body(r, NGX_HTTP_OK, &type, &amcf->jwks);
}
