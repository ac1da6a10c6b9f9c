/* ls_hasher on a real loop and thread pool, and ls_pool's sizes. */
#include <sys/stat.h>

#include "ls_hasher.h"
#include "ls_pool.h"
#include "scan_fixture.h"

/* 64 KiB chunks: 64 to a job, so a 9 MiB file is 3 jobs and one seal. */
static void setup_dirs(fixture_t *fx) {
  setup_dirs_chunk(fx, 64 * 1024);
}

static int calls;
static void done_cb(ls_hasher_t *h, void *ud) {
  (void)h;
  (void)ud;
  calls++;
}

static const char *names[] = {"empty", "tiny", "one-job.bin", "three-jobs.bin", "seven-jobs.bin"};
static const size_t sizes[] = {0, 100, 4u << 20, 9u << 20, 25u << 20};

/* Files of every shape (none, one chunk, one job, several jobs) hashed with
 * max_jobs 1 and 3 give the inline scan's roots, and every one is sealed. */
static void hashes_like_the_inline_scan(void **state) {
  (void)state;
  fixture_t fx;
  setup_dirs(&fx);
  for (size_t i = 0; i < 5; i++) put_file(fx.d.share, names[i], sizes[i], (uint32_t)i + 1);
  ls_scan_snapshot_t want;
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &want), 0);
  fx.dirs.defer_hashing = 1;
  for (unsigned jobs = 1; jobs <= 3; jobs += 2) {
    clear_cache(&fx);
    ls_scan_snapshot_t s;
    assert_int_equal(ls_scan_run(&fx.dirs, NULL, &s), 0);
    assert_int_equal(s.npending, 5);
    uv_loop_t loop;
    uv_loop_init(&loop);
    ls_hasher_t *h;
    calls = 0;
    assert_int_equal(ls_hasher_start(&loop, &fx.dirs, &s, jobs, done_cb, NULL, &h), 0);
    assert_non_null(h);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(calls, 1);
    assert_int_equal(s.hashed, 5);
    assert_int_equal(ls_scan_finish(&s, NULL), 0);
    assert_int_equal(s.count, 5);
    assert_int_equal(s.nrefused, 0);
    for (size_t i = 0; i < 5; i++)
      assert_memory_equal(by_name(&s, names[i])->manifest.root, by_name(&want, names[i])->manifest.root, LS_HASH_LEN);
    ls_scan_free(&s);
    assert_int_equal(uv_loop_close(&loop), 0);
  }
  /* Cached by another program after this one's scan (the announcer and the
   * server share cache/): a whole file's job takes the manifest, and so does
   * the first job of a file of several: nothing is hashed again. */
  clear_cache(&fx);
  ls_scan_snapshot_t s, other;
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &s), 0);
  fx.dirs.defer_hashing = 0;
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &other), 0);
  uv_loop_t loop;
  uv_loop_init(&loop);
  ls_hasher_t *h;
  assert_int_equal(ls_hasher_start(&loop, &fx.dirs, &s, 3, done_cb, NULL, &h), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(s.hashed, 0);
  assert_int_equal(ls_scan_finish(&s, NULL), 0);
  for (size_t i = 0; i < 5; i++)
    assert_memory_equal(by_name(&s, names[i])->manifest.root, by_name(&want, names[i])->manifest.root, LS_HASH_LEN);
  assert_int_equal(uv_loop_close(&loop), 0);
  ls_scan_free(&other);
  ls_scan_free(&s);
  ls_scan_free(&want);
  fixture_close(&fx);
}

/* A file gone between the scan and its jobs is refused with the reason; a
 * cancelled hasher still calls back, and what it did not hash is refused as
 * stopped. Nothing pending: no hasher, no callback. */
static void failures_and_cancel(void **state) {
  (void)state;
  fixture_t fx;
  setup_dirs(&fx);
  for (size_t i = 0; i < 5; i++) put_file(fx.d.share, names[i], sizes[i], (uint32_t)i + 1);
  fx.dirs.defer_hashing = 1;
  ls_scan_snapshot_t s;
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &s), 0);
  char path[600];
  snprintf(path, sizeof path, "%s/three-jobs.bin", fx.d.share);
  unlink(path);
  uv_loop_t loop;
  uv_loop_init(&loop);
  ls_hasher_t *h;
  calls = 0;
  assert_int_equal(ls_hasher_start(&loop, &fx.dirs, &s, 2, done_cb, NULL, &h), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(calls, 1);
  assert_int_equal(ls_scan_finish(&s, NULL), 0);
  assert_int_equal(s.count, 4);
  assert_int_equal(s.nrefused, 1);
  assert_int_equal(s.refused[0].rc, -ENOENT);
  ls_scan_free(&s);

  clear_cache(&fx);
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &s), 0);
  calls = 0;
  assert_int_equal(ls_hasher_start(&loop, &fx.dirs, &s, 1, done_cb, NULL, &h), 0);
  ls_hasher_cancel(h);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(calls, 1);
  assert_int_equal(ls_scan_finish(&s, NULL), 0);
  assert_true(s.count <= 1); /* one job ran at most: at most one file sealed */
  for (size_t i = 0; i < s.nrefused; i++) assert_int_equal(s.refused[i].rc, -ECANCELED);
  ls_scan_free(&s);

  fx.dirs.defer_hashing = 0;
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &s), 0); /* everything cached now */
  fx.dirs.defer_hashing = 1;
  ls_scan_snapshot_t again;
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &again), 0);
  assert_int_equal(again.npending, 0);
  calls = 0;
  assert_int_equal(ls_hasher_start(&loop, &fx.dirs, &again, 2, done_cb, NULL, &h), 0);
  assert_null(h);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(calls, 0);
  ls_scan_free(&again);
  ls_scan_free(&s);
  assert_int_equal(uv_loop_close(&loop), 0);
  fixture_close(&fx);
}

