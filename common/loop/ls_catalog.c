#include "ls_catalog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ls_hasher.h"
#include "ls_log.h"
#include "ls_pool.h"

typedef struct {
  uv_fs_event_t handle;
  char *path;
  int active;
} watch_t;

#define N_FIXED 2 /* downloads/ and temp/; the share's folders come from the scan */

struct ls_catalog_s {
  uv_loop_t *loop;
  ls_scan_dirs_t dirs;
  ls_mcache_t cache;             /* dirs.cache points here (or is NULL) */
  unsigned rescan_sec;
  ls_catalog_cb cb;
  void *ud;
  ls_scan_snapshot_t *current;
  ls_scan_snapshot_t *next;
  int next_rc;
  uv_timer_t rescan_timer;
  uv_timer_t debounce_timer;
  watch_t fixed[N_FIXED];
  watch_t sub[LS_CATALOG_MAX_WATCHES];
  uv_work_t work;
  ls_hasher_t *hasher;           /* the next snapshot's files being hashed */
  int scanning;                  /* a scan, its hashing or its finish is under way */
  int pending;
  int closing;
  int open_handles;
};

static void scan_start(ls_catalog_t *cat);

/* A scan: the folders read; finished at once unless files are to hash
 * (then on the pool, ls_hasher, and finish_cb). */
static void work_cb(uv_work_t *req) {
  ls_catalog_t *cat = req->data;
  cat->next = calloc(1, sizeof *cat->next);
  if (cat->next == NULL) {
    cat->next_rc = -ENOMEM;
    return;
  }
  cat->next_rc = ls_scan_run(&cat->dirs, cat->current, cat->next);
  if (cat->next_rc == 0 && cat->next->npending == 0) cat->next_rc = ls_scan_finish(cat->next, cat->current);
}

static void finish_cb(uv_work_t *req) {
  ls_catalog_t *cat = req->data;
  cat->next_rc = ls_scan_finish(cat->next, cat->current);
}

static void fs_event_cb(uv_fs_event_t *h, const char *filename, int events, int status) {
  (void)filename;
  (void)events;
  (void)status;
  ls_catalog_poke(h->data);
}

static void watch_start(ls_catalog_t *cat, watch_t *w, const char *path) {
  free(w->path);
  w->path = strdup(path);
  w->handle.data = cat;
  w->active = w->path != NULL && uv_fs_event_start(&w->handle, fs_event_cb, path, 0) == 0;
}

static void watch_stop(watch_t *w) {
  if (w->active) uv_fs_event_stop(&w->handle);
  w->active = 0;
  free(w->path);
  w->path = NULL;
}

/* Keeps one watch per share folder the last scan found (up to the limit). */
static void reconcile_watches(ls_catalog_t *cat) {
  const ls_scan_snapshot_t *snap = cat->current;
  for (size_t i = 0; i < LS_CATALOG_MAX_WATCHES; i++) {
    watch_t *w = &cat->sub[i];
    if (!w->active) continue;
    int keep = 0;
    for (size_t j = 0; j < snap->ndirs && !keep; j++) keep = strcmp(snap->dirs[j], w->path) == 0;
    if (!keep) watch_stop(w);
  }
  for (size_t j = 0; j < snap->ndirs; j++) {
    int have = 0;
    for (size_t i = 0; i < LS_CATALOG_MAX_WATCHES && !have; i++)
      have = cat->sub[i].active && strcmp(cat->sub[i].path, snap->dirs[j]) == 0;
    for (size_t i = 0; i < LS_CATALOG_MAX_WATCHES && !have; i++) {
      if (!cat->sub[i].active) {
        watch_start(cat, &cat->sub[i], snap->dirs[j]);
        have = 1;
      }
    }
  }
}

static void catalog_free(ls_catalog_t *cat) {
  if (cat->current != NULL) ls_scan_free(cat->current);
  free(cat->current);
  for (size_t i = 0; i < N_FIXED; i++) free(cat->fixed[i].path);
  for (size_t i = 0; i < LS_CATALOG_MAX_WATCHES; i++) free(cat->sub[i].path);
  free((char *)cat->dirs.share_dir);
  free((char *)cat->dirs.downloads_dir);
  free((char *)cat->dirs.temp_dir);
  if (cat->dirs.cache != NULL) ls_mcache_close(cat->dirs.cache);
  free(cat);
}

/* Tells once what is not shared and why: each refusal the snapshot before
 * did not list. */
