#include "ls_tagsq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
