#include "ls_handpeers.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "ls_log.h"

int ls_handpeers_init(uv_loop_t *loop, ls_handpeers_t *h, const char *spec, int defport, ls_handpeers_cb cb,
                      void *data, char *err, size_t errlen) {
  memset(h, 0, sizeof *h);
  h->loop = loop;
  h->cb = cb;
  h->data = data;
  char buf[512];
  snprintf(buf, sizeof buf, "%s", spec);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ", ", &save); tok != NULL; tok = strtok_r(NULL, ", ", &save)) {
    ls_handpeer_t *p = &h->peers[h->n];
    if (h->n == LS_NET_PEERS_MAX || ls_net_peer_parse(tok, defport, p->host, sizeof p->host, &p->port) != 0) {
      snprintf(err, errlen, "peers: expected up to %d of HOST[:PORT], got '%.80s'", LS_NET_PEERS_MAX, tok);
      return UV_EINVAL;
    }
    p->owner = h;
    h->n++;
  }
  uv_timer_init(loop, &h->timer);
  h->timer.data = h;
  return 0;
}

/* The new addresses of p from res; 1 when they differ from the old. */
static int take_addresses(ls_handpeer_t *p, const struct addrinfo *res) {
  struct sockaddr_storage got[LS_HANDPEERS_ADDRS];
  size_t n = 0;
  memset(got, 0, sizeof got);
  for (const struct addrinfo *ai = res; ai != NULL && n < LS_HANDPEERS_ADDRS; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    if (ai->ai_addrlen > sizeof got[n]) continue;
    memcpy(&got[n], ai->ai_addr, ai->ai_addrlen);
    ((struct sockaddr_in *)&got[n])->sin_port = htons((uint16_t)p->port); /* same offset in sockaddr_in6 */
    n++;
  }
  int changed = n != p->naddr || memcmp(got, p->addr, sizeof got) != 0;
  memcpy(p->addr, got, sizeof got);
  p->naddr = n;
  return changed;
}

static void resolved_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
  ls_handpeer_t *p = req->data;
  ls_handpeers_t *h = p->owner;
  p->busy = 0;
  if (h->closing || status == UV_ECANCELED) {
    uv_freeaddrinfo(res);
    return;
  }
  if (status != 0) {
    ls_warn("peers: cannot resolve %s: %s (trying again in 5 minutes)", p->host, uv_strerror(status));
  } else if (take_addresses(p, res)) {
    char addr[LS_NET_ADDR_MAX];
    ls_net_addr_str((struct sockaddr *)&p->addr[0], addr, sizeof addr, NULL);
    ls_info("peers: %s is %s (%zu address(es)), udp port %d", p->host, addr, p->naddr, p->port);
    if (h->cb != NULL) h->cb(h, h->data);
  }
  uv_freeaddrinfo(res);
}

static void resolve_all(ls_handpeers_t *h) {
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  for (size_t i = 0; i < h->n; i++) {
    ls_handpeer_t *p = &h->peers[i];
    if (p->busy) continue;
    p->req.data = p;
    if (uv_getaddrinfo(h->loop, &p->req, resolved_cb, p->host, NULL, &hints) == 0) p->busy = 1;
  }
}

static void timer_cb(uv_timer_t *t) {
  resolve_all(t->data);
}

void ls_handpeers_start(ls_handpeers_t *h) {
  if (h->n == 0) return;
  resolve_all(h);
  uv_timer_start(&h->timer, timer_cb, LS_HANDPEERS_REFRESH_MS, LS_HANDPEERS_REFRESH_MS);
}

void ls_handpeers_targets(const ls_handpeers_t *h, ls_net_targets_t *out) {
  for (size_t i = 0; i < h->n; i++)
    for (size_t k = 0; k < h->peers[i].naddr; k++)
      ls_net_targets_add(out, (const struct sockaddr *)&h->peers[i].addr[k], LS_VIA_UNICAST, 0);
}

int ls_handpeers_has(const ls_handpeers_t *h, const struct sockaddr *sa) {
  char want[LS_NET_ADDR_MAX], have[LS_NET_ADDR_MAX];
  ls_net_addr_str(sa, want, sizeof want, NULL);
  for (size_t i = 0; i < h->n; i++)
    for (size_t k = 0; k < h->peers[i].naddr; k++) {
      ls_net_addr_str((const struct sockaddr *)&h->peers[i].addr[k], have, sizeof have, NULL);
      if (strcmp(want, have) == 0) return 1;
    }
  return 0;
}

void ls_handpeers_close(ls_handpeers_t *h) {
  h->closing = 1;
  for (size_t i = 0; i < h->n; i++)
    if (h->peers[i].busy) uv_cancel((uv_req_t *)&h->peers[i].req);
  uv_close((uv_handle_t *)&h->timer, NULL);
}
