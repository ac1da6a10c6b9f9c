#include <fcntl.h>
#include <sys/stat.h>

#include "helpers.h"
#include "ls_partial.h"

static void make_manifest(ls_manifest_t *m, uint8_t *data, size_t len, uint32_t chunk) {
  char dir[256], path[300];
  make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/src", dir);
  write_bytes(path, data, len);
  uint8_t *buf = malloc(chunk);
  int fd = open(path, O_RDONLY);
  assert_int_equal(ls_manifest_compute(m, fd, len, chunk, buf), 0);
  close(fd);
  free(buf);
  rm_tree(dir);
}

/* A temp dir in dir, len bytes of pattern `seed` (returned) and their
 * manifest in 1 KiB chunks. */
static uint8_t *fixture(char *dir, size_t cap, size_t len, uint32_t seed, ls_manifest_t *m) {
  make_temp_dir(dir, cap);
  uint8_t *data = malloc(len);
  fill_pattern(data, len, seed);
  make_manifest(m, data, len, 1024);
  return data;
}

static void write_resume_finish(void **state) {
  (void)state;
  char dir[256], dest[300];
  size_t len = 4 * 1024 + 10;
  ls_manifest_t m;
  uint8_t *data = fixture(dir, sizeof dir, len, 3, &m);
  char hex[65];
  ls_hash_to_hex(m.root, hex);

  ls_partial_t p;
  assert_int_equal(ls_partial_open(&p, dir, &m, "sub/out.bin"), 0);
  assert_int_equal(p.nhave, 0);
  assert_int_equal(ls_partial_write_chunk(&p, 1, data + 1024, 1024), 0);
  assert_int_equal(ls_partial_write_chunk(&p, 4, data + 4096, 10), 0);
  assert_int_not_equal(ls_partial_write_chunk(&p, 4, data, 11), 0); /* wrong length */
  assert_int_not_equal(ls_partial_write_chunk(&p, 5, data, 1), 0);  /* out of range */
  /* A chunk in parts: written unmarked, marked once all of it is in. */
  assert_int_equal(ls_partial_write_part(&p, 3, 0, data + 3072, 1000), 0);
  assert_int_equal(ls_partial_write_part(&p, 3, 1000, data + 4072, 24), 0);
  assert_int_not_equal(ls_partial_write_part(&p, 3, 1000, data, 25), 0); /* past the chunk's end */
  assert_false(p.have[3]);
  assert_int_equal(ls_partial_chunk_held(dir, hex, 3), 0);
  assert_int_equal(ls_partial_mark(&p, 3), 0);
  assert_int_equal(ls_partial_chunk_held(dir, hex, 3), 1);
  assert_int_equal(ls_partial_unmark(&p, 3), 0);

  /* A second opener is refused while the first holds the lock. */
  ls_partial_t q;
  assert_int_equal(ls_partial_open(&q, dir, &m, "sub/out.bin"), -EBUSY);

  /* Readers that do not own it see the same map. */
  uint8_t have[5];
  assert_int_equal(ls_partial_read_have(dir, hex, have, 5), 2);
  assert_int_equal(have[1], 1);
  assert_int_equal(have[0], 0);
  char name[64];
  assert_int_equal(ls_partial_read_name(dir, hex, name, sizeof name), 0);
  assert_string_equal(name, "sub/out.bin");
  ls_partial_close(&p);

  /* Reopen (a resumed run): the stored manifest and the marks survive. */
  ls_manifest_t stored;
  assert_int_equal(ls_partial_load_manifest(dir, hex, &stored), 0);
  assert_memory_equal(stored.root, m.root, LS_HASH_LEN);
  assert_int_equal(ls_partial_open(&p, dir, &stored, "sub/out.bin"), 0);
  assert_int_equal(p.nhave, 2);
  assert_true(p.have[1] && p.have[4]);
  for (uint32_t i = 0; i < 5; i++)
    if (!p.have[i]) assert_int_equal(ls_partial_write_chunk(&p, i, data + i * 1024, ls_manifest_chunk_len(&m, i)), 0);
  uint8_t back[1024];
  assert_int_equal(ls_partial_read_chunk(&p, 2, back, 1024), 0);
  assert_memory_equal(back, data + 2048, 1024);

  snprintf(dest, sizeof dest, "%s/final.bin", dir);
  write_bytes(dest, "x", 1);
  assert_int_equal(ls_partial_finish(&p, dest, 1), -EEXIST); /* never overwrites */
  unlink(dest);
  assert_int_equal(ls_partial_finish(&p, dest, 1), 0);
  ls_partial_close(&p);
  struct stat st;
  assert_int_equal(stat(dest, &st), 0);
  assert_int_equal(st.st_size, (off_t)len);
  char path[400];
  snprintf(path, sizeof path, "%s/%s.part", dir, hex);
  assert_int_not_equal(access(path, F_OK), 0); /* temp state is gone */
  assert_int_not_equal(ls_partial_load_manifest(dir, hex, &stored) == 0 ? 0 : 1, 0);
  ls_manifest_free(&stored);
  ls_manifest_free(&m);
  free(data);
  rm_tree(dir);
}

