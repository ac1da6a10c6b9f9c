#include "ls_scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ls_mcache.h"
#include "ls_name.h"
#include "ls_partial.h"

#define LS_SCAN_READ_LEN (128u << 10) /* read at a time when hashing here */

typedef struct {
  const ls_scan_dirs_t *dirs;
  const ls_scan_snapshot_t *prev;
  ls_scan_snapshot_t *out;
  size_t cap;
  size_t dcap;
  size_t rcap;
  uint8_t *buf;      /* hashing scratch, LS_SCAN_READ_LEN bytes */
  ls_sha256_t *ctx;
  char share_real[PATH_MAX];
} scan_t;

static const ls_scan_entry_t *prev_find_name(const ls_scan_snapshot_t *prev, const char *name) {
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

static void entry_free(ls_scan_entry_t *e) {
  free(e->name);
  free(e->path);
  ls_manifest_free(&e->manifest);
}

static int grow_entries(scan_t *s) {
  size_t cap = s->cap ? s->cap * 2 : 64;
  ls_scan_entry_t *n = realloc(s->out->entries, cap * sizeof *n);
  if (n == NULL) return -ENOMEM;
  s->out->entries = n;
  s->cap = cap;
  return 0;
}

/* Appends e (whose manifest it takes) under name and path; on failure frees
 * what e holds and drops it. */
static void push_entry(scan_t *s, ls_scan_entry_t *e, const char *name, const char *path) {
  ls_scan_snapshot_t *out = s->out;
  e->name = strdup(name);
  e->path = strdup(path);
  if (e->name == NULL || e->path == NULL || (out->count == s->cap && grow_entries(s) != 0)) {
    entry_free(e);
    return;
  }
  out->entries[out->count++] = *e;
}

/* Notes a file that is not shared, and why. */
static void refuse(scan_t *s, const char *path, int rc) {
  ls_scan_snapshot_t *out = s->out;
  out->skipped++;
  if (out->nrefused >= LS_SCAN_MAX_REFUSALS) return;
  if (out->nrefused == s->rcap) {
    size_t cap = s->rcap ? s->rcap * 2 : 8;
    ls_scan_refusal_t *n = realloc(out->refused, cap * sizeof *n);
    if (n == NULL) return;
    out->refused = n;
    s->rcap = cap;
  }
  char *p = strdup(path);
  if (p == NULL) return;
  for (char *c = p; *c; c++)
    if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f) *c = '?';
  out->refused[out->nrefused++] = (ls_scan_refusal_t){p, rc, 0};
}

/* Whether e's file is still the one the scan saw: 0, -EAGAIN or -errno. */
static int same_file(const ls_scan_entry_t *e, const struct stat *st) {
  ls_mcache_key_t key = ls_mcache_key_of(st);
  return S_ISREG(st->st_mode) && key.size == e->manifest.size && key.mtime_ns == e->mtime_ns && key.ino == e->ino
             ? 0
             : -EAGAIN;
}

/* Opens e's file if it is still the one the scan saw. fd or a negative errno. */
static int open_same(const ls_scan_entry_t *e) {
  int fd = open(e->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return -errno;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int rc = -errno;
    close(fd);
    return rc;
  }
  int rc = same_file(e, &st);
  if (rc != 0) {
    close(fd);
    return rc;
  }
  return fd;
}

int ls_scan_hash_chunks(ls_scan_entry_t *e, uint32_t first, uint32_t count, uint8_t *buf, size_t buf_len,
                        ls_sha256_t *ctx) {
  int fd = open_same(e);
  if (fd < 0) return fd;
  int rc = ls_manifest_hash_chunks(&e->manifest, fd, first, count, buf, buf_len, ctx);
  close(fd);
  return rc == -EIO ? -EAGAIN : rc; /* shorter than it was: it changed */
}

int ls_scan_seal(const ls_scan_dirs_t *dirs, ls_scan_entry_t *e) {
  /* A file that changed while it was read is not the file hashed. */
  struct stat st;
  if (stat(e->path, &st) != 0) return -errno;
  int rc = same_file(e, &st);
  if (rc != 0) return rc;
  rc = ls_manifest_seal(&e->manifest);
  if (rc != 0) return rc;
  ls_mcache_key_t key = {e->manifest.size, e->mtime_ns, e->ino};
  if (dirs->cache != NULL) ls_mcache_store(dirs->cache, e->path, &key, &e->manifest);
  e->pending = 0;
  return 0;
}