static void log_refusals(const ls_scan_snapshot_t *next, const ls_scan_snapshot_t *prev) {
  for (size_t i = 0; i < next->nrefused; i++) {
    const ls_scan_refusal_t *r = &next->refused[i];
    if (r->known) continue;
    if (r->rc == -EAGAIN) ls_info("not shared yet: %s: %s", r->path, ls_scan_reason(r->rc));
    else ls_warn("not shared: %s: %s", r->path, ls_scan_reason(r->rc));
  }
  size_t more = next->skipped - next->nrefused, before = prev ? prev->skipped - prev->nrefused : 0;
  if (more > 0 && more != before) ls_warn("not shared: %zu more file(s), not listed", more);
}

static void drop_next(ls_catalog_t *cat, ls_scan_snapshot_t *next, int status) {
  if (next != NULL) {
    if (cat->next_rc == 0) ls_scan_free(next);
    free(next);
  }
  if (cat->closing) {
    if (cat->open_handles == 0) catalog_free(cat);
    return;
  }
  ls_error("catalog scan failed: %s", uv_strerror(cat->next_rc ? cat->next_rc : status));
}

static void publish(ls_catalog_t *cat, ls_scan_snapshot_t *next) {
  int changed = ls_scan_differs(cat->current, next);
  log_refusals(next, cat->current);
  if (next->hashed > 0) ls_info("catalog: hashed %u file(s), %zu shared", next->hashed, next->count);
  if (cat->current != NULL) {
    ls_scan_free(cat->current);
    free(cat->current);
  }
  cat->current = next;
  reconcile_watches(cat);
  if (changed && cat->cb != NULL) cat->cb(cat, cat->ud);
}

static void hashed_cb(ls_hasher_t *h, void *ud);

/* The next snapshot's files hashed (on the pool, in parallel), then
 * finished on the pool too. 1 if that is under way. */
static int hash_next(ls_catalog_t *cat) {
  if (cat->next->npending > 0) {
    int rc = ls_hasher_start(cat->loop, &cat->dirs, cat->next, ls_pool_bulk_jobs(), hashed_cb, cat, &cat->hasher);
    if (rc == 0 && cat->hasher != NULL) return 1;
    if (rc != 0) ls_error("catalog: cannot hash: %s", uv_strerror(rc));
  }
  return 0;
}

static void after_work_cb(uv_work_t *req, int status) {
  ls_catalog_t *cat = req->data;
  ls_scan_snapshot_t *next = cat->next;
  if (status == 0 && cat->next_rc == 0 && !cat->closing && next->npending > 0) {
    if (hash_next(cat)) return;
    hashed_cb(NULL, cat); /* nothing to hash after all: finish */
    return;
  }
  cat->scanning = 0;
  cat->next = NULL;
  if (status != 0 || cat->next_rc != 0 || cat->closing) {
    int closing = cat->closing;
    drop_next(cat, next, status); /* closing: may free cat */
    if (closing) return;
  } else publish(cat, next);
  if (cat->pending) {
    cat->pending = 0;
    scan_start(cat);
  }
}

static void hashed_cb(ls_hasher_t *h, void *ud) {
  (void)h;
  ls_catalog_t *cat = ud;
  cat->hasher = NULL;
  int rc = cat->closing ? UV_ECANCELED : uv_queue_work(cat->loop, &cat->work, finish_cb, after_work_cb);
  if (rc != 0) {
    cat->next_rc = 0; /* the snapshot is whole, to free */
    after_work_cb(&cat->work, rc);
  }
}

static void scan_start(ls_catalog_t *cat) {
  if (cat->closing) return;
  if (cat->scanning) {
    cat->pending = 1;
    return;
  }
  cat->scanning = 1;
  cat->work.data = cat;
  int rc = uv_queue_work(cat->loop, &cat->work, work_cb, after_work_cb);
  if (rc != 0) {
    cat->scanning = 0;
    ls_error("catalog: cannot queue scan: %s", uv_strerror(rc));
  }
}

static void debounce_cb(uv_timer_t *t) {
  scan_start(t->data);
}

static void rescan_cb(uv_timer_t *t) {
  scan_start(t->data);
}

void ls_catalog_poke(ls_catalog_t *cat) {
  if (cat->closing) return;
  /* Coalesce a burst of events (a copy in progress) into one scan. */
  uv_timer_start(&cat->debounce_timer, debounce_cb, 250, 0);
}

