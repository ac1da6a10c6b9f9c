/* ls_ptab: a hash table of pointers whose keys live inside the items they
 * point to (a name in a record, say). One pointer a slot and no node per
 * entry: open addressing with linear probing, removal by backward shift (no
 * tombstones). It grows past 3/4 full and shrinks below 1/8, so its memory
 * follows its count; an empty table holds no memory at all.
 *
 * The caller gives each item's hash (ops->hash, which should read a hash kept
 * in the item rather than compute one) and tells whether an item matches a
 * key (ops->match); the same hash must be passed for the key. */
#ifndef LS_PTAB_H
#define LS_PTAB_H

#include <stddef.h>

typedef struct {
  size_t (*hash)(const void *item);
  int (*match)(const void *item, const void *key); /* 1 if item has this key */
} ls_ptab_ops_t;

typedef struct {
  const ls_ptab_ops_t *ops;
  void **slots;   /* NULL while empty */
  size_t nslots;  /* 0 or a power of two */
  size_t count;
} ls_ptab_t;

void ls_ptab_init(ls_ptab_t *t, const ls_ptab_ops_t *ops);
void ls_ptab_close(ls_ptab_t *t); /* frees the slots, not the items */
/* The item with this key, or NULL. */
void *ls_ptab_get(const ls_ptab_t *t, size_t hash, const void *key);
/* Where the item with this key sits (to replace it by another item with the
 * same key), or NULL. Valid until the next put or del. */
void **ls_ptab_slot(const ls_ptab_t *t, size_t hash, const void *key);
/* Adds an item whose key is not in the table yet. 0 or -ENOMEM. */
int ls_ptab_put(ls_ptab_t *t, void *item);
/* Removes the item with this key; returns it, or NULL. */
void *ls_ptab_del(ls_ptab_t *t, size_t hash, const void *key);

/* Iteration: for (size_t i = 0; i < t->nslots; i++) if (t->slots[i]) ...
 * The order holds while the table does not change. */

/* A string's hash for ops->hash (FNV-1a), to be computed once per item. */
size_t ls_ptab_hash_str(const char *s);

#endif
