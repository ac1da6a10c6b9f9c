#include "peer_table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  uint8_t root[LS_HASH_LEN];
  uint64_t size;
  uint32_t chunk_size;
  int complete;
  uint32_t seq;         /* round in which it was last announced */
  uint64_t seen_ms;
  int64_t seen_unix;
  char *name;
} pt_file_t;

typedef struct {
  char tag[LS_TAG_MAX + 1];
  char addr[LS_ADDR_MAX];
  uint16_t port;
  unsigned interval;
  unsigned how;         /* LS_HOW_* bits: how it was heard */
  uint64_t seen_ms;
  int64_t seen_unix;
  int64_t first_unix;
  ls_map_t files;       /* name -> pt_file_t */
  uint32_t round_seq;   /* the round being collected */
  uint32_t round_pages;
  uint32_t round_got;   /* pages of it received: round_seen[0..round_got) */
  uint32_t round_cap;
  uint16_t *round_seen; /* their numbers, sorted: memory follows pages received, not pages claimed */
  uint64_t first_ms;    /* monotonic, when first heard (settled: heard PEER_TABLE_SETTLED_MS later) */
  int settled;
  uint64_t sealed_ms;   /* the newest seal taken from it (with a key) */
  struct pt_addr_s *ad; /* what its source address holds */
  char digest[LS_ANNOUNCE_DIGEST_HEX + 1]; /* the version of the list held ("" none) */
} pt_peer_t;

/* What one source address holds, over all its tags and ports. */
typedef struct pt_addr_s {
  size_t peers;
  size_t files;
  uint64_t bytes;
} pt_addr_t;

int peer_table_init(peer_table_t *t, unsigned default_interval) {
  memset(t, 0, sizeof *t);
  t->default_interval = default_interval;
  t->max_bytes = PEER_TABLE_DEFAULT_BYTES;
  t->refusal = "";
  if (ls_map_init(&t->addrs) != 0) return -ENOMEM;
  return ls_map_init(&t->peers);
}

/* The longest line this entry can take in tags.txt. */
static uint64_t line_bytes(const pt_peer_t *p, const char *name) {
  return PEER_TABLE_LINE_FIXED + strlen(p->tag) + strlen(p->addr) + strlen(name);
}

static void file_free(peer_table_t *t, pt_peer_t *p, pt_file_t *f) {
  uint64_t b = line_bytes(p, f->name);
  t->total_files--;
  t->total_bytes -= b;
  p->ad->files--;
  p->ad->bytes -= b;
  free(f->name);
  free(f);
}

static void peer_free(peer_table_t *t, pt_peer_t *p) {
  for (ls_map_node_t *n = ls_map_first(&p->files); n != NULL; n = ls_map_next(&p->files, n))
    file_free(t, p, n->value);
  ls_map_close(&p->files);
  if (--p->ad->peers == 0) free(ls_map_del(&t->addrs, p->addr));
  free(p->round_seen);
  free(p);
}

void peer_table_close(peer_table_t *t) {
  for (ls_map_node_t *n = ls_map_first(&t->peers); n != NULL; n = ls_map_next(&t->peers, n)) peer_free(t, n->value);
  ls_map_close(&t->peers);
  ls_map_close(&t->addrs);
}

static void peer_key(char *buf, size_t len, const char *tag, const char *addr, uint16_t port) {
  /* "tag a.b.c.d:port" or "tag [v6addr%ifname]:port" */
  char endpoint[LS_NET_ENDPOINT_MAX];
  ls_net_endpoint_format(addr, port, endpoint, sizeof endpoint);
  snprintf(buf, len, "%s %s", tag, endpoint);
}

static void peer_remove(peer_table_t *t, pt_peer_t *p) {
  char key[LS_TAG_MAX + LS_ADDR_MAX + 16];
  peer_key(key, sizeof key, p->tag, p->addr, p->port);
  ls_map_del(&t->peers, key);
  peer_free(t, p);
}

