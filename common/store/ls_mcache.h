/* ls_mcache: the manifest cache, one pack file cache/manifests.pack holding
 * the manifests of hashed files, so that an unchanged file is never hashed
 * twice, whichever program (announcer, server, downloader) got to it first.
 *
 * One pack, not one file per manifest: creating thousands of small files
 * costs more than hashing them (bench/README.md, "Share hashing"). The pack
 * is append-only and shared by the processes of one peer; each keeps an
 * index of it (path -> the latest record) and reads what others appended
 * since, under flock(2) on cache/manifests.lock (shared to read, exclusive
 * to append, repair or compact). The one place that spells the format:
 *   pack   = "LSPACK1\n" record*
 *   record = "LSR1" | u32 record_len | u64 size | u64 mtime_ns | u64 ino |
 *            u32 path_len | path | manifest | sha256(all before it)
 * (big-endian; the manifest in ls_manifest's canonical bytes). A record cut
 * short by a crash ends the index there, and the next writer cuts the pack
 * back to it; a record whose checksum fails is not taken. When the records
 * no index would use (older records of a path) outweigh the live ones by
 * more than 1 MiB, a writer rewrites the pack with the live ones whose file
 * is still the one hashed, and renames it over the old.
 *
 * An entry is keyed by the file's path and its stat identity (size, mtime in
 * ns, inode): any change to one of them makes the entry stale. The cache is
 * an optimisation only: every failure reads as "not cached". Functions are
 * thread-safe and block: call them off the loop thread. */
#ifndef LS_MCACHE_H
#define LS_MCACHE_H

#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "ls_manifest.h"
#include "ls_map.h"

/* The stat identity an entry is valid for. */
typedef struct {
  uint64_t size;
  int64_t mtime_ns;
  uint64_t ino;
} ls_mcache_key_t;

typedef struct {
  char *dir;
  pthread_mutex_t mu;
  int fd;             /* the pack, or -1 until first used */
  int lock_fd;        /* manifests.lock, or -1 */
  int claims_fd;      /* manifests.claims, or -1 */
  dev_t dev;          /* the pack's identity: a rename over it is seen */
  ino_t ino;
  uint64_t scanned;   /* bytes of the pack indexed */
  uint64_t live;      /* bytes of the records the index holds */
  ls_map_t index;     /* path -> ls_mcache_rec_t */
} ls_mcache_t;

/* The key of a file as stat() or fstat() saw it. */
ls_mcache_key_t ls_mcache_key_of(const struct stat *st);

/* A handle on dir's cache; nothing is opened or created before first use.
 * 0 or -ENOMEM. */
int ls_mcache_init(ls_mcache_t *mc, const char *dir);
void ls_mcache_close(ls_mcache_t *mc);

/* Appends path's entry (nothing when the pack holds the same one already).
 * 0 or a negative errno. */
int ls_mcache_store(ls_mcache_t *mc, const char *path, const ls_mcache_key_t *key, const ls_manifest_t *m);

/* Reads path's entry into m (to free with ls_manifest_free). 0, -ENOENT (none),
 * -ESTALE (written for another key, or a manifest of another size), -EBADMSG
 * (damaged) or another negative errno. Any chunk size is accepted: a download
 * keeps the manifest (and so the root) it was fetched under, whatever this
 * peer's chunk_size says. mc may be NULL (no cache: -ENOENT). */
int ls_mcache_load(ls_mcache_t *mc, const char *path, const ls_mcache_key_t *key, ls_manifest_t *m);

/* Claims. A program about to hash a big file claims its path first, so that
 * the peer's other programs wait for its manifest instead of hashing the
 * same bytes at the same time (the announcer and the server at start). A
 * claim is an open-file-description lock (fcntl F_OFD_SETLK) on one byte of
 * cache/manifests.claims, at an offset from the path's hash; it goes when
 * the program does, however it ends. ls_mcache_claim: 0 (claimed), -EAGAIN
 * (another program holds it) or another negative errno (no claim: hash
 * anyway). */
int ls_mcache_claim(ls_mcache_t *mc, const char *path);
void ls_mcache_unclaim(ls_mcache_t *mc, const char *path);

/* The entries the index holds now (after reading the pack): for tests and
 * benchmarks. */
size_t ls_mcache_count(ls_mcache_t *mc);

#endif
