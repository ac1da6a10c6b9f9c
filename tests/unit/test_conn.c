/* ls_conn on loopback: real libuv handles, a raw socket where a misbehaving
 * or hand-driven peer is needed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "helpers.h"
#include "ls_conn.h"
#include "ls_net.h"

typedef struct {
  ls_conn_t conn;
  int used;
  int frames;
  uint8_t type;
  uint32_t id;
  size_t len;
  uint8_t payload[64];
  uint32_t ids[8];  /* the first frames' ids, in order */
  uint32_t sums[8]; /* and a checksum of each one's payload */
  int ready;
  int ended;
  ls_conn_end_t why;
  int closed;
  int busy;
  int pause;      /* stop reading after each frame */
} end_t;

typedef struct {
  uv_loop_t loop;
  uv_tcp_t listener;
  int port;
  end_t server, client;
  ls_conn_opts_t server_opts;
  ls_tls_ctx_t *sctx, *cctx; /* with a key */
  int accept_raw; /* leave connections to a raw accept() */
} world_t;

static uint32_t checksum(const uint8_t *p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

static int on_frame(ls_conn_t *c, ls_frame_t *f) {
  end_t *e = c->data;
  if (e->frames < 8) e->ids[e->frames] = f->id;
  if (e->frames < 8) e->sums[e->frames] = checksum(f->payload, f->len);
  e->frames++;
  e->type = f->type;
  e->id = f->id;
  e->len = f->len;
  memcpy(e->payload, f->payload, f->len < sizeof e->payload ? f->len : sizeof e->payload);
  if (e->pause) ls_conn_set_reading(c, 0);
  return 0;
}

static void on_ready(ls_conn_t *c) {
  ((end_t *)c->data)->ready = 1;
}

static void on_end(ls_conn_t *c, ls_conn_end_t why) {
  end_t *e = c->data;
  e->ended++;
  e->why = why;
}

static void on_closed(ls_conn_t *c) {
  ((end_t *)c->data)->closed = 1;
}

static int is_busy(const ls_conn_t *c) {
  return ((const end_t *)c->data)->busy;
}

static ls_conn_opts_t opts(ls_conn_role_t role, ls_tls_ctx_t *tls, uint64_t timeout_ms) {
  ls_conn_opts_t o = {.role = role, .tls = tls, .max_payload = 1024, .timeout_ms = timeout_ms,
                      .on_frame = on_frame, .on_ready = on_ready, .on_end = on_end, .on_closed = on_closed,
                      .busy = is_busy};
  if (role == LS_CONN_CLIENT) o.slab = 8192;
  return o;
}

static void on_connection(uv_stream_t *ls, int status) {
  world_t *w = ls->data;
  assert_int_equal(status, 0);
  assert_int_equal(w->server.used, 0);
  w->server.used = 1;
  assert_int_equal(ls_conn_init(&w->loop, &w->server.conn, &w->server_opts), 0);
  w->server.conn.data = &w->server;
  assert_int_equal(ls_conn_accept(&w->server.conn, ls), 0);
  ls_conn_start(&w->server.conn);
}

static void world_init(world_t *w, const ls_key_t *key, uint64_t idle_ms) {
  memset(w, 0, sizeof *w);
  assert_int_equal(uv_loop_init(&w->loop), 0);
  if (key != NULL) assert_int_equal(ls_tls_ctx_new(key, LS_TLS_CHUNK, LS_TLS_SERVER, &w->sctx), 0);
  w->server_opts = opts(LS_CONN_SERVER, w->sctx, idle_ms);
  w->listener.data = w;
  assert_int_equal(ls_net_tcp_listen(&w->loop, &w->listener, "127.0.0.1", 0, 16, on_connection), 0);
  w->port = ls_net_tcp_port(&w->listener);
}

/* Runs the loop until *flag is set (5 s at most). */
static void run_until(world_t *w, const int *flag) {
  for (int i = 0; i < 2500 && !*flag; i++) {
    uv_run(&w->loop, UV_RUN_NOWAIT);
    if (!*flag) usleep(2000);
  }
  assert_true(*flag);
}

/* Runs the loop until the server has n frames (5 s at most). */
static void run_until_frames(world_t *w, int n) {
  for (int i = 0; i < 2500 && w->server.frames < n; i++) {
    uv_run(&w->loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
  assert_int_equal(w->server.frames, n);
}

/* Runs the loop for about ms milliseconds, whatever happens. */
static void run_for(world_t *w, int ms) {
  for (int i = 0; i < ms; i++) {
    uv_run(&w->loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
}

static void world_close(world_t *w) {
  if (w->server.used) ls_conn_close(&w->server.conn, LS_CONN_END_SHUTDOWN);
  if (w->client.used) ls_conn_close(&w->client.conn, LS_CONN_END_SHUTDOWN);
  uv_close((uv_handle_t *)&w->listener, NULL);
  assert_int_equal(uv_run(&w->loop, UV_RUN_DEFAULT), 0);
  if (w->server.used) assert_true(w->server.closed);
  if (w->client.used) assert_true(w->client.closed);
  assert_int_equal(uv_loop_close(&w->loop), 0);
  ls_tls_ctx_free(w->sctx);
  ls_tls_ctx_free(w->cctx);
}

static void client_connect(world_t *w, const ls_key_t *key, uint64_t timeout_ms) {
  if (key != NULL) assert_int_equal(ls_tls_ctx_new(key, LS_TLS_CHUNK, LS_TLS_CLIENT, &w->cctx), 0);
  ls_conn_opts_t o = opts(LS_CONN_CLIENT, w->cctx, timeout_ms);
  assert_int_equal(ls_conn_init(&w->loop, &w->client.conn, &o), 0);
  w->client.used = 1;
  w->client.conn.data = &w->client;
  struct sockaddr_in sa;
  assert_int_equal(ls_net_ipv4("127.0.0.1", (uint16_t)w->port, &sa), 0);
  assert_int_equal(ls_conn_connect(&w->client.conn, (const struct sockaddr *)&sa), 0);
}

static int raw_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  return fd;
}

/* Reads what the peer sent until it closed (5 s at most), running the loop. */
static size_t raw_read_to_eof(world_t *w, int fd, uint8_t *buf, size_t cap) {
  size_t got = 0;
  for (int i = 0; i < 2500; i++) {
    uv_run(&w->loop, UV_RUN_NOWAIT);
    ssize_t n = recv(fd, buf + got, cap - got, MSG_DONTWAIT);
    if (n == 0) return got;
    if (n > 0) got += (size_t)n;
    else usleep(2000);
  }
  fail_msg("the connection was not closed");
  return got;
}

static const uint8_t root[LS_HASH_LEN] = {1, 2, 3};

/* A request that arrives a byte at a time is one frame. */
static void frame_split_across_reads(void **state) {
  (void)state;
  world_t w;
  world_init(&w, NULL, 5000);
  int fd = raw_connect(w.port);
  run_until(&w, &w.server.used);
  uint8_t req[128];
  size_t first = ls_proto_encode_request(req, LS_MSG_CHUNK_REQ, 42, root, 7);
  size_t n = first + ls_proto_encode_request(req + first, LS_MSG_HAVE_REQ, 43, root, 0);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(write(fd, req + i, 1), 1);
    for (int k = 0; k < 3; k++) uv_run(&w.loop, UV_RUN_NOWAIT);
    if (i + 1 < first) assert_int_equal(w.server.frames, 0); /* nothing before the frame is whole */
  }
  run_until_frames(&w, 2);
  assert_int_equal(w.server.type, LS_MSG_HAVE_REQ);
  assert_int_equal(w.server.id, 43);
  assert_memory_equal(w.server.payload, root, LS_HASH_LEN);
  assert_int_equal(w.server.ended, 0);
  close(fd);
  run_until(&w, &w.server.ended);
  assert_int_equal(w.server.why, LS_CONN_END_EOF);
  world_close(&w);
}

/* A frame longer than its type allows: ERROR 1 with id 0, then the close. */
static void oversize_frame_error_then_close(void **state) {
  (void)state;
  world_t w;
  world_init(&w, NULL, 5000);
  int fd = raw_connect(w.port);
  uint8_t hdr[LS_PROTO_HEADER_LEN], got[512];
  ls_proto_encode_header(hdr, LS_MSG_CHUNK_REQ, 9, 1000);
  assert_int_equal(write(fd, hdr, sizeof hdr), (ssize_t)sizeof hdr);
  size_t n = raw_read_to_eof(&w, fd, got, sizeof got);
  uint8_t want[LS_PROTO_HEADER_LEN + 2 + LS_PROTO_MAX_ERROR_TEXT];
  size_t wn = ls_proto_encode_error(want, 0, LS_ERR_BAD_REQUEST, "malformed frame");
  assert_int_equal(n, wn);
  assert_memory_equal(got, want, wn);
  assert_int_equal(w.server.ended, 1);
  assert_int_equal(w.server.why, LS_CONN_END_PROTOCOL);
  assert_int_equal(w.server.conn.errors_sent, 1);
  assert_int_equal(w.server.frames, 0);
  close(fd);
  world_close(&w);
}

/* ls_conn_fail: the owner's refusal, said once, then closed. */
static void fail_says_then_closes(void **state) {
  (void)state;
  world_t w;
  world_init(&w, NULL, 5000);
  int fd = raw_connect(w.port);
  run_until(&w, &w.server.used);
  ls_conn_fail(&w.server.conn, 0, LS_ERR_BUSY, "too many connections", LS_CONN_END_REFUSED);
  ls_conn_fail(&w.server.conn, 0, LS_ERR_BUSY, "again", LS_CONN_END_REFUSED); /* closed: no-op */
  uint8_t got[512], want[512];
  size_t n = raw_read_to_eof(&w, fd, got, sizeof got);
  size_t wn = ls_proto_encode_error(want, 0, LS_ERR_BUSY, "too many connections");
  assert_int_equal(n, wn);
  assert_memory_equal(got, want, wn);
  assert_int_equal(w.server.ended, 1);
  assert_int_equal(w.server.why, LS_CONN_END_REFUSED);
  assert_string_equal(ls_conn_end_name(w.server.why), "refused");
  close(fd);
  world_close(&w);
}

static void make_key(ls_key_t *k, const char *text) {
  memset(k, 0, sizeof *k);
  k->len = strlen(text);
  memcpy(k->bytes, text, k->len);
  k->set = 1;
}

/* Both ends with the same key, the handshake done on the client's side. */
static void keyed_world(world_t *w) {
  ls_key_t k;
  make_key(&k, "the swarm's shared key");
  world_init(w, &k, 5000);
  client_connect(w, &k, 5000);
  run_until(w, &w->client.ready);
}

/* Both roles with the same key: the TLS handshake, then requests and
 * replies flow in records. */
static void handshake_right_key(void **state) {
  (void)state;
  world_t w;
  keyed_world(&w);
  assert_true(ls_conn_ready(&w.client.conn));
  assert_true(w.client.conn.tls.done);
  assert_int_equal(ls_conn_send(&w.client.conn, LS_MSG_MANIFEST_REQ, 5, root, LS_HASH_LEN), 0);
  run_until(&w, &w.server.frames);
  assert_true(ls_conn_ready(&w.server.conn));
  assert_int_equal(w.server.type, LS_MSG_MANIFEST_REQ);
  assert_int_equal(w.server.id, 5);
  assert_memory_equal(w.server.payload, root, LS_HASH_LEN);
  uint8_t body[1000];
  memset(body, 0x42, sizeof body);
  assert_int_equal(ls_conn_send(&w.server.conn, LS_MSG_MANIFEST_REP, 5, body, sizeof body), 0);
  run_until(&w, &w.client.frames);
  assert_int_equal(w.client.type, LS_MSG_MANIFEST_REP);
  assert_int_equal(w.client.len, sizeof body);
  assert_true(ls_conn_bytes_sent(&w.server.conn) > sizeof body + LS_PROTO_HEADER_LEN); /* records cost more */
  world_close(&w);
}

/* A client with another key: the handshake fails on both ends, and the
 * server reads no frame. */
static void handshake_wrong_key(void **state) {
  (void)state;
  ls_key_t k, other;
  make_key(&k, "the swarm's shared key");
  make_key(&other, "a key from elsewhere!");
  world_t w;
  world_init(&w, &k, 5000);
  client_connect(&w, &other, 5000);
  run_until(&w, &w.client.ended);
  run_until(&w, &w.server.ended);
  assert_int_equal(w.server.why, LS_CONN_END_AUTH_FAILED);
  assert_int_equal(w.client.why, LS_CONN_END_AUTH_FAILED);
  assert_non_null(strstr(w.client.conn.why, "TLS handshake failed"));
  assert_false(w.client.ready);
  assert_false(w.server.ready);
  assert_int_equal(w.server.frames, 0);
  world_close(&w);
}

static void send_on_ready(ls_conn_t *c) {
  ((end_t *)c->data)->ready = 1;
  ls_conn_send(c, LS_MSG_MANIFEST_REQ, 1, root, LS_HASH_LEN);
}

/* A client without a key meets a server that requires one: its plaintext
 * request gets a plaintext ERROR 7, and the close. */
static void handshake_key_required(void **state) {
  (void)state;
  ls_key_t k;
  make_key(&k, "the swarm's shared key");
  world_t w;
  world_init(&w, &k, 5000);
  ls_conn_opts_t o = opts(LS_CONN_CLIENT, NULL, 5000);
  o.on_ready = send_on_ready;
  assert_int_equal(ls_conn_init(&w.loop, &w.client.conn, &o), 0);
  w.client.used = 1;
  w.client.conn.data = &w.client;
  struct sockaddr_in sa;
  assert_int_equal(ls_net_ipv4("127.0.0.1", (uint16_t)w.port, &sa), 0);
  assert_int_equal(ls_conn_connect(&w.client.conn, (const struct sockaddr *)&sa), 0);
  run_until(&w, &w.client.ended);
  assert_int_equal(w.client.why, LS_CONN_END_KEY_REQUIRED);
  run_until(&w, &w.server.ended);
  assert_int_equal(w.server.why, LS_CONN_END_AUTH_FAILED);
  assert_int_equal(w.server.conn.errors_sent, 1);
  assert_int_equal(w.server.frames, 0);
  world_close(&w);
}

/* A keyed client meets a server without a key: that server calls the
 * ClientHello a malformed frame, in plaintext; the client ends, saying so. */
static void handshake_server_without_key(void **state) {
  (void)state;
  ls_key_t k;
  make_key(&k, "the swarm's shared key");
  world_t w;
  world_init(&w, NULL, 5000);
  client_connect(&w, &k, 5000);
  run_until(&w, &w.client.ended);
  assert_int_equal(w.client.why, LS_CONN_END_AUTH_FAILED);
  assert_non_null(strstr(w.client.conn.why, "does not use a network key"));
  assert_false(w.client.ready);
  run_until(&w, &w.server.ended);
  assert_int_equal(w.server.why, LS_CONN_END_PROTOCOL);
  world_close(&w);
}

/* Back-pressure: a paused connection reads nothing more until resumed. */
static void reading_paused(void **state) {
  (void)state;
  world_t w;
  world_init(&w, NULL, 5000);
  int fd = raw_connect(w.port);
  run_until(&w, &w.server.used);
  w.server.pause = 1;
  uint8_t req[64];
  size_t n = ls_proto_encode_request(req, LS_MSG_MANIFEST_REQ, 1, root, 0);
  assert_int_equal(write(fd, req, n), (ssize_t)n);
  run_until(&w, &w.server.frames);
  assert_int_equal(write(fd, req, n), (ssize_t)n);
  run_for(&w, 50);
  assert_int_equal(w.server.frames, 1);
  w.server.pause = 0;
  ls_conn_set_reading(&w.server.conn, 1);
  run_until_frames(&w, 2);
  close(fd);
  world_close(&w);
}

/* The idle timer: no request and none owed closes; a busy one stays. */
static void idle_timer(void **state) {
  (void)state;
  world_t w;
  world_init(&w, NULL, 60);
  int fd = raw_connect(w.port);
  run_until(&w, &w.server.used);
  w.server.busy = 1;
  run_for(&w, 200);
  assert_int_equal(w.server.ended, 0); /* replies owed: not idle */
  w.server.busy = 0;
  run_until(&w, &w.server.ended);
  assert_int_equal(w.server.why, LS_CONN_END_IDLE);
  assert_string_equal(ls_conn_end_name(w.server.why), "idle");
  close(fd);
  world_close(&w);
}

/* The client's stall timer: replies awaited and nothing comes. */
static void stall_timer(void **state) {
  (void)state;
  world_t w;
  world_init(&w, NULL, 5000);
  client_connect(&w, NULL, 60);
  run_until(&w, &w.client.ready);
  w.client.busy = 1;
  ls_conn_watch(&w.client.conn);
  run_until(&w, &w.client.ended);
  assert_int_equal(w.client.why, LS_CONN_END_STALL);
  world_close(&w);
}

/* An accepted connection has TCP keepalive as asked. */
static void keepalive_on_accept(void **state) {
  (void)state;
  world_t w;
  world_init(&w, NULL, 5000);
  w.server_opts.keepalive_s = 30;
  int fd = raw_connect(w.port);
  run_until(&w, &w.server.used);
  uv_os_fd_t sfd;
  assert_int_equal(uv_fileno((uv_handle_t *)&w.server.conn.tcp, &sfd), 0);
  int on = 0, idle = 0;
  socklen_t len = sizeof on;
  assert_int_equal(getsockopt(sfd, SOL_SOCKET, SO_KEEPALIVE, &on, &len), 0);
  assert_int_equal(getsockopt(sfd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, &len), 0);
  assert_true(on);
  assert_int_equal(idle, 30);
  close(fd);
  world_close(&w);
}

static void write_counted(ls_conn_out_t *o, int status) {
  *(int *)o->data = status == 0 ? 1 : status;
}

/* Bytes sent grow only while the peer reads; what it leaves unread is unsent. */
static void bytes_sent_follow_the_reader(void **state) {
  (void)state;
  world_t w;
  world_init(&w, NULL, 5000);
  int fd = raw_connect(w.port);
  run_until(&w, &w.server.used);
  size_t big = 16u << 20;
  uint8_t *data = calloc(1, big), *sink = malloc(1 << 16);
  assert_non_null(data);
  assert_non_null(sink);
  ls_conn_out_t req;
  int done = 0;
  req.data = &done;
  uv_buf_t b = uv_buf_init((char *)data, (unsigned)big);
  assert_int_equal(ls_conn_out(&w.server.conn, &req, &b, 1, write_counted), 0);
  run_for(&w, 100);
  uint64_t sent = ls_conn_bytes_sent(&w.server.conn);
  assert_true(sent < big);
  assert_int_equal(ls_conn_unsent(&w.server.conn), big - sent);
  run_for(&w, 100);
  assert_true(ls_conn_bytes_sent(&w.server.conn) == sent); /* nobody reads: no progress */
  for (int i = 0; i < 20000 && !done; i++) { /* 10 s at most */
    if (recv(fd, sink, 1 << 16, MSG_DONTWAIT) <= 0) usleep(500);
    uv_run(&w.loop, UV_RUN_NOWAIT);
  }
  assert_true(done);
  assert_int_equal(ls_conn_bytes_sent(&w.server.conn), big);
  assert_int_equal(ls_conn_unsent(&w.server.conn), 0);
  free(data);
  free(sink);
  close(fd);
  world_close(&w);
}

/* A file payload (sendfile) goes whole after its header, and a frame queued
 * behind it follows it, never inside it; while the peer does not read, its
 * bytes count as unsent; a close cancels what is queued. */
static void file_frames_whole_and_in_order(void **state) {
  (void)state;
  world_t w;
  world_init(&w, NULL, 5000);
  int fd = raw_connect(w.port);
  run_until(&w, &w.server.used);
  char dir[256], path[300];
  make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/f.bin", dir);
  size_t big = 8u << 20, off = 4096;
  uint8_t *data = malloc(big), *got = malloc(big + 64);
  assert_non_null(data);
  assert_non_null(got);
  for (size_t i = 0; i < big; i++) data[i] = (uint8_t)(i * 7 + i / 251);
  FILE *f = fopen(path, "wb");
  assert_int_equal(fwrite(data, 1, big, f), big);
  fclose(f);
  int file = open(path, O_RDONLY);
  assert_true(file >= 0);
  ls_conn_out_t a, b, late;
  int done_a = 0, done_b = 0, done_late = 0;
  a.data = &done_a;
  b.data = &done_b;
  late.data = &done_late;
  uv_buf_t head = uv_buf_init("HEAD", 4), tail = uv_buf_init("TAIL", 4);
  size_t len = big - off - 100;
  assert_int_equal(ls_conn_out_file(&w.server.conn, &a, head, file, off, len, write_counted), 0);
  assert_int_equal(ls_conn_out(&w.server.conn, &b, &tail, 1, write_counted), 0);
  run_for(&w, 100);
  assert_false(done_a); /* nobody reads: the socket is full */
  uint64_t sent = ls_conn_bytes_sent(&w.server.conn);
  assert_int_equal(ls_conn_unsent(&w.server.conn), 4 + len + 4 - sent);
  size_t n = 0;
  for (int i = 0; i < 20000 && !done_b; i++) { /* 10 s at most */
    ssize_t r = recv(fd, got + n, big + 64 - n, MSG_DONTWAIT);
    if (r > 0) n += (size_t)r;
    else usleep(500);
    uv_run(&w.loop, UV_RUN_NOWAIT);
  }
  assert_int_equal(done_a, 1);
  assert_int_equal(done_b, 1);
  for (int i = 0; i < 2000 && n < 4 + len + 4; i++) {
    ssize_t r = recv(fd, got + n, big + 64 - n, MSG_DONTWAIT);
    if (r > 0) n += (size_t)r;
    else usleep(500);
  }
  assert_int_equal(n, 4 + len + 4);
  assert_memory_equal(got, "HEAD", 4);
  assert_memory_equal(got + 4, data + off, len);
  assert_memory_equal(got + 4 + len, "TAIL", 4);
  assert_int_equal(ls_conn_unsent(&w.server.conn), 0);
  /* Queued behind a payload nobody reads, then closed: both are cancelled. */
  done_a = done_b = 0;
  assert_int_equal(ls_conn_out_file(&w.server.conn, &a, head, file, 0, big, write_counted), 0);
  assert_int_equal(ls_conn_out(&w.server.conn, &late, &tail, 1, write_counted), 0);
  run_for(&w, 50);
  ls_conn_close(&w.server.conn, LS_CONN_END_LOCAL);
  run_for(&w, 50);
  assert_int_equal(done_a, UV_ECANCELED);
  assert_int_equal(done_late, UV_ECANCELED);
  close(file);
  free(data);
  free(got);
  close(fd);
  rm_tree(dir);
  world_close(&w);
}

/* With a key: no sendfile; the reply queue's frames are encrypted in turn
 * and arrive whole and in order, each callback once its records are written;
 * bytes sent count records (more than the plaintext), none stays unsent; a
 * close cancels what the peer did not read. */
static void tls_replies_in_order(void **state) {
  (void)state;
  world_t w;
  keyed_world(&w);
  assert_int_equal(ls_conn_send(&w.client.conn, LS_MSG_MANIFEST_REQ, 9, root, LS_HASH_LEN), 0);
  run_until(&w, &w.server.frames);
  w.server.busy = w.client.busy = 1; /* replies owed: no idle close however slow (valgrind) */
  assert_false(ls_conn_sendfile_ok(&w.server.conn));
  /* The middle frame's payload comes from a file: read and encrypted a
   * slice at a time, between the others, in order. */
  char dir[256], path[300];
  make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/f.bin", dir);
  size_t flen = (3u << 20) + 5, foff = 4096;
  uint8_t *fdata = malloc(foff + flen);
  assert_non_null(fdata);
  fill_pattern(fdata, foff + flen, 5);
  write_bytes(path, fdata, foff + flen);
  int file = open(path, O_RDONLY);
  assert_true(file >= 0);
  ls_conn_out_t o[3];
  int done[3] = {0, 0, 0};
  ls_conn_set_max_payload(&w.client.conn, 4u << 20);
  size_t lens[3] = {2u << 20, flen, 4u << 20}, total = 0;
  uint8_t hdr[3][LS_PROTO_HEADER_LEN], *body[3];
  for (int i = 0; i < 3; i++) {
    body[i] = malloc(lens[i]);
    assert_non_null(body[i]);
    memset(body[i], 0x30 + i, lens[i]);
    uv_buf_t b[2] = {uv_buf_init((char *)hdr[i], (unsigned)ls_proto_encode_header(hdr[i], LS_MSG_MANIFEST_REP,
                                                                                  (uint32_t)i + 1, lens[i])),
                     uv_buf_init((char *)body[i], (unsigned)lens[i])};
    total += b[0].len + b[1].len;
    o[i].data = &done[i];
    if (i == 1) assert_int_equal(ls_conn_out_file(&w.server.conn, &o[i], b[0], file, foff, flen, write_counted), 0);
    else assert_int_equal(ls_conn_out(&w.server.conn, &o[i], b, 2, write_counted), 0);
  }
  run_until(&w, &done[2]);
  for (int i = 0; i < 3; i++) assert_int_equal(done[i], 1);
  for (int i = 0; i < 400 && w.client.frames < 3; i++) run_for(&w, 10);
  assert_int_equal(w.client.frames, 3);
  assert_int_equal(w.client.ids[0], 1);
  assert_int_equal(w.client.ids[1], 2);
  assert_int_equal(w.client.ids[2], 3);
  assert_int_equal(w.client.sums[0], checksum(body[0], lens[0]));
  assert_int_equal(w.client.sums[1], checksum(fdata + foff, flen));
  assert_int_equal(w.client.sums[2], checksum(body[2], lens[2]));
  assert_int_equal(w.client.len, lens[2]);
  assert_int_equal(w.client.payload[0], 0x32);
  assert_true(ls_conn_bytes_sent(&w.server.conn) > total); /* records cost more */
  assert_true(ls_conn_bytes_sent(&w.server.conn) < total + total / 100 + 4096); /* counted once */
  assert_int_equal(ls_conn_unsent(&w.server.conn), 0);
  /* The client stops reading: what is queued stays unsent, then a close
   * cancels it, the file frame being encrypted too. */
  ls_conn_set_reading(&w.client.conn, 0);
  done[0] = done[1] = done[2] = 0;
  for (int i = 0; i < 3; i++) {
    uv_buf_t b[2] = {uv_buf_init((char *)hdr[i], LS_PROTO_HEADER_LEN), uv_buf_init((char *)body[2], 4u << 20)};
    ls_proto_encode_header(hdr[i], LS_MSG_MANIFEST_REP, (uint32_t)i + 4, i == 1 ? flen : 4u << 20);
    if (i == 1) assert_int_equal(ls_conn_out_file(&w.server.conn, &o[i], b[0], file, foff, flen, write_counted), 0);
    else assert_int_equal(ls_conn_out(&w.server.conn, &o[i], b, 2, write_counted), 0);
  }
  run_for(&w, 100);
  assert_int_equal(done[2], 0);
  assert_true(ls_conn_unsent(&w.server.conn) > (4u << 20));
  ls_conn_close(&w.server.conn, LS_CONN_END_LOCAL);
  run_for(&w, 50);
  assert_int_equal(done[1], UV_ECANCELED);
  assert_int_equal(done[2], UV_ECANCELED);
  for (int i = 0; i < 3; i++) free(body[i]);
  close(file);
  free(fdata);
  rm_tree(dir);
  world_close(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(file_frames_whole_and_in_order),
      cmocka_unit_test(frame_split_across_reads), cmocka_unit_test(oversize_frame_error_then_close),
      cmocka_unit_test(fail_says_then_closes),    cmocka_unit_test(handshake_right_key),
      cmocka_unit_test(handshake_wrong_key),      cmocka_unit_test(handshake_key_required),
      cmocka_unit_test(handshake_server_without_key), cmocka_unit_test(reading_paused),
      cmocka_unit_test(idle_timer),                cmocka_unit_test(stall_timer),
      cmocka_unit_test(keepalive_on_accept),       cmocka_unit_test(bytes_sent_follow_the_reader),
      cmocka_unit_test(tls_replies_in_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
