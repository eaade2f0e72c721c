
/*
 * Password hashing in an nginx thread pool.
 *
 * A call copies its inputs into a thread task of its own (one heap block
 * with the 32 KB struct crypt_data: not from r->pool, so that it may
 * outlive the request), suspends r (ngx_http_gonsters_suspend), blocks its
 * termination (r->main->blocked, as ngx_http_copy_filter does around thread
 * tasks), arms the call's deadline and posts the task.  The thread only
 * calls crypt_rn/crypt_gensalt_rn and touches the task's memory: no pools,
 * no logging.  Its completion event runs on the event loop: it unblocks r,
 * calls the caller's handler, resumes r with the handler's result and frees
 * the task.  Since r cannot be freed before that, a client that disconnects
 * while a thread works cannot make anything touch freed memory.
 *
 * The deadline (gonsters_password_timeout) is a timer that is not
 * cancelable, so a graceful shutdown waits for the hashes in flight.  When
 * it expires first (a backlog in the pool's queue), the request is detached
 * from the task and answered (-1, or no hash), and the completion event
 * only frees the task; the timer stays armed until then, so that a worker
 * never exits while a thread still holds one of its tasks.
 */


#include "ngx_http_gonsters_password.h"

#include <crypt.h>


/* how often a detached task's timer comes back while the task runs */
#define NGX_HTTP_GONSTERS_PASSWORD_LINGER  1000


#if !(NGX_THREADS)
#error "password hashing needs nginx built --with-threads"
#endif


typedef struct {
    ngx_str_t                     pool_name;
    ngx_thread_pool_t            *thread_pool;
    const char                   *prefix;       /* "$2b$", "$y$" */
    ngx_int_t                     cost;
    ngx_msec_t                    timeout;
} ngx_http_gonsters_password_main_conf_t;


typedef struct {
    ngx_http_request_t           *request;      /* NULL once detached */
    ngx_event_t                   deadline;
    ngx_msec_t                    start;

    ngx_http_gonsters_password_verify_pt  verify;
    ngx_http_gonsters_password_hash_pt    hash;
    void                         *data;

    /* inputs: copies, NUL-terminated; the password is wiped by the thread */
    unsigned long                 cost;
    const char                   *prefix;
    size_t                        password_len;
    char                          password[NGX_HTTP_GONSTERS_PASSWORD_MAX + 1];
    char                          setting[CRYPT_OUTPUT_SIZE]; /* or "" */

    /* outputs */
    ngx_int_t                     match;        /* verify: 1 or 0 */
    size_t                        out_len;      /* hash: 0 on failure */
    char                          out[CRYPT_OUTPUT_SIZE];

    unsigned                      verifying:1;
    unsigned                      refuse:1;     /* input refused: no crypt */

    struct crypt_data             cd;           /* 32 KB, wiped after use */
} ngx_http_gonsters_password_ctx_t;


static ngx_int_t ngx_http_gonsters_password_post(ngx_http_request_t *r,
    ngx_str_t *password, ngx_str_t *hash,
    ngx_http_gonsters_password_verify_pt verify,
    ngx_http_gonsters_password_hash_pt hash_handler, void *data);
static void ngx_http_gonsters_password_thread(void *data, ngx_log_t *log);
static ngx_uint_t ngx_http_gonsters_password_equal(const char *a,
    const char *b);
static void ngx_http_gonsters_password_event(ngx_event_t *ev);
static void ngx_http_gonsters_password_timeout(ngx_event_t *ev);
static ngx_int_t ngx_http_gonsters_password_answer(ngx_http_request_t *r,
    ngx_http_gonsters_password_ctx_t *ctx,
    ngx_http_gonsters_backend_status_e status);

static void *ngx_http_gonsters_password_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gonsters_password_init_main_conf(ngx_conf_t *cf,
    void *conf);
