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

/* Endpoints as tags.txt writes them: format and parse are inverses. */
static void endpoints(void **state) {
  (void)state;
  const char *addrs[] = {"198.18.0.1", "fd00::1", "fe80::1%lo", "2001:db8::42", "fe80::a:b:c:d%eth0"};
  const char *texts[] = {"198.18.0.1:41771", "[fd00::1]:41771", "[fe80::1%lo]:41771", "[2001:db8::42]:41771",
                         "[fe80::a:b:c:d%eth0]:41771"};
  for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
    char buf[LS_NET_ENDPOINT_MAX], addr[LS_NET_ADDR_MAX];
    uint16_t port = 0;
    assert_true(ls_net_endpoint_format(addrs[i], 41771, buf, sizeof buf) > 0);
    assert_string_equal(buf, texts[i]);
    assert_int_equal(ls_net_endpoint_parse(buf, strlen(buf), addr, sizeof addr, &port), 0);
    assert_string_equal(addr, addrs[i]);
    assert_int_equal(port, 41771);
  }
  const char *bad[] = {"", ":", "198.18.0.1", "198.18.0.1:", "198.18.0.1:0", "198.18.0.1:65536", "198.18.0.1:01",
                       "198.18.0.1: 1", "[198.18.0.1]:1", "fd00::1:41771", "[fd00::1]", "[fd00::1]41771",
                       "[fd00::1]:", "[FD00::1]:1", "[fd00:0::1]:1", "[fd00::1%eth0]:1", "[fe80::1%]:1",
                       "[fe80::1%a b]:1", "[fe80::1%eth0/x]:1", "[::ffff:1.2.3.4]:1", "host:1", "[fe80::1]]:1",
                       "[fe80::1%averyveryverylongname]:1", "1.2.3.4:1x", "[:1", "]:1", "1.2.3.4:+1"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char addr[LS_NET_ADDR_MAX];
    uint16_t port;
    if (ls_net_endpoint_parse(bad[i], strlen(bad[i]), addr, sizeof addr, &port) == 0) fail_msg("accepted '%s'", bad[i]);
  }
  /* A NUL inside the text is refused too. */
  char addr[LS_NET_ADDR_MAX];
  uint16_t port;
  assert_int_not_equal(ls_net_endpoint_parse("1.2.3.4\0:1", 9, addr, sizeof addr, &port), 0);
}

/* sockaddr <-> text: IPv4-mapped addresses print dotted, link-local ones with their interface. */
static void addr_text(void **state) {
  (void)state;
  struct sockaddr_storage ss;
  char buf[LS_NET_ADDR_MAX];
  uint16_t port;
  assert_int_equal(ls_net_addr_parse("fe80::1%lo", 7, &ss), 0);
  ls_net_addr_str((struct sockaddr *)&ss, buf, sizeof buf, &port);
  assert_string_equal(buf, "fe80::1%lo");
  assert_int_equal(port, 7);
  assert_int_equal(ls_net_addr_parse("::ffff:198.18.0.9", 9, &ss), UV_EINVAL); /* not canonical for us */
  struct sockaddr_in6 m;
  assert_int_equal(uv_ip6_addr("::ffff:198.18.0.9", 9, &m), 0);
  ls_net_addr_str((struct sockaddr *)&m, buf, sizeof buf, &port);
  assert_string_equal(buf, "198.18.0.9");
  assert_int_equal(ls_net_addr_parse("198.18.0.1", 1, &ss), 0);
  assert_int_equal(ss.ss_family, AF_INET);
  assert_int_not_equal(ls_net_addr_parse("fe80::1%no-such-if0", 1, &ss), 0);
  assert_int_not_equal(ls_net_addr_parse("fd00::1%lo", 1, &ss), 0); /* scope only for link-local */
}

/* `peers` entries. */
static void peer_entries(void **state) {
  (void)state;
  struct {
    const char *text, *host;
    int port;
  } good[] = {{"host", "host", 41770},       {"host:5000", "host", 5000},         {"198.18.0.2", "198.18.0.2", 41770},
              {"198.18.0.2:9", "198.18.0.2", 9}, {"[fd00::2]:9", "fd00::2", 9},   {"[fe80::2%eth0]", "fe80::2%eth0", 41770},
              {"fd00::2", "fd00::2", 41770},  {"peer-1.lan", "peer-1.lan", 41770}};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    char host[256];
    int port;
    assert_int_equal(ls_net_peer_parse(good[i].text, 41770, host, sizeof host, &port), 0);
    assert_string_equal(host, good[i].host);
    assert_int_equal(port, good[i].port);
  }
  const char *bad[] = {"", ":1", "host:", "host:0", "host:70000", "[fd00::2", "[fd00::2]x", "[host]:1", "a b",
                       "host:1:", "ho\tst", "[]:1", "host;rm", "host:1x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char host[256];
    int port;
    if (ls_net_peer_parse(bad[i], 41770, host, sizeof host, &port) == 0) fail_msg("accepted '%s'", bad[i]);
  }
}