static void bad_state_is_refused(void **state) {
  (void)state;
  char dir[256], path[400];
  make_temp_dir(dir, sizeof dir);
  const char *hex = "00000000000000000000000000000000000000000000000000000000000000aa";
  snprintf(path, sizeof path, "%s/%s.manifest", dir, hex);
  write_bytes(path, "LSM1garbage", 11);
  ls_manifest_t m;
  assert_int_not_equal(ls_partial_load_manifest(dir, hex, &m), 0);
  snprintf(path, sizeof path, "%s/%s.name", dir, hex);
  write_bytes(path, "../../etc/passwd\n", 17);
  char name[64];
  assert_int_equal(ls_partial_read_name(dir, hex, name, sizeof name), -EINVAL);
  rm_tree(dir);
}

typedef struct {
  int calls;
  char name[LS_NAME_MAX + 1];
  long held;
  uint32_t nchunks;
} scan_seen_t;

static int on_partial(void *ud, ls_partial_info_t *info) {
  scan_seen_t *seen = ud;
  seen->calls++;
  snprintf(seen->name, sizeof seen->name, "%s", info->name);
  seen->held = info->held;
  seen->nchunks = info->manifest.nchunks;
  return 0;
}

/* The temp/ layout: each file's path, a chunk's mark, and the scan of
 * downloads in progress (which skips what is not one). */
