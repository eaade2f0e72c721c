/*
 * "gonsters_jwt_key FILE [kid=ID];": verification keys, read and checked
 * at configuration time (nginx -t reports a bad key), for the algorithm of
 * "gonsters_jwt_algorithm" (which may come after the keys, hence the two
 * steps: the directive records, init_main_conf loads).
 *
 * "gonsters_jwt_signing_key FILE kid=ID;": the private key that signs the
 * tokens we issue with RS256 or ES256.  Its public half must be configured
 * with "gonsters_jwt_key ... kid=ID" (the same kid), so that the tokens we
 * issue verify here and appear in the JWKS document.  The PEM text is wiped
 * once parsed; the key itself is freed (OpenSSL clears it) with the
 * configuration's pool.  Nothing of it is ever logged.
 */


#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "ngx_http_gonsters_auth.h"


/* the shortest HS256 secret accepted (RFC 7518 3.2: at least the hash size) */
#define NGX_HTTP_GONSTERS_AUTH_SECRET_MIN  32

#define NGX_HTTP_GONSTERS_AUTH_KEY_FILE_MAX  (64 * 1024)
#define NGX_HTTP_GONSTERS_AUTH_KID_MAX       256
#define NGX_HTTP_GONSTERS_AUTH_RSA_MIN_BITS  2048


static ngx_int_t ngx_http_gonsters_auth_read_key(ngx_conf_t *cf,
    ngx_http_gonsters_auth_key_t *k, const char *directive);
static ngx_int_t ngx_http_gonsters_auth_load_signing_key(ngx_conf_t *cf,
    ngx_http_gonsters_auth_main_conf_t *amcf);
static ngx_int_t ngx_http_gonsters_auth_check_secret(ngx_conf_t *cf,
    ngx_http_gonsters_auth_key_t *k);
static ngx_int_t ngx_http_gonsters_auth_check_pem(ngx_conf_t *cf,
    ngx_http_gonsters_auth_key_t *k, ngx_uint_t alg);
static void ngx_http_gonsters_auth_zero_keys(void *data);


static const char  *ngx_http_gonsters_auth_alg_names[] = {
    "HS256", "RS256", "ES256"
};


const char *
ngx_http_gonsters_auth_alg_name(ngx_uint_t alg)
{
    return ngx_http_gonsters_auth_alg_names[alg];
}


static ngx_int_t
ngx_http_gonsters_auth_parse_kid(ngx_conf_t *cf, ngx_str_t *arg,
    ngx_str_t *kid)
{
    size_t      i;
    ngx_str_t  *name;

    name = &((ngx_str_t *) cf->args->elts)[0];

    if (arg->len <= 4 || ngx_strncmp(arg->data, "kid=", 4) != 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"%V\", "
                           "expected \"kid=ID\"", arg, name);
        return NGX_ERROR;
    }

    kid->data = arg->data + 4;
    kid->len = arg->len - 4;

    if (kid->len > NGX_HTTP_GONSTERS_AUTH_KID_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "the kid in \"%V\" is longer than %d bytes",
                           name, NGX_HTTP_GONSTERS_AUTH_KID_MAX);
        return NGX_ERROR;
    }

    for (i = 0; i < kid->len; i++) {
        if (kid->data[i] <= 0x20 || kid->data[i] >= 0x7f) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid kid \"%V\" in \"%V\": "
                               "printable ASCII without spaces only",
                               kid, name);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


