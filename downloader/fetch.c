#include "fetch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "ls_log.h"
#include "ls_manifest.h"
#include "ls_mcache.h"
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

typedef enum { P_CONNECTING, P_READY, P_GONE } peer_state_t;

typedef struct {
  fetch_t *f;
  fetch_holder_t h;
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_timer_t timer;          /* connect and stall timeout */
  int handles;
  peer_state_t state;
  ls_proto_reader_t reader;
  uint8_t *have;             /* NULL: holds everything */
  int in_sched;
  int authed;                /* proved the network key (always 1 without one) */
  int auth_pending;
  uint8_t nonce[LS_NONCE_LEN];        /* ours */
  uint8_t server_nonce[LS_NONCE_LEN]; /* the server's challenge */
  int have_pending;
  int manifest_pending;
  uint32_t reqs[FETCH_MAX_DEPTH];
  size_t nreqs;
  uint64_t bytes;
  const char *end;
  char end_buf[160];
  uint8_t slab[RECV_SLAB];
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

static void peer_drop(peer_t *p, const char *why, int banned);
static void fill(peer_t *p);
static void fill_all(fetch_t *f);
static void check_stuck(fetch_t *f);

/* ---------- the end ---------- */

static void close_if_open(uv_handle_t *h) {
  if (!uv_is_closing(h)) uv_close(h, NULL);
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
    if (p->state != P_GONE) {
      p->state = P_GONE;
      if (p->end == NULL) p->end = status == FETCH_OK ? "ok" : "stopped";
      uv_close((uv_handle_t *)&p->tcp, NULL);
      uv_close((uv_handle_t *)&p->timer, NULL);
    }
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
    if (p->state != P_READY || (p->nreqs == 0 && p->bytes == 0)) continue;
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
    if (stat(f->dest, &st) == 0) {
      ls_mcache_key_t key = ls_mcache_key_of(&st);
      ls_mcache_store(f->o->cfg->cache_dir, f->dest, &key, &f->manifest);
    }
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
    if (p->state != P_GONE) {
      p->end = "ok";
      p->state = P_GONE;
      uv_close((uv_handle_t *)&p->tcp, NULL);
      uv_close((uv_handle_t *)&p->timer, NULL);
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
    peer_drop(p, why, 1);
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

typedef struct {
  uv_write_t w;
  uint8_t buf[LS_PROTO_MAX_REQUEST + 64];
} wreq_t;

static void wreq_done(uv_write_t *w, int status) {
  (void)status; /* a failed write shows up as a read error or a stall */
  free(w->data);
}

static int send_request(peer_t *p, uint8_t type, uint32_t id, uint32_t index) {
  wreq_t *r = malloc(sizeof *r);
  if (r == NULL) return -ENOMEM;
  size_t n = ls_proto_encode_request(r->buf, type, id, p->f->o->root, index);
  uv_buf_t b = uv_buf_init((char *)r->buf, (unsigned)n);
  r->w.data = r;
  int rc = uv_write(&r->w, (uv_stream_t *)&p->tcp, &b, 1, wreq_done);
  if (rc != 0) free(r);
  return rc;
}

static int send_frame(peer_t *p, uint8_t type, const uint8_t *payload, size_t len) {
  wreq_t *r = malloc(sizeof *r);
  if (r == NULL) return -ENOMEM;
  size_t n = ls_proto_encode_header(r->buf, type, 0, len);
  memcpy(r->buf + n, payload, len);
  uv_buf_t b = uv_buf_init((char *)r->buf, (unsigned)(n + len));
  r->w.data = r;
  int rc = uv_write(&r->w, (uv_stream_t *)&p->tcp, &b, 1, wreq_done);
  if (rc != 0) free(r);
  return rc;
}

static int usable(const peer_t *p) {
  return p->state == P_READY && p->authed;
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
      peer_drop(p, "dropped: write failed", 0);
      return;
    }
    sched_start(&f->sched, (uint32_t)idx);
    p->reqs[p->nreqs++] = (uint32_t)idx;
  }
  if (p->nreqs > 0 && !uv_is_active((uv_handle_t *)&p->timer))
    uv_timer_again(&p->timer);
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
      if (send_request(p, LS_MSG_HAVE_REQ, ID_HAVE, 0) != 0) peer_drop(p, "dropped: write failed", 0);
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
      peer_drop(p, "dropped: write failed", 0);
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
    peer_drop(p, "banned: manifest does not match the root", 1);
    ask_manifest(f);
    return;
  }
  f->manifest = m;
  if (start_with_manifest(f, 0) != 0) return;
  for (size_t i = 0; i < f->npeers; i++) {
    f->peers[i].reader.max_payload = f->manifest.chunk_size + 4 > ls_proto_have_payload_len(f->manifest.nchunks)
                                         ? f->manifest.chunk_size + 4
                                         : ls_proto_have_payload_len(f->manifest.nchunks);
  }
  maybe_finish(f); /* an empty file, or everything resumed */
  for (size_t i = 0; i < f->npeers; i++) peer_enter_sched(&f->peers[i]);
}

