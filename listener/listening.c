#include "listening.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ls_announce.h"
#include "ls_net.h"
#include "ls_peers.h"
#include "ls_tags.h"
#include "ls_util.h"

#define WRITE_DELAY_MS 100       /* after a change in who holds what */
#define SEEN_WRITE_DELAY_MS 1000 /* when only last_seen columns moved */
#define RCVBUF_BYTES (4 << 20)

static void schedule_write(listening_t *l, int urgent);

static void write_work_cb(uv_work_t *req) {
  listening_t *l = req->data;
  l->write_rc = ls_write_file_atomic(l->cfg->tags_path, l->pending, l->pending_len, 0);
  l->write_peers_rc = ls_write_file_atomic(l->cfg->peers_path, l->pending_peers, l->pending_peers_len, 0);
}

static void pending_free(listening_t *l) {
  free(l->pending);
  free(l->pending_peers);
  l->pending = l->pending_peers = NULL;
}

static void write_done_cb(uv_work_t *req, int status) {
  listening_t *l = req->data;
  (void)status;
  l->writing = 0;
  pending_free(l);
  if (l->write_rc != 0) ls_error("cannot write %s: %s", l->cfg->tags_path, uv_strerror(l->write_rc));
  if (l->write_peers_rc != 0) ls_error("cannot write %s: %s", l->cfg->peers_path, uv_strerror(l->write_peers_rc));
  if (l->dirty && !l->stopping) schedule_write(l, l->dirty_urgent);
}

static void write_timer_cb(uv_timer_t *t) {
  listening_t *l = t->data;
  if (l->writing) return; /* write_done_cb reschedules */
  ls_tag_entry_t *entries;
  ls_peer_entry_t *peers;
  size_t n, npeers;
  if (peer_table_entries(&l->table, &entries, &n) != 0) return;
  int rc = ls_tags_render(entries, n, &l->pending, &l->pending_len);
  free(entries);
  if (rc == 0 && (rc = peer_table_peers(&l->table, &peers, &npeers)) == 0) {
    rc = ls_peers_render(peers, npeers, &l->pending_peers, &l->pending_peers_len);
    free(peers);
  }
  if (rc != 0) {
    pending_free(l);
    return;
  }
  l->dirty = 0;
  l->dirty_urgent = 0;
  l->writing = 1;
  l->write_work.data = l;
  if (uv_queue_work(l->loop, &l->write_work, write_work_cb, write_done_cb) != 0) {
    l->writing = 0;
    pending_free(l);
  }
}

/* Coalesces rewrites: a change in who holds what is written within
 * WRITE_DELAY_MS; fresher last_seen times alone wait up to a second. */
static void schedule_write(listening_t *l, int urgent) {
  l->dirty = 1;
  if (urgent) l->dirty_urgent = 1;
  if (l->writing) return; /* write_done_cb reschedules */
  uint64_t delay = l->dirty_urgent ? WRITE_DELAY_MS : SEEN_WRITE_DELAY_MS;
  if (uv_is_active((uv_handle_t *)&l->write_timer) && uv_timer_get_due_in(&l->write_timer) <= delay) return;
  uv_timer_start(&l->write_timer, write_timer_cb, delay, 0);
}

static void reject(listening_t *l, const char *from, const char *why) {
  unsigned long dropped;
  l->rejected++;
  if (ls_ratelimit_allow(&l->bad_rl, &dropped))
    ls_warn("dropped datagram from=%s reason=\"%s\" (and %lu more dropped unlogged)", from, why, dropped);
}

/* Opens a datagram sealed with the network key: NULL, *json and *sealed_ms
 * set; else why it is refused. */
static const char *open_sealed(listening_t *l, const char *data, size_t len, const char **json, size_t *json_len,
                               uint64_t *sealed_ms) {
  int rc = ls_auth_open(l->key, data, len, json, json_len, sealed_ms);
  if (rc == -EPROTO) return "sealed the old way (LSK1, without a time): upgrade that peer";
  if (rc != 0) return "not authenticated with the network key";
  uint64_t now = ls_auth_now_ms();
  if (ls_auth_fresh(*sealed_ms, now)) return NULL;
  long long off = (long long)(*sealed_ms / 1000) - (long long)(now / 1000);
  snprintf(l->why, sizeof l->why,
           "sealed %+llds from this host's clock, outside the %ds window: a replay, or clocks that disagree (NTP)", off,
           LS_SEAL_WINDOW_MS / 1000);
  return l->why;
}

