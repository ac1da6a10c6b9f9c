#include "ls_manifest.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int ls_chunk_size_valid(uint32_t chunk_size) {
  return chunk_size >= LS_CHUNK_MIN && chunk_size <= LS_CHUNK_MAX;
}

uint32_t ls_manifest_count(uint64_t size, uint32_t chunk_size, int *ok) {
  *ok = 0;
  if (!ls_chunk_size_valid(chunk_size)) return 0;
  uint64_t n = size / chunk_size + (size % chunk_size != 0);
  if (n > LS_MANIFEST_MAX_CHUNKS) return 0;
  *ok = 1;
  return (uint32_t)n;
}

uint32_t ls_manifest_chunk_size_for(uint64_t size, uint32_t chunk_size, uint32_t max_chunks) {
  if (!ls_chunk_size_valid(chunk_size)) return 0;
  if (max_chunks == 0 || max_chunks > LS_MANIFEST_MAX_CHUNKS) max_chunks = LS_MANIFEST_MAX_CHUNKS;
  uint64_t c = chunk_size;
  while (c <= LS_CHUNK_MAX) {
    if (size / c + (size % c != 0) <= max_chunks) return (uint32_t)c;
    c *= 2;
  }
  return 0;
}

int ls_manifest_init(ls_manifest_t *m, uint64_t size, uint32_t chunk_size) {
  int ok;
  memset(m, 0, sizeof *m);
  uint32_t n = ls_manifest_count(size, chunk_size, &ok);
  if (!ok) return -EINVAL;
  m->size = size;
  m->chunk_size = chunk_size;
  m->nchunks = n;
  m->hashes = calloc((size_t)n + 1, LS_HASH_LEN);
  return m->hashes == NULL ? -ENOMEM : 0;
}

