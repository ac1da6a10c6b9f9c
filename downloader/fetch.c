#include "fetch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "ls_catalog.h"
#include "ls_conn.h"
#include "ls_log.h"
#include "ls_manifest.h"
#include "ls_net.h"
#include "ls_partial.h"
#include "ls_proto.h"
#include "ls_util.h"
#include "scheduler.h"

#define ID_MANIFEST 0xFFFFFFFFu
#define ID_HAVE 0xFFFFFFFEu
#define RECV_SLAB (64 * 1024)
#define MANIFEST_MAX (LS_MANIFEST_HEADER_LEN + (size_t)LS_MANIFEST_MAX_CHUNKS * LS_HASH_LEN)

typedef struct fetch_s fetch_t;

/* How a peer's part ended, beside the text in end. */
typedef enum { PEER_UNUSED, PEER_OK, PEER_STOPPED, PEER_DROPPED, PEER_BANNED } peer_end_t;

typedef struct {
  fetch_t *f;
  fetch_holder_t h;
  ls_conn_t conn;            /* framing, the key's handshake, connect and stall timeouts */
  int gone;
  peer_end_t end_kind;
  uint8_t *have;             /* NULL: holds everything */
  int in_sched;
  int have_pending;
  int manifest_pending;
  uint32_t reqs[FETCH_MAX_DEPTH];
  size_t nreqs;
  uint64_t bytes;
  const char *end;
  char end_buf[160];
} peer_t;

typedef struct {
  uv_work_t work;
  fetch_t *f;
  peer_t *p;
  uint32_t index;
  uint8_t *base;   /* the frame payload: u32 index, then the chunk */
  uint8_t *data;
  uint32_t len;
  int ok;
  int write_rc;
} verify_t;

struct fetch_s {
  const fetch_opts_t *o;
  fetch_result_t *res;
  uv_loop_t loop;
  peer_t *peers;
  size_t npeers;
  ls_manifest_t manifest;
  int have_manifest;
  ls_partial_t partial;
  int partial_open;
  sched_t sched;
  uv_timer_t progress_timer;
  uv_signal_t sigint, sigterm;
  uv_work_t final_work;
  struct final_part_s *final_parts;
  unsigned final_pending;
  uint64_t final_start;
  int final_rc;
  int64_t final_bad;
  unsigned verifying;
  int stopped;
  int finishing;
  uint64_t start_ms;
  uint64_t done_bytes;
  uint64_t rate_bytes;       /* since the last progress tick */
  double rate;
  uint64_t last_tick;
  char dest[4096];
  char last_drop[160];      /* why the last peer went, for the final message */
  char last_drop_tag[LS_TAG_MAX + 1];
};

static void peer_drop(peer_t *p, const char *why, peer_end_t kind);
static void fill(peer_t *p);
static void fill_all(fetch_t *f);
static void check_stuck(fetch_t *f);
static size_t max_reply(const fetch_t *f);

/* ---------- the end ---------- */

