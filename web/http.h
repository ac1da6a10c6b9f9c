/* http: the dashboard's HTTP side, on libmicrohttpd (a thread per
 * connection, so an event stream may block waiting for the hub).
 *
 * Serves the embedded page and the JSON API of docs/WEB.md. Every /api/ call
 * needs the token (Authorization: Bearer, or ?token= for the event stream);
 * calls that change something are POSTs that need the header (never the
 * query), application/json, a same-origin Origin / Sec-Fetch-Site when the
 * browser sends them, and a body of at most HTTP_BODY_MAX bytes. On loopback
 * the Host header must name loopback (no DNS rebinding). */
#ifndef HTTP_H
#define HTTP_H

#include "hub.h"

#define HTTP_BODY_MAX (16u << 10)
#define HTTP_MAX_CONNS 64
#define HTTP_TIMEOUT_S 60
#define HTTP_SSE_KEEPALIVE_MS 15000
#define HTTP_WRONG_TOKEN_DELAY_MS 250 /* per wrong guess, per connection */

typedef struct http_s http_t;

/* Listens on addr:port (0: any free port). err gets a one-line reason. */
int http_start(hub_t *hub, const char *addr, int port, const char *token, http_t **out, char *err, size_t errlen);
int http_port(const http_t *h);
/* Stops accepting, waits for every connection thread (call hub_stop first so
 * event streams and waiting commands end). */
void http_stop(http_t *h);

#endif
