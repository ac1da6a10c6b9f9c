/* ls_scan: the files a peer can serve, read from its folders into a snapshot.
 *
 * Three sources, in order of precedence when names collide:
 *   share/      files the user shares (recursive, regular files; a symlink is
 *               followed only to a regular file inside the share)
 *   downloads/  finished downloads
 *   temp/       partial downloads (ls_partial), served chunk by chunk
 * A file's manifest comes from the previous snapshot when its stat identity
 * is unchanged, else from the manifest cache (ls_mcache), else from hashing
 * it (and the cache is then written), at the chunk size
 * ls_manifest_chunk_size_for gives. Pure and blocking: no loop; ls_catalog
 * runs it on the thread pool.
 *
 * Hashing may be left to the caller (dirs->defer_hashing): the scan then
 * marks the entries to hash `pending`, and the caller hashes their chunks in
 * any order on any threads (ls_scan_hash_chunks), seals each one
 * (ls_scan_seal) and ends with ls_scan_finish. A file that cannot be shared
 * is never dropped without a word: it is listed in the snapshot's refusals
 * with the reason. */
#ifndef LS_SCAN_H
#define LS_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "ls_manifest.h"
#include "ls_mcache.h"

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
  int pending;        /* deferred: 1 until sealed (0), or its failure (< 0) */
  ls_manifest_t manifest;
} ls_scan_entry_t;

/* A file (or folder) that is not shared, and why (ls_scan_reason). */
typedef struct {
  char *path;         /* as found, bytes outside printable ASCII as '?' */
  int rc;             /* a negative errno */
  int known;          /* the previous snapshot lists it too (so it was told) */
} ls_scan_refusal_t;

#define LS_SCAN_MAX_REFUSALS 1000 /* listed; more are only counted */

/* The folders to read; downloads_dir and temp_dir may be NULL. */
typedef struct {
  const char *share_dir;
  const char *downloads_dir;
  const char *temp_dir;
  ls_mcache_t *cache;   /* the manifest cache (the caller's), or NULL for none */
  uint32_t chunk_size;
  uint32_t max_chunks;  /* the most chunks before the chunk size doubles; 0: LS_MANIFEST_MAX_CHUNKS */
  int defer_hashing;    /* 1: leave hashing to the caller (see above) */
} ls_scan_dirs_t;

/* An immutable list of entries, sorted by name, one per name. */
typedef struct {
  ls_scan_entry_t *entries;
  size_t count;
  size_t *by_root;     /* indexes sorted by root hash */
  char **dirs;         /* share folders found (at most LS_SCAN_MAX_DIRS) */
  size_t ndirs;
  unsigned hashed;     /* files hashed in this scan (not from a cache) */
  unsigned skipped;    /* files not shared: every refusal, listed or not */
  ls_scan_refusal_t *refused; /* the first LS_SCAN_MAX_REFUSALS, in the order met */
  size_t nrefused;
  size_t npending;     /* deferred: entries to hash before ls_scan_finish */
} ls_scan_snapshot_t;

/* Reads the folders into out (to free with ls_scan_free). prev may be NULL;
 * its manifests are reused for unchanged files. 0 or -ENOMEM. With
 * dirs->defer_hashing, out is not finished: hash, seal, ls_scan_finish. */
int ls_scan_run(const ls_scan_dirs_t *dirs, const ls_scan_snapshot_t *prev, ls_scan_snapshot_t *out);
/* Hashes chunks [first, first + count) of a pending entry from its file, if
 * the file is still the one the scan saw (size, mtime, inode), reading
 * buf_len bytes at a time (blocking). 0, -EAGAIN (the file changed: the next
 * scan takes it) or another negative errno. */
int ls_scan_hash_chunks(ls_scan_entry_t *e, uint32_t first, uint32_t count, uint8_t *buf, size_t buf_len,
                        ls_sha256_t *ctx);
/* Once every chunk of e is hashed: checks the file is still the one hashed,
 * sets the root, writes the cache entry and clears e->pending (blocking).
 * 0, -EAGAIN or another negative errno (e->pending is left to the caller). */
int ls_scan_seal(const ls_scan_dirs_t *dirs, ls_scan_entry_t *e);
/* Takes a pending entry's manifest from the cache if another program (the
 * announcer and the server scan the same share) wrote it since the scan:
 * 0 (the entry is no longer pending), or -ENOENT / -ESTALE / another
 * negative errno (hash it). Only while no chunk of e is being hashed. */
int ls_scan_take_cached(const ls_scan_dirs_t *dirs, ls_scan_entry_t *e);
/* Ends a deferred scan: an entry still pending is dropped and refused with
 * its reason (e->pending if negative); the snapshot is sorted and indexed;
 * refusals prev lists too are marked known. 0 or -ENOMEM (out is then
 * freed). */
int ls_scan_finish(ls_scan_snapshot_t *out, const ls_scan_snapshot_t *prev);
/* Why a file was refused, as words to follow "not shared: " (rc from
 * ls_scan_refusal_t). */
const char *ls_scan_reason(int rc);

void ls_scan_free(ls_scan_snapshot_t *snap);
/* The entry whose content has this root, or NULL (snap may be NULL). */
const ls_scan_entry_t *ls_scan_find(const ls_scan_snapshot_t *snap, const uint8_t root[LS_HASH_LEN]);
/* Whether the listings differ in a name, a root or whether an entry is
 * complete: what peers are told. A NULL a differs from every b. */
int ls_scan_differs(const ls_scan_snapshot_t *a, const ls_scan_snapshot_t *b);

#endif
