#include "ls_conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ls_log.h"
#include "ls_net.h"

#define SHARED_SLAB 4096
#define DIRECT_MIN 4096 /* a payload with this much left is received in place */

const char *ls_conn_end_name(ls_conn_end_t why) {
  switch (why) {
    case LS_CONN_END_LOCAL: return "closed";
    case LS_CONN_END_EOF: return "eof";
    case LS_CONN_END_RESET: return "reset";
    case LS_CONN_END_PROTOCOL: return "protocol-error";
    case LS_CONN_END_NOMEM: return "out-of-memory";
    case LS_CONN_END_WRITE: return "write-error";
    case LS_CONN_END_IDLE: return "idle";
    case LS_CONN_END_STALL: return "stalled";
    case LS_CONN_END_CONNECT: return "connect-failed";
    case LS_CONN_END_CONNECT_TIMEOUT: return "connect-timeout";
    case LS_CONN_END_AUTH_TIMEOUT: return "auth-timeout";
    case LS_CONN_END_AUTH_FAILED: return "auth-failed";
    case LS_CONN_END_AUTH_REFUSED: return "auth-refused";
    case LS_CONN_END_KEY_REQUIRED: return "key-required";
    case LS_CONN_END_REFUSED: return "refused";
    case LS_CONN_END_SHUTDOWN: return "shutdown";
    case LS_CONN_END_WRITE_TIMEOUT: return "write-timeout";
    case LS_CONN_END_EVICTED: return "evicted";
  }
  return "closed";
}

