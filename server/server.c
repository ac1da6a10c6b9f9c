#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ls_conn.h"
#include "ls_log.h"
#include "ls_map.h"
#include "ls_net.h"
#include "ls_partial.h"
#include "ls_proto.h"
#include "ls_serverlog.h"
#include "ls_srvstatus.h"
#include "ls_util.h"

#define FILES_LOGGED LS_SERVERLOG_ROOTS_MAX

typedef struct conn_s conn_t;

/* One request being served: waits for buffer budget / rate, reads on the
 * thread pool, then is written. */
typedef struct req_s {
  uv_work_t work;
  uv_write_t write;
  conn_t *conn;
  struct req_s *next;     /* in a wait queue */
  ls_request_t rq;
  char *path;             /* file to read */
  char *temp_dir;         /* partial: where its .have is */
  int partial;
  int64_t mtime_ns;
  uint64_t chunk_offset;
  uint32_t chunk_len;
  uint32_t nchunks;
  uint8_t hdr[LS_PROTO_HEADER_LEN + 4];
  uint8_t *buf;
  size_t buf_len;
  size_t budget;          /* bytes charged to the server's buffer budget */
  int err;                /* ls_err_code_t or 0 */
} req_t;

/* A client's connection: framing, the key's handshake and the idle timer are
 * ls_conn's; admission, serving and the counts for server.log are ours. */
struct conn_s {
  ls_conn_t conn;
  server_t *srv;
  char peer[32];
  uint16_t peer_port;
  uint64_t start_ms;
  char start_ts[40];
  uint64_t bytes_out;
  unsigned n_manifest, n_chunk, n_have, n_error;
  ls_root_prefix_t files[FILES_LOGGED]; /* root prefixes served */
  const char *files_name[FILES_LOGGED];
  unsigned nfiles;
  int inflight;           /* requests accepted and not yet written */
  int closing;
  int listed;             /* admitted: in srv->conns and per_ip */
  int closed;             /* ls_conn's handles are closed */
  const char *end;
  conn_t *prev, *next;
};

struct server_s {
  uv_loop_t *loop;
  const ls_config_t *cfg;
  ls_catalog_t *catalog;
  uv_tcp_t listener;
  uv_timer_t rate_timer;
  uv_timer_t status_timer;       /* server.status, each second while it changes */
  uint64_t status_sig;           /* what the last server.status showed */
  FILE *log;
  conn_t *conns;
  unsigned nconns;
  size_t buf_used;
  req_t *wait_head, *wait_tail;  /* waiting for buffer budget or rate */
  double rate_next_ms;           /* token bucket as a virtual clock */
  ls_map_t per_ip;               /* address -> open connections, as uintptr_t */
  const ls_key_t *key;           /* the network key, or NULL */
  int closing;
  int handles;
};

static void conn_close(conn_t *c, ls_conn_end_t why);
static void pump(server_t *srv);
static void conn_release(conn_t *c);
static void server_release(server_t *srv);

/* ---------- logging ---------- */

static void conn_log(conn_t *c) {
  server_t *srv = c->srv;
  if (srv->log == NULL) return;
  ls_serverlog_t rec;
  memset(&rec, 0, sizeof rec);
  ls_log_timestamp(rec.time, sizeof rec.time);
  snprintf(rec.addr, sizeof rec.addr, "%.15s", c->peer);
  rec.port = c->peer_port;
  snprintf(rec.start, sizeof rec.start, "%s", c->start_ts);
  rec.duration_ms = uv_now(srv->loop) - c->start_ms;
  rec.bytes = c->bytes_out;
  rec.manifests = c->n_manifest;
  rec.chunks = c->n_chunk;
  rec.haves = c->n_have;
  rec.errors = c->n_error;
  memcpy(rec.roots, c->files, sizeof rec.roots);
  rec.nroots = c->nfiles;
  snprintf(rec.end, sizeof rec.end, "%s", c->end ? c->end : "closed");
  char line[LS_LOGFMT_LINE_MAX];
  int n = ls_serverlog_encode(&rec, line, sizeof line);
  if (n > 0) fwrite(line, 1, (size_t)n, srv->log);
  fflush(srv->log);
}

