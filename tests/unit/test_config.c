#include "helpers.h"
#include "ls_config.h"

static const ls_config_program_t prog = {"lanswarm-test", "[OPTIONS]", "test", NULL, NULL, NULL, NULL};

static void file_then_flags(void **state) {
  (void)state;
  char dir[256], path[300];
  make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/lanswarm.conf", dir);
  const char *text = "# a peer\n"
                     "tag = kitchen   # trailing comment\n"
                     "\n"
                     "udp_port = 5000\n"
                     "tcp_port=5001\n"
                     "interval = 5\n"
                     "chunk_size = 64K\n"
                     "rate_limit = 25M\n";
  write_bytes(path, text, strlen(text));
  /* Every flag of the table, so none collides with a short option. */
  char *argv[] = {"prog", "--dir", dir, "--udp-port", "6000", "--temp", "/x/t", "--tags", "/x/tags",
                  "--tracker", "127.0.0.1:9", "--fsync", "0", "NAME", NULL};
  ls_config_t cfg;
  int first = ls_config_from_args(&cfg, &prog, 14, argv);
  assert_int_equal(first, 13);
  assert_string_equal(cfg.temp_dir, "/x/t");
  assert_string_equal(cfg.tags_path, "/x/tags");
  assert_string_equal(cfg.tracker, "127.0.0.1:9");
  assert_int_equal(cfg.fsync, 0);
  assert_string_equal(cfg.tag, "kitchen");
  assert_int_equal(cfg.udp_port, 6000); /* the flag wins */
  assert_int_equal(cfg.tcp_port, 5001);
  assert_int_equal(cfg.interval, 5);
  assert_int_equal(cfg.chunk_size, 65536);
  assert_int_equal(cfg.rate_limit, 25u << 20);
  char want[400];
  snprintf(want, sizeof want, "%s/client.log", dir);
  assert_string_equal(cfg.client_log, want);
  snprintf(want, sizeof want, "%s/share", dir);
  assert_string_equal(cfg.share_dir, want);
  rm_tree(dir);
}

static void bad_values(void **state) {
  (void)state;
  ls_config_t cfg;
  char err[256];
  ls_config_defaults(&cfg);
  assert_int_not_equal(ls_config_set(&cfg, "udp_port", "70000", err, sizeof err), 0);
  assert_non_null(strstr(err, "udp_port"));
  assert_int_not_equal(ls_config_set(&cfg, "udp_port", "-1", err, sizeof err), 0);
  assert_int_not_equal(ls_config_set(&cfg, "interval", "0", err, sizeof err), 0);
  assert_int_not_equal(ls_config_set(&cfg, "chunk_size", "1G", err, sizeof err), 0);
  assert_int_not_equal(ls_config_set(&cfg, "tag", "has space", err, sizeof err), 0);
  assert_int_not_equal(ls_config_set(&cfg, "nonsense", "1", err, sizeof err), 0);
  assert_int_not_equal(ls_config_set(&cfg, "log_level", "loud", err, sizeof err), 0);
  assert_int_not_equal(ls_config_set(&cfg, "tracker", "tracker.lan", err, sizeof err), 0);
  assert_int_not_equal(ls_config_set(&cfg, "tracker", "1.2.3.4:0", err, sizeof err), 0);
  char dir[256], path[300];
  make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/c.conf", dir);
  write_bytes(path, "tag = ok\nno equals sign\n", 24);
  assert_int_not_equal(ls_config_load_file(&cfg, path, err, sizeof err), 0);
  assert_non_null(strstr(err, ":2:"));
  write_bytes(path, "tag = ok\0x", 10);
  assert_int_not_equal(ls_config_load_file(&cfg, path, err, sizeof err), 0);
  rm_tree(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(file_then_flags), cmocka_unit_test(bad_values)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