static int pread_full(int fd, uint8_t *buf, size_t len, uint64_t off) {
  size_t got = 0;
  while (got < len) {
    ssize_t r = pread(fd, buf + got, len - got, (off_t)(off + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return r < 0 ? -errno : -EIO;
    got += (size_t)r;
  }
  return 0;
}

int ls_manifest_hash_chunks(ls_manifest_t *m, int fd, uint32_t first, uint32_t count, uint8_t *buf, size_t buf_len,
                            ls_sha256_t *ctx) {
  for (uint32_t i = first; i < first + count && i < m->nchunks; i++) {
    uint64_t off = (uint64_t)i * m->chunk_size;
    uint32_t left = ls_manifest_chunk_len(m, i);
    while (left > 0) {
      size_t n = left < buf_len ? left : buf_len;
      int rc = pread_full(fd, buf, n, off);
      if (rc != 0) return rc;
      ls_sha256_update(ctx, buf, n);
      off += n;
      left -= (uint32_t)n;
    }
    ls_sha256_final(ctx, m->hashes + (size_t)i * LS_HASH_LEN);
  }
  return 0;
}

static void encode_header(const ls_manifest_t *m, uint8_t *p) {
  memcpy(p, "LSM1", 4);
  put_u32(p + 4, (uint32_t)(m->size >> 32));
  put_u32(p + 8, (uint32_t)m->size);
  put_u32(p + 12, m->chunk_size);
  put_u32(p + 16, m->nchunks);
}

/* The canonical bytes are hashed where they are (no copy of 4 MiB of hashes). */
int ls_manifest_seal(ls_manifest_t *m) {
  uint8_t head[LS_MANIFEST_HEADER_LEN];
  ls_sha256_t *ctx = ls_sha256_new();
  if (ctx == NULL) return -ENOMEM;
  encode_header(m, head);
  ls_sha256_update(ctx, head, sizeof head);
  ls_sha256_update(ctx, m->hashes, (size_t)m->nchunks * LS_HASH_LEN);
  ls_sha256_final(ctx, m->root);
  ls_sha256_free(ctx);
  return 0;
}

int ls_manifest_compute(ls_manifest_t *m, int fd, uint64_t size, uint32_t chunk_size, uint8_t *buf) {
  int rc = ls_manifest_init(m, size, chunk_size);
  if (rc != 0) return rc;
  ls_sha256_t *ctx = ls_sha256_new();
  rc = ctx == NULL ? -ENOMEM : ls_manifest_hash_chunks(m, fd, 0, m->nchunks, buf, chunk_size, ctx);
  ls_sha256_free(ctx);
  /* A file that grew while we read it is not the file we hashed. */
  char extra;
  if (rc == 0 && pread(fd, &extra, 1, (off_t)size) == 1) rc = -EIO;
  if (rc == 0) rc = ls_manifest_seal(m);
  if (rc != 0) ls_manifest_free(m);
  return rc;
}

void ls_manifest_encode_header(const ls_manifest_t *m, uint8_t out[LS_MANIFEST_HEADER_LEN]) {
  encode_header(m, out);
}

int ls_manifest_encode(const ls_manifest_t *m, uint8_t **out, size_t *len) {
  size_t n = LS_MANIFEST_HEADER_LEN + (size_t)m->nchunks * LS_HASH_LEN;
  uint8_t *p = malloc(n);
  if (p == NULL) return -ENOMEM;
  encode_header(m, p);
  if (m->nchunks > 0) memcpy(p + LS_MANIFEST_HEADER_LEN, m->hashes, (size_t)m->nchunks * LS_HASH_LEN);
  *out = p;
  *len = n;
  return 0;
}

/* The checks of the strict decoder: m's shape from buf (hashes NULL). */
static int decode_shape(ls_manifest_t *m, const uint8_t *buf, size_t len) {
  memset(m, 0, sizeof *m);
  if (len < LS_MANIFEST_HEADER_LEN || memcmp(buf, "LSM1", 4) != 0) return -EINVAL;
  m->size = (uint64_t)get_u32(buf + 4) << 32 | get_u32(buf + 8);
  m->chunk_size = get_u32(buf + 12);
  m->nchunks = get_u32(buf + 16);
  int ok, rc = 0;
  uint32_t expect = ls_manifest_count(m->size, m->chunk_size, &ok);
  if (!ok || expect != m->nchunks) rc = -EINVAL;
  if (len != LS_MANIFEST_HEADER_LEN + (size_t)m->nchunks * LS_HASH_LEN) rc = -EINVAL;
  if (rc != 0) memset(m, 0, sizeof *m);
  return rc;
}

int ls_manifest_decode(ls_manifest_t *m, const uint8_t *buf, size_t len) {
  int rc = decode_shape(m, buf, len);
  if (rc == 0) rc = ls_manifest_init(m, m->size, m->chunk_size);
  if (rc != 0) return rc;
  if (m->nchunks > 0) memcpy(m->hashes, buf + LS_MANIFEST_HEADER_LEN, (size_t)m->nchunks * LS_HASH_LEN);
  ls_sha256(buf, len, m->root);
  return 0;
}

int ls_manifest_decode_take(ls_manifest_t *m, uint8_t *buf, size_t off, size_t len) {
  int rc = decode_shape(m, buf + off, len);
  if (rc != 0) {
    free(buf);
    return rc;
  }
  ls_sha256(buf + off, len, m->root);
  size_t n = (size_t)m->nchunks * LS_HASH_LEN;
  memmove(buf, buf + off + LS_MANIFEST_HEADER_LEN, n);
  m->hashes = buf;
  uint8_t *h = realloc(buf, n + 1); /* smaller than it was: shrinks in place */
  if (h != NULL) m->hashes = h;
  return 0;
}

int ls_manifest_copy(ls_manifest_t *dst, const ls_manifest_t *src) {
  int rc = ls_manifest_init(dst, src->size, src->chunk_size);
  if (rc != 0) return rc;
  memcpy(dst->hashes, src->hashes, (size_t)src->nchunks * LS_HASH_LEN);
  memcpy(dst->root, src->root, LS_HASH_LEN);
  return 0;
}

void ls_manifest_free(ls_manifest_t *m) {
  free(m->hashes);
  m->hashes = NULL;
  m->nchunks = 0;
}

uint32_t ls_manifest_chunk_len(const ls_manifest_t *m, uint32_t index) {
  uint64_t start = (uint64_t)index * m->chunk_size;
  if (index >= m->nchunks || start >= m->size) return 0;
  uint64_t rest = m->size - start;
  return rest < m->chunk_size ? (uint32_t)rest : m->chunk_size;
}

int ls_manifest_chunk_ok(const ls_manifest_t *m, uint32_t index, const void *data, size_t len) {
  if (index >= m->nchunks || len != ls_manifest_chunk_len(m, index)) return 0;
  uint8_t h[LS_HASH_LEN];
  ls_sha256(data, len, h);
  return ls_manifest_hash_ok(m, index, h);
}

int ls_manifest_hash_ok(const ls_manifest_t *m, uint32_t index, const uint8_t hash[LS_HASH_LEN]) {
  return index < m->nchunks && memcmp(hash, m->hashes + (size_t)index * LS_HASH_LEN, LS_HASH_LEN) == 0;
}
