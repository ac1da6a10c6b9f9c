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

/* A manifest of `chunks` chunks of 1 KiB (hashes all zero): a big record. */
static void big_manifest(ls_manifest_t *m, uint32_t chunks) {
  assert_int_equal(ls_manifest_init(m, (uint64_t)chunks * 1024, 1024), 0);
  assert_int_equal(ls_manifest_seal(m), 0);
}

static off_t pack_size(const char *dir) {
  char p[300];
  struct stat st;
  snprintf(p, sizeof p, "%s/manifests.pack", dir);
  return stat(p, &st) == 0 ? st.st_size : -1;
}

static void shell(const char *fmt, const char *dir) {
  char cmd[700];
  snprintf(cmd, sizeof cmd, fmt, dir);
  assert_int_equal(system(cmd), 0);
}

static void store_then_load(void **state) {
  (void)state;
  char dir[256];
  make_temp_dir(dir, sizeof dir);
  ls_mcache_t mc;
  assert_int_equal(ls_mcache_init(&mc, dir), 0);
  ls_manifest_t m, got;
  manifest_of(&m, dir, 5000, 1);
  ls_mcache_key_t key = {5000, 1234567890123456789LL, 42};
  assert_int_equal(ls_mcache_load(&mc, "/share/a.bin", &key, &got), -ENOENT);
  assert_int_equal(pack_size(dir), -1); /* a reader creates nothing */
  assert_int_equal(ls_mcache_store(&mc, "/share/a.bin", &key, &m), 0);
  assert_int_equal(ls_mcache_load(&mc, "/share/a.bin", &key, &got), 0);
  assert_memory_equal(got.root, m.root, LS_HASH_LEN);
  assert_int_equal(got.nchunks, m.nchunks);
  assert_memory_equal(got.hashes, m.hashes, (size_t)m.nchunks * LS_HASH_LEN);
  ls_manifest_free(&got);
  /* Another path has no entry; a changed stat identity makes it stale. */
  assert_int_equal(ls_mcache_load(&mc, "/share/b.bin", &key, &got), -ENOENT);
  ls_mcache_key_t other = key;
  other.mtime_ns++;
  assert_int_equal(ls_mcache_load(&mc, "/share/a.bin", &other, &got), -ESTALE);
  other = key;
  other.ino++;
  assert_int_equal(ls_mcache_load(&mc, "/share/a.bin", &other, &got), -ESTALE);
  /* The same entry again is not appended again. */
  off_t before = pack_size(dir);
  assert_int_equal(ls_mcache_store(&mc, "/share/a.bin", &key, &m), 0);
  assert_int_equal(pack_size(dir), before);
  assert_int_equal(ls_mcache_load(NULL, "/share/a.bin", &key, &got), -ENOENT);
  ls_manifest_free(&m);
  ls_mcache_close(&mc);
  rm_tree(dir);
}

/* Two handles on one folder, as two programs of a peer: each sees what the
 * other appended, and the latest entry of a path wins. */
