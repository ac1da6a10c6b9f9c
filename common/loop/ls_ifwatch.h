/* ls_ifwatch: tells when the machine's network interfaces change (one comes
 * up or goes down, gains or loses an address), so that a peer whose cable
 * comes back, or whose laptop joins a network, asks and announces at once
 * instead of at its next round. Polls uv_interface_addresses (up and
 * running interfaces with their addresses) every LS_IFWATCH_MS: portable,
 * and one getifaddrs each time. */
#ifndef LS_IFWATCH_H
#define LS_IFWATCH_H

#include <stdint.h>
#include <uv.h>

#define LS_IFWATCH_MS 500

typedef struct ls_ifwatch_s ls_ifwatch_t;
/* The interfaces differ from the last look. */
typedef void (*ls_ifwatch_cb)(ls_ifwatch_t *w, void *data);

struct ls_ifwatch_s {
  uv_timer_t timer;
  uint64_t sig; /* what they looked like (ls_ifwatch_signature) */
  ls_ifwatch_cb cb;
  void *data;
};

/* A signature of the up interfaces: names, addresses and masks, whatever
 * order the system lists them in; 0 when they cannot be read. */
uint64_t ls_ifwatch_signature(void);
void ls_ifwatch_init(uv_loop_t *loop, ls_ifwatch_t *w, ls_ifwatch_cb cb, void *data);
/* Takes the interfaces as they are now, then compares every period_ms. */
void ls_ifwatch_start(ls_ifwatch_t *w, uint64_t period_ms);
void ls_ifwatch_close(ls_ifwatch_t *w);

#endif