/* The peer a newcomer from addr may replace, or NULL: one heard only once
 * (not settled), of addr itself when addr is full, else of the address
 * holding the most peers; the one heard longest ago first. */
static pt_peer_t *eviction_victim(const peer_table_t *t, const char *addr, int own) {
  pt_peer_t *best = NULL;
  size_t best_count = 0;
  for (ls_map_node_t *it = ls_map_first(&t->peers); it != NULL; it = ls_map_next(&t->peers, it)) {
    pt_peer_t *p = it->value;
    if (p->settled || (own && strcmp(p->addr, addr) != 0)) continue;
    if (best == NULL || p->ad->peers > best_count || (p->ad->peers == best_count && p->seen_ms < best->seen_ms)) {
      best = p;
      best_count = p->ad->peers;
    }
  }
  return best;
}

/* Room for one more peer from addr (evicting one heard once if need be):
 * addr's counters, or NULL (refused). */
static pt_addr_t *make_room(peer_table_t *t, const char *addr) {
  pt_addr_t *ad = ls_map_get(&t->addrs, addr);
  int own = ad != NULL && ad->peers >= PEER_TABLE_MAX_PEERS_PER_ADDR;
  if (own || t->peers.count >= PEER_TABLE_MAX_PEERS) {
    pt_peer_t *victim = eviction_victim(t, addr, own);
    if (victim == NULL) {
      t->refused_peers++;
      t->refusal = own ? "peers from one address (64)" : "peers in all (4096)";
      return NULL;
    }
    t->evicted_peers++;
    peer_remove(t, victim);
    ad = ls_map_get(&t->addrs, addr); /* freed if the victim was its last */
  }
  if (ad == NULL && ((ad = calloc(1, sizeof *ad)) == NULL || ls_map_put(&t->addrs, addr, ad) != 0)) {
    free(ad);
    return NULL;
  }
  return ad;
}

static pt_peer_t *peer_get(peer_table_t *t, const char *tag, const char *addr, uint16_t port, int create) {
  char key[LS_TAG_MAX + LS_ADDR_MAX + 16];
  peer_key(key, sizeof key, tag, addr, port);
  pt_peer_t *p = ls_map_get(&t->peers, key);
  if (p != NULL || !create) return p;
  pt_addr_t *ad = make_room(t, addr);
  if (ad == NULL || (p = calloc(1, sizeof *p)) == NULL) {
    if (ad != NULL && ad->peers == 0) free(ls_map_del(&t->addrs, addr));
    return NULL;
  }
  snprintf(p->tag, sizeof p->tag, "%s", tag);
  snprintf(p->addr, sizeof p->addr, "%s", addr);
  p->port = port;
  p->interval = t->default_interval;
  p->ad = ad;
  ad->peers++;
  if (ls_map_init(&p->files) != 0 || ls_map_put(&t->peers, key, p) != 0) {
    ls_map_close(&p->files);
    if (--ad->peers == 0) free(ls_map_del(&t->addrs, addr));
    free(p);
    return NULL;
  }
  return p;
}

/* Removes the files of p for which drop(f) holds; returns how many. */
static size_t drop_files(peer_table_t *t, pt_peer_t *p, int (*drop)(const pt_file_t *, const void *), const void *arg) {
  size_t n = 0, cap = 0, removed = 0;
  char **doomed = NULL;
  for (ls_map_node_t *it = ls_map_first(&p->files); it != NULL; it = ls_map_next(&p->files, it)) {
    if (!drop(it->value, arg)) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      char **d = realloc(doomed, cap * sizeof *d);
      if (d == NULL) break;
      doomed = d;
    }
    doomed[n++] = it->key;
  }
  for (size_t i = 0; i < n; i++) {
    /* The key lives in the node that ls_map_del frees: copy the value first. */
    pt_file_t *f = ls_map_get(&p->files, doomed[i]);
    char *name = f->name;
    ls_map_del(&p->files, name);
    file_free(t, p, f);
    removed++;
  }
  free(doomed);
  return removed;
}

