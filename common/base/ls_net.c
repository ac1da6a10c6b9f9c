#include "ls_net.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

const char *ls_via_name(ls_via_t via) {
  switch (via) {
    case LS_VIA_BROADCAST: return "broadcast";
    case LS_VIA_MULTICAST: return "multicast";
    case LS_VIA_UNICAST: return "unicast";
  }
  return "?";
}

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

static void addr6_str(const struct sockaddr_in6 *in6, char *buf, size_t len) {
  char a[INET6_ADDRSTRLEN], ifname[IF_NAMESIZE];
  if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) { /* a dual-stack socket's IPv4 peer */
    inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], a, sizeof a);
    snprintf(buf, len, "%s", a);
    return;
  }
  inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof a);
  if (!IN6_IS_ADDR_LINKLOCAL(&in6->sin6_addr) || in6->sin6_scope_id == 0) {
    snprintf(buf, len, "%s", a);
    return;
  }
  if (if_indextoname(in6->sin6_scope_id, ifname) == NULL) snprintf(ifname, sizeof ifname, "%u", in6->sin6_scope_id);
  snprintf(buf, len, "%s%%%s", a, ifname);
}

void ls_net_addr_str(const struct sockaddr *sa, char *buf, size_t len, uint16_t *port) {
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    uv_ip4_name(in, buf, len);
    if (port != NULL) *port = ntohs(in->sin_port);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    addr6_str(in6, buf, len);
    if (port != NULL) *port = ntohs(in6->sin6_port);
  } else {
    snprintf(buf, len, "?");
    if (port != NULL) *port = 0;
  }
}

static int scope_name_valid(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n >= IF_NAMESIZE) return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)s[i]) && strchr("._-", s[i]) == NULL) return 0;
  return 1;
}

int ls_net_addr_valid(const char *addr, size_t len) {
  char buf[LS_NET_ADDR_MAX], canon[INET6_ADDRSTRLEN];
  if (len == 0 || len >= sizeof buf || memchr(addr, '\0', len) != NULL) return 0;
  memcpy(buf, addr, len);
  buf[len] = '\0';
  if (strchr(buf, ':') == NULL) {
    struct in_addr a4;
    return inet_pton(AF_INET, buf, &a4) == 1;
  }
  char *pct = strchr(buf, '%');
  if (pct != NULL) *pct++ = '\0';
  struct in6_addr a6;
  if (inet_pton(AF_INET6, buf, &a6) != 1 || IN6_IS_ADDR_V4MAPPED(&a6)) return 0;
  if (inet_ntop(AF_INET6, &a6, canon, sizeof canon) == NULL || strcmp(canon, buf) != 0) return 0;
  return pct == NULL || (IN6_IS_ADDR_LINKLOCAL(&a6) && scope_name_valid(pct));
}

int ls_net_addr_parse(const char *addr, int port, struct sockaddr_storage *out) {
  memset(out, 0, sizeof *out);
  if (addr == NULL || port < 0 || port > 65535) return UV_EINVAL;
  if (strchr(addr, ':') == NULL) return ls_net_ipv4(addr, port, (struct sockaddr_in *)out);
  if (!ls_net_addr_valid(addr, strlen(addr))) return UV_EINVAL;
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
  if (uv_ip6_addr(addr, port, in6) != 0) return UV_EINVAL;
  if (strchr(addr, '%') != NULL && in6->sin6_scope_id == 0) return UV_EINVAL; /* no such interface */
  return 0;
}

int ls_net_endpoint_format(const char *addr, unsigned port, char *buf, size_t len) {
  int n = strchr(addr, ':') != NULL ? snprintf(buf, len, "[%s]:%u", addr, port) : snprintf(buf, len, "%s:%u", addr, port);
  return n < 0 || (size_t)n >= len ? UV_ENOSPC : n;
}