/* Before anything else with a network key: answer the server's challenge
 * and check its proof (docs/PROTOCOL.md, section 5). */
static int on_auth_frame(peer_t *p, ls_frame_t *fr) {
  fetch_t *f = p->f;
  const ls_key_t *key = f->o->key;
  uint8_t mac[LS_MAC_LEN];
  if (fr->type == LS_MSG_AUTH_CHALLENGE && !p->auth_pending) {
    uint8_t reply[2 * LS_NONCE_LEN];
    ls_auth_nonce(p->nonce);
    memcpy(reply, p->nonce, LS_NONCE_LEN);
    ls_auth_mac(key, "chunk-client", fr->payload, LS_NONCE_LEN, p->nonce, LS_NONCE_LEN, reply + LS_NONCE_LEN);
    memcpy(p->server_nonce, fr->payload, LS_NONCE_LEN); /* for checking its proof */
    p->auth_pending = 1;
    if (send_frame(p, LS_MSG_AUTH_RESPONSE, reply, sizeof reply) != 0) peer_drop(p, "dropped: write failed", 0);
    return p->state == P_READY ? 0 : 1;
  }
  if (fr->type == LS_MSG_AUTH_OK && p->auth_pending) {
    ls_auth_mac(key, "chunk-server", p->nonce, LS_NONCE_LEN, p->server_nonce, LS_NONCE_LEN, mac);
    if (ls_auth_equal(mac, fr->payload)) {
      p->authed = 1;
      p->auth_pending = 0;
      if (!f->have_manifest) ask_manifest(f);
      else peer_enter_sched(p);
      if (p->manifest_pending) uv_timer_again(&p->timer);
      return 0;
    }
  }
  if (fr->type == LS_MSG_ERROR) peer_drop(p, "dropped: refused our network key", 0);
  else peer_drop(p, "banned: did not prove the network key", 1);
  return 1;
}