char *
ngx_http_gonsters_auth_key_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_gonsters_auth_main_conf_t  *amcf = conf;

    ngx_str_t                     *value, kid;
    ngx_uint_t                     i;
    ngx_http_gonsters_auth_key_t  *k, *keys;

    value = cf->args->elts;
    ngx_str_null(&kid);

    if (cf->args->nelts == 3
        && ngx_http_gonsters_auth_parse_kid(cf, &value[2], &kid) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (amcf->keys == NULL) {
        amcf->keys = ngx_array_create(cf->pool, 2,
                                      sizeof(ngx_http_gonsters_auth_key_t));
        if (amcf->keys == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    keys = amcf->keys->elts;

    for (i = 0; i < amcf->keys->nelts; i++) {
        if (keys[i].kid.len == kid.len
            && ngx_strncmp(keys[i].kid.data, kid.data, kid.len) == 0)
        {
            if (kid.len) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "duplicate kid \"%V\" in \"%V\"",
                                   &kid, &cmd->name);
            } else {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "more than one \"%V\" without kid, "
                                   "give each key a kid=ID", &cmd->name);
            }

            return NGX_CONF_ERROR;
        }
    }

    k = ngx_array_push(amcf->keys);
    if (k == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(k, sizeof(ngx_http_gonsters_auth_key_t));

    k->kid = kid;
    k->file = value[1];
    k->conf_file = cf->conf_file->file.name;
    k->conf_line = cf->conf_file->line;

    if (ngx_conf_full_name(cf->cycle, &k->file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


char *
ngx_http_gonsters_auth_signing_key_directive(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf)
{
    ngx_http_gonsters_auth_main_conf_t  *amcf = conf;

    ngx_str_t                     *value;
    ngx_http_gonsters_auth_key_t  *k;

    if (amcf->signing != NULL) {
        return "is duplicate";
    }

    value = cf->args->elts;

    k = ngx_pcalloc(cf->pool, sizeof(ngx_http_gonsters_auth_key_t));
    if (k == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_gonsters_auth_parse_kid(cf, &value[2], &k->kid) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    k->file = value[1];
    k->conf_file = cf->conf_file->file.name;
    k->conf_line = cf->conf_file->line;

    if (ngx_conf_full_name(cf->cycle, &k->file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    amcf->signing = k;

    return NGX_CONF_OK;
}


/* called from init_main_conf, when the algorithm is known */

char *
ngx_http_gonsters_auth_load_keys(ngx_conf_t *cf,
    ngx_http_gonsters_auth_main_conf_t *amcf)
{
    ngx_int_t                      rc;
    ngx_uint_t                     i;
    ngx_conf_file_t               *saved, pos;
    ngx_pool_cleanup_t            *cln;
    ngx_http_gonsters_auth_key_t  *keys;

    if (amcf->keys == NULL && amcf->signing == NULL) {
        return NGX_CONF_OK;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_gonsters_auth_zero_keys;
    cln->data = amcf;

    saved = cf->conf_file;

    if (amcf->keys == NULL) {
        goto signing;
    }

    keys = amcf->keys->elts;

    for (i = 0; i < amcf->keys->nelts; i++) {

        /* messages name the key's own "gonsters_jwt_key" line */
        pos = *saved;
        pos.file.name = keys[i].conf_file;
        pos.line = keys[i].conf_line;
        cf->conf_file = &pos;

        rc = ngx_http_gonsters_auth_read_key(cf, &keys[i],
                                             "gonsters_jwt_key");

        if (rc == NGX_OK) {
            rc = (amcf->algorithm == NGX_HTTP_GONSTERS_AUTH_HS256)
                 ? ngx_http_gonsters_auth_check_secret(cf, &keys[i])
                 : ngx_http_gonsters_auth_check_pem(cf, &keys[i],
                                                    amcf->algorithm);
        }

        cf->conf_file = saved;

        if (rc != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

signing:

    if (amcf->signing == NULL) {
        return NGX_CONF_OK;
    }

    pos = *saved;
    pos.file.name = amcf->signing->conf_file;
    pos.line = amcf->signing->conf_line;
    cf->conf_file = &pos;

    rc = ngx_http_gonsters_auth_load_signing_key(cf, amcf);

    cf->conf_file = saved;

    return rc == NGX_OK ? NGX_CONF_OK : NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_gonsters_auth_read_key(ngx_conf_t *cf, ngx_http_gonsters_auth_key_t *k,
    const char *directive)
{
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_file_info_t  fi;

    fd = ngx_open_file(k->file.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "%s: " ngx_open_file_n " \"%V\" failed",
                           directive, &k->file);
        return NGX_ERROR;
    }

    n = -1;

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || ngx_file_size(&fi) > NGX_HTTP_GONSTERS_AUTH_KEY_FILE_MAX)
    {
        goto failed;
    }

    k->key.data = ngx_pnalloc(cf->pool, (size_t) ngx_file_size(&fi) + 1);
    if (k->key.data == NULL) {
        goto failed;
    }

    n = ngx_read_fd(fd, k->key.data, (size_t) ngx_file_size(&fi));

    if (n != (ssize_t) ngx_file_size(&fi)) {
        goto failed;
    }

    k->key.len = n;
    k->key.data[n] = '\0';

    ngx_close_file(fd);

    return NGX_OK;

failed:

    if (k->key.data != NULL) {
        ngx_explicit_memzero(k->key.data, (size_t) ngx_file_size(&fi));
        k->key.data = NULL;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, n == -1 ? ngx_errno : 0,
                       "%s: cannot read \"%V\" (at most %d bytes)",
                       directive, &k->file,
                       NGX_HTTP_GONSTERS_AUTH_KEY_FILE_MAX);

    ngx_close_file(fd);

    return NGX_ERROR;
}


static ngx_int_t
ngx_http_gonsters_auth_check_secret(ngx_conf_t *cf,
    ngx_http_gonsters_auth_key_t *k)
{
    ngx_str_t  *s = &k->key;

    /* one trailing newline, as "echo secret > file" leaves */
    if (s->len && s->data[s->len - 1] == '\n') {
        s->len--;
        if (s->len && s->data[s->len - 1] == '\r') {
            s->len--;
        }
    }

    if (ngx_strlcasestrn(s->data, s->data + s->len,
                         (u_char *) "-----BEGIN", sizeof("-----BEGIN") - 2)
        != NULL)
    {
        /* a public key used as an HMAC secret is algorithm confusion
         * waiting to happen: whoever has the public key signs tokens */
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gonsters_jwt_key: \"%V\" is a PEM key, but "
                           "\"gonsters_jwt_algorithm\" is HS256, which needs a "
                           "shared secret", &k->file);
        return NGX_ERROR;
    }

    if (s->len < NGX_HTTP_GONSTERS_AUTH_SECRET_MIN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gonsters_jwt_key: the HS256 secret in \"%V\" "
                           "is %uz bytes, at least %d are required",
                           &k->file, s->len,
                           NGX_HTTP_GONSTERS_AUTH_SECRET_MIN);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* what kind of public key, or a message saying why it is not right */

static const char *
ngx_http_gonsters_auth_pem_problem(EVP_PKEY *pkey, ngx_uint_t alg,
    ngx_uint_t private)
{
    int   nid;
    char  group[64];

    if (alg == NGX_HTTP_GONSTERS_AUTH_RS256) {

        if (EVP_PKEY_base_id(pkey) != EVP_PKEY_RSA) {
            return private ? "is not an RSA private key, as RS256 needs"
                           : "is not an RSA public key, as RS256 needs";
        }

        if (EVP_PKEY_bits(pkey) < NGX_HTTP_GONSTERS_AUTH_RSA_MIN_BITS) {
            return "is an RSA key shorter than 2048 bits";
        }

        return NULL;
    }

    if (EVP_PKEY_base_id(pkey) != EVP_PKEY_EC) {
        return private ? "is not an EC private key, as ES256 needs"
                       : "is not an EC public key, as ES256 needs";
    }

    nid = NID_undef;

    if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), NULL) == 1) {
        nid = OBJ_sn2nid(group);
    }

    if (nid != NID_X9_62_prime256v1) {
        return "is not on the P-256 curve, as ES256 needs";
    }

    return NULL;
}


static ngx_int_t
ngx_http_gonsters_auth_check_pem(ngx_conf_t *cf,
    ngx_http_gonsters_auth_key_t *k, ngx_uint_t alg)
{
    BIO         *bio;
    EVP_PKEY    *pkey;
    const char  *problem;

    bio = BIO_new_mem_buf(k->key.data, (int) k->key.len);
    if (bio == NULL) {
        return NGX_ERROR;
    }

    pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    ERR_clear_error();

    if (pkey == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gonsters_jwt_key: \"%V\" is not a PEM public key "
                           "(\"-----BEGIN PUBLIC KEY-----\") for %s",
                           &k->file, ngx_http_gonsters_auth_alg_name(alg));
        return NGX_ERROR;
    }

    problem = ngx_http_gonsters_auth_pem_problem(pkey, alg, 0);

    if (problem != NULL) {
        EVP_PKEY_free(pkey);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gonsters_jwt_key: \"%V\" %s",
                           &k->file, problem);
        return NGX_ERROR;
    }

    /* kept for refresh tokens and the JWKS document; freed by zero_keys */
    k->pkey = pkey;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gonsters_auth_load_signing_key(ngx_conf_t *cf,
    ngx_http_gonsters_auth_main_conf_t *amcf)
{
    BIO                           *bio;
    EVP_PKEY                      *pkey;
    ngx_int_t                      rc;
    const char                    *problem;
    gn_jwt_str_t                   kid;
    ngx_http_gonsters_auth_key_t  *k, *pub;

    k = amcf->signing;

    if (amcf->algorithm == NGX_HTTP_GONSTERS_AUTH_HS256) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"gonsters_jwt_signing_key\" needs "
                           "\"gonsters_jwt_algorithm RS256\" or \"ES256\" "
                           "(HS256 tokens are signed with the first "
                           "\"gonsters_jwt_key\")");
        return NGX_ERROR;
    }

    if (ngx_http_gonsters_auth_read_key(cf, k, "gonsters_jwt_signing_key")
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    bio = BIO_new_mem_buf(k->key.data, (int) k->key.len);
    if (bio == NULL) {
        ngx_explicit_memzero(k->key.data, k->key.len);
        return NGX_ERROR;
    }

    pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    BIO_free(bio);
    ERR_clear_error();

    /* the PEM text is not needed any more */
    ngx_explicit_memzero(k->key.data, k->key.len);
    k->key.len = 0;

    if (pkey == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gonsters_jwt_signing_key: \"%V\" is not an "
                           "unencrypted PEM private key for %s", &k->file,
                           ngx_http_gonsters_auth_alg_name(amcf->algorithm));
        return NGX_ERROR;
    }

    /* freed by zero_keys from now on */
    k->pkey = pkey;

    problem = ngx_http_gonsters_auth_pem_problem(pkey, amcf->algorithm, 1);
    if (problem != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gonsters_jwt_signing_key: \"%V\" %s "
                           "(\"gonsters_jwt_algorithm %s\")", &k->file,
                           problem,
                           ngx_http_gonsters_auth_alg_name(amcf->algorithm));
        return NGX_ERROR;
    }

    kid.data = (const char *) k->kid.data;
    kid.len = k->kid.len;

    pub = NULL;
    rc = NGX_ERROR;

    if (amcf->keys != NULL) {
        pub = ngx_http_gonsters_auth_find_key(amcf, &kid);
    }

    if (pub == NULL || pub->kid.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gonsters_jwt_signing_key: no \"gonsters_jwt_key "
                           "... kid=%V\": the public key of the signing key "
                           "must be configured with the same kid", &k->kid);
        return NGX_ERROR;
    }

    if (pub->pkey != NULL && EVP_PKEY_eq(pub->pkey, pkey) == 1) {
        rc = NGX_OK;
    }

    ERR_clear_error();

    if (rc != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "gonsters_jwt_signing_key: \"%V\" is not the "
                           "private key of \"%V\" (gonsters_jwt_key with "
                           "kid=%V)", &k->file, &pub->file, &k->kid);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_gonsters_auth_zero_keys(void *data)
{
    ngx_http_gonsters_auth_main_conf_t  *amcf = data;

    ngx_uint_t                     i;
    ngx_http_gonsters_auth_key_t  *keys;

    if (amcf->keys != NULL) {
        keys = amcf->keys->elts;

        for (i = 0; i < amcf->keys->nelts; i++) {
            if (keys[i].key.data) {
                ngx_explicit_memzero(keys[i].key.data, keys[i].key.len);
            }

            if (keys[i].pkey) {
                EVP_PKEY_free(keys[i].pkey);
                keys[i].pkey = NULL;
            }
        }
    }

    if (amcf->signing != NULL && amcf->signing->pkey != NULL) {
        /* OpenSSL clears the private key's numbers as it frees them */
        EVP_PKEY_free(amcf->signing->pkey);
        amcf->signing->pkey = NULL;
    }
}


/*
 * The key for a token: its kid selects one; a token without kid takes the
 * key configured without kid, or the only key.
 */

ngx_http_gonsters_auth_key_t *
ngx_http_gonsters_auth_find_key(ngx_http_gonsters_auth_main_conf_t *amcf,
    gn_jwt_str_t *kid)
{
    ngx_uint_t                     i;
    ngx_http_gonsters_auth_key_t  *keys;

    if (amcf->keys == NULL) {
        return NULL;
    }

    keys = amcf->keys->elts;

    for (i = 0; i < amcf->keys->nelts; i++) {

        if (kid->data == NULL) {
            if (keys[i].kid.len == 0) {
                return &keys[i];
            }
            continue;
        }

        if (keys[i].kid.len == kid->len
            && ngx_memcmp(keys[i].kid.data, kid->data, kid->len) == 0)
        {
            return &keys[i];
        }
    }

    if (kid->data == NULL && amcf->keys->nelts == 1) {
        return &keys[0];
    }

    return NULL;
}