int ls_conn_init(uv_loop_t *loop, ls_conn_t *c, const ls_conn_opts_t *o) {
  static uint8_t shared[SHARED_SLAB]; /* the reader copies what it keeps */
  memset(c, 0, sizeof *c);
  c->o = *o;
  if (c->o.key != NULL && !c->o.key->set) c->o.key = NULL;
  c->state = LS_CONN_CONNECTING;
  c->slab = shared;
  if (o->slab > 0) {
    if ((c->slab = malloc(o->slab)) == NULL) return UV_ENOMEM;
    c->own_slab = 1;
  } else {
    c->o.slab = SHARED_SLAB;
  }
  ls_proto_reader_init(&c->reader, o->max_payload, o->role == LS_CONN_SERVER);
  uv_tcp_init(loop, &c->tcp);
  uv_timer_init(loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->handles = 2;
  c->poll_fd = -1;
  return 0;
}

/* ---------- closing ---------- */

static void out_cancel_all(ls_conn_t *c);

static void handle_closed(uv_handle_t *h) {
  ls_conn_t *c = h->data;
  if (--c->handles > 0) return;
  out_cancel_all(c);
  if (c->own_slab) free(c->slab);
  c->slab = NULL;
  if (c->o.on_closed) c->o.on_closed(c);
}

static void poll_closed(uv_handle_t *h) {
  ls_conn_t *c = h->data;
  close(c->poll_fd); /* the dup: the socket itself goes with the tcp handle */
  c->poll_fd = -1;
  handle_closed(h);
}

void ls_conn_close(ls_conn_t *c, ls_conn_end_t why) {
  if (c->state == LS_CONN_CLOSED) return;
  c->state = LS_CONN_CLOSED;
  ls_proto_reader_close(&c->reader);
  if (c->o.on_end) c->o.on_end(c, why);
  uv_close((uv_handle_t *)&c->tcp, handle_closed);
  uv_close((uv_handle_t *)&c->timer, handle_closed);
  if (c->poll_fd >= 0) uv_close((uv_handle_t *)&c->poll, poll_closed);
}

void ls_conn_fail(ls_conn_t *c, uint32_t id, uint16_t code, const char *text, ls_conn_end_t why) {
  if (c->state == LS_CONN_CLOSED) return;
  uint8_t err[LS_PROTO_HEADER_LEN + 2 + LS_PROTO_MAX_ERROR_TEXT];
  size_t n = ls_proto_encode_error(err, id, code, text);
  uv_buf_t b = uv_buf_init((char *)err, (unsigned)n);
  uv_try_write((uv_stream_t *)&c->tcp, &b, 1); /* a last word: now or never */
  c->errors_sent++;
  ls_conn_close(c, why);
}

/* ---------- writing ---------- */

typedef struct {
  uv_write_t w;
  uint8_t buf[];
} small_write_t;

static void small_written(uv_write_t *w, int status) {
  (void)status; /* a failed write shows up as a read error or a timeout */
  free(w->data);
}

int ls_conn_send(ls_conn_t *c, uint8_t type, uint32_t id, const uint8_t *payload, size_t len) {
  if (c->state == LS_CONN_CLOSED) return UV_ENOTCONN;
  small_write_t *sw = malloc(sizeof *sw + LS_PROTO_HEADER_LEN + len);
  if (sw == NULL) return UV_ENOMEM;
  size_t n = ls_proto_encode_header(sw->buf, type, id, len);
  if (len > 0) memcpy(sw->buf + n, payload, len);
  uv_buf_t b = uv_buf_init((char *)sw->buf, (unsigned)(n + len));
  sw->w.data = sw;
  int rc = uv_write(&sw->w, (uv_stream_t *)&c->tcp, &b, 1, small_written);
  if (rc != 0) free(sw);
  else c->bytes_queued += b.len;
  return rc;
}

size_t ls_conn_unsent(const ls_conn_t *c) {
  if (c->state == LS_CONN_CLOSED) return 0;
  return uv_stream_get_write_queue_size((const uv_stream_t *)&c->tcp) + c->out_unsent;
}

/* ---------- the reply queue ----------
 * One frame at a time: buffers through uv_write; a file payload after its
 * header straight from the socket's own fd (send, then sendfile), both
 * non-blocking on the loop thread, waiting for writability on a uv_poll of a
 * dup of the socket (libuv's own watcher keeps the socket itself). The owner
 * warms the file's pages on the thread pool first (readahead), so sendfile
 * does not wait for the disk here. */

static void out_next(ls_conn_t *c);

static size_t out_len(const ls_conn_out_t *o) {
  size_t n = o->left;
  for (unsigned i = 0; i < o->nbufs; i++) n += o->bufs[i].len;
  return n;
}

static void out_finish(ls_conn_t *c, ls_conn_out_t *o, int status) {
  c->out_cur = NULL;
  c->out_unsent -= out_len(o) - o->head_sent;
  if (c->poll_fd >= 0 && c->state != LS_CONN_CLOSED) uv_poll_stop(&c->poll);
  o->cb(o, status);
  if (c->state != LS_CONN_CLOSED) out_next(c);
}

static void out_cancel_all(ls_conn_t *c) {
  if (c->out_cur != NULL) out_finish(c, c->out_cur, UV_ECANCELED);
  while (c->out_head != NULL) {
    ls_conn_out_t *o = c->out_head;
    c->out_head = o->next;
    out_finish(c, o, UV_ECANCELED);
  }
  c->out_tail = NULL;
}

static void out_written(uv_write_t *w, int status) {
  ls_conn_out_t *o = w->data;
  out_finish(o->c, o, status);
}

static void out_file_step(ls_conn_t *c);

static void out_writable(uv_poll_t *p, int status, int events) {
  ls_conn_t *c = p->data;
  (void)events;
  if (c->out_cur == NULL) return;
  if (status < 0) out_finish(c, c->out_cur, status);
  else out_file_step(c);
}

/* Waits for the socket to take more. 0, or a negative UV_E* code. */
static int out_wait(ls_conn_t *c) {
  if (c->poll_fd < 0) {
    uv_os_fd_t sock;
    if (uv_fileno((uv_handle_t *)&c->tcp, &sock) != 0) return UV_EBADF;
    int fd = dup(sock);
    if (fd < 0) return uv_translate_sys_error(errno);
    if (uv_poll_init_socket(c->tcp.loop, &c->poll, fd) != 0) {
      close(fd);
      return UV_EIO;
    }
    c->poll_fd = fd;
    c->poll.data = c;
    c->handles++;
  }
  return uv_poll_start(&c->poll, UV_WRITABLE, out_writable);
}

/* Sends what the socket takes of the current file frame: 0 once it is all
 * sent, 1 to wait, or a negative UV_E* code. */
static int out_file_send(ls_conn_t *c, ls_conn_out_t *o) {
  uv_os_fd_t fd;
  if (uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0) return UV_EBADF;
  /* Bytes libuv still queues (a handshake frame) go first. */
  if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) > 0) return 1;
  while (o->head_sent < o->bufs[0].len) {
    ssize_t n = send(fd, o->bufs[0].base + o->head_sent, o->bufs[0].len - o->head_sent,
                     MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : uv_translate_sys_error(errno);
    o->head_sent += (size_t)n;
    c->out_unsent -= (size_t)n;
  }
  while (o->left > 0) {
    ssize_t n = sendfile(fd, o->fd, &o->off, o->left < (1u << 30) ? o->left : (1u << 30));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : uv_translate_sys_error(errno);
    if (n == 0) return UV_EIO; /* the file shrank */
    o->left -= (size_t)n;
    c->out_unsent -= (size_t)n;
  }
  return 0;
}

