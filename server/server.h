/* server: the TCP chunk server engine (main.c only parses options).
 *
 * Serves manifests, chunks and chunk maps of what the catalog holds, by root
 * hash, never by path. Disk reads run on the thread pool (for a chunk sent
 * from its file, the open and the warming of its pages); chunk bytes queued
 * (buffers, or payloads sent from files) are bounded server-wide (SERVER_BUF_BUDGET + SERVER_BUF_RESERVE),
 * each connection's to a fair share of it, and requests waiting for it are
 * served round-robin between source addresses. Connections are bounded by
 * cfg.max_conns (when full, an address holding fewer takes the slot of the
 * greediest address's longest-idle connection), requests in flight per
 * connection by SERVER_MAX_PIPELINE; a connection that completes no request
 * for cfg.idle_timeout seconds, or whose replies go unread for
 * cfg.write_timeout seconds, is closed. Upload can be limited to
 * cfg.rate_limit bytes/s. One line per
 * connection goes to server.log. */
#ifndef SERVER_H
#define SERVER_H

#include <stdio.h>
#include <uv.h>

#include "ls_auth.h"
#include "ls_catalog.h"
#include "ls_config.h"

#define SERVER_MAX_PIPELINE 16
#define SERVER_BUF_BUDGET (24u << 20)
#define SERVER_BUF_RESERVE (8u << 20) /* first chunks of connections holding none */
#define SERVER_COPY_MAX (1u << 20)    /* with TLS, bigger chunks go from their file a slice at a time */
#define SERVER_KEEPALIVE_S 30 /* TCP keepalive on accepted connections */

typedef struct server_s server_t;

int server_new(uv_loop_t *loop, const ls_config_t *cfg, ls_catalog_t *catalog, server_t **out);
/* Binds and listens on cfg->listen_addr:cfg->tcp_port. */
int server_start(server_t *srv);
int server_port(server_t *srv);
/* With a network key, every connection runs inside TLS 1.3 with the key's
 * PSK (ls_tls). 0 or a negative errno (OpenSSL refused a setting). */
int server_set_key(server_t *srv, const ls_key_t *key);
/* Closes the listener and every connection; frees once they are closed. */
void server_close(server_t *srv);

#endif