int ls_catalog_scan(const ls_catalog_dirs_t *dirs, const ls_catalog_snapshot_t *prev, ls_catalog_snapshot_t *out) {
  ls_mcache_t cache;
  int with_cache = dirs->cache_dir != NULL && ls_mcache_init(&cache, dirs->cache_dir) == 0;
  ls_scan_dirs_t sd = {dirs->share_dir,  dirs->downloads_dir, dirs->temp_dir, with_cache ? &cache : NULL,
                       dirs->chunk_size, dirs->max_chunks,    0};
  int rc = ls_scan_run(&sd, prev, out);
  if (with_cache) ls_mcache_close(&cache);
  return rc;
}

static char *dup_or_null(const char *s) {
  return s == NULL ? NULL : strdup(s);
}

int ls_catalog_new(uv_loop_t *loop, const ls_catalog_dirs_t *dirs, unsigned rescan_sec, ls_catalog_cb cb, void *ud,
                   ls_catalog_t **out) {
  ls_catalog_t *cat = calloc(1, sizeof *cat);
  if (cat == NULL) return UV_ENOMEM;
  cat->loop = loop;
  cat->dirs.share_dir = strdup(dirs->share_dir);
  cat->dirs.downloads_dir = dup_or_null(dirs->downloads_dir);
  cat->dirs.temp_dir = dup_or_null(dirs->temp_dir);
  if (dirs->cache_dir != NULL && ls_mcache_init(&cat->cache, dirs->cache_dir) == 0) cat->dirs.cache = &cat->cache;
  cat->dirs.chunk_size = dirs->chunk_size;
  cat->dirs.max_chunks = dirs->max_chunks;
  cat->dirs.defer_hashing = 1; /* on the pool, every core: ls_hasher */
  cat->rescan_sec = rescan_sec;
  cat->cb = cb;
  cat->ud = ud;
  uv_timer_init(loop, &cat->rescan_timer);
  uv_timer_init(loop, &cat->debounce_timer);
  cat->rescan_timer.data = cat->debounce_timer.data = cat;
  cat->open_handles = 2;
  for (size_t i = 0; i < N_FIXED; i++) {
    uv_fs_event_init(loop, &cat->fixed[i].handle);
    cat->open_handles++;
  }
  for (size_t i = 0; i < LS_CATALOG_MAX_WATCHES; i++) {
    uv_fs_event_init(loop, &cat->sub[i].handle);
    cat->open_handles++;
  }
  *out = cat;
  return 0;
}

int ls_catalog_start(ls_catalog_t *cat) {
  if (cat->dirs.downloads_dir != NULL) watch_start(cat, &cat->fixed[0], cat->dirs.downloads_dir);
  if (cat->dirs.temp_dir != NULL) watch_start(cat, &cat->fixed[1], cat->dirs.temp_dir);
  uint64_t ms = (uint64_t)cat->rescan_sec * 1000;
  uv_timer_start(&cat->rescan_timer, rescan_cb, ms, ms);
  scan_start(cat);
  return 0;
}

const ls_scan_snapshot_t *ls_catalog_current(const ls_catalog_t *cat) {
  return cat->current;
}

static void handle_closed(uv_handle_t *h) {
  ls_catalog_t *cat = h->data;
  if (--cat->open_handles == 0 && !cat->scanning) catalog_free(cat);
}

void ls_catalog_close(ls_catalog_t *cat) {
  cat->closing = 1;
  if (cat->hasher != NULL) ls_hasher_cancel(cat->hasher);
  cat->rescan_timer.data = cat->debounce_timer.data = cat;
  uv_close((uv_handle_t *)&cat->rescan_timer, handle_closed);
  uv_close((uv_handle_t *)&cat->debounce_timer, handle_closed);
  for (size_t i = 0; i < N_FIXED; i++) {
    cat->fixed[i].handle.data = cat;
    uv_close((uv_handle_t *)&cat->fixed[i].handle, handle_closed);
  }
  for (size_t i = 0; i < LS_CATALOG_MAX_WATCHES; i++) {
    cat->sub[i].handle.data = cat;
    uv_close((uv_handle_t *)&cat->sub[i].handle, handle_closed);
  }
}

ls_announce_file_t *ls_catalog_announce_files(const ls_scan_snapshot_t *snap) {
  ls_announce_file_t *files = calloc(snap->count + 1, sizeof *files);
  if (files == NULL) return NULL;
  for (size_t i = 0; i < snap->count; i++) {
    const ls_scan_entry_t *e = &snap->entries[i];
    files[i].name = e->name;
    files[i].size = e->manifest.size;
    files[i].chunk_size = e->manifest.chunk_size;
    memcpy(files[i].root, e->manifest.root, LS_HASH_LEN);
    files[i].complete = e->nhave == e->manifest.nchunks;
  }
  return files;
}