static int on_frame(void *ud, ls_frame_t *fr) {
  peer_t *p = ud;
  fetch_t *f = p->f;
  if (p->state != P_READY || f->stopped) return 1;
  if (!p->authed) return on_auth_frame(p, fr);
  if (fr->type == LS_MSG_AUTH_CHALLENGE) {
    peer_drop(p, "dropped: the peer requires a network key", 0);
    return 1;
  }
  if (fr->type == LS_MSG_MANIFEST_REP && fr->id == ID_MANIFEST && p->manifest_pending) {
    on_manifest(p, fr);
    return p->state == P_READY ? 0 : 1;
  }
  if (fr->type == LS_MSG_HAVE_REP && fr->id == ID_HAVE && p->have_pending && f->have_manifest) {
    p->have_pending = 0;
    p->have = malloc(f->manifest.nchunks + 1);
    if (p->have == NULL || ls_proto_parse_have(fr, f->manifest.nchunks, p->have) != 0) {
      peer_drop(p, "dropped: bad chunk map", 0);
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
      peer_drop(p, "dropped: reply to nothing asked", 1);
      return 1;
    }
    if (len != ls_manifest_chunk_len(&f->manifest, index)) {
      sched_release(&f->sched, index);
      peer_drop(p, "banned: chunk of the wrong length", 1);
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
    if (p->nreqs == 0) uv_timer_stop(&p->timer);
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
      peer_drop(p, p->end_buf, 0);
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
  peer_drop(p, "dropped: unexpected reply", 1);
  return 1;
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  peer_t *p = h->data;
  size_t room;
  (void)suggested;
  uint8_t *direct = ls_proto_reader_direct(&p->reader, &room);
  if (direct != NULL && room >= 4096) *buf = uv_buf_init((char *)direct, (unsigned)room);
  else *buf = uv_buf_init((char *)p->slab, sizeof p->slab);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  peer_t *p = s->data;
  if (p->state != P_READY) return;
  if (nread < 0) {
    peer_drop(p, nread == UV_EOF ? "dropped: closed the connection" : "dropped: connection reset", 0);
    return;
  }
  if (nread == 0) return;
  if (p->nreqs > 0) uv_timer_again(&p->timer); /* progress: the stall clock restarts */
  int rc;
  if ((uint8_t *)buf->base == p->slab) rc = ls_proto_reader_feed(&p->reader, p->slab, (size_t)nread, on_frame, p);
  else rc = ls_proto_reader_commit(&p->reader, (size_t)nread, on_frame, p);
  if (rc == -EPROTO && p->state == P_READY) peer_drop(p, "banned: malformed or oversized frame", 1);
  else if (rc < 0 && p->state == P_READY) peer_drop(p, "dropped: out of memory", 0);
}

static void timer_cb(uv_timer_t *t) {
  peer_t *p = t->data;
  if (p->state == P_CONNECTING) peer_drop(p, "dropped: connect timed out", 0);
  else if (!p->authed) peer_drop(p, "dropped: no network key challenge in time", 0);
  else if (p->nreqs > 0 || p->manifest_pending || p->have_pending) peer_drop(p, "dropped: stalled", 0);
  else uv_timer_stop(t);
}

static void connect_cb(uv_connect_t *req, int status) {
  peer_t *p = req->data;
  fetch_t *f = p->f;
  if (p->state != P_CONNECTING) return;
  if (status < 0) {
    snprintf(p->end_buf, sizeof p->end_buf, "dropped: connect failed: %s", uv_strerror(status));
    peer_drop(p, p->end_buf, 0);
    return;
  }
  p->state = P_READY;
  uv_timer_stop(&p->timer);
  uv_tcp_nodelay(&p->tcp, 1);
  uv_read_start((uv_stream_t *)&p->tcp, alloc_cb, read_cb);
  if (!p->authed) {
    uv_timer_again(&p->timer); /* the challenge must come in time */
    return;
  }
  if (!f->have_manifest) ask_manifest(f);
  else peer_enter_sched(p);
  if (p->manifest_pending) uv_timer_again(&p->timer);
}

static void peer_drop(peer_t *p, const char *why, int banned) {
  fetch_t *f = p->f;
  if (p->state == P_GONE) return;
  if (p->state == P_READY || banned) ls_info("peer %s (%s:%u) %s", p->h.tag, p->h.addr, p->h.port, why);
  p->state = P_GONE;
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
  uv_close((uv_handle_t *)&p->tcp, NULL);
  uv_close((uv_handle_t *)&p->timer, NULL);
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
    if (p->state == P_GONE) {
      banned += p->end != NULL && strncmp(p->end, "banned", 6) == 0;
      continue;
    }
    live++;
    if (p->state == P_CONNECTING || !p->authed || p->manifest_pending || p->have_pending) waiting++;
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

fetch_status_t fetch_run(const fetch_opts_t *o, fetch_result_t *res) {
  fetch_t *f = calloc(1, sizeof *f);
  memset(res, 0, sizeof *res);
  if (f == NULL) {
    res->status = FETCH_IO;
    snprintf(res->message, sizeof res->message, "out of memory");
    return res->status;
  }
  f->o = o;
  f->res = res;
  uv_loop_init(&f->loop);
  f->start_ms = uv_now(&f->loop);
  f->last_tick = f->start_ms;
  fetch_dest_path(o->cfg, o->name, f->dest, sizeof f->dest);


  size_t n = o->nholders < FETCH_MAX_PEERS ? o->nholders : FETCH_MAX_PEERS;
  f->peers = calloc(n + 1, sizeof *f->peers);
  uv_timer_init(&f->loop, &f->progress_timer);
  f->progress_timer.data = f;
  uv_timer_start(&f->progress_timer, progress_cb, 250, 250);
  uv_signal_init(&f->loop, &f->sigint);
  uv_signal_init(&f->loop, &f->sigterm);
  f->sigint.data = f->sigterm.data = f;
  uv_signal_start(&f->sigint, on_signal, SIGINT);
  uv_signal_start(&f->sigterm, on_signal, SIGTERM);

  /* Resume: a manifest stored by an earlier run needs no peer to fetch it. */
  char hex[LS_HASH_HEX_LEN + 1];
  ls_hash_to_hex(o->root, hex);
  if (ls_partial_load_manifest(o->cfg->temp_dir, hex, &f->manifest) == 0) start_with_manifest(f, 1);

  size_t max_payload = MANIFEST_MAX;
  if (f->have_manifest) {
    max_payload = f->manifest.chunk_size + 4;
    if (ls_proto_have_payload_len(f->manifest.nchunks) > max_payload)
      max_payload = ls_proto_have_payload_len(f->manifest.nchunks);
  }
  uint64_t stall_ms = (uint64_t)o->cfg->stall_timeout * 1000;
  f->npeers = 0;
  for (size_t i = 0; i < n && f->peers != NULL && !f->stopped; i++) {
    peer_t *p = &f->peers[i];
    f->npeers = i + 1;
    p->f = f;
    p->h = o->holders[i];
    p->state = P_CONNECTING;
    p->authed = o->key == NULL || !o->key->set;
    ls_proto_reader_init(&p->reader, max_payload, 0);
    uv_tcp_init(&f->loop, &p->tcp);
    uv_timer_init(&f->loop, &p->timer);
    p->tcp.data = p->timer.data = p->connect.data = p;
    uv_timer_start(&p->timer, timer_cb, stall_ms, stall_ms);
    struct sockaddr_in sa;
    int rc = ls_net_ipv4(p->h.addr, p->h.port, &sa);
    if (rc == 0) rc = uv_tcp_connect(&p->connect, &p->tcp, (const struct sockaddr *)&sa, connect_cb);
    if (rc != 0) {
      snprintf(p->end_buf, sizeof p->end_buf, "dropped: %s", uv_strerror(rc));
      peer_drop(p, p->end_buf, 0);
    }
  }
  if (f->peers == NULL) fetch_stop(f, FETCH_IO, "out of memory");
  if (f->have_manifest) maybe_finish(f);
  if (n == 0 && !f->finishing) fetch_stop(f, FETCH_NO_HOLDER, "no holder to fetch from");
  uv_run(&f->loop, UV_RUN_DEFAULT);

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
    ls_proto_reader_close(&p->reader);
    free(p->have);
  }
  uv_loop_close(&f->loop);
  if (f->partial_open) ls_partial_close(&f->partial);
  if (f->have_manifest) sched_close(&f->sched);
  ls_manifest_free(&f->manifest);
  free(f->peers);
  free(f);
  return res->status;
}
