#include "ls_catalog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ls_log.h"
#include "ls_mcache.h"
#include "ls_name.h"
#include "ls_partial.h"

/* ---------- scanning ---------- */

typedef struct {
  const ls_catalog_dirs_t *dirs;
  const ls_catalog_snapshot_t *prev;
  ls_catalog_snapshot_t *out;
  size_t cap;
  size_t dcap;
  uint8_t *buf;      /* hashing scratch, chunk_size bytes */
  char share_real[PATH_MAX];
} scan_t;

static const ls_catalog_entry_t *prev_find_name(const ls_catalog_snapshot_t *prev, const char *name) {
  if (prev == NULL) return NULL;
  size_t lo = 0, hi = prev->count;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = strcmp(prev->entries[mid].name, name);
    if (c == 0) return &prev->entries[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

static int push_entry(scan_t *s, ls_catalog_entry_t *e) {
  ls_catalog_snapshot_t *out = s->out;
  if (out->count == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    ls_catalog_entry_t *n = realloc(out->entries, cap * sizeof *n);
    if (n == NULL) return -ENOMEM;
    out->entries = n;
    s->cap = cap;
  }
  out->entries[out->count++] = *e;
  return 0;
}

static int64_t stat_mtime_ns(const struct stat *st) {
  return (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

/* Adds one regular file; its manifest comes from the previous snapshot, the
 * disk cache, or hashing, in that order. */
static void add_file(scan_t *s, const char *path, const char *name, ls_source_t source) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    s->out->skipped++;
    return;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    s->out->skipped++;
    return;
  }
  ls_catalog_entry_t e;
  memset(&e, 0, sizeof e);
  e.source = source;
  e.mtime_ns = stat_mtime_ns(&st);
  e.ino = (uint64_t)st.st_ino;
  const ls_catalog_entry_t *old = prev_find_name(s->prev, name);
  int have = 0;
  if (old != NULL && old->source == source && old->manifest.size == (uint64_t)st.st_size &&
      old->mtime_ns == e.mtime_ns && old->ino == e.ino && strcmp(old->path, path) == 0) {
    have = ls_manifest_copy(&e.manifest, &old->manifest) == 0;
  }
  ls_mcache_key_t key = ls_mcache_key_of(&st);
  if (!have && ls_mcache_load(s->dirs->cache_dir, path, &key, &e.manifest) == 0) {
    have = 1;
  }
  if (!have) {
    int rc = ls_manifest_compute(&e.manifest, fd, (uint64_t)st.st_size, s->dirs->chunk_size, s->buf);
    struct stat after;
    if (rc == 0 && (fstat(fd, &after) != 0 || stat_mtime_ns(&after) != e.mtime_ns || after.st_size != st.st_size)) {
      ls_manifest_free(&e.manifest);
      rc = -EAGAIN; /* changed while hashed: the next scan takes it */
    }
    if (rc != 0) {
      close(fd);
      s->out->skipped++;
      return;
    }
    s->out->hashed++;
    ls_mcache_store(s->dirs->cache_dir, path, &key, &e.manifest);
  }
  close(fd);
  e.nhave = e.manifest.nchunks;
  e.name = strdup(name);
  e.path = strdup(path);
  if (e.name == NULL || e.path == NULL || push_entry(s, &e) != 0) {
    free(e.name);
    free(e.path);
    ls_manifest_free(&e.manifest);
  }
}

static void add_dir(scan_t *s, const char *path) {
  ls_catalog_snapshot_t *out = s->out;
  if (out->ndirs >= LS_CATALOG_MAX_WATCHES) return;
  if (out->ndirs == s->dcap) {
    size_t cap = s->dcap ? s->dcap * 2 : 8;
    char **n = realloc(out->dirs, cap * sizeof *n);
    if (n == NULL) return;
    out->dirs = n;
    s->dcap = cap;
  }
  char *d = strdup(path);
  if (d != NULL) out->dirs[out->ndirs++] = d;
}

/* A symlink is followed only to a regular file that resolves inside the share. */
static int symlink_ok(scan_t *s, const char *path) {
  char real[PATH_MAX];
  if (s->share_real[0] == '\0' || realpath(path, real) == NULL) return 0;
  size_t n = strlen(s->share_real);
  struct stat st;
  return strncmp(real, s->share_real, n) == 0 && real[n] == '/' && stat(real, &st) == 0 && S_ISREG(st.st_mode);
}

static void walk(scan_t *s, const char *root, const char *rel, int depth, ls_source_t source) {
  char dirpath[PATH_MAX];
  if (rel[0] == '\0') snprintf(dirpath, sizeof dirpath, "%s", root);
  else if (snprintf(dirpath, sizeof dirpath, "%s/%s", root, rel) >= (int)sizeof dirpath) return;
  DIR *d = opendir(dirpath);
  if (d == NULL) return;
  if (source == LS_SOURCE_SHARE) add_dir(s, dirpath);
  struct dirent *de;
  while ((de = readdir(d)) != NULL && s->out->count < LS_CATALOG_MAX_FILES) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    char name[PATH_MAX], path[PATH_MAX];
    if (rel[0] == '\0') snprintf(name, sizeof name, "%s", de->d_name);
    else if (snprintf(name, sizeof name, "%s/%s", rel, de->d_name) >= (int)sizeof name) continue;
    if (snprintf(path, sizeof path, "%s/%s", root, name) >= (int)sizeof path) continue;
    struct stat st;
    if (lstat(path, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (depth < LS_CATALOG_MAX_DEPTH && ls_name_valid(name, strlen(name))) walk(s, root, name, depth + 1, source);
      continue;
    }
    if (!ls_name_valid(name, strlen(name))) {
      s->out->skipped++;
      continue;
    }
    /* Skip our own temporary files (ls_write_file_atomic). */
    if (strstr(de->d_name, ".tmp.") != NULL) continue;
    if (S_ISREG(st.st_mode) || (S_ISLNK(st.st_mode) && source == LS_SOURCE_SHARE && symlink_ok(s, path)))
      add_file(s, path, name, source);
  }
  closedir(d);
}

/* ls_partial_scan: one download in progress, whose manifest the entry takes. */
static int add_partial(void *ud, ls_partial_info_t *info) {
  scan_t *s = ud;
  if (s->out->count >= LS_CATALOG_MAX_FILES) return 1;
  char path[PATH_MAX];
  struct stat st;
  if (info->held < 0 || ls_partial_path(s->dirs->temp_dir, info->root_hex, LS_PARTIAL_PART, path, sizeof path) != 0 ||
      stat(path, &st) != 0)
    return 0;
  ls_catalog_entry_t e;
  memset(&e, 0, sizeof e);
  e.source = LS_SOURCE_PARTIAL;
  e.nhave = (uint32_t)info->held;
  e.mtime_ns = stat_mtime_ns(&st);
  e.ino = (uint64_t)st.st_ino;
  e.manifest = info->manifest; /* taken */
  memset(&info->manifest, 0, sizeof info->manifest);
  e.name = strdup(info->name);
  e.path = strdup(path);
  if (e.name == NULL || e.path == NULL || push_entry(s, &e) != 0) {
    free(e.name);
    free(e.path);
    ls_manifest_free(&e.manifest);
  }
  return 0;
}

static void scan_partials(scan_t *s) {
  ls_partial_scan(s->dirs->temp_dir, add_partial, s);
}

static int cmp_name_source(const void *a, const void *b) {
  const ls_catalog_entry_t *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  if (c != 0) return c;
  return (int)x->source - (int)y->source;
}

static int cmp_root_idx(const void *a, const void *b, void *ctx) {
  const ls_catalog_entry_t *entries = ctx;
  const ls_catalog_entry_t *x = &entries[*(const size_t *)a], *y = &entries[*(const size_t *)b];
  return memcmp(x->manifest.root, y->manifest.root, LS_HASH_LEN);
}

static void entry_free(ls_catalog_entry_t *e) {
  free(e->name);
  free(e->path);
  ls_manifest_free(&e->manifest);
}

/* Sorts by name, keeps the first source per name, and builds the root index. */
static int finish_snapshot(ls_catalog_snapshot_t *out) {
  if (out->count > 1) qsort(out->entries, out->count, sizeof *out->entries, cmp_name_source);
  size_t w = 0;
  for (size_t r = 0; r < out->count; r++) {
    if (w > 0 && strcmp(out->entries[w - 1].name, out->entries[r].name) == 0) {
      entry_free(&out->entries[r]);
      continue;
    }
    out->entries[w++] = out->entries[r];
  }
  out->count = w;
  out->by_root = malloc((w + 1) * sizeof *out->by_root);
  if (out->by_root == NULL) return -ENOMEM;
  for (size_t i = 0; i < w; i++) out->by_root[i] = i;
  if (w > 1) qsort_r(out->by_root, w, sizeof *out->by_root, cmp_root_idx, out->entries);
  return 0;
}

int ls_catalog_scan(const ls_catalog_dirs_t *dirs, const ls_catalog_snapshot_t *prev, ls_catalog_snapshot_t *out) {
  scan_t s;
  memset(out, 0, sizeof *out);
  memset(&s, 0, sizeof s);
  s.dirs = dirs;
  s.prev = prev;
  s.out = out;
  s.buf = malloc(dirs->chunk_size);
  if (s.buf == NULL) return -ENOMEM;
  if (realpath(dirs->share_dir, s.share_real) == NULL) s.share_real[0] = '\0';
  walk(&s, dirs->share_dir, "", 0, LS_SOURCE_SHARE);
  if (dirs->downloads_dir != NULL) walk(&s, dirs->downloads_dir, "", 0, LS_SOURCE_DOWNLOADS);
  if (dirs->temp_dir != NULL) scan_partials(&s);
  free(s.buf);
  int rc = finish_snapshot(out);
  if (rc != 0) ls_catalog_snapshot_free(out);
  return rc;
}

void ls_catalog_snapshot_free(ls_catalog_snapshot_t *snap) {
  for (size_t i = 0; i < snap->count; i++) entry_free(&snap->entries[i]);
  for (size_t i = 0; i < snap->ndirs; i++) free(snap->dirs[i]);
  free(snap->entries);
  free(snap->by_root);
  free(snap->dirs);
  memset(snap, 0, sizeof *snap);
}

const ls_catalog_entry_t *ls_catalog_snapshot_find(const ls_catalog_snapshot_t *snap, const uint8_t root[LS_HASH_LEN]) {
  if (snap == NULL || snap->by_root == NULL) return NULL;
  size_t lo = 0, hi = snap->count;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    const ls_catalog_entry_t *e = &snap->entries[snap->by_root[mid]];
    int c = memcmp(e->manifest.root, root, LS_HASH_LEN);
    if (c == 0) return e;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

/* ---------- the libuv side ---------- */

typedef struct {
  uv_fs_event_t handle;
  char *path;
  int active;
} watch_t;

#define N_FIXED 2 /* downloads/ and temp/; the share's folders come from the scan */

struct ls_catalog_s {
  uv_loop_t *loop;
  ls_catalog_dirs_t dirs;
  unsigned rescan_sec;
  ls_catalog_cb cb;
  void *ud;
  ls_catalog_snapshot_t *current;
  ls_catalog_snapshot_t *next;
  int next_rc;
  uv_timer_t rescan_timer;
  uv_timer_t debounce_timer;
  watch_t fixed[N_FIXED];
  watch_t sub[LS_CATALOG_MAX_WATCHES];
  uv_work_t work;
  int scanning;
  int pending;
  int closing;
  int open_handles;
};

static void scan_start(ls_catalog_t *cat);

static void work_cb(uv_work_t *req) {
  ls_catalog_t *cat = req->data;
  cat->next = calloc(1, sizeof *cat->next);
  if (cat->next == NULL) {
    cat->next_rc = -ENOMEM;
    return;
  }
  cat->next_rc = ls_catalog_scan(&cat->dirs, cat->current, cat->next);
}

static int snapshot_differs(const ls_catalog_snapshot_t *a, const ls_catalog_snapshot_t *b) {
  if (a == NULL || a->count != b->count) return 1;
  for (size_t i = 0; i < a->count; i++) {
    const ls_catalog_entry_t *x = &a->entries[i], *y = &b->entries[i];
    if (strcmp(x->name, y->name) != 0 || memcmp(x->manifest.root, y->manifest.root, LS_HASH_LEN) != 0 ||
        (x->nhave == x->manifest.nchunks) != (y->nhave == y->manifest.nchunks))
      return 1;
  }
  return 0;
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
  const ls_catalog_snapshot_t *snap = cat->current;
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
  if (cat->current != NULL) ls_catalog_snapshot_free(cat->current);
  free(cat->current);
  for (size_t i = 0; i < N_FIXED; i++) free(cat->fixed[i].path);
  for (size_t i = 0; i < LS_CATALOG_MAX_WATCHES; i++) free(cat->sub[i].path);
  free((char *)cat->dirs.share_dir);
  free((char *)cat->dirs.downloads_dir);
  free((char *)cat->dirs.temp_dir);
  free((char *)cat->dirs.cache_dir);
  free(cat);
}

static void after_work_cb(uv_work_t *req, int status) {
  ls_catalog_t *cat = req->data;
  cat->scanning = 0;
  ls_catalog_snapshot_t *next = cat->next;
  cat->next = NULL;
  if (status != 0 || cat->next_rc != 0 || cat->closing) {
    if (next != NULL) {
      if (cat->next_rc == 0) ls_catalog_snapshot_free(next);
      free(next);
    }
    if (cat->closing) {
      if (cat->open_handles == 0) catalog_free(cat);
      return;
    }
    ls_error("catalog scan failed: %s", uv_strerror(cat->next_rc ? cat->next_rc : status));
  } else {
    int changed = snapshot_differs(cat->current, next);
    if (next->hashed > 0) ls_info("catalog: hashed %u file(s), %zu shared", next->hashed, next->count);
    if (cat->current != NULL) {
      ls_catalog_snapshot_free(cat->current);
      free(cat->current);
    }
    cat->current = next;
    reconcile_watches(cat);
    if (changed && cat->cb != NULL) cat->cb(cat, cat->ud);
  }
  if (cat->pending) {
    cat->pending = 0;
    scan_start(cat);
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
  cat->dirs.cache_dir = strdup(dirs->cache_dir);
  cat->dirs.chunk_size = dirs->chunk_size;
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

const ls_catalog_snapshot_t *ls_catalog_current(const ls_catalog_t *cat) {
  return cat->current;
}

static void handle_closed(uv_handle_t *h) {
  ls_catalog_t *cat = h->data;
  if (--cat->open_handles == 0 && !cat->scanning) catalog_free(cat);
}

void ls_catalog_close(ls_catalog_t *cat) {
  cat->closing = 1;
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
