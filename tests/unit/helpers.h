/* Shared helpers for the cmocka unit tests. */
#ifndef TEST_HELPERS_H
#define TEST_HELPERS_H

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

/* A fresh folder under $TMPDIR, removed by rm_tree. */
static inline void make_temp_dir(char *buf, size_t len) {
  const char *base = getenv("TMPDIR");
  snprintf(buf, len, "%s/lanswarm-unit-XXXXXX", base ? base : "/tmp");
  assert_non_null(mkdtemp(buf));
}

static inline void rm_tree(const char *dir) {
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

/* A peer's folders under a fresh temp folder (root, removed by rm_tree):
 * share/, downloads/, temp/ and cache/. */
typedef struct {
  char root[256], share[300], downloads[300], temp[300], cache[300];
} peer_dirs_t;

static inline void make_peer_dirs(peer_dirs_t *p) {
  make_temp_dir(p->root, sizeof p->root);
  snprintf(p->share, sizeof p->share, "%s/share", p->root);
  snprintf(p->downloads, sizeof p->downloads, "%s/downloads", p->root);
  snprintf(p->temp, sizeof p->temp, "%s/temp", p->root);
  snprintf(p->cache, sizeof p->cache, "%s/cache", p->root);
  assert_int_equal(mkdir(p->share, 0755), 0);
  assert_int_equal(mkdir(p->downloads, 0755), 0);
  assert_int_equal(mkdir(p->temp, 0755), 0);
  assert_int_equal(mkdir(p->cache, 0755), 0);
}

static inline void write_bytes(const char *path, const void *data, size_t len) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, len, f), len);
  fclose(f);
}

/* Deterministic pseudo-random bytes. */
static inline void fill_pattern(uint8_t *buf, size_t len, uint32_t seed) {
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < len; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    buf[i] = (uint8_t)x;
  }
}

/* sha256sum's hex digest of a file, from the real tool. */
static inline void sha256sum_of(const char *path, char out[65]) {
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  assert_int_equal(fscanf(p, "%64s", out), 1);
  pclose(p);
}

#endif