int ls_scan_take_cached(const ls_scan_dirs_t *dirs, ls_scan_entry_t *e) {
  ls_mcache_key_t key = {e->manifest.size, e->mtime_ns, e->ino};
  ls_manifest_t m;
  int rc = ls_mcache_load(dirs->cache, e->path, &key, &m);
  if (rc != 0) return rc;
  ls_manifest_free(&e->manifest);
  e->manifest = m;
  e->pending = 0;
  return 0;
}

/* A file to hash: its manifest sized at the chunk size of the rule, hashed
 * now or left pending. */
static int hash_file(scan_t *s, ls_scan_entry_t *e) {
  uint32_t chunk = ls_manifest_chunk_size_for(e->manifest.size, s->dirs->chunk_size, s->dirs->max_chunks);
  if (chunk == 0) return -EFBIG;
  int rc = ls_manifest_init(&e->manifest, e->manifest.size, chunk);
  if (rc != 0) return rc;
  e->pending = 1;
  if (s->dirs->defer_hashing) {
    s->out->npending++;
    return 0;
  }
  rc = ls_scan_hash_chunks(e, 0, e->manifest.nchunks, s->buf, LS_SCAN_READ_LEN, s->ctx);
  if (rc == 0) rc = ls_scan_seal(s->dirs, e);
  if (rc != 0) ls_manifest_free(&e->manifest);
  return rc;
}

/* The manifest of a file: from the previous snapshot, the disk cache, or
 * hashing, in that order. A file known already must still be readable (what
 * hashing would find out by opening it). */
static int file_manifest(scan_t *s, const char *path, const char *name, ls_scan_entry_t *e,
                         const ls_mcache_key_t *key) {
  const ls_scan_entry_t *old = prev_find_name(s->prev, name);
  if (old != NULL && old->source == e->source && old->manifest.size == key->size && old->mtime_ns == key->mtime_ns &&
      old->ino == key->ino && strcmp(old->path, path) == 0 && ls_manifest_copy(&e->manifest, &old->manifest) == 0)
    return access(path, R_OK) == 0 ? 0 : (ls_manifest_free(&e->manifest), -errno);
  if (ls_mcache_load(s->dirs->cache, path, key, &e->manifest) == 0)
    return access(path, R_OK) == 0 ? 0 : (ls_manifest_free(&e->manifest), -errno);
  e->manifest.size = key->size;
  e->path = (char *)path; /* for hashing now; push_entry copies it */
  int rc = hash_file(s, e);
  e->path = NULL;
  if (rc == 0 && !e->pending) s->out->hashed++;
  return rc;
}

/* Adds one regular file, as stat() saw it (a symlink: its target). */
static void add_file(scan_t *s, const char *path, const char *name, ls_source_t source, const struct stat *st) {
  ls_scan_entry_t e;
  memset(&e, 0, sizeof e);
  e.source = source;
  ls_mcache_key_t key = ls_mcache_key_of(st);
  e.mtime_ns = key.mtime_ns;
  e.ino = key.ino;
  int rc = file_manifest(s, path, name, &e, &key);
  if (rc != 0) {
    refuse(s, path, rc);
    return;
  }
  e.nhave = e.manifest.nchunks;
  push_entry(s, &e, name, path);
}