/* Many small files: jobs hash several whole files each (a batch), and every
 * one is hashed, counted and sealed with the inline scan's root. */
static void small_files_in_batches(void **state) {
  (void)state;
  fixture_t fx;
  setup_dirs(&fx);
  char name[32];
  for (int i = 0; i < 40; i++) {
    snprintf(name, sizeof name, "small-%02d", i);
    put_file(fx.d.share, name, (size_t)(i * 997) % 200000, (uint32_t)i + 10);
  }
  ls_scan_snapshot_t want, s;
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &want), 0);
  clear_cache(&fx);
  fx.dirs.defer_hashing = 1;
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &s), 0);
  uv_loop_t loop;
  uv_loop_init(&loop);
  ls_hasher_t *h;
  calls = 0;
  assert_int_equal(ls_hasher_start(&loop, &fx.dirs, &s, 2, done_cb, NULL, &h), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(calls, 1);
  assert_int_equal(s.hashed, 40);
  assert_int_equal(ls_scan_finish(&s, NULL), 0);
  assert_int_equal(s.count, 40);
  for (size_t i = 0; i < want.count; i++)
    assert_memory_equal(by_name(&s, want.entries[i].name)->manifest.root, want.entries[i].manifest.root, LS_HASH_LEN);
  assert_int_equal(uv_loop_close(&loop), 0);
  ls_scan_free(&s);
  ls_scan_free(&want);
  fixture_close(&fx);
}

/* Two programs of a peer (two cache handles: two claims) hashing the same
 * files of several jobs at once: each file is hashed by one of them, and
 * the other takes its manifest from the cache once the claim is let go. */
static void one_program_hashes_a_big_file(void **state) {
  (void)state;
  fixture_t fx;
  setup_dirs(&fx);
  put_file(fx.d.share, "three-jobs.bin", 9u << 20, 1);
  put_file(fx.d.share, "seven-jobs.bin", 25u << 20, 2);
  ls_scan_snapshot_t want, a, b;
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &want), 0);
  clear_cache(&fx);
  ls_mcache_t other;
  assert_int_equal(ls_mcache_init(&other, fx.d.cache), 0);
  fx.dirs.defer_hashing = 1;
  ls_scan_dirs_t dirs_b = fx.dirs;
  dirs_b.cache = &other;
  assert_int_equal(ls_scan_run(&fx.dirs, NULL, &a), 0);
  assert_int_equal(ls_scan_run(&dirs_b, NULL, &b), 0);
  assert_int_equal(a.npending + b.npending, 4);
  uv_loop_t loop;
  uv_loop_init(&loop);
  ls_hasher_t *ha, *hb;
  calls = 0;
  assert_int_equal(ls_hasher_start(&loop, &fx.dirs, &a, 3, done_cb, NULL, &ha), 0);
  assert_int_equal(ls_hasher_start(&loop, &dirs_b, &b, 3, done_cb, NULL, &hb), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(calls, 2);
  assert_int_equal(a.hashed + b.hashed, 2);
  assert_int_equal(ls_scan_finish(&a, NULL), 0);
  assert_int_equal(ls_scan_finish(&b, NULL), 0);
  for (size_t i = 0; i < want.count; i++) {
    const char *name = want.entries[i].name;
    assert_memory_equal(by_name(&a, name)->manifest.root, want.entries[i].manifest.root, LS_HASH_LEN);
    assert_memory_equal(by_name(&b, name)->manifest.root, want.entries[i].manifest.root, LS_HASH_LEN);
  }
  assert_int_equal(uv_loop_close(&loop), 0);
  ls_scan_free(&a);
  ls_scan_free(&b);
  ls_scan_free(&want);
  ls_mcache_close(&other);
  fixture_close(&fx);
}

/* libuv's 4 threads by default are too few for a big machine: ls_pool_init
 * sets the cores plus two (at least 4) unless the user chose; bulk jobs
 * leave one thread free and never exceed the cores plus one. */
static void pool_sizes(void **state) {
  (void)state;
  unsigned cores = uv_available_parallelism();
  unsetenv("UV_THREADPOOL_SIZE");
  assert_int_equal(ls_pool_size(), 4);
  ls_pool_init();
  unsigned want = cores + 2 < 4 ? 4 : cores + 2;
  assert_int_equal(ls_pool_size(), want);
  assert_int_equal(ls_pool_bulk_jobs(), cores + 1 > want - 1 ? want - 1 : cores + 1);
  setenv("UV_THREADPOOL_SIZE", "1", 1);
  ls_pool_init(); /* the user's choice stays */
  assert_int_equal(ls_pool_size(), 1);
  assert_int_equal(ls_pool_bulk_jobs(), 1);
  setenv("UV_THREADPOOL_SIZE", "3", 1);
  assert_int_equal(ls_pool_bulk_jobs(), cores + 1 < 2 ? cores + 1 : 2);
  setenv("UV_THREADPOOL_SIZE", "5000", 1);
  assert_int_equal(ls_pool_size(), 1024);
  assert_true(ls_pool_bulk_jobs() <= LS_POOL_MAX_BULK);
  unsetenv("UV_THREADPOOL_SIZE");
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(hashes_like_the_inline_scan),
                                     cmocka_unit_test(failures_and_cancel), cmocka_unit_test(one_program_hashes_a_big_file),
                                     cmocka_unit_test(small_files_in_batches), cmocka_unit_test(pool_sizes)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
