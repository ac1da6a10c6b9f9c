#include "ls_ptab.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define MIN_SLOTS 8

size_t ls_ptab_hash_str(const char *s) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  while (*s) {
    h ^= (unsigned char)*s++;
    h *= 1099511628211ULL;
  }
  return (size_t)h;
}

void ls_ptab_init(ls_ptab_t *t, const ls_ptab_ops_t *ops) {
  t->ops = ops;
  t->slots = NULL;
  t->nslots = t->count = 0;
}

void ls_ptab_close(ls_ptab_t *t) {
  free(t->slots);
  t->slots = NULL;
  t->nslots = t->count = 0;
}

/* The slot index of the key, or the empty slot where it would go. */
static size_t probe(const ls_ptab_t *t, size_t hash, const void *key) {
  size_t mask = t->nslots - 1, i = hash & mask;
  while (t->slots[i] != NULL && !t->ops->match(t->slots[i], key)) i = (i + 1) & mask;
  return i;
}

void **ls_ptab_slot(const ls_ptab_t *t, size_t hash, const void *key) {
  if (t->count == 0) return NULL;
  size_t i = probe(t, hash, key);
  return t->slots[i] != NULL ? &t->slots[i] : NULL;
}

void *ls_ptab_get(const ls_ptab_t *t, size_t hash, const void *key) {
  void **s = ls_ptab_slot(t, hash, key);
  return s != NULL ? *s : NULL;
}

static void place(void **slots, size_t mask, size_t hash, void *item) {
  size_t i = hash & mask;
  while (slots[i] != NULL) i = (i + 1) & mask;
  slots[i] = item;
}

/* Moves every item into n slots (n > count). 0 or -ENOMEM (t unchanged). */
static int resize(ls_ptab_t *t, size_t n) {
  void **slots = calloc(n, sizeof *slots);
  if (slots == NULL) return -ENOMEM;
  for (size_t i = 0; i < t->nslots; i++)
    if (t->slots[i] != NULL) place(slots, n - 1, t->ops->hash(t->slots[i]), t->slots[i]);
  free(t->slots);
  t->slots = slots;
  t->nslots = n;
  return 0;
}

int ls_ptab_put(ls_ptab_t *t, void *item) {
  if ((t->count + 1) * 4 > t->nslots * 3) {
    size_t n = t->nslots ? t->nslots * 2 : MIN_SLOTS;
    if (n < t->nslots || n > SIZE_MAX / sizeof(void *) || resize(t, n) != 0) return -ENOMEM;
  }
  place(t->slots, t->nslots - 1, t->ops->hash(item), item);
  t->count++;
  return 0;
}

/* Knuth's deletion for linear probing: pulls later items of the cluster back
 * over the hole when their home slot does not lie between the hole and them. */
static void close_hole(ls_ptab_t *t, size_t hole) {
  size_t mask = t->nslots - 1;
  for (size_t j = (hole + 1) & mask; t->slots[j] != NULL; j = (j + 1) & mask) {
    size_t home = t->ops->hash(t->slots[j]) & mask;
    if (((j - home) & mask) >= ((j - hole) & mask)) {
      t->slots[hole] = t->slots[j];
      t->slots[j] = NULL;
      hole = j;
    }
  }
}

void *ls_ptab_del(ls_ptab_t *t, size_t hash, const void *key) {
  if (t->count == 0) return NULL;
  size_t i = probe(t, hash, key);
  void *item = t->slots[i];
  if (item == NULL) return NULL;
  t->slots[i] = NULL;
  t->count--;
  close_hole(t, i);
  if (t->count == 0) ls_ptab_close(t);
  else if (t->nslots > MIN_SLOTS && t->count * 8 < t->nslots) (void)resize(t, t->nslots / 2); /* else stay big */
  return item;
}