static int not_in_round(const pt_file_t *f, const void *arg) {
  return f->seq != *(const uint32_t *)arg;
}

/* 1 (and t->refusal set) if one more file, name, of p would break a bound. */
static int over_a_limit(peer_table_t *t, const pt_peer_t *p, const char *name) {
  uint64_t b = line_bytes(p, name);
  if (p->files.count >= PEER_TABLE_MAX_FILES_PER_PEER) t->refusal = "files of one peer (50,000)";
  else if (p->ad->files >= PEER_TABLE_MAX_FILES_PER_ADDR) t->refusal = "files from one address (50,000)";
  else if (t->total_files >= PEER_TABLE_MAX_FILES) t->refusal = "files in all (500,000)";
  else if (p->ad->bytes + b > t->max_bytes / PEER_TABLE_ADDR_SHARE)
    t->refusal = "tags.txt's share of one address (a quarter of tags_max_bytes)";
  else if (t->total_bytes + b > t->max_bytes) t->refusal = "tags.txt's size (tags_max_bytes)";
  else return 0;
  return 1;
}

static int upsert_file(peer_table_t *t, pt_peer_t *p, const ls_announce_file_t *af, uint32_t seq, uint64_t now_ms,
                       int64_t now_unix, int *changed) {
  pt_file_t *f = ls_map_get(&p->files, af->name);
  if (f == NULL) {
    if (over_a_limit(t, p, af->name)) {
      t->refused_files++;
      return -ENOSPC;
    }
    f = calloc(1, sizeof *f);
    if (f == NULL || (f->name = strdup(af->name)) == NULL || ls_map_put(&p->files, af->name, f) != 0) {
      if (f != NULL) free(f->name);
      free(f);
      return -ENOMEM;
    }
    uint64_t b = line_bytes(p, f->name);
    t->total_files++;
    t->total_bytes += b;
    p->ad->files++;
    p->ad->bytes += b;
    *changed = PT_CHANGED;
  } else if (memcmp(f->root, af->root, LS_HASH_LEN) != 0 || f->size != af->size ||
             f->chunk_size != af->chunk_size || f->complete != af->complete) {
    *changed = PT_CHANGED;
  }
  memcpy(f->root, af->root, LS_HASH_LEN);
  f->size = af->size;
  f->chunk_size = af->chunk_size;
  f->complete = af->complete;
  f->seq = seq;
  f->seen_ms = now_ms;
  if (f->seen_unix != now_unix && *changed < PT_SEEN) *changed = PT_SEEN;
  f->seen_unix = now_unix;
  return 0;
}

/* Who p is and when it was heard; what that changed in peers.txt. */
static int peer_heard(pt_peer_t *p, const ls_announce_t *a, unsigned how, uint64_t now_ms, int64_t now_unix) {
  int changed = p->seen_unix != now_unix ? PT_SEEN : PT_UNCHANGED;
  unsigned interval = a->interval < PEER_TABLE_MAX_INTERVAL ? a->interval : PEER_TABLE_MAX_INTERVAL;
  /* A new peer (even one that shares nothing), a new way or a new interval. */
  if (p->first_unix == 0 || (p->how | how) != p->how || p->interval != interval) changed = PT_CHANGED;
  if (p->first_unix == 0) {
    p->first_unix = now_unix;
    p->first_ms = now_ms;
  } else if (now_ms >= p->first_ms + PEER_TABLE_SETTLED_MS) {
    p->settled = 1;
  }
  if (a->sealed_ms > p->sealed_ms) p->sealed_ms = a->sealed_ms;
  p->how |= how;
  p->interval = interval;
  p->seen_ms = now_ms;
  p->seen_unix = now_unix;
  return changed;
}

/* With a key: sealed before the newest seal taken from p. Equal times pass
 * (one datagram heard by broadcast and by multicast). */
static int replayed(const pt_peer_t *p, const ls_announce_t *a) {
  return a->sealed_ms != 0 && a->sealed_ms < p->sealed_ms;
}

