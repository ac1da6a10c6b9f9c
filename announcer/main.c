/* lanswarm-announcer: tells the LAN what this peer shares.
 *
 * Broadcasts the catalog (ls_catalog) as paged JSON datagrams (ls_announce):
 * once the first scan is done, every interval, soon after the share changes,
 * and a goodbye on SIGINT/SIGTERM. Datagrams are paced so a long list does not
 * overrun the listeners' socket buffers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "ls_announce.h"
#include "ls_auth.h"
#include "ls_catalog.h"
#include "ls_config.h"
#include "ls_daemon.h"
#include "ls_log.h"
#include "ls_net.h"
#include "ls_publisher.h"

#define PACE_MS 2          /* one burst of datagrams every PACE_MS */
#define PACE_BURST 16      /* datagrams per burst and target */

typedef struct {
  char *data;
  size_t len;
} datagram_t;

typedef struct {
  ls_config_t cfg;
  uv_loop_t *loop;
  uv_udp_t udp;
  uv_timer_t interval_timer;
  uv_timer_t pace_timer;
  ls_signals_t signals;
  ls_catalog_t *catalog;
  struct sockaddr_in targets[LS_NET_MAX_TARGETS];
  size_t ntargets;
  uint32_t seq;
  datagram_t *queue;   /* the current round's pages */
  size_t queue_len;
  size_t queue_cap;
  size_t next_page;    /* next page to send */
  size_t next_target;
  int stopping;
  int use_tracker;
  ls_publisher_t publisher;   /* with `tracker` configured */
  ls_key_t key;               /* with `key_file` configured */
} announcer_t;

static void queue_clear(announcer_t *an) {
  for (size_t i = 0; i < an->queue_len; i++) free(an->queue[i].data);
  an->queue_len = an->next_page = an->next_target = 0;
}

static int queue_push(void *ud, const char *buf, size_t len) {
  announcer_t *an = ud;
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
  if (an->key.set) len = (size_t)ls_auth_seal(&an->key, copy, len, copy, len + LS_SEAL_OVERHEAD);
  datagram_t *d = &an->queue[an->queue_len++]; /* the queue owns it; queue_clear frees it */
  d->data = copy;
  d->len = len;
  return 0;
}

/* Sends up to PACE_BURST pages per target; returns 1 when the round is done. */
static int send_some(announcer_t *an) {
  for (unsigned sent = 0; sent < PACE_BURST * an->ntargets && an->next_page < an->queue_len; sent++) {
    datagram_t *d = &an->queue[an->next_page];
    uv_buf_t b = uv_buf_init(d->data, (unsigned)d->len);
    int rc = uv_udp_try_send(&an->udp, &b, 1, (const struct sockaddr *)&an->targets[an->next_target]);
    if (rc == UV_EAGAIN) return 0; /* socket buffer full: next tick */
    if (rc < 0) {
      static ls_ratelimit_t rl = {5, 10000, 0, 0, 0};
      unsigned long dropped;
      char addr[32];
      ls_net_addr_str((const struct sockaddr *)&an->targets[an->next_target], addr, sizeof addr, NULL);
      if (ls_ratelimit_allow(&rl, &dropped)) ls_warn("send to %s failed: %s", addr, uv_strerror(rc));
    }
    if (++an->next_target == an->ntargets) {
      an->next_target = 0;
      an->next_page++;
    }
  }
  return an->next_page >= an->queue_len;
}

static void pace_cb(uv_timer_t *t) {
  announcer_t *an = t->data;
  if (send_some(an)) uv_timer_stop(&an->pace_timer);
}

static void announce(announcer_t *an, const char *why) {
  const ls_catalog_snapshot_t *snap = ls_catalog_current(an->catalog);
  if (snap == NULL || an->stopping) return;
  ls_announce_file_t *files = calloc(snap->count + 1, sizeof *files);
  if (files == NULL) return;
  for (size_t i = 0; i < snap->count; i++) {
    const ls_catalog_entry_t *e = &snap->entries[i];
    files[i].name = e->name;
    files[i].size = e->manifest.size;
    files[i].chunk_size = e->manifest.chunk_size;
    memcpy(files[i].root, e->manifest.root, LS_HASH_LEN);
    files[i].complete = e->nhave == e->manifest.nchunks;
  }
  /* A new round replaces what is left of the previous one. */
  queue_clear(an);
  size_t skipped = 0;
  an->seq++;
  int pages = ls_announce_encode_pages_r(an->cfg.tag, (uint16_t)an->cfg.tcp_port, an->cfg.interval, an->seq, files,
                                         snap->count, an->key.set ? LS_SEAL_OVERHEAD : 0, queue_push, an, &skipped);
  free(files);
  if (pages < 0) {
    ls_error("cannot encode announcement: %s", uv_strerror(pages));
    queue_clear(an);
    return;
  }
  if (skipped > 0) ls_warn("%zu file(s) not announced: name too long for one datagram", skipped);
  ls_debug("announce seq=%u files=%zu pages=%d reason=%s", an->seq, snap->count - skipped, pages, why);
  if (!send_some(an)) uv_timer_start(&an->pace_timer, pace_cb, PACE_MS, PACE_MS);
}

static void interval_cb(uv_timer_t *t) {
  announce(t->data, "interval");
}

static void catalog_cb(ls_catalog_t *cat, void *ud) {
  announcer_t *an = ud;
  const ls_catalog_snapshot_t *snap = ls_catalog_current(cat);
  ls_info("share: %zu file(s)", snap->count);
  announce(an, "change");
  /* The periodic announcement counts from the last one. */
  uv_timer_again(&an->interval_timer);
  if (an->use_tracker) ls_publisher_sync(&an->publisher);
}