/* "1" to "65535", digits only, no leading zero. */
static int parse_port(const char *s, size_t n, uint16_t *port) {
  unsigned long v = 0;
  if (n == 0 || n > 5 || s[0] == '0') return UV_EINVAL;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return UV_EINVAL;
    v = v * 10 + (unsigned long)(s[i] - '0');
  }
  if (v > 65535) return UV_EINVAL;
  *port = (uint16_t)v;
  return 0;
}

int ls_net_endpoint_parse(const char *text, size_t len, char *addr, size_t addrlen, uint16_t *port) {
  const char *a = text, *colon;
  size_t alen;
  if (len > 0 && text[0] == '[') {
    const char *close = memchr(text, ']', len);
    if (close == NULL || close + 1 >= text + len || close[1] != ':') return UV_EINVAL;
    a = text + 1;
    alen = (size_t)(close - a);
    colon = close + 1;
    if (memchr(a, ':', alen) == NULL) return UV_EINVAL; /* brackets are for IPv6 only */
  } else {
    colon = memchr(text, ':', len);
    if (colon == NULL) return UV_EINVAL;
    alen = (size_t)(colon - text);
  }
  if (alen >= addrlen || !ls_net_addr_valid(a, alen)) return UV_EINVAL;
  if (parse_port(colon + 1, (size_t)(text + len - colon - 1), port) != 0) return UV_EINVAL;
  memcpy(addr, a, alen);
  addr[alen] = '\0';
  return 0;
}

static int host_valid(const char *h, size_t n) {
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)h[i]) && strchr(".-_:%", h[i]) == NULL) return 0;
  return 1;
}

int ls_net_peer_parse(const char *text, int defport, char *host, size_t hostlen, int *port) {
  const char *h = text, *rest;
  size_t n;
  if (text[0] == '[') {
    const char *close = strchr(text, ']');
    if (close == NULL || memchr(text + 1, ':', (size_t)(close - text - 1)) == NULL) return UV_EINVAL;
    h = text + 1;
    n = (size_t)(close - h);
    rest = close + 1;
    if (*rest != '\0' && *rest != ':') return UV_EINVAL;
  } else {
    const char *colon = strchr(text, ':');
    int bare6 = colon != NULL && strchr(colon + 1, ':') != NULL; /* an IPv6 address without a port */
    n = colon == NULL || bare6 ? strlen(text) : (size_t)(colon - text);
    rest = text + n;
  }
  if (n >= hostlen || !host_valid(h, n)) return UV_EINVAL;
  if (memchr(h, ':', n) != NULL && !ls_net_addr_valid(h, n)) return UV_EINVAL; /* only IPv6 has colons */
  if (memchr(h, ':', n) == NULL && memchr(h, '%', n) != NULL) return UV_EINVAL;
  uint16_t p = (uint16_t)defport;
  if (*rest == ':' && parse_port(rest + 1, strlen(rest + 1), &p) != 0) return UV_EINVAL;
  memcpy(host, h, n);
  host[n] = '\0';
  *port = p;
  return 0;
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

int ls_net_targets_add(ls_net_targets_t *ts, const struct sockaddr *sa, ls_via_t via, unsigned ifindex) {
  size_t salen = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  for (size_t i = 0; i < ts->n; i++)
    if (ts->t[i].ifindex == ifindex && memcmp(&ts->t[i].addr, sa, salen) == 0) return 0;
  if (ts->n == sizeof ts->t / sizeof ts->t[0]) return UV_E2BIG;
  ls_net_target_t *t = &ts->t[ts->n++];
  memset(t, 0, sizeof *t);
  memcpy(&t->addr, sa, salen);
  t->via = via;
  t->ifindex = ifindex;
  return 0;
}

/* 0: off; 1: the default group; 2: the list in spec. Auto is on only where
 * broadcast is auto too: an explicit broadcast list (tests, demos) never
 * sends multicast. */
static int multicast_mode(const char *spec, const char *broadcast) {
  if (strcmp(spec, "off") == 0) return 0;
  if (strcmp(spec, "auto") == 0) return strcmp(broadcast, "auto") == 0;
  return 2;
}

int ls_net_groups(const char *broadcast, const char *multicast, const char *multicast6, struct in_addr *g4,
                  size_t max4, size_t *n4, struct in6_addr *g6, size_t *n6) {
  char buf[256];
  *n4 = *n6 = 0;
  int mode = multicast_mode(multicast, broadcast);
  snprintf(buf, sizeof buf, "%s", mode == 1 ? LS_NET_GROUP4 : multicast);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ", ", &save); mode != 0 && tok != NULL; tok = strtok_r(NULL, ", ", &save)) {
    if (*n4 == max4) return UV_E2BIG;
    if (inet_pton(AF_INET, tok, &g4[*n4]) != 1 || !IN_MULTICAST(ntohl(g4[*n4].s_addr))) return UV_EINVAL;
    (*n4)++;
  }
  if (mode == 2 && *n4 == 0) return UV_EINVAL;
  mode = multicast_mode(multicast6, broadcast);
  if (mode == 0) return 0;
  if (inet_pton(AF_INET6, mode == 1 ? LS_NET_GROUP6 : multicast6, g6) != 1 || !IN6_IS_ADDR_MULTICAST(g6))
    return UV_EINVAL;
  *n6 = 1;
  return 0;
}