static char *ngx_http_gonsters_password_thread_pool(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_gonsters_password_hash_method(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);


static ngx_command_t  ngx_http_gonsters_password_commands[] = {

    { ngx_string("gonsters_password_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_gonsters_password_thread_pool,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gonsters_password_hash"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_gonsters_password_hash_method,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gonsters_password_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gonsters_password_main_conf_t, timeout),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gonsters_password_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_gonsters_password_create_main_conf, /* create main configuration */
    ngx_http_gonsters_password_init_main_conf,   /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_gonsters_password_module = {
    NGX_MODULE_V1,
    &ngx_http_gonsters_password_module_ctx, /* module context */
    ngx_http_gonsters_password_commands,   /* module directives */
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


/* ---- the API ------------------------------------------------------------ */

ngx_int_t
ngx_http_gonsters_password_verify(ngx_http_request_t *r, ngx_str_t *password,
    ngx_str_t *hash, ngx_http_gonsters_password_verify_pt handler, void *data)
{
    return ngx_http_gonsters_password_post(r, password, hash, handler, NULL,
                                           data);
}


ngx_int_t
ngx_http_gonsters_password_hash(ngx_http_request_t *r, ngx_str_t *password,
    ngx_http_gonsters_password_hash_pt handler, void *data)
{
    return ngx_http_gonsters_password_post(r, password, NULL, NULL, handler,
                                           data);
}


static ngx_int_t
ngx_http_gonsters_password_post(ngx_http_request_t *r, ngx_str_t *password,
    ngx_str_t *hash, ngx_http_gonsters_password_verify_pt verify,
    ngx_http_gonsters_password_hash_pt hash_handler, void *data)
{
    ngx_thread_task_t                       *task;
    ngx_http_gonsters_password_ctx_t        *ctx;
    ngx_http_gonsters_password_main_conf_t  *pmcf;

    pmcf = ngx_http_get_module_main_conf(r, ngx_http_gonsters_password_module);

    task = ngx_calloc(sizeof(ngx_thread_task_t)
                      + sizeof(ngx_http_gonsters_password_ctx_t),
                      r->connection->log);
    if (task == NULL) {
        return NGX_ERROR;
    }

    ctx = (ngx_http_gonsters_password_ctx_t *) (task + 1);
    task->ctx = ctx;

    ctx->request = r;
    ctx->start = ngx_current_msec;
    ctx->verify = verify;
    ctx->hash = hash_handler;
    ctx->data = data;
    ctx->prefix = pmcf->prefix;
    ctx->cost = (unsigned long) pmcf->cost;
    ctx->verifying = (hash != NULL);

    /* crypt takes C strings: "pass\0word" must not verify as "pass" */

    if (password->len > NGX_HTTP_GONSTERS_PASSWORD_MAX
        || ngx_strlchr(password->data, password->data + password->len, '\0'))
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "gonsters: password refused: %s",
                      password->len > NGX_HTTP_GONSTERS_PASSWORD_MAX
                      ? "too long" : "it holds a NUL byte");
        ctx->refuse = 1;

    } else {
        ngx_memcpy(ctx->password, password->data, password->len);
        ctx->password_len = password->len;
    }

    if (hash) {
        if (hash->len == 0 || hash->len >= CRYPT_OUTPUT_SIZE
            || ngx_strlchr(hash->data, hash->data + hash->len, '\0'))
        {
            ctx->refuse = 1;

        } else {
            ngx_memcpy(ctx->setting, hash->data, hash->len);
        }
    }

    task->handler = ngx_http_gonsters_password_thread;
    task->event.handler = ngx_http_gonsters_password_event;
    task->event.data = task;
    task->event.log = ngx_cycle->log;

    if (ngx_thread_task_post(pmcf->thread_pool, task) != NGX_OK) {
        /* logged by nginx: "thread pool ... queue overflow" */
        explicit_bzero(ctx->password, ctx->password_len);
        ngx_free(task);
        return NGX_ERROR;
    }

    /*
     * The completion event runs on this event loop, never before we return:
     * the references may be taken after posting.  The deadline is not
     * cancelable: a graceful shutdown waits for it (or the completion).
     */

    ctx->deadline.handler = ngx_http_gonsters_password_timeout;
    ctx->deadline.data = task;
    ctx->deadline.log = r->connection->log;
    ngx_add_timer(&ctx->deadline, pmcf->timeout);

    r->main->blocked++;
    ngx_http_gonsters_metrics_pool(NGX_HTTP_GONSTERS_PASSWORD, 0, 1);

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "gonsters password %s task #%ui c:%d",
                   hash ? "verify" : "hash", task->id, r->main->count);

    return ngx_http_gonsters_suspend(r);
}


/* ---- in a thread of the pool: system and thread-safe calls only -------- */

static void
ngx_http_gonsters_password_thread(void *data, ngx_log_t *log)
{
    ngx_http_gonsters_password_ctx_t *ctx = data;

    char    *out, salt[CRYPT_GENSALT_OUTPUT_SIZE];
    size_t   len;

    if (ctx->refuse) {
        goto done;
    }

    if (ctx->verifying) {
        out = crypt_rn(ctx->password, ctx->setting, &ctx->cd,
                       sizeof(struct crypt_data));

        ctx->match = (out != NULL && out[0] != '*'
                      && ngx_http_gonsters_password_equal(out, ctx->setting));
        goto done;
    }

    if (crypt_gensalt_rn(ctx->prefix, ctx->cost, NULL, 0, salt, sizeof(salt))
        == NULL)
    {
        goto done;
    }

    out = crypt_rn(ctx->password, salt, &ctx->cd, sizeof(struct crypt_data));

    if (out != NULL && out[0] != '*') {
        len = ngx_strlen(out);

        if (len < sizeof(ctx->out)) {
            ngx_memcpy(ctx->out, out, len);
            ctx->out_len = len;
        }
    }

done:

    explicit_bzero(ctx->password, ctx->password_len);
    explicit_bzero(&ctx->cd, sizeof(struct crypt_data));
}


/* constant time in the contents; the lengths of hashes are no secret */

static ngx_uint_t
ngx_http_gonsters_password_equal(const char *a, const char *b)
{
    size_t         i, la, lb;
    unsigned char  diff;

    la = ngx_strlen(a);
    lb = ngx_strlen(b);

    if (la != lb) {
        return 0;
    }

    diff = 0;

    for (i = 0; i < la; i++) {
        diff |= (unsigned char) a[i] ^ (unsigned char) b[i];
    }

    return diff == 0;
}


/* ---- completion and deadline, on the event loop -------------------------- */

static void
ngx_http_gonsters_password_event(ngx_event_t *ev)
{
    ngx_int_t                          rc;
    ngx_thread_task_t                 *task;
    ngx_http_request_t                *r;
    ngx_http_gonsters_password_ctx_t  *ctx;

    task = ev->data;
    ctx = task->ctx;
    r = ctx->request;

    if (ctx->deadline.timer_set) {
        ngx_del_timer(&ctx->deadline);
    }

    if (r == NULL) {
        /* answered at the deadline already */
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                       "gonsters password task #%ui done, detached",
                       task->id);
        ngx_free(task);
        return;
    }

    r->main->blocked--;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "gonsters password task #%ui done in %M ms c:%d",
                   task->id, ngx_current_msec - ctx->start, r->main->count);

    if (!ctx->verifying && ctx->out_len == 0 && !ctx->refuse) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gonsters: crypt_gensalt_rn/crypt_rn(\"%s\", %lu) "
                      "failed", ctx->prefix, ctx->cost);
    }

    rc = ngx_http_gonsters_password_answer(r, ctx,
                                           NGX_HTTP_GONSTERS_BACKEND_OK);

    ngx_free(task);

    ngx_http_gonsters_resume(r, rc);
}


