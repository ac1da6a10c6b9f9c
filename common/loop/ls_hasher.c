#include "ls_hasher.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ls_pool.h"

/* One job: chunks [first, first + count) of an entry, then its seal if asked. */
typedef struct {
  uv_work_t req;
  ls_hasher_t *h;
  size_t entry;
  uint32_t first;
  uint32_t count;
  int seal;
  int wait;     /* another program claimed the file: wait, then take its manifest */
  int probe;    /* the first job of a claimed file: taken from the cache if it is there now */
  uint32_t more; /* whole small files after entry hashed by this job too (their results in progress) */
  int rc;
  int cached;   /* a whole file's job found its manifest in the cache */
  int busy;
  uint8_t *buf; /* LS_HASHER_READ_LEN bytes, kept for the next job */
  ls_sha256_t *ctx;
} job_t;

/* An entry's progress, on the loop thread. */
typedef struct {
  uint32_t queued; /* chunks handed to jobs */
  uint32_t done;   /* chunks whose jobs are back */
  int rc;          /* the first failure */
  uint8_t claimed; /* this program hashes it (ls_mcache_claim) */
  uint8_t waiting; /* another program does: taken from the cache once it is done */
  uint8_t probing; /* its first job is out: the rest waits for it */
  uint8_t bcached; /* in another entry's job (a batch): taken from the cache */
  int brc;         /* in another entry's job (a batch): its result */
} progress_t;

struct ls_hasher_s {
  uv_loop_t *loop;
  const ls_scan_dirs_t *dirs;
  ls_scan_snapshot_t *snap;
  ls_hasher_cb cb;
  void *ud;
  progress_t *progress; /* one per entry */
  size_t cursor;        /* the entry whose chunks are being handed out */
  job_t *jobs;
  unsigned max_jobs;
  unsigned running;
  unsigned sealed;
  size_t nwaiting;      /* entries another program is hashing */
  size_t wait_cursor;   /* where to look for the next of them */
  atomic_int cancelled; /* read by a job waiting for a claim */
};

/* The entry's claim let go, if this program holds it. */
static void entry_done(ls_hasher_t *h, size_t i) {
  if (!h->progress[i].claimed) return;
  ls_mcache_unclaim(h->dirs->cache, h->snap->entries[i].path);
  h->progress[i].claimed = 0;
}

/* Every claim let go (before the callback: it may free the snapshot). */
static void release_claims(ls_hasher_t *h) {
  for (size_t i = 0; i < h->snap->count; i++) entry_done(h, i);
}

static void hasher_free(ls_hasher_t *h) {
  for (unsigned i = 0; i < h->max_jobs; i++) {
    free(h->jobs[i].buf);
    ls_sha256_free(h->jobs[i].ctx);
  }
  free(h->jobs);
  free(h->progress);
  free(h);
}

/* Waits until the other program lets the claim on e go (it sealed the file,
 * failed or ended), polling so that a cancel is seen. 0 (claimed now),
 * -ECANCELED, or another error (no claim: hash anyway). */
static int wait_claim(ls_hasher_t *h, const ls_scan_entry_t *e) {
  int rc;
  while ((rc = ls_mcache_claim(h->dirs->cache, e->path)) == -EAGAIN) {
    if (atomic_load(&h->cancelled)) return -ECANCELED;
    usleep(20000);
  }
  return rc;
}

/* A small file hashed whole by the job of the entry before it (a batch, so
 * that 2,000 files of 512 KiB are not 2,000 round trips through the loop
 * thread, which competes with the hashing for the cores). */
static void batch_work(job_t *j, size_t i) {
  ls_hasher_t *h = j->h;
  ls_scan_entry_t *e = &h->snap->entries[i];
  progress_t *p = &h->progress[i];
  if (atomic_load(&h->cancelled)) {
    p->brc = -ECANCELED;
    return;
  }
  p->bcached = ls_scan_take_cached(h->dirs, e) == 0;
  if (p->bcached) return;
  uint32_t n = e->manifest.nchunks;
  p->brc = n > 0 ? ls_scan_hash_chunks(e, 0, n, j->buf, LS_HASHER_READ_LEN, j->ctx) : 0;
  if (p->brc == 0) p->brc = ls_scan_seal(h->dirs, e);
}

static void work_cb(uv_work_t *req) {
  job_t *j = req->data;
  for (uint32_t k = 1; k <= j->more; k++) batch_work(j, j->entry + k);
  ls_scan_entry_t *e = &j->h->snap->entries[j->entry];
  int claim = j->wait ? wait_claim(j->h, e) : -1;
  if (claim == -ECANCELED) {
    j->rc = claim;
    return;
  }
  /* The announcer and the server hash the same share at start: the one
   * behind takes what the other cached (a whole file's job: no other job
   * touches this manifest). */
  j->cached = j->seal && j->first == 0 && j->count == e->manifest.nchunks && ls_scan_take_cached(j->h->dirs, e) == 0;
  /* Claimed, but perhaps only after another program had sealed it. */
  if (j->probe) j->cached = ls_scan_take_cached(j->h->dirs, e) == 0;
  if (!j->cached) {
    j->rc = j->count > 0 ? ls_scan_hash_chunks(e, j->first, j->count, j->buf, LS_HASHER_READ_LEN, j->ctx) : 0;
    if (j->rc == 0 && j->seal) j->rc = ls_scan_seal(j->h->dirs, e);
  }
  if (claim == 0) ls_mcache_unclaim(j->h->dirs->cache, e->path);
}

