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
  for (size_t i = 0; i < ak->targets.n; i++)
    if (ls_net_sender_send(&ak->sender, &ak->targets.t[i], buf, (size_t)n) >= 0) ak->queries++;
  ls_debug("query sent to %zu target(s): %s", ak->targets.n, why);
}

/* Where the announcer sends its rounds (but the peers by hand): broadcast,
 * and the IPv4 and IPv6 groups. None yet: the query goes when the
 * interfaces change. */
static void build_targets(asking_t *ak) {
  const ls_config_t *cfg = ak->cfg;
  if (ls_net_targets_build(cfg->broadcast, cfg->multicast, cfg->multicast6, cfg->udp_port, &ak->targets) != 0)
    ak->targets.n = 0;
}

static void ifaces_cb(ls_ifwatch_t *w, void *data) {
  asking_t *ak = data;
  (void)w;
  build_targets(ak);
  ls_info("network interfaces changed: asking the peers for their files (%zu target(s))", ak->targets.n);
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
  build_targets(ak);
  /* Answers from a whole LAN arrive within ANSWER_JITTER_MS: room for them. */
  int rc = ls_net_sender_open_at(loop, &ak->sender, cfg->listen_addr, ASKING_RCVBUF_BYTES);
  if (rc != 0) {
    snprintf(err, errlen, "cannot open the query socket on %s: %s", cfg->listen_addr, uv_strerror(rc));
    return rc;
  }
  ak->sender.udp4.data = ak->sender.udp6.data = ak;
  ls_ifwatch_init(loop, &ak->ifwatch, ifaces_cb, ak);
  return 0;
}

void asking_start(asking_t *ak) {
  if (ak->sender.has4) uv_udp_recv_start(&ak->sender.udp4, alloc_cb, recv_cb);
  if (ak->sender.has6) uv_udp_recv_start(&ak->sender.udp6, alloc_cb, recv_cb);
  ls_ifwatch_start(&ak->ifwatch, LS_IFWATCH_MS);
  asking_query(ak, "start");
}

void asking_close(asking_t *ak) {
  ls_net_sender_close(&ak->sender);
  ls_ifwatch_close(&ak->ifwatch);
}