/* A beat: the peer is heard; if its list is the version held, every file of
 * it is too (a beat lists none). An unknown version waits for LIST. */
static int apply_beat(peer_table_t *t, const ls_announce_t *a, const char *src_addr, unsigned how, uint64_t now_ms,
                      int64_t now_unix) {
  pt_peer_t *p = peer_get(t, a->tag, src_addr, a->port, 1);
  if (p == NULL) return -ENOSPC;
  if (replayed(p, a)) return -ESTALE;
  int changed = peer_heard(p, a, how, now_ms, now_unix);
  if (strcmp(p->digest, a->digest) != 0) return changed;
  for (ls_map_node_t *it = ls_map_first(&p->files); it != NULL; it = ls_map_next(&p->files, it)) {
    pt_file_t *f = it->value;
    if (f->seen_unix != now_unix) changed = changed < PT_SEEN ? PT_SEEN : changed;
    f->seen_ms = now_ms;
    f->seen_unix = now_unix;
  }
  return changed;
}

int peer_table_wants_list(const peer_table_t *t, const ls_announce_t *beat, const char *src_addr) {
  char key[LS_TAG_MAX + LS_ADDR_MAX + 16];
  peer_key(key, sizeof key, beat->tag, src_addr, beat->port);
  const pt_peer_t *p = ls_map_get((ls_map_t *)&t->peers, key);
  return beat->type == LS_ANNOUNCE_BEAT && (p == NULL || strcmp(p->digest, beat->digest) != 0);
}

int peer_table_apply_list(peer_table_t *t, const ls_announce_t *list, const char *src_addr, unsigned how,
                          uint64_t now_ms, int64_t now_unix) {
  pt_peer_t *p = peer_get(t, list->tag, src_addr, list->port, 1);
  if (p == NULL) return -ENOSPC;
  /* A round of its own: one page holding every file, under a seq no page of
   * the peer's is being collected with. */
  ls_announce_t round = *list;
  round.type = LS_ANNOUNCE_FILES;
  round.seq = p->round_seq + 1;
  round.page = 0;
  round.pages = 1;
  round.sealed_ms = 0;
  p->round_got = 0;
  p->round_pages = 0;
  int rc = peer_table_apply(t, &round, src_addr, how, now_ms, now_unix);
  if (rc >= 0 && strcmp(p->digest, list->digest) != 0) {
    memcpy(p->digest, list->digest, sizeof p->digest);
    rc = PT_CHANGED;
  }
  return rc;
}

/* Marks page of the round being collected as received: its number goes into
 * the sorted array (grown as pages arrive). 0 or -ENOMEM. */
static int page_seen(pt_peer_t *p, uint32_t page) {
  uint32_t lo = 0, hi = p->round_got;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (p->round_seen[mid] < page) lo = mid + 1;
    else hi = mid;
  }
  if (lo < p->round_got && p->round_seen[lo] == page) return 0;
  if (p->round_got == p->round_cap) {
    uint32_t cap = p->round_cap ? p->round_cap * 2 : 4;
    uint16_t *v = realloc(p->round_seen, cap * sizeof *v);
    if (v == NULL) return -ENOMEM;
    p->round_seen = v;
    p->round_cap = cap;
  }
  memmove(p->round_seen + lo + 1, p->round_seen + lo, (p->round_got - lo) * sizeof *p->round_seen);
  p->round_seen[lo] = (uint16_t)page;
  p->round_got++;
  return 0;
}

