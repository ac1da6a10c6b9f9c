/* ls_catalog: the files this peer can serve, kept current on a libuv loop.
 *
 * What is served and how a folder becomes a snapshot is ls_scan's (share/,
 * downloads/, temp/; manifests from the cache in cache/, ls_mcache). This
 * module runs those scans on the libuv thread pool; the loop thread only
 * swaps in the finished snapshot and, when the listing changed, calls back.
 * Changes are noticed by fs events on the folders (and up to
 * LS_CATALOG_MAX_WATCHES subfolders of the share), coalesced by a short
 * debounce, with a periodic rescan as the fallback. */
#ifndef LS_CATALOG_H
#define LS_CATALOG_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "ls_announce.h"
#include "ls_scan.h"

#define LS_CATALOG_MAX_WATCHES LS_SCAN_MAX_DIRS

/* The snapshot's names as the callers have always spelled them. */
typedef ls_scan_entry_t ls_catalog_entry_t;
typedef ls_scan_snapshot_t ls_catalog_snapshot_t;

/* The folders of a catalog: ls_scan_dirs_t's, with the cache named by its
 * folder (the catalog opens the manifest cache there, ls_mcache). */
typedef struct {
  const char *share_dir;
  const char *downloads_dir; /* may be NULL */
  const char *temp_dir;      /* may be NULL */
  const char *cache_dir;     /* may be NULL: no cache */
  uint32_t chunk_size;
  uint32_t max_chunks;
  int defer_hashing;         /* ignored: a catalog always hashes on the pool */
} ls_catalog_dirs_t;

/* One scan now, on this thread (for a program that reads the share once,
 * such as `lanswarm status`), with the cache in dirs->cache_dir. */
int ls_catalog_scan(const ls_catalog_dirs_t *dirs, const ls_catalog_snapshot_t *prev, ls_catalog_snapshot_t *out);
static inline void ls_catalog_snapshot_free(ls_catalog_snapshot_t *snap) {
  ls_scan_free(snap);
}
static inline const ls_catalog_entry_t *ls_catalog_snapshot_find(const ls_catalog_snapshot_t *snap,
                                                                 const uint8_t root[LS_HASH_LEN]) {
  return ls_scan_find(snap, root);
}

typedef struct ls_catalog_s ls_catalog_t;
/* Called on the loop thread after a scan whose listing differs from the
 * previous one (ls_scan_differs), and after the first scan. */
typedef void (*ls_catalog_cb)(ls_catalog_t *cat, void *ud);

/* dirs is copied. rescan_sec: the fallback rescan's period. */
int ls_catalog_new(uv_loop_t *loop, const ls_catalog_dirs_t *dirs, unsigned rescan_sec, ls_catalog_cb cb, void *ud,
                   ls_catalog_t **out);
/* Starts the first scan, the watches and the rescan timer. */
int ls_catalog_start(ls_catalog_t *cat);
/* Asks for a rescan soon (coalesced). */
void ls_catalog_poke(ls_catalog_t *cat);
/* The current snapshot (NULL until the first scan ends). Valid until the next
 * callback or ls_catalog_close. */
const ls_scan_snapshot_t *ls_catalog_current(const ls_catalog_t *cat);
/* The snapshot's files as announcement entries (what the announcer says and
 * the server's LIST answers; names point into snap), or NULL for no memory.
 * The caller frees the array only. */
ls_announce_file_t *ls_catalog_announce_files(const ls_scan_snapshot_t *snap);
/* Stops watches and timers; frees everything once libuv released the handles
 * (run the loop after this). */
void ls_catalog_close(ls_catalog_t *cat);

#endif
