/* disk.c: the download on disk: each chunk verified and written on the
 * thread pool, the resume check of what an earlier run left, and the final
 * check of the whole file before it is moved into downloads/. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fetch_impl.h"
#include "ls_log.h"
#include "ls_mcache.h"

/* A chunk received, on its way through the thread pool. */
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
    fetch_report_progress(f, 1);
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

void disk_maybe_finish(fetch_t *f) {
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
  disk_maybe_finish(f);
  peer_fill_all(f);
  fetch_check_stuck(f);
}

int disk_verify_queue(fetch_t *f, peer_t *p, uint32_t index, uint8_t *base, uint32_t len) {
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

/* ---------- resume ----------
 * Re-checks the chunks an earlier run marked, so a torn write after kill -9
 * is fetched again instead of trusted. Runs before the loop starts. */
void disk_resume_check(fetch_t *f) {
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
