#include <fcntl.h>
#include <sys/stat.h>

#include "helpers.h"
#include "ls_mcache.h"

/* The manifest of len bytes of pattern seed, hashed from a file under dir. */
static void manifest_of(ls_manifest_t *m, const char *dir, size_t len, uint32_t seed) {
  char path[300];
  snprintf(path, sizeof path, "%s/src", dir);
  uint8_t *data = malloc(len);
  fill_pattern(data, len, seed);
  write_bytes(path, data, len);
  free(data);
  uint8_t buf[1024];
  int fd = open(path, O_RDONLY);
  assert_int_equal(ls_manifest_compute(m, fd, len, sizeof buf, buf), 0);
  close(fd);
  unlink(path);
}

static void store_then_load(void **state) {
  (void)state;
  char dir[256];
  make_temp_dir(dir, sizeof dir);
  ls_manifest_t m, got;
  manifest_of(&m, dir, 5000, 1);
  ls_mcache_key_t key = {5000, 1234567890123456789LL, 42};
  assert_int_equal(ls_mcache_load(dir, "/share/a.bin", &key, &got), -ENOENT);
  assert_int_equal(ls_mcache_store(dir, "/share/a.bin", &key, &m), 0);
  assert_int_equal(ls_mcache_load(dir, "/share/a.bin", &key, &got), 0);
  assert_memory_equal(got.root, m.root, LS_HASH_LEN);
  assert_int_equal(got.nchunks, m.nchunks);
  assert_memory_equal(got.hashes, m.hashes, (size_t)m.nchunks * LS_HASH_LEN);
  ls_manifest_free(&got);
  /* Another path has no entry; a changed stat identity makes it stale. */
  assert_int_equal(ls_mcache_load(dir, "/share/b.bin", &key, &got), -ENOENT);
  ls_mcache_key_t other = key;
  other.mtime_ns++;
  assert_int_equal(ls_mcache_load(dir, "/share/a.bin", &other, &got), -ESTALE);
  other = key;
  other.ino++;
  assert_int_equal(ls_mcache_load(dir, "/share/a.bin", &other, &got), -ESTALE);
  ls_manifest_free(&m);
  rm_tree(dir);
}

/* An entry whose manifest is not of the key's size is never taken. */
static void size_must_match_the_manifest(void **state) {
  (void)state;
  char dir[256];
  make_temp_dir(dir, sizeof dir);
  ls_manifest_t m, got;
  manifest_of(&m, dir, 3000, 2);
  ls_mcache_key_t key = {4000, 1, 2};
  assert_int_equal(ls_mcache_store(dir, "/x", &key, &m), 0);
  assert_int_equal(ls_mcache_load(dir, "/x", &key, &got), -ESTALE);
  ls_manifest_free(&m);
  rm_tree(dir);
}

/* A damaged entry is an error, not a manifest: cut short, or a bad magic. */
static void damaged_entries_are_refused(void **state) {
  (void)state;
  char dir[256];
  make_temp_dir(dir, sizeof dir);
  ls_manifest_t m, got;
  manifest_of(&m, dir, 2500, 3);
  ls_mcache_key_t key = {2500, 7, 8};
  assert_int_equal(ls_mcache_store(dir, "/y", &key, &m), 0);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "f=$(ls '%s'/*.mf) && truncate -s -1 \"$f\"", dir);
  assert_int_equal(system(cmd), 0);
  assert_int_not_equal(ls_mcache_load(dir, "/y", &key, &got), 0);
  snprintf(cmd, sizeof cmd, "f=$(ls '%s'/*.mf) && printf XXXX | dd of=\"$f\" conv=notrunc status=none", dir);
  assert_int_equal(ls_mcache_store(dir, "/y", &key, &m), 0);
  assert_int_equal(system(cmd), 0);
  assert_int_equal(ls_mcache_load(dir, "/y", &key, &got), -ESTALE);
  ls_manifest_free(&m);
  rm_tree(dir);
}

static void key_of_a_stat(void **state) {
  (void)state;
  struct stat st;
  memset(&st, 0, sizeof st);
  st.st_size = 77;
  st.st_ino = 99;
  st.st_mtim.tv_sec = 3;
  st.st_mtim.tv_nsec = 5;
  ls_mcache_key_t key = ls_mcache_key_of(&st);
  assert_int_equal(key.size, 77);
  assert_int_equal(key.ino, 99);
  assert_int_equal(key.mtime_ns, 3000000005LL);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(store_then_load), cmocka_unit_test(size_must_match_the_manifest),
                                     cmocka_unit_test(damaged_entries_are_refused), cmocka_unit_test(key_of_a_stat)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
