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
  const reg_holders_t *hs = registry_holders(&r, "y");
  assert_non_null(hs);
  assert_int_equal(hs->n, 2);
  /* replace drops what the new list lacks */
  assert_int_equal(registry_publish(&r, a, f + 2, 1, 1), 0);
  assert_null(registry_holders(&r, "x"));
  assert_int_equal(registry_holders(&r, "y")->n, 1);
  assert_int_equal(registry_holders(&r, "z")->n, 2);
  char *names[] = {"z"};
  registry_unpublish(&r, b, names, 1);
  assert_int_equal(registry_holders(&r, "z")->n, 1);
  ls_tentry_t rows[8];
  assert_int_equal(registry_rows(&r, 0, 8, rows), 2);
  assert_int_equal(registry_rows(&r, 1, 8, rows), 1);
  uint8_t root[LS_HASH_LEN] = {3};
  assert_int_equal(registry_rows_by_root(&r, root, 8, rows), 1);
  assert_string_equal(rows[0].host, "a");
  registry_remove(&r, a);
  assert_null(registry_holders(&r, "z"));
  assert_null(registry_find(&r, "a"));
  assert_int_equal(r.total_files, 1);
  registry_close(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(hosts_files_and_index)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
