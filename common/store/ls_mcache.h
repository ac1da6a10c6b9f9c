/* ls_mcache: the manifest cache, cache/HASH.mf: one file's manifest, kept so
 * that an unchanged file is never hashed twice, whichever program (announcer,
 * server, downloader) got to it first.
 *
 * An entry is keyed by the file's path (its SHA-256 names the cache file) and
 * its stat identity (size, mtime in ns, inode): any change to one of them
 * makes the entry stale. The one place that spells the format:
 *   "LSC1" | u64 size | u64 mtime_ns | u64 ino | u32 path_len | path | manifest
 * (big-endian; the manifest in ls_manifest's canonical bytes). All functions
 * block: call them off the loop thread. */
#ifndef LS_MCACHE_H
#define LS_MCACHE_H

#include <stdint.h>
#include <sys/stat.h>

#include "ls_manifest.h"

/* The stat identity an entry is valid for. */
typedef struct {
  uint64_t size;
  int64_t mtime_ns;
  uint64_t ino;
} ls_mcache_key_t;

/* The key of a file as stat() or fstat() saw it. */
ls_mcache_key_t ls_mcache_key_of(const struct stat *st);

/* Writes path's entry atomically. 0 or a negative errno. */
int ls_mcache_store(const char *cache_dir, const char *path, const ls_mcache_key_t *key, const ls_manifest_t *m);

/* Reads path's entry into m (to free with ls_manifest_free). 0, -ENOENT (none),
 * -ESTALE (written for another key or path, or a manifest of another size) or
 * another negative errno. Any chunk size is accepted: a download keeps the
 * manifest (and so the root) it was fetched under, whatever this peer's
 * chunk_size says. */
int ls_mcache_load(const char *cache_dir, const char *path, const ls_mcache_key_t *key, ls_manifest_t *m);

#endif
