#include "tracker_feed.h"

#include <stdlib.h>
#include <string.h>

#include "ls_log.h"
#include "ls_util.h"

#define NO_SUB_RETRY_MS (10 * 60 * 1000) /* subscribe again this long after a tracker closed on it */

/* ---------- rows: a listing, names owned ---------- */

static void rows_clear(tracker_rows_t *r) {
  for (size_t i = 0; i < r->n; i++) free(r->v[i].file.name);
  r->n = 0;
}

static void rows_free(tracker_rows_t *r) {
  rows_clear(r);
  free(r->v);
  memset(r, 0, sizeof *r);
}

/* Appends copies of entries, up to the peer table's bound on files. */
static void rows_add(tracker_rows_t *r, const ls_tentry_t *entries, size_t n) {
  for (size_t i = 0; i < n && r->n < PEER_TABLE_MAX_FILES; i++) {
    if (r->n == r->cap) {
      size_t cap = r->cap ? r->cap * 2 : 256;
      ls_tentry_t *v = realloc(r->v, cap * sizeof *v);
      if (v == NULL) return;
      r->v = v;
      r->cap = cap;
    }
    r->v[r->n] = entries[i];
    r->v[r->n].file.name = strdup(entries[i].file.name);
    if (r->v[r->n].file.name != NULL) r->n++;
  }
}

/* ---------- the merge of every feed's listing into the peer table ---------- */

typedef struct {
  const ls_tentry_t *e;
  int up;                    /* from a tracker connected now */
} merged_row_t;

static int cmp_host(const ls_tentry_t *x, const ls_tentry_t *y) {
  int c = strcmp(x->host, y->host);
  if (c == 0) c = strcmp(x->addr, y->addr);
  if (c == 0) c = (int)x->port - (int)y->port;
  return c;
}

static int cmp_row(const void *a, const void *b) {
  const merged_row_t *x = a, *y = b;
  int c = cmp_host(x->e, y->e);
  if (c == 0) c = strcmp(x->e->file.name, y->e->file.name);
  if (c == 0) c = y->up - x->up; /* a connected tracker's row first */
  return c;
}

/* Every row of every feed's last listing, sorted by host then name. */
static merged_row_t *collect_rows(tracker_feeds_t *s, size_t *n) {
  size_t total = 0, k = 0;
  for (size_t i = 0; i < s->n; i++) total += s->feeds[i].listing.n;
  merged_row_t *rows = malloc((total + 1) * sizeof *rows);
  if (rows == NULL) return NULL;
  for (size_t i = 0; i < s->n; i++) {
    tracker_feed_t *tf = &s->feeds[i];
    for (size_t j = 0; tf->has_listing && j < tf->listing.n; j++)
      rows[k++] = (merged_row_t){&tf->listing.v[j], tf->client.connected};
  }
  qsort(rows, k, sizeof *rows, cmp_row);
  *n = k;
  return rows;
}

/* One host's rows [i, j): the connected trackers' files, each name once, as
 * one whole announcement round. Returns 1 if the table changed. */
static int apply_host(tracker_feeds_t *s, const merged_row_t *rows, size_t i, size_t j, ls_announce_file_t *files,
                      uint64_t now_ms, int64_t now_unix) {
  size_t nfiles = 0;
  for (size_t k = i; k < j; k++) {
    if (!rows[k].up) continue;
    if (nfiles > 0 && strcmp(files[nfiles - 1].name, rows[k].e->file.name) == 0) continue;
    files[nfiles++] = rows[k].e->file;
  }
  if (nfiles == 0) return 0; /* only a tracker that is down lists it: it expires as usual */
  ls_announce_t a;
  memset(&a, 0, sizeof a);
  a.type = LS_ANNOUNCE_FILES;
  memcpy(a.tag, rows[i].e->host, sizeof a.tag);
  a.port = rows[i].e->port;
  a.interval = s->interval;
  a.seq = s->seq;
  a.pages = 1;
  a.files = files;
  a.nfiles = nfiles;
  return peer_table_apply(s->table, &a, rows[i].e->addr, LS_HOW_TRACKER, now_ms, now_unix) != PT_UNCHANGED;
}

/* Hosts of the last merge that no listing holds any more left (or were
 * dropped by their trackers): a goodbye each. hosts is sorted. */
