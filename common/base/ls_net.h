/* ls_net: the libuv socket, address and signal set-up the daemons share. */
#ifndef LS_NET_H
#define LS_NET_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define LS_NET_MAX_TARGETS 16
#define LS_NET_ADDR_MAX 64 /* an address as text: IPv6 with "%ifname", and NUL */
#define LS_NET_ENDPOINT_MAX (LS_NET_ADDR_MAX + 8) /* "[addr]:port" and NUL */
#define LS_NET_GROUP4 "239.255.41.70" /* multicast = auto (IPv4, organisation-local scope) */
#define LS_NET_GROUP6 "ff12::4177"    /* multicast6 = auto (IPv6, transient, link-local scope) */
#define LS_NET_PEERS_MAX 8           /* entries of `peers` */

/* How a datagram reached the listener, from its destination address. */
typedef enum { LS_VIA_BROADCAST = 1, LS_VIA_MULTICAST = 2, LS_VIA_UNICAST = 3 } ls_via_t;
const char *ls_via_name(ls_via_t via);

/* Parses a dotted IPv4 address. 0 or UV_EINVAL. */
int ls_net_ipv4(const char *addr, int port, struct sockaddr_in *out);
/* Parses "a.b.c.d:port" (port 1-65535). 0 or UV_EINVAL. */
int ls_net_parse_hostport(const char *text, struct sockaddr_in *out);
/* The address of sa as text and its port: "a.b.c.d" for IPv4 (also for an
 * IPv4-mapped IPv6 address), the IPv6 text otherwise, with "%ifname" for a
 * link-local one; buf >= LS_NET_ADDR_MAX bytes. */
void ls_net_addr_str(const struct sockaddr *sa, char *buf, size_t len, uint16_t *port);
/* The reverse: "a.b.c.d" or an IPv6 address with an optional "%ifname" (only
 * link-local ones; the interface must exist) and a port. 0 or UV_EINVAL. */
int ls_net_addr_parse(const char *addr, int port, struct sockaddr_storage *out);
/* Whether addr is what ls_net_addr_str writes (dotted IPv4, or canonical
 * lowercase IPv6 with a well-formed scope only when link-local). */
int ls_net_addr_valid(const char *addr, size_t len);
/* An endpoint as tags.txt and peers.txt write it: "a.b.c.d:port", or
 * "[v6addr%ifname]:port" for IPv6. Returns the length, or UV_ENOSPC. */
int ls_net_endpoint_format(const char *addr, unsigned port, char *buf, size_t len);
/* Splits such an endpoint strictly (brackets for IPv6 only, port 1-65535, no
 * spaces): addr (without brackets; addrlen >= LS_NET_ADDR_MAX) and port. */
int ls_net_endpoint_parse(const char *text, size_t len, char *addr, size_t addrlen, uint16_t *port);
/* One entry of `peers`: HOST, HOST:PORT, [V6] or [V6]:PORT, or a bare IPv6
 * address; PORT defaults to defport. host >= 256 bytes. 0 or UV_EINVAL. */
int ls_net_peer_parse(const char *text, int defport, char *host, size_t hostlen, int *port);

/* Where announcements go: "auto" means the directed broadcast address of
 * every up, non-loopback IPv4 interface; otherwise a comma-separated list. */
int ls_net_broadcast_targets(const char *spec, int port, struct sockaddr_in *out, size_t max, size_t *n);

/* Where one announcement goes: a broadcast address, a multicast group (sent
 * out of interface ifindex) or a peer by hand (unicast). */
typedef struct {
  struct sockaddr_storage addr;
  ls_via_t via;
  unsigned ifindex; /* multicast: the interface to send on; 0 otherwise */
} ls_net_target_t;

typedef struct {
  ls_net_target_t t[LS_NET_MAX_TARGETS * 2];
  size_t n;
} ls_net_targets_t;

/* The broadcast and multicast targets of the `broadcast`, `multicast`
 * (auto|off|GROUP[,GROUP]) and `multicast6` (auto|off|GROUP) keys: multicast
 * auto means the group when broadcast is auto, and off when it lists
 * addresses; groups go out of every up, non-loopback interface of their
 * family. 0 or UV_EINVAL / UV_E2BIG / UV_ENETUNREACH (no target at all). */
int ls_net_targets_build(const char *broadcast, const char *multicast, const char *multicast6, int port,
                         ls_net_targets_t *out);
/* The IPv4 multicast groups and the IPv6 one that the keys ask for (the
 * listener joins them): n4 and n6 may be 0. 0 or UV_EINVAL. */
int ls_net_groups(const char *broadcast, const char *multicast, const char *multicast6, struct in_addr *g4,
                  size_t max4, size_t *n4, struct in6_addr *g6, size_t *n6);
/* Appends a target unless it is there already; UV_E2BIG when full. */
int ls_net_targets_add(ls_net_targets_t *ts, const struct sockaddr *sa, ls_via_t via, unsigned ifindex);