static void out_file_step(ls_conn_t *c) {
  ls_conn_out_t *o = c->out_cur;
  int rc = out_file_send(c, o);
  if (rc == 1) rc = out_wait(c);
  else if (rc == 0) out_finish(c, o, 0);
  if (rc < 0) out_finish(c, o, rc);
}

static void out_next(ls_conn_t *c) {
  if (c->out_cur != NULL || c->out_head == NULL) return;
  ls_conn_out_t *o = c->out_head;
  c->out_head = o->next;
  if (c->out_head == NULL) c->out_tail = NULL;
  c->out_cur = o;
  if (o->fd >= 0) {
    out_file_step(c);
    return;
  }
  /* Buffers: libuv's queue counts them from here. */
  size_t len = out_len(o);
  o->w.data = o;
  int rc = uv_write(&o->w, (uv_stream_t *)&c->tcp, o->bufs, o->nbufs, out_written);
  if (rc != 0) {
    out_finish(c, o, rc);
    return;
  }
  c->out_unsent -= len;
  o->head_sent = len; /* nothing of it is ours to count any more */
}

static int out_push(ls_conn_t *c, ls_conn_out_t *o, ls_conn_out_cb cb) {
  if (c->state == LS_CONN_CLOSED) return UV_ENOTCONN;
  o->c = c;
  o->cb = cb;
  o->next = NULL;
  o->head_sent = 0;
  size_t len = out_len(o);
  c->bytes_queued += len;
  c->out_unsent += len;
  if (c->out_tail) c->out_tail->next = o;
  else c->out_head = o;
  c->out_tail = o;
  out_next(c);
  return 0;
}

int ls_conn_out(ls_conn_t *c, ls_conn_out_t *o, const uv_buf_t *bufs, unsigned n, ls_conn_out_cb cb) {
  if (n == 0 || n > 2) return UV_EINVAL;
  memcpy(o->bufs, bufs, n * sizeof *bufs);
  o->nbufs = n;
  o->fd = -1;
  o->left = 0;
  return out_push(c, o, cb);
}

int ls_conn_out_file(ls_conn_t *c, ls_conn_out_t *o, uv_buf_t head, int fd, uint64_t off, size_t len,
                     ls_conn_out_cb cb) {
  if (!ls_conn_sendfile_ok(c) || fd < 0 || head.len == 0) return UV_EINVAL;
  o->bufs[0] = head;
  o->nbufs = 1;
  o->fd = fd;
  o->off = (int64_t)off;
  o->left = len;
  return out_push(c, o, cb);
}

int ls_conn_sendfile_ok(const ls_conn_t *c) {
  return !c->o.copy_payloads;
}

uint64_t ls_conn_bytes_sent(const ls_conn_t *c) {
  return c->bytes_queued - ls_conn_unsent(c);
}

/* ---------- the network key (docs/PROTOCOL.md, section 5) ---------- */

/* Server: nothing is answered before the client proves it holds the key;
 * the server proves it too. */
static int server_handshake(ls_conn_t *c, const ls_frame_t *f) {
  uint8_t proof[LS_MAC_LEN];
  if (f->type == LS_MSG_AUTH_RESPONSE && f->len == LS_NONCE_LEN + LS_MAC_LEN &&
      ls_auth_check_response(c->o.key, &c->hs, f->payload, f->payload + LS_NONCE_LEN, proof) == 0) {
    c->state = LS_CONN_READY;
    ls_conn_send(c, LS_MSG_AUTH_OK, 0, proof, LS_MAC_LEN);
    if (c->o.on_ready) c->o.on_ready(c);
    return 0;
  }
  static ls_ratelimit_t rl = {5, 10000, 0, 0, 0};
  unsigned long dropped;
  if (ls_ratelimit_allow(&rl, &dropped)) ls_warn("connection from %s: no valid network key; closed", c->peer);
  ls_conn_fail(c, f->id, LS_ERR_AUTH, "network key required", LS_CONN_END_AUTH_FAILED);
  return 1;
}

