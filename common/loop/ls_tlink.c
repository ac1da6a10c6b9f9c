#include "ls_tlink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_log.h"
#include "ls_net.h"
#include "ls_util.h"

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000

/* ---------- a link ---------- */

int ls_tlink_init(uv_loop_t *loop, ls_tlink_t *l, ls_tlink_msg_cb on_msg, ls_tlink_end_cb on_end,
                  ls_tlink_closed_cb on_closed) {
  memset(l, 0, sizeof *l);
  l->on_msg = on_msg;
  l->on_end = on_end;
  l->on_closed = on_closed;
  ls_tmsg_reader_init(&l->reader);
  int rc = uv_tcp_init(loop, &l->tcp);
  l->tcp.data = l;
  return rc;
}

/* One read buffer for every link of the thread: libuv fills it and calls
 * read_cb at once, and the frame reader copies what it keeps, so a link
 * holds no buffer of its own while it waits (a tracker holds thousands). */
static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  static _Thread_local char slab[16384];
  (void)h;
  (void)suggested;
  *buf = uv_buf_init(slab, sizeof slab);
}

static int frame_cb(void *ud, const char *json, size_t len) {
  ls_tlink_t *l = ud;
  ls_tmsg_t m;
  const char *why;
  if (ls_tmsg_decode(&m, json, len, &why) != 0) {
    char reason[128];
    snprintf(reason, sizeof reason, "bad message: %s", why);
    ls_tlink_close_for(l, LS_TLINK_END_BAD_MESSAGE, reason);
    return 1;
  }
  l->on_msg(l, &m);
  ls_tmsg_free(&m);
  return l->closing ? 1 : 0;
}

static void plain_received(ls_tlink_t *l, const uint8_t *data, size_t n) {
  int rc = ls_tmsg_reader_feed(&l->reader, data, n, frame_cb, l);
  if (rc == -EMSGSIZE) ls_tlink_close_for(l, LS_TLINK_END_BAD_MESSAGE, "bad message: oversized");
  else if (rc < 0 && !l->closing) ls_tlink_close_for(l, LS_TLINK_END_NOMEM, "out of memory");
}

/* ---------- TLS (with a network key) ---------- */

typedef struct {
  uv_write_t w;
  uint8_t *frame;
} wreq_t;

static void write_cb(uv_write_t *w, int status) {
  wreq_t *r = w->data;
  ls_tlink_t *l = w->handle->data;
  free(r->frame);
  free(r);
  if (status < 0 && !l->closing) ls_tlink_close_for(l, LS_TLINK_END_WRITE, "write failed");
}

/* What TLS has to send, as one write. */
static int tls_flush(ls_tlink_t *l) {
  size_t n = ls_tls_pending(&l->tls);
  if (n == 0) return 0;
  wreq_t *r = malloc(sizeof *r);
  uint8_t *buf = r ? malloc(n) : NULL;
  if (buf == NULL) {
    free(r);
    return UV_ENOMEM;
  }
  r->frame = buf;
  r->w.data = r;
  uv_buf_t b = uv_buf_init((char *)buf, (unsigned)ls_tls_take(&l->tls, buf, n));
  int rc = uv_write(&r->w, (uv_stream_t *)&l->tcp, &b, 1, write_cb);
  if (rc != 0) {
    free(buf);
    free(r);
  }
  return rc;
}

/* The handshake or a record failed (ls_tls_error says which and why). */
static void tls_fail(ls_tlink_t *l) {
  char why[sizeof l->tls.error];
  snprintf(why, sizeof why, "%s", ls_tls_error(&l->tls));
  tls_flush(l); /* an alert, if TLS has one to say */
  ls_tlink_close_for(l, LS_TLINK_END_TLS, why);
}

/* A server told plaintext by a client without the key: says so in plaintext. */
static void refuse_plaintext(ls_tlink_t *l) {
  ls_tmsg_t m;
  uint8_t *frame;
  size_t len;
  memset(&m, 0, sizeof m);
  m.type = LS_TMSG_ERROR;
  m.code = LS_TERR_AUTH;
  snprintf(m.reason, sizeof m.reason, "network key required");
  if (ls_tmsg_encode(&m, &frame, &len) == 0) {
    uv_buf_t b = uv_buf_init((char *)frame, (unsigned)len);
    uv_try_write((uv_stream_t *)&l->tcp, &b, 1);
    free(frame);
  }
  ls_tlink_close_for(l, LS_TLINK_END_TLS, "no network key (plaintext where TLS was required)");
}

