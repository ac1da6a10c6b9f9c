/* ls_scan alone: folders into a snapshot, no loop. */
#include <fcntl.h>
#include <sys/stat.h>

#include "ls_mcache.h"
#include "scan_fixture.h"

static void setup_dirs(fixture_t *fx) {
  setup_dirs_chunk(fx, 1024);
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
  fixture_close(&fx);
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
  assert_int_equal(ls_mcache_store(&fx.cache, path, &key, &o->manifest), 0);

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
  fixture_close(&fx);
}

/* With the disk cache gone, the previous snapshot still spares the hashing. */
static void previous_snapshot_is_reused(void **state) {
  (void)state;
  fixture_t fx;
  setup_dirs(&fx);
  put_file(fx.d.share, "f.bin", 5000, 9);
  ls_scan_snapshot_t a, b;
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &a), 0);
  clear_cache(&fx);
  assert_int_equal(ls_scan_run(&fx.dirs, &a, &b), 0);
  assert_int_equal(b.hashed, 0);
  assert_memory_equal(b.entries[0].manifest.root, a.entries[0].manifest.root, LS_HASH_LEN);
  ls_scan_free(&b);
  ls_scan_free(&a);
  fixture_close(&fx);
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
  fixture_close(&fx);
}

static const ls_scan_refusal_t *refusal(const ls_scan_snapshot_t *s, const char *suffix) {
  size_t n = strlen(suffix);
  for (size_t i = 0; i < s->nrefused; i++) {
    size_t len = strlen(s->refused[i].path);
    if (len >= n && strcmp(s->refused[i].path + len - n, suffix) == 0) return &s->refused[i];
  }
  return NULL;
}

/* A file that cannot be shared is listed with the reason, never dropped
 * without a word: too big even at 16 MiB chunks (a sparse 2 TiB + 1 byte,
 * refused before a byte is read), a bad name (printed with '?'), a symlink
 * out of the share; the next scan marks them known (told already). */
static void refusals_say_why(void **state) {
  (void)state;
  fixture_t fx;
  setup_dirs(&fx);
  put_file(fx.d.share, "ok.bin", 10, 1);
  put_file(fx.d.share, "bad\tname", 10, 2);
  char path[600];
  snprintf(path, sizeof path, "%s/huge.img", fx.d.share);
  int fd = open(path, O_WRONLY | O_CREAT, 0644);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, (off_t)((uint64_t)LS_MANIFEST_MAX_CHUNKS * LS_CHUNK_MAX + 1)), 0);
  close(fd);
  snprintf(path, sizeof path, "%s/escape", fx.d.share);
  assert_int_equal(symlink("/etc/hostname", path), 0);
  fx.dirs.chunk_size = 1u << 20;
  ls_scan_snapshot_t a, b;
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &a), 0);
  assert_int_equal(a.count, 1);
  assert_int_equal(a.nrefused, 3);
  assert_int_equal(a.skipped, 3);
  assert_int_equal(refusal(&a, "/huge.img")->rc, -EFBIG);
  assert_int_equal(refusal(&a, "/bad?name")->rc, -EILSEQ);
  assert_int_equal(refusal(&a, "/escape")->rc, -EXDEV);
  assert_false(refusal(&a, "/huge.img")->known);
  assert_string_equal(ls_scan_reason(-EFBIG), "too big for the chunk limit even at 16 MiB chunks");
  assert_string_equal(ls_scan_reason(-EIO), strerror(EIO));
  assert_int_equal(ls_scan_run(&fx.dirs, &a, &b), 0);
  assert_int_equal(b.nrefused, 3);
  for (size_t i = 0; i < b.nrefused; i++) assert_true(b.refused[i].known);
  ls_scan_free(&b);
  ls_scan_free(&a);
  fixture_close(&fx);
}

/* Past max_chunks the chunk size doubles: 40 KiB at 1 KiB chunks and a limit
 * of 16 is hashed at 4 KiB (10 chunks), its root what ls_manifest_compute
 * gives at 4 KiB; a file within the limit keeps 1 KiB. */
