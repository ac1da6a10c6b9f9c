/* disk.c: the download on disk: each chunk verified and written on the
 * thread pool, the resume check of what an earlier run left, and the end:
 * the file made durable and moved into downloads/. */
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
  int flush;       /* then make what is written so far durable */
  int ok;
  int write_rc;
} verify_t;

/* ---------- finishing: durable, then moved ----------
 * Every chunk marked was verified in this run: as it arrived (hashed in
 * memory, then written), or by the resume check (read back from temp/ and
 * hashed) before the loop started. So the file is not read back and hashed
 * again here (docs/ARCHITECTURE.md, "Trust": which check covers what). One
 * job on the thread pool makes it durable and links it. */

static void final_link_cb(uv_work_t *w) {
  fetch_t *f = w->data;
  f->final_rc = ls_partial_finish(&f->partial, f->dest, f->o->cfg->fsync);
  if (f->final_rc == 0) {
    struct stat st;
    if (stat(f->dest, &st) == 0) {
      ls_mcache_key_t key = ls_mcache_key_of(&st);
      ls_mcache_t cache;
      if (ls_mcache_init(&cache, f->o->cfg->cache_dir) == 0) {
        ls_mcache_store(&cache, f->dest, &key, &f->manifest);
        ls_mcache_close(&cache);
      }
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
  f->final_work.data = f;
  if (uv_queue_work(&f->loop, &f->final_work, final_link_cb, final_link_done_cb) != 0)
    fetch_stop(f, FETCH_IO, "cannot queue the final move");
}

/* ---------- chunks: verify and write on the thread pool ----------
 * With fsync on, each chunk's writeback starts as it is written. That only
 * moves it into the disk's write cache, though, and the final fsync's cache
 * flush then waited for the whole file (0.09-0.37 s of a 2.9 s download of
 * 256 MiB from four seeders, bench/README.md). So each time FETCH_FLUSH_BYTES
 * more were written, one chunk's job also flushes (fdatasync) after its
 * write, one such job at a time: a slower disk gets fewer, bigger flushes,
 * and the final fsync finds little left. A flush's failure is that chunk's
 * write failure; the finish cannot start while a flush runs, as it waits for
 * every chunk. */

static void verify_work_cb(uv_work_t *w) {
  verify_t *v = w->data;
  v->ok = ls_manifest_chunk_ok(&v->f->manifest, v->index, v->data, v->len);
  if (v->ok) v->write_rc = ls_partial_write_chunk(&v->f->partial, v->index, v->data, v->len);
  if (!v->ok || v->write_rc != 0 || !v->f->o->cfg->fsync) return;
  ls_partial_writeback(&v->f->partial, v->index);
  if (v->flush) v->write_rc = ls_partial_flush(&v->f->partial);
}

static void verify_done_cb(uv_work_t *w, int status) {
  verify_t *v = w->data;
  fetch_t *f = v->f;
  peer_t *p = v->p;
  (void)status;
  f->verifying--;
  if (v->flush) f->flushing = 0;
  free(v->base);
  if (f->stopped) {
    free(v);
    return;
  }
  if (!v->ok) {
    sched_rejected(&f->sched, v->index);
    char why[96];
    snprintf(why, sizeof why, "banned: chunk %u failed its hash", v->index);
    ls_warn("peer %s (%s:%u) sent chunk %u with a wrong hash: banned for this download", p->h.tag, p->h.addr,
            p->h.port, v->index);
    peer_drop(p, why, PEER_BANNED);
  } else if (v->write_rc != 0) {
    sched_rejected(&f->sched, v->index);
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
  f->unflushed += len;
  v->flush = f->o->cfg->fsync && !f->flushing && f->unflushed >= FETCH_FLUSH_BYTES;
  f->verifying++;
  int rc = uv_queue_work(&f->loop, &v->work, verify_work_cb, verify_done_cb);
  if (rc != 0) {
    f->verifying--;
    free(v);
    return rc;
  }
  if (v->flush) f->flushing = 1, f->unflushed = 0;
  sched_checking(&f->sched, index);
  return 0;
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