static void
ngx_http_gonsters_password_timeout(ngx_event_t *ev)
{
    ngx_int_t                          rc;
    ngx_thread_task_t                 *task;
    ngx_http_request_t                *r;
    ngx_http_gonsters_password_ctx_t  *ctx;

    task = ev->data;
    ctx = task->ctx;
    r = ctx->request;

    if (r == NULL) {
        /* detached: the task is still queued or hashed */
        ngx_add_timer(&ctx->deadline, NGX_HTTP_GONSTERS_PASSWORD_LINGER);
        return;
    }

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "gonsters: password hashing timed out after %M ms "
                  "(a backlog in the thread pool?)",
                  ngx_current_msec - ctx->start);

    /*
     * The thread may still work on the task: the completion frees it.
     * Until then the timer stays armed (it is not cancelable), so that a
     * graceful shutdown waits for the thread instead of exiting while the
     * task is in the pool's hands.
     */

    ctx->request = NULL;
    ctx->deadline.log = ngx_cycle->log;
    ngx_add_timer(&ctx->deadline, NGX_HTTP_GONSTERS_PASSWORD_LINGER);

    r->main->blocked--;

    rc = ngx_http_gonsters_password_answer(r, ctx,
                                           NGX_HTTP_GONSTERS_BACKEND_TIMEOUT);

    ngx_http_gonsters_resume(r, rc);
}


/* the caller's handler; with TIMEOUT the task's outputs are not read */

