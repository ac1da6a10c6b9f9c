#include "ls_tagsq.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int is_self(const ls_tag_entry_t *e, const char *self_tag, uint16_t self_port) {
  return self_tag != NULL && strcmp(e->tag, self_tag) == 0 && e->port == self_port;
}

/* The distinct contents under name, with their holder counts. */
static void count_contents(const ls_tag_entry_t *entries, size_t n, const char *name, const char *self_tag,
                           uint16_t self_port, ls_tagsq_lookup_t *out) {
  for (size_t i = 0; i < n; i++) {
    const ls_tag_entry_t *e = &entries[i];
    if (strcmp(e->name, name) != 0 || is_self(e, self_tag, self_port)) continue;
    size_t k = 0;
    while (k < out->ncontents && memcmp(out->contents[k].root, e->root, LS_HASH_LEN) != 0) k++;
    if (k == out->ncontents) {
      if (out->ncontents == LS_TAGSQ_CONTENTS_MAX) continue;
      memcpy(out->contents[k].root, e->root, LS_HASH_LEN);
      out->contents[k].size = e->size;
      out->ncontents++;
    }
    out->contents[k].holders++;
  }
}

static size_t choose(const ls_tagsq_lookup_t *out, const uint8_t *want_root) {
  size_t best = out->ncontents;
  for (size_t k = 0; k < out->ncontents; k++) {
    if (want_root != NULL) {
      if (memcmp(out->contents[k].root, want_root, LS_HASH_LEN) == 0) best = k;
    } else if (best == out->ncontents || out->contents[k].holders > out->contents[best].holders) {
      best = k;
    }
  }
  return best;
}

static void add_holder(ls_tagsq_lookup_t *out, const ls_tag_entry_t *e) {
  for (size_t k = 0; k < out->nholders; k++)
    if (strcmp(out->holders[k].addr, e->addr) == 0 && out->holders[k].port == e->port) return;
  ls_tagsq_holder_t *h = &out->holders[out->nholders++];
  memcpy(h->tag, e->tag, sizeof h->tag);
  memcpy(h->addr, e->addr, sizeof h->addr);
  h->port = e->port;
  h->complete = e->complete;
}

int ls_tagsq_lookup(const ls_tag_entry_t *entries, size_t n, const char *name, const uint8_t *want_root,
                    const char *self_tag, uint16_t self_port, ls_tagsq_lookup_t *out) {
  memset(out, 0, sizeof *out);
  count_contents(entries, n, name, self_tag, self_port, out);
  size_t best = choose(out, want_root);
  if (best == out->ncontents) return -ENOENT;
  out->chosen = best;
  /* Complete holders first: they can serve any chunk. */
  for (int pass = 1; pass >= 0; pass--) {
    for (size_t i = 0; i < n && out->nholders < LS_TAGSQ_HOLDERS_MAX; i++) {
      const ls_tag_entry_t *e = &entries[i];
      if (strcmp(e->name, name) != 0 || e->complete != pass ||
          memcmp(e->root, out->contents[best].root, LS_HASH_LEN) != 0 || is_self(e, self_tag, self_port))
        continue;
      add_holder(out, e);
    }
  }
  return 0;
}

#define SIMILAR_LEN_MAX 256 /* longer names are compared for case only */

/* The edit distance of a and b (case ignored), or limit + 1 once it is over. */
static size_t edit_distance(const char *a, const char *b, size_t limit) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > SIMILAR_LEN_MAX || lb > SIMILAR_LEN_MAX || (la > lb ? la - lb : lb - la) > limit) return limit + 1;
  size_t row[SIMILAR_LEN_MAX + 1];
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0], best = row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t cost = diag + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
      size_t v = up + 1 < row[j - 1] + 1 ? up + 1 : row[j - 1] + 1;
      row[j] = cost < v ? cost : v;
      diag = up;
      if (row[j] < best) best = row[j];
    }
    if (best > limit) return limit + 1;
  }
  return row[lb];
}

/* How far candidate is from name: 0 equal but for case, 1 + edits, or 0 when
 * too far (*score unset). */
static int similar_score(const char *name, const char *candidate, size_t *score) {
  if (strcmp(name, candidate) == 0) return 0;
  if (strcasecmp(name, candidate) == 0) {
    *score = 0;
    return 1;
  }
  size_t limit = strlen(name) / 4;
  limit = limit < 1 ? 1 : limit > 3 ? 3 : limit;
  size_t d = edit_distance(name, candidate, limit);
  if (d > limit) return 0;
  *score = 1 + d;
  return 1;
}