static void after_cb(uv_work_t *req, int status);

/* A free job with its buffer, or NULL. */
static job_t *free_job(ls_hasher_t *h) {
  for (unsigned i = 0; i < h->max_jobs; i++) {
    job_t *j = &h->jobs[i];
    if (j->busy) continue;
    /* Page-aligned: malloc's 16-byte offset made pread's copy into it cost
     * 3 times as much system time (perf: _copy_to_iter). */
    if (j->buf == NULL) j->buf = aligned_alloc(4096, LS_HASHER_READ_LEN);
    if (j->ctx == NULL) j->ctx = ls_sha256_new();
    return j->buf != NULL && j->ctx != NULL ? j : NULL;
  }
  return NULL;
}

/* kind: 0, or JOB_WAIT, or JOB_PROBE (see job_t). */
#define JOB_WAIT 1
#define JOB_PROBE 2
static int queue_job(ls_hasher_t *h, size_t entry, uint32_t first, uint32_t count, int seal, int kind,
                     uint32_t more) {
  job_t *j = free_job(h);
  if (j == NULL) return UV_ENOMEM;
  *j = (job_t){.h = h, .entry = entry, .first = first, .count = count, .seal = seal, .wait = kind == JOB_WAIT,
               .probe = kind == JOB_PROBE, .more = more, .busy = 1, .buf = j->buf, .ctx = j->ctx};
  j->req.data = j;
  int rc = uv_queue_work(h->loop, &j->req, work_cb, after_cb);
  if (rc != 0) j->busy = 0;
  else h->running++;
  return rc;
}

/* Chunks per job: whole chunks, about LS_HASHER_JOB_BYTES. */
static uint32_t job_chunks(const ls_manifest_t *m) {
  uint32_t n = LS_HASHER_JOB_BYTES / m->chunk_size;
  return n < 1 ? 1 : n;
}

/* How many whole files after entry i one job hashes too: those that follow
 * it, each of one job, together at most LS_HASHER_JOB_BYTES with it. */
static uint32_t batch_more(ls_hasher_t *h, size_t i) {
  uint64_t left = LS_HASHER_JOB_BYTES, size = h->snap->entries[i].manifest.size;
  uint32_t more = 0;
  if (size >= left) return 0;
  left -= size;
  for (size_t k = i + 1; k < h->snap->count && more < LS_HASHER_MAX_BATCH; k++) {
    ls_scan_entry_t *e = &h->snap->entries[k];
    progress_t *p = &h->progress[k];
    if (p->rc != 0 || e->pending != 1 || p->queued != 0 || e->manifest.nchunks > job_chunks(&e->manifest) ||
        e->manifest.size > left)
      break;
    left -= e->manifest.size;
    more++;
  }
  return more;
}

/* Hands out the next job: the next chunks of the entry at the cursor, or
 * moves the cursor on. 1 if one was queued, 0 if nothing is left, or a
 * negative error (the entry failed). */
static int next_job(ls_hasher_t *h) {
  ls_scan_snapshot_t *snap = h->snap;
  while (h->cursor < snap->count) {
    progress_t *p = &h->progress[h->cursor];
    if (p->probing) return 0; /* its first job says whether the rest is needed */
    ls_scan_entry_t *e = &snap->entries[h->cursor];
    uint32_t n = e->manifest.nchunks;
    if (p->rc != 0 || e->pending != 1) {
      h->cursor++;
      continue;
    }
    uint32_t count = n - p->queued < job_chunks(&e->manifest) ? n - p->queued : job_chunks(&e->manifest);
    int whole = p->queued == 0 && count == n; /* one job hashes and seals it */
    int kind = 0;
    if (!whole && p->queued == 0 && h->dirs->cache != NULL) {
      /* A file of several jobs: hashed by one program of the peer only. */
      int c = ls_mcache_claim(h->dirs->cache, e->path);
      if (c == -EAGAIN) {
        p->waiting = 1;
        h->nwaiting++;
        h->cursor++;
        continue;
      }
      p->claimed = c == 0;
      kind = JOB_PROBE;
    }
    uint32_t more = whole ? batch_more(h, h->cursor) : 0;
    int rc = queue_job(h, h->cursor, p->queued, count, whole, kind, more);
    if (rc != 0) {
      p->rc = rc;
      if (p->done == p->queued) { /* else its last job back says it */
        e->pending = rc;
        entry_done(h, h->cursor);
      }
      return rc;
    }
    p->queued += count;
    p->probing = kind == JOB_PROBE;
    if (p->queued == n) h->cursor++; /* so the loop thread never reads it while a job seals it */
    for (uint32_t k = 0; k < more; k++, h->cursor++) h->progress[h->cursor].queued = snap->entries[h->cursor].manifest.nchunks;
    return 1;
  }
  return 0;
}

