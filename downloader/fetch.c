/* fetch.c: the download as a whole: its start, its progress, when it is
 * stuck, and its end. The peers' connections are in peer.c, the disk work
 * in disk.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fetch_impl.h"
#include "ls_log.h"

/* ---------- the end ---------- */

static void close_if_open(uv_handle_t *h) {
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

void fetch_stop(fetch_t *f, fetch_status_t status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void fetch_stop(fetch_t *f, fetch_status_t status, const char *fmt, ...) {
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
  throttle_close(&f->throttle);
  close_if_open((uv_handle_t *)&f->sigint);
  close_if_open((uv_handle_t *)&f->sigterm);
}

void fetch_report_progress(fetch_t *f, int finished) {
  if (f->o->progress == NULL) return;
  fetch_progress_t pr;
  memset(&pr, 0, sizeof pr);
  pr.done_bytes = f->done_bytes;
  pr.total_bytes = f->have_manifest ? f->manifest.size : 0;
  pr.rate = f->rate;
  pr.seconds = (double)(uv_now(&f->loop) - f->start_ms) / 1000.0;
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

/* One sample of the rate's window: the bytes received by now. */
static void rate_sample(fetch_t *f, uint64_t now) {
  f->received += f->rate_bytes;
  f->rate_bytes = 0;
  f->win_ms[f->win_next] = now;
  f->win_bytes[f->win_next] = f->received;
  f->win_next = (f->win_next + 1) % FETCH_RATE_WINDOW;
  if (f->win_count < FETCH_RATE_WINDOW) f->win_count++;
}

/* The rate over the window: the bytes really received between its oldest
 * sample and now, over that time (no smoothing that starts off high); none
 * (0) until the window spans a second. */
static void progress_cb(uv_timer_t *t) {
  fetch_t *f = t->data;
  uint64_t now = uv_now(&f->loop);
  rate_sample(f, now);
  unsigned oldest = (f->win_next + FETCH_RATE_WINDOW - f->win_count) % FETCH_RATE_WINDOW;
  /* Under a second of samples, a first burst (socket buffers) is most of it. */
  if (now >= f->win_ms[oldest] + 1000)
    f->rate = (double)(f->received - f->win_bytes[oldest]) * 1000.0 / (double)(now - f->win_ms[oldest]);
  fetch_report_progress(f, 0);
}

/* With the manifest known: open (or reopen) the partial state, re-check what
 * an earlier run left (whether its manifest was in temp/ or came from a
 * peer), and set up the scheduler. */
int fetch_start_with_manifest(fetch_t *f, int resuming) {
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
  if (f->partial.nhave > 0) disk_resume_check(f);
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

/* Ends the download when no live peer can supply what is missing. */
void fetch_check_stuck(fetch_t *f) {
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
  if (missing >= 0 && peer_outstanding(f) == 0)
    fetch_stop(f, FETCH_NO_HOLDER, "no live peer holds chunk %lld (%u of %u chunks verified; the partial is kept)",
               (long long)missing, f->sched.ndone, f->sched.nchunks);
}

static void on_signal(uv_signal_t *s, int signum) {
  fetch_t *f = s->data;
  fetch_stop(f, FETCH_INTERRUPTED, "interrupted by signal %d; %u chunk(s) verified are kept, run again to resume",
             signum, f->sched.ndone);
}

void fetch_dest_path(const ls_config_t *cfg, const char *name, char *buf, size_t len) {
  if (snprintf(buf, len, "%s/%s", cfg->downloads_dir, name) >= (int)len) buf[len - 1] = '\0';
}

/* The speed limit lets requests go again. */
static void throttle_resume(uv_timer_t *t) {
  peer_fill_all(t->data);
}

/* The loop, the progress timer and the signals that interrupt. */
static void fetch_init(fetch_t *f, const fetch_opts_t *o, fetch_result_t *res) {
  f->o = o;
  f->res = res;
  uv_loop_init(&f->loop);
  f->start_ms = uv_now(&f->loop);
  rate_sample(f, f->start_ms);
  fetch_dest_path(o->cfg, o->name, f->dest, sizeof f->dest);
  uv_timer_init(&f->loop, &f->progress_timer);
  f->progress_timer.data = f;
  uv_timer_start(&f->progress_timer, progress_cb, 250, 250);
  throttle_init(&f->throttle, &f->loop, o->cfg->download_rate_limit, throttle_resume, f);
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
    res->bytes_received += p->conn.bytes_received;
    snprintf(r->end, sizeof r->end, "%s", p->end ? p->end : "unused");
    free(p->have);
  }
  uv_loop_close(&f->loop);
  if (f->partial_open) ls_partial_close(&f->partial);
  if (f->have_manifest) sched_close(&f->sched);
  ls_manifest_free(&f->manifest);
  ls_tls_ctx_free(f->tls);
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
  if (o->key != NULL && ls_tls_ctx_new(o->key, LS_TLS_CHUNK, LS_TLS_CLIENT, &f->tls) != 0)
    fetch_stop(f, FETCH_IO, "cannot set up TLS for the network key");
  size_t n = o->nholders < FETCH_MAX_PEERS ? o->nholders : FETCH_MAX_PEERS;
  f->peers = calloc(n + 1, sizeof *f->peers);

  /* Resume: a manifest stored by an earlier run needs no peer to fetch it. */
  char hex[LS_HASH_HEX_LEN + 1];
  ls_hash_to_hex(o->root, hex);
  if (ls_partial_load_manifest(o->cfg->temp_dir, hex, &f->manifest) == 0) fetch_start_with_manifest(f, 1);

  for (size_t i = 0; i < n && f->peers != NULL && !f->stopped && (o->key == NULL || f->tls != NULL); i++) {
    f->npeers = i + 1;
    peer_start(f, &f->peers[i], &o->holders[i]);
  }
  if (f->peers == NULL) fetch_stop(f, FETCH_IO, "out of memory");
  if (f->have_manifest) disk_maybe_finish(f);
  if (n == 0 && !f->finishing) fetch_stop(f, FETCH_NO_HOLDER, "no holder to fetch from");
  uv_run(&f->loop, UV_RUN_DEFAULT);
  fetch_finish(f);
  return res->status;
}