/* Target lists from the keys: multicast auto stays off with an explicit
 * broadcast list (nothing here sends anything). */
static void target_lists(void **state) {
  (void)state;
  ls_net_targets_t ts;
  assert_int_equal(ls_net_targets_build("127.255.255.255", "auto", "auto", 5000, &ts), 0);
  assert_int_equal(ts.n, 1);
  assert_int_equal(ts.t[0].via, LS_VIA_BROADCAST);
  assert_int_equal(ls_net_targets_build("127.255.255.255", "off", "off", 5000, &ts), 0);
  assert_int_equal(ts.n, 1);
  assert_int_equal(ls_net_targets_build("off", "off", "off", 5000, &ts), UV_ENETUNREACH);
  assert_int_equal(ls_net_targets_build("127.255.255.255", "198.18.0.1", "off", 5000, &ts), UV_EINVAL);
  assert_int_equal(ls_net_targets_build("127.255.255.255", "off", "fd00::1", 5000, &ts), UV_EINVAL);
  assert_int_equal(ls_net_targets_build("127.255.255.255", "239.1.2.3,", "off", 5000, &ts) == 0 ||
                       ls_net_targets_build("127.255.255.255", "239.1.2.3,", "off", 5000, &ts) == UV_ENETUNREACH,
                   1);
  assert_int_equal(ls_net_targets_build("127.255.255.255", ",", "off", 5000, &ts), UV_EINVAL);
  assert_int_equal(ls_net_targets_build("127.255.255.255", "garbage", "off", 5000, &ts), UV_EINVAL);
  /* Groups: explicit, or the defaults only with broadcast = auto. */
  struct in_addr g4[4];
  struct in6_addr g6;
  size_t n4, n6;
  assert_int_equal(ls_net_groups("127.255.255.255", "auto", "auto", g4, 4, &n4, &g6, &n6), 0);
  assert_int_equal(n4 + n6, 0);
  assert_int_equal(ls_net_groups("auto", "auto", "auto", g4, 4, &n4, &g6, &n6), 0);
  assert_int_equal(n4, 1);
  assert_int_equal(n6, 1);
  assert_int_equal(ntohl(g4[0].s_addr), 0xEFFF2946u); /* 239.255.41.70 */
  assert_int_equal(g6.s6_addr[0], 0xff);
  assert_int_equal(g6.s6_addr[1], 0x12);
  assert_int_equal(ls_net_groups("off", "239.1.1.1, 239.2.2.2", "ff12::1", g4, 4, &n4, &g6, &n6), 0);
  assert_int_equal(n4, 2);
  assert_int_equal(n6, 1);
  assert_int_equal(ls_net_groups("off", "239.1.1.1,239.1.1.2,239.1.1.3,239.1.1.4,239.1.1.5", "off", g4, 4, &n4,
                                 &g6, &n6),
                   UV_E2BIG);
  /* Duplicates are kept once. */
  memset(&ts, 0, sizeof ts);
  struct sockaddr_in a;
  uv_ip4_addr("198.18.0.1", 1, &a);
  assert_int_equal(ls_net_targets_add(&ts, (struct sockaddr *)&a, LS_VIA_UNICAST, 0), 0);
  assert_int_equal(ls_net_targets_add(&ts, (struct sockaddr *)&a, LS_VIA_UNICAST, 0), 0);
  assert_int_equal(ts.n, 1);
  assert_string_equal(ls_via_name(LS_VIA_MULTICAST), "multicast");
}

/* ls_net_recv on a non-blocking socket, waiting up to a second for a datagram. */
static ssize_t recv_wait(int fd, char *buf, size_t len, struct sockaddr_storage *dst) {
  struct sockaddr_storage src;
  ssize_t n = UV_EAGAIN;
  for (int tries = 0; tries < 200 && n == UV_EAGAIN; tries++) {
    n = ls_net_recv(fd, buf, len, &src, dst);
    if (n == UV_EAGAIN) usleep(5000);
  }
  return n;
}

/* The listener's socket tells a loopback broadcast from a unicast datagram
 * by the destination address recvmsg reports. */