static void add_dir(scan_t *s, const char *path) {
  ls_scan_snapshot_t *out = s->out;
  if (out->ndirs >= LS_SCAN_MAX_DIRS) return;
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

/* A symlink is followed only to a regular file that resolves inside the
 * share; st gets the target's stat. */
static int symlink_ok(scan_t *s, const char *path, struct stat *st) {
  char real[PATH_MAX];
  if (s->share_real[0] == '\0' || realpath(path, real) == NULL) return 0;
  size_t n = strlen(s->share_real);
  return strncmp(real, s->share_real, n) == 0 && real[n] == '/' && stat(real, st) == 0 && S_ISREG(st->st_mode);
}

static void walk(scan_t *s, const char *root, const char *rel, int depth, ls_source_t source);

/* One name found in a folder: a subfolder to walk, a file to add, or nothing. */
static void walk_entry(scan_t *s, const char *root, const char *rel, const char *base, int depth, ls_source_t source) {
  char name[PATH_MAX], path[PATH_MAX];
  if (rel[0] == '\0') snprintf(name, sizeof name, "%s", base);
  else if (snprintf(name, sizeof name, "%s/%s", rel, base) >= (int)sizeof name) name[0] = '\0';
  if (name[0] == '\0' || snprintf(path, sizeof path, "%s/%s", root, name) >= (int)sizeof path) {
    refuse(s, base, -ENAMETOOLONG);
    return;
  }
  struct stat st;
  if (lstat(path, &st) != 0) {
    refuse(s, path, -errno);
    return;
  }
  /* Our own temporary files (ls_write_file_atomic) are no one's to share. */
  if (!S_ISDIR(st.st_mode) && strstr(base, ".tmp.") != NULL) return;
  if (!ls_name_valid(name, strlen(name))) refuse(s, path, -EILSEQ);
  else if (S_ISDIR(st.st_mode) && depth >= LS_SCAN_MAX_DEPTH) refuse(s, path, -ELOOP);
  else if (S_ISDIR(st.st_mode)) walk(s, root, name, depth + 1, source);
  else if (S_ISREG(st.st_mode)) add_file(s, path, name, source, &st);
  else if (S_ISLNK(st.st_mode) && source == LS_SOURCE_SHARE && symlink_ok(s, path, &st))
    add_file(s, path, name, source, &st);
  else refuse(s, path, S_ISLNK(st.st_mode) ? -EXDEV : -ENODEV);
}

static void walk(scan_t *s, const char *root, const char *rel, int depth, ls_source_t source) {
  char dirpath[PATH_MAX];
  if (rel[0] == '\0') snprintf(dirpath, sizeof dirpath, "%s", root);
  else if (snprintf(dirpath, sizeof dirpath, "%s/%s", root, rel) >= (int)sizeof dirpath) return;
  DIR *d = opendir(dirpath);
  if (d == NULL) {
    if (errno != ENOENT || rel[0] != '\0') refuse(s, dirpath, -errno);
    return;
  }
  if (source == LS_SOURCE_SHARE) add_dir(s, dirpath);
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (s->out->count >= LS_SCAN_MAX_FILES) {
      refuse(s, dirpath, -E2BIG);
      break;
    }
    walk_entry(s, root, rel, de->d_name, depth, source);
  }
  closedir(d);
}

/* ls_partial_scan: one download in progress, whose manifest the entry takes. */
static int add_partial(void *ud, ls_partial_info_t *info) {
  scan_t *s = ud;
  if (s->out->count >= LS_SCAN_MAX_FILES) return 1;
  char path[PATH_MAX];
  struct stat st;
  if (info->held < 0 || ls_partial_path(s->dirs->temp_dir, info->root_hex, LS_PARTIAL_PART, path, sizeof path) != 0 ||
      stat(path, &st) != 0)
    return 0;
  ls_mcache_key_t key = ls_mcache_key_of(&st);
  ls_scan_entry_t e;
  memset(&e, 0, sizeof e);
  e.source = LS_SOURCE_PARTIAL;
  e.nhave = (uint32_t)info->held;
  e.mtime_ns = key.mtime_ns;
  e.ino = key.ino;
  e.manifest = info->manifest; /* taken */
  memset(&info->manifest, 0, sizeof info->manifest);
  push_entry(s, &e, info->name, path);
  return 0;
}

static int cmp_name_source(const void *a, const void *b) {
  const ls_scan_entry_t *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  if (c != 0) return c;
  return (int)x->source - (int)y->source;
}

static int cmp_root_idx(const void *a, const void *b, void *ctx) {
  const ls_scan_entry_t *entries = ctx;
  const ls_scan_entry_t *x = &entries[*(const size_t *)a], *y = &entries[*(const size_t *)b];
  return memcmp(x->manifest.root, y->manifest.root, LS_HASH_LEN);
}

static int refused_before(const ls_scan_snapshot_t *prev, const ls_scan_refusal_t *r) {
  for (size_t i = 0; prev != NULL && i < prev->nrefused; i++)
    if (prev->refused[i].rc == r->rc && strcmp(prev->refused[i].path, r->path) == 0) return 1;
  return 0;
}

/* Sorts by name, keeps the first source per name, builds the root index and
 * marks the refusals prev told. */