static void note_root(conn_t *c, const uint8_t *root) {
  ls_root_prefix_t prefix;
  ls_serverlog_root_prefix(root, prefix);
  for (unsigned i = 0; i < c->nfiles; i++)
    if (strcmp(c->files[i], prefix) == 0) return;
  if (c->nfiles < FILES_LOGGED) memcpy(c->files[c->nfiles++], prefix, sizeof prefix);
}

/* ---------- server.status ----------
 * What is being served now, for the web dashboard and scripts: the open
 * connections as JSON, rewritten (atomically) at most once a second and only
 * when something changed; an empty list once the server stops. */

static void status_write(server_t *srv) {
  ls_srvstatus_t st = {ls_unix_now(), getpid(), 0, !srv->closing, NULL, 0};
  st.port = srv->closing ? 0 : (uint16_t)ls_net_tcp_port(&srv->listener);
  st.conns = calloc(srv->nconns + 1, sizeof *st.conns);
  if (st.conns == NULL) return;
  uint64_t now = uv_now(srv->loop);
  for (conn_t *c = srv->closing ? NULL : srv->conns; c != NULL && st.nconns < srv->nconns + 1; c = c->next) {
    ls_srvstatus_conn_t *e = &st.conns[st.nconns++];
    snprintf(e->addr, sizeof e->addr, "%.15s", c->peer);
    e->port = c->peer_port;
    snprintf(e->start, sizeof e->start, "%s", c->start_ts);
    e->duration_ms = now - c->start_ms;
    e->bytes = c->bytes_out;
    e->chunks = c->n_chunk;
    memcpy(e->roots, c->files, sizeof e->roots);
    e->nroots = c->nfiles;
  }
  char *text = NULL;
  size_t len = 0;
  int rc = ls_srvstatus_encode(&st, &text, &len);
  free(st.conns);
  if (rc == 0) rc = ls_write_file_atomic(srv->cfg->server_status, text, len, 0);
  if (rc != 0) ls_log(LS_LOG_WARN, "cannot write %s: %s", srv->cfg->server_status, strerror(-rc));
  free(text);
}

/* A cheap signature of what server.status would show. */
static uint64_t status_signature(const server_t *srv) {
  uint64_t sig = srv->nconns;
  for (const conn_t *c = srv->conns; c != NULL; c = c->next)
    sig = sig * 1000003u + c->bytes_out + ((uint64_t)c->peer_port << 40);
  return sig;
}

static void status_cb(uv_timer_t *t) {
  server_t *srv = t->data;
  uint64_t sig = status_signature(srv);
  if (sig == srv->status_sig) return;
  srv->status_sig = sig;
  status_write(srv);
}

/* ---------- writing replies ---------- */

static void req_free(req_t *r) {
  if (r->budget > 0) r->conn->srv->buf_used -= r->budget;
  free(r->buf);
  free(r->path);
  free(r->temp_dir);
  free(r);
}

static void conn_maybe_resume(conn_t *c);

static void write_done(uv_write_t *w, int status) {
  req_t *r = w->data;
  conn_t *c = r->conn;
  server_t *srv = c->srv;
  c->inflight--;
  if (status < 0 && !c->closing) conn_close(c, LS_CONN_END_WRITE);
  req_free(r);
  if (!c->closing) {
    conn_maybe_resume(c);
    pump(srv);
  } else {
    conn_release(c);
  }
}

