
/*
 * nginx connections around sockets that a client library owns; see
 * ngx_http_gonsters_conn.h.
 */


#include "ngx_http_gonsters_conn.h"


/* an nginx connection on a foreign socket; no event is added yet */

ngx_connection_t *
ngx_http_gonsters_conn_wrap(ngx_socket_t fd, void *data,
    ngx_event_handler_pt read_handler, ngx_event_handler_pt write_handler,
    ngx_log_t *log)
{
    ngx_connection_t  *c;

    c = ngx_get_connection(fd, log);
    if (c == NULL) {
        return NULL;
    }

    c->data = data;
    c->read->log = log;
    c->write->log = log;
    c->read->handler = read_handler;
    c->write->handler = write_handler;
    c->number = ngx_atomic_fetch_add(ngx_connection_counter, 1);

    return c;
}


/*
 * ngx_close_connection() without closing the socket, which its library
 * closes (or already did): the kernel drops a closed socket from epoll,
 * so NGX_CLOSE_EVENT, no system call
 */

void
ngx_http_gonsters_conn_release(ngx_connection_t *c)
{
    if (c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (ngx_del_conn) {
        ngx_del_conn(c, NGX_CLOSE_EVENT);

    } else {
        if (c->read->active || c->read->disabled) {
            ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
        }

        if (c->write->active || c->write->disabled) {
            ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
        }
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->read->closed = 1;
    c->write->closed = 1;
    c->idle = 0;

    ngx_free_connection(c);

    c->fd = (ngx_socket_t) -1;
}
