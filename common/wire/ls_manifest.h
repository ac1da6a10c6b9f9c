/* ls_manifest: what a file's content is, chunk by chunk.
 *
 * A manifest holds the file size, the chunk size and the SHA-256 of every
 * chunk. Its canonical bytes (see docs/PROTOCOL.md) are
 *   "LSM1" | u64 size | u32 chunk_size | u32 chunk_count | count x 32-byte hash
 * (integers big-endian), and the root hash that names the content is the
 * SHA-256 of those bytes. The same bytes travel on the wire, so a receiver
 * checks a manifest by hashing what it received. */
#ifndef LS_MANIFEST_H
#define LS_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "ls_hash.h"

#define LS_MANIFEST_HEADER_LEN 20
#define LS_CHUNK_MIN (1u << 10)          /* 1 KiB */
#define LS_CHUNK_MAX (16u << 20)         /* 16 MiB */
#define LS_CHUNK_DEFAULT (1u << 20)      /* 1 MiB */
#define LS_MANIFEST_MAX_CHUNKS (1u << 17) /* 131072 chunks: a 4 MiB manifest */

typedef struct {
  uint64_t size;
  uint32_t chunk_size;
  uint32_t nchunks;
  uint8_t *hashes; /* nchunks * LS_HASH_LEN bytes */
  uint8_t root[LS_HASH_LEN];
} ls_manifest_t;

/* Number of chunks a file of `size` bytes has; 0 if it would exceed the limit
 * and *ok is set to 0. */
uint32_t ls_manifest_count(uint64_t size, uint32_t chunk_size, int *ok);
int ls_chunk_size_valid(uint32_t chunk_size);

/* The chunk size a file of `size` bytes is hashed with (PROTOCOL.md, section
 * 2): `chunk_size`, doubled as often as needed for the file to have at most
 * max_chunks chunks (0: LS_MANIFEST_MAX_CHUNKS; more is taken as that), never
 * above LS_CHUNK_MAX. So a file within the limit keeps `chunk_size`. 0 if no
 * chunk size fits (a file over 2 TiB at the default limit) or chunk_size is
 * not valid. */
uint32_t ls_manifest_chunk_size_for(uint64_t size, uint32_t chunk_size, uint32_t max_chunks);

/* A manifest of `size` bytes in chunks of chunk_size, its hashes allocated
 * (zero) and to be filled: 0, -EINVAL (too many chunks / bad chunk size) or
 * -ENOMEM. */
int ls_manifest_init(ls_manifest_t *m, uint64_t size, uint32_t chunk_size);
/* Hashes chunks [first, first + count) of m from the open file fd into
 * m->hashes (blocking: off the loop thread), reading buf_len bytes at a time
 * through buf into ctx, so a chunk of any size needs only buf. 0, -EIO (the
 * file is shorter than m says) or -errno. Distinct ranges of one manifest
 * may be hashed on distinct threads at once. */
int ls_manifest_hash_chunks(ls_manifest_t *m, int fd, uint32_t first, uint32_t count, uint8_t *buf, size_t buf_len,
                            ls_sha256_t *ctx);
/* Sets m->root from its hashes: 0 or -ENOMEM. */
int ls_manifest_seal(ls_manifest_t *m);

/* Hashes the open file fd (blocking: call it off the loop thread). buf is a
 * scratch buffer of at least chunk_size bytes. Returns 0, -EINVAL (too many
 * chunks / bad chunk size), -EIO (file changed size) or -errno. */
int ls_manifest_compute(ls_manifest_t *m, int fd, uint64_t size, uint32_t chunk_size, uint8_t *buf);

/* Canonical bytes, malloc'ed into *out. Returns 0 or -ENOMEM. */
int ls_manifest_encode(const ls_manifest_t *m, uint8_t **out, size_t *len);
/* Their first LS_MANIFEST_HEADER_LEN bytes (the hashes follow): for a writer
 * that sends m->hashes where they are, without a copy. */
void ls_manifest_encode_header(const ls_manifest_t *m, uint8_t out[LS_MANIFEST_HEADER_LEN]);
/* Strict decoder: every field checked, length exact; fills m and m->root.
 * Returns 0 or -EINVAL / -ENOMEM. */
int ls_manifest_decode(ls_manifest_t *m, const uint8_t *buf, size_t len);
/* The same for the len bytes at off in buf (malloc'ed), which it takes: its
 * hashes stay in buf (moved to its start), so a 4 MiB manifest is not held
 * twice; buf is freed on error. 0 or -EINVAL. */
int ls_manifest_decode_take(ls_manifest_t *m, uint8_t *buf, size_t off, size_t len);
/* Copies src into dst (fresh allocation). */
int ls_manifest_copy(ls_manifest_t *dst, const ls_manifest_t *src);
void ls_manifest_free(ls_manifest_t *m);

/* Length of chunk index (the last one may be short). */
uint32_t ls_manifest_chunk_len(const ls_manifest_t *m, uint32_t index);
/* 1 if data (len bytes) is chunk `index` of m. */
int ls_manifest_chunk_ok(const ls_manifest_t *m, uint32_t index, const void *data, size_t len);
/* 1 if hash is the SHA-256 of chunk `index` of m (one hashed in parts). */
int ls_manifest_hash_ok(const ls_manifest_t *m, uint32_t index, const uint8_t hash[LS_HASH_LEN]);

#endif
