#include "helpers.h"
#include "ls_net.h"

static void targets(void **state) {
  (void)state;
  struct sockaddr_in t[LS_NET_MAX_TARGETS];
  size_t n;
  assert_int_equal(ls_net_broadcast_targets("127.255.255.255", 5000, t, LS_NET_MAX_TARGETS, &n), 0);
  assert_int_equal(n, 1);
  char buf[32];
  uint16_t port;
  ls_net_addr_str((struct sockaddr *)&t[0], buf, sizeof buf, &port);
  assert_string_equal(buf, "127.255.255.255");
  assert_int_equal(port, 5000);
  assert_int_equal(ls_net_broadcast_targets("127.255.255.255, 127.0.0.1", 1, t, LS_NET_MAX_TARGETS, &n), 0);
  assert_int_equal(n, 2);
  assert_int_not_equal(ls_net_broadcast_targets("not-an-address", 1, t, LS_NET_MAX_TARGETS, &n), 0);
  assert_int_not_equal(ls_net_broadcast_targets("", 1, t, LS_NET_MAX_TARGETS, &n), 0);
  /* "auto" only computes addresses (nothing is sent): each is an
   * interface's address with the host bits set, never loopback. */
  if (ls_net_broadcast_targets("auto", 1, t, LS_NET_MAX_TARGETS, &n) == 0)
    for (size_t i = 0; i < n; i++) assert_int_not_equal((ntohl(t[i].sin_addr.s_addr) >> 24), 127);
}

static int got;
static void udp_alloc(uv_handle_t *h, size_t s, uv_buf_t *b) {
  static char buf[2048];
  (void)h;
  (void)s;
  *b = uv_buf_init(buf, sizeof buf);
}
static void udp_recv(uv_udp_t *u, ssize_t n, const uv_buf_t *b, const struct sockaddr *a, unsigned f) {
  (void)a;
  (void)f;
  if (n == 5 && memcmp(b->base, "hello", 5) == 0) got++;
  if (got == 2) uv_stop(u->loop);
}
static void guard_cb(uv_timer_t *t) {
  uv_stop(t->loop);
}

/* Two listeners share one port (SO_REUSEADDR) and both hear a loopback broadcast. */
static void shared_port_broadcast(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_udp_t a, b, s;
  int port = 20000 + (getpid() % 20000);
  assert_int_equal(ls_net_udp_open(&loop, &a, "0.0.0.0", port, 1 << 20), 0);
  assert_int_equal(ls_net_udp_open(&loop, &b, "0.0.0.0", port, 0), 0);
  assert_int_equal(ls_net_udp_open(&loop, &s, "0.0.0.0", 0, 0), 0);
  uv_udp_recv_start(&a, udp_alloc, udp_recv);
  uv_udp_recv_start(&b, udp_alloc, udp_recv);
  struct sockaddr_in dst;
  assert_int_equal(ls_net_ipv4("127.255.255.255", port, &dst), 0);
  uv_buf_t msg = uv_buf_init("hello", 5);
  assert_int_equal(uv_udp_try_send(&s, &msg, 1, (struct sockaddr *)&dst), 5);
  uv_timer_t guard;
  uv_timer_init(&loop, &guard);
  uv_timer_start(&guard, guard_cb, 3000, 0);
  got = 0;
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(got, 2);
  uv_close((uv_handle_t *)&a, NULL);
  uv_close((uv_handle_t *)&b, NULL);
  uv_close((uv_handle_t *)&s, NULL);
  uv_close((uv_handle_t *)&guard, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(targets), cmocka_unit_test(shared_port_broadcast)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
