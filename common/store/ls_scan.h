/* ls_scan: the files a peer can serve, read from its folders into a snapshot.
 *
 * Three sources, in order of precedence when names collide:
 *   share/      files the user shares (recursive, regular files; a symlink is
 *               followed only to a regular file inside the share)
 *   downloads/  finished downloads
 *   temp/       partial downloads (ls_partial), served chunk by chunk
 * A file's manifest comes from the previous snapshot when its stat identity
 * is unchanged, else from the manifest cache (ls_mcache), else from hashing
 * it (and the cache is then written). Pure and blocking: no loop; ls_catalog
 * runs it on the thread pool. */
#ifndef LS_SCAN_H
#define LS_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "ls_manifest.h"

#define LS_SCAN_MAX_FILES 100000
#define LS_SCAN_MAX_DEPTH 32
#define LS_SCAN_MAX_DIRS 64 /* share folders listed in a snapshot (for watches) */

typedef enum { LS_SOURCE_SHARE = 0, LS_SOURCE_DOWNLOADS = 1, LS_SOURCE_PARTIAL = 2 } ls_source_t;

typedef struct {
  char *name;         /* relative name, valid per ls_name_valid */
  char *path;         /* where the bytes are (for a partial: temp/R.part) */
  ls_source_t source;
  int64_t mtime_ns;
  uint64_t ino;
  uint32_t nhave;     /* chunks held: nchunks unless partial */
  ls_manifest_t manifest;
} ls_scan_entry_t;

/* The folders to read; downloads_dir and temp_dir may be NULL. */
typedef struct {
  const char *share_dir;
  const char *downloads_dir;
  const char *temp_dir;
  const char *cache_dir;
  uint32_t chunk_size;
} ls_scan_dirs_t;

/* An immutable list of entries, sorted by name, one per name. */
typedef struct {
  ls_scan_entry_t *entries;
  size_t count;
  size_t *by_root;     /* indexes sorted by root hash */
  char **dirs;         /* share folders found (at most LS_SCAN_MAX_DIRS) */
  size_t ndirs;
  unsigned hashed;     /* files hashed in this scan (not from a cache) */
  unsigned skipped;    /* names refused or files unreadable */
} ls_scan_snapshot_t;

/* Reads the folders into out (to free with ls_scan_free). prev may be NULL;
 * its manifests are reused for unchanged files. 0 or -ENOMEM. */
int ls_scan_run(const ls_scan_dirs_t *dirs, const ls_scan_snapshot_t *prev, ls_scan_snapshot_t *out);
void ls_scan_free(ls_scan_snapshot_t *snap);
/* The entry whose content has this root, or NULL (snap may be NULL). */
const ls_scan_entry_t *ls_scan_find(const ls_scan_snapshot_t *snap, const uint8_t root[LS_HASH_LEN]);
/* Whether the listings differ in a name, a root or whether an entry is
 * complete: what peers are told. A NULL a differs from every b. */
int ls_scan_differs(const ls_scan_snapshot_t *a, const ls_scan_snapshot_t *b);

#endif
