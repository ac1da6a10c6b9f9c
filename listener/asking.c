#include "asking.h"

#include <stdio.h>
#include <string.h>

#include "ls_announce.h"
#include "ls_log.h"

void asking_query(asking_t *ak, const char *why) {
  char buf[LS_ANNOUNCE_MAX_PAYLOAD];
  int n = ls_announce_encode_query(ak->cfg->tag, buf, sizeof buf - LS_SEAL_OVERHEAD);
  if (n > 0 && ak->key != NULL) n = ls_auth_seal(ak->key, buf, (size_t)n, buf, sizeof buf);
  if (n <= 0) return;
  for (size_t i = 0; i < ak->ntargets; i++) {
    uv_buf_t b = uv_buf_init(buf, (unsigned)n);
    if (uv_udp_try_send(&ak->udp, &b, 1, (const struct sockaddr *)&ak->targets[i]) >= 0) ak->queries++;
  }
  ls_debug("query sent to %zu target(s): %s", ak->ntargets, why);
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

/* A signature of the interfaces: names, addresses and masks, in any order. */
static uint64_t iface_signature(void) {
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

static void poll_cb(uv_timer_t *t) {
  asking_t *ak = t->data;
  uint64_t sig = iface_signature();
  if (sig == ak->iface_sig) return;
  ak->iface_sig = sig;
  size_t n;
  struct sockaddr_in targets[LS_NET_MAX_TARGETS];
  if (ls_net_broadcast_targets(ak->cfg->broadcast, ak->cfg->udp_port, targets, LS_NET_MAX_TARGETS, &n) == 0) {
    memcpy(ak->targets, targets, sizeof targets);
    ak->ntargets = n;
  }
  ls_info("network interfaces changed: asking the peers for their files (%zu target(s))", ak->ntargets);
  asking_query(ak, "interfaces changed");
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  asking_t *ak = h->data;
  (void)suggested;
  *buf = uv_buf_init(ak->recv_buf, sizeof ak->recv_buf);
}

static void recv_cb(uv_udp_t *udp, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr, unsigned flags) {
  asking_t *ak = udp->data;
  if (nread <= 0 || addr == NULL) return;
  ak->on_datagram(ak->ud, nread, buf, addr, flags);
}

int asking_init(asking_t *ak, uv_loop_t *loop, const ls_config_t *cfg, const ls_key_t *key, asking_datagram_cb cb,
                void *ud, char *err, size_t errlen) {
  memset(ak, 0, sizeof *ak);
  ak->cfg = cfg;
  ak->key = key;
  ak->loop = loop;
  ak->on_datagram = cb;
  ak->ud = ud;
  int rc = ls_net_broadcast_targets(cfg->broadcast, cfg->udp_port, ak->targets, LS_NET_MAX_TARGETS, &ak->ntargets);
  if (rc != 0) ak->ntargets = 0; /* no network yet: the query goes when one comes up */
  /* Answers from a whole LAN arrive within ANSWER_JITTER_MS: room for them. */
  if ((rc = ls_net_udp_open(loop, &ak->udp, cfg->listen_addr, 0, ASKING_RCVBUF_BYTES)) != 0) {
    snprintf(err, errlen, "cannot open the query socket on %s: %s", cfg->listen_addr, uv_strerror(rc));
    return rc;
  }
  ak->udp.data = ak;
  uv_timer_init(loop, &ak->poll);
  ak->poll.data = ak;
  return 0;
}

void asking_start(asking_t *ak) {
  ak->iface_sig = iface_signature();
  uv_udp_recv_start(&ak->udp, alloc_cb, recv_cb);
  uv_timer_start(&ak->poll, poll_cb, ASKING_POLL_MS, ASKING_POLL_MS);
  asking_query(ak, "start");
}

void asking_close(asking_t *ak) {
  uv_close((uv_handle_t *)&ak->udp, NULL);
  uv_close((uv_handle_t *)&ak->poll, NULL);
}
