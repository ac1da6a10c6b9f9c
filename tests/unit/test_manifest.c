#include <fcntl.h>

#include "helpers.h"
#include "ls_manifest.h"

static void compute_matches_sha256sum(void **state) {
  (void)state;
  char dir[256], path[300], part[300];
  make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/f.bin", dir);
  size_t len = 3 * 4096 + 100;
  uint8_t *data = malloc(len), *buf = malloc(4096);
  fill_pattern(data, len, 7);
  write_bytes(path, data, len);
  int fd = open(path, O_RDONLY);
  ls_manifest_t m;
  assert_int_equal(ls_manifest_compute(&m, fd, len, 4096, buf), 0);
  close(fd);
  assert_int_equal(m.nchunks, 4);
  assert_int_equal(ls_manifest_chunk_len(&m, 3), 100);
  /* Each chunk's hash is what sha256sum says of those bytes. */
  for (uint32_t i = 0; i < m.nchunks; i++) {
    snprintf(part, sizeof part, "%s/chunk%u", dir, i);
    write_bytes(part, data + i * 4096, ls_manifest_chunk_len(&m, i));
    char want[65], got[65];
    sha256sum_of(part, want);
    ls_hash_to_hex(m.hashes + i * LS_HASH_LEN, got);
    assert_string_equal(got, want);
    assert_true(ls_manifest_chunk_ok(&m, i, data + i * 4096, ls_manifest_chunk_len(&m, i)));
  }
  data[5] ^= 1;
  assert_false(ls_manifest_chunk_ok(&m, 0, data, 4096));
  uint8_t h[LS_HASH_LEN]; /* a chunk hashed in parts is checked by its hash */
  ls_sha256(data + 4096, 4096, h);
  assert_true(ls_manifest_hash_ok(&m, 1, h));
  assert_false(ls_manifest_hash_ok(&m, 0, h));
  assert_false(ls_manifest_hash_ok(&m, m.nchunks, h));
  /* A flipped bit fails the check of every chunk, not only the first. */
  for (uint32_t i = 1; i < m.nchunks; i++) {
    data[i * 4096 + 1] ^= 1;
    assert_false(ls_manifest_chunk_ok(&m, i, data + i * 4096, ls_manifest_chunk_len(&m, i)));
  }
  /* The root is sha256sum of the canonical bytes. */
  uint8_t *bytes;
  size_t blen;
  assert_int_equal(ls_manifest_encode(&m, &bytes, &blen), 0);
  assert_int_equal(blen, LS_MANIFEST_HEADER_LEN + 4 * LS_HASH_LEN);
  snprintf(part, sizeof part, "%s/manifest", dir);
  write_bytes(part, bytes, blen);
  char want[65], got[65];
  sha256sum_of(part, want);
  ls_hash_to_hex(m.root, got);
  assert_string_equal(got, want);
  /* A manifest received as bytes gets the same root: sha256sum of them. */
  ls_manifest_t d;
  assert_int_equal(ls_manifest_decode(&d, bytes, blen), 0);
  ls_hash_to_hex(d.root, got);
  assert_string_equal(got, want);
  ls_manifest_free(&d);
  free(bytes);
  ls_manifest_free(&m);
  free(data);
  free(buf);
  rm_tree(dir);
}