/* Once nothing else is left or running (so that this program holds no claim
 * while it waits: two programs cannot wait for each other), one job waits
 * for the next file another program claimed, then takes its manifest from
 * the cache (or hashes it whole, if the other failed or ended). */
static void wait_next(ls_hasher_t *h) {
  while (h->nwaiting > 0 && h->running == 0) {
    while (!h->progress[h->wait_cursor].waiting) h->wait_cursor++;
    size_t i = h->wait_cursor;
    progress_t *p = &h->progress[i];
    ls_scan_entry_t *e = &h->snap->entries[i];
    p->waiting = 0;
    h->nwaiting--;
    int rc = queue_job(h, i, 0, e->manifest.nchunks, 1, JOB_WAIT, 0);
    if (rc == 0) p->queued = e->manifest.nchunks;
    else e->pending = p->rc = rc;
  }
}

static void fill(ls_hasher_t *h) {
  while (!atomic_load(&h->cancelled) && h->running < h->max_jobs) {
    int rc = next_job(h);
    if (rc == 0 || (rc < 0 && h->running == 0)) break;
  }
  if (!atomic_load(&h->cancelled) && h->running == 0) wait_next(h);
}

/* A job is back: its entry's progress; the entry's seal when its chunks are
 * all hashed; the entry's end (sealed or failed). */
/* A file a batch hashed (batch_work) is back with its job. */
static void batch_back(ls_hasher_t *h, size_t i, int status) {
  progress_t *p = &h->progress[i];
  int rc = status != 0 ? -ECANCELED : p->brc;
  p->done = p->queued;
  if (rc == 0) {
    h->sealed++;
    h->snap->hashed += !p->bcached;
  } else {
    p->rc = rc;
    h->snap->entries[i].pending = rc;
  }
}

static void job_back(ls_hasher_t *h, job_t *j, int status) {
  for (uint32_t k = 1; k <= j->more; k++) batch_back(h, j->entry + k, status);
  ls_scan_entry_t *e = &h->snap->entries[j->entry];
  progress_t *p = &h->progress[j->entry];
  int rc = status != 0 ? -ECANCELED : j->rc;
  p->done += j->count;
  if (rc != 0 && p->rc == 0) p->rc = rc;
  if (j->probe) {
    p->probing = 0;
    if (j->cached && rc == 0) { /* sealed by another program: nothing more to hash */
      h->sealed++;
      entry_done(h, j->entry);
      return;
    }
  }
  if (j->seal && rc == 0) {
    h->sealed++;
    h->snap->hashed += !j->cached;
    entry_done(h, j->entry);
    return;
  }
  int all_back = p->done == p->queued && (p->rc != 0 || p->queued == e->manifest.nchunks);
  if (!all_back) return;
  if (p->rc == 0 && !atomic_load(&h->cancelled)) p->rc = queue_job(h, j->entry, 0, 0, 1, 0, 0);
  if (p->rc != 0) {
    e->pending = p->rc;
    entry_done(h, j->entry);
  }
}

static void after_cb(uv_work_t *req, int status) {
  job_t *j = req->data;
  ls_hasher_t *h = j->h;
  j->busy = 0;
  h->running--;
  job_back(h, j, status);
  fill(h);
  if (h->running == 0) {
    release_claims(h);
    h->cb(h, h->ud);
    hasher_free(h);
  }
}

int ls_hasher_start(uv_loop_t *loop, const ls_scan_dirs_t *dirs, ls_scan_snapshot_t *snap, unsigned max_jobs,
                    ls_hasher_cb cb, void *ud, ls_hasher_t **out) {
  ls_hasher_t *h = calloc(1, sizeof *h);
  if (h == NULL) return UV_ENOMEM;
  h->max_jobs = max_jobs < 1 ? 1 : max_jobs > LS_POOL_MAX_BULK ? LS_POOL_MAX_BULK : max_jobs;
  h->progress = calloc(snap->count + 1, sizeof *h->progress);
  h->jobs = calloc(h->max_jobs, sizeof *h->jobs);
  if (h->progress == NULL || h->jobs == NULL) {
    free(h->progress);
    free(h->jobs);
    free(h);
    return UV_ENOMEM;
  }
  h->loop = loop;
  h->dirs = dirs;
  h->snap = snap;
  h->cb = cb;
  h->ud = ud;
  atomic_init(&h->cancelled, 0);
  *out = NULL;
  fill(h);
  if (h->running == 0) {
    size_t left = 0;
    for (size_t i = 0; i < snap->count; i++) left += snap->entries[i].pending == 1;
    release_claims(h);
    hasher_free(h);
    return left > 0 ? UV_ENOMEM : 0; /* nothing could be queued, or nothing to hash */
  }
  *out = h;
  return 0;
}

void ls_hasher_cancel(ls_hasher_t *h) {
  atomic_store(&h->cancelled, 1);
  for (unsigned i = 0; i < h->max_jobs; i++)
    if (h->jobs[i].busy) uv_cancel((uv_req_t *)&h->jobs[i].req);
}

unsigned ls_hasher_sealed(const ls_hasher_t *h) {
  return h->sealed;
}
