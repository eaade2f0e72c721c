
/*
 * nginx connections around sockets that a client library owns (libpq,
 * hiredis): the library connects, reads, writes and closes; nginx only
 * watches the descriptor and calls the owner's event handlers.
 */


#ifndef _NGX_HTTP_GONSTERS_CONN_H_INCLUDED_
#define _NGX_HTTP_GONSTERS_CONN_H_INCLUDED_


#include "ngx_http_gonsters_module.h"


ngx_connection_t *ngx_http_gonsters_conn_wrap(ngx_socket_t fd, void *data,
    ngx_event_handler_pt read_handler, ngx_event_handler_pt write_handler,
    ngx_log_t *log);
void ngx_http_gonsters_conn_release(ngx_connection_t *c);


#endif /* _NGX_HTTP_GONSTERS_CONN_H_INCLUDED_ */