static void close_if_open(uv_handle_t *h) {
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

/* The peer's part is over (its end already said); the connection goes. */
static void peer_close(peer_t *p) {
  if (p->gone) return;
  p->gone = 1;
  ls_conn_close(&p->conn, LS_CONN_END_LOCAL);
}

static void fetch_stop(fetch_t *f, fetch_status_t status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fetch_stop(fetch_t *f, fetch_status_t status, const char *fmt, ...) {
  if (f->stopped) return;
  f->stopped = 1;
  f->res->status = status;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(f->res->message, sizeof f->res->message, fmt, ap);
  va_end(ap);
  for (size_t i = 0; i < f->npeers; i++) {
    peer_t *p = &f->peers[i];
    if (p->end == NULL) {
      p->end = status == FETCH_OK ? "ok" : "stopped";
      p->end_kind = status == FETCH_OK ? PEER_OK : PEER_STOPPED;
    }
    peer_close(p);
  }
  close_if_open((uv_handle_t *)&f->progress_timer);
  close_if_open((uv_handle_t *)&f->sigint);
  close_if_open((uv_handle_t *)&f->sigterm);
}

static void report_progress(fetch_t *f, int finished) {
  if (f->o->progress == NULL) return;
  fetch_progress_t pr;
  memset(&pr, 0, sizeof pr);
  pr.done_bytes = f->done_bytes;
  pr.total_bytes = f->have_manifest ? f->manifest.size : 0;
  pr.rate = f->rate;
  pr.finished = finished;
  for (size_t i = 0; i < f->npeers; i++) {
    const peer_t *p = &f->peers[i];
    if (p->gone || !ls_conn_ready(&p->conn) || (p->nreqs == 0 && p->bytes == 0)) continue;
    pr.peers_active++;
    if (pr.npeers < FETCH_MAX_PEERS) {
      pr.peer_tags[pr.npeers] = p->h.tag;
      pr.peer_bytes[pr.npeers++] = p->bytes;
    }
  }
  f->o->progress(f->o->progress_ud, &pr);
}

static void progress_cb(uv_timer_t *t) {
  fetch_t *f = t->data;
  uint64_t now = uv_now(&f->loop);
  double dt = (double)(now - f->last_tick) / 1000.0;
  if (dt > 0) {
    double inst = (double)f->rate_bytes / dt;
    f->rate = f->rate == 0 ? inst : 0.7 * f->rate + 0.3 * inst;
  }
  f->rate_bytes = 0;
  f->last_tick = now;
  report_progress(f, 0);
}

/* ---------- finishing: verify the whole file on disk, then move it ----------
 * The check reads the part file back in FINAL_PARTS slices on the thread pool
 * at once (one per core), then one more job makes it durable and links it. */

#define FINAL_PARTS 2

typedef struct final_part_s {
  uv_work_t work;
  fetch_t *f;
  uint32_t first, end; /* chunk range */
  int rc;
  int64_t bad;
} final_part_t;

static void final_check_cb(uv_work_t *w) {
  final_part_t *fp = w->data;
  fetch_t *f = fp->f;
  uint8_t *buf = malloc(f->manifest.chunk_size);
  fp->bad = -1;
  if (buf == NULL) {
    fp->rc = -ENOMEM;
    return;
  }
  for (uint32_t i = fp->first; i < fp->end; i++) {
    uint32_t len = ls_manifest_chunk_len(&f->manifest, i);
    int rc = ls_partial_read_chunk(&f->partial, i, buf, len);
    if (rc != 0 || !ls_manifest_chunk_ok(&f->manifest, i, buf, len)) {
      fp->bad = i;
      fp->rc = rc != 0 ? rc : -EILSEQ;
      break;
    }
  }
  free(buf);
}

static void final_link_cb(uv_work_t *w) {
  fetch_t *f = w->data;
  f->final_rc = ls_partial_finish(&f->partial, f->dest, f->o->cfg->fsync);
  if (f->final_rc == 0) {
    struct stat st;
    if (stat(f->dest, &st) == 0)
      ls_catalog_cache_store(f->o->cfg->cache_dir, f->dest, (uint64_t)st.st_size,
                             (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec, (uint64_t)st.st_ino,
                             &f->manifest);
  }
}

static void final_link_done_cb(uv_work_t *w, int status) {
  fetch_t *f = w->data;
  (void)status;
  if (f->final_rc == 0) {
    report_progress(f, 1);
    fetch_stop(f, FETCH_OK, "verified, saved to %s", f->dest);
  } else if (f->final_rc == -EEXIST) {
    fetch_stop(f, FETCH_EXISTS, "%s appeared meanwhile; not overwritten (the verified data stays in %s)", f->dest,
               f->o->cfg->temp_dir);
  } else {
    fetch_stop(f, FETCH_IO, "cannot finish %s: %s", f->dest, uv_strerror(f->final_rc));
  }
}

static void final_check_done_cb(uv_work_t *w, int status) {
  final_part_t *fp = w->data;
  fetch_t *f = fp->f;
  (void)status;
  if (fp->rc != 0 && f->final_rc == 0) {
    f->final_rc = fp->rc;
    f->final_bad = fp->bad;
  }
  if (--f->final_pending > 0) return;
  free(f->final_parts);
  f->final_parts = NULL;
  ls_debug("final check of %u chunks: %.3f s", f->manifest.nchunks, (double)(uv_hrtime() - f->final_start) / 1e9);
  if (f->final_rc == -EILSEQ) {
    ls_partial_unmark(&f->partial, (uint32_t)f->final_bad);
    fetch_stop(f, FETCH_INTEGRITY, "chunk %lld failed its check on disk after writing; it is unmarked, run again",
               (long long)f->final_bad);
    return;
  }
  if (f->final_rc != 0) {
    fetch_stop(f, FETCH_IO, "cannot read back %s: %s", f->o->cfg->temp_dir, uv_strerror(f->final_rc));
    return;
  }
  f->final_work.data = f;
  if (uv_queue_work(&f->loop, &f->final_work, final_link_cb, final_link_done_cb) != 0)
    fetch_stop(f, FETCH_IO, "cannot queue the final move");
}

static void maybe_finish(fetch_t *f) {
  if (f->stopped || f->finishing || !sched_finished(&f->sched)) return;
  f->finishing = 1;
  for (size_t i = 0; i < f->npeers; i++) {
    peer_t *p = &f->peers[i];
    if (!p->gone) {
      p->end = "ok";
      p->end_kind = PEER_OK;
      peer_close(p);
    }
  }
  uint32_t n = f->manifest.nchunks;
  f->final_parts = calloc(FINAL_PARTS, sizeof *f->final_parts);
  if (f->final_parts == NULL) {
    fetch_stop(f, FETCH_IO, "out of memory");
    return;
  }
  f->final_start = uv_hrtime();
  f->final_rc = 0;
  for (uint32_t k = 0; k < FINAL_PARTS; k++) {
    final_part_t *fp = &f->final_parts[k];
    fp->f = f;
    fp->first = (uint32_t)((uint64_t)n * k / FINAL_PARTS);
    fp->end = (uint32_t)((uint64_t)n * (k + 1) / FINAL_PARTS);
    fp->work.data = fp;
    if (uv_queue_work(&f->loop, &fp->work, final_check_cb, final_check_done_cb) == 0) f->final_pending++;
  }
  if (f->final_pending == 0) fetch_stop(f, FETCH_IO, "cannot queue the final check");
}

/* ---------- chunks: verify and write on the thread pool ---------- */

static void verify_work_cb(uv_work_t *w) {
  verify_t *v = w->data;
  v->ok = ls_manifest_chunk_ok(&v->f->manifest, v->index, v->data, v->len);
  if (v->ok) v->write_rc = ls_partial_write_chunk(&v->f->partial, v->index, v->data, v->len);
}

static void verify_done_cb(uv_work_t *w, int status) {
  verify_t *v = w->data;
  fetch_t *f = v->f;
  peer_t *p = v->p;
  (void)status;
  f->verifying--;
  free(v->base);
  if (f->stopped) {
    free(v);
    return;
  }
  if (!v->ok) {
    sched_release(&f->sched, v->index);
    char why[96];
    snprintf(why, sizeof why, "banned: chunk %u failed its hash", v->index);
    ls_warn("peer %s (%s:%u) sent chunk %u with a wrong hash: banned for this download", p->h.tag, p->h.addr,
            p->h.port, v->index);
    peer_drop(p, why, PEER_BANNED);
  } else if (v->write_rc != 0) {
    sched_release(&f->sched, v->index);
    fetch_stop(f, FETCH_IO, "cannot write chunk %u to %s: %s; the %u verified chunk(s) are kept, run again to resume",
               v->index, f->o->cfg->temp_dir, uv_strerror(v->write_rc), f->sched.ndone);
  } else if (sched_complete(&f->sched, v->index)) {
    f->done_bytes += v->len;
    f->rate_bytes += v->len;
    f->res->bytes_fetched += v->len;
    p->bytes += v->len;
  }
  free(v);
  if (f->stopped) return;
  maybe_finish(f);
  fill_all(f);
  check_stuck(f);
}

static int verify_queue(fetch_t *f, peer_t *p, uint32_t index, uint8_t *base, uint32_t len) {
  verify_t *v = calloc(1, sizeof *v);
  if (v == NULL) return -ENOMEM;
  v->f = f;
  v->p = p;
  v->index = index;
  v->base = base;
  v->data = base + 4;
  v->len = len;
  v->work.data = v;
  f->verifying++;
  int rc = uv_queue_work(&f->loop, &v->work, verify_work_cb, verify_done_cb);
  if (rc != 0) {
    f->verifying--;
    free(v);
  }
  return rc;
}

/* ---------- requests ---------- */

static int send_request(peer_t *p, uint8_t type, uint32_t id, uint32_t index) {
  uint8_t payload[LS_HASH_LEN + 4];
  memcpy(payload, p->f->o->root, LS_HASH_LEN);
  ls_put_u32(payload + LS_HASH_LEN, index);
  return ls_conn_send(&p->conn, type, id, payload, type == LS_MSG_CHUNK_REQ ? LS_HASH_LEN + 4 : LS_HASH_LEN);
}

static int usable(const peer_t *p) {
  return !p->gone && ls_conn_ready(&p->conn);
}

static unsigned outstanding(const fetch_t *f) {
  unsigned n = f->verifying;
  for (size_t i = 0; i < f->npeers; i++) n += (unsigned)f->peers[i].nreqs;
  return n;
}

static void fill(peer_t *p) {
  fetch_t *f = p->f;
  if (f->stopped || f->finishing || !usable(p) || !p->in_sched) return;
  unsigned depth = f->o->depth ? f->o->depth : FETCH_DEFAULT_DEPTH;
  if (depth > FETCH_MAX_DEPTH) depth = FETCH_MAX_DEPTH;
  /* Memory stays flat: requested + being verified chunks are bounded. */
  unsigned budget = (unsigned)f->npeers * depth + FETCH_MAX_VERIFYING;
  while (p->nreqs < depth && outstanding(f) < budget) {
    int64_t idx = sched_pick(&f->sched, p->have, p->reqs, p->nreqs);
    if (idx < 0) break;
    if (send_request(p, LS_MSG_CHUNK_REQ, (uint32_t)idx, (uint32_t)idx) != 0) {
      peer_drop(p, "dropped: write failed", PEER_DROPPED);
      return;
    }
    sched_start(&f->sched, (uint32_t)idx);
    p->reqs[p->nreqs++] = (uint32_t)idx;
  }
  if (p->nreqs > 0) ls_conn_arm(&p->conn);
}

static void fill_all(fetch_t *f) {
  for (size_t i = 0; i < f->npeers; i++) fill(&f->peers[i]);
}

static int take_req(peer_t *p, uint32_t index) {
  for (size_t i = 0; i < p->nreqs; i++) {
    if (p->reqs[i] == index) {
      p->reqs[i] = p->reqs[--p->nreqs];
      return 1;
    }
  }
  return 0;
}

/* ---------- peers ---------- */

static void peer_enter_sched(peer_t *p) {
  fetch_t *f = p->f;
  if (p->in_sched || !f->have_manifest || !usable(p)) return;
  if (!p->h.complete && p->have == NULL) {
    if (!p->have_pending) {
      p->have_pending = 1;
      if (send_request(p, LS_MSG_HAVE_REQ, ID_HAVE, 0) != 0) peer_drop(p, "dropped: write failed", PEER_DROPPED);
    }
    return;
  }
  sched_peer_add(&f->sched, p->have);
  p->in_sched = 1;
  fill(p);
}

static void ask_manifest(fetch_t *f) {
  if (f->have_manifest || f->stopped) return;
  for (size_t i = 0; i < f->npeers; i++)
    if (f->peers[i].manifest_pending) return;
  for (size_t i = 0; i < f->npeers; i++) {
    peer_t *p = &f->peers[i];
    if (!usable(p)) continue;
    p->manifest_pending = 1;
    if (send_request(p, LS_MSG_MANIFEST_REQ, ID_MANIFEST, 0) != 0) {
      p->manifest_pending = 0;
      peer_drop(p, "dropped: write failed", PEER_DROPPED);
      continue;
    }
    return;
  }
}

static void resume_check(fetch_t *f);

/* With the manifest known: open (or reopen) the partial state, re-check what
 * an earlier run left when resuming, and set up the scheduler. */
static int start_with_manifest(fetch_t *f, int resuming) {
  int rc = ls_partial_open(&f->partial, f->o->cfg->temp_dir, &f->manifest, f->o->name);
  if (rc == -EBUSY) {
    fetch_stop(f, FETCH_IO, "another download of this file is running (temp/ is locked)");
    return rc;
  }
  if (rc != 0) {
    fetch_stop(f, FETCH_IO, "cannot create the partial download in %s: %s", f->o->cfg->temp_dir, uv_strerror(rc));
    return rc;
  }
  f->partial_open = 1;
  if (resuming) resume_check(f);
  if ((rc = sched_init(&f->sched, f->manifest.nchunks, f->partial.have)) != 0) {
    fetch_stop(f, FETCH_IO, "out of memory");
    return rc;
  }
  for (uint32_t i = 0; i < f->manifest.nchunks; i++)
    if (f->partial.have[i]) f->done_bytes += ls_manifest_chunk_len(&f->manifest, i);
  f->res->bytes_resumed = f->done_bytes;
  f->res->size = f->manifest.size;
  f->have_manifest = 1;
  if (resuming && f->partial.nhave > 0)
    ls_info("resuming %s: %u of %u chunks already verified", f->o->name, f->partial.nhave, f->manifest.nchunks);
  return 0;
}

static void on_manifest(peer_t *p, ls_frame_t *fr) {
  fetch_t *f = p->f;
  p->manifest_pending = 0;
  if (f->have_manifest) return;
  ls_manifest_t m;
  if (ls_manifest_decode(&m, fr->payload, fr->len) != 0 || memcmp(m.root, f->o->root, LS_HASH_LEN) != 0) {
    if (m.hashes != NULL) ls_manifest_free(&m);
    ls_warn("peer %s (%s:%u) sent a manifest that does not hash to the root: banned", p->h.tag, p->h.addr, p->h.port);
    peer_drop(p, "banned: manifest does not match the root", PEER_BANNED);
    ask_manifest(f);
    return;
  }
  f->manifest = m;
  if (start_with_manifest(f, 0) != 0) return;
  for (size_t i = 0; i < f->npeers; i++) ls_conn_set_max_payload(&f->peers[i].conn, max_reply(f));
  maybe_finish(f); /* an empty file, or everything resumed */
  for (size_t i = 0; i < f->npeers; i++) peer_enter_sched(&f->peers[i]);
}

/* Connected and, with a network key, proved both ways: ask. */
static void on_ready(ls_conn_t *c) {
  peer_t *p = c->data;
  fetch_t *f = p->f;
  if (!f->have_manifest) ask_manifest(f);
  else peer_enter_sched(p);
  if (p->manifest_pending) ls_conn_watch(&p->conn);
}

static int on_frame(ls_conn_t *c, ls_frame_t *fr) {
  peer_t *p = c->data;
  fetch_t *f = p->f;
  if (p->gone || f->stopped) return 1;
  if (fr->type == LS_MSG_MANIFEST_REP && fr->id == ID_MANIFEST && p->manifest_pending) {
    on_manifest(p, fr);
    return p->gone ? 1 : 0;
  }
  if (fr->type == LS_MSG_HAVE_REP && fr->id == ID_HAVE && p->have_pending && f->have_manifest) {
    p->have_pending = 0;
    p->have = malloc(f->manifest.nchunks + 1);
    if (p->have == NULL || ls_proto_parse_have(fr, f->manifest.nchunks, p->have) != 0) {
      peer_drop(p, "dropped: bad chunk map", PEER_DROPPED);
      return 1;
    }
    peer_enter_sched(p);
    check_stuck(f);
    return 0;
  }
  if (fr->type == LS_MSG_CHUNK_REP && f->have_manifest) {
    uint32_t index;
    const uint8_t *data;
    size_t len;
    if (ls_proto_parse_chunk_rep(fr, &index, &data, &len) != 0 || fr->id != index || !take_req(p, index)) {
      peer_drop(p, "dropped: reply to nothing asked", PEER_DROPPED);
      return 1;
    }
    if (len != ls_manifest_chunk_len(&f->manifest, index)) {
      sched_release(&f->sched, index);
      peer_drop(p, "banned: chunk of the wrong length", PEER_BANNED);
      return 1;
    }
    if (f->sched.done[index]) {
      sched_release(&f->sched, index); /* the endgame's losing copy */
    } else {
      /* The payload goes to the thread pool as it is, without a copy. */
      (void)data;
      if (verify_queue(f, p, index, fr->payload, (uint32_t)len) == 0) fr->payload = NULL;
      else sched_release(&f->sched, index);
    }
    if (p->nreqs == 0) ls_conn_rest(&p->conn);
    fill(p);
    check_stuck(f);
    return 0;
  }
  if (fr->type == LS_MSG_ERROR) {
    uint16_t code;
    char text[LS_PROTO_MAX_ERROR_TEXT + 1];
    ls_proto_parse_error(fr, &code, text, sizeof text);
    if (fr->id == ID_MANIFEST || fr->id == ID_HAVE || code != LS_ERR_NOT_HELD || p->have == NULL ||
        !take_req(p, fr->id)) {
      if (code == LS_ERR_NOT_HELD || code == LS_ERR_UNKNOWN_ROOT)
        snprintf(p->end_buf, sizeof p->end_buf, "dropped: no longer holds this content (changed or removed)");
      else
        snprintf(p->end_buf, sizeof p->end_buf, "dropped: %s", ls_proto_err_name(code));
      peer_drop(p, p->end_buf, PEER_DROPPED);
      if (fr->id == ID_MANIFEST) ask_manifest(f);
      return 1;
    }
    /* A partial peer lacks a chunk it said it had: forget it had it. */
    sched_release(&f->sched, fr->id);
    sched_peer_lost(&f->sched, p->have, fr->id);
    fill_all(f);
    check_stuck(f);
    return 0;
  }
  peer_drop(p, "dropped: unexpected reply", PEER_DROPPED);
  return 1;
}

/* The connection ended on its own: say why, as client.log shows it. */
static void on_conn_end(ls_conn_t *c, ls_conn_end_t why) {
  peer_t *p = c->data;
  if (p->gone) return; /* our own close */
  const char *text;
  peer_end_t kind = PEER_DROPPED;
  switch (why) {
    case LS_CONN_END_EOF: text = "dropped: closed the connection"; break;
    case LS_CONN_END_RESET: text = "dropped: connection reset"; break;
    case LS_CONN_END_PROTOCOL: text = "banned: malformed or oversized frame", kind = PEER_BANNED; break;
    case LS_CONN_END_NOMEM: text = "dropped: out of memory"; break;
    case LS_CONN_END_WRITE: text = "dropped: write failed"; break;
    case LS_CONN_END_STALL: text = "dropped: stalled"; break;
    case LS_CONN_END_CONNECT_TIMEOUT: text = "dropped: connect timed out"; break;
    case LS_CONN_END_AUTH_TIMEOUT: text = "dropped: no network key challenge in time"; break;
    case LS_CONN_END_AUTH_FAILED: text = "banned: did not prove the network key", kind = PEER_BANNED; break;
    case LS_CONN_END_AUTH_REFUSED: text = "dropped: refused our network key"; break;
    case LS_CONN_END_KEY_REQUIRED: text = "dropped: the peer requires a network key"; break;
    case LS_CONN_END_CONNECT:
      snprintf(p->end_buf, sizeof p->end_buf, "dropped: connect failed: %s", uv_strerror(c->error));
      text = p->end_buf;
      break;
    default:
      snprintf(p->end_buf, sizeof p->end_buf, "dropped: %s", ls_conn_end_name(why));
      text = p->end_buf;
      break;
  }
  peer_drop(p, text, kind);
}

static int peer_busy(const ls_conn_t *c) {
  const peer_t *p = c->data;
  return p->nreqs > 0 || p->manifest_pending || p->have_pending;
}

/* Ends a peer's part: its requests go back to the scheduler. kind is
 * PEER_BANNED for a peer that sent what failed verification. */
static void peer_drop(peer_t *p, const char *why, peer_end_t kind) {
  fetch_t *f = p->f;
  if (p->gone) return;
  if (p->conn.connected || kind == PEER_BANNED) ls_info("peer %s (%s:%u) %s", p->h.tag, p->h.addr, p->h.port, why);
  p->gone = 1;
  p->end_kind = kind;
  if (why != p->end_buf) snprintf(p->end_buf, sizeof p->end_buf, "%s", why); /* why may be on the caller's stack */
  p->end = p->end_buf;
  snprintf(f->last_drop, sizeof f->last_drop, "%s", p->end_buf);
  snprintf(f->last_drop_tag, sizeof f->last_drop_tag, "%s", p->h.tag);
  for (size_t i = 0; i < p->nreqs; i++) sched_release(&f->sched, p->reqs[i]);
  p->nreqs = 0;
  if (p->in_sched) sched_peer_remove(&f->sched, p->have);
  p->in_sched = 0;
  int was_manifest = p->manifest_pending;
  p->manifest_pending = 0;
  ls_conn_close(&p->conn, LS_CONN_END_LOCAL);
  if (was_manifest) ask_manifest(f);
  fill_all(f);
  check_stuck(f);
}

/* Ends the download when no live peer can supply what is missing. */
static void check_stuck(fetch_t *f) {
  if (f->stopped || f->finishing) return;
  size_t live = 0, waiting = 0, banned = 0;
  for (size_t i = 0; i < f->npeers; i++) {
    peer_t *p = &f->peers[i];
    if (p->gone) {
      banned += p->end_kind == PEER_BANNED;
      continue;
    }
    live++;
    if (!ls_conn_ready(&p->conn) || p->manifest_pending || p->have_pending) waiting++;
  }
  if (live == 0) {
    if (banned > 0 && banned == f->npeers)
      fetch_stop(f, FETCH_INTEGRITY, "every holder sent a manifest or data that failed verification (%u of %u chunks "
                 "verified are kept)", f->have_manifest ? f->sched.ndone : 0, f->have_manifest ? f->sched.nchunks : 0);
    else if (!f->have_manifest)
      fetch_stop(f, FETCH_NO_HOLDER, "no holder answered (%zu tried; last: %s %s)", f->npeers, f->last_drop_tag,
                 f->last_drop);
    else
      fetch_stop(f, FETCH_NO_HOLDER,
                 "every holder is gone with %u of %u chunks verified (last: %s %s); the partial download is kept",
                 f->sched.ndone, f->sched.nchunks, f->last_drop_tag, f->last_drop);
    return;
  }
  if (waiting > 0 || !f->have_manifest || f->verifying > 0) return;
  int64_t missing = sched_unavailable(&f->sched);
  if (missing >= 0 && outstanding(f) == 0)
    fetch_stop(f, FETCH_NO_HOLDER, "no live peer holds chunk %lld (%u of %u chunks verified; the partial is kept)",
               (long long)missing, f->sched.ndone, f->sched.nchunks);
}

static void on_signal(uv_signal_t *s, int signum) {
  fetch_t *f = s->data;
  fetch_stop(f, FETCH_INTERRUPTED, "interrupted by signal %d; %u chunk(s) verified are kept, run again to resume",
             signum, f->sched.ndone);
}

/* ---------- resume ---------- */

/* Re-checks the chunks an earlier run marked, so a torn write after kill -9
 * is fetched again instead of trusted. Runs before the loop starts. */
static void resume_check(fetch_t *f) {
  uint8_t *buf = malloc(f->manifest.chunk_size);
  if (buf == NULL) return;
  uint32_t bad = 0;
  for (uint32_t i = 0; i < f->manifest.nchunks; i++) {
    if (!f->partial.have[i]) continue;
    uint32_t len = ls_manifest_chunk_len(&f->manifest, i);
    if (ls_partial_read_chunk(&f->partial, i, buf, len) != 0 || !ls_manifest_chunk_ok(&f->manifest, i, buf, len)) {
      ls_partial_unmark(&f->partial, i);
      bad++;
    }
  }
  free(buf);
  if (bad > 0) ls_warn("resume: %u chunk(s) in temp/ failed their check and will be fetched again", bad);
}

void fetch_dest_path(const ls_config_t *cfg, const char *name, char *buf, size_t len) {
  if (snprintf(buf, len, "%s/%s", cfg->downloads_dir, name) >= (int)len) buf[len - 1] = '\0';
}

/* The longest reply a peer may send: the manifest until it is known, then a
 * chunk (with its index) or a chunk map. */
static size_t max_reply(const fetch_t *f) {
  if (!f->have_manifest) return MANIFEST_MAX;
  size_t max_payload = f->manifest.chunk_size + 4;
  if (ls_proto_have_payload_len(f->manifest.nchunks) > max_payload)
    max_payload = ls_proto_have_payload_len(f->manifest.nchunks);
  return max_payload;
}

/* Connects to one holder; the connection's timer bounds the connect, the
 * key's handshake and then each wait for a reply. */
static void peer_start(fetch_t *f, peer_t *p, const fetch_holder_t *h) {
  p->f = f;
  p->h = *h;
  ls_conn_opts_t co = {.role = LS_CONN_CLIENT,
                       .key = f->o->key,
                       .max_payload = max_reply(f),
                       .slab = RECV_SLAB,
                       .timeout_ms = (uint64_t)f->o->cfg->stall_timeout * 1000,
                       .on_frame = on_frame,
                       .on_ready = on_ready,
                       .on_end = on_conn_end,
                       .busy = peer_busy};
  int rc = ls_conn_init(&f->loop, &p->conn, &co);
  if (rc != 0) {
    p->gone = 1; /* no handle open */
    snprintf(p->end_buf, sizeof p->end_buf, "dropped: %s", uv_strerror(rc));
    p->end = p->end_buf;
    p->end_kind = PEER_DROPPED;
    return;
  }
  p->conn.data = p;
  struct sockaddr_in sa;
  rc = ls_net_ipv4(p->h.addr, p->h.port, &sa);
  if (rc == 0) rc = ls_conn_connect(&p->conn, (const struct sockaddr *)&sa);
  if (rc != 0) {
    snprintf(p->end_buf, sizeof p->end_buf, "dropped: %s", uv_strerror(rc));
    peer_drop(p, p->end_buf, PEER_DROPPED);
  }
}

/* The loop, the progress timer and the signals that interrupt. */
static void fetch_init(fetch_t *f, const fetch_opts_t *o, fetch_result_t *res) {
  f->o = o;
  f->res = res;
  uv_loop_init(&f->loop);
  f->start_ms = uv_now(&f->loop);
  f->last_tick = f->start_ms;
  fetch_dest_path(o->cfg, o->name, f->dest, sizeof f->dest);
  uv_timer_init(&f->loop, &f->progress_timer);
  f->progress_timer.data = f;
  uv_timer_start(&f->progress_timer, progress_cb, 250, 250);
  uv_signal_init(&f->loop, &f->sigint);
  uv_signal_init(&f->loop, &f->sigterm);
  f->sigint.data = f->sigterm.data = f;
  uv_signal_start(&f->sigint, on_signal, SIGINT);
  uv_signal_start(&f->sigterm, on_signal, SIGTERM);
}

/* After the loop: what each peer did, then everything freed. */
static void fetch_finish(fetch_t *f) {
  fetch_result_t *res = f->res;
  res->seconds = (double)(uv_now(&f->loop) - f->start_ms) / 1000.0;
  res->size = f->have_manifest ? f->manifest.size : 0;
  for (size_t i = 0; i < f->npeers; i++) {
    peer_t *p = &f->peers[i];
    fetch_peer_report_t *r = &res->peers[res->npeers++];
    memcpy(r->tag, p->h.tag, sizeof r->tag);
    memcpy(r->addr, p->h.addr, sizeof r->addr);
    r->port = p->h.port;
    r->bytes = p->bytes;
    snprintf(r->end, sizeof r->end, "%s", p->end ? p->end : "unused");
    free(p->have);
  }
  uv_loop_close(&f->loop);
  if (f->partial_open) ls_partial_close(&f->partial);
  if (f->have_manifest) sched_close(&f->sched);
  ls_manifest_free(&f->manifest);
  free(f->peers);
  free(f);
}

fetch_status_t fetch_run(const fetch_opts_t *o, fetch_result_t *res) {
  fetch_t *f = calloc(1, sizeof *f);
  memset(res, 0, sizeof *res);
  if (f == NULL) {
    res->status = FETCH_IO;
    snprintf(res->message, sizeof res->message, "out of memory");
    return res->status;
  }
  fetch_init(f, o, res);
  size_t n = o->nholders < FETCH_MAX_PEERS ? o->nholders : FETCH_MAX_PEERS;
  f->peers = calloc(n + 1, sizeof *f->peers);

  /* Resume: a manifest stored by an earlier run needs no peer to fetch it. */
  char hex[LS_HASH_HEX_LEN + 1];
  ls_hash_to_hex(o->root, hex);
  if (ls_partial_load_manifest(o->cfg->temp_dir, hex, &f->manifest) == 0) start_with_manifest(f, 1);

  for (size_t i = 0; i < n && f->peers != NULL && !f->stopped; i++) {
    f->npeers = i + 1;
    peer_start(f, &f->peers[i], &o->holders[i]);
  }
  if (f->peers == NULL) fetch_stop(f, FETCH_IO, "out of memory");
  if (f->have_manifest) maybe_finish(f);
  if (n == 0 && !f->finishing) fetch_stop(f, FETCH_NO_HOLDER, "no holder to fetch from");
  uv_run(&f->loop, UV_RUN_DEFAULT);
  fetch_finish(f);
  return res->status;
}
