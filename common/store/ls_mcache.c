#include "ls_mcache.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_hash.h"
#include "ls_util.h"

#define MAGIC "LSC1"
#define MAGIC_LEN 4
#define HEAD_LEN (MAGIC_LEN + 3 * 8 + 4) /* magic, size, mtime_ns, ino, path_len */

static void entry_path(char *out, size_t len, const char *cache_dir, const char *path) {
  uint8_t h[LS_HASH_LEN];
  char hex[LS_HASH_HEX_LEN + 1];
  ls_sha256(path, strlen(path), h);
  ls_hash_to_hex(h, hex);
  snprintf(out, len, "%s/%s.mf", cache_dir, hex);
}

static void put_be(uint8_t *p, uint64_t v, int n) {
  for (int i = n - 1; i >= 0; i--) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}

static uint64_t get_be(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = v << 8 | p[i];
  return v;
}

static void put_head(uint8_t *buf, const ls_mcache_key_t *key, size_t plen) {
  memcpy(buf, MAGIC, MAGIC_LEN);
  put_be(buf + 4, key->size, 8);
  put_be(buf + 12, (uint64_t)key->mtime_ns, 8);
  put_be(buf + 20, key->ino, 8);
  put_be(buf + 28, plen, 4);
}

/* Whether buf (len bytes) starts with the head and path of this key. */
static int head_matches(const uint8_t *buf, size_t len, const ls_mcache_key_t *key, const char *path, size_t plen) {
  return len >= HEAD_LEN + plen && memcmp(buf, MAGIC, MAGIC_LEN) == 0 && get_be(buf + 4, 8) == key->size &&
         get_be(buf + 12, 8) == (uint64_t)key->mtime_ns && get_be(buf + 20, 8) == key->ino &&
         get_be(buf + 28, 4) == plen && memcmp(buf + HEAD_LEN, path, plen) == 0;
}

ls_mcache_key_t ls_mcache_key_of(const struct stat *st) {
  ls_mcache_key_t key = {(uint64_t)st->st_size, (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec,
                         (uint64_t)st->st_ino};
  return key;
}

int ls_mcache_store(const char *cache_dir, const char *path, const ls_mcache_key_t *key, const ls_manifest_t *m) {
  size_t plen = strlen(path);
  uint8_t head[HEAD_LEN], mhead[LS_MANIFEST_HEADER_LEN];
  put_head(head, key, plen);
  ls_manifest_encode_header(m, mhead);
  /* The manifest's hashes where they are: no copy of up to 4 MiB. */
  struct iovec parts[4] = {{head, HEAD_LEN}, {(void *)path, plen}, {mhead, sizeof mhead},
                           {m->hashes, (size_t)m->nchunks * LS_HASH_LEN}};
  char cpath[PATH_MAX];
  entry_path(cpath, sizeof cpath, cache_dir, path);
  return ls_write_file_atomic_parts(cpath, parts, 4, 0, 0644);
}

int ls_mcache_load(const char *cache_dir, const char *path, const ls_mcache_key_t *key, ls_manifest_t *m) {
  char cpath[PATH_MAX];
  uint8_t *buf;
  size_t len;
  entry_path(cpath, sizeof cpath, cache_dir, path);
  size_t plen = strlen(path);
  int rc = ls_read_file(cpath, HEAD_LEN + plen + LS_MANIFEST_HEADER_LEN + (size_t)LS_MANIFEST_MAX_CHUNKS * LS_HASH_LEN,
                        &buf, &len);
  if (rc != 0) return rc;
  if (!head_matches(buf, len, key, path, plen)) {
    free(buf);
    return -ESTALE;
  }
  rc = ls_manifest_decode_take(m, buf, HEAD_LEN + plen, len - HEAD_LEN - plen); /* buf is m's now */
  if (rc == 0 && m->size != key->size) {
    ls_manifest_free(m);
    rc = -ESTALE;
  }
  return rc;
}
