#include "listening.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  listening_t *l = h->data;
  (void)suggested;
  *buf = uv_buf_init(l->recv_buf, sizeof l->recv_buf);
}

/* Every datagram, from the announcement port (broadcasts) or the query
 * socket (answers, heard unicast): checked, then applied or answered. */
static void handle_datagram(listening_t *l, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                            unsigned flags, unsigned how) {
  char from[32];
  uint16_t from_port;
  ls_net_addr_str(addr, from, sizeof from, &from_port);
  l->datagrams++;
  if ((flags & UV_UDP_PARTIAL) || nread > LS_ANNOUNCE_MAX_PAYLOAD) {
    reject(l, from, "oversized datagram");
    return;
  }
  if (addr->sa_family != AF_INET) {
    reject(l, from, "not IPv4");
    return;
  }
  ls_announce_t a;
  const char *why;
  const char *json = buf->base;
  size_t json_len = (size_t)nread;
  if (l->key != NULL && ls_auth_open(l->key, buf->base, (size_t)nread, &json, &json_len) != 0) {
    reject(l, from, "not authenticated with the network key");
    return;
  }
  if (ls_announce_decode(&a, json, json_len, &why) != 0) {
    reject(l, from, why);
    return;
  }
  if (a.type == LS_ANNOUNCE_QUERY) {
    answering_query(&l->answering, &a, addr);
    return;
  }

  size_t before = peer_table_peer_count(&l->table);
  int rc = peer_table_apply(&l->table, &a, from, how, uv_now(l->loop), ls_unix_now());
  size_t after = peer_table_peer_count(&l->table);

  if (a.type == LS_ANNOUNCE_BYE && after < before) ls_info("peer left tag=%s addr=%s:%u (goodbye)", a.tag, from, a.port);
  else if (after > before) ls_info("peer joined tag=%s addr=%s:%u", a.tag, from, a.port);
  if (rc < 0) reject(l, from, "over a limit (peers or files)");
  if (rc != 0) schedule_write(l, rc != PT_SEEN);
  /* A version of the list this table lacks: fetched now, else at the next beat. */
  if (a.type == LS_ANNOUNCE_BEAT && rc >= 0 && peer_table_wants_list(&l->table, &a, from))
    fetching_start(&l->fetching, &a, from, how);
  ls_announce_free(&a);
}

/* Until the listener tells how a datagram arrived (IP_PKTINFO), whatever
 * comes to the announcement port counts as broadcast. */
static void recv_cb(uv_udp_t *udp, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr, unsigned flags) {
  if (nread <= 0 || addr == NULL) return;
  handle_datagram(udp->data, nread, buf, addr, flags, LS_HOW_BROADCAST);
}

static void answer_cb(void *ud, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr, unsigned flags) {
  handle_datagram(ud, nread, buf, addr, flags, LS_HOW_UNICAST);
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
  peer_table_init(&l->table, cfg->interval);
  load_old_tags(l);
  int rc = ls_net_udp_open(loop, &l->udp, cfg->listen_addr, cfg->udp_port, RCVBUF_BYTES);
  if (rc != 0) {
    snprintf(err, errlen, "cannot listen on UDP %s:%d: %s", cfg->listen_addr, cfg->udp_port, uv_strerror(rc));
    return rc;
  }
  l->udp.data = l;
  if ((rc = asking_init(&l->asking, loop, cfg, key, answer_cb, l, err, errlen)) != 0) return rc;
  answering_init(&l->answering, loop, cfg, &l->udp);
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
  uv_udp_recv_start(&l->udp, alloc_cb, recv_cb);
  uv_timer_start(&l->expire_timer, expire_cb, 1000, 1000);
  schedule_write(l, 1); /* tags.txt exists from the start, even if empty */
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
  uv_close((uv_handle_t *)&l->udp, NULL);
  uv_close((uv_handle_t *)&l->expire_timer, NULL);
  uv_close((uv_handle_t *)&l->write_timer, NULL);
  asking_close(&l->asking);
  answering_close(&l->answering);
  fetching_close(&l->fetching);
  if (l->use_tracker) tracker_feeds_close(&l->feeds);
}

void listening_free(listening_t *l) {
  pending_free(l);
  fetching_free(&l->fetching);
  peer_table_close(&l->table);
}