int peer_table_apply(peer_table_t *t, const ls_announce_t *a, const char *src_addr, unsigned how, uint64_t now_ms,
                     int64_t now_unix) {
  if (a->type == LS_ANNOUNCE_QUERY) return PT_UNCHANGED;
  if (a->type == LS_ANNOUNCE_BEAT) return apply_beat(t, a, src_addr, how, now_ms, now_unix);
  if (a->type == LS_ANNOUNCE_BYE) {
    pt_peer_t *p = peer_get(t, a->tag, src_addr, a->port, 0);
    if (p == NULL) return PT_UNCHANGED;
    if (replayed(p, a)) return -ESTALE;
    peer_remove(t, p);
    return PT_CHANGED;
  }
  pt_peer_t *p = peer_get(t, a->tag, src_addr, a->port, 1);
  if (p == NULL) return -ENOSPC;
  if (replayed(p, a)) return -ESTALE;
  int rc = 0, changed = peer_heard(p, a, how, now_ms, now_unix);
  if (p->round_seq != a->seq || p->round_pages != a->pages) {
    p->round_seq = a->seq;
    p->round_pages = a->pages;
    p->round_got = 0;
  }
  for (size_t i = 0; i < a->nfiles; i++) {
    int r = upsert_file(t, p, &a->files[i], a->seq, now_ms, now_unix, &changed);
    if (r != 0) rc = r;
  }
  if (page_seen(p, a->page) != 0) return -ENOMEM;
  /* A whole round seen: what it did not list is gone. */
  if (p->round_got == p->round_pages && rc == 0) {
    if (drop_files(t, p, not_in_round, &a->seq) > 0) changed = PT_CHANGED;
  }
  return rc != 0 ? rc : changed;
}

static int stale(const pt_file_t *f, const void *arg) {
  return *(const uint64_t *)arg > f->seen_ms;
}

size_t peer_table_expire(peer_table_t *t, uint64_t now_ms) {
  size_t removed = 0, n = 0;
  pt_peer_t **gone = NULL;
  for (ls_map_node_t *it = ls_map_first(&t->peers); it != NULL; it = ls_map_next(&t->peers, it)) {
    pt_peer_t *p = it->value;
    uint64_t ttl = (uint64_t)p->interval * 1000 * PEER_TABLE_EXPIRY_ROUNDS;
    uint64_t cutoff = now_ms > ttl ? now_ms - ttl : 0;
    if (p->seen_ms < cutoff) {
      pt_peer_t **g = realloc(gone, (n + 1) * sizeof *g);
      if (g == NULL) break;
      gone = g;
      gone[n++] = p;
    } else {
      removed += drop_files(t, p, stale, &cutoff);
    }
  }
  for (size_t i = 0; i < n; i++) {
    removed += gone[i]->files.count + 1;
    peer_remove(t, gone[i]);
  }
  free(gone);
  return removed;
}

/* The monotonic time of a wall-clock last_seen. */
static uint64_t seen_ms_of(int64_t last_seen, uint64_t now_ms, int64_t now_unix) {
  int64_t age_s = now_unix - last_seen;
  if (age_s < 0) age_s = 0; /* from the future: a clock that went back */
  uint64_t age_ms = (uint64_t)age_s * 1000;
  return now_ms > age_ms ? now_ms - age_ms : 0;
}

void peer_table_load_peers(peer_table_t *t, const ls_peer_entry_t *peers, size_t n, uint64_t now_ms,
                           int64_t now_unix) {
  for (size_t i = 0; i < n; i++) {
    const ls_peer_entry_t *e = &peers[i];
    pt_peer_t *p = peer_get(t, e->tag, e->addr, e->port, 1);
    if (p == NULL) continue;
    p->how |= e->how;
    p->interval = e->interval < PEER_TABLE_MAX_INTERVAL ? e->interval : PEER_TABLE_MAX_INTERVAL;
    p->settled = 1; /* known to the last run */
    if (p->first_unix == 0 || e->first_seen < p->first_unix) p->first_unix = e->first_seen;
    if (p->seen_unix == 0 || e->last_seen > p->seen_unix) {
      p->seen_ms = seen_ms_of(e->last_seen, now_ms, now_unix);
      p->seen_unix = e->last_seen;
    }
  }
}