static ngx_int_t
ngx_http_gonsters_password_answer(ngx_http_request_t *r,
    ngx_http_gonsters_password_ctx_t *ctx,
    ngx_http_gonsters_backend_status_e status)
{
    ngx_str_t    hash, *hp;
    ngx_msec_t   latency;

    latency = ngx_current_msec - ctx->start;
    hp = NULL;

    if (status == NGX_HTTP_GONSTERS_BACKEND_OK && ctx->out_len) {
        hash.len = ctx->out_len;
        hash.data = ngx_pnalloc(r->pool, hash.len);

        if (hash.data) {
            ngx_memcpy(hash.data, ctx->out, hash.len);
            hp = &hash;
        }
    }

    if (status == NGX_HTTP_GONSTERS_BACKEND_OK && !ctx->verifying
        && hp == NULL)
    {
        status = NGX_HTTP_GONSTERS_BACKEND_ERROR;
    }

    ngx_http_gonsters_metrics_pool(NGX_HTTP_GONSTERS_PASSWORD, 0, -1);
    ngx_http_gonsters_metrics_backend(NGX_HTTP_GONSTERS_PASSWORD, status,
                                      latency);

    if (ctx->verifying) {
        return ctx->verify(r, (status == NGX_HTTP_GONSTERS_BACKEND_OK)
                              ? ctx->match : -1,
                           ctx->data);
    }

    return ctx->hash(r, hp, ctx->data);
}


/* ---- configuration ------------------------------------------------------ */

static void *
ngx_http_gonsters_password_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gonsters_password_main_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool,
                       sizeof(ngx_http_gonsters_password_main_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->pool_name = { 0, NULL };
     *     conf->thread_pool = NULL;
     *     conf->prefix = NULL;
     */

    conf->cost = NGX_CONF_UNSET;
    conf->timeout = NGX_CONF_UNSET_MSEC;

    return conf;
}


static char *
ngx_http_gonsters_password_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gonsters_password_main_conf_t *pmcf = conf;

    if (pmcf->thread_pool == NULL) {
        ngx_str_set(&pmcf->pool_name, "default");

        pmcf->thread_pool = ngx_thread_pool_add(cf, &pmcf->pool_name);
        if (pmcf->thread_pool == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    if (pmcf->prefix == NULL) {
        pmcf->prefix = "$2b$";
        pmcf->cost = 12;
    }

    ngx_conf_init_msec_value(pmcf->timeout, 10000);

    return NGX_CONF_OK;
}


static char *
ngx_http_gonsters_password_thread_pool(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_gonsters_password_main_conf_t *pmcf = conf;

    ngx_str_t  *value;

    if (pmcf->thread_pool) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"\" in \"%V\": a thread pool "
                           "name is expected", &cmd->name);
        return NGX_CONF_ERROR;
    }

    pmcf->pool_name = value[1];

    /*
     * Here, so that "unknown thread pool" (a name not declared with
     * thread_pool) names this line.
     */

    pmcf->thread_pool = ngx_thread_pool_add(cf, &pmcf->pool_name);
    if (pmcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_gonsters_password_hash_method(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_gonsters_password_main_conf_t *pmcf = conf;

    char        salt[CRYPT_GENSALT_OUTPUT_SIZE];
    ngx_int_t   cost, min, max;
    ngx_str_t  *value;
    const char *prefix;

    if (pmcf->prefix) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "bcrypt") == 0) {
        prefix = "$2b$";
        cost = 12;
        min = 4;
        max = 31;

    } else if (ngx_strcmp(value[1].data, "yescrypt") == 0) {
        prefix = "$y$";
        cost = 5;
        min = 1;
        max = 11;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\" in \"%V\": the method "
                           "is bcrypt or yescrypt", &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (cf->args->nelts == 3) {
        cost = ngx_atoi(value[2].data, value[2].len);

        if (cost == NGX_ERROR || cost < min || cost > max) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" in \"%V\": the cost "
                               "of %V is %i..%i", &value[2], &cmd->name,
                               &value[1], min, max);
            return NGX_CONF_ERROR;
        }
    }

    /* what libcrypt accepts is what the threads will be asked for */

    if (crypt_gensalt_rn(prefix, (unsigned long) cost, NULL, 0, salt,
                         sizeof(salt))
        == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "crypt_gensalt_rn(\"%s\", %i) failed",
                           prefix, cost);
        return NGX_CONF_ERROR;
    }

    pmcf->prefix = prefix;
    pmcf->cost = cost;

    return NGX_CONF_OK;
}
