#include "helpers.h"
#include "ls_round.h"

static void round_trip(void **state) {
  (void)state;
  static ls_round_t r, back;
  memset(&r, 0, sizeof r);
  char big[LS_ANNOUNCE_MAX_PAYLOAD];
  memset(big, 'x', sizeof big);
  assert_int_equal(ls_round_add(&r, "{\"a\":1}", 7), 0);
  assert_int_equal(ls_round_add(&r, big, sizeof big), 0);
  assert_int_equal(ls_round_add(&r, "", 0), -EMSGSIZE);
  assert_int_equal(ls_round_add(&r, big, sizeof big + 0), 0);
  assert_int_equal(ls_round_add(&r, "z", 1), 0);
  assert_int_equal(ls_round_add(&r, "z", 1), -ENOSPC);
  uint8_t buf[LS_ROUND_MAX_BYTES];
  int n = ls_round_render(&r, buf, sizeof buf);
  assert_int_equal(n, 2 + 7 + 2 * (2 + LS_ANNOUNCE_MAX_PAYLOAD) + 3);
  assert_int_equal(buf[0], 0);
  assert_int_equal(buf[1], 7);
  assert_int_equal(ls_round_parse(buf, (size_t)n, &back), 0);
  assert_int_equal(back.n, 4);
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(back.len[i], r.len[i]);
    assert_memory_equal(back.data[i], r.data[i], r.len[i]);
  }
  assert_int_equal(ls_round_render(&r, buf, 100), -ENOSPC);
}

static void hostile_files_are_refused(void **state) {
  (void)state;
  static ls_round_t r;
  const struct {
    const char *bytes;
    size_t len;
  } bad[] = {
      {"", 0},                       /* no datagram */
      {"\x00", 1},                   /* half a length */
      {"\x00\x00", 2},               /* an empty datagram */
      {"\x00\x05" "abc", 5},         /* cut short */
      {"\x00\x01" "a" "\x00", 4},    /* a stray byte after */
      {"\x05\x79", 2},               /* 1401 bytes claimed */
      {"\xff\xff" "a", 3},
      {"\x00\x01" "a\x00\x01" "b\x00\x01" "c\x00\x01" "d\x00\x01" "e", 15}, /* five datagrams */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (ls_round_parse((const uint8_t *)bad[i].bytes, bad[i].len, &r) == 0) fail_msg("accepted case %zu", i);
  assert_int_equal(ls_round_parse((const uint8_t *)"\x00\x01" "a\x00\x02" "bc", 7, &r), 0);
  assert_int_equal(r.n, 2);
  assert_int_equal(r.len[1], 2);
  memset(&r, 0, sizeof r);
  uint8_t buf[16];
  assert_int_equal(ls_round_render(&r, buf, sizeof buf), -EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(round_trip), cmocka_unit_test(hostile_files_are_refused)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
