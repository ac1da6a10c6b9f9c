/* ls_util, ls_map and ls_log. */
#include "helpers.h"

#include <limits.h>
#include "ls_log.h"
#include "ls_map.h"
#include "ls_util.h"

static void parse_numbers(void **state) {
  (void)state;
  uint64_t v;
  assert_int_equal(ls_parse_u64("42", 0, 100, &v), 0);
  assert_int_equal(v, 42);
  assert_int_not_equal(ls_parse_u64("101", 0, 100, &v), 0);
  assert_int_not_equal(ls_parse_u64("4x", 0, 100, &v), 0);
  assert_int_not_equal(ls_parse_u64("-1", 0, 100, &v), 0);
  assert_int_not_equal(ls_parse_u64("99999999999999999999999", 0, UINT64_MAX, &v), 0);
  assert_int_equal(ls_parse_size("25M", &v), 0);
  assert_int_equal(v, 25u << 20);
  assert_int_equal(ls_parse_size("64KiB", &v), 0);
  assert_int_equal(v, 65536);
  assert_int_not_equal(ls_parse_size("5X", &v), 0);
  assert_int_not_equal(ls_parse_size("99999999999999999G", &v), 0);
  char buf[32];
  ls_format_bytes(1536, buf, sizeof buf);
  assert_string_equal(buf, "1.5 KiB");
}

static void atomic_files(void **state) {
  (void)state;
  char dir[256], path[300];
  make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/a/b/c", dir);
  assert_int_equal(ls_mkdir_p(path), 0);
  assert_int_equal(ls_mkdir_p(path), 0);
  snprintf(path, sizeof path, "%s/f", dir);
  assert_int_equal(ls_write_file_atomic(path, "one", 3, 1), 0);
  assert_int_equal(ls_write_file_atomic(path, "three", 5, 0), 0);
  uint8_t *data;
  size_t len;
  assert_int_equal(ls_read_file(path, 100, &data, &len), 0);
  assert_int_equal(len, 5);
  assert_memory_equal(data, "three", 5);
  free(data);
  assert_int_equal(ls_read_file(path, 4, &data, &len), -EFBIG);
  rm_tree(dir);
}

static void map_basics(void **state) {
  (void)state;
  ls_map_t m;
  assert_int_equal(ls_map_init(&m), 0);
  char key[32];
  static int values[1000];
  for (int i = 0; i < 1000; i++) {
    snprintf(key, sizeof key, "k%d", i);
    assert_int_equal(ls_map_put(&m, key, &values[i]), 0);
  }
  assert_int_equal(m.count, 1000);
  assert_ptr_equal(ls_map_get(&m, "k500"), &values[500]);
  assert_ptr_equal(ls_map_del(&m, "k500"), &values[500]);
  assert_null(ls_map_get(&m, "k500"));
  size_t seen = 0;
  for (ls_map_node_t *n = ls_map_first(&m); n; n = ls_map_next(&m, n)) seen++;
  assert_int_equal(seen, 999);
  ls_map_close(&m);
}

static void ratelimit(void **state) {
  (void)state;
  ls_ratelimit_t rl;
  ls_ratelimit_init(&rl, 3, 60000);
  unsigned long dropped;
  int allowed = 0;
  for (int i = 0; i < 10; i++) allowed += ls_ratelimit_allow(&rl, &dropped);
  assert_int_equal(allowed, 3);
  assert_int_equal(rl.suppressed, 7);
}

static void log_to_file(void **state) {
  (void)state;
  char dir[256], path[300];
  make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/log", dir);
  ls_log_init("unit", LS_LOG_INFO);
  assert_int_equal(ls_log_open_file(path, 1), 0);
  ls_debug("hidden");
  ls_info("shown %d", 7);
  ls_log_close();
  uint8_t *data;
  size_t len;
  assert_int_equal(ls_read_file(path, 4096, &data, &len), 0);
  assert_null(strstr((char *)data, "hidden"));
  assert_non_null(strstr((char *)data, " info  unit: shown 7\n"));
  assert_true(data[4] == '-' && data[10] == 'T'); /* ISO 8601 timestamp first */
  free(data);
  rm_tree(dir);
}

static void program_dir(void **state) {
  (void)state;
  char dir[PATH_MAX], self[PATH_MAX + 16];
  assert_int_equal(ls_program_dir(dir, sizeof dir), 0);
  snprintf(self, sizeof self, "%s/test_util", dir);
  assert_int_equal(access(self, X_OK), 0); /* this test program's own folder */
  char tiny[4];
  assert_int_equal(ls_program_dir(tiny, sizeof tiny), -ENAMETOOLONG);
}

/* Diagnostics are named after their program, apart from server.log. */
static void log_paths(void **state) {
  (void)state;
  char p[64];
  assert_int_equal(ls_log_path("/var/lib/lanswarm", "server", p, sizeof p), 42);
  assert_string_equal(p, "/var/lib/lanswarm/logs/lanswarm-server.log");
  assert_true(ls_log_path("/d", "up", p, 8) >= 8); /* cut: the caller sees the length */
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(program_dir), cmocka_unit_test(parse_numbers), cmocka_unit_test(atomic_files),
                                     cmocka_unit_test(map_basics), cmocka_unit_test(ratelimit),
                                     cmocka_unit_test(log_to_file), cmocka_unit_test(log_paths)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