static void name_taken(ls_publisher_t *p, const char *reason) {
  /* A daemon cannot ask for another name: it says so and tries again later,
   * when the other host may have left. */
  ls_error("tracker refuses the tag %s: %s (set another tag)", p->host, reason);
  ls_tclient_drop(&p->client, "name taken");
}

static void send_goodbye(announcer_t *an) {
  char buf[LS_ANNOUNCE_MAX_PAYLOAD * 2];
  int n = ls_announce_encode_bye(an->cfg.tag, (uint16_t)an->cfg.tcp_port, buf, sizeof buf);
  if (n < 0) return;
  if (an->key.set) n = ls_auth_seal(&an->key, buf, (size_t)n, buf, sizeof buf);
  if (n < 0) return;
  for (size_t i = 0; i < an->ntargets; i++) {
    uv_buf_t b = uv_buf_init(buf, (unsigned)n);
    uv_udp_try_send(&an->udp, &b, 1, (const struct sockaddr *)&an->targets[i]);
  }
}

static void on_signal(ls_signals_t *s, int signum) {
  announcer_t *an = s->data;
  if (an->stopping) return;
  an->stopping = 1;
  ls_info("signal %d: saying goodbye", signum);
  send_goodbye(an);
  queue_clear(an);
  uv_close((uv_handle_t *)&an->udp, NULL);
  uv_close((uv_handle_t *)&an->interval_timer, NULL);
  uv_close((uv_handle_t *)&an->pace_timer, NULL);
  ls_signals_close(&an->signals);
  if (an->use_tracker) ls_publisher_close(&an->publisher);
  ls_catalog_close(an->catalog);
}

static const ls_config_program_t program = {
    .program = "lanswarm-announcer",
    .synopsis = "[OPTIONS]",
    .description = "Broadcasts the list of files this peer shares (share/, downloads/ and partial\n"
                   "downloads in temp/) as JSON datagrams: at start, every --interval seconds,\n"
                   "within about a second of a change, and a goodbye on SIGINT/SIGTERM.\n"
                   "With --tracker ADDR:PORT it also registers with that tracker under its tag\n"
                   "and keeps the tracker's copy of its file list current (hybrid model).",
    .reads = LS_PROG_ANNOUNCER,
    .start = LS_START_MAKE_DIRS,
};

int main(int argc, char **argv) {
  announcer_t an;
  memset(&an, 0, sizeof an);
  ls_daemon_t d = {.cfg = &an.cfg, .key = &an.key};
  int rc = ls_daemon_start(&d, &program, argc, argv);
  if (rc != LS_DAEMON_RUN) return rc;
  if (an.cfg.tcp_port == 0) {
    fprintf(stderr, "lanswarm-announcer: --tcp-port must name the chunk server's port\n");
    return 2;
  }
  rc = ls_net_broadcast_targets(an.cfg.broadcast, an.cfg.udp_port, an.targets, LS_NET_MAX_TARGETS, &an.ntargets);
  if (rc != 0) {
    fprintf(stderr, "lanswarm-announcer: no broadcast address from '%s': %s\n", an.cfg.broadcast, uv_strerror(rc));
    return 1;
  }
  an.loop = d.loop;
  if ((rc = ls_net_udp_open(an.loop, &an.udp, "0.0.0.0", 0, 0)) != 0) {
    fprintf(stderr, "lanswarm-announcer: cannot open UDP socket: %s\n", uv_strerror(rc));
    return 1;
  }
  uv_timer_init(an.loop, &an.interval_timer);
  uv_timer_init(an.loop, &an.pace_timer);
  an.interval_timer.data = an.pace_timer.data = &an;
  uv_timer_start(&an.interval_timer, interval_cb, (uint64_t)an.cfg.interval * 1000, (uint64_t)an.cfg.interval * 1000);
  ls_signals_init(an.loop, &an.signals, on_signal, &an);
  ls_catalog_dirs_t dirs = {an.cfg.share_dir, an.cfg.downloads_dir, an.cfg.temp_dir, an.cfg.cache_dir,
                            an.cfg.chunk_size};
  if ((rc = ls_catalog_new(an.loop, &dirs, an.cfg.rescan, catalog_cb, &an, &an.catalog)) != 0) return 1;
  ls_catalog_start(an.catalog);
  if (an.cfg.tracker[0]) {
    if (ls_publisher_init(an.loop, &an.publisher, an.cfg.tracker, an.cfg.tag, (uint16_t)an.cfg.tcp_port, an.catalog) != 0) {
      fprintf(stderr, "lanswarm-announcer: tracker: expected ADDRESS:PORT with a dotted IPv4 address, got '%s'\n",
              an.cfg.tracker);
      return 2;
    }
    an.publisher.on_taken = name_taken;
    an.publisher.client.key = an.key.set ? &an.key : NULL;
    an.use_tracker = 1;
    ls_publisher_start(&an.publisher);
  }
  for (size_t i = 0; i < an.ntargets; i++) {
    char addr[32];
    ls_net_addr_str((const struct sockaddr *)&an.targets[i], addr, sizeof addr, NULL);
    ls_info("announcing tag=%s to %s:%d every %us, chunk server port %d", an.cfg.tag, addr, an.cfg.udp_port,
            an.cfg.interval, an.cfg.tcp_port);
  }
  uv_run(an.loop, UV_RUN_DEFAULT);
  queue_clear(&an);
  free(an.queue);
  uv_loop_close(an.loop);
  ls_info("stopped");
  return 0;
}