/* A peer joined or left: a line, within peer_rl (a flood of fake peers
 * cannot flood the log). */
static void log_peer(listening_t *l, const char *what, const ls_announce_t *a, const char *from, unsigned how) {
  unsigned long dropped;
  if (!ls_ratelimit_allow(&l->peer_rl, &dropped)) return;
  char endpoint[LS_NET_ENDPOINT_MAX], via[48], more[64] = "";
  ls_net_endpoint_format(from, a->port, endpoint, sizeof endpoint);
  ls_how_format(how, via, sizeof via);
  if (dropped > 0) snprintf(more, sizeof more, " (and %lu more joins and leaves unlogged)", dropped);
  ls_info("peer %s tag=%s addr=%s%s via=%s%s", what, a->tag, endpoint, a->type == LS_ANNOUNCE_BYE ? " (goodbye)" : "",
          via, more);
}

/* Why peer_table_apply refused (part of) a datagram, for the log. */
static const char *refusal(listening_t *l, int rc) {
  if (rc == -ESTALE) return "a replay: sealed before the newest datagram taken from this peer";
  snprintf(l->why, sizeof l->why, "over a limit: %s", l->table.refusal);
  return l->why;
}

static unsigned how_of(ls_via_t via) {
  switch (via) {
    case LS_VIA_MULTICAST: return LS_HOW_MULTICAST;
    case LS_VIA_UNICAST: return LS_HOW_UNICAST;
    default: return LS_HOW_BROADCAST;
  }
}

/* Every datagram: from the announcement port (how: by its destination
 * address) or the query socket (answers, unicast): checked, then applied or
 * answered. `answer` is 1 on the announcement port, where a query or a new
 * peer heard by unicast (a peer by hand) gets this peer's round back. */
static void handle_datagram(listening_t *l, const char *data, ssize_t nread, const struct sockaddr *addr, unsigned how,
                            int answer) {
  char from[LS_NET_ADDR_MAX];
  uint16_t from_port;
  ls_net_addr_str(addr, from, sizeof from, &from_port);
  l->datagrams++;
  reporting_touch(&l->reporting);
  if (nread > LS_ANNOUNCE_MAX_PAYLOAD) {
    reject(l, from, "oversized datagram");
    return;
  }
  ls_announce_t a;
  const char *why = NULL;
  const char *json = data;
  size_t json_len = (size_t)nread;
  uint64_t sealed_ms = 0;
  if (l->key != NULL) why = open_sealed(l, data, (size_t)nread, &json, &json_len, &sealed_ms);
  else if (ls_auth_seal_len(data, (size_t)nread) > 0) why = "sealed with a network key; this peer has none";
  if (why != NULL) {
    reporting_key_failure(&l->reporting, from, data, (size_t)nread);
    reject(l, from, why);
    return;
  }
  if (ls_announce_decode(&a, json, json_len, &why) != 0) {
    reject(l, from, why);
    return;
  }
  a.sealed_ms = sealed_ms;
  if (a.type == LS_ANNOUNCE_QUERY) {
    reporting_query(&l->reporting, a.tag);
    if (answer) answering_query(&l->answering, &a, addr);
    return;
  }
  size_t before = peer_table_peer_count(&l->table);
  unsigned long evicted = l->table.evicted_peers;
  int rc = peer_table_apply(&l->table, &a, from, how, uv_now(l->loop), ls_unix_now());
  size_t after = peer_table_peer_count(&l->table);
  if (a.type == LS_ANNOUNCE_BYE && after < before) log_peer(l, "left", &a, from, how);
  else if (after > before || (rc >= 0 && evicted != l->table.evicted_peers)) log_peer(l, "joined", &a, from, how);
  /* A peer by hand is heard by unicast: it learns of us at once, so one
   * side's `peers =` line is enough (answering bounds what this can send). */
  if (answer && how == LS_HOW_UNICAST && after > before) answering_unicast(&l->answering, addr);
  if (rc < 0) reject(l, from, refusal(l, rc));
  if (rc != 0) schedule_write(l, rc != PT_SEEN);
  /* A version of the list this table lacks: fetched now, else at the next beat. */
  if (a.type == LS_ANNOUNCE_BEAT && rc >= 0 && peer_table_wants_list(&l->table, &a, from))
    fetching_start(&l->fetching, &a, from, how);
  ls_announce_free(&a);
}

