/* ls_scan alone: folders into a snapshot, no loop. */
#include <fcntl.h>
#include <sys/stat.h>

#include "helpers.h"
#include "ls_mcache.h"
#include "ls_scan.h"

typedef struct {
  peer_dirs_t d;
  ls_scan_dirs_t dirs;
} fixture_t;

static void setup_dirs(fixture_t *fx) {
  make_peer_dirs(&fx->d);
  fx->dirs = (ls_scan_dirs_t){fx->d.share, fx->d.downloads, fx->d.temp, fx->d.cache, 1024};
}

static void put_file(const char *dir, const char *name, size_t len, uint32_t seed) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  uint8_t *data = malloc(len);
  fill_pattern(data, len, seed);
  write_bytes(path, data, len);
  free(data);
}

static const ls_scan_entry_t *by_name(const ls_scan_snapshot_t *s, const char *name) {
  for (size_t i = 0; i < s->count; i++)
    if (strcmp(s->entries[i].name, name) == 0) return &s->entries[i];
  return NULL;
}

/* Sorted by name, one entry per name (the share first), no temporary files,
 * the share's folders listed; every root found again by ls_scan_find. */
static void scan_without_a_loop(void **state) {
  (void)state;
  fixture_t fx;
  setup_dirs(&fx);
  char sub[400];
  snprintf(sub, sizeof sub, "%s/sub", fx.d.share);
  mkdir(sub, 0755);
  put_file(fx.d.share, "b.bin", 3000, 1);
  put_file(sub, "a.bin", 10, 2);
  put_file(fx.d.share, "same.bin", 100, 3);
  put_file(fx.d.downloads, "same.bin", 200, 4);
  put_file(fx.d.downloads, "got.bin", 0, 5);
  put_file(fx.d.share, "c.bin.tmp.123", 5, 6);
  ls_scan_snapshot_t s;
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &s), 0);
  assert_int_equal(s.count, 4);
  const char *want[] = {"b.bin", "got.bin", "same.bin", "sub/a.bin"};
  for (size_t i = 0; i < s.count; i++) {
    assert_string_equal(s.entries[i].name, want[i]);
    assert_ptr_equal(ls_scan_find(&s, s.entries[i].manifest.root), &s.entries[i]);
    assert_int_equal(s.entries[i].nhave, s.entries[i].manifest.nchunks);
  }
  assert_int_equal(by_name(&s, "same.bin")->source, LS_SOURCE_SHARE);
  assert_int_equal(by_name(&s, "same.bin")->manifest.size, 100);
  assert_int_equal(by_name(&s, "got.bin")->source, LS_SOURCE_DOWNLOADS);
  assert_int_equal(by_name(&s, "b.bin")->manifest.nchunks, 3);
  assert_int_equal(s.hashed, 5); /* a hidden download is hashed too */
  assert_int_equal(s.ndirs, 2);
  uint8_t none[LS_HASH_LEN] = {0};
  assert_null(ls_scan_find(&s, none));
  assert_null(ls_scan_find(NULL, none));
  ls_scan_free(&s);
  rm_tree(fx.d.root);
}

/* A cache entry whose stat identity matches is taken as it is: the file is
 * not read. Planted with another content's manifest, that one is what the
 * scan reports; a new mtime makes the entry stale and the file is hashed. */
static void cache_hit_does_not_hash(void **state) {
  (void)state;
  fixture_t fx;
  setup_dirs(&fx);
  put_file(fx.d.share, "f.bin", 2048, 7);
  ls_scan_snapshot_t real, s;
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &real), 0);
  assert_int_equal(real.hashed, 1);

  put_file(fx.d.share, "other", 2048, 8);
  ls_scan_snapshot_t other;
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &other), 0);
  const ls_scan_entry_t *o = by_name(&other, "other");
  char path[600];
  snprintf(path, sizeof path, "%s/f.bin", fx.d.share);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  ls_mcache_key_t key = ls_mcache_key_of(&st);
  assert_int_equal(ls_mcache_store(fx.d.cache, path, &key, &o->manifest), 0);

  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &s), 0);
  assert_int_equal(s.hashed, 0);
  assert_memory_equal(by_name(&s, "f.bin")->manifest.root, o->manifest.root, LS_HASH_LEN);
  ls_scan_free(&s);

  struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
  assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &s), 0);
  assert_int_equal(s.hashed, 1);
  assert_memory_equal(by_name(&s, "f.bin")->manifest.root, by_name(&real, "f.bin")->manifest.root, LS_HASH_LEN);
  ls_scan_free(&s);
  ls_scan_free(&other);
  ls_scan_free(&real);
  rm_tree(fx.d.root);
}

/* With the disk cache gone, the previous snapshot still spares the hashing. */
static void previous_snapshot_is_reused(void **state) {
  (void)state;
  fixture_t fx;
  setup_dirs(&fx);
  put_file(fx.d.share, "f.bin", 5000, 9);
  ls_scan_snapshot_t a, b;
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &a), 0);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -f '%s'/*.mf", fx.d.cache);
  assert_int_equal(system(cmd), 0);
  assert_int_equal(ls_scan_run(&fx.dirs, &a, &b), 0);
  assert_int_equal(b.hashed, 0);
  assert_memory_equal(b.entries[0].manifest.root, a.entries[0].manifest.root, LS_HASH_LEN);
  ls_scan_free(&b);
  ls_scan_free(&a);
  rm_tree(fx.d.root);
}

/* What peers are told changes with a name or a root, not with a rescan. */
static void differs_on_the_listing(void **state) {
  (void)state;
  fixture_t fx;
  setup_dirs(&fx);
  put_file(fx.d.share, "f.bin", 100, 10);
  ls_scan_snapshot_t a, b, c;
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &a), 0);
  assert_int_equal(ls_scan_run(&fx.dirs, &a, &b), 0);
  assert_true(ls_scan_differs(NULL, &a));
  assert_false(ls_scan_differs(&a, &b));
  put_file(fx.d.share, "g.bin", 100, 11);
  assert_int_equal(ls_scan_run(&fx.dirs, &b, &c), 0);
  assert_true(ls_scan_differs(&b, &c));
  ls_scan_free(&c);
  put_file(fx.d.share, "f.bin", 100, 12);
  char path[600];
  snprintf(path, sizeof path, "%s/f.bin", fx.d.share);
  struct timespec times[2] = {{2000000000, 0}, {2000000000, 0}};
  assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
  snprintf(path, sizeof path, "%s/g.bin", fx.d.share);
  unlink(path);
  assert_int_equal(ls_scan_run(&fx.dirs, &b, &c), 0);
  assert_int_equal(c.count, 1);
  assert_true(ls_scan_differs(&b, &c)); /* same name, new root */
  ls_scan_free(&c);
  ls_scan_free(&b);
  ls_scan_free(&a);
  rm_tree(fx.d.root);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(scan_without_a_loop), cmocka_unit_test(cache_hit_does_not_hash),
                                     cmocka_unit_test(previous_snapshot_is_reused),
                                     cmocka_unit_test(differs_on_the_listing)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
