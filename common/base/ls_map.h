/* ls_map: a string-keyed hash table (chained, grows by doubling).
 * Keys are copied; values are the caller's. */
#ifndef LS_MAP_H
#define LS_MAP_H

#include <stddef.h>

typedef struct ls_map_node_s {
  struct ls_map_node_s *next;
  size_t hash;
  void *value;
  char key[];
} ls_map_node_t;

typedef struct {
  ls_map_node_t **buckets;
  size_t nbuckets;
  size_t count;
} ls_map_t;

int ls_map_init(ls_map_t *m);
void ls_map_close(ls_map_t *m); /* frees nodes, not values */
void *ls_map_get(const ls_map_t *m, const char *key);
/* Inserts or replaces. Returns 0 or -ENOMEM. */
int ls_map_put(ls_map_t *m, const char *key, void *value);
/* Removes key; returns its value or NULL. */
void *ls_map_del(ls_map_t *m, const char *key);

/* Iteration: for (it = ls_map_first(m); it; it = ls_map_next(m, it)). Removing
 * the current node while iterating is not allowed; collect keys first. */
ls_map_node_t *ls_map_first(const ls_map_t *m);
ls_map_node_t *ls_map_next(const ls_map_t *m, const ls_map_node_t *node);

#endif
