#include "answer_limit.h"
#include "helpers.h"

static void one_per_source_per_two_seconds(void **state) {
  (void)state;
  static answer_limit_t al;
  answer_limit_init(&al);
  uint64_t t = 10000;
  assert_int_equal(answer_limit_allow(&al, "10.0.0.1", t), 1);
  /* A flood from one source: nothing more for 2 s. */
  for (int i = 0; i < 500; i++) assert_int_equal(answer_limit_allow(&al, "10.0.0.1", t + (uint64_t)i * 3), 0);
  assert_int_equal(answer_limit_allow(&al, "10.0.0.2", t + 1), 1);
  assert_int_equal(answer_limit_allow(&al, "10.0.0.1", t + 1999), 0);
  assert_int_equal(answer_limit_allow(&al, "10.0.0.1", t + 2000), 1);
  assert_int_equal(al.refused, 501);
}

static void fifty_per_second_in_all(void **state) {
  (void)state;
  static answer_limit_t al;
  answer_limit_init(&al);
  char addr[32];
  int allowed = 0;
  for (int i = 0; i < 200; i++) {
    snprintf(addr, sizeof addr, "10.0.%d.%d", i / 256, i % 256);
    allowed += answer_limit_allow(&al, addr, 5000 + (uint64_t)i); /* all within 200 ms */
  }
  assert_int_equal(allowed, ANSWER_LIMIT_PER_SECOND);
  /* The next second has a new budget, but not for the sources answered lately. */
  assert_int_equal(answer_limit_allow(&al, "10.0.0.0", 6000), 0);
  assert_int_equal(answer_limit_allow(&al, "10.0.0.199", 6000), 1);
}

static void the_ring_is_bounded(void **state) {
  (void)state;
  static answer_limit_t al;
  answer_limit_init(&al);
  char addr[32];
  /* 3000 sources over a minute: the ring holds the last 1024, oldest overwritten. */
  for (int i = 0; i < 3000; i++) {
    snprintf(addr, sizeof addr, "10.1.%d.%d", i / 256, i % 256);
    assert_int_equal(answer_limit_allow(&al, addr, 100000 + (uint64_t)i * 20), 1);
  }
  assert_int_equal(al.count, ANSWER_LIMIT_SOURCES);
  /* The newest is still remembered, an old one answered again. */
  assert_int_equal(answer_limit_allow(&al, addr, 100000 + 3000 * 20), 0);
  assert_int_equal(answer_limit_allow(&al, "10.1.0.0", 100000 + 3000 * 20 + 20), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(one_per_source_per_two_seconds),
                                     cmocka_unit_test(fifty_per_second_in_all), cmocka_unit_test(the_ring_is_bounded)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