static void layout_and_scan(void **state) {
  (void)state;
  char dir[256], path[600];
  ls_manifest_t m;
  uint8_t *data = fixture(dir, sizeof dir, 3000, 5, &m);
  char hex[65];
  ls_hash_to_hex(m.root, hex);
  assert_int_equal(ls_partial_path("/t", hex, LS_PARTIAL_HAVE, path, sizeof path), 0);
  char want[128];
  snprintf(want, sizeof want, "/t/%s.have", hex);
  assert_string_equal(path, want);
  assert_int_equal(ls_partial_path("/t", hex, LS_PARTIAL_PART, path, 20), -ENAMETOOLONG);
  assert_int_equal(ls_partial_path("/t", hex, (ls_partial_file_t)9, path, sizeof path), -EINVAL);

  ls_partial_t p;
  assert_int_equal(ls_partial_open(&p, dir, &m, "a b.bin"), 0);
  assert_int_equal(ls_partial_write_chunk(&p, 1, data + 1024, 1024), 0);
  assert_true(ls_partial_chunk_held(dir, hex, 1));
  assert_false(ls_partial_chunk_held(dir, hex, 0));
  assert_false(ls_partial_chunk_held(dir, hex, 99));
  assert_false(ls_partial_chunk_held(dir, "00", 1));
  /* Noise the scan must pass over. */
  snprintf(path, sizeof path, "%s/notes.manifest", dir);
  write_bytes(path, "x", 1);
  snprintf(path, sizeof path, "%s/%.63s.manifest", dir, hex);
  write_bytes(path, "x", 1);
  scan_seen_t seen = {0};
  assert_int_equal(ls_partial_scan(dir, on_partial, &seen), 0);
  assert_int_equal(seen.calls, 1);
  assert_string_equal(seen.name, "a b.bin");
  assert_int_equal(seen.held, 1);
  assert_int_equal(seen.nchunks, 3);
  /* Busy while open: it cannot be removed; once closed it can, all four files. */
  assert_int_equal(ls_partial_busy(dir, hex), 1);
  assert_int_equal(ls_partial_remove(dir, hex), -EBUSY);
  assert_true(ls_partial_chunk_held(dir, hex, 1));
  ls_partial_close(&p);
  assert_int_equal(ls_partial_busy(dir, hex), 0);
  assert_int_equal(ls_partial_remove(dir, hex), 0);
  for (int k = LS_PARTIAL_PART; k <= LS_PARTIAL_NAME; k++) {
    assert_int_equal(ls_partial_path(dir, hex, (ls_partial_file_t)k, path, sizeof path), 0);
    assert_int_equal(access(path, F_OK), -1);
  }
  assert_int_equal(ls_partial_busy(dir, hex), 0);
  snprintf(path, sizeof path, "%s/missing", dir);
  assert_int_equal(ls_partial_scan(path, on_partial, &seen), -ENOENT);
  ls_manifest_free(&m);
  free(data);
  rm_tree(dir);
}

/* A flush that failed refuses the finish: the kernel tells one sync of a
 * write error, so the final fsync alone would not see it. (A pipe stands in
 * for a failing disk: fdatasync on it fails with EINVAL.) */
static void failed_flush_refuses_finish(void **state) {
  (void)state;
  char dir[256], dest[300];
  ls_manifest_t m;
  uint8_t *data = fixture(dir, sizeof dir, 2048, 7, &m);
  ls_partial_t p;
  assert_int_equal(ls_partial_open(&p, dir, &m, "f.bin"), 0);
  assert_int_equal(ls_partial_write_chunk(&p, 0, data, 1024), 0);
  assert_int_equal(ls_partial_flush(&p), 0);
  assert_int_equal(ls_partial_write_chunk(&p, 1, data + 1024, 1024), 0);
  int pipefd[2];
  assert_int_equal(pipe(pipefd), 0);
  int part_fd = p.part_fd;
  p.part_fd = pipefd[0];
  assert_int_equal(ls_partial_flush(&p), -EINVAL);
  p.part_fd = part_fd;
  assert_int_equal(ls_partial_flush(&p), 0); /* this one passes; the failure before still counts */
  snprintf(dest, sizeof dest, "%s/f.bin", dir);
  assert_int_equal(ls_partial_finish(&p, dest, 1), -EINVAL);
  assert_int_equal(access(dest, F_OK), -1); /* nothing linked */
  ls_partial_close(&p);
  close(pipefd[0]);
  close(pipefd[1]);
  ls_manifest_free(&m);
  free(data);
  rm_tree(dir);
}

static void bars(void **state) {
  (void)state;
  char out[16];
  const uint8_t have[6] = {1, 1, 0, 1, 0, 0};
  ls_partial_bar(have, 6, 3, out);
  assert_string_equal(out, "#+.");
  ls_partial_bar(have, 6, 10, out); /* no more cells than chunks */
  assert_string_equal(out, "##.#..");
  ls_partial_bar(have, 0, 10, out);
  assert_string_equal(out, "");
  char dir[256];
  make_temp_dir(dir, sizeof dir);
  assert_int_equal(ls_partial_map(dir, "00", 4, out), -ENOENT);
  rm_tree(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(write_resume_finish), cmocka_unit_test(bad_state_is_refused),
                                     cmocka_unit_test(layout_and_scan), cmocka_unit_test(failed_flush_refuses_finish),
                                     cmocka_unit_test(bars)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