/* Sockets to send to targets from, on an ephemeral port, broadcast allowed,
 * multicast with TTL (hop limit) 1 and looped back. */
typedef struct {
  uv_udp_t udp4;
  uv_udp_t udp6;
  int has4, has6;
} ls_net_sender_t;
/* The announcer's: IPv4 always, IPv6 when the host has it. */
int ls_net_sender_open(uv_loop_t *loop, ls_net_sender_t *s);
/* Bound to addr, as the listener binds listen_addr: "0.0.0.0" gives IPv4 and,
 * where the host has it, IPv6 ("::"); another address its family only. A
 * receive buffer of at least rcvbuf where allowed (0: the system's), so that
 * answers can come back to them (uv_udp_recv_start on udp4 if has4, udp6 if
 * has6). 0 or a negative error code; close it either way. */
int ls_net_sender_open_at(uv_loop_t *loop, ls_net_sender_t *s, const char *addr, int rcvbuf);
/* uv_udp_try_send to one target (the multicast interface set first);
 * UV_EAFNOSUPPORT for a family without a socket. */
int ls_net_sender_send(ls_net_sender_t *s, const ls_net_target_t *t, const char *buf, size_t len);
void ls_net_sender_close(ls_net_sender_t *s);

/* A UDP socket bound to addr:port with SO_REUSEADDR (several listeners on
 * one host share the port), broadcast allowed, and a receive buffer of at
 * least rcvbuf bytes where the system allows. */
int ls_net_udp_open(uv_loop_t *loop, uv_udp_t *udp, const char *addr, int port, int rcvbuf);
/* The listener's receiving side (uv_udp_recv does not report a datagram's
 * destination address, which tells broadcast, multicast and unicast apart,
 * so the listener polls a plain socket and calls ls_net_recv).
 * A non-blocking UDP socket bound to addr:port (IPv4 or IPv6; an IPv6 one is
 * IPv6-only unless addr is "::" and dual is set), SO_REUSEADDR, broadcast
 * allowed, destination addresses reported (IP_PKTINFO / IPV6_RECVPKTINFO),
 * a receive buffer of at least rcvbuf where allowed. The fd, or a negative
 * error code. */
int ls_net_udp_recv_socket(const char *addr, int port, int rcvbuf, int dual);
/* One datagram into buf, with its source and destination addresses (the
 * destination's port is 0). Its length; UV_EAGAIN when none waits;
 * UV_EMSGSIZE when it was longer than len (and is dropped). */
ssize_t ls_net_recv(int fd, char *buf, size_t len, struct sockaddr_storage *src, struct sockaddr_storage *dst);
/* Joins the groups on every up, non-loopback interface of their family
 * (fd's family: IPv4 groups on an IPv4 socket, the IPv6 one on an IPv6
 * socket). Returns how many joins succeeded. */
int ls_net_join_groups(int fd, int family, const struct in_addr *g4, size_t n4, const struct in6_addr *g6, size_t n6);

/* The addresses a datagram counts as broadcast at: the configured ones, every
 * interface's directed broadcast address, and 255.255.255.255. */
typedef struct {
  struct in_addr a[LS_NET_MAX_TARGETS * 2 + 1];
  size_t n;
} ls_net_bcast_set_t;
void ls_net_bcast_set(const char *broadcast, ls_net_bcast_set_t *out);
/* How a datagram sent to dst arrived: a multicast group, one of the
 * broadcast addresses, else unicast (IPv4-mapped destinations count as IPv4). */
ls_via_t ls_net_classify(const struct sockaddr *dst, const ls_net_bcast_set_t *b);

/* A listening TCP socket on an IPv4 or IPv6 address ("::" is dual-stack);
 * port 0 picks one (read it back with ls_net_tcp_port). */
int ls_net_tcp_listen(uv_loop_t *loop, uv_tcp_t *tcp, const char *addr, int port, int backlog, uv_connection_cb cb);
int ls_net_tcp_port(uv_tcp_t *tcp);
/* ls_net_tcp_listen on the default listen_addr "0.0.0.0": dual stack on "::"
 * where the host has IPv6, else (or when that port is taken for IPv6 only)
 * 0.0.0.0 as before. Other addresses as given. */
int ls_net_tcp_listen_default(uv_loop_t *loop, uv_tcp_t *tcp, const char *addr, int port, int backlog,
                              uv_connection_cb cb);
/* Whether this host can open an IPv6 socket. */
int ls_net_ipv6_usable(void);

/* SIGINT and SIGTERM call cb once each time; SIGPIPE is ignored. */
typedef struct ls_signals_s ls_signals_t;
typedef void (*ls_signals_cb)(ls_signals_t *s, int signum);
struct ls_signals_s {
  uv_signal_t sigint;
  uv_signal_t sigterm;
  ls_signals_cb cb;
  void *data;
};
int ls_signals_init(uv_loop_t *loop, ls_signals_t *s, ls_signals_cb cb, void *data);
void ls_signals_close(ls_signals_t *s);

#endif