static void decode_round_trip_and_rejects(void **state) {
  (void)state;
  ls_manifest_t m, d;
  memset(&m, 0, sizeof m);
  m.size = 10000;
  m.chunk_size = 4096;
  m.nchunks = 3;
  m.hashes = calloc(3, LS_HASH_LEN);
  m.hashes[40] = 9;
  uint8_t *bytes;
  size_t len;
  assert_int_equal(ls_manifest_encode(&m, &bytes, &len), 0);
  assert_int_equal(ls_manifest_decode(&d, bytes, len), 0);
  assert_int_equal(d.size, 10000);
  assert_int_equal(d.nchunks, 3);
  assert_memory_equal(d.hashes, m.hashes, 3 * LS_HASH_LEN);
  ls_manifest_free(&d);
  assert_int_not_equal(ls_manifest_decode(&d, bytes, len - 1), 0);   /* short */
  bytes[0] = 'X';
  assert_int_not_equal(ls_manifest_decode(&d, bytes, len), 0);       /* magic */
  bytes[0] = 'L';
  bytes[19] = 4;                                                       /* count disagrees with size */
  assert_int_not_equal(ls_manifest_decode(&d, bytes, len), 0);
  bytes[19] = 3;
  bytes[14] = 0; bytes[15] = 0;                                        /* chunk size 0 */
  assert_int_not_equal(ls_manifest_decode(&d, bytes, len), 0);
  bytes[14] = 0x10; bytes[15] = 0;                                     /* back to 4096 */
  assert_int_equal(ls_manifest_decode(&d, bytes, len), 0);
  ls_manifest_free(&d);
  /* A byte after the last hash: refused, not ignored. */
  uint8_t *longer = malloc(len + 1);
  memcpy(longer, bytes, len);
  longer[len] = 0;
  assert_int_not_equal(ls_manifest_decode(&d, longer, len + 1), 0);
  /* Fewer hashes than the size needs, the length agreeing with the count. */
  longer[19] = 2;
  assert_int_not_equal(ls_manifest_decode(&d, longer, len - LS_HASH_LEN), 0);
  free(longer);
  /* decode_take: the same checks and result, its hashes kept in the buffer
   * given (after 5 bytes of something else), which is freed on refusal. */
  uint8_t *taken = malloc(len + 5);
  memcpy(taken + 5, bytes, len);
  assert_int_equal(ls_manifest_decode_take(&d, taken, 5, len), 0);
  ls_manifest_t want;
  assert_int_equal(ls_manifest_decode(&want, bytes, len), 0);
  assert_int_equal(d.nchunks, 3);
  assert_int_equal(d.size, 10000);
  assert_memory_equal(d.hashes, m.hashes, 3 * LS_HASH_LEN);
  assert_memory_equal(d.root, want.root, LS_HASH_LEN);
  ls_manifest_free(&d);
  ls_manifest_free(&want);
  taken = malloc(len);
  memcpy(taken, bytes, len);
  taken[19] = 4;
  assert_int_not_equal(ls_manifest_decode_take(&d, taken, 0, len), 0); /* freed: ASan and valgrind see a leak else */
  assert_null(d.hashes);
  /* seal hashes the canonical bytes where they are: the root decode finds. */
  ls_manifest_t sealed = m;
  assert_int_equal(ls_manifest_seal(&sealed), 0);
  ls_manifest_decode(&want, bytes, len);
  assert_memory_equal(sealed.root, want.root, LS_HASH_LEN);
  ls_manifest_free(&want);
  free(bytes);
  /* A size needing more than the chunk limit is refused. */
  int ok;
  ls_manifest_count((uint64_t)LS_MANIFEST_MAX_CHUNKS * 4096 + 1, 4096, &ok);
  assert_false(ok);
  ls_manifest_count(UINT64_MAX, LS_CHUNK_MAX, &ok);
  assert_false(ok);
  ls_manifest_free(&m);
}

static void empty_file(void **state) {
  (void)state;
  ls_manifest_t m;
  uint8_t buf[8];
  int fd = open("/dev/null", O_RDONLY);
  assert_int_equal(ls_manifest_compute(&m, fd, 0, 4096, buf), 0);
  close(fd);
  assert_int_equal(m.nchunks, 0);
  ls_manifest_free(&m);
}

/* PROTOCOL.md, section 2: chunk_size doubled until the file has at most
 * max_chunks chunks, at most 16 MiB; a file within the limit keeps it. */
