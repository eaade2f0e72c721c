
/*
 * Test-only locations that drive the password API the way the login and
 * register handlers do (ngx_http_gonsters_test_password_module):
 *
 *   gonsters_test_password_verify PASSWORD HASH;   {"match":1|0}
 *   gonsters_test_password_hash PASSWORD;          {"hash":"..."}
 *
 * Values are URL-decoded (the tests send %XX for every special byte, NUL
 * included).
 */


#include "ngx_http_gonsters_password.h"
#include "ngx_http_gonsters_testlib.h"


typedef struct {
    ngx_http_complex_value_t     *password;
    ngx_http_complex_value_t     *hash;     /* NULL: make a new hash */
} ngx_http_gonsters_test_password_loc_conf_t;


static ngx_int_t ngx_http_gonsters_test_password_handler(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_gonsters_test_password_verified(
    ngx_http_request_t *r, ngx_int_t match, void *data);
static ngx_int_t ngx_http_gonsters_test_password_hashed(
    ngx_http_request_t *r, ngx_str_t *hash, void *data);
static void *ngx_http_gonsters_test_password_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gonsters_test_password(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);


static ngx_command_t  ngx_http_gonsters_test_password_commands[] = {

    { ngx_string("gonsters_test_password_verify"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_gonsters_test_password,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gonsters_test_password_hash"),
      NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_gonsters_test_password,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gonsters_test_password_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    ngx_http_gonsters_test_password_create_loc_conf, /* create location conf */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_gonsters_test_password_module = {
    NGX_MODULE_V1,
    &ngx_http_gonsters_test_password_module_ctx, /* module context */
    ngx_http_gonsters_test_password_commands, /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_int_t
ngx_http_gonsters_test_password_handler(ngx_http_request_t *r)
{
    ngx_int_t                                    rc;
    ngx_str_t                                    password, hash;
    ngx_http_gonsters_test_password_loc_conf_t  *tlcf;

    tlcf = ngx_http_get_module_loc_conf(r,
                                        ngx_http_gonsters_test_password_module);

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_gonsters_test_unescaped(r, tlcf->password, &password)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (tlcf->hash) {
        if (ngx_http_gonsters_test_unescaped(r, tlcf->hash, &hash)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        rc = ngx_http_gonsters_password_verify(r, &password, &hash,
                                     ngx_http_gonsters_test_password_verified,
                                     NULL);

    } else {
        rc = ngx_http_gonsters_password_hash(r, &password,
                                     ngx_http_gonsters_test_password_hashed,
                                     NULL);
    }

    /* the API has its copy: what a handler does with a password */
    explicit_bzero(password.data, password.len);

    if (rc != NGX_DONE) {
        return ngx_http_gonsters_send_unavailable(r,
                                        NGX_HTTP_GONSTERS_PASSWORD,
                                        NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE);
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_gonsters_test_password_verified(ngx_http_request_t *r,
    ngx_int_t match, void *data)
{
    ngx_str_t  json;

    if (match < 0) {
        return ngx_http_gonsters_send_unavailable(r,
                                        NGX_HTTP_GONSTERS_PASSWORD,
                                        NGX_HTTP_GONSTERS_BACKEND_UNAVAILABLE);
    }

    if (match) {
        ngx_str_set(&json, "{\"match\":1}");

    } else {
        ngx_str_set(&json, "{\"match\":0}");
    }

    return ngx_http_gonsters_send_json(r, NGX_HTTP_OK, &json);
}


static ngx_int_t
ngx_http_gonsters_test_password_hashed(ngx_http_request_t *r,
    ngx_str_t *hash, void *data)
{
    ngx_str_t  json;

    if (hash == NULL) {
        return ngx_http_gonsters_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                            "no hash");
    }

    if (ngx_http_gonsters_test_json_string(r, "{\"hash\":\"", hash, "\"}", &json)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_gonsters_send_json(r, NGX_HTTP_OK, &json);
}


static void *
ngx_http_gonsters_test_password_create_loc_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_gonsters_test_password_loc_conf_t));
}


static char *
ngx_http_gonsters_test_password(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_gonsters_test_password_loc_conf_t *tlcf = conf;

    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_http_complex_value_t         **cv[2];
    ngx_http_core_loc_conf_t          *clcf;

    if (tlcf->password) {
        return "is duplicate";
    }

    value = cf->args->elts;
    cv[0] = &tlcf->password;
    cv[1] = &tlcf->hash;

    for (i = 1; i < cf->args->nelts; i++) {
        *cv[i - 1] = ngx_palloc(cf->pool, sizeof(ngx_http_complex_value_t));
        if (*cv[i - 1] == NULL) {
            return NGX_CONF_ERROR;
        }

        if (ngx_http_gonsters_test_compile(cf, &value[i], *cv[i - 1])
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_gonsters_test_password_handler;

    return NGX_CONF_OK;
}
