#include "helpers.h"
#include "ls_tags.h"

static void round_trip(void **state) {
  (void)state;
  char dir[256], path[300];
  make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/tags.txt", dir);
  ls_tag_entry_t e[2];
  memset(e, 0, sizeof e);
  snprintf(e[0].tag, sizeof e[0].tag, "alpha");
  snprintf(e[0].addr, sizeof e[0].addr, "127.0.0.1");
  e[0].port = 41771;
  e[0].root[0] = 0xab;
  e[0].size = 123456789012ULL;
  e[0].chunk_size = 1 << 20;
  e[0].complete = 1;
  e[0].last_seen = 1795600000;
  e[0].name = "dir/a file.txt";
  e[1] = e[0];
  e[1].complete = 0;
  e[1].name = "b";
  assert_int_equal(ls_tags_write(path, e, 2), 0);
  ls_tag_entry_t *back;
  size_t n, bad;
  assert_int_equal(ls_tags_read(path, &back, &n, &bad), 0);
  assert_int_equal(n, 2);
  assert_int_equal(bad, 0);
  assert_string_equal(back[0].name, "dir/a file.txt");
  assert_int_equal(back[0].size, 123456789012ULL);
  assert_int_equal(back[0].port, 41771);
  assert_int_equal(back[0].root[0], 0xab);
  assert_int_equal(back[1].complete, 0);
  assert_int_equal(back[1].last_seen, 1795600000);
  ls_tags_free(back, n);
  /* The line is what docs/PROTOCOL.md says, fields in order, TAB-separated. */
  char line[512];
  ls_tags_format_line(&e[0], line, sizeof line);
  assert_string_equal(line,
                      "alpha\t127.0.0.1:41771\tab00000000000000000000000000000000000000000000000000000000000000\t"
                      "123456789012\t1048576\tcomplete\t1795600000\tdir/a file.txt\n");
  rm_tree(dir);
}

static void bad_lines_are_skipped(void **state) {
  (void)state;
  char dir[256], path[300];
  make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/tags.txt", dir);
  const char *text =
      "# comment\n"
      "a\t127.0.0.1:1\t" "0000000000000000000000000000000000000000000000000000000000000000" "\t1\t4096\tcomplete\t5\tgood\n"
      "a\t127.0.0.1:1\t" "0000000000000000000000000000000000000000000000000000000000000000" "\t1\t4096\tcomplete\t5\t../evil\n"
      "a\t999.0.0.1:1\t" "0000000000000000000000000000000000000000000000000000000000000000" "\t1\t4096\tcomplete\t5\tx\n"
      "a\t127.0.0.1:0\t" "0000000000000000000000000000000000000000000000000000000000000000" "\t1\t4096\tcomplete\t5\tx\n"
      "a\t127.0.0.1:65536\t" "0000000000000000000000000000000000000000000000000000000000000000" "\t1\t4096\tcomplete\t5\tx\n"
      "a\t127.0.0.1:1\tzz\t1\t4096\tcomplete\t5\tx\n"
      "a\t127.0.0.1:1\t" "0000000000000000000000000000000000000000000000000000000000000000" "\t1\t4096\tmaybe\t5\tx\n"
      "short line\n"
      /* 1 TiB in 1 KiB chunks: more chunks than a manifest may hold. */
      "a\t127.0.0.1:1\t" "0000000000000000000000000000000000000000000000000000000000000000" "\t1099511627776\t1024\tcomplete\t5\tx\n"
      "a\t127.0.0.1:1\t" "0000000000000000000000000000000000000000000000000000000000000000" "\t1\t4096\tpartial\t5\tlast";
  write_bytes(path, text, strlen(text));
  ls_tag_entry_t *back;
  size_t n, bad;
  assert_int_equal(ls_tags_read(path, &back, &n, &bad), 0);
  assert_int_equal(n, 2);
  assert_int_equal(bad, 8);
  assert_string_equal(back[0].name, "good");
  assert_string_equal(back[1].name, "last");
  ls_tags_free(back, n);
  /* A missing file is an empty table. */
  snprintf(path, sizeof path, "%s/none.txt", dir);
  assert_int_equal(ls_tags_read(path, &back, &n, NULL), 0);
  assert_int_equal(n, 0);
  rm_tree(dir);
}

/* IPv6 endpoints: "[addr%ifname]:port", the scope only for link-local; the
 * entry's addr holds the address without brackets. */
static void ipv6_round_trip(void **state) {
  (void)state;
  const char *root = "ab00000000000000000000000000000000000000000000000000000000000000";
  const char *endpoints[] = {"[fe80::1%eth0]:41771", "[fd00::2]:41771", "198.18.0.3:41771"};
  const char *addrs[] = {"fe80::1%eth0", "fd00::2", "198.18.0.3"};
  for (size_t i = 0; i < 3; i++) {
    char line[512], again[512];
    snprintf(line, sizeof line, "alpha\t%s\t%s\t10\t1048576\tcomplete\t1795600000\tf.txt", endpoints[i], root);
    ls_tag_entry_t e;
    assert_int_equal(ls_tags_parse_line(line, strlen(line), &e), 0);
    assert_string_equal(e.addr, addrs[i]);
    assert_int_equal(e.port, 41771);
    int n = ls_tags_format_line(&e, again, sizeof again);
    assert_true(n > 0);
    again[n - 1] = '\0'; /* the newline */
    assert_string_equal(again, line);
    free(e.name);
  }
  const char *bad[] = {"fe80::1%eth0:41771", "[198.18.0.3]:41771", "[fd00::2%eth0]:41771", "[FD00::2]:41771",
                       "[fd00::2]", "[fd00::2]:0", "[fe80::1%]:1", "[fe80::1%e\x01]:1", "[fd00::2]:41771 "};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char line[512];
    snprintf(line, sizeof line, "alpha\t%s\t%s\t10\t1048576\tcomplete\t1795600000\tf.txt", bad[i], root);
    ls_tag_entry_t e;
    if (ls_tags_parse_line(line, strlen(line), &e) == 0) fail_msg("accepted '%s'", bad[i]);
    free(e.name);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(round_trip), cmocka_unit_test(bad_lines_are_skipped),
                                     cmocka_unit_test(ipv6_round_trip)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
