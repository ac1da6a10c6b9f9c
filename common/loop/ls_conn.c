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
#define TLS_AHEAD (1u << 20) /* records handed to libuv before the next frame is encrypted */
#define TLS_WHOLE ((1u << 20) + 64) /* with TLS, a frame up to this (a 1 MiB chunk's) is encrypted at once; */
#define TLS_SLICE (256u << 10)        /* a longer one, or a file's, this much at a time */

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
    case LS_CONN_END_KEY_REQUIRED: return "key-required";
    case LS_CONN_END_REFUSED: return "refused";
    case LS_CONN_END_SHUTDOWN: return "shutdown";
    case LS_CONN_END_WRITE_TIMEOUT: return "write-timeout";
    case LS_CONN_END_EVICTED: return "evicted";
    case LS_CONN_END_TLS: return "tls-error";
  }
  return "closed";
}

int ls_conn_init(uv_loop_t *loop, ls_conn_t *c, const ls_conn_opts_t *o) {
  static uint8_t shared[SHARED_SLAB]; /* the reader copies what it keeps */
  memset(c, 0, sizeof *c);
  c->o = *o;
  c->state = LS_CONN_CONNECTING;
  c->slab = shared;
  if (o->slab > 0) {
    if ((c->slab = malloc(o->slab)) == NULL) return UV_ENOMEM;
    c->own_slab = 1;
  } else {
    c->o.slab = SHARED_SLAB;
  }
  if (o->tls != NULL) {
    if (ls_tls_init(&c->tls, o->tls) != 0) {
      if (c->own_slab) free(c->slab);
      return UV_ENOMEM;
    }
    c->tls_open = 1;
  }
  ls_proto_reader_init(&c->reader, o->max_payload, o->role == LS_CONN_SERVER);
  if (o->part_len > 0) ls_proto_reader_parts(&c->reader, o->part_type, o->part_head, o->part_len);
  uv_tcp_init(loop, &c->tcp);
  uv_timer_init(loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->handles = 2;
  c->poll_fd = -1;
  return 0;
}

/* ---------- closing ---------- */

static void out_cancel_all(ls_conn_t *c);
static void tls_last_word(ls_conn_t *c, const uv_buf_t *b);

static void handle_closed(uv_handle_t *h) {
  ls_conn_t *c = h->data;
  if (--c->handles > 0) return;
  out_cancel_all(c);
  if (c->own_slab) free(c->slab);
  c->slab = NULL;
  free(c->tls_slice);
  c->tls_slice = NULL;
  if (c->tls_open) ls_tls_close(&c->tls);
  c->tls_open = 0;
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
  ls_conn_out_t *cur = c->out_cur;
  if (c->tls_open && c->tls.done) {
    if (c->tls_cur == NULL) tls_last_word(c, &b); /* in a record (not inside a frame's), and the close_notify */
  }
  else if (cur == NULL || cur->fd < 0 || cur->head_sent == 0) /* not inside a frame sent with sendfile */
    uv_try_write((uv_stream_t *)&c->tcp, &b, 1);          /* a last word: now or never */
  c->errors_sent++;
  ls_conn_close(c, why);
}

/* ---------- writing ---------- */

typedef struct {
  uv_write_t w;
  ls_conn_t *c;
  ls_conn_out_t *o; /* with TLS: the reply queue's frame these records carry, told when written */
  uint8_t *records; /* with TLS: ls_tls's buffer (len bytes), written as it is */
  size_t len;
  uint8_t buf[];
} small_write_t;

static void out_finish(ls_conn_t *c, ls_conn_out_t *o, int status);
static void out_next(ls_conn_t *c);

static void small_written(uv_write_t *w, int status) {
  small_write_t *sw = w->data; /* a failed write shows up as a read error or a timeout */
  ls_conn_t *c = sw->c;
  ls_conn_out_t *o = sw->o;
  if (c != NULL) c->tls_held -= sw->len;
  free(sw->records);
  free(sw);
  if (o != NULL) out_finish(o->c, o, status);
  else if (c != NULL && c->tls_cur != NULL && c->state != LS_CONN_CLOSED) out_next(c); /* its next slice */
}

/* With TLS: what ls_tls has to send (records, handshake messages, alerts)
 * as one write; the queue's frame o, if any, is told when it is written. */
static int tls_flush(ls_conn_t *c, ls_conn_out_t *o) {
  if (ls_tls_pending(&c->tls) == 0) return o != NULL ? UV_EINVAL : 0;
  small_write_t *sw = malloc(sizeof *sw);
  if (sw == NULL) return UV_ENOMEM;
  size_t n;
  sw->records = ls_tls_take_all(&c->tls, &n); /* no copy: the records as TLS made them */
  sw->c = c;
  sw->o = o;
  sw->len = n;
  sw->w.data = sw;
  uv_buf_t b = uv_buf_init((char *)sw->records, (unsigned)n);
  int rc = uv_write(&sw->w, (uv_stream_t *)&c->tcp, &b, 1, small_written);
  if (rc != 0) {
    free(sw->records);
    free(sw);
  } else {
    c->bytes_queued += n;
    c->tls_held += n;
  }
  return rc;
}

static int tls_send(ls_conn_t *c, const uv_buf_t *bufs, unsigned n, ls_conn_out_t *o) {
  for (unsigned i = 0; i < n; i++)
    if (ls_tls_write(&c->tls, (const uint8_t *)bufs[i].base, bufs[i].len) != 0) return UV_EPROTO;
  return tls_flush(c, o);
}

/* A last word in a record, then the close_notify: now or never. */
static void tls_last_word(ls_conn_t *c, const uv_buf_t *b) {
  uint8_t out[1024];
  if (ls_tls_write(&c->tls, (const uint8_t *)b->base, b->len) != 0) return;
  ls_tls_shutdown(&c->tls);
  size_t n = ls_tls_take(&c->tls, out, sizeof out);
  uv_buf_t cb = uv_buf_init((char *)out, (unsigned)n);
  if (n > 0) uv_try_write((uv_stream_t *)&c->tcp, &cb, 1);
}

int ls_conn_send(ls_conn_t *c, uint8_t type, uint32_t id, const uint8_t *payload, size_t len) {
  if (c->state == LS_CONN_CLOSED) return UV_ENOTCONN;
  small_write_t *sw = malloc(sizeof *sw + LS_PROTO_HEADER_LEN + len);
  if (sw == NULL) return UV_ENOMEM;
  size_t n = ls_proto_encode_header(sw->buf, type, id, len);
  if (len > 0) memcpy(sw->buf + n, payload, len);
  uv_buf_t b = uv_buf_init((char *)sw->buf, (unsigned)(n + len));
  if (c->tls_open) {
    int rc = tls_send(c, &b, 1, NULL);
    free(sw);
    return rc;
  }
  sw->w.data = sw;
  sw->c = NULL;
  sw->o = NULL;
  sw->records = NULL;
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
 * does not wait for the disk here. With TLS, frames are encrypted in order
 * (records leave in the order they were made) shortly before the socket
 * needs them (out_next_tls), and their records go through uv_write. */

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
  if (c->tls_cur != NULL) {
    ls_conn_out_t *o = c->tls_cur;
    c->tls_cur = NULL;
    out_finish(c, o, UV_ECANCELED);
  }
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

/* With TLS, up to want bytes of the file payload of o, read (pread: the
 * owner warmed the pages) and encrypted. 0 or a negative UV_E* code. */
static int tls_file_read(ls_conn_t *c, ls_conn_out_t *o, size_t want) {
  size_t n = o->left < want ? o->left : want, got = 0;
  if (c->tls_slice == NULL && (c->tls_slice = malloc(TLS_SLICE)) == NULL) return UV_ENOMEM;
  while (got < n) {
    ssize_t r = pread(o->fd, c->tls_slice + got, n - got, (off_t)(o->off + (int64_t)got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return r < 0 ? uv_translate_sys_error(errno) : UV_EIO; /* 0: the file shrank */
    got += (size_t)r;
  }
  o->off += (int64_t)n;
  o->left -= n;
  o->head_sent = out_len(o); /* nothing of it is ours to count any more */
  return ls_tls_write(&c->tls, c->tls_slice, n) != 0 ? UV_EPROTO : 0;
}

/* With TLS, the next slice of c->tls_cur, a frame too long to be encrypted
 * at once (or a file's): up to TLS_SLICE bytes of its buffers, then of its
 * file; the last slice's records carry the frame, told when written. */
static void tls_slice(ls_conn_t *c) {
  ls_conn_out_t *o = c->tls_cur;
  size_t want = TLS_SLICE, pos = c->tls_off, bufs = 0;
  int rc = 0;
  for (unsigned i = 0; i < o->nbufs; i++) { /* pos: where this slice starts in buffer i */
    size_t blen = o->bufs[i].len, n = pos < blen ? (blen - pos < want ? blen - pos : want) : 0;
    if (n > 0 && rc == 0 && ls_tls_write(&c->tls, (const uint8_t *)o->bufs[i].base + pos, n) != 0) rc = UV_EPROTO;
    c->tls_off += n;
    want -= n;
    pos = pos > blen ? pos - blen : 0;
    bufs += blen;
  }
  if (rc == 0 && want > 0 && o->left > 0) rc = tls_file_read(c, o, want);
  int last = c->tls_off == bufs && o->left == 0;
  if (rc == 0) rc = tls_flush(c, last ? o : NULL);
  if (rc != 0 || last) c->tls_cur = NULL;
  if (rc != 0) out_finish(c, o, rc);
}

/* With TLS: frames are encrypted in queue order while less than TLS_AHEAD of
 * records are held (queued in libuv, or written and not yet called back), so
 * the next frame's records are ready before the socket runs dry (the loop
 * encrypts while the kernel sends), and no more than about TLS_WHOLE and
 * TLS_AHEAD wait in memory as records: a longer frame, or one from a file,
 * goes a slice at a time (tls_slice). */
static void out_next_tls(ls_conn_t *c) {
  while ((c->out_head != NULL || c->tls_cur != NULL) && c->state != LS_CONN_CLOSED &&
         c->tls_held < TLS_AHEAD) {
    if (c->tls_cur != NULL) {
      tls_slice(c);
      continue;
    }
    ls_conn_out_t *o = c->out_head;
    c->out_head = o->next;
    if (c->out_head == NULL) c->out_tail = NULL;
    size_t len = out_len(o);
    c->bytes_queued -= len; /* tls_flush counts the records instead */
    c->out_unsent -= len;
    o->head_sent = len;     /* nothing of it is ours to count any more */
    if (o->fd >= 0 || len > TLS_WHOLE) {
      c->tls_cur = o;
      c->tls_off = 0;
      continue;
    }
    int rc = tls_send(c, o->bufs, o->nbufs, o);
    if (rc != 0) out_finish(c, o, rc);
  }
}

static void out_next(ls_conn_t *c) {
  if (c->tls_open) {
    out_next_tls(c);
    return;
  }
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
  if (fd < 0 || head.len == 0) return UV_EINVAL;
  o->bufs[0] = head;
  o->nbufs = 1;
  o->fd = fd;
  o->off = (int64_t)off;
  o->left = len;
  return out_push(c, o, cb);
}

int ls_conn_sendfile_ok(const ls_conn_t *c) {
  return !c->tls_open;
}

uint64_t ls_conn_bytes_sent(const ls_conn_t *c) {
  return c->bytes_queued - ls_conn_unsent(c);
}

/* ---------- the network key: TLS (docs/PROTOCOL.md, "The TLS layer") ---------- */

static void became_ready(ls_conn_t *c) {
  c->state = LS_CONN_READY;
  if (c->o.role == LS_CONN_CLIENT) uv_timer_stop(&c->timer); /* the stall clock starts with a request */
  if (c->o.on_ready) c->o.on_ready(c);
}

/* Server: a client that speaks plaintext frames to a keyed server is told,
 * in plaintext, that a key is required. */
static void refuse_plaintext(ls_conn_t *c) {
  static ls_ratelimit_t rl = {5, 10000, 0, 0, 0};
  unsigned long dropped;
  if (ls_ratelimit_allow(&rl, &dropped)) ls_warn("connection from %s: no network key (plaintext); closed", c->peer);
  snprintf(c->why, sizeof c->why, "plaintext where TLS was required");
  ls_conn_fail(c, 0, LS_ERR_AUTH, "network key required", LS_CONN_END_AUTH_FAILED);
}

/* Client: before its handshake, a keyed client hears plaintext only from a
 * server without a key (its "malformed frame"), or from one refusing any
 * connection (busy): the owner hears a busy refusal; anything else fails. */
static int refusal_frame(void *ud, ls_frame_t *f) {
  ls_conn_t *c = ud;
  uint16_t code = 0;
  char text[LS_PROTO_MAX_ERROR_TEXT + 1];
  if (f->type == LS_MSG_ERROR && ls_proto_parse_error(f, &code, text, sizeof text) == 0 && code == LS_ERR_BUSY) {
    c->o.on_frame(c, f);
    ls_conn_close(c, LS_CONN_END_REFUSED);
    return 1;
  }
  snprintf(c->why, sizeof c->why, "the peer does not use a network key (it answered in plaintext)");
  ls_conn_close(c, LS_CONN_END_AUTH_FAILED);
  return 1;
}

/* Whether the first bytes received may begin TLS; the other case is dealt with. */
static int tls_judge_first(ls_conn_t *c, const uint8_t *data, size_t n) {
  if (c->first_byte_seen) return 1;
  c->first_byte_seen = 1;
  if (c->o.role == LS_CONN_SERVER) {
    if (ls_tls_looks_like_hello(data, n) != 0) return 1;
    refuse_plaintext(c);
    return 0;
  }
  if (data[0] >= 0x14 && data[0] <= 0x17) return 1; /* a TLS record's content type */
  ls_proto_reader_t plain;
  ls_proto_reader_init(&plain, LS_PROTO_HEADER_LEN + 2 + LS_PROTO_MAX_ERROR_TEXT, 0);
  if (ls_proto_reader_feed(&plain, data, n, refusal_frame, c) <= 0 && c->state != LS_CONN_CLOSED)
    refusal_frame(c, &(ls_frame_t){0});
  ls_proto_reader_close(&plain);
  return 0;
}

/* Advances the handshake; 1 once it is done, 0 otherwise (waiting or closed). */
static int tls_handshake(ls_conn_t *c) {
  int rc = ls_tls_handshake(&c->tls);
  if (tls_flush(c, NULL) != 0 && rc >= 0) {
    ls_conn_close(c, LS_CONN_END_WRITE);
    return 0;
  }
  if (rc == 1) {
    became_ready(c);
    return c->state == LS_CONN_READY;
  }
  if (rc < 0) {
    snprintf(c->why, sizeof c->why, "%s", ls_tls_error(&c->tls));
    if (c->o.role == LS_CONN_SERVER) {
      static ls_ratelimit_t rl = {5, 10000, 0, 0, 0};
      unsigned long dropped;
      if (ls_ratelimit_allow(&rl, &dropped))
        ls_warn("connection from %s: %s (not our network key?); closed", c->peer, c->why);
    }
    ls_conn_close(c, LS_CONN_END_AUTH_FAILED);
  }
  return 0;
}

/* ---------- reading ---------- */

static int frame_cb(void *ud, ls_frame_t *f) {
  ls_conn_t *c = ud;
  if (c->state == LS_CONN_CLOSED) return 1;
  if (c->o.role == LS_CONN_SERVER) {
    uv_timer_again(&c->timer); /* a whole request is activity; stray bytes are not */
  } else if (c->o.tls == NULL && f->type == LS_MSG_ERROR && f->len >= 2 && f->payload[0] == 0 &&
             f->payload[1] == LS_ERR_AUTH) {
    ls_conn_close(c, LS_CONN_END_KEY_REQUIRED);
    return 1;
  }
  int rc = c->o.on_frame(c, f);
  return c->state == LS_CONN_CLOSED ? 1 : rc;
}

/* The frame reader's result: a malformed stream ends the connection. */
static void reader_result(ls_conn_t *c, int rc) {
  if (c->state == LS_CONN_CLOSED) return;
  if (rc == -EPROTO) {
    /* The byte stream cannot be trusted: a server says so once; both hang up. */
    if (c->o.role == LS_CONN_SERVER) ls_conn_fail(c, 0, LS_ERR_BAD_REQUEST, "malformed frame", LS_CONN_END_PROTOCOL);
    else ls_conn_close(c, LS_CONN_END_PROTOCOL);
  } else if (rc < 0) {
    ls_conn_close(c, LS_CONN_END_NOMEM);
  }
}

/* With TLS: the plaintext of every whole record received, into the frame
 * reader (a payload's bytes straight into place, as without TLS). */
static void tls_drain(ls_conn_t *c) {
  /* Not into c->slab: the ciphertext lent to TLS (tls_received) is there,
   * and a record not yet decrypted would be overwritten by the plaintext of
   * the one before it. One record's plaintext at most. */
  uint8_t plain[16384];
  for (;;) {
    size_t room;
    uint8_t *direct = ls_proto_reader_direct(&c->reader, &room);
    int is_direct = direct != NULL && room >= DIRECT_MIN;
    ssize_t n = is_direct ? ls_tls_read(&c->tls, direct, room) : ls_tls_read(&c->tls, plain, sizeof plain);
    if (n == 0) break;
    if (n < 0) {
      snprintf(c->why, sizeof c->why, "%s", ls_tls_error(&c->tls));
      ls_conn_close(c, n == -EPIPE ? LS_CONN_END_EOF : LS_CONN_END_TLS);
      return;
    }
    int rc = is_direct ? ls_proto_reader_commit(&c->reader, (size_t)n, frame_cb, c)
                       : ls_proto_reader_feed(&c->reader, plain, (size_t)n, frame_cb, c);
    reader_result(c, rc);
    if (rc != 0 || c->state == LS_CONN_CLOSED) return;
  }
  if (tls_flush(c, NULL) != 0) ls_conn_close(c, LS_CONN_END_WRITE); /* a key update's answer */
}

/* The bytes read are lent to TLS, not copied; what it has not read when we
 * are done (a record's start) is kept by ls_tls_lend_end. */
static void tls_received(ls_conn_t *c, const uint8_t *data, size_t n) {
  if (!tls_judge_first(c, data, n)) return;
  if (ls_tls_lend(&c->tls, data, n) != 0) {
    ls_conn_close(c, LS_CONN_END_NOMEM);
    return;
  }
  if (c->state != LS_CONN_HANDSHAKE || tls_handshake(c)) tls_drain(c);
  if (ls_tls_lend_end(&c->tls) != 0) ls_conn_close(c, LS_CONN_END_NOMEM);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  ls_conn_t *c = h->data;
  size_t room;
  (void)suggested;
  uint8_t *direct = c->tls_open ? NULL : ls_proto_reader_direct(&c->reader, &room);
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
  if (c->tls_open) {
    tls_received(c, (const uint8_t *)buf->base, (size_t)nread);
    return;
  }
  int rc;
  if ((uint8_t *)buf->base == c->slab) rc = ls_proto_reader_feed(&c->reader, c->slab, (size_t)nread, frame_cb, c);
  else rc = ls_proto_reader_commit(&c->reader, (size_t)nread, frame_cb, c);
  reader_result(c, rc);
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
  c->state = c->tls_open ? LS_CONN_HANDSHAKE : LS_CONN_READY; /* with TLS: the ClientHello is awaited */
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
  if (c->tls_open) {
    c->state = LS_CONN_HANDSHAKE;
    ls_conn_watch(c); /* the handshake must end in time */
    tls_handshake(c); /* the ClientHello */
    return;
  }
  became_ready(c);
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