/* The plaintext of every whole record, into the message reader. */
static void tls_drain(ls_tlink_t *l) {
  uint8_t plain[16384]; /* one TLS record at most */
  ssize_t n;
  while (!l->closing && (n = ls_tls_read(&l->tls, plain, sizeof plain)) != 0) {
    if (n == -EPIPE) {
      ls_tlink_close_for(l, LS_TLINK_END_EOF, "eof");
      return;
    }
    if (n < 0) {
      tls_fail(l);
      return;
    }
    plain_received(l, plain, (size_t)n);
  }
  if (!l->closing && tls_flush(l) != 0) ls_tlink_close_for(l, LS_TLINK_END_NOMEM, "out of memory");
}

static void tls_received(ls_tlink_t *l, const uint8_t *data, size_t n) {
  int server = l->tls_server;
  if (!l->first_byte_seen) {
    l->first_byte_seen = 1;
    if (server && ls_tls_looks_like_hello(data, n) == 0) {
      refuse_plaintext(l);
      return;
    }
    if (!server && (data[0] < 0x14 || data[0] > 0x17)) {
      ls_tlink_close_for(l, LS_TLINK_END_TLS, "answered in plaintext (no network key there, or full)");
      return;
    }
  }
  if (ls_tls_feed(&l->tls, data, n) != 0) {
    ls_tlink_close_for(l, LS_TLINK_END_NOMEM, "out of memory");
    return;
  }
  if (!l->tls.done) {
    int rc = ls_tls_handshake(&l->tls);
    if (rc < 0) {
      tls_fail(l);
      return;
    }
    if (tls_flush(l) != 0) ls_tlink_close_for(l, LS_TLINK_END_NOMEM, "out of memory");
    if (rc == 0 || l->closing) return;
    if (l->on_secure) l->on_secure(l);
  }
  tls_drain(l);
}

int ls_tlink_use_tls(ls_tlink_t *l, ls_tls_ctx_t *ctx) {
  if (ls_tls_init(&l->tls, ctx) != 0) return -ENOMEM;
  l->tls_open = 1;
  l->tls_server = ls_tls_ctx_role(ctx) == LS_TLS_SERVER;
  return 0;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  ls_tlink_t *l = s->data;
  if (l->closing) return;
  if (nread < 0) {
    if (nread == UV_EOF) ls_tlink_close_for(l, LS_TLINK_END_EOF, "eof");
    else ls_tlink_close_for(l, LS_TLINK_END_RESET, "reset");
    return;
  }
  if (nread == 0) return;
  if (l->tls_open) tls_received(l, (const uint8_t *)buf->base, (size_t)nread);
  else plain_received(l, (const uint8_t *)buf->base, (size_t)nread);
}

int ls_tlink_start(ls_tlink_t *l) {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getpeername(&l->tcp, (struct sockaddr *)&ss, &len) == 0)
    ls_net_addr_str((struct sockaddr *)&ss, l->peer, sizeof l->peer, &l->peer_port);
  uv_tcp_nodelay(&l->tcp, 1);
  int rc = uv_read_start((uv_stream_t *)&l->tcp, alloc_cb, read_cb);
  if (rc == 0 && l->tls_open && !l->tls_server) {
    if (ls_tls_handshake(&l->tls) < 0) return UV_EPROTO; /* the ClientHello */
    rc = tls_flush(l);
  }
  return rc;
}

int ls_tlink_send(ls_tlink_t *l, const ls_tmsg_t *m) {
  if (l->closing) return UV_ENOTCONN;
  if (uv_stream_get_write_queue_size((uv_stream_t *)&l->tcp) > LS_TLINK_MAX_QUEUED) {
    ls_tlink_close_for(l, LS_TLINK_END_WRITE, "too slow to read its replies");
    return UV_ENOBUFS;
  }
  wreq_t *r = malloc(sizeof *r);
  if (r == NULL) return UV_ENOMEM;
  size_t len;
  int rc = ls_tmsg_encode(m, &r->frame, &len);
  if (rc != 0) {
    free(r);
    return rc;
  }
  if (l->tls_open) {
    rc = ls_tls_write(&l->tls, r->frame, len) == 0 ? tls_flush(l) : UV_ENOTCONN;
    free(r->frame);
    free(r);
    return rc;
  }
  uv_buf_t b = uv_buf_init((char *)r->frame, (unsigned)len);
  r->w.data = r;
  rc = uv_write(&r->w, (uv_stream_t *)&l->tcp, &b, 1, write_cb);
  if (rc != 0) {
    free(r->frame);
    free(r);
  }
  return rc;
}