static void chunk_size_grows_with_the_file(void **state) {
  (void)state;
  const uint64_t MiB = 1u << 20, limit = LS_MANIFEST_MAX_CHUNKS;
  assert_int_equal(ls_manifest_chunk_size_for(0, MiB, 0), MiB);
  assert_int_equal(ls_manifest_chunk_size_for(limit * MiB, MiB, 0), MiB); /* 128 GiB: as always */
  assert_int_equal(ls_manifest_chunk_size_for(limit * MiB + 1, MiB, 0), 2 * MiB);
  assert_int_equal(ls_manifest_chunk_size_for(2 * limit * MiB, MiB, 0), 2 * MiB);
  assert_int_equal(ls_manifest_chunk_size_for(2 * limit * MiB + 1, MiB, 0), 4 * MiB);
  assert_int_equal(ls_manifest_chunk_size_for(16 * limit * MiB, MiB, 0), 16 * MiB); /* 2 TiB */
  assert_int_equal(ls_manifest_chunk_size_for(16 * limit * MiB + 1, MiB, 0), 0);    /* more: none */
  assert_int_equal(ls_manifest_chunk_size_for(UINT64_MAX, MiB, 0), 0);
  /* A lowered limit (max_chunks): 16 chunks of 1 KiB, then 2, 4 KiB... */
  assert_int_equal(ls_manifest_chunk_size_for(16 * 1024, 1024, 16), 1024);
  assert_int_equal(ls_manifest_chunk_size_for(16 * 1024 + 1, 1024, 16), 2048);
  assert_int_equal(ls_manifest_chunk_size_for(40 * 1024, 1024, 16), 4096);
  assert_int_equal(ls_manifest_chunk_size_for(16 * 16 * MiB + 1, 1024, 16), 0);
  /* A limit above the format's is the format's; a chunk size not a power of two doubles too. */
  assert_int_equal(ls_manifest_chunk_size_for(limit * MiB + 1, MiB, UINT32_MAX), 2 * MiB);
  assert_int_equal(ls_manifest_chunk_size_for(20 * 1536, 1536, 16), 3072);
  assert_int_equal(ls_manifest_chunk_size_for(100, 512, 0), 0); /* chunk_size out of range */
  /* Whatever the rule gives, the decoder's count check accepts. */
  int ok;
  ls_manifest_count(16 * limit * MiB, ls_manifest_chunk_size_for(16 * limit * MiB, MiB, 0), &ok);
  assert_true(ok);
}

/* Ranges hashed in any order, through a buffer smaller than a chunk, give
 * what ls_manifest_compute gives. */
static void hash_chunks_by_range(void **state) {
  (void)state;
  char dir[256], path[300];
  make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/f.bin", dir);
  size_t len = 5 * 4096 + 7;
  uint8_t *data = malloc(len), *buf = malloc(4096), small[1000];
  fill_pattern(data, len, 3);
  write_bytes(path, data, len);
  int fd = open(path, O_RDONLY);
  ls_manifest_t whole, parts;
  assert_int_equal(ls_manifest_compute(&whole, fd, len, 4096, buf), 0);
  assert_int_equal(ls_manifest_init(&parts, len, 4096), 0);
  ls_sha256_t *ctx = ls_sha256_new();
  assert_int_equal(ls_manifest_hash_chunks(&parts, fd, 4, 9, small, sizeof small, ctx), 0); /* 4, 5: clipped */
  assert_int_equal(ls_manifest_hash_chunks(&parts, fd, 0, 2, small, sizeof small, ctx), 0);
  assert_int_equal(ls_manifest_hash_chunks(&parts, fd, 2, 2, small, sizeof small, ctx), 0);
  assert_int_equal(ls_manifest_seal(&parts), 0);
  assert_memory_equal(parts.hashes, whole.hashes, 6 * LS_HASH_LEN);
  assert_memory_equal(parts.root, whole.root, LS_HASH_LEN);
  ls_manifest_free(&parts);
  /* A file shorter than the manifest says: -EIO. */
  assert_int_equal(ls_manifest_init(&parts, len + 4096, 4096), 0);
  assert_int_equal(ls_manifest_hash_chunks(&parts, fd, 5, 2, small, sizeof small, ctx), -EIO);
  ls_manifest_free(&parts);
  ls_sha256_free(ctx);
  close(fd);
  ls_manifest_free(&whole);
  free(data);
  free(buf);
  rm_tree(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(compute_matches_sha256sum),
                                     cmocka_unit_test(decode_round_trip_and_rejects), cmocka_unit_test(empty_file),
                                     cmocka_unit_test(chunk_size_grows_with_the_file),
                                     cmocka_unit_test(hash_chunks_by_range)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