/* Whether the interface name has an IPv4 address (so broadcast reaches its link). */
static int has_ipv4(const char *name, uv_interface_address_t *ifs, int count) {
  for (int i = 0; i < count; i++)
    if (ifs[i].address.address4.sin_family == AF_INET && strcmp(ifs[i].name, name) == 0) return 1;
  return 0;
}

/* The group out of every up, non-loopback interface of its family; with
 * skip_v4, not out of interfaces that IPv4 already reaches. */
static int add_group_targets(ls_net_targets_t *ts, const struct sockaddr *group, uv_interface_address_t *ifs,
                             int count, int skip_v4) {
  for (int i = 0; i < count; i++) {
    if (ifs[i].is_internal || ifs[i].address.address4.sin_family != group->sa_family) continue;
    if (skip_v4 && has_ipv4(ifs[i].name, ifs, count)) continue;
    unsigned ifindex = if_nametoindex(ifs[i].name);
    if (ifindex == 0) continue;
    struct sockaddr_storage ss;
    memcpy(&ss, group, group->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
    if (group->sa_family == AF_INET6) ((struct sockaddr_in6 *)&ss)->sin6_scope_id = ifindex;
    int rc = ls_net_targets_add(ts, (struct sockaddr *)&ss, LS_VIA_MULTICAST, ifindex);
    if (rc != 0) return rc;
  }
  return 0;
}

static int add_multicast_targets(ls_net_targets_t *ts, const struct in_addr *g4, size_t n4,
                                 const struct in6_addr *g6, size_t n6, int port, int auto6) {
  uv_interface_address_t *ifs;
  int count, rc = 0;
  if (n4 + n6 == 0) return 0;
  if ((rc = uv_interface_addresses(&ifs, &count)) != 0) return rc;
  for (size_t i = 0; i < n4 + n6 && rc == 0; i++) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (i < n4) {
      struct sockaddr_in *in = (struct sockaddr_in *)&ss;
      in->sin_family = AF_INET;
      in->sin_port = htons((uint16_t)port);
      in->sin_addr = g4[i];
    } else {
      struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons((uint16_t)port);
      in6->sin6_addr = g6[i - n4];
    }
    rc = add_group_targets(ts, (struct sockaddr *)&ss, ifs, count, i >= n4 && auto6);
  }
  uv_free_interface_addresses(ifs, count);
  return rc;
}