int ls_tlink_try_send(ls_tlink_t *l, const ls_tmsg_t *m) {
  if (l->closing) return UV_ENOTCONN;
  uint8_t *frame;
  size_t len;
  int rc = ls_tmsg_encode(m, &frame, &len);
  if (rc != 0) return rc;
  if (l->tls_open) { /* in a record, if the handshake is done */
    rc = ls_tls_write(&l->tls, frame, len);
    free(frame);
    if (rc != 0) return UV_ENOTCONN;
    len = ls_tls_pending(&l->tls);
    if ((frame = malloc(len)) == NULL) return UV_ENOMEM;
    len = ls_tls_take(&l->tls, frame, len);
  }
  uv_buf_t b = uv_buf_init((char *)frame, (unsigned)len);
  rc = uv_try_write((uv_stream_t *)&l->tcp, &b, 1);
  free(frame);
  return rc == (int)len ? 0 : UV_EAGAIN;
}

static void closed_cb(uv_handle_t *h) {
  ls_tlink_t *l = h->data;
  ls_tmsg_reader_close(&l->reader);
  if (l->tls_open) ls_tls_close(&l->tls);
  l->tls_open = 0;
  if (l->on_closed) l->on_closed(l);
}

void ls_tlink_close_for(ls_tlink_t *l, ls_tlink_end_t reason, const char *why) {
  if (l->closing) return;
  l->closing = 1;
  if (l->on_end) l->on_end(l, reason, why);
  uv_close((uv_handle_t *)&l->tcp, closed_cb);
}

void ls_tlink_close(ls_tlink_t *l, const char *why) {
  ls_tlink_close_for(l, LS_TLINK_END_LOCAL, why);
}

/* ---------- a client ---------- */

static void schedule_retry(ls_tclient_t *c);

/* With a network key the link is up once its TLS handshake is done. */
static void client_secure(ls_tlink_t *l) {
  ls_tclient_t *c = l->data;
  c->authed = 1;
  ls_info("tracker %s: TLS with the network key", c->addr_text);
  if (c->on_up) c->on_up(c);
}

static void client_msg(ls_tlink_t *l, ls_tmsg_t *m) {
  ls_tclient_t *c = l->data;
  if (c->key == NULL && m->type == LS_TMSG_ERROR && m->code == LS_TERR_AUTH) {
    ls_error("tracker %s requires a network key (key_file)", c->addr_text);
    ls_tlink_close(l, "network key required");
    return;
  }
  if (c->on_msg) c->on_msg(c, m);
}

static void client_end(ls_tlink_t *l, ls_tlink_end_t reason, const char *why) {
  ls_tclient_t *c = l->data;
  int was_up = c->connected && (c->key == NULL || c->authed);
  if (c->key != NULL && !c->authed && c->connected && (reason == LS_TLINK_END_TLS || reason == LS_TLINK_END_EOF))
    ls_error("tracker %s: no TLS with our network key (%s); it holds another key, or none",
             c->addr_text, why);
  c->connected = 0;
  c->authed = 0;
  c->link = NULL;
  if (was_up) {
    ls_warn("tracker %s: connection lost (%s)", c->addr_text, why);
    if (c->on_down) c->on_down(c);
  }
  schedule_retry(c);
}

static void client_closed(ls_tlink_t *l) {
  free(l);
}

