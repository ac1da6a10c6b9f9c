/* ls_catalog: the files this peer can serve, with their manifests.
 *
 * Three sources, in order of precedence when names collide:
 *   share/      files the user shares (recursive, regular files; a symlink is
 *               followed only to a regular file inside the share)
 *   downloads/  finished downloads
 *   temp/       partial downloads (ls_partial), served chunk by chunk
 * Manifests are cached on disk (cache/, ls_mcache), so an unchanged share is
 * never hashed twice. Scans and hashing run on the
 * libuv thread pool; the loop thread only swaps in the finished snapshot.
 * Changes are noticed by fs events on the folders (and up to
 * LS_CATALOG_MAX_WATCHES subfolders of the share), with a periodic rescan as
 * the fallback. */
#ifndef LS_CATALOG_H
#define LS_CATALOG_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "ls_manifest.h"

#define LS_CATALOG_MAX_FILES 100000
#define LS_CATALOG_MAX_DEPTH 32
#define LS_CATALOG_MAX_WATCHES 64

typedef enum { LS_SOURCE_SHARE = 0, LS_SOURCE_DOWNLOADS = 1, LS_SOURCE_PARTIAL = 2 } ls_source_t;

typedef struct {
  char *name;         /* relative name, valid per ls_name_valid */
  char *path;         /* where the bytes are (for a partial: temp/R.part) */
  ls_source_t source;
  int64_t mtime_ns;
  uint64_t ino;
  uint32_t nhave;     /* chunks held: nchunks unless partial */
  ls_manifest_t manifest;
} ls_catalog_entry_t;

typedef struct {
  const char *share_dir;
  const char *downloads_dir;
  const char *temp_dir;
  const char *cache_dir;
  uint32_t chunk_size;
} ls_catalog_dirs_t;

/* An immutable list of entries, sorted by name. */
typedef struct {
  ls_catalog_entry_t *entries;
  size_t count;
  size_t *by_root;     /* indexes sorted by root hash */
  char **dirs;         /* share subfolders found (for watches) */
  size_t ndirs;
  unsigned hashed;     /* files hashed in this scan (not from a cache) */
  unsigned skipped;    /* names refused or files unreadable */
} ls_catalog_snapshot_t;

/* Blocking scan (thread pool or tests). prev may be NULL; its manifests are
 * reused for unchanged files. */
int ls_catalog_scan(const ls_catalog_dirs_t *dirs, const ls_catalog_snapshot_t *prev, ls_catalog_snapshot_t *out);
void ls_catalog_snapshot_free(ls_catalog_snapshot_t *snap);
const ls_catalog_entry_t *ls_catalog_snapshot_find(const ls_catalog_snapshot_t *snap, const uint8_t root[LS_HASH_LEN]);

typedef struct ls_catalog_s ls_catalog_t;
/* Called on the loop thread after a scan whose set of (name, root, complete)
 * differs from the previous one (and after the first scan). */
typedef void (*ls_catalog_cb)(ls_catalog_t *cat, void *ud);

int ls_catalog_new(uv_loop_t *loop, const ls_catalog_dirs_t *dirs, unsigned rescan_sec, ls_catalog_cb cb, void *ud,
                   ls_catalog_t **out);
/* Starts the first scan, the watches and the rescan timer. */
int ls_catalog_start(ls_catalog_t *cat);
/* Asks for a rescan soon (coalesced). */
void ls_catalog_poke(ls_catalog_t *cat);
/* The current snapshot (NULL until the first scan ends). Valid until the next
 * callback or ls_catalog_close. */
const ls_catalog_snapshot_t *ls_catalog_current(const ls_catalog_t *cat);
/* Stops watches and timers; frees everything once libuv released the handles
 * (run the loop after this). */
void ls_catalog_close(ls_catalog_t *cat);

#endif
