#include "helpers.h"
#include "registry.h"

static void hosts_files_and_index(void **state) {
  (void)state;
  registry_t r;
  assert_int_equal(registry_init(&r), 0);
  reg_host_t *a, *b, *dup;
  assert_int_equal(registry_add(&r, "a", "127.0.0.1", 1, NULL, &a), 0);
  assert_int_equal(registry_add(&r, "b", "127.0.0.2", 2, NULL, &b), 0);
  assert_int_equal(registry_add(&r, "a", "127.0.0.3", 3, NULL, &dup), -EEXIST);
  ls_announce_file_t f[3] = {{"x", 1, 4096, {1}, 1}, {"y", 2, 4096, {2}, 1}, {"z", 3, 4096, {3}, 0}};
  assert_int_equal(registry_publish(&r, a, f, 2, 1), 0);
  assert_int_equal(registry_publish(&r, b, f + 1, 2, 1), 0);
  assert_int_equal(r.total_files, 4);
  assert_int_equal(registry_holder_count(&r, "y"), 2);
  /* one record for the name both hold with the same content */
  assert_ptr_equal(registry_file(&r, "y")->next, NULL);
  assert_int_equal(r.names.count, 3);
  /* replace drops what the new list lacks */
  assert_int_equal(registry_publish(&r, a, f + 2, 1, 1), 0);
  assert_null(registry_file(&r, "x"));
  assert_int_equal(registry_holder_count(&r, "y"), 1);
  assert_int_equal(registry_holder_count(&r, "z"), 2);
  char *names[] = {"z"};
  registry_unpublish(&r, b, names, 1);
  assert_int_equal(registry_holder_count(&r, "z"), 1);
  ls_tentry_t rows[8];
  assert_int_equal(registry_rows(&r, 0, 8, rows), 2);
  assert_int_equal(registry_rows(&r, 1, 8, rows), 1);
  uint8_t root[LS_HASH_LEN] = {3};
  assert_int_equal(registry_rows_by_root(&r, root, 8, rows), 1);
  assert_string_equal(rows[0].host, "a");
  registry_remove(&r, a);
  assert_null(registry_file(&r, "z"));
  assert_int_equal(r.name_bytes, 2); /* "y" and its NUL */
  assert_null(registry_find(&r, "a"));
  assert_int_equal(r.total_files, 1);
  registry_close(&r);
}

/* Hosts that publish a name with other content get their own version; an
 * update moves a host from one to the other; the last holder frees it. */
static void versions_of_a_name(void **state) {
  (void)state;
  registry_t r;
  assert_int_equal(registry_init(&r), 0);
  reg_host_t *a, *b, *c;
  assert_int_equal(registry_add(&r, "a", "127.0.0.1", 1, NULL, &a), 0);
  assert_int_equal(registry_add(&r, "b", "127.0.0.1", 2, NULL, &b), 0);
  assert_int_equal(registry_add(&r, "c", "127.0.0.1", 3, NULL, &c), 0);
  ls_announce_file_t v1 = {"doc", 10, 4096, {1}, 1}, v2 = {"doc", 10, 4096, {2}, 1};
  assert_int_equal(registry_publish(&r, a, &v1, 1, 0), 0);
  assert_int_equal(registry_publish(&r, b, &v2, 1, 0), 0);
  assert_int_equal(registry_publish(&r, c, &v1, 1, 0), 0);
  assert_non_null(registry_file(&r, "doc")->next);
  assert_int_equal(r.names.count, 1);
  ls_tentry_t rows[8];
  assert_int_equal(registry_lookup(&r, "doc", 8, rows), 3);
  assert_int_equal(registry_lookup(&r, "doc", 2, rows), 2);
  int seen2 = 0;
  assert_int_equal(registry_lookup(&r, "doc", 8, rows), 3);
  for (int i = 0; i < 3; i++)
    if (rows[i].file.root[0] == 2) seen2 = strcmp(rows[i].host, "b") == 0;
  assert_true(seen2);
  /* b now holds v1: one record again, held by 3 */
  assert_int_equal(registry_publish(&r, b, &v1, 1, 0), 0);
  assert_null(registry_file(&r, "doc")->next);
  assert_int_equal(registry_file(&r, "doc")->nholders, 3);
  assert_int_equal(r.total_files, 3);
  /* an update of the first version's only holder keeps the other chained */
  assert_int_equal(registry_publish(&r, a, &v2, 1, 0), 0);
  registry_remove(&r, b);
  registry_remove(&r, c);
  assert_int_equal(registry_holder_count(&r, "doc"), 1);
  assert_int_equal(registry_file(&r, "doc")->root[0], 2);
  registry_remove(&r, a);
  assert_null(registry_file(&r, "doc"));
  assert_int_equal(r.name_bytes, 0);
  assert_int_equal(r.total_files, 0);
  registry_close(&r);
}

/* Hostile publishers: the same name many times in one message, more files
 * than a host may have, more than all may have, names past the bytes' limit.
 * Refused files are counted nowhere and leave no record behind. */
static void limits_hold(void **state) {
  (void)state;
  registry_t r;
  assert_int_equal(registry_init(&r), 0);
  r.max_files_per_host = 4;
  r.max_files = 6;
  r.max_name_bytes = 40;
  reg_host_t *a, *b;
  assert_int_equal(registry_add(&r, "a", "127.0.0.1", 1, NULL, &a), 0);
  assert_int_equal(registry_add(&r, "b", "127.0.0.1", 2, NULL, &b), 0);
  ls_announce_file_t same[100];
  for (int i = 0; i < 100; i++) same[i] = (ls_announce_file_t){"again", (uint64_t)i, 4096, {(uint8_t)i}, 1};
  assert_int_equal(registry_publish(&r, a, same, 100, 0), 0);
  assert_int_equal(a->files.count, 1);
  assert_int_equal(registry_file(&r, "again")->size, 99);
  assert_null(registry_file(&r, "again")->next);
  ls_announce_file_t many[6] = {{"m0", 1, 1, {0}, 1}, {"m1", 1, 1, {0}, 1}, {"m2", 1, 1, {0}, 1},
                                {"m3", 1, 1, {0}, 1}, {"m4", 1, 1, {0}, 1}, {"m5", 1, 1, {0}, 1}};
  assert_int_equal(registry_publish(&r, a, many, 6, 0), -ENOSPC);
  assert_int_equal(a->files.count, 4);
  assert_int_equal(registry_publish(&r, b, many, 4, 0), -ENOSPC);
  assert_int_equal(r.total_files, 6);
  assert_int_equal(b->files.count, 2);
  registry_remove(&r, b);
  char long_name[64];
  memset(long_name, 'x', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = 0;
  ls_announce_file_t big = {long_name, 1, 1, {0}, 1};
  size_t bytes = r.name_bytes;
  assert_int_equal(registry_add(&r, "b", "127.0.0.1", 2, NULL, &b), 0);
  assert_int_equal(registry_publish(&r, b, &big, 1, 0), -ENOSPC);
  assert_null(registry_file(&r, long_name));
  assert_int_equal(r.name_bytes, bytes);
  assert_int_equal(b->files.count, 0);
  registry_close(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(hosts_files_and_index), cmocka_unit_test(versions_of_a_name),
                                     cmocka_unit_test(limits_hold)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
