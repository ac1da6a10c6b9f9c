#include "announcing.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <unistd.h>

#include "ls_announce.h"
#include "ls_log.h"
#include "ls_round.h"
#include "ls_util.h"

#define PACE_MS 2          /* one burst of datagrams every PACE_MS */
#define PACE_BURST 16      /* datagrams per burst and target */

static void queue_clear(announcing_t *an) {
  for (size_t i = 0; i < an->queue_len; i++) free(an->queue[i].data);
  an->queue_len = an->next_page = an->next_target = 0;
}

static int queue_push(void *ud, const char *buf, size_t len) {
  announcing_t *an = ud;
  if (an->queue_len == an->queue_cap) {
    size_t cap = an->queue_cap ? an->queue_cap * 2 : 16;
    datagram_t *q = realloc(an->queue, cap * sizeof *q);
    if (q == NULL) return UV_ENOMEM;
    an->queue = q;
    an->queue_cap = cap;
  }
  char *copy = malloc(len + LS_SEAL_OVERHEAD);
  if (copy == NULL) return UV_ENOMEM;
  memcpy(copy, buf, len);
  if (an->key != NULL) len = (size_t)ls_auth_seal(an->key, copy, len, copy, len + LS_SEAL_OVERHEAD);
  datagram_t *d = &an->queue[an->queue_len++]; /* the queue owns it; queue_clear frees it */
  d->data = copy;
  d->len = len;
  return 0;
}

/* Sends up to PACE_BURST pages per target; returns 1 when the round is done. */
static int send_some(announcing_t *an) {
  size_t ntargets = an->targets.n;
  for (unsigned sent = 0; sent < PACE_BURST * ntargets && an->next_page < an->queue_len; sent++) {
    datagram_t *d = &an->queue[an->next_page];
    const ls_net_target_t *t = &an->targets.t[an->next_target];
    int rc = ls_net_sender_send(&an->sender, t, d->data, d->len);
    if (rc == UV_EAGAIN) return 0; /* socket buffer full: next tick */
    if (rc < 0) {
      static ls_ratelimit_t rl = {5, 10000, 0, 0, 0};
      unsigned long dropped;
      char addr[LS_NET_ADDR_MAX];
      ls_net_addr_str((const struct sockaddr *)&t->addr, addr, sizeof addr, NULL);
      if (ls_ratelimit_allow(&rl, &dropped)) ls_warn("send to %s failed: %s", addr, uv_strerror(rc));
    }
    if (++an->next_target >= ntargets) {
      an->next_target = 0;
      an->next_page++;
    }
  }
  return an->next_page >= an->queue_len;
}

static void pace_cb(uv_timer_t *t) {
  announcing_t *an = t->data;
  if (send_some(an)) uv_timer_stop(&an->pace_timer);
}

/* DIR/run/round: the round just queued, as it goes out, for the listener to
 * answer queries with: at most LS_ROUND_MAX_DATAGRAMS pages, or the one beat
 * of a longer share. A few KB once per round: written here, as server.status
 * is. */
static void write_round(announcing_t *an) {
  ls_round_t *r = calloc(1, sizeof *r);
  uint8_t *buf = malloc(LS_ROUND_MAX_BYTES);
  int n = r == NULL || buf == NULL ? -ENOMEM : 0;
  for (size_t i = 0; n == 0 && i < an->queue_len && i < LS_ROUND_MAX_DATAGRAMS; i++)
    n = ls_round_add(r, an->queue[i].data, an->queue[i].len);
  if (n == 0) n = ls_round_render(r, buf, LS_ROUND_MAX_BYTES);
  if (n > 0) n = ls_write_file_atomic(an->cfg->round_path, buf, (size_t)n, 0);
  if (n != 0) {
    static ls_ratelimit_t rl = {2, 60000, 0, 0, 0};
    unsigned long dropped;
    if (ls_ratelimit_allow(&rl, &dropped)) ls_warn("cannot write %s: %s", an->cfg->round_path, uv_strerror(n));
  }
  free(buf);
  free(r);
}

/* Who this peer is, in each datagram of the round: "udp" so that a listener
 * that hears us unicast (we name it by hand) can answer our listener. */
static ls_announce_head_t announce_head(const announcing_t *an) {
  ls_announce_head_t h = {an->cfg->tag, (uint16_t)an->cfg->tcp_port, (uint16_t)an->cfg->udp_port, an->cfg->interval,
                          an->seq};
  return h;
}

/* A share of more than LS_ANNOUNCE_BEAT_PAGES pages goes out as one beat:
 * its digest only; listeners that lack that version fetch the list over TCP
 * (LIST). Replaces the queued pages. */
static int queue_beat(announcing_t *an, const char *digest, size_t nfiles) {
  char buf[LS_ANNOUNCE_MAX_PAYLOAD];
  ls_announce_head_t head = announce_head(an);
  int n = ls_announce_encode_beat_h(&head, digest, (uint32_t)nfiles, buf, sizeof buf);
  queue_clear(an);
  return n < 0 ? n : queue_push(an, buf, (size_t)n);
}