int ls_net_targets_build(const char *broadcast, const char *multicast, const char *multicast6, int port,
                         ls_net_targets_t *out) {
  struct sockaddr_in b[LS_NET_MAX_TARGETS];
  struct in_addr g4[LS_NET_MAX_TARGETS];
  struct in6_addr g6;
  size_t nb = 0, n4, n6;
  memset(out, 0, sizeof *out);
  int rc = ls_net_groups(broadcast, multicast, multicast6, g4, LS_NET_MAX_TARGETS, &n4, &g6, &n6);
  if (rc != 0) return rc;
  if (strcmp(broadcast, "off") != 0) {
    rc = ls_net_broadcast_targets(broadcast, port, b, LS_NET_MAX_TARGETS, &nb);
    /* auto on a host without IPv4 broadcast: multicast may still reach peers */
    if (rc != 0 && !(rc == UV_ENETUNREACH && n4 + n6 > 0)) return rc;
  }
  for (size_t i = 0; i < nb; i++) ls_net_targets_add(out, (struct sockaddr *)&b[i], LS_VIA_BROADCAST, 0);
  /* multicast6 = auto: only where IPv4 does not reach, so a dual-stack
   * peer is not heard twice (once per family) as two peers. */
  int auto6 = strcmp(multicast6, "auto") == 0;
  if ((rc = add_multicast_targets(out, g4, n4, &g6, n6, port, auto6)) != 0) return rc;
  return out->n > 0 ? 0 : UV_ENETUNREACH;
}

/* A bigger receive buffer where allowed: SO_RCVBUFFORCE passes rmem_max
 * when we may (root); else ask politely. */
static void udp_rcvbuf(uv_udp_t *udp, int rcvbuf) {
  uv_os_fd_t fd;
  if (rcvbuf <= 0 || uv_fileno((uv_handle_t *)udp, &fd) != 0) return;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
}

/* Binds an initialised handle for sending to targets: port 0, broadcast
 * allowed (IPv4), multicast on the link only and looped back. */
static int sender_bind(uv_udp_t *udp, const struct sockaddr_storage *sa, int rcvbuf) {
  int six = sa->ss_family == AF_INET6;
  int rc = uv_udp_bind(udp, (const struct sockaddr *)sa, six ? UV_UDP_IPV6ONLY : UV_UDP_REUSEADDR);
  if (rc == 0 && !six) rc = uv_udp_set_broadcast(udp, 1);
  if (rc != 0) return rc;
  uv_udp_set_multicast_ttl(udp, 1); /* IPv6: the hop limit */
  uv_udp_set_multicast_loop(udp, 1);
  udp_rcvbuf(udp, rcvbuf);
  return 0;
}

int ls_net_sender_open_at(uv_loop_t *loop, ls_net_sender_t *s, const char *addr, int rcvbuf) {
  memset(s, 0, sizeof *s);
  int six = strchr(addr, ':') != NULL, any = strcmp(addr, "0.0.0.0") == 0;
  struct sockaddr_storage sa;
  uv_udp_init(loop, &s->udp4); /* both handles always, so that close closes both */
  uv_udp_init(loop, &s->udp6);
  int rc = ls_net_addr_parse(addr, 0, &sa);
  if (rc != 0) return rc;
  if (!six) {
    if ((rc = sender_bind(&s->udp4, &sa, rcvbuf)) != 0) return rc;
    s->has4 = 1;
  }
  if (six || (any && ls_net_ipv6_usable())) {
    if (!six) ls_net_addr_parse("::", 0, &sa);
    rc = sender_bind(&s->udp6, &sa, rcvbuf);
    if (six && rc != 0) return rc;
    s->has6 = rc == 0; /* the default address: IPv4 alone will do */
  }
  return 0;
}

int ls_net_sender_open(uv_loop_t *loop, ls_net_sender_t *s) {
  return ls_net_sender_open_at(loop, s, "0.0.0.0", 0);
}

int ls_net_sender_send(ls_net_sender_t *s, const ls_net_target_t *t, const char *buf, size_t len) {
  int six = t->addr.ss_family == AF_INET6;
  uv_udp_t *udp = six ? &s->udp6 : &s->udp4;
  uv_os_fd_t fd;
  if (six ? !s->has6 : !s->has4) return UV_EAFNOSUPPORT;
  if (t->via == LS_VIA_MULTICAST && uv_fileno((uv_handle_t *)udp, &fd) == 0) {
    if (six) {
      int ifindex = (int)t->ifindex;
      setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof ifindex);
    } else {
      struct ip_mreqn m;
      memset(&m, 0, sizeof m);
      m.imr_ifindex = (int)t->ifindex;
      setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m);
    }
  }
  uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
  return uv_udp_try_send(udp, &b, 1, (const struct sockaddr *)&t->addr);
}

