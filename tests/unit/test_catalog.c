#include <sys/stat.h>
#include <utime.h>

#include "helpers.h"
#include "ls_catalog.h"
#include "ls_partial.h"

typedef struct {
  peer_dirs_t d;
  ls_catalog_dirs_t dirs;
} fixture_t;

static void setup_dirs(fixture_t *fx) {
  make_peer_dirs(&fx->d);
  fx->dirs = (ls_catalog_dirs_t){fx->d.share, fx->d.downloads, fx->d.temp, fx->d.cache, 4096};
}

static const ls_catalog_entry_t *by_name(const ls_catalog_snapshot_t *s, const char *name) {
  for (size_t i = 0; i < s->count; i++)
    if (strcmp(s->entries[i].name, name) == 0) return &s->entries[i];
  return NULL;
}

static void scan_hashes_like_sha256sum(void **state) {
  (void)state;
  fixture_t fx;
  setup_dirs(&fx);
  char path[512];
  snprintf(path, sizeof path, "%s/one.txt", fx.d.share);
  write_bytes(path, "hello\n", 6);
  snprintf(path, sizeof path, "%s/sub", fx.d.share);
  mkdir(path, 0755);
  snprintf(path, sizeof path, "%s/sub/two.bin", fx.d.share);
  uint8_t data[5000];
  fill_pattern(data, sizeof data, 1);
  write_bytes(path, data, sizeof data);
  /* A symlink out of the share and a bad name are not served. */
  snprintf(path, sizeof path, "%s/escape", fx.d.share);
  assert_int_equal(symlink("/etc/hostname", path), 0);
  snprintf(path, sizeof path, "%s/inside-link", fx.d.share);
  assert_int_equal(symlink("one.txt", path), 0);
  snprintf(path, sizeof path, "%s/bad\tname", fx.d.share);
  write_bytes(path, "x", 1);
  snprintf(path, sizeof path, "%s/done.bin", fx.d.downloads);
  write_bytes(path, "downloaded", 10);

  ls_catalog_snapshot_t s;
  assert_int_equal(ls_catalog_scan(&fx.dirs, NULL, &s), 0);
  assert_int_equal(s.count, 4); /* one.txt, inside-link, sub/two.bin, done.bin */
  assert_null(by_name(&s, "escape"));
  assert_non_null(by_name(&s, "inside-link"));
  /* ...and each is listed with the reason the catalog logs. */
  assert_int_equal(s.nrefused, 2);
  assert_int_equal(s.refused[0].rc + s.refused[1].rc, -EXDEV - EILSEQ);
  assert_int_equal(s.hashed, 4);
  const ls_catalog_entry_t *e = by_name(&s, "one.txt");
  assert_non_null(e);
  char want[65], got[65];
  snprintf(path, sizeof path, "%s/one.txt", fx.d.share);
  sha256sum_of(path, want);
  ls_hash_to_hex(e->manifest.hashes, got);
  assert_string_equal(got, want);
  e = by_name(&s, "sub/two.bin");
  assert_int_equal(e->manifest.nchunks, 2);
  assert_int_equal(e->source, LS_SOURCE_SHARE);
  assert_int_equal(by_name(&s, "done.bin")->source, LS_SOURCE_DOWNLOADS);
  assert_ptr_equal(ls_catalog_snapshot_find(&s, e->manifest.root), e);

  /* Unchanged files reuse the previous snapshot: nothing hashed again. */
  ls_catalog_snapshot_t s2;
  assert_int_equal(ls_catalog_scan(&fx.dirs, &s, &s2), 0);
  assert_int_equal(s2.hashed, 0);
  ls_catalog_snapshot_free(&s2);
  /* A restart (no previous snapshot) reuses the disk cache. */
  assert_int_equal(ls_catalog_scan(&fx.dirs, NULL, &s2), 0);
  assert_int_equal(s2.hashed, 0);
  ls_catalog_snapshot_free(&s2);
  /* A changed file (new mtime) is hashed again, the others are not. */
  snprintf(path, sizeof path, "%s/one.txt", fx.d.share);
  write_bytes(path, "hello again\n", 12);
  struct utimbuf ut = {1000000000, 1000000000};
  utime(path, &ut);
  assert_int_equal(ls_catalog_scan(&fx.dirs, &s, &s2), 0);
  assert_int_equal(s2.hashed, 2); /* one.txt and inside-link, which points at it */
  assert_memory_not_equal(by_name(&s2, "one.txt")->manifest.root, by_name(&s, "one.txt")->manifest.root, 32);
  ls_catalog_snapshot_free(&s2);
  ls_catalog_snapshot_free(&s);
  rm_tree(fx.d.root);
}