#define RECV_BATCH 64 /* datagrams per poll callback, so timers still run in a flood */

static void poll_cb(uv_poll_t *p, int status, int events) {
  listen_sock_t *s = p->data;
  listening_t *l = s->owner;
  if (status < 0 || !(events & UV_READABLE)) return;
  for (int i = 0; i < RECV_BATCH && !l->stopping; i++) {
    struct sockaddr_storage src, dst;
    ssize_t n = ls_net_recv(s->fd, l->recv_buf, sizeof l->recv_buf, &src, &dst);
    if (n == UV_EAGAIN) return;
    if (n == UV_EMSGSIZE) n = LS_ANNOUNCE_MAX_PAYLOAD + 1; /* cut short: refused as oversized */
    if (n < 0) return;
    ls_via_t via = ls_net_classify((struct sockaddr *)&dst, &l->bcast);
    l->via[via & 3]++;
    handle_datagram(l, l->recv_buf, n, (struct sockaddr *)&src, how_of(via), 1);
  }
}

static void answer_cb(void *ud, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr, unsigned flags) {
  if (flags & UV_UDP_PARTIAL) nread = LS_ANNOUNCE_MAX_PAYLOAD + 1;
  handle_datagram(ud, buf->base, nread, addr, LS_HOW_UNICAST, 0);
}

/* Binds addr (IPv4 or IPv6; "::" dual-stack only when it is the one socket:
 * beside an IPv4 socket each broadcast would arrive twice) and joins the
 * groups there. 0 or an error code. */
static int open_sock(listening_t *l, listen_sock_t *s, const char *addr, int dual) {
  struct in_addr g4[LS_NET_MAX_TARGETS];
  struct in6_addr g6;
  size_t n4 = 0, n6 = 0;
  const ls_config_t *cfg = l->cfg;
  int fd = ls_net_udp_recv_socket(addr, cfg->udp_port, RCVBUF_BYTES, dual);
  if (fd < 0) return fd;
  s->fd = fd;
  s->owner = l;
  uv_poll_init(l->loop, &s->poll, fd);
  s->poll.data = s;
  int six = strchr(addr, ':') != NULL;
  if (ls_net_groups(cfg->broadcast, cfg->multicast, cfg->multicast6, g4, LS_NET_MAX_TARGETS, &n4, &g6, &n6) == 0 &&
      (six ? n6 : n4) > 0) {
    int joined = ls_net_join_groups(fd, six ? AF_INET6 : AF_INET, g4, n4, &g6, n6);
    ls_info("joined %d multicast group(s) on %s (per interface)", joined, six ? "IPv6" : "IPv4");
  }
  return 0;
}

/* IPv4 and IPv6 with the default listen_addr (IPv6 where the host has it);
 * only the one family of any other address. */
static int open_socks(listening_t *l, char *err, size_t errlen) {
  const char *addr = l->cfg->listen_addr;
  int any = strcmp(addr, "0.0.0.0") == 0, six = strchr(addr, ':') != NULL;
  l->sock[0].fd = l->sock[1].fd = -1;
  int rc = six ? 0 : open_sock(l, &l->sock[0], addr, 0);
  if (rc == 0 && (six || (any && ls_net_ipv6_usable()))) {
    rc = open_sock(l, &l->sock[1], six ? addr : "::", six);
    if (rc != 0 && any) {
      ls_info("no IPv6 socket (%s): IPv4 only", uv_strerror(rc));
      rc = 0;
    }
  }
  if (rc != 0) snprintf(err, errlen, "cannot listen on UDP %s:%d: %s", addr, l->cfg->udp_port, uv_strerror(rc));
  return rc;
}

static void feed_changed(void *ud, int urgent) {
  schedule_write(ud, urgent);
}

static void expire_cb(uv_timer_t *t) {
  listening_t *l = t->data;
  size_t before = peer_table_peer_count(&l->table);
  size_t removed = peer_table_expire(&l->table, uv_now(l->loop));
  size_t after = peer_table_peer_count(&l->table);
  if (before > after) ls_info("%zu silent peer(s) dropped", before - after);
  if (removed > 0) schedule_write(l, 1);
}

/* What an earlier run knew stays until it expires, so a restart does not
 * blank tags.txt for the downloader, nor peers.txt. */