static void programs_share_the_pack(void **state) {
  (void)state;
  char dir[256];
  make_temp_dir(dir, sizeof dir);
  ls_mcache_t a, b;
  assert_int_equal(ls_mcache_init(&a, dir), 0);
  assert_int_equal(ls_mcache_init(&b, dir), 0);
  ls_manifest_t m1, m2, got;
  manifest_of(&m1, dir, 3000, 4);
  manifest_of(&m2, dir, 3000, 5);
  ls_mcache_key_t k1 = {3000, 10, 1}, k2 = {3000, 11, 1};
  assert_int_equal(ls_mcache_store(&a, "/s/f", &k1, &m1), 0);
  assert_int_equal(ls_mcache_load(&b, "/s/f", &k1, &got), 0);
  assert_memory_equal(got.root, m1.root, LS_HASH_LEN);
  ls_manifest_free(&got);
  assert_int_equal(ls_mcache_store(&b, "/s/f", &k2, &m2), 0);
  assert_int_equal(ls_mcache_load(&a, "/s/f", &k1, &got), -ESTALE);
  assert_int_equal(ls_mcache_load(&a, "/s/f", &k2, &got), 0);
  assert_memory_equal(got.root, m2.root, LS_HASH_LEN);
  ls_manifest_free(&got);
  assert_int_equal(ls_mcache_count(&a), 1);
  /* The pack removed: nothing cached, and the next store starts a new one. */
  shell("rm '%s'/manifests.pack", dir);
  assert_int_equal(ls_mcache_load(&a, "/s/f", &k2, &got), -ENOENT);
  assert_int_equal(ls_mcache_store(&b, "/s/g", &k1, &m1), 0);
  assert_int_equal(ls_mcache_load(&a, "/s/g", &k1, &got), 0);
  ls_manifest_free(&got);
  assert_int_equal(ls_mcache_count(&a), 1);
  ls_manifest_free(&m1);
  ls_manifest_free(&m2);
  ls_mcache_close(&a);
  ls_mcache_close(&b);
  rm_tree(dir);
}

/* An entry whose manifest is not of the key's size is never taken. */
static void size_must_match_the_manifest(void **state) {
  (void)state;
  char dir[256];
  make_temp_dir(dir, sizeof dir);
  ls_mcache_t mc;
  assert_int_equal(ls_mcache_init(&mc, dir), 0);
  ls_manifest_t m, got;
  manifest_of(&m, dir, 3000, 2);
  ls_mcache_key_t key = {4000, 1, 2};
  assert_int_equal(ls_mcache_store(&mc, "/x", &key, &m), 0);
  assert_int_equal(ls_mcache_load(&mc, "/x", &key, &got), -ESTALE);
  ls_manifest_free(&m);
  ls_mcache_close(&mc);
  rm_tree(dir);
}

/* A record cut short (a crash while appending) ends the pack: the entries
 * before it stay, the next writer cuts it away and appends after them. A
 * damaged byte fails the record's checksum. */
static void damaged_records_are_refused(void **state) {
  (void)state;
  char dir[256];
  make_temp_dir(dir, sizeof dir);
  ls_mcache_t mc;
  assert_int_equal(ls_mcache_init(&mc, dir), 0);
  ls_manifest_t m, got;
  manifest_of(&m, dir, 2500, 3);
  ls_mcache_key_t key = {2500, 7, 8};
  assert_int_equal(ls_mcache_store(&mc, "/y", &key, &m), 0);
  off_t one = pack_size(dir);
  assert_int_equal(ls_mcache_store(&mc, "/a/path/longer/than/the/next/one", &key, &m), 0);
  ls_mcache_close(&mc);
  shell("truncate -s -1 '%s'/manifests.pack", dir);
  assert_int_equal(ls_mcache_init(&mc, dir), 0);
  assert_int_equal(ls_mcache_load(&mc, "/a/path/longer/than/the/next/one", &key, &got), -ENOENT);
  assert_int_equal(ls_mcache_load(&mc, "/y", &key, &got), 0);
  ls_manifest_free(&got);
  assert_int_equal(ls_mcache_store(&mc, "/w", &key, &m), 0);
  assert_int_equal(pack_size(dir), 2 * one - 8);
  assert_int_equal(ls_mcache_load(&mc, "/w", &key, &got), 0);
  ls_manifest_free(&got);
  ls_mcache_close(&mc);
  /* A byte of /y's manifest changed (its path ends at 8 + 36 + 2). */
  shell("printf X | dd of='%s'/manifests.pack bs=1 seek=60 conv=notrunc status=none", dir);
  assert_int_equal(ls_mcache_init(&mc, dir), 0);
  assert_int_equal(ls_mcache_load(&mc, "/y", &key, &got), -EBADMSG);
  assert_int_equal(ls_mcache_load(&mc, "/w", &key, &got), 0);
  ls_manifest_free(&got);
  ls_mcache_close(&mc);
  /* Not a pack at all: nothing read from it; a writer starts it again. */
  shell("printf 'not a pack' > '%s'/manifests.pack", dir);
  assert_int_equal(ls_mcache_init(&mc, dir), 0);
  assert_int_equal(ls_mcache_load(&mc, "/w", &key, &got), -EBADMSG);
  assert_int_equal(ls_mcache_store(&mc, "/w", &key, &m), 0);
  assert_int_equal(ls_mcache_load(&mc, "/w", &key, &got), 0);
  ls_manifest_free(&got);
  ls_manifest_free(&m);
  ls_mcache_close(&mc);
  rm_tree(dir);
}