/* Sends r's reply: an error, or header + buffer. Takes ownership of r. */
static void reply(conn_t *c, req_t *r) {
  uv_buf_t bufs[2];
  int n = 0;
  if (c->closing) {
    c->inflight--;
    req_free(r);
    conn_release(c);
    return;
  }
  if (r->err != 0) {
    free(r->buf);
    r->buf = malloc(LS_PROTO_HEADER_LEN + 2 + LS_PROTO_MAX_ERROR_TEXT);
    if (r->buf == NULL) {
      c->inflight--;
      req_free(r);
      conn_close(c, LS_CONN_END_NOMEM);
      return;
    }
    r->buf_len = ls_proto_encode_error(r->buf, r->rq.id, (uint16_t)r->err, ls_proto_err_name((unsigned)r->err));
    bufs[n++] = uv_buf_init((char *)r->buf, (unsigned)r->buf_len);
    c->n_error++;
  } else if (r->rq.type == LS_MSG_CHUNK_REQ) {
    size_t hl = ls_proto_encode_chunk_header(r->hdr, r->rq.id, r->rq.index, r->chunk_len);
    bufs[n++] = uv_buf_init((char *)r->hdr, (unsigned)hl);
    bufs[n++] = uv_buf_init((char *)r->buf, r->chunk_len);
    c->n_chunk++;
  } else {
    size_t hl = ls_proto_encode_header(r->hdr, r->rq.type | 0x80, r->rq.id, r->buf_len);
    bufs[n++] = uv_buf_init((char *)r->hdr, (unsigned)hl);
    bufs[n++] = uv_buf_init((char *)r->buf, (unsigned)r->buf_len);
    if (r->rq.type == LS_MSG_MANIFEST_REQ) c->n_manifest++;
    else c->n_have++;
  }
  for (int i = 0; i < n; i++) c->bytes_out += bufs[i].len;
  r->write.data = r;
  int rc = ls_conn_write(&c->conn, &r->write, bufs, (unsigned)n, write_done);
  if (rc != 0) {
    c->inflight--;
    req_free(r);
    conn_close(c, LS_CONN_END_WRITE);
  }
}

/* ---------- disk work on the thread pool ---------- */