size_t ls_tagsq_similar(const ls_tag_entry_t *entries, size_t n, const char *name, const char **out, size_t max) {
  size_t count = 0, scores[LS_TAGSQ_SIMILAR_MAX];
  if (max > LS_TAGSQ_SIMILAR_MAX) max = LS_TAGSQ_SIMILAR_MAX;
  for (size_t i = 0; i < n && max > 0; i++) {
    const char *cand = entries[i].name;
    size_t score, k = 0;
    while (k < count && strcmp(out[k], cand) != 0) k++;
    if (k < count || !similar_score(name, cand, &score)) continue;
    /* Insert in order (score, then name), dropping the last when full. */
    size_t at = count;
    while (at > 0 && (scores[at - 1] > score || (scores[at - 1] == score && strcmp(out[at - 1], cand) > 0))) at--;
    if (at >= max) continue;
    size_t last = count < max ? count : max - 1;
    for (size_t j = last; j > at; j--) {
      out[j] = out[j - 1];
      scores[j] = scores[j - 1];
    }
    out[at] = cand;
    scores[at] = score;
    if (count < max) count++;
  }
  return count;
}

static int entry_peer_cmp(const void *a, const void *b) {
  const ls_tag_entry_t *x = *(const ls_tag_entry_t *const *)a, *y = *(const ls_tag_entry_t *const *)b;
  int c = strcmp(x->tag, y->tag);
  if (c) return c;
  if ((c = strcmp(x->addr, y->addr))) return c;
  return (int)x->port - (int)y->port;
}

int ls_tagsq_peers(const ls_tag_entry_t *entries, size_t n, ls_tagsq_peer_t **out, size_t *count) {
  *out = NULL;
  *count = 0;
  const ls_tag_entry_t **idx = malloc((n + 1) * sizeof *idx);
  ls_tagsq_peer_t *peers = calloc(n + 1, sizeof *peers);
  if (idx == NULL || peers == NULL) {
    free(idx);
    free(peers);
    return -ENOMEM;
  }
  for (size_t i = 0; i < n; i++) idx[i] = &entries[i];
  if (n) qsort(idx, n, sizeof *idx, entry_peer_cmp);
  size_t k = 0;
  for (size_t i = 0; i < n; k++) {
    ls_tagsq_peer_t *p = &peers[k];
    p->first = idx[i];
    ls_net_endpoint_format(idx[i]->addr, idx[i]->port, p->address, sizeof p->address);
    size_t j = i;
    for (; j < n && entry_peer_cmp(&idx[i], &idx[j]) == 0; j++) {
      p->files++;
      p->bytes += idx[j]->size;
      if (idx[j]->last_seen > p->last_seen) p->last_seen = idx[j]->last_seen;
    }
    i = j;
  }
  free(idx);
  *out = peers;
  *count = k;
  return 0;
}

/* The tags.txt row of (tag, addr, port) in rows (sorted by ls_tagsq_peers), or NULL. */
static ls_tagsq_peer_t *find_row(ls_tagsq_peer_t *rows, size_t k, const char *tag, const char *addr,
                                 uint16_t port) {
  ls_tag_entry_t key;
  memset(&key, 0, sizeof key);
  snprintf(key.tag, sizeof key.tag, "%s", tag);
  snprintf(key.addr, sizeof key.addr, "%s", addr);
  key.port = port;
  size_t lo = 0, hi = k;
  const ls_tag_entry_t *kp = &key;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = entry_peer_cmp(&kp, &rows[mid].first);
    if (c == 0) return &rows[mid];
    if (c < 0) hi = mid;
    else lo = mid + 1;
  }
  return NULL;
}

static void known_from_row(ls_tagsq_known_t *o, const ls_tagsq_peer_t *row) {
  memset(o, 0, sizeof *o);
  memcpy(o->tag, row->first->tag, sizeof o->tag);
  memcpy(o->address, row->address, sizeof o->address);
  o->files = row->files;
  o->bytes = row->bytes;
  o->last_seen = row->last_seen;
}

int ls_tagsq_known(const ls_peer_entry_t *peers, size_t npeers, const ls_tag_entry_t *entries, size_t n,
                   ls_tagsq_known_t **out, size_t *count) {
  ls_tagsq_peer_t *rows;
  size_t k;
  *out = NULL;
  *count = 0;
  if (ls_tagsq_peers(entries, n, &rows, &k) != 0) return -ENOMEM;
  unsigned char *used = calloc(k + 1, 1);
  ls_tagsq_known_t *res = calloc(npeers + k + 1, sizeof *res);
  if (used == NULL || res == NULL) {
    free(rows);
    free(used);
    free(res);
    return -ENOMEM;
  }
  size_t m = 0;
  for (size_t i = 0; i < npeers; i++, m++) {
    const ls_peer_entry_t *p = &peers[i];
    ls_tagsq_peer_t *row = find_row(rows, k, p->tag, p->addr, p->port);
    if (row != NULL) {
      known_from_row(&res[m], row);
      used[row - rows] = 1;
    } else {
      memcpy(res[m].tag, p->tag, sizeof res[m].tag);
      snprintf(res[m].address, sizeof res[m].address, "%s:%u", p->addr, p->port);
    }
    res[m].how = p->how;
    res[m].files = p->files;
    res[m].first_seen = p->first_seen;
    res[m].interval = p->interval;
    if (p->last_seen > res[m].last_seen) res[m].last_seen = p->last_seen;
  }
  for (size_t j = 0; j < k; j++)
    if (!used[j]) known_from_row(&res[m++], &rows[j]);
  free(rows);
  free(used);
  *out = res;
  *count = m;
  return 0;
}