static int drop_gone(tracker_feeds_t *s, const ls_tentry_t *hosts, size_t nhosts, uint64_t now_ms, int64_t now_unix) {
  int changed = 0;
  size_t h = 0;
  for (size_t k = 0; k < s->nknown; k++) {
    while (h < nhosts && cmp_host(&hosts[h], &s->known[k]) < 0) h++;
    if (h < nhosts && cmp_host(&hosts[h], &s->known[k]) == 0) continue;
    ls_announce_t bye;
    memset(&bye, 0, sizeof bye);
    bye.type = LS_ANNOUNCE_BYE;
    memcpy(bye.tag, s->known[k].host, sizeof bye.tag);
    bye.port = s->known[k].port;
    if (peer_table_apply(s->table, &bye, s->known[k].addr, LS_HOW_TRACKER, now_ms, now_unix) != PT_UNCHANGED) changed = 1;
  }
  return changed;
}

static void merge(tracker_feeds_t *s) {
  uint64_t now_ms = uv_now(s->feeds[0].client.loop);
  int64_t now_unix = ls_unix_now();
  size_t n = 0, nhosts = 0;
  merged_row_t *rows = collect_rows(s, &n);
  ls_tentry_t *hosts = malloc((n + 1) * sizeof *hosts);
  ls_announce_file_t *files = malloc((n + 1) * sizeof *files);
  int changed = 0;
  if (rows == NULL || hosts == NULL || files == NULL) goto out;
  s->seq++;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && cmp_host(rows[j].e, rows[i].e) == 0) j++;
    changed |= apply_host(s, rows, i, j, files, now_ms, now_unix);
    hosts[nhosts] = *rows[i].e;
    hosts[nhosts++].file.name = NULL;
    i = j;
  }
  changed |= drop_gone(s, hosts, nhosts, now_ms, now_unix);
  free(s->known);
  s->known = hosts;
  s->nknown = nhosts;
  hosts = NULL;
  if (changed && s->on_change) s->on_change(s->ud, 1);
out:
  free(rows);
  free(hosts);
  free(files);
}

/* A feed's listing is complete: it replaces the feed's last one. */
static void listing_done(tracker_feed_t *tf, tracker_rows_t *acc) {
  rows_free(&tf->listing);
  tf->listing = *acc;
  memset(acc, 0, sizeof *acc);
  tf->has_listing = 1;
  merge(tf->set);
}

/* ---------- one tracker ---------- */

static uint32_t next_id(tracker_feed_t *tf) {
  if (++tf->next_id >= 0x7FFFFFFF) tf->next_id = 1;
  return tf->next_id;
}

static void request_page(tracker_feed_t *tf, uint32_t offset) {
  ls_tmsg_t m;
  memset(&m, 0, sizeof m);
  m.type = LS_TMSG_LIST;
  m.id = tf->list_id = next_id(tf);
  m.offset = offset;
  m.limit = LS_TMSG_MAX_FILES;
  tf->listing_in_flight = ls_tclient_send(&tf->client, &m) == 0;
}

static void subscribe(tracker_feed_t *tf) {
  ls_tmsg_t m;
  memset(&m, 0, sizeof m);
  m.type = LS_TMSG_SUBSCRIBE;
  m.id = tf->sub_id = next_id(tf);
  rows_clear(&tf->push_acc);
  ls_tclient_send(&tf->client, &m);
}

/* A page of the answer to our LIST: the next page is asked for. */
static void on_list_page(tracker_feed_t *tf, const ls_tmsg_t *m) {
  rows_add(&tf->list_acc, m->entries, m->nentries);
  uint32_t next = m->offset + (uint32_t)m->nentries;
  if (m->nentries > 0 && next < m->total && tf->list_acc.n < PEER_TABLE_MAX_FILES) {
    request_page(tf, next);
    return;
  }
  tf->listing_in_flight = 0;
  listing_done(tf, &tf->list_acc);
}

/* A page of a push: the tracker sends every page of a listing in order,
 * from offset 0; a page out of order waits for the next listing. */
static void on_push_page(tracker_feed_t *tf, const ls_tmsg_t *m) {
  tf->sub_confirmed = 1;
  if (m->offset == 0) rows_clear(&tf->push_acc);
  else if (m->offset != tf->push_acc.n) return;
  rows_add(&tf->push_acc, m->entries, m->nentries);
  if (m->nentries == 0 || m->offset + (uint32_t)m->nentries >= m->total || tf->push_acc.n >= PEER_TABLE_MAX_FILES) {
    /* A LIST answer still coming is older than this push: dropped. */
    tf->listing_in_flight = 0;
    tf->list_id = 0;
    rows_clear(&tf->list_acc);
    listing_done(tf, &tf->push_acc);
  }
}