static void announce(announcing_t *an, const char *why) {
  const ls_catalog_snapshot_t *snap = ls_catalog_current(an->catalog);
  if (snap == NULL || an->stopping) return;
  ls_announce_file_t *files = ls_catalog_announce_files(snap);
  char digest[LS_ANNOUNCE_DIGEST_HEX + 1];
  if (files == NULL || ls_announce_digest(files, snap->count, digest) != 0) {
    free(files);
    return;
  }
  /* A new round replaces what is left of the previous one. */
  queue_clear(an);
  size_t skipped = 0;
  an->seq++;
  ls_announce_head_t head = announce_head(an);
  int pages = ls_announce_encode_round(&head, files, snap->count, an->key != NULL ? LS_SEAL_OVERHEAD : 0, digest,
                                       queue_push, an, &skipped);
  free(files);
  if (pages > LS_ANNOUNCE_BEAT_PAGES) pages = queue_beat(an, digest, snap->count) == 0 ? pages : -ENOMEM;
  if (pages < 0) {
    ls_error("cannot encode announcement: %s", uv_strerror(pages));
    queue_clear(an);
    return;
  }
  if (skipped > 0) ls_warn("%zu file(s) not announced: name too long for one datagram", skipped);
  ls_debug("announce seq=%u files=%zu pages=%d datagrams=%zu digest=%s reason=%s", an->seq, snap->count - skipped,
           pages, an->queue_len, digest, why);
  write_round(an);
  if (!send_some(an)) uv_timer_start(&an->pace_timer, pace_cb, PACE_MS, PACE_MS);
}

static void interval_cb(uv_timer_t *t) {
  announce(t->data, "interval");
}

static void catalog_cb(ls_catalog_t *cat, void *ud) {
  announcing_t *an = ud;
  const ls_catalog_snapshot_t *snap = ls_catalog_current(cat);
  ls_info("share: %zu file(s)", snap->count);
  announce(an, "change");
  /* The periodic announcement counts from the last one. */
  uv_timer_again(&an->interval_timer);
  for (size_t i = 0; i < an->npublishers; i++) ls_publisher_sync(&an->publishers[i]);
}

static void name_taken(ls_publisher_t *p, const char *reason) {
  /* A daemon cannot ask for another name: it says so and tries again later,
   * when the other host may have left. */
  ls_error("tracker %s refuses the tag %s: %s (set another tag)", p->client.addr_text, p->host, reason);
  ls_tclient_drop(&p->client, "name taken");
}

static void send_goodbye(announcing_t *an) {
  char buf[LS_ANNOUNCE_MAX_PAYLOAD * 2];
  int n = ls_announce_encode_bye(an->cfg->tag, (uint16_t)an->cfg->tcp_port, buf, sizeof buf);
  if (n < 0) return;
  if (an->key != NULL) n = ls_auth_seal(an->key, buf, (size_t)n, buf, sizeof buf);
  if (n < 0) return;
  for (size_t i = 0; i < an->targets.n; i++) ls_net_sender_send(&an->sender, &an->targets.t[i], buf, (size_t)n);
}

/* The targets: the broadcast and multicast ones, then the peers by hand. */
static void retarget(announcing_t *an) {
  an->targets = an->fixed;
  ls_handpeers_targets(&an->handpeers, &an->targets);
  if (an->next_target >= an->targets.n) an->next_target = 0;
}

/* A peer by hand resolved (or moved): it gets the rounds from now on, and a
 * round at once so it need not wait an interval. */
static void handpeers_cb(ls_handpeers_t *h, void *data) {
  announcing_t *an = data;
  (void)h;
  retarget(an);
  announce(an, "peer by hand");
}

/* An interface came up or went down (a cable back in, a network joined):
 * the broadcast and multicast targets again (kept as they were when none
 * can be found: the link is down), and a round at once, so that the peers,
 * which may have dropped this one meanwhile, need not wait an interval. */
static void ifaces_cb(ls_ifwatch_t *w, void *data) {
  announcing_t *an = data;
  const ls_config_t *cfg = an->cfg;
  ls_net_targets_t fixed;
  (void)w;
  if (ls_net_targets_build(cfg->broadcast, cfg->multicast, cfg->multicast6, cfg->udp_port, &fixed) == 0)
    an->fixed = fixed;
  retarget(an);
  ls_info("network interfaces changed: announcing now (%zu target(s))", an->targets.n);
  announce(an, "interfaces changed");
  uv_timer_again(&an->interval_timer);
}

/* One publisher per configured tracker: registered and published at each. */
static int trackers_init(announcing_t *an, uv_loop_t *loop, char *err, size_t errlen) {
  char addrs[LS_MAX_TRACKERS][LS_TRACKER_ADDR_LEN];
  size_t n;
  const char *why;
  const ls_config_t *cfg = an->cfg;
  if (ls_config_tracker_list(cfg->tracker, addrs, &n, &why) != 0) {
    snprintf(err, errlen, "tracker: %s; got '%s'", why, cfg->tracker);
    return ANNOUNCING_BAD_TRACKER;
  }
  for (size_t i = 0; i < n; i++) {
    ls_publisher_t *p = &an->publishers[i];
    if (ls_publisher_init(loop, p, addrs[i], cfg->tag, (uint16_t)cfg->tcp_port, an->catalog) != 0) {
      snprintf(err, errlen, "tracker: expected ADDRESS:PORT with a dotted IPv4 address, got '%s'", addrs[i]);
      return ANNOUNCING_BAD_TRACKER;
    }
    p->on_taken = name_taken;
    p->client.key = an->key;
    an->npublishers++;
  }
  return 0;
}

