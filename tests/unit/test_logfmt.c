/* ls_logfmt: the key=value line syntax of client.log and server.log. */
#include "helpers.h"
#include "ls_logfmt.h"

static int read_all(const char *line, char keys[][LS_LOGFMT_KEY_MAX], char values[][256], int max) {
  ls_logfmt_reader_t r;
  char time[LS_LOGFMT_TIME_MAX];
  if (ls_logfmt_begin(&r, line, strlen(line), time) != 0) return -1;
  int n = 0, rc = 0;
  while (n < max && (rc = ls_logfmt_next(&r, keys[n], values[n], sizeof values[n])) > 0) n++;
  return rc == 0 ? n : -1;
}

static void pairs_and_quotes(void **state) {
  (void)state;
  const char *line =
      "2026-11-25T10:00:00.000Z name=\"a \\\"b\\\" c\" root=ab size=12 peers=x@1.2.3.4:5=6 message=\"\"\n";
  ls_logfmt_reader_t r;
  char time[LS_LOGFMT_TIME_MAX], key[LS_LOGFMT_KEY_MAX], value[256];
  assert_int_equal(ls_logfmt_begin(&r, line, strlen(line), time), 0);
  assert_string_equal(time, "2026-11-25T10:00:00.000Z");
  assert_int_equal(ls_logfmt_next(&r, key, value, sizeof value), 2); /* quoted */
  assert_string_equal(key, "name");
  assert_string_equal(value, "a \"b\" c");
  char keys[8][LS_LOGFMT_KEY_MAX], values[8][256];
  assert_int_equal(read_all(line, keys, values, 8), 5);
  assert_string_equal(values[2], "12");
  assert_string_equal(values[3], "x@1.2.3.4:5=6");
  assert_string_equal(values[4], "");
  /* Malformed lines are refused, not half-read. */
  const char *bad[] = {"",           "nospace",    " leading=1", "t key",     "t k=\"unterminated", "t =v",
                       "t k=v junk", "t k=\"a\"b", "t k=a\"b",   "t k=\"a\\", "t k=v\x01",          "t k-y=1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_int_equal(read_all(bad[i], keys, values, 8), -1);
  /* A NUL byte inside the line. */
  assert_int_not_equal(ls_logfmt_begin(&r, "t k=a\0b", 7, time), 0);
  /* A value longer than its buffer. */
  assert_int_equal(ls_logfmt_begin(&r, "t k=abcdef", 10, time), 0);
  assert_int_equal(ls_logfmt_next(&r, key, value, 4), -EINVAL);
  /* An overlong line is refused. */
  char *big = malloc(LS_LOGFMT_LINE_MAX + 100);
  memset(big, 'a', LS_LOGFMT_LINE_MAX + 99);
  memcpy(big, "t k=", 4);
  big[LS_LOGFMT_LINE_MAX + 99] = '\0';
  assert_int_equal(ls_logfmt_begin(&r, big, strlen(big), time), -EINVAL);
  free(big);
}

static void numbers(void **state) {
  (void)state;
  uint64_t v;
  double d;
  assert_int_equal(ls_logfmt_u64("18446744073709551615", UINT64_MAX, &v), 0);
  assert_true(v == UINT64_MAX);
  assert_int_not_equal(ls_logfmt_u64("18446744073709551616", UINT64_MAX, &v), 0);
  assert_int_not_equal(ls_logfmt_u64("65536", 65535, &v), 0);
  const char *bad[] = {"", "-1", "+1", " 1", "1 ", "0x10", "1e3"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_int_not_equal(ls_logfmt_u64(bad[i], 100, &v), 0);
  assert_int_equal(ls_logfmt_decimal("1.500", &d), 0);
  assert_true(d == 1.5);
  const char *badd[] = {"", ".5", "5.", "1e308", "nan", "inf", "-1.0", "1.2.3", "1234567890123456789012345678901"};
  for (size_t i = 0; i < sizeof badd / sizeof badd[0]; i++) assert_int_not_equal(ls_logfmt_decimal(badd[i], &d), 0);
  char addr[16];
  uint16_t port;
  assert_int_equal(ls_logfmt_hostport("10.0.0.1:41771", addr, &port), 0);
  assert_string_equal(addr, "10.0.0.1");
  assert_int_equal(port, 41771);
  const char *badh[] = {"10.0.0.1", ":1", "10.0.0.1:", "10.0.0.1:65536", "host:1", "1.2.3.4.5:1", "::1:1"};
  for (size_t i = 0; i < sizeof badh / sizeof badh[0]; i++)
    assert_int_not_equal(ls_logfmt_hostport(badh[i], addr, &port), 0);
}

static void writer(void **state) {
  (void)state;
  char buf[64];
  ls_logfmt_writer_t w;
  ls_logfmt_start(&w, buf, sizeof buf, "T");
  ls_logfmt_add(&w, "n", "%d", 5);
  ls_logfmt_add(&w, NULL, ",%d", 6);
  ls_logfmt_add_quoted(&w, "q", "a\"b\\c\nd");
  assert_int_equal(ls_logfmt_end(&w), (int)strlen("T n=5,6 q=\"a\\\"b\\\\c?d\"\n"));
  assert_string_equal(buf, "T n=5,6 q=\"a\\\"b\\\\c?d\"\n");
  char small[8];
  ls_logfmt_start(&w, small, sizeof small, "T");
  ls_logfmt_add_quoted(&w, "q", "far too long");
  assert_int_equal(ls_logfmt_end(&w), -ENOSPC);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(pairs_and_quotes), cmocka_unit_test(numbers),
                                     cmocka_unit_test(writer)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
