#include "ls_net.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int ls_net_ipv4(const char *addr, int port, struct sockaddr_in *out) {
  unsigned char a[4];
  if (addr == NULL || uv_inet_pton(AF_INET, addr, a) != 0 || port < 0 || port > 65535) return UV_EINVAL;
  return uv_ip4_addr(addr, port, out);
}

int ls_net_parse_hostport(const char *text, struct sockaddr_in *out) {
  char host[64];
  const char *colon = strrchr(text, ':');
  if (colon == NULL || (size_t)(colon - text) >= sizeof host) return UV_EINVAL;
  memcpy(host, text, (size_t)(colon - text));
  host[colon - text] = '\0';
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || port < 1 || port > 65535) return UV_EINVAL;
  return ls_net_ipv4(host, (int)port, out);
}

void ls_net_addr_str(const struct sockaddr *sa, char *buf, size_t len, uint16_t *port) {
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    uv_ip4_name(in, buf, len);
    if (port != NULL) *port = ntohs(in->sin_port);
  } else {
    snprintf(buf, len, "?");
    if (port != NULL) *port = 0;
  }
}

int ls_net_broadcast_targets(const char *spec, int port, struct sockaddr_in *out, size_t max, size_t *n) {
  *n = 0;
  if (strcmp(spec, "auto") == 0) {
    uv_interface_address_t *ifs;
    int count;
    int rc = uv_interface_addresses(&ifs, &count);
    if (rc != 0) return rc;
    for (int i = 0; i < count && *n < max; i++) {
      if (ifs[i].is_internal || ifs[i].address.address4.sin_family != AF_INET) continue;
      uint32_t a = ifs[i].address.address4.sin_addr.s_addr;
      uint32_t m = ifs[i].netmask.netmask4.sin_addr.s_addr;
      if (m == 0xFFFFFFFFu) continue; /* a /32 has no broadcast address */
      struct sockaddr_in sa;
      memset(&sa, 0, sizeof sa);
      sa.sin_family = AF_INET;
      sa.sin_port = htons((uint16_t)port);
      sa.sin_addr.s_addr = a | ~m;
      int dup = 0;
      for (size_t k = 0; k < *n; k++) dup |= out[k].sin_addr.s_addr == sa.sin_addr.s_addr;
      if (!dup) out[(*n)++] = sa;
    }
    uv_free_interface_addresses(ifs, count);
    return *n > 0 ? 0 : UV_ENETUNREACH;
  }
  char buf[256];
  snprintf(buf, sizeof buf, "%s", spec);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save)) {
    if (*n >= max) return UV_E2BIG;
    if (ls_net_ipv4(tok, port, &out[*n]) != 0) return UV_EINVAL;
    (*n)++;
  }
  return *n > 0 ? 0 : UV_EINVAL;
}

int ls_net_udp_open(uv_loop_t *loop, uv_udp_t *udp, const char *addr, int port, int rcvbuf) {
  struct sockaddr_in sa;
  int rc = ls_net_ipv4(addr, port, &sa);
  if (rc != 0) return rc;
  if ((rc = uv_udp_init(loop, udp)) != 0) return rc;
  if ((rc = uv_udp_bind(udp, (const struct sockaddr *)&sa, UV_UDP_REUSEADDR)) != 0) return rc;
  if ((rc = uv_udp_set_broadcast(udp, 1)) != 0) return rc;
  if (rcvbuf > 0) {
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)udp, &fd) == 0) {
      /* SO_RCVBUFFORCE passes rmem_max when we may (root); else ask politely. */
      if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }
  }
  return 0;
}

int ls_net_tcp_listen(uv_loop_t *loop, uv_tcp_t *tcp, const char *addr, int port, int backlog, uv_connection_cb cb) {
  struct sockaddr_in sa;
  int rc = ls_net_ipv4(addr, port, &sa);
  if (rc != 0) return rc;
  if ((rc = uv_tcp_init(loop, tcp)) != 0) return rc;
  if ((rc = uv_tcp_bind(tcp, (const struct sockaddr *)&sa, 0)) != 0) return rc;
  return uv_listen((uv_stream_t *)tcp, backlog, cb);
}

int ls_net_tcp_port(uv_tcp_t *tcp) {
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getsockname(tcp, (struct sockaddr *)&ss, &len) != 0) return -1;
  return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void on_signal(uv_signal_t *h, int signum) {
  ls_signals_t *s = h->data;
  s->cb(s, signum);
}

int ls_signals_init(uv_loop_t *loop, ls_signals_t *s, ls_signals_cb cb, void *data) {
  signal(SIGPIPE, SIG_IGN);
  s->cb = cb;
  s->data = data;
  uv_signal_init(loop, &s->sigint);
  uv_signal_init(loop, &s->sigterm);
  s->sigint.data = s->sigterm.data = s;
  int rc = uv_signal_start(&s->sigint, on_signal, SIGINT);
  if (rc == 0) rc = uv_signal_start(&s->sigterm, on_signal, SIGTERM);
  return rc;
}

void ls_signals_close(ls_signals_t *s) {
  uv_close((uv_handle_t *)&s->sigint, NULL);
  uv_close((uv_handle_t *)&s->sigterm, NULL);
}