static void partials_are_listed(void **state) {
  (void)state;
  fixture_t fx;
  setup_dirs(&fx);
  ls_manifest_t m;
  memset(&m, 0, sizeof m);
  m.size = 9000;
  m.chunk_size = 4096;
  m.nchunks = 3;
  m.hashes = calloc(3, LS_HASH_LEN);
  uint8_t *bytes;
  size_t len;
  ls_manifest_encode(&m, &bytes, &len);
  ls_manifest_free(&m);
  assert_int_equal(ls_manifest_decode(&m, bytes, len), 0);
  free(bytes);
  ls_partial_t p;
  assert_int_equal(ls_partial_open(&p, fx.d.temp, &m, "movie.mkv"), 0);
  uint8_t chunk[4096] = {0};
  assert_int_equal(ls_partial_write_chunk(&p, 0, chunk, 4096), 0);
  ls_catalog_snapshot_t s;
  assert_int_equal(ls_catalog_scan(&fx.dirs, NULL, &s), 0);
  assert_int_equal(s.count, 1);
  assert_int_equal(s.entries[0].source, LS_SOURCE_PARTIAL);
  assert_int_equal(s.entries[0].nhave, 1);
  assert_string_equal(s.entries[0].name, "movie.mkv");
  ls_catalog_snapshot_free(&s);
  ls_partial_close(&p);
  ls_manifest_free(&m);
  rm_tree(fx.d.root);
}

/* The loop side: a change in the share reaches the callback. */
static int changes;
static void on_change(ls_catalog_t *cat, void *ud) {
  (void)cat;
  changes++;
  if (changes == 2) uv_stop(ud);
}
static void guard_cb(uv_timer_t *t) {
  uv_stop(t->data);
}
static void add_file_cb(uv_timer_t *t) {
  write_bytes(t->data, "new", 3);
}

static void watches_notice_a_new_file(void **state) {
  (void)state;
  fixture_t fx;
  setup_dirs(&fx);
  uv_loop_t loop;
  uv_loop_init(&loop);
  ls_catalog_t *cat;
  changes = 0;
  assert_int_equal(ls_catalog_new(&loop, &fx.dirs, 3600, on_change, &loop, &cat), 0);
  ls_catalog_start(cat);
  char path[512];
  snprintf(path, sizeof path, "%s/late.txt", fx.d.share);
  uv_timer_t add, guard;
  uv_timer_init(&loop, &add);
  uv_timer_init(&loop, &guard);
  add.data = path;
  uv_timer_start(&add, add_file_cb, 300, 0);
  guard.data = &loop;
  uv_timer_start(&guard, guard_cb, 5000, 0); /* bounded: fails rather than hangs */
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(changes, 2);
  assert_int_equal(ls_catalog_current(cat)->count, 1);
  ls_catalog_close(cat);
  uv_close((uv_handle_t *)&add, NULL);
  uv_close((uv_handle_t *)&guard, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
  rm_tree(fx.d.root);
}

static void close_cb(uv_timer_t *t) {
  ls_catalog_close(t->data);
}

/* Closed while its files are being hashed: the jobs are cancelled or run
 * out, and everything is freed (ASan, valgrind) without a callback. */
static void close_while_hashing(void **state) {
  (void)state;
  fixture_t fx;
  setup_dirs(&fx);
  char path[512];
  snprintf(path, sizeof path, "%s/big.bin", fx.d.share);
  size_t len = 64u << 20; /* 16 jobs of 4 MiB: tens of ms at least */
  uint8_t *data = calloc(1, len);
  write_bytes(path, data, len);
  free(data);
  uv_loop_t loop;
  uv_loop_init(&loop);
  ls_catalog_t *cat;
  changes = 0;
  assert_int_equal(ls_catalog_new(&loop, &fx.dirs, 3600, on_change, &loop, &cat), 0);
  ls_catalog_start(cat);
  uv_timer_t closer;
  uv_timer_init(&loop, &closer);
  closer.data = cat;
  uv_timer_start(&closer, close_cb, 10, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&closer, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(changes, 0);
  assert_int_equal(uv_loop_close(&loop), 0);
  rm_tree(fx.d.root);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(scan_hashes_like_sha256sum), cmocka_unit_test(partials_are_listed),
                                     cmocka_unit_test(watches_notice_a_new_file), cmocka_unit_test(close_while_hashing)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
