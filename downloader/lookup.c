#include "lookup.h"

#include <errno.h>
#include <string.h>

int lookup_name(const ls_tag_entry_t *entries, size_t n, const char *name, const uint8_t *want_root,
                const char *self_tag, uint16_t self_port, lookup_t *out) {
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < n; i++) {
    const ls_tag_entry_t *e = &entries[i];
    if (strcmp(e->name, name) != 0) continue;
    if (self_tag != NULL && strcmp(e->tag, self_tag) == 0 && e->port == self_port) continue;
    size_t k = 0;
    while (k < out->ncontents && memcmp(out->contents[k].root, e->root, LS_HASH_LEN) != 0) k++;
    if (k == out->ncontents) {
      if (out->ncontents == sizeof out->contents / sizeof out->contents[0]) continue;
      memcpy(out->contents[k].root, e->root, LS_HASH_LEN);
      out->contents[k].size = e->size;
      out->ncontents++;
    }
    out->contents[k].holders++;
  }
  if (out->ncontents == 0) return -ENOENT;
  size_t best = out->ncontents;
  for (size_t k = 0; k < out->ncontents; k++) {
    if (want_root != NULL) {
      if (memcmp(out->contents[k].root, want_root, LS_HASH_LEN) == 0) best = k;
    } else if (best == out->ncontents || out->contents[k].holders > out->contents[best].holders) {
      best = k;
    }
  }
  if (best == out->ncontents) return -ENOENT;
  out->chosen = best;
  /* Complete holders first: they can serve any chunk. */
  for (int pass = 1; pass >= 0; pass--) {
    for (size_t i = 0; i < n && out->nholders < FETCH_MAX_PEERS; i++) {
      const ls_tag_entry_t *e = &entries[i];
      if (strcmp(e->name, name) != 0 || e->complete != pass ||
          memcmp(e->root, out->contents[best].root, LS_HASH_LEN) != 0)
        continue;
      if (self_tag != NULL && strcmp(e->tag, self_tag) == 0 && e->port == self_port) continue;
      int dup = 0;
      for (size_t k = 0; k < out->nholders && !dup; k++)
        dup = strcmp(out->holders[k].addr, e->addr) == 0 && out->holders[k].port == e->port;
      if (dup) continue;
      fetch_holder_t *h = &out->holders[out->nholders++];
      memcpy(h->tag, e->tag, sizeof h->tag);
      memcpy(h->addr, e->addr, sizeof h->addr);
      h->port = e->port;
      h->complete = e->complete;
    }
  }
  return 0;
}