/* Entries written again and again (files that keep changing) are rewritten
 * away once the dead bytes pass 1 MiB over the live ones; so are entries
 * whose file is gone. The pack stays bounded. */
static void the_pack_is_compacted(void **state) {
  (void)state;
  char dir[256], file[300];
  make_temp_dir(dir, sizeof dir);
  snprintf(file, sizeof file, "%s/kept", dir);
  write_bytes(file, "abc", 3);
  struct stat st;
  assert_int_equal(stat(file, &st), 0);
  ls_mcache_t mc;
  assert_int_equal(ls_mcache_init(&mc, dir), 0);
  ls_manifest_t small, big, got;
  manifest_of(&small, dir, 3, 6);
  big_manifest(&big, 4096); /* a record of 128 KiB */
  ls_mcache_key_t kept = ls_mcache_key_of(&st);
  assert_int_equal(ls_mcache_store(&mc, file, &kept, &small), 0);
  off_t most = 0, prev = pack_size(dir);
  int shrunk = 0;
  for (int i = 0; i < 40; i++) {
    ls_mcache_key_t k = {big.size, i, 1};
    assert_int_equal(ls_mcache_store(&mc, "/gone/file", &k, &big), 0);
    off_t now = pack_size(dir);
    if (now > most) most = now;
    if (now < prev) shrunk++;
    prev = now;
  }
  assert_true(most < 3 * 1024 * 1024);
  assert_true(shrunk >= 2);
  assert_int_equal(ls_mcache_load(&mc, file, &kept, &got), 0);
  ls_manifest_free(&got);
  ls_mcache_key_t last = {big.size, 39, 1};
  int rc = ls_mcache_load(&mc, "/gone/file", &last, &got);
  if (rc == 0) ls_manifest_free(&got);
  assert_true(rc == 0 || rc == -ENOENT); /* the last one may follow the rewrite */
  ls_manifest_free(&small);
  ls_manifest_free(&big);
  ls_mcache_close(&mc);
  rm_tree(dir);
}

/* The cache of one file per manifest (cache/HASH.mf) goes when the pack is made. */
static void old_entries_are_removed(void **state) {
  (void)state;
  char dir[256];
  make_temp_dir(dir, sizeof dir);
  shell("cd '%s' && touch 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.mf keep.mf", dir);
  ls_mcache_t mc;
  assert_int_equal(ls_mcache_init(&mc, dir), 0);
  ls_manifest_t m;
  manifest_of(&m, dir, 100, 7);
  ls_mcache_key_t key = {100, 1, 1};
  assert_int_equal(ls_mcache_store(&mc, "/v", &key, &m), 0);
  shell("cd '%s' && test ! -e 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.mf && test -e keep.mf",
        dir);
  ls_manifest_free(&m);
  ls_mcache_close(&mc);
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
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(store_then_load),        cmocka_unit_test(programs_share_the_pack),
      cmocka_unit_test(size_must_match_the_manifest), cmocka_unit_test(damaged_records_are_refused),
      cmocka_unit_test(the_pack_is_compacted),  cmocka_unit_test(old_entries_are_removed),
      cmocka_unit_test(key_of_a_stat)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