static int finish_snapshot(ls_scan_snapshot_t *out, const ls_scan_snapshot_t *prev) {
  for (size_t i = 0; i < out->nrefused; i++) out->refused[i].known = refused_before(prev, &out->refused[i]);
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

int ls_scan_run(const ls_scan_dirs_t *dirs, const ls_scan_snapshot_t *prev, ls_scan_snapshot_t *out) {
  scan_t s;
  memset(out, 0, sizeof *out);
  memset(&s, 0, sizeof s);
  s.dirs = dirs;
  s.prev = prev;
  s.out = out;
  s.buf = aligned_alloc(4096, LS_SCAN_READ_LEN); /* page-aligned: the kernel copies into it 3x faster */
  s.ctx = ls_sha256_new();
  if (s.buf == NULL || s.ctx == NULL) {
    free(s.buf);
    ls_sha256_free(s.ctx);
    return -ENOMEM;
  }
  if (realpath(dirs->share_dir, s.share_real) == NULL) s.share_real[0] = '\0';
  walk(&s, dirs->share_dir, "", 0, LS_SOURCE_SHARE);
  if (dirs->downloads_dir != NULL) walk(&s, dirs->downloads_dir, "", 0, LS_SOURCE_DOWNLOADS);
  if (dirs->temp_dir != NULL) ls_partial_scan(dirs->temp_dir, add_partial, &s);
  free(s.buf);
  ls_sha256_free(s.ctx);
  if (dirs->defer_hashing) return 0;
  int rc = finish_snapshot(out, prev);
  if (rc != 0) ls_scan_free(out);
  return rc;
}

int ls_scan_finish(ls_scan_snapshot_t *out, const ls_scan_snapshot_t *prev) {
  scan_t s;
  memset(&s, 0, sizeof s);
  s.out = out;
  s.rcap = out->nrefused; /* refuse() grows the list from here */
  size_t w = 0;
  for (size_t r = 0; r < out->count; r++) {
    ls_scan_entry_t *e = &out->entries[r];
    if (e->pending != 0) {
      refuse(&s, e->path, e->pending < 0 ? e->pending : -ECANCELED);
      entry_free(e);
      continue;
    }
    out->entries[w++] = *e;
  }
  out->count = w;
  out->npending = 0;
  int rc = finish_snapshot(out, prev);
  if (rc != 0) ls_scan_free(out);
  return rc;
}

void ls_scan_free(ls_scan_snapshot_t *snap) {
  for (size_t i = 0; i < snap->count; i++) entry_free(&snap->entries[i]);
  for (size_t i = 0; i < snap->ndirs; i++) free(snap->dirs[i]);
  for (size_t i = 0; i < snap->nrefused; i++) free(snap->refused[i].path);
  free(snap->entries);
  free(snap->by_root);
  free(snap->dirs);
  free(snap->refused);
  memset(snap, 0, sizeof *snap);
}

const char *ls_scan_reason(int rc) {
  switch (rc) {
    case -EFBIG: return "too big for the chunk limit even at 16 MiB chunks";
    case -EAGAIN: return "it changed while it was read (the next scan takes it)";
    case -ENOENT: return "it vanished";
    case -EACCES: case -EPERM: return "it cannot be read (permission denied)";
    case -EILSEQ: return "its name is not a valid file name for peers (PROTOCOL.md, section 1)";
    case -ENAMETOOLONG: return "its path is too long";
    case -ELOOP: return "folders nested too deep";
    case -E2BIG: return "more files than a snapshot holds: the rest are not shared";
    case -EXDEV: return "a symbolic link to something other than a regular file inside the share";
    case -ENODEV: return "not a regular file";
    case -ECANCELED: return "hashing was stopped";
    case -ENOMEM: return "out of memory";
    default: return strerror(-rc);
  }
}


const ls_scan_entry_t *ls_scan_find(const ls_scan_snapshot_t *snap, const uint8_t root[LS_HASH_LEN]) {
  if (snap == NULL || snap->by_root == NULL) return NULL;
  size_t lo = 0, hi = snap->count;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    const ls_scan_entry_t *e = &snap->entries[snap->by_root[mid]];
    int c = memcmp(e->manifest.root, root, LS_HASH_LEN);
    if (c == 0) return e;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

int ls_scan_differs(const ls_scan_snapshot_t *a, const ls_scan_snapshot_t *b) {
  if (a == NULL || a->count != b->count) return 1;
  for (size_t i = 0; i < a->count; i++) {
    const ls_scan_entry_t *x = &a->entries[i], *y = &b->entries[i];
    if (strcmp(x->name, y->name) != 0 || memcmp(x->manifest.root, y->manifest.root, LS_HASH_LEN) != 0 ||
        (x->nhave == x->manifest.nchunks) != (y->nhave == y->manifest.nchunks))
      return 1;
  }
  return 0;
}