static void classify_loopback(void **state) {
  (void)state;
  int port = 20000 + ((getpid() + 7) % 20000);
  int fd = ls_net_udp_recv_socket("0.0.0.0", port, 0, 0);
  assert_true(fd >= 0);
  ls_net_bcast_set_t b;
  ls_net_bcast_set("127.255.255.255", &b);
  int s = socket(AF_INET, SOCK_DGRAM, 0), on = 1;
  setsockopt(s, SOL_SOCKET, SO_BROADCAST, &on, sizeof on);
  const char *to[] = {"127.255.255.255", "127.0.0.1"};
  ls_via_t want[] = {LS_VIA_BROADCAST, LS_VIA_UNICAST};
  for (int i = 0; i < 2; i++) {
    struct sockaddr_in dst;
    uv_ip4_addr(to[i], port, &dst);
    assert_int_equal(sendto(s, "hi", 2, 0, (struct sockaddr *)&dst, sizeof dst), 2);
    char buf[16];
    struct sockaddr_storage got_dst;
    assert_int_equal(recv_wait(fd, buf, sizeof buf, &got_dst), 2);
    assert_int_equal(ls_net_classify((struct sockaddr *)&got_dst, &b), want[i]);
  }
  /* Longer than the buffer: reported, not cut short silently. */
  struct sockaddr_in dst;
  uv_ip4_addr("127.0.0.1", port, &dst);
  sendto(s, "0123456789abcdefXYZ", 19, 0, (struct sockaddr *)&dst, sizeof dst);
  char small[16];
  struct sockaddr_storage got_dst;
  assert_int_equal(recv_wait(fd, small, sizeof small, &got_dst), UV_EMSGSIZE);
  close(s);
  close(fd);
  /* Groups and mapped addresses, without a socket. */
  struct sockaddr_in6 m6;
  uv_ip6_addr("ff12::4177", 0, &m6);
  assert_int_equal(ls_net_classify((struct sockaddr *)&m6, &b), LS_VIA_MULTICAST);
  uv_ip6_addr("::ffff:127.255.255.255", 0, &m6);
  assert_int_equal(ls_net_classify((struct sockaddr *)&m6, &b), LS_VIA_BROADCAST);
  uv_ip6_addr("fe80::1", 0, &m6);
  assert_int_equal(ls_net_classify((struct sockaddr *)&m6, &b), LS_VIA_UNICAST);
  struct sockaddr_in g;
  uv_ip4_addr("239.255.41.70", 0, &g);
  assert_int_equal(ls_net_classify((struct sockaddr *)&g, &b), LS_VIA_MULTICAST);
  uv_ip4_addr("255.255.255.255", 0, &g);
  assert_int_equal(ls_net_classify((struct sockaddr *)&g, &b), LS_VIA_BROADCAST);
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

/* A sender bound where the listener binds: the family of the address only,
 * both with the default one where the host has IPv6; a datagram to a family
 * without a socket is refused, not sent from a wrong one. */
static void sender_at(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  ls_net_sender_t s4, any, s6, bad; /* a closed handle is freed at the loop's next turn: one each */
  ls_net_target_t t4 = {.via = LS_VIA_UNICAST}, t6 = {.via = LS_VIA_UNICAST};
  uv_ip4_addr("127.0.0.1", 9, (struct sockaddr_in *)&t4.addr);
  uv_ip6_addr("::1", 9, (struct sockaddr_in6 *)&t6.addr);
  assert_int_equal(ls_net_sender_open_at(&loop, &s4, "127.0.0.1", 1 << 16), 0);
  assert_true(s4.has4 && !s4.has6);
  assert_int_equal(ls_net_sender_send(&s4, &t6, "x", 1), UV_EAFNOSUPPORT);
  assert_int_equal(ls_net_sender_send(&s4, &t4, "x", 1), 1);
  ls_net_sender_close(&s4);
  assert_int_equal(ls_net_sender_open_at(&loop, &any, "0.0.0.0", 0), 0);
  assert_true(any.has4 && any.has6 == ls_net_ipv6_usable());
  ls_net_sender_close(&any);
  if (ls_net_ipv6_usable()) {
    assert_int_equal(ls_net_sender_open_at(&loop, &s6, "::1", 0), 0);
    assert_true(!s6.has4 && s6.has6);
    assert_int_equal(ls_net_sender_send(&s6, &t4, "x", 1), UV_EAFNOSUPPORT);
    assert_int_equal(ls_net_sender_send(&s6, &t6, "x", 1), 1);
    ls_net_sender_close(&s6);
  }
  assert_int_not_equal(ls_net_sender_open_at(&loop, &bad, "not an address", 0), 0);
  ls_net_sender_close(&bad);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(targets),        cmocka_unit_test(shared_port_broadcast),
                                     cmocka_unit_test(endpoints),      cmocka_unit_test(addr_text),
                                     cmocka_unit_test(peer_entries),   cmocka_unit_test(target_lists),
                                     cmocka_unit_test(classify_loopback), cmocka_unit_test(sender_at)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