int announcing_init(announcing_t *an, uv_loop_t *loop, const ls_config_t *cfg, const ls_key_t *key, char *err,
                    size_t errlen) {
  memset(an, 0, sizeof *an);
  an->cfg = cfg;
  an->key = key;
  an->loop = loop;
  int rc = ls_net_targets_build(cfg->broadcast, cfg->multicast, cfg->multicast6, cfg->udp_port, &an->fixed);
  if (rc == UV_ENETUNREACH && cfg->peers[0]) rc = 0; /* the peers by hand are the targets */
  if (rc != 0) {
    snprintf(err, errlen, "no target from broadcast = '%s', multicast = '%s', multicast6 = '%s': %s", cfg->broadcast,
             cfg->multicast, cfg->multicast6, uv_strerror(rc));
    return rc;
  }
  an->targets = an->fixed;
  if ((rc = ls_handpeers_init(loop, &an->handpeers, cfg->peers, cfg->udp_port, handpeers_cb, an, err, errlen)) != 0)
    return rc;
  if ((rc = ls_net_sender_open(loop, &an->sender)) != 0) {
    snprintf(err, errlen, "cannot open UDP socket: %s", uv_strerror(rc));
    return rc;
  }
  uv_timer_init(loop, &an->interval_timer);
  ls_ifwatch_init(loop, &an->ifwatch, ifaces_cb, an);
  uv_timer_init(loop, &an->pace_timer);
  an->interval_timer.data = an->pace_timer.data = an;
  char run_dir[PATH_MAX];
  snprintf(run_dir, sizeof run_dir, "%s", cfg->round_path);
  if ((rc = ls_mkdir_p(dirname(run_dir))) != 0) {
    snprintf(err, errlen, "cannot make the folder of %s: %s", cfg->round_path, uv_strerror(rc));
    return rc;
  }
  ls_catalog_dirs_t dirs = {cfg->share_dir, cfg->downloads_dir, cfg->temp_dir, cfg->cache_dir, cfg->chunk_size, cfg->max_chunks, 0};
  if ((rc = ls_catalog_new(loop, &dirs, cfg->rescan, catalog_cb, an, &an->catalog)) != 0) {
    snprintf(err, errlen, "cannot set up the catalog: %s", uv_strerror(rc));
    return rc;
  }
  return trackers_init(an, loop, err, errlen);
}

void announcing_start(announcing_t *an) {
  uint64_t interval_ms = (uint64_t)an->cfg->interval * 1000;
  uv_timer_start(&an->interval_timer, interval_cb, interval_ms, interval_ms);
  ls_catalog_start(an->catalog);
  for (size_t i = 0; i < an->npublishers; i++) ls_publisher_start(&an->publishers[i]);
  ls_handpeers_start(&an->handpeers);
  ls_ifwatch_start(&an->ifwatch, LS_IFWATCH_MS);
  for (size_t i = 0; i < an->fixed.n; i++) {
    const ls_net_target_t *t = &an->fixed.t[i];
    char addr[LS_NET_ADDR_MAX], ifname[IF_NAMESIZE] = "";
    ls_net_addr_str((const struct sockaddr *)&t->addr, addr, sizeof addr, NULL);
    if (t->ifindex != 0) if_indextoname(t->ifindex, ifname);
    ls_info("announcing tag=%s to %s:%d%s%s (%s) every %us, chunk server port %d", an->cfg->tag, addr,
            an->cfg->udp_port, ifname[0] ? " on " : "", ifname, ls_via_name(t->via), an->cfg->interval,
            an->cfg->tcp_port);
  }
  if (an->handpeers.n > 0) ls_info("announcing also to %zu peer(s) by hand: %s", an->handpeers.n, an->cfg->peers);
}

void announcing_close(announcing_t *an) {
  if (an->stopping) return;
  an->stopping = 1;
  send_goodbye(an);
  unlink(an->cfg->round_path); /* no announcer, no answer to a query */
  queue_clear(an);
  ls_net_sender_close(&an->sender);
  ls_handpeers_close(&an->handpeers);
  uv_close((uv_handle_t *)&an->interval_timer, NULL);
  ls_ifwatch_close(&an->ifwatch);
  uv_close((uv_handle_t *)&an->pace_timer, NULL);
  for (size_t i = 0; i < an->npublishers; i++) ls_publisher_close(&an->publishers[i]);
  ls_catalog_close(an->catalog);
}

void announcing_free(announcing_t *an) {
  queue_clear(an);
  free(an->queue);
  an->queue = NULL;
}