/* Client: answer the challenge, then check the server's proof before
 * anything else is sent. */
static int client_handshake(ls_conn_t *c, const ls_frame_t *f) {
  if (f->type == LS_MSG_AUTH_CHALLENGE && !c->auth_pending) {
    uint8_t answer[LS_NONCE_LEN + LS_MAC_LEN];
    ls_auth_respond(c->o.key, &c->hs, LS_AUTH_CHUNK, f->payload, answer + LS_NONCE_LEN);
    memcpy(answer, c->hs.client_nonce, LS_NONCE_LEN);
    c->auth_pending = 1;
    if (ls_conn_send(c, LS_MSG_AUTH_RESPONSE, 0, answer, sizeof answer) != 0) {
      ls_conn_close(c, LS_CONN_END_WRITE);
      return 1;
    }
    return 0;
  }
  if (f->type == LS_MSG_AUTH_OK && c->auth_pending && ls_auth_check_proof(c->o.key, &c->hs, f->payload) == 0) {
    c->auth_pending = 0;
    c->state = LS_CONN_READY;
    if (c->o.on_ready) c->o.on_ready(c);
    return c->state == LS_CONN_READY ? 0 : 1;
  }
  ls_conn_close(c, f->type == LS_MSG_ERROR ? LS_CONN_END_AUTH_REFUSED : LS_CONN_END_AUTH_FAILED);
  return 1;
}

/* ---------- reading ---------- */

static int frame_cb(void *ud, ls_frame_t *f) {
  ls_conn_t *c = ud;
  if (c->state == LS_CONN_CLOSED) return 1;
  if (c->state == LS_CONN_HANDSHAKE)
    return c->o.role == LS_CONN_SERVER ? server_handshake(c, f) : client_handshake(c, f);
  if (c->o.role == LS_CONN_SERVER) {
    uv_timer_again(&c->timer); /* a whole request is activity; stray bytes are not */
  } else if (f->type == LS_MSG_AUTH_CHALLENGE) {
    ls_conn_close(c, LS_CONN_END_KEY_REQUIRED);
    return 1;
  }
  int rc = c->o.on_frame(c, f);
  return c->state == LS_CONN_CLOSED ? 1 : rc;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  ls_conn_t *c = h->data;
  size_t room;
  (void)suggested;
  uint8_t *direct = ls_proto_reader_direct(&c->reader, &room);
  if (direct != NULL && room >= DIRECT_MIN) *buf = uv_buf_init((char *)direct, (unsigned)room);
  else *buf = uv_buf_init((char *)c->slab, (unsigned)c->o.slab);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  ls_conn_t *c = s->data;
  if (c->state == LS_CONN_CLOSED) return;
  if (nread < 0) {
    ls_conn_close(c, nread == UV_EOF ? LS_CONN_END_EOF : LS_CONN_END_RESET);
    return;
  }
  if (nread == 0) return;
  c->bytes_received += (uint64_t)nread;
  /* A client's progress: bytes of an awaited reply restart the stall clock. */
  ls_conn_busy_cb receiving = c->o.receiving ? c->o.receiving : c->o.busy;
  if (c->o.role == LS_CONN_CLIENT && c->state == LS_CONN_READY && receiving && receiving(c))
    uv_timer_again(&c->timer);
  int rc;
  if ((uint8_t *)buf->base == c->slab) rc = ls_proto_reader_feed(&c->reader, c->slab, (size_t)nread, frame_cb, c);
  else rc = ls_proto_reader_commit(&c->reader, (size_t)nread, frame_cb, c);
  if (c->state == LS_CONN_CLOSED) return;
  if (rc == -EPROTO) {
    /* The byte stream cannot be trusted: a server says so once; both hang up. */
    if (c->o.role == LS_CONN_SERVER) ls_conn_fail(c, 0, LS_ERR_BAD_REQUEST, "malformed frame", LS_CONN_END_PROTOCOL);
    else ls_conn_close(c, LS_CONN_END_PROTOCOL);
  } else if (rc < 0) {
    ls_conn_close(c, LS_CONN_END_NOMEM);
  }
}