static int pread_full(int fd, uint8_t *buf, size_t len, uint64_t off) {
  while (len > 0) {
    ssize_t n = pread(fd, buf, len, (off_t)off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -errno;
    if (n == 0) return UV_EIO; /* the file shrank */
    buf += n;
    len -= (size_t)n;
    off += (uint64_t)n;
  }
  return 0;
}

static void read_work(uv_work_t *w) {
  req_t *r = w->data;
  char hex[LS_HASH_HEX_LEN + 1];
  ls_hash_to_hex(r->rq.root, hex);
  if (r->rq.type == LS_MSG_HAVE_REQ) {
    uint8_t *have = malloc(r->nchunks + 1);
    r->buf_len = ls_proto_have_payload_len(r->nchunks);
    r->buf = malloc(r->buf_len);
    if (have == NULL || r->buf == NULL || ls_partial_read_have(r->temp_dir, hex, have, r->nchunks) < 0)
      r->err = LS_ERR_NOT_HELD;
    else
      ls_proto_encode_have_payload(r->buf, have, r->nchunks);
    free(have);
    return;
  }
  /* A chunk: a partial must hold it; a shared file must not have changed
   * since it was hashed (else its bytes no longer match the manifest). */
  if (r->partial) {
    if (!ls_partial_chunk_held(r->temp_dir, hex, r->rq.index)) {
      r->err = LS_ERR_NOT_HELD;
      return;
    }
  }
  int fd = open(r->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ELOOP) fd = open(r->path, O_RDONLY | O_CLOEXEC); /* symlink vetted by the catalog */
  if (fd < 0) {
    r->err = LS_ERR_NOT_HELD;
    return;
  }
  r->buf = malloc(r->chunk_len ? r->chunk_len : 1);
  struct stat st;
  if (r->buf == NULL || pread_full(fd, r->buf, r->chunk_len, r->chunk_offset) != 0 || fstat(fd, &st) != 0 ||
      (!r->partial && (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec != r->mtime_ns)) {
    r->err = LS_ERR_NOT_HELD;
  }
  close(fd);
}

static void read_done(uv_work_t *w, int status) {
  req_t *r = w->data;
  conn_t *c = r->conn;
  if (status != 0 && r->err == 0) r->err = LS_ERR_INTERNAL;
  if (r->err == LS_ERR_NOT_HELD && !r->partial && r->rq.type == LS_MSG_CHUNK_REQ)
    ls_catalog_poke(c->srv->catalog); /* the file changed: rescan it */
  reply(c, r);
}

/* ---------- admission: buffer budget and rate limit ---------- */

static void wait_push(server_t *srv, req_t *r) {
  r->next = NULL;
  if (srv->wait_tail) srv->wait_tail->next = r;
  else srv->wait_head = r;
  srv->wait_tail = r;
}

/* Returns the ms to wait before r may go, or 0 if it may go now. */
static uint64_t rate_wait(server_t *srv, size_t bytes) {
  if (srv->cfg->rate_limit == 0 || bytes == 0) return 0;
  double now = (double)uv_now(srv->loop);
  double burst_ms = 50.0;
  if (srv->rate_next_ms < now - burst_ms) srv->rate_next_ms = now - burst_ms;
  if (srv->rate_next_ms > now) return (uint64_t)(srv->rate_next_ms - now) + 1;
  srv->rate_next_ms += (double)bytes * 1000.0 / (double)srv->cfg->rate_limit;
  return 0;
}

static void rate_timer_cb(uv_timer_t *t) {
  pump(t->data);
}

static void start_read(server_t *srv, req_t *r) {
  r->work.data = r;
  if (uv_queue_work(srv->loop, &r->work, read_work, read_done) != 0) {
    r->err = LS_ERR_INTERNAL;
    reply(r->conn, r);
  }
}

/* Starts waiting requests while the buffer budget and the rate allow. */
static void pump(server_t *srv) {
  while (srv->wait_head != NULL) {
    req_t *r = srv->wait_head;
    if (r->conn->closing) {
      srv->wait_head = r->next;
      if (!srv->wait_head) srv->wait_tail = NULL;
      reply(r->conn, r);
      continue;
    }
    if (srv->buf_used + r->chunk_len > SERVER_BUF_BUDGET && srv->buf_used > 0) return;
    uint64_t wait = rate_wait(srv, r->chunk_len);
    if (wait > 0) {
      if (!uv_is_active((uv_handle_t *)&srv->rate_timer)) uv_timer_start(&srv->rate_timer, rate_timer_cb, wait, 0);
      return;
    }
    srv->wait_head = r->next;
    if (!srv->wait_head) srv->wait_tail = NULL;
    r->budget = r->chunk_len;
    srv->buf_used += r->budget;
    start_read(srv, r);
  }
}

/* ---------- requests ---------- */

/* A chunk map: whole for a complete file; a partial's is read from temp/. */
static void serve_have(server_t *srv, req_t *r, const ls_manifest_t *m) {
  if (!r->partial) {
    r->buf_len = ls_proto_have_payload_len(m->nchunks);
    r->buf = malloc(r->buf_len);
    if (r->buf == NULL) r->err = LS_ERR_INTERNAL;
    else ls_proto_encode_have_payload(r->buf, NULL, m->nchunks);
    reply(r->conn, r);
    return;
  }
  r->temp_dir = strdup(srv->cfg->temp_dir);
  if (r->temp_dir == NULL) {
    r->err = LS_ERR_INTERNAL;
    reply(r->conn, r);
  } else {
    start_read(srv, r);
  }
}

/* A chunk waits for the buffer budget and the rate, then is read. */
static void serve_chunk(server_t *srv, req_t *r, const ls_catalog_entry_t *e) {
  const ls_manifest_t *m = &e->manifest;
  if (r->rq.index >= m->nchunks) {
    r->err = LS_ERR_BAD_REQUEST;
    reply(r->conn, r);
    return;
  }
  r->chunk_len = ls_manifest_chunk_len(m, r->rq.index);
  r->chunk_offset = (uint64_t)r->rq.index * m->chunk_size;
  r->mtime_ns = e->mtime_ns;
  r->path = strdup(e->path);
  r->temp_dir = strdup(srv->cfg->temp_dir);
  if (r->path == NULL || r->temp_dir == NULL) {
    r->err = LS_ERR_INTERNAL;
    reply(r->conn, r);
    return;
  }
  wait_push(srv, r);
  pump(srv);
}

/* ---------- LIST: the catalog for a listener that heard a beat ----------
 * The announcement pages ls_announce makes (unsealed: a key's handshake
 * already authenticated the connection), one LIST_PAGE frame each, then
 * LIST_END with the digest; at most LIST_MAX_FILES files (a listener's
 * PEER_TABLE_MAX_FILES_PER_PEER), written at once as one reply whose buffer
 * is charged to SERVER_BUF_BUDGET until written (ERROR 4 while it is spent). */
#define LIST_MAX_FILES 50000

typedef struct {
  uint8_t *buf;
  size_t len, cap;
  uint8_t type;  /* of the next frame */
  uint32_t id;
} list_out_t;

static int list_frame(void *ud, const char *page, size_t len) {
  list_out_t *o = ud;
  if (o->len + LS_PROTO_HEADER_LEN + len > o->cap) {
    size_t cap = (o->cap + LS_PROTO_HEADER_LEN + len) * 2;
    uint8_t *b = realloc(o->buf, cap);
    if (b == NULL) return -ENOMEM;
    o->buf = b;
    o->cap = cap;
  }
  o->len += ls_proto_encode_header(o->buf + o->len, o->type, o->id, len);
  memcpy(o->buf + o->len, page, len);
  o->len += len;
  return 0;
}

static void serve_list(server_t *srv, req_t *r) {
  /* Its buffer counts against the chunk buffers' budget: over it, busy. */
  if (srv->buf_used >= SERVER_BUF_BUDGET) {
    r->err = LS_ERR_BUSY;
    reply(r->conn, r);
    return;
  }
  const ls_catalog_snapshot_t *snap = ls_catalog_current(srv->catalog);
  size_t n = snap == NULL ? 0 : (snap->count < LIST_MAX_FILES ? snap->count : LIST_MAX_FILES);
  ls_announce_file_t *files = snap == NULL ? calloc(1, sizeof *files) : ls_catalog_announce_files(snap);
  char digest[LS_ANNOUNCE_DIGEST_HEX + 1];
  list_out_t o = {NULL, 0, 0, LS_MSG_LIST_PAGE, r->rq.id};
  size_t skipped;
  int rc = files == NULL ? -ENOMEM : ls_announce_digest(files, n, digest);
  if (rc == 0)
    rc = ls_announce_encode_pages_d(srv->cfg->tag, (uint16_t)srv->cfg->tcp_port, srv->cfg->interval, 0, files, n, 0,
                                    digest, list_frame, &o, &skipped);
  free(files);
  o.type = LS_MSG_LIST_END;
  if (rc >= 0) rc = list_frame(&o, digest, LS_ANNOUNCE_DIGEST_HEX);
  if (rc < 0) {
    free(o.buf);
    r->err = LS_ERR_INTERNAL;
    reply(r->conn, r);
    return;
  }
  r->buf = o.buf;
  r->buf_len = o.len;
  r->budget = o.len;
  srv->buf_used += o.len;
  r->conn->bytes_out += o.len;
  uv_buf_t b = uv_buf_init((char *)r->buf, (unsigned)r->buf_len);
  r->write.data = r;
  if (ls_conn_write(&r->conn->conn, &r->write, &b, 1, write_done) != 0) {
    conn_t *c = r->conn;
    c->inflight--;
    req_free(r);
    conn_close(c, LS_CONN_END_WRITE);
  }
}

/* Each request gets exactly one reply, whatever happens to it. */
static int handle_frame(ls_conn_t *lc, ls_frame_t *f) {
  conn_t *c = lc->data;
  server_t *srv = c->srv;
  req_t *r = calloc(1, sizeof *r);
  if (r == NULL) return -ENOMEM;
  r->conn = c;
  c->inflight++;
  conn_maybe_resume(c); /* a full pipeline stops reading */
  if (ls_proto_parse_request(f, &r->rq) != 0) {
    r->rq.id = f->id;
    r->err = LS_ERR_BAD_REQUEST;
    reply(c, r);
    return 0;
  }
  if (r->rq.type == LS_MSG_LIST_REQ) return serve_list(srv, r), 0;
  const ls_catalog_entry_t *e = ls_catalog_snapshot_find(ls_catalog_current(srv->catalog), r->rq.root);
  if (e == NULL) {
    r->err = LS_ERR_UNKNOWN_ROOT;
    reply(c, r);
    return 0;
  }
  note_root(c, r->rq.root);
  r->partial = e->source == LS_SOURCE_PARTIAL;
  r->nchunks = e->manifest.nchunks;
  switch (r->rq.type) {
    case LS_MSG_MANIFEST_REQ:
      if (ls_manifest_encode(&e->manifest, &r->buf, &r->buf_len) != 0) r->err = LS_ERR_INTERNAL;
      reply(c, r);
      return 0;
    case LS_MSG_HAVE_REQ: serve_have(srv, r, &e->manifest); return 0;
    case LS_MSG_CHUNK_REQ: serve_chunk(srv, r, e); return 0;
    default:
      r->err = LS_ERR_BAD_REQUEST;
      reply(c, r);
      return 0;
  }
}

/* ---------- connections ---------- */

/* Back-pressure: stop reading while this connection has a full pipeline. */
static void conn_maybe_resume(conn_t *c) {
  if (c->closing) return;
  ls_conn_set_reading(&c->conn, c->inflight < SERVER_MAX_PIPELINE);
}

/* A connection's memory goes once its handles are closed and no request of
 * it is on the thread pool or in a write; the server's once all of its
 * connections and handles are gone. */
static void server_release(server_t *srv) {
  if (--srv->handles > 0) return;
  if (srv->log) fclose(srv->log);
  ls_map_close(&srv->per_ip);
  free(srv);
}

static void conn_release(conn_t *c) {
  if (!c->closed || c->inflight > 0) return;
  server_t *srv = c->srv;
  free(c);
  server_release(srv);
}

static void conn_closed(ls_conn_t *lc) {
  conn_t *c = lc->data;
  c->closed = 1;
  conn_release(c);
}

/* ls_conn ends every connection through here, whoever closes it. */
static void conn_ended(ls_conn_t *lc, ls_conn_end_t why) {
  conn_t *c = lc->data;
  server_t *srv = c->srv;
  c->closing = 1;
  if (!c->listed) return; /* refused at admission: not logged */
  c->end = ls_conn_end_name(why);
  c->n_error += lc->errors_sent;
  conn_log(c);
  if (c->prev) c->prev->next = c->next;
  else srv->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  srv->nconns--;
  uintptr_t n = (uintptr_t)ls_map_get(&srv->per_ip, c->peer);
  if (n <= 1) ls_map_del(&srv->per_ip, c->peer);
  else ls_map_put(&srv->per_ip, c->peer, (void *)(n - 1));
}

static void conn_close(conn_t *c, ls_conn_end_t why) {
  ls_conn_close(&c->conn, why);
}

static int conn_busy(const ls_conn_t *lc) {
  const conn_t *c = lc->data;
  return c->inflight > 0;
}

/* Admission: the limits in all and per address. 0, or the connection was
 * refused (ERROR 4, then closed). */
static int admit(server_t *srv, conn_t *c) {
  static ls_ratelimit_t rl_all = {5, 10000, 0, 0, 0}, rl_ip = {5, 10000, 0, 0, 0};
  unsigned long dropped;
  if (srv->nconns >= srv->cfg->max_conns) {
    if (ls_ratelimit_allow(&rl_all, &dropped))
      ls_warn("connection refused: %u connections open (max_conns)", srv->nconns);
    ls_conn_fail(&c->conn, 0, LS_ERR_BUSY, "too many connections", LS_CONN_END_REFUSED);
    return UV_EBUSY;
  }
  /* One address cannot take every slot: honest peers keep being served. */
  uintptr_t from_ip = (uintptr_t)ls_map_get(&srv->per_ip, c->peer);
  if (from_ip >= srv->cfg->max_conns_per_ip || ls_map_put(&srv->per_ip, c->peer, (void *)(from_ip + 1)) != 0) {
    if (ls_ratelimit_allow(&rl_ip, &dropped))
      ls_warn("connection from %s refused: %lu open from that address (max_conns_per_ip)", c->peer,
              (unsigned long)from_ip);
    ls_conn_fail(&c->conn, 0, LS_ERR_BUSY, "too many connections from your address", LS_CONN_END_REFUSED);
    return UV_EBUSY;
  }
  c->listed = 1;
  c->next = srv->conns;
  if (srv->conns) srv->conns->prev = c;
  srv->conns = c;
  srv->nconns++;
  return 0;
}

static void on_connection(uv_stream_t *ls, int status) {
  server_t *srv = ls->data;
  if (status < 0) return;
  conn_t *c = calloc(1, sizeof *c);
  if (c == NULL) return;
  c->srv = srv;
  ls_conn_opts_t o = {.role = LS_CONN_SERVER,
                      .key = srv->key,
                      .timeout_ms = (uint64_t)srv->cfg->idle_timeout * 1000,
                      .on_frame = handle_frame,
                      .on_end = conn_ended,
                      .on_closed = conn_closed,
                      .busy = conn_busy};
  if (ls_conn_init(srv->loop, &c->conn, &o) != 0) {
    free(c);
    return;
  }
  c->conn.data = c;
  srv->handles++;
  if (ls_conn_accept(&c->conn, ls) != 0) {
    conn_close(c, LS_CONN_END_RESET);
    return;
  }
  snprintf(c->peer, sizeof c->peer, "%s", c->conn.peer);
  c->peer_port = c->conn.peer_port;
  if (admit(srv, c) != 0) return;
  c->start_ms = uv_now(srv->loop);
  ls_log_timestamp(c->start_ts, sizeof c->start_ts);
  ls_conn_start(&c->conn);
  conn_maybe_resume(c);
}

int server_new(uv_loop_t *loop, const ls_config_t *cfg, ls_catalog_t *catalog, server_t **out) {
  server_t *srv = calloc(1, sizeof *srv);
  if (srv == NULL) return UV_ENOMEM;
  srv->loop = loop;
  srv->cfg = cfg;
  srv->catalog = catalog;
  srv->log = fopen(cfg->server_log, "a");
  if (srv->log == NULL) {
    int e = -errno;
    free(srv);
    return e;
  }
  if (ls_map_init(&srv->per_ip) != 0) {
    fclose(srv->log);
    free(srv);
    return UV_ENOMEM;
  }
  uv_timer_init(loop, &srv->rate_timer);
  srv->rate_timer.data = srv;
  uv_timer_init(loop, &srv->status_timer);
  srv->status_timer.data = srv;
  srv->handles = 3; /* listener, rate and status timers */
  *out = srv;
  return 0;
}

int server_start(server_t *srv) {
  srv->listener.data = srv;
  int rc = ls_net_tcp_listen(srv->loop, &srv->listener, srv->cfg->listen_addr, srv->cfg->tcp_port, 128, on_connection);
  if (rc != 0) return rc;
  status_write(srv);
  uv_timer_start(&srv->status_timer, status_cb, 1000, 1000);
  return 0;
}

void server_set_key(server_t *srv, const ls_key_t *key) {
  srv->key = key != NULL && key->set ? key : NULL;
}

int server_port(server_t *srv) {
  return ls_net_tcp_port(&srv->listener);
}

static void server_handle_closed(uv_handle_t *h) {
  server_release(h->data);
}

void server_close(server_t *srv) {
  srv->closing = 1;
  while (srv->conns != NULL) conn_close(srv->conns, LS_CONN_END_SHUTDOWN);
  /* Requests still waiting for budget are dropped with their connection. */
  while (srv->wait_head != NULL) {
    req_t *r = srv->wait_head;
    srv->wait_head = r->next;
    reply(r->conn, r);
  }
  srv->wait_tail = NULL;
  if (uv_is_active((uv_handle_t *)&srv->status_timer)) status_write(srv);
  srv->listener.data = srv;
  uv_close((uv_handle_t *)&srv->listener, server_handle_closed);
  uv_close((uv_handle_t *)&srv->rate_timer, server_handle_closed);
  uv_close((uv_handle_t *)&srv->status_timer, server_handle_closed);
}