void peer_table_load(peer_table_t *t, const ls_tag_entry_t *entries, size_t n, uint64_t now_ms, int64_t now_unix) {
  for (size_t i = 0; i < n; i++) {
    const ls_tag_entry_t *e = &entries[i];
    pt_peer_t *p = peer_get(t, e->tag, e->addr, e->port, 1);
    if (p == NULL) continue;
    p->settled = 1; /* known to the last run */
    uint64_t seen = seen_ms_of(e->last_seen, now_ms, now_unix);
    ls_announce_file_t af = {e->name, e->size, e->chunk_size, {0}, e->complete};
    memcpy(af.root, e->root, LS_HASH_LEN);
    int changed = 0;
    if (upsert_file(t, p, &af, 0, seen, e->last_seen, &changed) != 0) continue;
    if (seen > p->seen_ms || p->seen_unix == 0) {
      p->seen_ms = seen;
      p->seen_unix = e->last_seen;
    }
    if (p->first_unix == 0 || e->last_seen < p->first_unix) p->first_unix = e->last_seen;
  }
}

static int cmp_entry(const void *a, const void *b) {
  const ls_tag_entry_t *x = a, *y = b;
  int c = strcmp(x->tag, y->tag);
  if (c == 0) c = strcmp(x->addr, y->addr);
  if (c == 0) c = (int)x->port - (int)y->port;
  if (c == 0) c = strcmp(x->name, y->name);
  return c;
}

int peer_table_entries(const peer_table_t *t, ls_tag_entry_t **out, size_t *n) {
  ls_tag_entry_t *v = malloc((t->total_files + 1) * sizeof *v);
  if (v == NULL) return -ENOMEM;
  size_t k = 0;
  for (ls_map_node_t *it = ls_map_first(&t->peers); it != NULL; it = ls_map_next(&t->peers, it)) {
    const pt_peer_t *p = it->value;
    for (ls_map_node_t *fi = ls_map_first(&p->files); fi != NULL; fi = ls_map_next(&p->files, fi)) {
      const pt_file_t *f = fi->value;
      ls_tag_entry_t *e = &v[k++];
      memset(e, 0, sizeof *e);
      memcpy(e->tag, p->tag, sizeof e->tag);
      memcpy(e->addr, p->addr, sizeof e->addr);
      e->port = p->port;
      memcpy(e->root, f->root, LS_HASH_LEN);
      e->size = f->size;
      e->chunk_size = f->chunk_size;
      e->complete = f->complete;
      e->last_seen = f->seen_unix;
      e->name = f->name;
    }
  }
  qsort(v, k, sizeof *v, cmp_entry);
  *out = v;
  *n = k;
  return 0;
}

static int cmp_peer(const void *a, const void *b) {
  const ls_peer_entry_t *x = a, *y = b;
  int c = strcmp(x->tag, y->tag);
  if (c == 0) c = strcmp(x->addr, y->addr);
  if (c == 0) c = (int)x->port - (int)y->port;
  return c;
}

int peer_table_peers(const peer_table_t *t, ls_peer_entry_t **out, size_t *n) {
  ls_peer_entry_t *v = calloc(t->peers.count + 1, sizeof *v);
  if (v == NULL) return -ENOMEM;
  size_t k = 0;
  for (ls_map_node_t *it = ls_map_first(&t->peers); it != NULL; it = ls_map_next(&t->peers, it)) {
    const pt_peer_t *p = it->value;
    ls_peer_entry_t *e = &v[k++];
    memcpy(e->tag, p->tag, sizeof e->tag);
    memcpy(e->addr, p->addr, sizeof e->addr);
    e->port = p->port;
    /* Loaded from an earlier tags.txt and not heard since: it was heard then. */
    e->how = p->how ? p->how : LS_HOW_BROADCAST;
    e->first_seen = p->first_unix;
    e->last_seen = p->seen_unix;
    e->interval = p->interval >= 1 && p->interval <= 3600 ? p->interval : 60;
    e->files = (uint32_t)p->files.count;
    memcpy(e->digest, p->digest, sizeof e->digest);
  }
  qsort(v, k, sizeof *v, cmp_peer);
  *out = v;
  *n = k;
  return 0;
}

size_t peer_table_peer_count(const peer_table_t *t) {
  return t->peers.count;
}
