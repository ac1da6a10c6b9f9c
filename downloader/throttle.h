/* throttle: the download speed limit (download_rate_limit, --limit-rate).
 * Chunk requests are paced by a virtual clock, as the server paces its
 * replies: a request of n bytes moves the clock n / rate seconds on, and
 * none goes while the clock is ahead of now. So the bytes asked for never
 * run ahead of the rate, whatever the number of peers. */
#ifndef THROTTLE_H
#define THROTTLE_H

#include <stdint.h>
#include <uv.h>

typedef struct {
  uv_timer_t timer;   /* wakes the requests up when the clock allows */
  uint64_t rate;      /* bytes/s; 0: no limit */
  double next_ms;     /* the virtual clock: when the next request may go */
  uv_timer_cb resume; /* called when requests may go again */
} throttle_t;

/* Sets it up on loop (the timer's data is data). */
void throttle_init(throttle_t *t, uv_loop_t *loop, uint64_t rate, uv_timer_cb resume, void *data);
/* A request of bytes may go now (1, and it is counted), or not yet (0: the
 * timer will call resume). */
int throttle_take(throttle_t *t, uint64_t bytes);
void throttle_close(throttle_t *t);

#endif
