/* ls_tlink: a TCP connection carrying tracker messages (ls_tmsg), and a
 * client that keeps one open to a tracker, reconnecting with backoff.
 *
 * Used by the tracker for each peer, and by the announcer, the listener and
 * the client shell to reach the tracker. A malformed or oversized message
 * closes that one connection. With a network key the messages run inside
 * TLS 1.3 with the key's PSK (ls_tls, kind LS_TLS_TRACKER): a message is
 * handed on only after the handshake, so whatever arrives was sent by a
 * holder of the key; a record that fails its check ends the link. */
#ifndef LS_TLINK_H
#define LS_TLINK_H

#include <uv.h>

#include "ls_auth.h"
#include "ls_tls.h"
#include "ls_tmsg.h"

#define LS_TLINK_MAX_QUEUED (8u << 20) /* bytes waiting to be written: a slower reader is dropped */

typedef struct ls_tlink_s ls_tlink_t;
typedef void (*ls_tlink_msg_cb)(ls_tlink_t *l, ls_tmsg_t *m);

/* Why a link ended: the code to act on, beside the text to show. */
typedef enum {
  LS_TLINK_END_LOCAL,       /* the owner closed it (ls_tlink_close) */
  LS_TLINK_END_EOF,         /* the peer closed it */
  LS_TLINK_END_RESET,       /* a read error */
  LS_TLINK_END_BAD_MESSAGE, /* a frame that failed its check, or oversized */
  LS_TLINK_END_WRITE,       /* a write failed, or the peer reads too slowly */
  LS_TLINK_END_NOMEM,
  LS_TLINK_END_TLS,         /* the TLS handshake failed (another key, or none), or a record failed its check */
} ls_tlink_end_t;

/* Called once when the connection ends (why: "eof", "reset", "bad message:
 * ...", or the caller's reason); the owner may free l in on_closed. */
typedef void (*ls_tlink_end_cb)(ls_tlink_t *l, ls_tlink_end_t reason, const char *why);
typedef void (*ls_tlink_closed_cb)(ls_tlink_t *l);

struct ls_tlink_s {
  uv_tcp_t tcp;
  ls_tmsg_reader_t reader;
  ls_tlink_msg_cb on_msg;
  ls_tlink_end_cb on_end;
  ls_tlink_closed_cb on_closed;
  ls_tlink_closed_cb on_secure; /* with TLS: the handshake is done (messages may flow) */
  ls_tls_t tls;
  int tls_open;
  int tls_server;
  int first_byte_seen;
  void *data;
  char peer[LS_ADDR_MAX];
  uint16_t peer_port;
  int closing;
};

int ls_tlink_init(uv_loop_t *loop, ls_tlink_t *l, ls_tlink_msg_cb on_msg, ls_tlink_end_cb on_end,
                  ls_tlink_closed_cb on_closed);
/* With a network key: the link runs TLS in this context's role (before
 * ls_tlink_start). 0 or -ENOMEM. */
int ls_tlink_use_tls(ls_tlink_t *l, ls_tls_ctx_t *ctx);
/* Starts reading (after uv_accept or a connect); a TLS client says hello. */
int ls_tlink_start(ls_tlink_t *l);
int ls_tlink_send(ls_tlink_t *l, const ls_tmsg_t *m);
/* Writes now or not at all (for a last word before closing). */
int ls_tlink_try_send(ls_tlink_t *l, const ls_tmsg_t *m);
void ls_tlink_close(ls_tlink_t *l, const char *why);
/* The same with a reason code other than LS_TLINK_END_LOCAL. */
void ls_tlink_close_for(ls_tlink_t *l, ls_tlink_end_t reason, const char *why);

/* A client connection to a tracker. */
typedef struct ls_tclient_s ls_tclient_t;
typedef void (*ls_tclient_cb)(ls_tclient_t *c);
typedef void (*ls_tclient_msg_cb)(ls_tclient_t *c, ls_tmsg_t *m);

struct ls_tclient_s {
  uv_loop_t *loop;
  struct sockaddr_in addr;
  char addr_text[64];
  uv_timer_t retry;
  uv_connect_t connect;
  ls_tlink_t *link;        /* the current connection, NULL while down */
  int connected;
  unsigned backoff_ms;
  int stopping;
  ls_tclient_cb on_up;
  ls_tclient_msg_cb on_msg;
  ls_tclient_cb on_down;
  void *data;
  const ls_key_t *key;     /* the network key, or NULL: set before ls_tclient_start */
  ls_tls_ctx_t *tls;       /* made from key at the first connect */
  int authed;              /* the link is up: with a key, its TLS handshake is done */
};

/* addr: "host:port" with a dotted IPv4 host. 0 or UV_EINVAL. */
int ls_tclient_init(uv_loop_t *loop, ls_tclient_t *c, const char *addr, ls_tclient_cb on_up, ls_tclient_msg_cb on_msg,
                    ls_tclient_cb on_down);
void ls_tclient_start(ls_tclient_t *c);
/* Sends if connected; returns UV_ENOTCONN otherwise. */
int ls_tclient_send(ls_tclient_t *c, const ls_tmsg_t *m);
/* Answers a PING with a PONG of the same id; returns 1 if m was a ping. */
int ls_tclient_answer_ping(ls_tclient_t *c, const ls_tmsg_t *m);
/* Drops the connection (a reconnect follows, with backoff). */
void ls_tclient_drop(ls_tclient_t *c, const char *why);
void ls_tclient_close(ls_tclient_t *c);

#endif
