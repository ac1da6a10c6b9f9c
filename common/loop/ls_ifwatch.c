#include "ls_ifwatch.h"

#include <string.h>

static uint64_t fnv1a(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

uint64_t ls_ifwatch_signature(void) {
  uv_interface_address_t *ifs;
  int n;
  if (uv_interface_addresses(&ifs, &n) != 0) return 0;
  uint64_t sig = (uint64_t)n;
  for (int i = 0; i < n; i++) {
    uint64_t h = fnv1a(14695981039346656037ull, ifs[i].name, strlen(ifs[i].name));
    h = fnv1a(h, &ifs[i].address, sizeof ifs[i].address);
    h = fnv1a(h, &ifs[i].netmask, sizeof ifs[i].netmask);
    sig += h; /* a sum: the order the system lists them in does not count */
  }
  uv_free_interface_addresses(ifs, n);
  return sig;
}

static void timer_cb(uv_timer_t *t) {
  ls_ifwatch_t *w = t->data;
  uint64_t sig = ls_ifwatch_signature();
  if (sig == w->sig) return;
  w->sig = sig;
  w->cb(w, w->data);
}

void ls_ifwatch_init(uv_loop_t *loop, ls_ifwatch_t *w, ls_ifwatch_cb cb, void *data) {
  memset(w, 0, sizeof *w);
  uv_timer_init(loop, &w->timer);
  w->timer.data = w;
  w->cb = cb;
  w->data = data;
}

void ls_ifwatch_start(ls_ifwatch_t *w, uint64_t period_ms) {
  w->sig = ls_ifwatch_signature();
  uv_timer_start(&w->timer, timer_cb, period_ms, period_ms);
}

void ls_ifwatch_close(ls_ifwatch_t *w) {
  uv_close((uv_handle_t *)&w->timer, NULL);
}
