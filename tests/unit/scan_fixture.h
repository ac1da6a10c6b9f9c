/* A peer's folders for the tests of ls_scan and what runs it (ls_hasher):
 * files of known content put in, entries found by name, the cache emptied. */
#ifndef SCAN_FIXTURE_H
#define SCAN_FIXTURE_H

#include "helpers.h"
#include "ls_scan.h"

typedef struct {
  peer_dirs_t d;
  ls_mcache_t cache;
  ls_scan_dirs_t dirs;
} fixture_t;

static inline void setup_dirs_chunk(fixture_t *fx, uint32_t chunk_size) {
  make_peer_dirs(&fx->d);
  assert_int_equal(ls_mcache_init(&fx->cache, fx->d.cache), 0);
  fx->dirs = (ls_scan_dirs_t){fx->d.share, fx->d.downloads, fx->d.temp, &fx->cache, chunk_size, 0, 0};
}

static inline void fixture_close(fixture_t *fx) {
  ls_mcache_close(&fx->cache);
  rm_tree(fx->d.root);
}

static inline void put_file(const char *dir, const char *name, size_t len, uint32_t seed) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  uint8_t *data = malloc(len + 1);
  fill_pattern(data, len, seed);
  write_bytes(path, data, len);
  free(data);
}

/* The entry named name, sorted or not (a deferred scan's), or NULL. */
static inline const ls_scan_entry_t *by_name(const ls_scan_snapshot_t *s, const char *name) {
  for (size_t i = 0; i < s->count; i++)
    if (strcmp(s->entries[i].name, name) == 0) return &s->entries[i];
  return NULL;
}

/* The cache's pack removed: the next scan without a previous one hashes. */
static inline void clear_cache(const fixture_t *fx) {
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -f '%s'/manifests.pack", fx->d.cache);
  assert_int_equal(system(cmd), 0);
}

#endif