void ls_net_sender_close(ls_net_sender_t *s) {
  uv_close((uv_handle_t *)&s->udp4, NULL);
  uv_close((uv_handle_t *)&s->udp6, NULL);
}

int ls_net_udp_open(uv_loop_t *loop, uv_udp_t *udp, const char *addr, int port, int rcvbuf) {
  struct sockaddr_in sa;
  int rc = ls_net_ipv4(addr, port, &sa);
  if (rc != 0) return rc;
  if ((rc = uv_udp_init(loop, udp)) != 0) return rc;
  if ((rc = uv_udp_bind(udp, (const struct sockaddr *)&sa, UV_UDP_REUSEADDR)) != 0) return rc;
  if ((rc = uv_udp_set_broadcast(udp, 1)) != 0) return rc;
  udp_rcvbuf(udp, rcvbuf);
  return 0;
}

int ls_net_udp_recv_socket(const char *addr, int port, int rcvbuf, int dual) {
  struct sockaddr_storage sa;
  int rc = ls_net_addr_parse(addr, port, &sa), on = 1, v6only = !(dual && strcmp(addr, "::") == 0);
  if (rc != 0) return rc;
  int six = sa.ss_family == AF_INET6;
  int fd = socket(sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return (-errno);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on);
  if (six) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    rc = setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
  } else {
    rc = setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
  }
  /* SO_RCVBUFFORCE passes rmem_max when we may (root); else ask politely. */
  if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  socklen_t salen = six ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  if (rc != 0 || bind(fd, (struct sockaddr *)&sa, salen) != 0) {
    rc = (-errno);
    close(fd);
    return rc;
  }
  return fd;
}

ssize_t ls_net_recv(int fd, char *buf, size_t len, struct sockaddr_storage *src, struct sockaddr_storage *dst) {
  char control[256];
  struct iovec iov = {buf, len};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  memset(dst, 0, sizeof *dst);
  msg.msg_name = src;
  msg.msg_namelen = sizeof *src;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = recvmsg(fd, &msg, 0);
  if (n < 0) return errno == EWOULDBLOCK ? UV_EAGAIN : (-errno);
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      ((struct sockaddr_in *)dst)->sin_family = AF_INET;
      ((struct sockaddr_in *)dst)->sin_addr = pi.ipi_addr;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      ((struct sockaddr_in6 *)dst)->sin6_family = AF_INET6;
      ((struct sockaddr_in6 *)dst)->sin6_addr = pi.ipi6_addr;
    }
  }
  return (msg.msg_flags & MSG_TRUNC) ? UV_EMSGSIZE : n;
}

int ls_net_join_groups(int fd, int family, const struct in_addr *g4, size_t n4, const struct in6_addr *g6, size_t n6) {
  uv_interface_address_t *ifs;
  int count, joined = 0;
  if (uv_interface_addresses(&ifs, &count) != 0) return 0;
  for (int i = 0; i < count; i++) {
    unsigned ifindex = if_nametoindex(ifs[i].name);
    if (ifs[i].is_internal || ifs[i].address.address4.sin_family != family || ifindex == 0) continue;
    for (size_t k = 0; family == AF_INET && k < n4; k++) {
      struct ip_mreqn m;
      memset(&m, 0, sizeof m);
      m.imr_multiaddr = g4[k];
      m.imr_ifindex = (int)ifindex;
      joined += setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m) == 0;
    }
    for (size_t k = 0; family == AF_INET6 && k < n6; k++) {
      struct ipv6_mreq m;
      m.ipv6mr_multiaddr = g6[k];
      m.ipv6mr_interface = ifindex;
      joined += setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &m, sizeof m) == 0; /* once per interface */
    }
  }
  uv_free_interface_addresses(ifs, count);
  return joined;
}