static void connect_cb(uv_connect_t *req, int status) {
  ls_tclient_t *c = req->data;
  ls_tlink_t *l = (ls_tlink_t *)req->handle->data;
  if (status < 0 || c->stopping) {
    if (status < 0 && c->backoff_ms <= BACKOFF_MIN_MS)
      ls_warn("tracker %s: cannot connect (%s); retrying with backoff", c->addr_text, uv_strerror(status));
    l->on_end = NULL;
    c->link = NULL;
    ls_tlink_close(l, "connect failed");
    if (!c->stopping) schedule_retry(c);
    return;
  }
  c->connected = 1;
  c->backoff_ms = 0;
  c->authed = 0;
  ls_info("tracker %s: connected", c->addr_text);
  if (ls_tlink_start(l) != 0) {
    ls_tlink_close_for(l, LS_TLINK_END_TLS, "cannot start TLS");
    return;
  }
  if (c->key == NULL && c->on_up) c->on_up(c); /* with a key: once the TLS handshake is done */
}

static void try_connect(ls_tclient_t *c) {
  if (c->stopping || c->link != NULL) return;
  ls_tlink_t *l = malloc(sizeof *l);
  if (l == NULL) {
    schedule_retry(c);
    return;
  }
  ls_tlink_init(c->loop, l, client_msg, client_end, client_closed);
  l->data = c;
  l->on_secure = client_secure;
  if (c->key != NULL && ((c->tls == NULL && ls_tls_ctx_new(c->key, LS_TLS_TRACKER, LS_TLS_CLIENT, &c->tls) != 0) ||
                         ls_tlink_use_tls(l, c->tls) != 0)) {
    ls_error("tracker %s: cannot set up TLS for the network key", c->addr_text);
    l->on_end = NULL;
    ls_tlink_close(l, "no TLS");
    schedule_retry(c);
    return;
  }
  c->link = l;
  c->connect.data = c;
  int rc = uv_tcp_connect(&c->connect, &l->tcp, (const struct sockaddr *)&c->addr, connect_cb);
  if (rc != 0) {
    l->on_end = NULL;
    c->link = NULL;
    ls_tlink_close(l, "connect failed");
    schedule_retry(c);
  }
}

static void retry_cb(uv_timer_t *t) {
  try_connect(t->data);
}

/* Exponential backoff from 0.5 s to 30 s: never a busy loop. */
static void schedule_retry(ls_tclient_t *c) {
  if (c->stopping) return;
  c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_MIN_MS;
  if (c->backoff_ms > BACKOFF_MAX_MS) c->backoff_ms = BACKOFF_MAX_MS;
  uv_timer_start(&c->retry, retry_cb, c->backoff_ms, 0);
}

int ls_tclient_init(uv_loop_t *loop, ls_tclient_t *c, const char *addr, ls_tclient_cb on_up, ls_tclient_msg_cb on_msg,
                    ls_tclient_cb on_down) {
  memset(c, 0, sizeof *c);
  if (ls_net_parse_hostport(addr, &c->addr) != 0) return UV_EINVAL;
  snprintf(c->addr_text, sizeof c->addr_text, "%s", addr);
  c->loop = loop;
  c->on_up = on_up;
  c->on_msg = on_msg;
  c->on_down = on_down;
  uv_timer_init(loop, &c->retry);
  c->retry.data = c;
  return 0;
}

void ls_tclient_start(ls_tclient_t *c) {
  try_connect(c);
}

int ls_tclient_send(ls_tclient_t *c, const ls_tmsg_t *m) {
  if (!c->connected || c->link == NULL || (c->key != NULL && !c->authed)) return UV_ENOTCONN;
  return ls_tlink_send(c->link, m);
}

int ls_tclient_answer_ping(ls_tclient_t *c, const ls_tmsg_t *m) {
  if (m->type != LS_TMSG_PING) return 0;
  ls_tmsg_t pong;
  memset(&pong, 0, sizeof pong);
  pong.type = LS_TMSG_PONG;
  pong.id = m->id;
  ls_tclient_send(c, &pong);
  return 1;
}

void ls_tclient_drop(ls_tclient_t *c, const char *why) {
  if (c->link != NULL && c->connected) ls_tlink_close(c->link, why);
}

void ls_tclient_close(ls_tclient_t *c) {
  c->stopping = 1;
  if (c->link != NULL) {
    c->link->on_end = NULL;
    ls_tlink_close(c->link, "closing");
    c->link = NULL;
  }
  ls_tls_ctx_free(c->tls); /* links made from it keep their own references */
  c->tls = NULL;
  uv_close((uv_handle_t *)&c->retry, NULL);
}