static void load_old_tags(listening_t *l) {
  ls_tag_entry_t *old;
  size_t nold, bad;
  if (ls_tags_read(l->cfg->tags_path, &old, &nold, &bad) != 0) return;
  peer_table_load(&l->table, old, nold, uv_now(l->loop), ls_unix_now());
  if (nold > 0 || bad > 0) ls_info("loaded %zu entries from %s (%zu invalid lines ignored)", nold, l->cfg->tags_path, bad);
  ls_tags_free(old, nold);
  ls_peer_entry_t *peers;
  if (ls_peers_read(l->cfg->peers_path, &peers, &nold, &bad) != 0) return;
  peer_table_load_peers(&l->table, peers, nold, uv_now(l->loop), ls_unix_now());
  if (bad > 0) ls_info("%s: %zu invalid lines ignored", l->cfg->peers_path, bad);
  free(peers);
}

int listening_init(listening_t *l, uv_loop_t *loop, const ls_config_t *cfg, const ls_key_t *key, char *err,
                   size_t errlen) {
  memset(l, 0, sizeof *l);
  l->cfg = cfg;
  l->key = key;
  l->loop = loop;
  ls_ratelimit_init(&l->bad_rl, 10, 10000);
  ls_ratelimit_init(&l->peer_rl, PEER_LOG_BURST, PEER_LOG_PERIOD_MS);
  peer_table_init(&l->table, cfg->interval);
  l->table.max_bytes = cfg->tags_max_bytes;
  load_old_tags(l);
  ls_net_bcast_set(cfg->broadcast, &l->bcast);
  int rc = open_socks(l, err, errlen);
  if (rc != 0) return rc;
  if ((rc = asking_init(&l->asking, loop, cfg, key, answer_cb, l, err, errlen)) != 0) return rc;
  answering_init(&l->answering, loop, cfg, key, l->sock[0].fd, l->sock[1].fd);
  reporting_init(&l->reporting, loop, cfg, &l->datagrams, &l->rejected, &l->answering.answers);
  fetching_init(&l->fetching, loop, key, &l->table, feed_changed, l);
  uv_timer_init(loop, &l->expire_timer);
  uv_timer_init(loop, &l->write_timer);
  l->expire_timer.data = l->write_timer.data = l;
  char addrs[LS_MAX_TRACKERS][LS_TRACKER_ADDR_LEN];
  size_t ntrackers = 0;
  const char *why;
  if (ls_config_tracker_list(cfg->tracker, addrs, &ntrackers, &why) != 0) {
    snprintf(err, errlen, "tracker: %s; got '%s'", why, cfg->tracker);
    return UV_EINVAL;
  }
  if (ntrackers > 0) {
    tracker_feeds_init(loop, &l->feeds, addrs, ntrackers, key, &l->table, cfg->interval, feed_changed, l);
    l->use_tracker = 1;
  }
  return 0;
}

void listening_start(listening_t *l) {
  for (int i = 0; i < 2; i++)
    if (l->sock[i].fd >= 0) uv_poll_start(&l->sock[i].poll, UV_READABLE, poll_cb);
  uv_timer_start(&l->expire_timer, expire_cb, 1000, 1000);
  schedule_write(l, 1); /* tags.txt exists from the start, even if empty */
  reporting_start(&l->reporting);
  asking_start(&l->asking); /* the peers answer at once: no waiting for their next rounds */
  if (l->use_tracker) {
    tracker_feeds_start(&l->feeds);
    ls_info("also reading the tracker(s) at %s: subscribed, and a full list every %us", l->cfg->tracker,
            l->cfg->interval);
  }
  ls_info("listening on UDP %s:%d, writing %s", l->cfg->listen_addr, l->cfg->udp_port, l->cfg->tags_path);
}

void listening_close(listening_t *l) {
  if (l->stopping) return;
  l->stopping = 1;
  for (int i = 0; i < 2; i++) {
    if (l->sock[i].fd < 0) continue;
    uv_close((uv_handle_t *)&l->sock[i].poll, NULL); /* stops polling the fd first */
    close(l->sock[i].fd);
    l->sock[i].fd = -1;
  }
  uv_close((uv_handle_t *)&l->expire_timer, NULL);
  uv_close((uv_handle_t *)&l->write_timer, NULL);
  asking_close(&l->asking);
  answering_close(&l->answering);
  reporting_close(&l->reporting);
  fetching_close(&l->fetching);
  if (l->use_tracker) tracker_feeds_close(&l->feeds);
}

void listening_free(listening_t *l) {
  pending_free(l);
  fetching_free(&l->fetching);
  peer_table_close(&l->table);
}
