/* ls_net: the libuv socket, address and signal set-up the daemons share. */
#ifndef LS_NET_H
#define LS_NET_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define LS_NET_MAX_TARGETS 16

/* Parses a dotted IPv4 address. 0 or UV_EINVAL. */
int ls_net_ipv4(const char *addr, int port, struct sockaddr_in *out);
/* Parses "a.b.c.d:port" (port 1-65535). 0 or UV_EINVAL. */
int ls_net_parse_hostport(const char *text, struct sockaddr_in *out);
/* "a.b.c.d" and port of an IPv4 sockaddr; buf >= 16 bytes. */
void ls_net_addr_str(const struct sockaddr *sa, char *buf, size_t len, uint16_t *port);

/* Where announcements go: "auto" means the directed broadcast address of
 * every up, non-loopback IPv4 interface; otherwise a comma-separated list. */
int ls_net_broadcast_targets(const char *spec, int port, struct sockaddr_in *out, size_t max, size_t *n);

/* A UDP socket bound to addr:port with SO_REUSEADDR (several listeners on
 * one host share the port), broadcast allowed, and a receive buffer of at
 * least rcvbuf bytes where the system allows. */
int ls_net_udp_open(uv_loop_t *loop, uv_udp_t *udp, const char *addr, int port, int rcvbuf);
/* A listening TCP socket; port 0 picks one (read it back with ls_net_tcp_port). */
int ls_net_tcp_listen(uv_loop_t *loop, uv_tcp_t *tcp, const char *addr, int port, int backlog, uv_connection_cb cb);
int ls_net_tcp_port(uv_tcp_t *tcp);

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