void ls_net_bcast_set(const char *broadcast, ls_net_bcast_set_t *out) {
  struct sockaddr_in b[LS_NET_MAX_TARGETS];
  size_t n = 0;
  memset(out, 0, sizeof *out);
  out->a[out->n++].s_addr = htonl(INADDR_BROADCAST);
  for (int pass = 0; pass < 2; pass++) {
    const char *spec = pass == 0 ? "auto" : broadcast;
    if ((pass == 1 && (strcmp(spec, "auto") == 0 || strcmp(spec, "off") == 0)) ||
        ls_net_broadcast_targets(spec, 0, b, LS_NET_MAX_TARGETS, &n) != 0)
      continue;
    for (size_t i = 0; i < n && out->n < sizeof out->a / sizeof out->a[0]; i++) out->a[out->n++] = b[i].sin_addr;
  }
}

ls_via_t ls_net_classify(const struct sockaddr *dst, const ls_net_bcast_set_t *b) {
  struct in_addr a4;
  if (dst->sa_family == AF_INET6) {
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)dst)->sin6_addr;
    if (IN6_IS_ADDR_MULTICAST(a6)) return LS_VIA_MULTICAST;
    if (!IN6_IS_ADDR_V4MAPPED(a6)) return LS_VIA_UNICAST;
    memcpy(&a4, &a6->s6_addr[12], sizeof a4);
  } else if (dst->sa_family == AF_INET) {
    a4 = ((const struct sockaddr_in *)dst)->sin_addr;
  } else {
    return LS_VIA_UNICAST;
  }
  if (IN_MULTICAST(ntohl(a4.s_addr))) return LS_VIA_MULTICAST;
  for (size_t i = 0; i < b->n; i++)
    if (b->a[i].s_addr == a4.s_addr) return LS_VIA_BROADCAST;
  return LS_VIA_UNICAST;
}

int ls_net_tcp_listen(uv_loop_t *loop, uv_tcp_t *tcp, const char *addr, int port, int backlog, uv_connection_cb cb) {
  struct sockaddr_storage sa;
  int rc = ls_net_addr_parse(addr, port, &sa);
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

/* A bound TCP socket fd (SO_REUSEADDR, dual stack for "::"), or -errno. */
static int tcp_bound_fd(const char *addr, int port) {
  struct sockaddr_storage sa;
  int rc = ls_net_addr_parse(addr, port, &sa), on = 1, off = 0;
  if (rc != 0) return rc;
  int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (sa.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
  socklen_t len = sa.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
  if (bind(fd, (struct sockaddr *)&sa, len) != 0) {
    rc = -errno;
    close(fd);
    return rc;
  }
  return fd;
}

int ls_net_tcp_listen_default(uv_loop_t *loop, uv_tcp_t *tcp, const char *addr, int port, int backlog,
                              uv_connection_cb cb) {
  if (strcmp(addr, "0.0.0.0") != 0) return ls_net_tcp_listen(loop, tcp, addr, port, backlog, cb);
  int rc = uv_tcp_init(loop, tcp); /* first: the caller closes the handle, as after ls_net_tcp_listen */
  if (rc != 0) return rc;
  int fd = ls_net_ipv6_usable() ? tcp_bound_fd("::", port) : -1;
  if (fd < 0) fd = tcp_bound_fd(addr, port);
  if (fd < 0) return fd;
  if ((rc = uv_tcp_open(tcp, fd)) != 0) {
    close(fd);
    return rc;
  }
  return uv_listen((uv_stream_t *)tcp, backlog, cb);
}

int ls_net_ipv6_usable(void) {
  int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  struct sockaddr_in6 any;
  memset(&any, 0, sizeof any);
  any.sin6_family = AF_INET6;
  any.sin6_addr = in6addr_any;
  int ok = bind(fd, (struct sockaddr *)&any, sizeof any) == 0;
  close(fd);
  return ok;
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
