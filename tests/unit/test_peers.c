#include "helpers.h"
#include "ls_peers.h"

static void round_trip(void **state) {
  (void)state;
  ls_peer_entry_t in[2] = {
      {"alpha", "127.0.0.1", 41771, LS_HOW_BROADCAST | LS_HOW_UNICAST, 1795605000, 1795605240, 60, 0, ""},
      {"b.2", "10.1.2.3", 9, LS_HOW_ALL, 0, 0, 3600, 4294967295u, "0123456789abcdef0123456789abcdef"},
  };
  char *text;
  size_t len;
  assert_int_equal(ls_peers_render(in, 2, &text, &len), 0);
  assert_string_equal(text, LS_PEERS_HEADER
                      "alpha\t127.0.0.1:41771\tbroadcast,unicast\t1795605000\t1795605240\t60\t0\t-\n"
                      "b.2\t10.1.2.3:9\tbroadcast,multicast,unicast,tracker\t0\t0\t3600\t4294967295\t"
                      "0123456789abcdef0123456789abcdef\n");
  ls_peer_entry_t *out;
  size_t n, bad;
  assert_int_equal(ls_peers_parse(text, len, &out, &n, &bad), 0);
  assert_int_equal(n, 2);
  assert_int_equal(bad, 0);
  for (size_t i = 0; i < 2; i++) {
    assert_string_equal(out[i].tag, in[i].tag);
    assert_string_equal(out[i].addr, in[i].addr);
    assert_int_equal(out[i].port, in[i].port);
    assert_int_equal(out[i].how, in[i].how);
    assert_int_equal(out[i].first_seen, in[i].first_seen);
    assert_int_equal(out[i].last_seen, in[i].last_seen);
    assert_int_equal(out[i].interval, in[i].interval);
    assert_int_equal(out[i].files, in[i].files);
    assert_string_equal(out[i].digest, in[i].digest);
  }
  free(out);
  free(text);
  char buf[64];
  assert_int_equal(ls_how_format(0, buf, sizeof buf), -EINVAL);
  assert_int_equal(ls_how_format(16, buf, sizeof buf), -EINVAL);
  assert_int_equal(ls_how_format(LS_HOW_TRACKER, buf, sizeof buf), 7);
  assert_string_equal(buf, "tracker");
}

static void hostile_lines_are_refused(void **state) {
  (void)state;
  const char *good = "alpha\t127.0.0.1:41771\tbroadcast\t1\t2\t60\t3\t-";
  ls_peer_entry_t e;
  assert_int_equal(ls_peers_parse_line(good, strlen(good), &e), 0);
  const char *bad[] = {
      "",
      "# comment",
      "alpha\t127.0.0.1:41771\tbroadcast\t1\t2\t60\t3",          /* a field short */
      "alpha\t127.0.0.1:41771\tbroadcast\t1\t2\t60\t3\t-\textra", /* a field more */
      "alpha\t127.0.0.1:41771\tbroadcast\t1\t2\t60\t3\t-\t",      /* a trailing TAB */
      "al pha\t127.0.0.1:41771\tbroadcast\t1\t2\t60\t3\t-",
      "\t127.0.0.1:41771\tbroadcast\t1\t2\t60\t3\t-",
      "alpha\t127.0.0.1\tbroadcast\t1\t2\t60\t3\t-",
      "alpha\t127.0.0.256:1\tbroadcast\t1\t2\t60\t3\t-",
      "alpha\t127.0.0.1:0\tbroadcast\t1\t2\t60\t3\t-",
      "alpha\t127.0.0.1:65536\tbroadcast\t1\t2\t60\t3\t-",
      "alpha\t127.0.0.1:41771\t\t1\t2\t60\t3\t-",
      "alpha\t127.0.0.1:41771\tpigeon\t1\t2\t60\t3\t-",
      "alpha\t127.0.0.1:41771\tbroadcast,broadcast\t1\t2\t60\t3\t-",
      "alpha\t127.0.0.1:41771\tbroadcast,\t1\t2\t60\t3\t-",
      "alpha\t127.0.0.1:41771\t,tracker\t1\t2\t60\t3\t-",
      "alpha\t127.0.0.1:41771\tBroadcast\t1\t2\t60\t3\t-",
      "alpha\t127.0.0.1:41771\tbroadcast\t-1\t2\t60\t3\t-",
      "alpha\t127.0.0.1:41771\tbroadcast\t1\t99999999999999999999\t60\t3\t-",
      "alpha\t127.0.0.1:41771\tbroadcast\t1\t2\t0\t3\t-",
      "alpha\t127.0.0.1:41771\tbroadcast\t1\t2\t3601\t3\t-",
      "alpha\t127.0.0.1:41771\tbroadcast\t1\t2\t60\t4294967296\t-",
      "alpha\t127.0.0.1:41771\tbroadcast\t1\t2\t60\t+3\t-",
      "alpha\t127.0.0.1:41771\tbroadcast\t1\t2\t60\t3\t",
      "alpha\t127.0.0.1:41771\tbroadcast\t1\t2\t60\t3\t0123456789ABCDEF0123456789abcdef",
      "alpha\t127.0.0.1:41771\tbroadcast\t1\t2\t60\t3\t0123456789abcdef0123456789abcde",
      "alpha\t127.0.0.1:41771\tbroadcast\t1\t2\t60\t3\t--",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (ls_peers_parse_line(bad[i], strlen(bad[i]), &e) == 0) fail_msg("accepted: %s", bad[i]);
  /* A NUL inside, and a line too long for any real entry. */
  assert_int_not_equal(ls_peers_parse_line("alpha\0\t127.0.0.1:1\tunicast\t1\t2\t60\t3\t-", 38, &e), 0);
  char longline[600];
  memset(longline, '1', sizeof longline);
  memcpy(longline, good, strlen(good));
  assert_int_not_equal(ls_peers_parse_line(longline, sizeof longline, &e), 0);
}

static void whole_file_is_bounded(void **state) {
  (void)state;
  size_t cap = (LS_PEERS_MAX + 10) * 64 + 200, used = 0;
  char *text = malloc(cap);
  used += (size_t)snprintf(text + used, cap - used, "# header\n\ngarbage\n");
  for (int i = 0; i < LS_PEERS_MAX + 10; i++)
    used += (size_t)snprintf(text + used, cap - used, "p%d\t127.0.0.1:%d\tunicast\t1\t2\t60\t0\t-\n", i, 1 + i);
  ls_peer_entry_t *out;
  size_t n, bad;
  assert_int_equal(ls_peers_parse(text, used, &out, &n, &bad), 0);
  assert_int_equal(n, LS_PEERS_MAX);
  assert_int_equal(bad, 11);
  assert_string_equal(out[0].tag, "p0");
  free(out);
  free(text);
  char dir[256], path[300];
  make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/peers.txt", dir);
  assert_int_equal(ls_peers_read(path, &out, &n, &bad), 0); /* missing: empty */
  assert_int_equal(n, 0);
  rm_tree(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(round_trip), cmocka_unit_test(hostile_lines_are_refused),
                                     cmocka_unit_test(whole_file_is_bounded)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