static void on_msg(ls_tclient_t *c, ls_tmsg_t *m) {
  tracker_feed_t *tf = c->data;
  if (ls_tclient_answer_ping(c, m)) return;
  if (m->type == LS_TMSG_ERROR && m->id == tf->sub_id && tf->sub_id != 0) {
    tf->sub_confirmed = 1; /* answered, if with a refusal */
    ls_info("tracker %s does not push (%s): reading it every %us", c->addr_text, m->reason, tf->set->interval);
    return;
  }
  if (m->type != LS_TMSG_ENTRIES) return;
  if (m->id == tf->sub_id) on_push_page(tf, m);
  else if (m->id == tf->list_id && tf->listing_in_flight) on_list_page(tf, m);
}

static void poll_cb(uv_timer_t *t) {
  tracker_feed_t *tf = t->data;
  if (tf->listing_in_flight || !tf->client.connected) return;
  rows_clear(&tf->list_acc);
  request_page(tf, 0);
}

/* After every (re)connect: subscribe, and list once in case the tracker
 * does not know SUBSCRIBE. */
static void on_up(ls_tclient_t *c) {
  tracker_feed_t *tf = c->data;
  tf->sub_confirmed = 0;
  tf->sub_id = 0;
  if (uv_now(c->loop) >= tf->no_sub_until_ms) subscribe(tf);
  rows_clear(&tf->list_acc);
  request_page(tf, 0);
}

/* A tracker older than SUBSCRIBE closes the connection on it, unanswered:
 * then this feed only lists, for a while. */
static void on_down(ls_tclient_t *c) {
  tracker_feed_t *tf = c->data;
  tf->listing_in_flight = 0; /* what we learnt stays until it expires like any announcement */
  if (tf->sub_id != 0 && !tf->sub_confirmed) {
    ls_warn("tracker %s closed the connection on subscribe (an older tracker?): reading it every %us instead",
            c->addr_text, tf->set->interval);
    tf->no_sub_until_ms = uv_now(c->loop) + NO_SUB_RETRY_MS;
  }
  tf->sub_id = 0;
}

static int feed_init(uv_loop_t *loop, tracker_feeds_t *s, tracker_feed_t *tf, const char *addr, const ls_key_t *key) {
  int rc = ls_tclient_init(loop, &tf->client, addr, on_up, on_msg, on_down);
  if (rc != 0) return rc;
  tf->client.data = tf;
  tf->client.key = key;
  tf->set = s;
  uv_timer_init(loop, &tf->poll);
  tf->poll.data = tf;
  return 0;
}

int tracker_feeds_init(uv_loop_t *loop, tracker_feeds_t *s, char addrs[][LS_TRACKER_ADDR_LEN], size_t n,
                       const ls_key_t *key, peer_table_t *table, unsigned interval, tracker_feed_cb cb, void *ud) {
  memset(s, 0, sizeof *s);
  s->table = table;
  s->interval = interval;
  s->on_change = cb;
  s->ud = ud;
  for (size_t i = 0; i < n && i < LS_MAX_TRACKERS; i++) {
    int rc = feed_init(loop, s, &s->feeds[s->n], addrs[i], key);
    if (rc != 0) return rc;
    s->n++;
  }
  return 0;
}

void tracker_feeds_start(tracker_feeds_t *s) {
  uint64_t ms = (uint64_t)s->interval * 1000;
  for (size_t i = 0; i < s->n; i++) {
    ls_tclient_start(&s->feeds[i].client);
    uv_timer_start(&s->feeds[i].poll, poll_cb, ms, ms);
  }
}

void tracker_feeds_close(tracker_feeds_t *s) {
  for (size_t i = 0; i < s->n; i++) {
    tracker_feed_t *tf = &s->feeds[i];
    ls_tclient_close(&tf->client);
    uv_close((uv_handle_t *)&tf->poll, NULL);
    rows_free(&tf->list_acc);
    rows_free(&tf->push_acc);
    rows_free(&tf->listing);
  }
  free(s->known);
  s->known = NULL;
  s->nknown = 0;
}
