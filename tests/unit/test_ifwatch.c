#include "helpers.h"
#include "ls_ifwatch.h"

static int changes;

static void on_change(ls_ifwatch_t *w, void *data) {
  (void)w;
  (*(int *)data)++;
}

static void stop_cb(uv_timer_t *t) {
  uv_stop(t->loop);
}

/* Runs the loop for ms milliseconds. */
static void run_for(uv_loop_t *loop, uv_timer_t *guard, uint64_t ms) {
  uv_timer_start(guard, stop_cb, ms, 0);
  uv_run(loop, UV_RUN_DEFAULT);
}

/* The same interfaces, the same signature, and no callback; a signature
 * that differs from the last look calls back once, then no more. */
static void calls_back_on_a_change_only(void **state) {
  (void)state;
  assert_int_equal(ls_ifwatch_signature(), ls_ifwatch_signature());
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_timer_t guard;
  uv_timer_init(&loop, &guard);
  ls_ifwatch_t w;
  changes = 0;
  ls_ifwatch_init(&loop, &w, on_change, &changes);
  ls_ifwatch_start(&w, 10);
  assert_int_equal(w.sig, ls_ifwatch_signature());
  run_for(&loop, &guard, 60);
  assert_int_equal(changes, 0);
  w.sig ^= 1; /* as if the interfaces had looked otherwise at the last look */
  run_for(&loop, &guard, 60);
  assert_int_equal(changes, 1);
  assert_int_equal(w.sig, ls_ifwatch_signature());
  ls_ifwatch_close(&w);
  uv_close((uv_handle_t *)&guard, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(calls_back_on_a_change_only)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