void ls_conn_set_reading(ls_conn_t *c, int on) {
  if (c->state == LS_CONN_CLOSED || !c->connected) return;
  if (on && !c->reading) {
    if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) == 0) c->reading = 1;
  } else if (!on && c->reading) {
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
  }
}

void ls_conn_set_max_payload(ls_conn_t *c, size_t max_payload) {
  c->reader.max_payload = max_payload;
}

/* ---------- the timer ---------- */

static void timer_cb(uv_timer_t *t) {
  ls_conn_t *c = t->data;
  int busy = c->o.busy != NULL && c->o.busy(c);
  if (c->state == LS_CONN_CONNECTING) ls_conn_close(c, LS_CONN_END_CONNECT_TIMEOUT);
  else if (c->state == LS_CONN_HANDSHAKE && c->o.role == LS_CONN_CLIENT) ls_conn_close(c, LS_CONN_END_AUTH_TIMEOUT);
  else if (c->o.role == LS_CONN_SERVER && !busy) ls_conn_close(c, LS_CONN_END_IDLE);
  else if (c->o.role == LS_CONN_CLIENT && busy) ls_conn_close(c, LS_CONN_END_STALL);
  else if (c->o.role == LS_CONN_CLIENT) uv_timer_stop(t);
}

void ls_conn_watch(ls_conn_t *c) {
  if (c->state != LS_CONN_CLOSED) uv_timer_start(&c->timer, timer_cb, c->o.timeout_ms, c->o.timeout_ms);
}

void ls_conn_arm(ls_conn_t *c) {
  if (!uv_is_active((uv_handle_t *)&c->timer)) ls_conn_watch(c);
}

void ls_conn_rest(ls_conn_t *c) {
  if (c->state != LS_CONN_CLOSED) uv_timer_stop(&c->timer);
}

int ls_conn_ready(const ls_conn_t *c) {
  return c->state == LS_CONN_READY;
}

/* ---------- opening ---------- */

static void learn_peer(ls_conn_t *c) {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  c->connected = 1;
  uv_tcp_nodelay(&c->tcp, 1);
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
    ls_net_addr_str((struct sockaddr *)&ss, c->peer, sizeof c->peer, &c->peer_port);
}

/* Keepalive probes a peer silent for keepalive_s (a pulled cable, a crashed
 * host), so its connection ends instead of lingering. */
static void keepalive(ls_conn_t *c) {
  if (c->o.keepalive_s > 0) uv_tcp_keepalive(&c->tcp, 1, c->o.keepalive_s);
}

int ls_conn_accept(ls_conn_t *c, uv_stream_t *listener) {
  int rc = uv_accept(listener, (uv_stream_t *)&c->tcp);
  if (rc == 0) {
    learn_peer(c);
    keepalive(c);
  }
  return rc;
}

void ls_conn_start(ls_conn_t *c) {
  ls_conn_watch(c);
  c->state = c->o.key != NULL ? LS_CONN_HANDSHAKE : LS_CONN_READY;
  if (c->o.key != NULL) {
    ls_auth_challenge(&c->hs, LS_AUTH_CHUNK);
    ls_conn_send(c, LS_MSG_AUTH_CHALLENGE, 0, c->hs.server_nonce, LS_NONCE_LEN);
  }
  ls_conn_set_reading(c, 1);
}

static void connect_cb(uv_connect_t *req, int status) {
  ls_conn_t *c = req->data;
  free(req);
  if (c->state != LS_CONN_CONNECTING) return;
  if (status < 0) {
    c->error = status;
    ls_conn_close(c, LS_CONN_END_CONNECT);
    return;
  }
  learn_peer(c);
  uv_timer_stop(&c->timer);
  ls_conn_set_reading(c, 1);
  if (c->o.key != NULL) {
    c->state = LS_CONN_HANDSHAKE;
    ls_conn_watch(c); /* the challenge must come in time */
    return;
  }
  c->state = LS_CONN_READY;
  if (c->o.on_ready) c->o.on_ready(c);
}

int ls_conn_connect(ls_conn_t *c, const struct sockaddr *addr) {
  uv_connect_t *req = malloc(sizeof *req);
  if (req == NULL) return UV_ENOMEM;
  req->data = c;
  ls_conn_watch(c);
  int rc = uv_tcp_connect(req, &c->tcp, addr, connect_cb);
  if (rc != 0) free(req);
  return rc;
}
