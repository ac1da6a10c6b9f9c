#include "tracker_feed.h"

#include <stdlib.h>
#include <string.h>

#include "ls_log.h"
#include "ls_util.h"

static void acc_clear(tracker_feed_t *tf) {
  for (size_t i = 0; i < tf->nacc; i++) free(tf->acc[i].file.name);
  tf->nacc = 0;
}

static void request_page(tracker_feed_t *tf, uint32_t offset) {
  ls_tmsg_t m;
  memset(&m, 0, sizeof m);
  m.type = LS_TMSG_LIST;
  m.id = ++tf->list_id;
  m.offset = offset;
  m.limit = LS_TMSG_MAX_FILES;
  if (ls_tclient_send(&tf->client, &m) == 0) tf->listing = 1;
}

static int cmp_host(const void *a, const void *b) {
  const ls_tentry_t *x = a, *y = b;
  int c = strcmp(x->host, y->host);
  if (c == 0) c = strcmp(x->addr, y->addr);
  if (c == 0) c = (int)x->port - (int)y->port;
  return c;
}

static int same_host(const ls_tentry_t *x, const ls_tentry_t *y) {
  return strcmp(x->host, y->host) == 0 && strcmp(x->addr, y->addr) == 0 && x->port == y->port;
}

/* A complete listing: one synthetic announcement round per host. */
static void apply_listing(tracker_feed_t *tf) {
  uv_loop_t *loop = tf->client.loop;
  uint64_t now_ms = uv_now(loop);
  int64_t now_unix = ls_unix_now();
  int changed = 0;
  tf->seq++;
  if (tf->nacc > 1) qsort(tf->acc, tf->nacc, sizeof *tf->acc, cmp_host);
  ls_tentry_t *hosts = malloc((tf->nacc + 1) * sizeof *hosts);
  size_t nhosts = 0;
  ls_announce_file_t *files = malloc((tf->nacc + 1) * sizeof *files);
  if (hosts == NULL || files == NULL) {
    free(hosts);
    free(files);
    acc_clear(tf);
    return;
  }
  for (size_t i = 0; i < tf->nacc;) {
    size_t j = i;
    while (j < tf->nacc && same_host(&tf->acc[j], &tf->acc[i])) {
      files[j - i] = tf->acc[j].file;
      j++;
    }
    ls_announce_t a;
    memset(&a, 0, sizeof a);
    a.type = LS_ANNOUNCE_FILES;
    memcpy(a.tag, tf->acc[i].host, sizeof a.tag);
    a.port = tf->acc[i].port;
    a.interval = tf->interval;
    a.seq = tf->seq;
    a.pages = 1;
    a.files = files;
    a.nfiles = j - i;
    if (peer_table_apply(tf->table, &a, tf->acc[i].addr, LS_HOW_TRACKER, now_ms, now_unix) != PT_UNCHANGED)
      changed = 1;
    hosts[nhosts] = tf->acc[i];
    hosts[nhosts++].file.name = NULL;
    i = j;
  }
  free(files);
  /* Hosts the tracker no longer lists left (or were dropped by it). */
  for (size_t k = 0; k < tf->nknown; k++) {
    int still = 0;
    for (size_t h = 0; h < nhosts && !still; h++) still = same_host(&tf->known[k], &hosts[h]);
    if (still) continue;
    ls_announce_t bye;
    memset(&bye, 0, sizeof bye);
    bye.type = LS_ANNOUNCE_BYE;
    memcpy(bye.tag, tf->known[k].host, sizeof bye.tag);
    bye.port = tf->known[k].port;
    if (peer_table_apply(tf->table, &bye, tf->known[k].addr, LS_HOW_TRACKER, now_ms, now_unix) != PT_UNCHANGED)
      changed = 1;
  }
  free(tf->known);
  tf->known = hosts;
  tf->nknown = nhosts;
  acc_clear(tf);
  if (changed && tf->on_change) tf->on_change(tf->ud, 1);
}

static void on_msg(ls_tclient_t *c, ls_tmsg_t *m) {
  tracker_feed_t *tf = c->data;
  if (ls_tclient_answer_ping(c, m)) return;
  if (m->type != LS_TMSG_ENTRIES || m->id != tf->list_id || !tf->listing) return;
  for (size_t i = 0; i < m->nentries; i++) {
    if (tf->nacc == tf->cap) {
      size_t cap = tf->cap ? tf->cap * 2 : 256;
      ls_tentry_t *v = realloc(tf->acc, cap * sizeof *v);
      if (v == NULL) break;
      tf->acc = v;
      tf->cap = cap;
    }
    tf->acc[tf->nacc] = m->entries[i];
    tf->acc[tf->nacc].file.name = strdup(m->entries[i].file.name);
    if (tf->acc[tf->nacc].file.name != NULL) tf->nacc++;
  }
  uint32_t next = m->offset + (uint32_t)m->nentries;
  if (m->nentries > 0 && next < m->total && tf->nacc < PEER_TABLE_MAX_FILES) {
    request_page(tf, next);
    return;
  }
  tf->listing = 0;
  apply_listing(tf);
}

static void poll_cb(uv_timer_t *t) {
  tracker_feed_t *tf = t->data;
  if (tf->listing || !tf->client.connected) return;
  acc_clear(tf);
  request_page(tf, 0);
}

static void on_up(ls_tclient_t *c) {
  tracker_feed_t *tf = c->data;
  tf->listing = 0;
  acc_clear(tf);
  request_page(tf, 0);
}

static void on_down(ls_tclient_t *c) {
  tracker_feed_t *tf = c->data;
  tf->listing = 0; /* what we learnt stays until it expires like any announcement */
}

int tracker_feed_init(uv_loop_t *loop, tracker_feed_t *tf, const char *addr, peer_table_t *table, unsigned interval,
                      tracker_feed_cb cb, void *ud) {
  memset(tf, 0, sizeof *tf);
  int rc = ls_tclient_init(loop, &tf->client, addr, on_up, on_msg, on_down);
  if (rc != 0) return rc;
  tf->client.data = tf;
  tf->table = table;
  tf->interval = interval;
  tf->on_change = cb;
  tf->ud = ud;
  uv_timer_init(loop, &tf->poll);
  tf->poll.data = tf;
  return 0;
}

void tracker_feed_start(tracker_feed_t *tf) {
  ls_tclient_start(&tf->client);
  uint64_t ms = (uint64_t)tf->interval * 1000;
  uv_timer_start(&tf->poll, poll_cb, ms, ms);
}

void tracker_feed_close(tracker_feed_t *tf) {
  ls_tclient_close(&tf->client);
  uv_close((uv_handle_t *)&tf->poll, NULL);
  acc_clear(tf);
  free(tf->acc);
  free(tf->known);
  tf->acc = tf->known = NULL;
}
