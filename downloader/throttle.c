#include "throttle.h"

void throttle_init(throttle_t *t, uv_loop_t *loop, uint64_t rate, uv_timer_cb resume, void *data) {
  uv_timer_init(loop, &t->timer);
  t->timer.data = data;
  t->rate = rate;
  t->next_ms = 0;
  t->resume = resume;
}

int throttle_take(throttle_t *t, uint64_t bytes) {
  if (t->rate == 0) return 1;
  double now = (double)uv_now(t->timer.loop);
  if (t->next_ms < now) t->next_ms = now; /* no credit saved up while idle */
  if (t->next_ms > now) {
    if (!uv_is_active((uv_handle_t *)&t->timer))
      uv_timer_start(&t->timer, t->resume, (uint64_t)(t->next_ms - now) + 1, 0);
    return 0;
  }
  t->next_ms += (double)bytes * 1000.0 / (double)t->rate;
  return 1;
}

void throttle_close(throttle_t *t) {
  if (!uv_is_closing((uv_handle_t *)&t->timer)) uv_close((uv_handle_t *)&t->timer, NULL);
}
