#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
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

/* One request being served: waits for buffer budget / rate, is read (or,
 * for a chunk sent from its file, opened and its pages warmed) on the thread
 * pool, then is written. */
typedef struct req_s {
  uv_work_t work;
  ls_conn_out_t out;
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
  int fd;                 /* a chunk sent from its file: open until written; else -1 */
  int from_file;          /* the chunk goes from its file (ls_conn_out_file), not a buffer */
  size_t budget;          /* bytes charged to the server's buffer budget (a chunk sent from
                           * its file holds no buffer, but queues as many bytes) */
  int counted;            /* a chunk request: in its connection's chunks_pending */
  int err;                /* ls_err_code_t or 0 */
} req_t;

/* An address with connections open: how many, and when it was last served
 * (the turn of the fair queue); in srv->per_ip. */
typedef struct {
  unsigned conns;
  uint64_t served;
} ip_t;

/* A client's connection: framing, the key's handshake and the idle timer are
 * ls_conn's; admission, serving and the counts for server.log are ours. */
struct conn_s {
  ls_conn_t conn;
  server_t *srv;
  char peer[LS_NET_ADDR_MAX];
  uint16_t peer_port;
  uint64_t start_ms;
  char start_ts[40];
  uint64_t bytes_out;
  unsigned n_manifest, n_chunk, n_have, n_error;
  ls_root_prefix_t files[FILES_LOGGED]; /* root prefixes served */
  const char *files_name[FILES_LOGGED];
  unsigned nfiles;
  int inflight;           /* requests accepted and not yet written */
  ip_t *ip;               /* while listed */
  uint64_t served;        /* the turn its last chunk was started at */
  size_t buf_used;        /* its part of srv->buf_used */
  unsigned chunks_pending;/* chunk requests waiting, being read or written */
  uint64_t req_ms;        /* the last request (any) */
  uint64_t useful_ms;     /* the last manifest or chunk request */
  uint64_t progress_ms;   /* its replies last made progress (or none were queued) */
  uint64_t sent_seen;     /* ls_conn_bytes_sent then */
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
  uv_timer_t sweep_timer;        /* write timeouts, each second */
  uint64_t status_sig;           /* what the last server.status showed */
  FILE *log;
  conn_t *conns;
  unsigned nconns;
  size_t buf_used;
  req_t *wait_head, *wait_tail;  /* waiting for buffer budget or rate */
  unsigned active;               /* connections with chunks_pending */
  uint64_t turn;                 /* chunks started so far: the fair queue's clock */
  int pumping, repump;
  double rate_next_ms;           /* token bucket as a virtual clock */
  ls_map_t per_ip;               /* address -> ip_t */
  ls_tls_ctx_t *tls;             /* with a network key: TLS for every connection, or NULL */
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
  snprintf(rec.addr, sizeof rec.addr, "%s", c->peer);
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
    snprintf(e->addr, sizeof e->addr, "%s", c->peer);
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

/* Frees r and returns its budget; whoever returns budget (or ends a chunk
 * request, which widens the others' shares) restarts the waiting queue, a
 * closing connection's too. */
static void req_free(req_t *r) {
  conn_t *c = r->conn;
  server_t *srv = c->srv;
  int restart = r->budget > 0 || r->counted;
  srv->buf_used -= r->budget;
  c->buf_used -= r->budget;
  if (r->counted && --c->chunks_pending == 0) srv->active--;
  if (r->fd >= 0) close(r->fd);
  free(r->buf);
  free(r->path);
  free(r->temp_dir);
  free(r);
  if (restart && !srv->closing) pump(srv);
}

static void conn_maybe_resume(conn_t *c);

static void write_done(ls_conn_out_t *o, int status) {
  req_t *r = o->data;
  conn_t *c = r->conn;
  server_t *srv = c->srv;
  c->inflight--;
  if (status < 0 && !c->closing) conn_close(c, LS_CONN_END_WRITE);
  if (status == 0) c->progress_ms = uv_now(srv->loop);
  req_free(r);
  if (!c->closing) conn_maybe_resume(c);
  else conn_release(c);
}

/* Sends r's reply: an error, or header + buffer, or a chunk's header + its
 * bytes from the file. Takes ownership of r. */
static void reply(conn_t *c, req_t *r) {
  uv_buf_t bufs[2];
  int n = 0, rc;
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
  r->out.data = r;
  if (r->err == 0 && r->from_file)
    rc = ls_conn_out_file(&c->conn, &r->out, bufs[0], r->fd, r->chunk_offset, r->chunk_len, write_done);
  else
    rc = ls_conn_out(&c->conn, &r->out, bufs, (unsigned)n, write_done);
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

static int changed(const req_t *r, int fd) {
  struct stat st;
  return fstat(fd, &st) != 0 ||
         (!r->partial && (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec != r->mtime_ns);
}

/* A chunk to be sent from its file (sendfile, or with TLS a slice at a
 * time): the file stays open for it, unchanged since it was hashed, and its
 * pages are read into the page cache here, on the thread pool, so that the
 * loop thread does not wait for the disk. (The copy path checks the mtime
 * after its read; this one can only check before: a file rewritten while its
 * chunk is sent is caught by the receiver's hash check, and by the catalog's
 * rescan.) */
static void warm_chunk(req_t *r, int fd) {
  if (changed(r, fd)) {
    close(fd);
    r->err = LS_ERR_NOT_HELD;
    return;
  }
  readahead(fd, (off64_t)r->chunk_offset, r->chunk_len);
  r->fd = fd;
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
  if (r->from_file) {
    warm_chunk(r, fd);
    return;
  }
  if (r->buf == NULL || pread_full(fd, r->buf, r->chunk_len, r->chunk_offset) != 0 || changed(r, fd))
    r->err = LS_ERR_NOT_HELD;
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
  r->counted = 1;
  if (r->conn->chunks_pending++ == 0) srv->active++;
}

/* Takes *link (the head or a waiting request's next) out of the queue. */
static req_t *wait_unlink(server_t *srv, req_t **link) {
  req_t *r = *link;
  *link = r->next;
  if (srv->wait_tail == r)
    srv->wait_tail = link == &srv->wait_head ? NULL : (req_t *)((char *)link - offsetof(req_t, next));
  r->next = NULL;
  return r;
}

/* A closing connection's waiting requests go at once (each gets its reply,
 * which for a closing connection is to be freed). */
static void wait_drop(server_t *srv, conn_t *c) {
  req_t *mine = NULL;
  for (req_t **p = &srv->wait_head; *p != NULL;) {
    if ((*p)->conn != c) {
      p = &(*p)->next;
      continue;
    }
    req_t *r = wait_unlink(srv, p);
    r->next = mine;
    mine = r;
  }
  while (mine != NULL) {
    req_t *r = mine;
    mine = r->next;
    reply(c, r);
  }
}

/* Whether c may take len bytes of buffer budget now. Its fair share is the
 * budget over the connections with chunk requests pending, plus one, so that
 * a newcomer finds room; at least one chunk. A connection holding nothing
 * may take that chunk from SERVER_BUF_RESERVE when the budget is spent (by
 * connections whose peers do not read, until write_timeout closes them). */
static int fits(const server_t *srv, const conn_t *c, size_t len) {
  size_t share = SERVER_BUF_BUDGET / (srv->active + 1);
  size_t limit = SERVER_BUF_BUDGET + (c->buf_used == 0 ? SERVER_BUF_RESERVE : 0);
  if (c->buf_used > 0 && c->buf_used + len > share) return 0;
  return srv->buf_used == 0 || srv->buf_used + len <= limit;
}

/* Whether a's turn comes before b's: its address, then the connection
 * itself, was served longer ago. */
static int turn_before(const conn_t *a, const conn_t *b) {
  if (a->ip->served != b->ip->served) return a->ip->served < b->ip->served;
  return a->served < b->served;
}

/* The next request to start: round-robin between source addresses, then
 * between an address's connections, FIFO within a connection; only requests
 * that fit the budget and their connection's share. NULL if none may go. */
static req_t **wait_pick(server_t *srv) {
  req_t **best = NULL;
  for (req_t **p = &srv->wait_head; *p != NULL; p = &(*p)->next) {
    const conn_t *c = (*p)->conn;
    if (!fits(srv, c, (*p)->chunk_len)) continue;
    if (best == NULL || turn_before(c, (*best)->conn)) best = p;
  }
  return best;
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

/* Starts waiting requests, fairly, while the buffer budget and the rate allow. */
static void pump_once(server_t *srv) {
  req_t **link;
  while ((link = wait_pick(srv)) != NULL) {
    req_t *r = *link;
    uint64_t wait = rate_wait(srv, r->chunk_len);
    if (wait > 0) {
      if (!uv_is_active((uv_handle_t *)&srv->rate_timer)) uv_timer_start(&srv->rate_timer, rate_timer_cb, wait, 0);
      return;
    }
    wait_unlink(srv, link);
    r->budget = r->chunk_len;
    srv->buf_used += r->budget;
    r->conn->buf_used += r->budget;
    r->conn->served = r->conn->ip->served = ++srv->turn;
    /* The buffer a chunk is read into comes from the loop thread's heap, as
     * it goes back there: malloc'ed on the pool, each thread's own heap
     * would keep several MiB (the peak RSS of a keyed server: 27-29 MiB). */
    if (!r->from_file && (r->buf = malloc(r->chunk_len ? r->chunk_len : 1)) == NULL) r->err = LS_ERR_INTERNAL;
    if (r->err != 0) reply(r->conn, r);
    else start_read(srv, r);
  }
}

/* Budget comes back from within pump_once too (a failed read): once more then. */
static void pump(server_t *srv) {
  if (srv->pumping) {
    srv->repump = 1;
    return;
  }
  srv->pumping = 1;
  do {
    srv->repump = 0;
    pump_once(srv);
  } while (srv->repump);
  srv->pumping = 0;
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
  /* The send path's switch: plain, sendfile; with TLS, a chunk up to
   * SERVER_COPY_MAX is read into a buffer on the thread pool, a bigger one
   * from its file a slice at a time as it is encrypted (never whole in memory). */
  r->from_file = ls_conn_sendfile_ok(&r->conn->conn) || r->chunk_len > SERVER_COPY_MAX;
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
  r->out.data = r;
  if (ls_conn_out(&r->conn->conn, &r->out, &b, 1, write_done) != 0) {
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
  r->fd = -1;
  c->inflight++;
  c->req_ms = uv_now(srv->loop);
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
  if (r->rq.type != LS_MSG_HAVE_REQ) c->useful_ms = c->req_ms;
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
  for (ls_map_node_t *it = ls_map_first(&srv->per_ip); it != NULL; it = ls_map_next(&srv->per_ip, it)) free(it->value);
  ls_map_close(&srv->per_ip);
  ls_tls_ctx_free(srv->tls);
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
  c->listed = 0;
  if (--c->ip->conns == 0) free(ls_map_del(&srv->per_ip, c->peer));
  c->ip = NULL;
  wait_drop(srv, c);
}

static void conn_close(conn_t *c, ls_conn_end_t why) {
  ls_conn_close(&c->conn, why);
}

static int conn_busy(const ls_conn_t *lc) {
  const conn_t *c = lc->data;
  return c->inflight > 0;
}

/* When a connection counts as idle for eviction, or UINT64_MAX if it does
 * not: since its last request if none is in flight; since its last manifest
 * or chunk request if it has sent only HAVE requests for idle_timeout. */
static uint64_t idle_since(const server_t *srv, const conn_t *c, uint64_t now) {
  if (now - c->useful_ms > (uint64_t)srv->cfg->idle_timeout * 1000) return c->useful_ms;
  return c->inflight > 0 ? UINT64_MAX : c->req_ms;
}

/* The server is full: an address holding at least two fewer connections than
 * the address holding the most takes the slot of that address's connection
 * idle longest. NULL: none may go (the newcomer is refused). */
static conn_t *evict_victim(server_t *srv, unsigned from_ip) {
  unsigned most = 0;
  for (conn_t *c = srv->conns; c != NULL; c = c->next)
    if (c->ip->conns > most) most = c->ip->conns;
  if (from_ip + 1 >= most) return NULL;
  uint64_t now = uv_now(srv->loop), oldest = UINT64_MAX;
  conn_t *victim = NULL;
  for (conn_t *c = srv->conns; c != NULL; c = c->next) {
    uint64_t since = c->ip->conns == most ? idle_since(srv, c, now) : UINT64_MAX;
    if (since < oldest) {
      oldest = since;
      victim = c;
    }
  }
  return victim;
}

/* Room for one more: 0, or the server is full and no slot may be taken. */
static int make_room(server_t *srv, conn_t *c, unsigned from_ip) {
  static ls_ratelimit_t rl_all = {5, 10000, 0, 0, 0}, rl_evict = {5, 10000, 0, 0, 0};
  unsigned long dropped;
  if (srv->nconns < srv->cfg->max_conns) return 0;
  conn_t *victim = evict_victim(srv, from_ip);
  if (victim == NULL) {
    if (ls_ratelimit_allow(&rl_all, &dropped))
      ls_warn("connection refused: %u connections open (max_conns)", srv->nconns);
    return UV_EBUSY;
  }
  if (ls_ratelimit_allow(&rl_evict, &dropped))
    ls_warn("full (max_conns): a connection from %s gives its slot to %s", victim->peer, c->peer);
  conn_close(victim, LS_CONN_END_EVICTED);
  return 0;
}

/* Admission: the limits per address and in all. 0, or the connection was
 * refused (ERROR 4, then closed). */
static int admit(server_t *srv, conn_t *c) {
  static ls_ratelimit_t rl_ip = {5, 10000, 0, 0, 0};
  unsigned long dropped;
  /* One address cannot take every slot: honest peers keep being served. */
  ip_t *ip = ls_map_get(&srv->per_ip, c->peer);
  unsigned from_ip = ip != NULL ? ip->conns : 0;
  if (from_ip >= srv->cfg->max_conns_per_ip) {
    if (ls_ratelimit_allow(&rl_ip, &dropped))
      ls_warn("connection from %s refused: %u open from that address (max_conns_per_ip)", c->peer, from_ip);
    ls_conn_fail(&c->conn, 0, LS_ERR_BUSY, "too many connections from your address", LS_CONN_END_REFUSED);
    return UV_EBUSY;
  }
  if (make_room(srv, c, from_ip) != 0) {
    ls_conn_fail(&c->conn, 0, LS_ERR_BUSY, "too many connections", LS_CONN_END_REFUSED);
    return UV_EBUSY;
  }
  ip = ls_map_get(&srv->per_ip, c->peer); /* the eviction may have freed it */
  if (ip == NULL && ((ip = calloc(1, sizeof *ip)) == NULL || ls_map_put(&srv->per_ip, c->peer, ip) != 0)) {
    free(ip);
    ls_conn_fail(&c->conn, 0, LS_ERR_BUSY, "out of memory", LS_CONN_END_NOMEM);
    return UV_ENOMEM;
  }
  if (ip->conns++ == 0) ip->served = srv->turn; /* a newcomer joins the round */
  c->ip = ip;
  c->served = srv->turn;
  c->listed = 1;
  c->next = srv->conns;
  if (srv->conns) srv->conns->prev = c;
  srv->conns = c;
  srv->nconns++;
  return 0;
}

/* Each second: a connection whose queued replies made no progress for
 * write_timeout (the peer does not read, or is gone) is closed, and its
 * budget returned. */
static void sweep_cb(uv_timer_t *t) {
  server_t *srv = t->data;
  uint64_t now = uv_now(srv->loop), limit = (uint64_t)srv->cfg->write_timeout * 1000;
  for (conn_t *c = srv->conns; c != NULL;) {
    uint64_t sent = ls_conn_bytes_sent(&c->conn);
    if (sent != c->sent_seen || ls_conn_unsent(&c->conn) == 0) {
      c->sent_seen = sent;
      c->progress_ms = now;
    } else if (now - c->progress_ms >= limit) {
      conn_close(c, LS_CONN_END_WRITE_TIMEOUT);
      c = srv->conns; /* closing may have changed the list: again from the start */
      continue;
    }
    c = c->next;
  }
}

static void on_connection(uv_stream_t *ls, int status) {
  server_t *srv = ls->data;
  if (status < 0) return;
  conn_t *c = calloc(1, sizeof *c);
  if (c == NULL) return;
  c->srv = srv;
  ls_conn_opts_t o = {.role = LS_CONN_SERVER,
                      .tls = srv->tls,
                      .timeout_ms = (uint64_t)srv->cfg->idle_timeout * 1000,
                      .keepalive_s = SERVER_KEEPALIVE_S,
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
  c->start_ms = c->req_ms = c->useful_ms = c->progress_ms = uv_now(srv->loop);
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
  uv_timer_init(loop, &srv->sweep_timer);
  srv->sweep_timer.data = srv;
  uv_timer_start(&srv->sweep_timer, sweep_cb, 1000, 1000);
  srv->handles = 4; /* listener, rate, status and sweep timers */
  *out = srv;
  return 0;
}

int server_start(server_t *srv) {
  srv->listener.data = srv;
  /* dual stack by default */
  int rc = ls_net_tcp_listen_default(srv->loop, &srv->listener, srv->cfg->listen_addr, srv->cfg->tcp_port, 128,
                                     on_connection);
  if (rc != 0) return rc;
  status_write(srv);
  uv_timer_start(&srv->status_timer, status_cb, 1000, 1000);
  return 0;
}

int server_set_key(server_t *srv, const ls_key_t *key) {
  if (key == NULL || !key->set) return 0;
  return ls_tls_ctx_new(key, LS_TLS_CHUNK, LS_TLS_SERVER, &srv->tls);
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
  uv_close((uv_handle_t *)&srv->sweep_timer, server_handle_closed);
}
