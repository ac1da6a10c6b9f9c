#include "helpers.h"
#include "scheduler.h"

static void sequential_when_all_complete(void **state) {
  (void)state;
  sched_t s;
  uint8_t done[6] = {1, 0, 0, 1, 0, 0};
  assert_int_equal(sched_init(&s, 6, done), 0);
  sched_peer_add(&s, NULL);
  assert_int_equal(sched_pick(&s, NULL, NULL, 0), 1);
  sched_start(&s, 1);
  assert_int_equal(sched_pick(&s, NULL, NULL, 0), 2);
  assert_int_equal(sched_complete(&s, 1), 1);
  assert_int_equal(sched_complete(&s, 1), 0); /* a second copy counts once */
  assert_int_equal(s.ndone, 3);
  sched_close(&s);
}

static void rarest_first(void **state) {
  (void)state;
  sched_t s;
  assert_int_equal(sched_init(&s, 4, NULL), 0);
  uint8_t p1[4] = {1, 1, 1, 1}, p2[4] = {1, 1, 0, 1}, p3[4] = {1, 0, 0, 1};
  sched_peer_add(&s, p1);
  sched_peer_add(&s, p2);
  sched_peer_add(&s, p3);
  /* Chunk 2 is held by p1 alone: p1 fetches it first. */
  assert_int_equal(sched_pick(&s, p1, NULL, 0), 2);
  sched_start(&s, 2);
  /* Then chunk 1 (two holders) before 0 and 3 (three). */
  assert_int_equal(sched_pick(&s, p1, NULL, 0), 1);
  /* p3 holds neither rare chunk: it gets a common one. */
  assert_int_equal(sched_pick(&s, p3, NULL, 0), 0);
  sched_close(&s);
}

static void endgame_and_unavailable(void **state) {
  (void)state;
  sched_t s;
  assert_int_equal(sched_init(&s, 2, NULL), 0);
  sched_peer_add(&s, NULL);
  sched_peer_add(&s, NULL);
  sched_start(&s, 0);
  sched_start(&s, 1);
  uint32_t mine[1] = {0};
  /* A busy peer does not duplicate; an idle one races the least raced chunk. */
  assert_int_equal(sched_pick(&s, NULL, mine, 1), -1);
  assert_int_equal(sched_pick(&s, NULL, NULL, 0), 0);
  sched_start(&s, 0);
  assert_int_equal(sched_pick(&s, NULL, NULL, 0), 1);
  sched_start(&s, 1);
  assert_int_equal(sched_pick(&s, NULL, NULL, 0), -1); /* at most SCHED_ENDGAME_DUP copies */
  sched_close(&s);

  /* A reply being verified is not raced: one source never asks twice. */
  assert_int_equal(sched_init(&s, 2, NULL), 0);
  sched_peer_add(&s, NULL);
  sched_start(&s, 0);
  sched_start(&s, 1);
  sched_checking(&s, 0);
  sched_checking(&s, 1);
  assert_int_equal(sched_pick(&s, NULL, NULL, 0), -1);
  /* One failed its check: missing again, asked for again. */
  sched_rejected(&s, 1);
  assert_int_equal(sched_pick(&s, NULL, NULL, 0), 1);
  assert_int_equal(sched_complete(&s, 0), 1);
  assert_int_equal(s.checking[0], 0);
  assert_int_equal(s.inflight[0], 0);
  sched_close(&s);

  assert_int_equal(sched_init(&s, 3, NULL), 0);
  uint8_t part[3] = {1, 0, 1};
  sched_peer_add(&s, part);
  assert_int_equal(sched_unavailable(&s), 1);
  sched_peer_lost(&s, part, 0);
  assert_int_equal(sched_unavailable(&s), 0);
  sched_peer_remove(&s, part);
  sched_peer_add(&s, NULL);
  assert_int_equal(sched_unavailable(&s), -1);
  sched_close(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(sequential_when_all_complete), cmocka_unit_test(rarest_first),
                                     cmocka_unit_test(endgame_and_unavailable)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
