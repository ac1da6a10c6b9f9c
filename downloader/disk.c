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

/* A chunk's check is over (whole, or the last part of a stream): it counts,
 * or its peer is banned, or the download stops for the disk. */
static void chunk_checked(fetch_t *f, peer_t *p, uint32_t index, uint32_t len, int ok, int write_rc) {
  f->verifying--;
  if (f->stopped) return;
  if (!ok) {
    sched_rejected(&f->sched, index);
    char why[96];
    snprintf(why, sizeof why, "banned: chunk %u failed its hash", index);
    ls_warn("peer %s (%s:%u) sent chunk %u with a wrong hash: banned for this download", p->h.tag, p->h.addr,
            p->h.port, index);
    peer_drop(p, why, PEER_BANNED);
  } else if (write_rc != 0) {
    sched_rejected(&f->sched, index);
    fetch_stop(f, FETCH_IO, "cannot write chunk %u to %s: %s; the %u verified chunk(s) are kept, run again to resume",
               index, f->o->cfg->temp_dir, uv_strerror(write_rc), f->sched.ndone);
  } else if (sched_complete(&f->sched, index)) {
    f->done_bytes += len;
    f->rate_bytes += len;
    f->res->bytes_fetched += len;
    p->bytes += len;
  }
  if (f->stopped) return;
  disk_maybe_finish(f);
  peer_fill_all(f);
  fetch_check_stuck(f);
}

static void verify_done_cb(uv_work_t *w, int status) {
  verify_t *v = w->data;
  fetch_t *f = v->f;
  (void)status;
  free(v->base);
  f->mem -= (size_t)v->len + 4;
  if (v->flush) f->flushing = 0;
  chunk_checked(f, v->p, v->index, v->len, v->ok, v->write_rc);
  free(v);
  peer_resume_all(f);
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
  f->mem += (size_t)len + 4;
  sched_checking(&f->sched, index);
  return 0;
}

/* ---------- streams: a chunk longer than FETCH_PIECE, in parts ----------
 * Each part is hashed into the chunk's running SHA-256 and written, unmarked,
 * on the thread pool, in order, one job at a time; after the last part the
 * hash is compared and only then is the chunk marked in R.have (so nothing
 * unverified is ever served or trusted after kill -9: ls_partial). From its
 * first part the chunk counts as being verified (sched_checking): no other
 * copy is asked for or written over it, and its region of R.part is this
 * stream's alone until the stream ends, even after its peer went (the job
 * running then ends first). */

typedef struct part_s {
  struct part_s *next;
  uint8_t *base; /* the part's buffer (size bytes, counted in f->mem) */
  size_t size;
  uint8_t *data; /* len bytes at off in the chunk */
  uint32_t off, len;
} part_t;

struct stream_s {
  uv_work_t work;
  fetch_t *f;
  peer_t *p;
  uint32_t index, len;
  ls_sha256_t *sha;
  part_t *head, *tail; /* waiting for their job */
  part_t *cur;         /* in the job */
  int dead;            /* no more parts will come: not verified */
  int last;            /* the job had the last part: ok says how it went */
  int ok, write_rc;
};

static void part_free(fetch_t *f, part_t *pt) {
  f->mem -= pt->size;
  free(pt->base);
  free(pt);
}

static void stream_work_cb(uv_work_t *w) {
  stream_t *s = w->data;
  part_t *pt = s->cur;
  fetch_t *f = s->f;
  ls_sha256_update(s->sha, pt->data, pt->len);
  s->write_rc = ls_partial_write_part(&f->partial, s->index, pt->off, pt->data, pt->len);
  if (pt->off + pt->len < s->len || s->write_rc != 0) return;
  uint8_t h[LS_HASH_LEN];
  ls_sha256_final(s->sha, h);
  s->last = 1;
  s->ok = ls_manifest_hash_ok(&f->manifest, s->index, h);
  if (s->ok) s->write_rc = ls_partial_mark(&f->partial, s->index);
  if (s->ok && s->write_rc == 0 && f->o->cfg->fsync) ls_partial_writeback(&f->partial, s->index);
}

/* The stream is over, with no job running: its chunk checked (the last
 * part, or a failed write), or back to missing (its peer went). */
static void stream_end(stream_t *s) {
  fetch_t *f = s->f;
  peer_t *p = s->p;
  uint32_t index = s->index, len = s->len;
  int checked = s->last || s->write_rc != 0, ok = s->write_rc != 0 || s->ok, write_rc = s->write_rc;
  if (p->stream == s) { /* a failed write: the rest of the reply is dropped */
    p->stream = NULL;
    p->discard = 1;
  }
  while (s->head != NULL) {
    part_t *pt = s->head;
    s->head = pt->next;
    part_free(f, pt);
  }
  ls_sha256_free(s->sha);
  free(s);
  if (checked) {
    chunk_checked(f, p, index, len, ok, write_rc);
    return;
  }
  f->verifying--;
  sched_rejected(&f->sched, index);
}

static void stream_done_cb(uv_work_t *w, int status);

static void stream_next(stream_t *s) {
  if (s->cur != NULL || s->head == NULL) return;
  s->cur = s->head;
  s->head = s->cur->next;
  if (s->head == NULL) s->tail = NULL;
  s->work.data = s;
  if (uv_queue_work(&s->f->loop, &s->work, stream_work_cb, stream_done_cb) != 0) {
    part_free(s->f, s->cur);
    s->cur = NULL;
    s->write_rc = UV_EIO;
    stream_end(s);
  }
}

static void stream_done_cb(uv_work_t *w, int status) {
  stream_t *s = w->data;
  fetch_t *f = s->f;
  (void)status;
  part_free(f, s->cur);
  s->cur = NULL;
  if (s->last || s->dead || s->write_rc != 0 || f->stopped) {
    int fill = s->dead && !s->last && !f->stopped;
    stream_end(s);
    if (fill) {
      peer_fill_all(f);
      fetch_check_stuck(f);
    }
  } else {
    stream_next(s);
  }
  peer_resume_all(f);
}

stream_t *disk_stream_open(fetch_t *f, peer_t *p, uint32_t index) {
  stream_t *s = calloc(1, sizeof *s);
  if (s == NULL || (s->sha = ls_sha256_new()) == NULL) {
    free(s);
    return NULL;
  }
  s->f = f;
  s->p = p;
  s->index = index;
  s->len = ls_manifest_chunk_len(&f->manifest, index);
  f->verifying++;
  sched_checking(&f->sched, index);
  return s;
}

int disk_stream_part(stream_t *s, uint8_t *base, size_t size, uint8_t *data, uint32_t off, uint32_t len) {
  part_t *pt = malloc(sizeof *pt);
  if (pt == NULL) return -ENOMEM;
  *pt = (part_t){NULL, base, size, data, off, len};
  s->f->mem += size;
  if (s->tail != NULL) s->tail->next = pt;
  else s->head = pt;
  s->tail = pt;
  stream_next(s);
  return 0;
}

/* Its peer went: no part will come; it ends once no job runs. */
void disk_stream_abandon(stream_t *s) {
  s->dead = 1;
  if (s->p->stream == s) s->p->stream = NULL;
  if (s->cur == NULL) stream_end(s);
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