static void chunk_size_grows_past_max_chunks(void **state) {
  (void)state;
  fixture_t fx;
  setup_dirs(&fx);
  put_file(fx.d.share, "big.bin", 40 * 1024, 3);
  put_file(fx.d.share, "small.bin", 16 * 1024, 4);
  fx.dirs.max_chunks = 16;
  ls_scan_snapshot_t s;
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &s), 0);
  const ls_scan_entry_t *big = by_name(&s, "big.bin"), *small = by_name(&s, "small.bin");
  assert_int_equal(big->manifest.chunk_size, 4096);
  assert_int_equal(big->manifest.nchunks, 10);
  assert_int_equal(small->manifest.chunk_size, 1024);
  assert_int_equal(small->manifest.nchunks, 16);
  char path[600];
  snprintf(path, sizeof path, "%s/big.bin", fx.d.share);
  int fd = open(path, O_RDONLY);
  uint8_t *buf = malloc(4096);
  ls_manifest_t m;
  assert_int_equal(ls_manifest_compute(&m, fd, 40 * 1024, 4096, buf), 0);
  assert_memory_equal(m.root, big->manifest.root, LS_HASH_LEN);
  ls_manifest_free(&m);
  free(buf);
  close(fd);
  ls_scan_free(&s);
  fixture_close(&fx);
}

/* Deferred: the scan marks files pending; their chunks hashed in any order,
 * sealed and finished give the inline scan's roots (and write the cache); an
 * entry left pending is refused as stopped, one that failed with its reason,
 * and a file changed since the scan is not hashed (-EAGAIN). */
static void deferred_scan_matches_inline(void **state) {
  (void)state;
  fixture_t fx;
  setup_dirs(&fx);
  put_file(fx.d.share, "a.bin", 5000, 5);
  put_file(fx.d.share, "b.bin", 0, 6);
  put_file(fx.d.share, "c.bin", 3000, 7);
  put_file(fx.d.share, "d.bin", 100, 8);
  ls_scan_snapshot_t inline_s, s;
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &inline_s), 0);
  clear_cache(&fx);
  fx.dirs.defer_hashing = 1;
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &s), 0);
  assert_int_equal(s.npending, 4);
  assert_int_equal(s.hashed, 0);
  uint8_t buf[700];
  ls_sha256_t *ctx = ls_sha256_new();
  /* (unsorted until ls_scan_finish) */
  ls_scan_entry_t *a = (ls_scan_entry_t *)by_name(&s, "a.bin"), *b = (ls_scan_entry_t *)by_name(&s, "b.bin"),
                  *c = (ls_scan_entry_t *)by_name(&s, "c.bin"), *d = (ls_scan_entry_t *)by_name(&s, "d.bin");
  assert_int_equal(a->pending, 1);
  for (uint32_t i = a->manifest.nchunks; i-- > 0;)
    assert_int_equal(ls_scan_hash_chunks(a, i, 1, buf, sizeof buf, ctx), 0);
  assert_int_equal(ls_scan_seal(&fx.dirs, a), 0);
  assert_int_equal(a->pending, 0);
  assert_int_equal(ls_scan_seal(&fx.dirs, b), 0); /* empty: nothing to hash */
  c->pending = -EACCES;                            /* as a hasher reports a failure */
  put_file(fx.d.share, "d.bin", 200, 9);           /* changed since the scan */
  assert_int_equal(ls_scan_hash_chunks(d, 0, 1, buf, sizeof buf, ctx), -EAGAIN);
  ls_sha256_free(ctx);
  assert_int_equal(ls_scan_finish(&s, NULL), 0);
  assert_int_equal(s.count, 2);
  assert_memory_equal(by_name(&s, "a.bin")->manifest.root, by_name(&inline_s, "a.bin")->manifest.root, LS_HASH_LEN);
  assert_memory_equal(by_name(&s, "b.bin")->manifest.root, by_name(&inline_s, "b.bin")->manifest.root, LS_HASH_LEN);
  assert_ptr_equal(ls_scan_find(&s, by_name(&inline_s, "a.bin")->manifest.root), by_name(&s, "a.bin"));
  assert_int_equal(refusal(&s, "/c.bin")->rc, -EACCES);
  assert_int_equal(refusal(&s, "/d.bin")->rc, -ECANCELED);
  /* The seal wrote the cache: a restart hashes nothing for a.bin. */
  ls_scan_snapshot_t again;
  fx.dirs.defer_hashing = 0;
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &again), 0);
  assert_int_equal(again.hashed, 2); /* c.bin and the new d.bin */
  ls_scan_free(&again);
  ls_scan_free(&s);
  ls_scan_free(&inline_s);
  fixture_close(&fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(scan_without_a_loop), cmocka_unit_test(cache_hit_does_not_hash),
                                     cmocka_unit_test(previous_snapshot_is_reused),
                                     cmocka_unit_test(differs_on_the_listing), cmocka_unit_test(refusals_say_why),
                                     cmocka_unit_test(chunk_size_grows_past_max_chunks),
                                     cmocka_unit_test(deferred_scan_matches_inline)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
